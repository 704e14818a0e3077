//! `export FILE.py split`: the session as two programs, one per end, to
//! run side by side: FILE_server.py (the listening sockets, what they
//! accepted, the sockets that received datagrams first, the built-in
//! peers) and FILE_client.py (the rest).
//!
//! A statement goes to the end of the socket it works on; a value, print
//! or echo goes to the end(s) where the names it reads were made; one that
//! works on no socket and reads no name goes to the client, except
//! assignments and sleeps, which both ends keep. Where the client names a
//! server's address, it writes the address the session bound, or, when the
//! kernel chose the port, a constant both programs define (`S_PORT =
//! 40123`): a port free at the time of the export, since the two programs
//! cannot share the kernel's choice.

use super::journal::{Journal, Owner, Step, Val, sock_refs};
use super::python::{self, Filter, Input};
use crate::errors::ExecError;
use crate::exec::Item;
use crate::script::Runner;
use crate::syntax::ast::{AddrExpr, Command, SockKind, SockRef};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Server,
    Client,
}

/// Where each statement and socket goes.
pub struct Plan {
    /// Per step: kept by the server, by the client.
    steps: Vec<(bool, bool)>,
    ends: HashMap<u64, End>,
    /// Datagram sockets, and peers serving datagrams.
    dgram: HashSet<u64>,
    udp_peers: Vec<Owner>,
}

/// The filter of one end's program.
struct EndFilter<'a> {
    plan: &'a Plan,
    end: End,
    journal: &'a Journal,
    /// The server ports the client named (found by a first pass).
    wanted: RefCell<Vec<Owner>>,
    /// Ports fixed for both programs: owner, constant, number.
    fixed: Vec<(Owner, String, u16)>,
}

impl Plan {
    pub fn of(j: &Journal) -> Plan {
        let mut names: HashMap<String, u64> = HashMap::new();
        let mut kind: HashMap<u64, SockKind> = HashMap::new();
        let mut bound: HashSet<u64> = HashSet::new();
        let mut ends: HashMap<u64, End> = HashMap::new();
        let serial_of = |names: &HashMap<String, u64>, step: &Step, r: &SockRef| -> Option<u64> {
            match r {
                SockRef::Name(n) => names.get(n).copied(),
                other => step.resolved.iter().find(|x| &x.written == other)?.serial,
            }
        };
        let learn = |names: &mut HashMap<String, u64>, values: &[super::journal::Shown]| {
            for v in values {
                if let (Some(n), Val::Socket(h)) = (&v.name, &v.val) {
                    names.insert(n.clone(), h.serial);
                }
            }
        };
        let sockets_in = |values: &[super::journal::Shown]| -> Vec<u64> {
            let mut out = Vec::new();
            for v in values {
                match &v.val {
                    Val::Socket(h) => out.push(h.serial),
                    Val::Tuple(items) => out.extend(items.iter().filter_map(|i| match i {
                        Val::Socket(h) => Some(h.serial),
                        _ => None,
                    })),
                    _ => {}
                }
            }
            out
        };
        // Which end each socket is.
        for step in &j.steps {
            for r in &step.joined {
                learn(&mut names, &r.values);
            }
            let first = sock_refs(&step.stmt.command)
                .first()
                .and_then(|r| serial_of(&names, step, &r.node));
            let ok = step.error.is_none();
            match &step.stmt.command {
                Command::Socket { kind: k, .. } => {
                    for s in sockets_in(&step.values) {
                        kind.insert(s, k.unwrap_or(SockKind::Stream));
                    }
                }
                Command::Listen { .. } if ok => {
                    if let Some(s) = first {
                        ends.insert(s, End::Server);
                    }
                }
                Command::Accept { .. } => {
                    let mut got = sockets_in(&step.values);
                    if let Some(id) = step.job {
                        for later in &j.steps {
                            for r in later.joined.iter().filter(|r| r.id == id) {
                                got.extend(sockets_in(&r.values));
                            }
                        }
                    }
                    for s in got.into_iter().chain(first) {
                        ends.insert(s, End::Server);
                    }
                }
                Command::Bind { .. } if ok => {
                    if let Some(s) = first {
                        bound.insert(s);
                    }
                }
                Command::RecvFrom { .. } | Command::Recv { .. } => {
                    if let Some(s) = first
                        && kind.get(&s) == Some(&SockKind::Dgram)
                        && bound.contains(&s)
                    {
                        ends.entry(s).or_insert(End::Server);
                    }
                }
                Command::Connect { .. } | Command::SendTo { .. } | Command::Send { .. } => {
                    if let Some(s) = first {
                        ends.entry(s).or_insert(End::Client);
                    }
                }
                _ => {}
            }
            learn(&mut names, &step.values);
        }
        // Which end each statement goes to.
        names.clear();
        let mut steps = Vec::new();
        let mut udp_peers = Vec::new();
        // Which ends hold each name bound so far (server, client).
        let mut held: HashMap<String, (bool, bool)> = HashMap::new();
        for (k, step) in j.steps.iter().enumerate() {
            for r in &step.joined {
                learn(&mut names, &r.values);
            }
            let first = sock_refs(&step.stmt.command)
                .first()
                .and_then(|r| serial_of(&names, step, &r.node));
            let made = sockets_in(&step.values).first().copied();
            let end_of = |s: Option<u64>| s.map(|s| ends.get(&s).copied().unwrap_or(End::Client));
            let keep = match &step.stmt.command {
                Command::Serve { udp, .. } => {
                    if let (Some((n, _)), true) = (&step.peer, *udp) {
                        udp_peers.push(Owner::Peer(*n));
                    }
                    (true, false)
                }
                Command::Stop { .. } => (true, false),
                Command::Sleep { .. } | Command::Wait { .. } => (true, true),
                // A value, or a print of values, goes where the names it
                // uses are (`print(data)` after the server's recv is the
                // server's); one of literals alone, to both ends (a value)
                // or the client (a print).
                Command::Value(_) | Command::Print { .. } | Command::Echo { .. }
                    if end_of(first).is_none() =>
                {
                    let default = if matches!(step.stmt.command, Command::Value(_)) {
                        (true, true)
                    } else {
                        (false, true)
                    };
                    names_used(&step.stmt.command)
                        .iter()
                        .filter_map(|n| held.get(n))
                        .fold(None, |acc: Option<(bool, bool)>, h| {
                            Some(acc.map_or(*h, |a| (a.0 && h.0, a.1 && h.1)))
                        })
                        .filter(|k| k.0 || k.1)
                        .unwrap_or(default)
                }
                Command::Unlink { path } => {
                    let p = super::pyexpr::value(&path.node, &Default::default());
                    let server = j.steps[k..].iter().any(|s| match &s.stmt.command {
                        Command::Bind {
                            addr: AddrExpr::Path(b),
                            ..
                        } => crate::value::str_repr(&b.node) == p,
                        _ => false,
                    });
                    (server, !server)
                }
                _ => match end_of(first).or_else(|| end_of(made)) {
                    Some(End::Server) => (true, false),
                    _ => (false, true),
                },
            };
            steps.push(keep);
            for t in &step.stmt.targets {
                held.insert(t.node.clone(), keep);
            }
            learn(&mut names, &step.values);
        }
        let dgram = kind
            .iter()
            .filter(|(_, k)| **k == SockKind::Dgram)
            .map(|(s, _)| *s)
            .collect();
        Plan {
            steps,
            ends,
            dgram,
            udp_peers,
        }
    }

    fn end_of(&self, owner: &Owner) -> End {
        match owner {
            Owner::Peer(_) => End::Server,
            Owner::Socket(s) => self.ends.get(s).copied().unwrap_or(End::Client),
        }
    }
}

impl Filter for EndFilter<'_> {
    fn keeps(&self, k: usize) -> bool {
        let (s, c) = self.plan.steps.get(k).copied().unwrap_or((false, true));
        match self.end {
            End::Server => s,
            End::Client => c,
        }
    }

    fn foreign_addr(&self, _k: usize, owner: &Owner) -> Option<String> {
        if self.plan.end_of(owner) == self.end {
            return None;
        }
        let note = self.journal.ports.iter().find(|n| &n.owner == owner)?;
        let ip = if n_unspecified(note) {
            if note.addr.is_ipv6() {
                "::1".to_string()
            } else {
                "127.0.0.1".to_string()
            }
        } else if self
            .journal
            .lab_hosts
            .iter()
            .any(|(_, ip)| *ip == note.addr.ip())
        {
            // A lab host is this machine in the programs.
            "127.0.0.1".to_string()
        } else {
            note.addr.ip().to_string()
        };
        if !note.by_kernel {
            return Some(super::pyexpr::host_port(&ip, &note.addr.port().to_string()));
        }
        if self.end == End::Server {
            // A client's port the kernel chose: only a name the server
            // was told it by can say it (python.rs looks for one).
            return None;
        }
        let mut w = self.wanted.borrow_mut();
        if !w.contains(owner) {
            w.push(owner.clone());
        }
        let name = self.constant(owner).unwrap_or_else(|| "PORT".into());
        Some(super::pyexpr::host_port(&ip, &name))
    }

    fn fixed_port(&self, owner: &Owner) -> Option<String> {
        self.constant(owner)
    }

    /// The server sets up its sockets (and peers) before anything else:
    /// run side by side, the client may connect or send as soon as it
    /// starts, and a datagram sent before its socket is bound is lost.
    fn order(&self, n: usize) -> Vec<usize> {
        if self.end == End::Client {
            return (0..n).collect();
        }
        let setup: Vec<usize> = (0..n)
            .filter(|k| self.plan.steps.get(*k).is_some_and(|s| s.0) && self.is_setup(*k))
            .collect();
        let rest = (0..n).filter(|k| !setup.contains(k));
        setup.iter().copied().chain(rest).collect()
    }
}

impl EndFilter<'_> {
    /// A statement that only sets a socket up (and succeeded).
    fn is_setup(&self, k: usize) -> bool {
        let Some(step) = self.journal.steps.get(k) else {
            return false;
        };
        if step.error.is_some() || step.job.is_some() {
            return false;
        }
        match &step.stmt.command {
            Command::Socket { .. }
            | Command::SetSockOpt { .. }
            | Command::Bind { .. }
            | Command::Listen { .. }
            | Command::Serve { .. }
            | Command::Unlink { .. } => true,
            Command::Value(e) => literal(&e.node),
            _ => false,
        }
    }
}

/// The names a value, print or echo statement reads.
fn names_used(c: &Command) -> Vec<String> {
    use crate::syntax::ast::{Expr as E, PrintArg};
    fn walk(e: &E, out: &mut Vec<String>) {
        match e {
            E::Var(n) | E::Word(n) => out.push(n.clone()),
            E::Repeat(a, b) => {
                walk(&a.node, out);
                walk(&b.node, out);
            }
            E::Concat(v) | E::Tuple(v) => v.iter().for_each(|x| walk(&x.node, out)),
            E::Encode(x) | E::Decode(x) | E::Zeros(x) => walk(&x.node, out),
            E::Str(_) | E::Bytes(_) | E::Int(_) | E::Float(_) | E::Bool(_) | E::None => {}
        }
    }
    let mut out = Vec::new();
    match c {
        Command::Value(e) => walk(&e.node, &mut out),
        Command::Echo { values } => values.iter().for_each(|v| walk(&v.node, &mut out)),
        Command::Print { args } => {
            for a in args {
                if let PrintArg::Value(v) = a {
                    walk(&v.node, &mut out);
                }
            }
        }
        _ => {}
    }
    out
}

/// A value written out in full (no name in it).
fn literal(e: &crate::syntax::ast::Expr) -> bool {
    use crate::syntax::ast::Expr as E;
    match e {
        E::Str(_) | E::Bytes(_) | E::Int(_) | E::Float(_) | E::Bool(_) | E::None => true,
        E::Repeat(a, b) => literal(&a.node) && literal(&b.node),
        E::Concat(v) | E::Tuple(v) => v.iter().all(|x| literal(&x.node)),
        E::Encode(x) | E::Decode(x) | E::Zeros(x) => literal(&x.node),
        E::Var(_) | E::Word(_) => false,
    }
}

fn n_unspecified(n: &super::journal::PortNote) -> bool {
    n.addr.ip().is_unspecified()
}

impl EndFilter<'_> {
    fn constant(&self, owner: &Owner) -> Option<String> {
        self.fixed
            .iter()
            .find(|(o, _, _)| o == owner)
            .map(|(_, c, _)| c.clone())
    }
}

/// `export FILE.py split`.
pub fn export(
    runner: &mut Runner,
    path: &Path,
    force: bool,
    finished: HashSet<usize>,
) -> Result<Vec<Item>, ExecError> {
    let j = &runner.journal;
    let plan = Plan::of(j);
    let (server_path, client_path) = paths(path);
    let mut names: HashMap<u64, String> = HashMap::new();
    for s in &j.steps {
        for v in s
            .values
            .iter()
            .chain(s.joined.iter().flat_map(|r| r.values.iter()))
        {
            if let (Some(n), Val::Socket(h)) = (&v.name, &v.val) {
                names.entry(h.serial).or_insert_with(|| n.clone());
            }
        }
    }
    // A first pass of the client says which server addresses it names.
    let probe_filter = EndFilter {
        plan: &plan,
        end: End::Client,
        journal: j,
        wanted: RefCell::new(Vec::new()),
        fixed: Vec::new(),
    };
    let probe = Input {
        journal: j,
        finished_jobs: finished.clone(),
        file: String::new(),
        run: String::new(),
    };
    python::write(&probe, &probe_filter, &[]);
    // Their ports were the kernel's choice: the two programs agree on one
    // now, free at the time of the export.
    let mut fixed = Vec::new();
    for owner in probe_filter.wanted.borrow().iter() {
        let note = j.ports.iter().find(|n| &n.owner == owner);
        let udp = match (owner, note) {
            (Owner::Peer(_), _) => plan.udp_peers.contains(owner),
            (Owner::Socket(s), _) => plan.dgram.contains(s),
        };
        let base = match owner {
            Owner::Socket(s) => names.get(s).cloned().unwrap_or_else(|| format!("sock{s}")),
            Owner::Peer(n) => format!("peer{n}"),
        };
        let port = free_port(udp).map_err(ExecError::from)?;
        fixed.push((owner.clone(), format!("{}_PORT", base.to_uppercase()), port));
    }
    let mut constants = Vec::new();
    for (_, c, p) in &fixed {
        constants.push(format!(
            "{c} = {p}  # free when exported; any free port will do, the same in both files"
        ));
    }
    if !constants.is_empty() {
        constants.push(String::new());
    }
    let server_run = format!("python3 {}", super::shell_word(&server_path));
    let client_run = format!("python3 {}", super::shell_word(&client_path));
    let client_filter = EndFilter {
        plan: &plan,
        end: End::Client,
        journal: j,
        wanted: RefCell::new(Vec::new()),
        fixed: fixed.clone(),
    };
    let client = python::write(
        &Input {
            journal: j,
            finished_jobs: finished.clone(),
            file: file_name(&client_path),
            run: format!("{server_run} first, then {client_run}"),
        },
        &client_filter,
        &constants,
    );
    let server_filter = EndFilter {
        plan: &plan,
        end: End::Server,
        journal: j,
        wanted: RefCell::new(Vec::new()),
        fixed,
    };
    let server = python::write(
        &Input {
            journal: j,
            finished_jobs: finished,
            file: file_name(&server_path),
            run: format!("{server_run}, then in another terminal {client_run}"),
        },
        &server_filter,
        &constants,
    );
    // Neither is written unless both can be.
    for p in [&server_path, &client_path] {
        if !force && std::fs::symlink_metadata(p).is_ok() {
            return Err(ExecError::os(libc::EEXIST).hint(format!(
                "{} exists: add force to replace it, or pick another name",
                crate::value::escape_controls(&p.display().to_string())
            )));
        }
    }
    super::write_file(&mut runner.session, &server_path, &server.text, force)?;
    super::write_file(&mut runner.session, &client_path, &client.text, force)?;
    let mut items = super::report(&server_path, &server, &server_run);
    items.truncate(1);
    items.extend(super::report(&client_path, &client, &client_run));
    if let Some(Item::Note(run)) = items.last_mut() {
        *run = format!("run them: {server_run}, then in another terminal {client_run}");
    }
    Ok(items)
}

/// A port free now (the kernel's pick for a socket bound to port 0).
fn free_port(udp: bool) -> std::io::Result<u16> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    if udp {
        Ok(std::net::UdpSocket::bind(addr)?.local_addr()?.port())
    } else {
        Ok(std::net::TcpListener::bind(addr)?.local_addr()?.port())
    }
}

/// talk.py -> talk_server.py, talk_client.py.
fn paths(path: &Path) -> (PathBuf, PathBuf) {
    let stem = path.file_stem().map_or_else(
        || "session".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    let ext = path
        .extension()
        .map_or_else(|| "py".to_string(), |e| e.to_string_lossy().into_owned());
    let dir = path.parent().unwrap_or(Path::new(""));
    (
        dir.join(format!("{stem}_server.{ext}")),
        dir.join(format!("{stem}_client.{ext}")),
    )
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

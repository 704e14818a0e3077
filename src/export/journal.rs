//! What the runner saw of each statement it ran: the journal `export` and
//! `record` read. It is kept small on purpose: a statement, how its socket
//! arguments resolved, a summary of each value it showed (kinds and
//! addresses, never the bytes themselves), its error, and the jobs around
//! it. A long session (a load script of 10,000 statements) must not cost
//! memory in proportion to the data it moved.

use crate::errors::ExecError;
use crate::exec::{Item, JobEnd, Session};
use crate::syntax::ast::{AddrExpr, Command, EpollOp, Expr, SockRef, Span, Spanned, Statement};
use crate::value::{SockHandle, Value};
use std::collections::HashSet;
use std::net::SocketAddr;

/// Statements kept at most: past this, the journal stops and `export`
/// says the session is too long (it is for sessions a person typed).
pub const MAX_STEPS: usize = 20_000;

/// The rendered text kept of one value (for `record`), at most.
const TEXT_KEEP: usize = 4096;

/// A value as the journal keeps it: its kind, and what export needs of it.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    None,
    Bool,
    Int(i64),
    Float,
    Str,
    Bytes,
    Addr(AddrVal),
    Socket(SockHandle),
    Family,
    Kind,
    Tuple(Vec<Val>),
    List(Vec<Val>),
    Named,
    Zeros,
    /// A line `print()` or `echo` printed.
    Printed,
}

/// An address value.
#[derive(Clone, Debug, PartialEq)]
pub enum AddrVal {
    Inet(SocketAddr),
    /// A UNIX path or abstract name, as Python shows it.
    Unix(String),
}

impl Val {
    pub fn of(v: &Value) -> Val {
        match v {
            Value::None => Val::None,
            Value::Bool(_) => Val::Bool,
            Value::Int(n) => Val::Int(*n),
            Value::Float(_) => Val::Float,
            Value::Str(_) => Val::Str,
            Value::Bytes(_) => Val::Bytes,
            Value::Addr(a) => Val::Addr(match a.as_socket() {
                Some(sa) => AddrVal::Inet(sa),
                None => AddrVal::Unix(crate::value::addr_repr(a)),
            }),
            Value::Socket(h) => Val::Socket(*h),
            Value::Family(_) => Val::Family,
            Value::Kind(_) => Val::Kind,
            Value::Tuple(items) => Val::Tuple(items.iter().map(Val::of).collect()),
            Value::List(items) => Val::List(items.iter().map(Val::of).collect()),
            Value::Named(_) => Val::Named,
            Value::Zeros(_) => Val::Zeros,
            Value::Epoll(_) => Val::Named,
        }
    }

    /// It holds a socket somewhere (its Python repr is noise).
    pub fn has_socket(&self) -> bool {
        match self {
            Val::Socket(_) => true,
            Val::Tuple(v) | Val::List(v) => v.iter().any(Val::has_socket),
            _ => false,
        }
    }

    /// Python's print() shows it as its repr (not a str or an enum).
    pub fn prints_as_repr(&self) -> bool {
        !matches!(
            self,
            Val::Str | Val::Family | Val::Kind | Val::Named | Val::Printed
        )
    }
}

/// One value a statement showed.
#[derive(Clone, Debug)]
pub struct Shown {
    /// The name it was bound to (`data = ...`), or None (`-> ...`).
    pub name: Option<String>,
    pub val: Val,
    /// The line as shown, without colour (kept while recording).
    pub text: Option<String>,
}

/// How a job ended.
#[derive(Clone, Debug)]
pub enum JobHow {
    Done,
    Failed(ExecError),
    Cancelled(String),
}

/// A job collected while a statement ran (before it, or by it: `wait`).
#[derive(Clone, Debug)]
pub struct JobReport {
    pub id: usize,
    pub how: JobHow,
    pub values: Vec<Shown>,
}

/// How a socket argument written as an fd or `.` resolved.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub written: SockRef,
    pub serial: Option<u64>,
    /// The socket's Python name then.
    pub name: String,
}

/// One statement the runner ran.
#[derive(Clone, Debug)]
pub struct Step {
    /// The statement as written (without its `&`).
    pub text: String,
    pub stmt: Statement,
    /// Nested in a `source`, a lesson or a macro (0 when typed).
    pub depth: usize,
    /// Socket arguments written as an fd or `.`.
    pub resolved: Vec<Resolved>,
    /// Names that were bound before it ran to sockets, by serial (for
    /// `connect k s` and friends).
    pub word_socks: Vec<(String, u64)>,
    pub values: Vec<Shown>,
    /// It started job N (`&`).
    pub job: Option<usize>,
    pub error: Option<ExecError>,
    /// Jobs collected before it ran or while it ran.
    pub joined: Vec<JobReport>,
    /// A built-in peer it started: (number, address).
    pub peer: Option<(u32, AddrVal)>,
    /// It waited (for a client, for data...) before it returned.
    pub waited: bool,
    /// Addresses written as a program job (`connect k %1`): the word and
    /// where the program was then.
    pub programs: Vec<(String, SocketAddr)>,
    /// It ran on this lab host (`on b ...`; `stmt` is what followed `on b`).
    pub on: Option<String>,
}

/// A local port (or path) a socket or peer got, and whether the kernel
/// chose it.
#[derive(Clone, Debug)]
pub struct PortNote {
    /// The step after which it was seen.
    pub step: usize,
    pub owner: Owner,
    pub addr: SocketAddr,
    /// The kernel picked it (port 0, or an implicit bind by connect or
    /// sendto); false when a bind or serve wrote the port.
    pub by_kernel: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Owner {
    Socket(u64),
    Peer(u32),
}

/// A line the parser refused (nothing of it ran).
#[derive(Clone, Debug)]
pub struct Unread {
    /// The step it came before.
    pub before: usize,
    pub text: String,
    pub error: String,
}

/// Whether a script (known whole) may ask for `export` or `record`,
/// itself or through a file or lesson it runs: if it never says any of
/// those words, no journal is kept and each statement is cheaper (a
/// 10,000-statement script pays nothing for it). The interactive shell
/// and piped input always keep one.
pub fn wanted_by(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    ["export", "record", "source", "step", "lesson"]
        .iter()
        .any(|w| t.contains(w))
}

/// The journal of a session.
pub struct Journal {
    /// Kept at all (see [`wanted_by`]).
    pub on: bool,
    pub steps: Vec<Step>,
    pub ports: Vec<PortNote>,
    pub unread: Vec<Unread>,
    /// Sockets whose port is known (by serial).
    seen: HashSet<u64>,
    /// The step being run.
    current: Option<Step>,
    /// Keep the shown text of values (a recording is on).
    pub keep_text: bool,
    /// More than [`MAX_STEPS`] statements ran: the journal stopped.
    pub full: bool,
    /// Jobs collected between statements (by `export` itself): the next
    /// statement's, or the program's end.
    pub pending: Vec<JobReport>,
    /// The lab's hosts and addresses, of every lab the session had up.
    pub lab_hosts: Vec<(String, std::net::IpAddr)>,
}

impl Default for Journal {
    fn default() -> Self {
        Journal {
            on: true,
            steps: Vec::new(),
            ports: Vec::new(),
            unread: Vec::new(),
            seen: HashSet::new(),
            current: None,
            keep_text: false,
            full: false,
            pending: Vec::new(),
            lab_hosts: Vec::new(),
        }
    }
}

impl Journal {
    /// Before a statement runs: resolves its socket arguments.
    pub fn begin(&mut self, session: &Session, st: &Statement, src: &str, depth: usize) {
        if !self.on {
            return;
        }
        if self.steps.len() >= MAX_STEPS {
            self.full = true;
            self.current = None;
            return;
        }
        let text = src
            .get(st.span.start..st.span.end)
            .unwrap_or("")
            .trim_end_matches('&')
            .trim()
            .to_string();
        // `on b s = socket tcp` is kept as the statement it runs, on b.
        let (on, inner);
        let st = match &st.command {
            Command::On { host, stmt } => {
                let mut s = (**stmt).clone();
                if s.targets.is_empty() {
                    s.targets = st.targets.clone();
                }
                on = Some(host.node.clone());
                inner = s;
                &inner
            }
            _ => {
                on = None;
                st
            }
        };
        let mut resolved = Vec::new();
        for r in sock_refs(&st.command) {
            let entry = match &r.node {
                SockRef::Name(_) => continue,
                SockRef::Fd(fd) => session.table.by_fd(*fd),
                SockRef::Last => session.table.last.and_then(|h| session.table.get(h)),
            };
            resolved.push(Resolved {
                written: r.node.clone(),
                serial: entry.map(|e| e.handle.serial),
                name: entry.map_or_else(|| "sock".to_string(), python_name),
            });
        }
        let mut word_socks = Vec::new();
        let mut programs = Vec::new();
        for w in addr_words(&st.command) {
            if let Some(Value::Socket(h)) = session.vars.get(w) {
                word_socks.push((w.to_string(), h.serial));
            } else if let Some(a) = session.program_socket_addr(w, &st.command) {
                programs.push((w.to_string(), a));
            }
        }
        self.current = Some(Step {
            text,
            stmt: st.clone(),
            depth,
            resolved,
            word_socks,
            values: Vec::new(),
            job: None,
            error: None,
            joined: Vec::new(),
            peer: None,
            waited: false,
            programs,
            on,
        });
    }

    /// An item the statement emitted (`text`: as shown, when known).
    pub fn item(&mut self, item: &Item, text: Option<&str>) {
        let Some(step) = &mut self.current else {
            return;
        };
        match item {
            Item::Value { name, value, .. } => step.values.push(Shown {
                name: name.clone(),
                val: Val::of(value),
                text: self
                    .keep_text
                    .then(|| text.map(|t| keep(&crate::render::strip_ansi(t))))
                    .flatten(),
            }),
            Item::Echo(line) => step.values.push(Shown {
                name: None,
                val: Val::Printed,
                text: self.keep_text.then(|| keep(line)),
            }),
            Item::JobStarted { id, .. } => step.job = Some(*id),
            Item::Waited(_) => step.waited = true,
            _ => {}
        }
    }

    /// After the statement: its error, the jobs collected around it, and
    /// the ports its sockets got.
    pub fn end(&mut self, session: &mut Session, error: Option<&ExecError>) {
        let ended = std::mem::take(&mut session.ended_jobs);
        if !self.on {
            return;
        }
        let Some(mut step) = self.current.take() else {
            return;
        };
        step.error = error.cloned();
        step.joined.append(&mut self.pending);
        for name in session.lab_hosts() {
            if let Some(ip) = session.lab_host_ip(&name)
                && !self.lab_hosts.iter().any(|(n, i)| *n == name && *i == ip)
            {
                self.lab_hosts.push((name, ip));
            }
        }
        for it in ended {
            if let Some(r) = job_report(&it, self.keep_text) {
                step.joined.push(r);
            }
        }
        if error.is_none()
            && let Command::Serve { .. } = step.stmt.command
            && let Some(n) = session.peers.all_numbers().last().copied()
            && let Some(a) = session.peers.addr(n)
        {
            let addr = match a.as_socket() {
                Some(sa) => AddrVal::Inet(sa),
                None => AddrVal::Unix(crate::value::addr_repr(&a)),
            };
            if let AddrVal::Inet(sa) = &addr {
                let written = match &step.stmt.command {
                    Command::Serve {
                        addr: Some(AddrExpr::HostPort { port, .. }),
                        ..
                    } => matches!(port.node, Expr::Int(p) if p != 0),
                    _ => false,
                };
                self.ports.push(PortNote {
                    step: self.steps.len(),
                    owner: Owner::Peer(n),
                    addr: *sa,
                    by_kernel: !written,
                });
            }
            step.peer = Some((n, addr));
        }
        self.note_ports(session, &step);
        self.steps.push(step);
    }

    /// Takes the reports of jobs collected outside a statement.
    pub fn take_ended(&mut self, session: &mut Session) {
        for it in std::mem::take(&mut session.ended_jobs) {
            if self.on
                && let Some(r) = job_report(&it, self.keep_text)
            {
                self.pending.push(r);
            }
        }
    }

    /// A line that did not parse.
    pub fn unread(&mut self, text: &str, error: String) {
        if self.on && self.steps.len() < MAX_STEPS {
            self.unread.push(Unread {
                before: self.steps.len(),
                text: text.trim().to_string(),
                error,
            });
        }
    }

    /// Records the local port of each socket the step touched that has
    /// one for the first time.
    fn note_ports(&mut self, session: &Session, step: &Step) {
        // Only these give a socket its port (a job's accept comes back in
        // `joined`): the other statements cost no look-up.
        let may_bind = matches!(
            step.stmt.command,
            Command::Bind { .. }
                | Command::Listen { .. }
                | Command::Connect { .. }
                | Command::SendTo { .. }
                | Command::Accept { .. }
        ) || !step.joined.is_empty();
        if !may_bind || step.job.is_some() {
            return;
        }
        let mut handles: Vec<SockHandle> = Vec::new();
        handles.extend(session.table.last);
        for r in sock_refs(&step.stmt.command) {
            if let SockRef::Name(n) = &r.node
                && let Some(Value::Socket(h)) = session.vars.get(n)
            {
                handles.push(*h);
            }
        }
        for s in &step.values {
            if let Val::Socket(h) = &s.val {
                handles.push(*h);
            }
        }
        for r in &step.joined {
            for s in &r.values {
                if let Val::Socket(h) = &s.val {
                    handles.push(*h);
                }
            }
        }
        let literal = match &step.stmt.command {
            Command::Bind {
                addr: AddrExpr::HostPort { port, .. },
                ..
            } => matches!(port.node, Expr::Int(p) if p != 0),
            _ => false,
        };
        for h in handles {
            if self.seen.contains(&h.serial) {
                continue;
            }
            let Some(e) = session.table.get(h) else {
                continue;
            };
            let Some(sa) = e.sock.local_addr().ok().and_then(|a| a.as_socket()) else {
                continue;
            };
            // An accepted socket has its listener's address: the port is
            // the listener's, noted already.
            if sa.port() == 0 || self.ports.iter().any(|n| n.addr == sa) {
                continue;
            }
            self.seen.insert(h.serial);
            self.ports.push(PortNote {
                step: self.steps.len(),
                owner: Owner::Socket(h.serial),
                addr: sa,
                by_kernel: !(literal && step.error.is_none()),
            });
        }
    }

    /// Steps from `from` on.
    pub fn since(&self, from: usize) -> &[Step] {
        self.steps.get(from..).unwrap_or(&[])
    }
}

/// The Python name of a socket: its first name, else `sock` and its fd.
pub fn python_name(e: &crate::table::Entry) -> String {
    e.names
        .first()
        .cloned()
        .unwrap_or_else(|| format!("sock{}", e.fd()))
}

fn keep(t: &str) -> String {
    cut(t, TEXT_KEEP)
}

/// `s` cut to at most `max` bytes, on a character's boundary.
pub(super) fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn job_report(it: &Item, keep_text: bool) -> Option<JobReport> {
    let Item::JobEnded { id, how, items, .. } = it else {
        return None;
    };
    let how = match how {
        JobEnd::Done => JobHow::Done,
        JobEnd::Failed(e) => JobHow::Failed(e.clone()),
        JobEnd::Cancelled(why) => JobHow::Cancelled(why.clone()),
    };
    let values = items
        .iter()
        .filter_map(|i| match i {
            Item::Value { name, value, .. } => Some(Shown {
                name: name.clone(),
                val: Val::of(value),
                text: keep_text.then(|| keep(&crate::render::strip_ansi(&crate::render::item(i)))),
            }),
            _ => None,
        })
        .collect();
    Some(JobReport {
        id: *id,
        how,
        values,
    })
}

/// Every socket argument of a command.
pub fn sock_refs(c: &Command) -> Vec<&Spanned<SockRef>> {
    use Command as C;
    match c {
        C::Bind { sock, .. }
        | C::Listen { sock, .. }
        | C::Accept { sock }
        | C::Connect { sock, .. }
        | C::Send { sock, .. }
        | C::SendAll { sock, .. }
        | C::Recv { sock, .. }
        | C::SendTo { sock, .. }
        | C::RecvFrom { sock, .. }
        | C::SendFile { sock, .. }
        | C::RecvBulk { sock, .. }
        | C::Close { sock }
        | C::Shutdown { sock, .. }
        | C::SetSockOpt { sock, .. }
        | C::GetSockOpt { sock, .. }
        | C::GetSockName { sock }
        | C::GetPeerName { sock }
        | C::Fileno { sock }
        | C::GetFamily { sock }
        | C::GetType { sock }
        | C::SetBlocking { sock, .. }
        | C::SetTimeout { sock, .. }
        | C::GetTimeout { sock }
        | C::Info { sock }
        | C::SendMsg { sock, .. }
        | C::RecvMsg { sock, .. }
        | C::Membership { sock, .. }
        | C::Dup { sock }
        | C::RecvUntil { sock, .. }
        | C::Interactive { sock, .. } => vec![sock],
        C::Epoll {
            op: EpollOp::Add(sock, _) | EpollOp::Modify(sock, _) | EpollOp::Delete(sock),
            ..
        } => vec![sock],
        C::States {
            sock: Some(sock), ..
        }
        | C::Diagram {
            sock: Some(sock), ..
        } => vec![sock],
        // `print(c.getpeername())`: the sockets of the calls printed.
        C::Print { args } => args
            .iter()
            .flat_map(|a| match a {
                crate::syntax::ast::PrintArg::Call(c) => sock_refs(c),
                crate::syntax::ast::PrintArg::Value(_) => Vec::new(),
            })
            .collect(),
        C::Select {
            read,
            write,
            except,
            ..
        }
        | C::Poll {
            read,
            write,
            except,
            ..
        } => read.iter().chain(write).chain(except).collect(),
        _ => Vec::new(),
    }
}

/// The one-word addresses of a command (`connect k s`).
fn addr_words(c: &Command) -> Vec<&str> {
    let addr = match c {
        Command::Bind { addr, .. }
        | Command::Connect { addr, .. }
        | Command::SendTo { addr, .. } => addr,
        _ => return Vec::new(),
    };
    match addr {
        AddrExpr::Word(w) => vec![w.node.as_str()],
        _ => Vec::new(),
    }
}

/// The span of a statement's address argument, if it has one written as
/// host and port (what `record` rewrites into a socket's name).
pub fn host_port_span(c: &Command) -> Option<(Span, Option<&str>, &Spanned<Expr>)> {
    let addr = match c {
        Command::Connect { addr, .. } | Command::SendTo { addr, .. } => addr,
        _ => return None,
    };
    match addr {
        AddrExpr::HostPort { host, port } => {
            Some((addr.span(), host.as_ref().map(|h| h.node.as_str()), port))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_that_never_exports_keeps_no_journal() {
        assert!(!wanted_by("s = socket tcp\nbind s 127.0.0.1 0\nclose s\n"));
        assert!(wanted_by("s = socket tcp\nexport talk.py\n"));
        assert!(wanted_by("RECORD x.sp"));
        assert!(wanted_by("source more.sp"));
        assert!(wanted_by("lesson 2"));
    }
}

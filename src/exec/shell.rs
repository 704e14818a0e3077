//! The shell's own commands: help, echo, sleep, set, vars, and the views of
//! the socket table (`sockets`, `info`).

use super::{Item, Ret, Row, Session, Sink};
use crate::errors::ExecError;
use crate::spec::{self, OptKind};
use crate::syntax::ast::{Expr, Family, SockKind, SockRef, Spanned, View};
use crate::table::{self, Entry, Origin};
use crate::value::{Value, addr_short};
use crate::wait;
use std::time::Duration;

fn proto(e: &Entry) -> &'static str {
    match (e.family, e.kind) {
        (Family::Inet, SockKind::Stream) => "TCP",
        (Family::Inet, SockKind::Dgram) if e.protocol == libc::IPPROTO_ICMP => "ICMP-DG",
        (Family::Inet, SockKind::Dgram) => "UDP",
        (Family::Inet6, SockKind::Stream) => "TCP6",
        (Family::Inet6, SockKind::Dgram) if e.protocol == libc::IPPROTO_ICMPV6 => "ICMP6-DG",
        (Family::Inet6, SockKind::Dgram) => "UDP6",
        (Family::Unix, SockKind::Stream) => "UNIX",
        (Family::Unix, SockKind::Dgram) => "UNIX-DG",
        (Family::Unix, SockKind::SeqPacket) => "UNIX-SEQ",
        (_, SockKind::SeqPacket) => "SEQPACKET",
        (Family::Inet6, SockKind::Raw) => match e.protocol {
            libc::IPPROTO_ICMPV6 => "RAW6/ICMP6",
            libc::IPPROTO_TCP => "RAW6/TCP",
            libc::IPPROTO_UDP => "RAW6/UDP",
            _ => "RAW6",
        },
        (_, SockKind::Raw) => match e.protocol {
            libc::IPPROTO_ICMP => "RAW/ICMP",
            libc::IPPROTO_TCP => "RAW/TCP",
            libc::IPPROTO_UDP => "RAW/UDP",
            libc::IPPROTO_RAW => "RAW/IP",
            _ => "RAW",
        },
    }
}

/// A raw socket's local address: the kernel puts the protocol where the
/// port would be, so only the address is shown (`-` when it has none).
pub(crate) fn raw_local(a: Option<&socket2::SockAddr>) -> String {
    match a.and_then(|a| a.as_socket()) {
        Some(sa) if !sa.ip().is_unspecified() => sa.ip().to_string(),
        _ => "-".into(),
    }
}

fn opt_bytes(n: Option<u32>) -> String {
    n.map_or("-".into(), |n| n.to_string())
}

/// One row of the table, from what the kernel says now (its snapshot).
pub fn row_of(e: &Entry, s: table::Snapshot) -> Row {
    let local = if e.kind == SockKind::Raw {
        raw_local(s.local.as_ref())
    } else {
        s.local
            .as_ref()
            .filter(|a| table::is_bound(a))
            .map_or("-".into(), addr_short)
    };
    let peer = s.peer.as_ref().map_or("-".into(), addr_short);
    let (recv_q, send_q) = match s.accept_q {
        Some((q, max)) => (format!("{q}/{max}"), "-".into()),
        // A closed (or reset) TCP socket has no queues: the kernel's
        // leftover count would be bytes it threw away.
        None if s.state.starts_with("CLOSED") && e.held_len() == 0 => ("-".into(), "-".into()),
        None if s.state.starts_with("CLOSED") => (format!("{}+0", e.held_len()), "-".into()),
        // Bytes held by the shell (read by an earlier receive) come before the
        // kernel's: held+kernel.
        None => match e.held_len() {
            0 => (opt_bytes(s.recv_q), opt_bytes(s.send_q)),
            held => (
                format!("{held}+{}", opt_bytes(s.recv_q)),
                opt_bytes(s.send_q),
            ),
        },
    };
    let mut ready = String::new();
    ready.push(if s.readable { 'R' } else { '-' });
    ready.push(if s.writable { 'W' } else { '-' });
    ready.push(if s.exceptional { 'E' } else { '-' });
    Row {
        fd: e.fd().to_string(),
        names: if e.names.is_empty() {
            "-".into()
        } else {
            e.names.join(",")
        },
        proto: proto(e).into(),
        local,
        peer,
        state: s.state,
        recv_q,
        send_q,
        mode: e.mode.label(),
        ready,
        owner: String::new(),
        host: e.host.clone().unwrap_or_default(),
    }
}

impl Session {
    pub(super) fn sockets(&mut self, out: &mut dyn Sink) -> Result<Ret, ExecError> {
        let kernel = if self.table.ghosts.is_empty() {
            Vec::new()
        } else {
            table::kernel_tcp()
        };
        let ghosts = self.table.ghosts_now(&kernel);
        // The sockets of programs run from the shell (`run ... &`).
        let theirs = self.programs.rows();
        if self.table.is_empty() && ghosts.is_empty() && theirs.is_empty() {
            out.emit(Item::Note(
                "no sockets open: s = socket tcp creates one".into(),
            ));
            return Ok(Ret::none());
        }
        let entries: Vec<&Entry> = self.table.iter().collect();
        let snaps = table::snapshots(&entries);
        let mut rows: Vec<Row> = entries
            .iter()
            .zip(snaps)
            .map(|(e, s)| row_of(e, s))
            .collect();
        if self.lab.lab.is_some() {
            for r in rows.iter_mut().filter(|r| r.host.is_empty()) {
                r.host = "-".into();
            }
        }
        for (g, state) in &ghosts {
            rows.push(Row {
                fd: "-".into(),
                names: g.label.clone(),
                proto: if g.local.is_ipv4() {
                    "TCP".into()
                } else {
                    "TCP6".into()
                },
                local: g.local.to_string(),
                peer: g.peer.to_string(),
                state: table::tcp_state_name(*state).to_string(),
                recv_q: "-".into(),
                send_q: "-".into(),
                mode: "closed by you".into(),
                ready: "-".into(),
                owner: String::new(),
                host: self.lab_host_of(g.local.ip()).unwrap_or_default(),
            });
        }
        if !theirs.is_empty() {
            for r in &mut rows {
                r.owner = "this shell".into();
            }
            let lab = self.lab.lab.is_some();
            rows.extend(theirs.into_iter().map(|mut r| {
                if lab && r.host.is_empty() {
                    r.host = "-".into();
                }
                r
            }));
        }
        out.emit(Item::Table(rows));
        if let Some(e) = self.table.iter().find(|e| e.held_len() > 0) {
            let held = e.held_len();
            out.emit(Item::Note(format!(
                "RECV-Q {held}+N: {} held by sockplay for {}'s next receive (read past a delimiter by \
                 recvuntil or recvline, or gathered by a receive that failed), then N in the kernel's queue",
                crate::value::bytes_count(held),
                e.label()
            )));
        }
        // A socket still open whose connection has ended: the kernel shows
        // the socket CLOSED, the connection may sit in TIME_WAIT. The
        // kernel's list is read once (10,000 reset connections read it
        // 10,000 times, half a minute).
        let mut listed: Option<Vec<table::KernelTcp>> = (!kernel.is_empty()).then_some(kernel);
        for e in self.table.iter() {
            // The kernel forgets a closed connection's addresses; the
            // table noted them when it connected.
            if let Some((local, peer)) = e.conn
                && table::tcp_state(e) == Some("CLOSED")
            {
                let kernel = listed.get_or_insert_with(table::kernel_tcp);
                if let Some(k) = kernel.iter().find(|k| k.local == local && k.remote == peer) {
                    out.emit(Item::Note(format!(
                        "{} is CLOSED (its connection ended), yet the kernel keeps that connection in {} until it times out",
                        e.label(),
                        table::tcp_state_name(k.state)
                    )));
                }
            }
        }
        if ghosts.iter().any(|(_, st)| *st == 6) {
            out.emit(Item::Note(
                "TIME_WAIT: the side that closed first keeps the connection about 60 s, so late packets of it cannot \
                 confuse a new one; meanwhile its port is taken (SO_REUSEADDR lets a server bind anyway)"
                    .into(),
            ));
        }
        Ok(Ret::none())
    }

    pub(super) fn info(
        &mut self,
        r: &Spanned<SockRef>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        self.use_sock(r)?;
        let e = self.entry(r)?;
        let s = table::snapshot(e);
        let mut f: Vec<(String, String)> = Vec::new();
        let mut add = |k: &str, v: String| f.push((k.to_string(), v));
        add("fd", e.fd().to_string());
        add(
            "names",
            if e.names.is_empty() {
                "-".into()
            } else {
                e.names.join(", ")
            },
        );
        add(
            "family, type",
            format!("{}, {} ({})", e.family, e.kind, proto(e)),
        );
        add("mode", e.mode.label());
        match &e.origin {
            Origin::Created => {}
            Origin::Accepted { listener } => add("origin", format!("accepted on fd {listener}")),
            Origin::Received { via } => add(
                "origin",
                format!("received from another process over fd {via} (SCM_RIGHTS)"),
            ),
        }
        add(
            "local",
            s.local
                .as_ref()
                .filter(|a| table::is_bound(a))
                .map_or("- (not bound)".into(), addr_short),
        );
        add("peer", s.peer.as_ref().map_or("-".into(), addr_short));
        add("state", s.state.clone());
        match s.accept_q {
            Some((q, max)) => add("accept queue", format!("{q} of {max} connections waiting")),
            None => {
                add("receive queue", format!("{} bytes", opt_bytes(s.recv_q)));
                let held = e.held_len();
                if held > 0 {
                    add(
                        "held",
                        format!(
                            "{held} bytes read by an earlier receive (past a delimiter, or before it failed), returned first by the next one"
                        ),
                    );
                }
                add("send queue", format!("{} bytes", opt_bytes(s.send_q)));
            }
        }
        let mut ready = Vec::new();
        if s.readable {
            ready.push("readable");
        }
        if s.writable {
            ready.push("writable");
        }
        if s.exceptional {
            ready.push("exceptional (error or urgent data)");
        }
        if s.hangup {
            ready.push("peer closed");
        }
        add(
            "ready now",
            if ready.is_empty() {
                "nothing".into()
            } else {
                ready.join(", ")
            },
        );
        if let Some(t) = s.tcp
            && t.state != 10
        {
            add(
                "tcp_info",
                format!(
                    "rtt {:.3} ms (var {:.3}), cwnd {} segments, mss {}/{}, retransmits {} (total {})",
                    f64::from(t.rtt_us) / 1000.0,
                    f64::from(t.rttvar_us) / 1000.0,
                    t.snd_cwnd,
                    t.snd_mss,
                    t.rcv_mss,
                    t.retransmits,
                    t.total_retrans
                ),
            );
        }
        let fd = e.fd();
        for name in [
            "SO_RCVBUF",
            "SO_SNDBUF",
            "SO_REUSEADDR",
            "SO_REUSEPORT",
            "SO_KEEPALIVE",
            "SO_LINGER",
            "SO_BROADCAST",
            "SO_RCVTIMEO",
            "SO_SNDTIMEO",
            "TCP_NODELAY",
            "IPV6_V6ONLY",
        ] {
            let Some(o) = spec::option(name) else {
                continue;
            };
            let applies = match o.level {
                l if l == libc::IPPROTO_TCP => e.is_tcp(),
                l if l == libc::IPPROTO_IPV6 => e.family == Family::Inet6,
                _ => true,
            };
            if !applies || (o.name == "SO_BROADCAST" && e.kind != SockKind::Dgram) {
                continue;
            }
            if let Ok(v) = super::opts::read_option(fd, o) {
                let shown = match (o.kind, &v) {
                    (OptKind::Bool, Value::Int(n)) => {
                        if *n != 0 {
                            "1 (on)".into()
                        } else {
                            "0 (off)".into()
                        }
                    }
                    _ => v.repr(),
                };
                add(o.name, shown);
            }
        }
        add("age", wait::human(e.created.elapsed()));
        out.emit(Item::Fields(format!("socket {}", e.label()), f));
        Ok(Ret::none())
    }

    pub(super) fn help(
        &mut self,
        topic: Option<&Spanned<String>>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        match topic {
            None => out.emit(Item::Help(None)),
            Some(t) if t.node.eq_ignore_ascii_case("python") => {
                out.emit(Item::Fields(
                    "Python lines, as the course writes them, run as the commands on the right"
                        .into(),
                    PYTHON_FORMS
                        .iter()
                        .map(|(py, sh)| (py.to_string(), sh.to_string()))
                        .collect(),
                ));
                out.emit(Item::Note(
                    "one call a line (no loops or blocks); end a blocking call with & to run it in the background; \
                     `import` lines are taken and say what is built in. A whole program runs as it is: run python3 FILE.py \
                     (add & to play its peer here; help run), or sockplay watch python3 FILE.py outside the shell (help watch)"
                        .into(),
                ));
            }
            Some(t) if t.node.eq_ignore_ascii_case("watch") => {
                out.emit(Item::Fields(
                    "sockplay watch [-q|-v] PROGRAM [ARGS]...  (outside the shell; in it: run)".into(),
                    vec![
                        (
                            "what".into(),
                            "runs the program unchanged (python3 FILE.py, or FILE.py) with the terminal as its \
                             stdin and stdout, and shows each socket call it makes as it makes it: file:line, \
                             the line, then the shell's words for the call"
                                .into(),
                        ),
                        (
                            "not Python".into(),
                            "nc, curl, a C program: its socket system calls are traced with ptrace (socket, bind, \
                             listen, accept, connect, read/write/send/recv on a socket, shutdown, close), each shown \
                             under the call's name, no source line; where ptrace is refused, only its sockets are \
                             shown, from /proc"
                                .into(),
                        ),
                        (
                            "-q".into(),
                            "only each call and what it returned (or raised)".into(),
                        ),
                        (
                            "-v".into(),
                            "also sleeps, joins, input() and the polls a library makes for it".into(),
                        ),
                        (
                            "status".into(),
                            "the program's (128 + N when a signal N ended it)".into(),
                        ),
                        (
                            "Ctrl-C".into(),
                            "goes to the program; a second one, a second later, kills it".into(),
                        ),
                        (
                            "diagram".into(),
                            "the shell's: run it in sockplay (run python3 FILE.py &), play its peer, then diagram"
                                .into(),
                        ),
                        (
                            "see also".into(),
                            "help run (the same in the shell, in the foreground or as a job), help input"
                                .into(),
                        ),
                    ],
                ));
            }
            Some(t) => match spec::lookup(&t.node) {
                Some(s) => out.emit(Item::Help(Some(s.cmd))),
                None => {
                    if let Some(o) = spec::option(&t.node) {
                        out.emit(Item::Fields(
                            o.name.to_string(),
                            vec![
                                ("level".into(), o.level_name.into()),
                                ("what".into(), o.doc.into()),
                                ("set".into(), format!("setsockopt s {} VALUE", o.name)),
                                ("read".into(), format!("getsockopt s {}", o.name)),
                            ],
                        ));
                        return Ok(Ret::none());
                    }
                    let mut x = ExecError::usage(format!("no help for `{}`", t.node)).at(t.span);
                    x.hint = Some(match spec::nearest(&t.node, spec::command_words()) {
                        Some(c) => format!("did you mean `{c}`?"),
                        None => "`help` lists every command".into(),
                    });
                    return Err(x);
                }
            },
        }
        Ok(Ret::none())
    }

    pub(super) fn echo(
        &mut self,
        values: &[Spanned<Expr>],
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        // The text is built under the values' own limit: the repr of 256
        // MiB of bytes is up to 1 GiB, and six names of it would be more.
        let mut text = crate::value::Capped::new(crate::value::MAX_DATA);
        // The text is at least as long as the data it shows: known too
        // large before a byte of it is written.
        let mut at_least = 0usize;
        for (k, v) in values.iter().enumerate() {
            let value = self.eval(v)?;
            at_least = at_least.saturating_add(value.data_len());
            if k > 0 {
                let _ = std::fmt::Write::write_char(&mut text, ' ');
            }
            if at_least <= crate::value::MAX_DATA {
                let _ = value.write_display(&mut text);
            }
            if text.cut || at_least > crate::value::MAX_DATA {
                return Err(crate::value::too_large("the text to echo is")
                    .at(v.span)
                    .hint("echo shows values whole; `recv c hex` or a value's name alone shows a large one in part"));
            }
        }
        out.emit(Item::Echo(text.text));
        Ok(Ret::none())
    }

    pub(super) fn sleep(
        &mut self,
        secs: &Spanned<Expr>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let s = self.float_or_none(secs)?.unwrap_or(0.0);
        if !(0.0..=86_400.0).contains(&s) {
            return Err(ExecError::new(
                "ValueError",
                "sleep length must be between 0 and 86400 seconds",
            )
            .at(secs.span));
        }
        out.idle();
        wait::sleep(Duration::from_secs_f64(s), &self.cancel())
            .map_err(|_| ExecError::interrupted())?;
        Ok(Ret::none())
    }

    pub(super) fn set(
        &mut self,
        key: Option<&Spanned<String>>,
        value: Option<&Spanned<Expr>>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let Some(key) = key else {
            let display = match self.settings.display {
                View::Repr => "repr",
                View::Hex => "hex",
                View::Text => "text",
            };
            out.emit(Item::Settings(vec![
                ("display".into(), display.into()),
                ("color".into(), self.settings.color.clone()),
                (
                    "explain".into(),
                    if self.settings.explain { "on" } else { "off" }.into(),
                ),
                ("write".into(), self.files.describe()),
                (
                    "lab".into(),
                    match &self.own_net {
                        Some(Ok(_)) => "on (a network of this shell's own)".into(),
                        Some(Err(why)) => format!("off ({why})"),
                        None => "off".into(),
                    },
                ),
            ]));
            return Ok(Ret::none());
        };
        let Some((name, allowed, _)) = spec::SETTINGS
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(&key.node))
        else {
            let mut x = ExecError::usage(format!("no setting `{}`", key.node)).at(key.span);
            let names: Vec<&str> = spec::SETTINGS.iter().map(|s| s.0).collect();
            x.hint = Some(format!("settings: {}", names.join(", ")));
            return Err(x);
        };
        let Some(value) = value else {
            return Err(ExecError::usage(format!(
                "set {name} needs a value: {}",
                allowed.join(", ")
            )));
        };
        if *name == "write" {
            return self.set_write(value, out);
        }
        let v = self.text(value)?.to_ascii_lowercase();
        if *name == "lab" && v != "on" {
            return Err(ExecError::usage(format!("`{v}` is not a value of lab"))
                .at(value.span)
                .hint("a shell cannot leave its network namespace: quit, and start sockplay without --lab"));
        }
        if !allowed.is_empty() && !allowed.contains(&v.as_str()) {
            return Err(ExecError::usage(format!("`{v}` is not a value of {name}"))
                .at(value.span)
                .hint(format!("one of: {}", allowed.join(", "))));
        }
        match *name {
            "display" => {
                self.settings.display = match v.as_str() {
                    "hex" => View::Hex,
                    "text" => View::Text,
                    _ => View::Repr,
                }
            }
            "color" => self.settings.color = v.clone(),
            "explain" => self.settings.explain = v == "on",
            "lab" => return self.set_lab(value, out),
            _ => {}
        }
        // The programs running in the background follow it.
        if let Ok(mut l) = self.live_settings.lock() {
            *l = (self.settings.explain, self.settings.display);
        }
        out.emit(Item::Done(format!("{name} = {v}")));
        Ok(Ret::none())
    }

    /// `set write here|replace|DIR`: where scripts may write. Only the
    /// person at the prompt decides that: a script that could widen its
    /// own rights would have none.
    fn set_write(&mut self, value: &Spanned<Expr>, out: &mut dyn Sink) -> Result<Ret, ExecError> {
        let v = self.text(value)?;
        if self.who != crate::files::Who::Prompt {
            let flag = match v.to_ascii_lowercase().as_str() {
                "replace" => "--allow-replace",
                "here" => "no flag",
                _ => "--allow-write DIR",
            };
            return Err(ExecError::new(
                "PermissionError",
                "a script may not change where scripts write files",
            )
            .at(value.span)
            .hint(format!(
                "type `set write` at the prompt, or start sockplay with {flag}"
            )));
        }
        match v.to_ascii_lowercase().as_str() {
            "here" => self.files = crate::files::Policy::default(),
            "replace" => self.files.replace = true,
            _ => {
                let d = self
                    .files
                    .allow_write(std::path::Path::new(&v))
                    .map_err(|e| crate::files::file_error(e, &v).at(value.span))?;
                out.emit(Item::Note(format!(
                    "scripts may now create files under {} too",
                    crate::files::shown(&d)
                )));
            }
        }
        out.emit(Item::Done(format!("write = {}", self.files.describe())));
        Ok(Ret::none())
    }

    pub(super) fn vars_cmd(&mut self, out: &mut dyn Sink) -> Result<Ret, ExecError> {
        if self.vars.is_empty() {
            out.emit(Item::Note("no names bound yet: s = socket tcp".into()));
            return Ok(Ret::none());
        }
        let list = self
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone(), self.desc_of(v)))
            .collect();
        out.emit(Item::Vars(list));
        Ok(Ret::none())
    }

    /// A socket's state now, for `expect state`: the TCP state
    /// (`CLOSE_WAIT`), or for other sockets a word (`listening`,
    /// `connected`, `bound`, `unbound`). A TCP socket the learner closed is
    /// still in the kernel's hands for a while (FIN_WAIT2, TIME_WAIT...):
    /// that state is given; once the kernel has forgotten it, `CLOSED`.
    pub fn state_of(&self, r: &Spanned<SockRef>) -> Result<String, ExecError> {
        if let Ok(e) = self.entry(r) {
            return Ok(table::snapshot(e).state);
        }
        let h = match &r.node {
            SockRef::Name(n) => match self.vars.get(n) {
                Some(Value::Socket(h)) => *h,
                _ => return self.sock(r).map(|_| "CLOSED".to_string()),
            },
            _ => return self.sock(r).map(|_| "CLOSED".to_string()),
        };
        if let Some(g) = self
            .table
            .ghosts
            .iter()
            .rev()
            .find(|g| g.serial == h.serial)
            && let Some(k) = table::kernel_tcp()
                .iter()
                .find(|k| k.local == g.local && k.remote == g.peer)
        {
            return Ok(table::tcp_state_name(k.state).to_string());
        }
        Ok("CLOSED".into())
    }

    /// `unlink PATH`: removes a socket file left by an earlier bind. Only
    /// socket files: a teaching tool must not delete anything else.
    pub(super) fn unlink(
        &mut self,
        path: &Spanned<Expr>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        use std::os::unix::fs::FileTypeExt;
        // The address recvfrom gave (Python's is the path: os.unlink(addr)).
        // Kept as bytes: a name that is not UTF-8 is removed as it is, not
        // a look-alike with U+FFFD in it.
        let p: std::path::PathBuf = match self.eval(path)? {
            Value::Addr(a) if a.as_pathname().is_some() => a
                .as_pathname()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default(),
            _ => self.text(path)?.into(),
        };
        crate::files::check_remove(&p, &self.file_rules()).map_err(|e| e.at(path.span))?;
        let shown = crate::files::shown(&p);
        match std::fs::symlink_metadata(&p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                out.emit(Item::Note(format!(
                    "there is no file {shown}: nothing to remove"
                )));
            }
            Err(e) => return Err(ExecError::from(e).at(path.span)),
            Ok(m) if !m.file_type().is_socket() => {
                return Err(ExecError::usage(format!(
                    "{shown} is not a socket file: unlink removes socket files only"
                ))
                .at(path.span));
            }
            Ok(_) => {
                std::fs::remove_file(&p).map_err(|e| ExecError::from(e).at(path.span))?;
                out.emit(Item::Done(format!("removed the socket file {shown}")));
            }
        }
        self.lesson_files.retain(|f| *f != p);
        Ok(Ret::none())
    }

    /// Removes the socket files a bundled lesson made that no open socket
    /// of this shell is bound to (one still bound keeps its file until
    /// every socket closes), and says so. Only socket files.
    pub fn tidy_lesson_files(&mut self, out: &mut dyn Sink) {
        use std::os::unix::fs::FileTypeExt;
        if self.lesson_files.is_empty() {
            return;
        }
        let held: Vec<std::path::PathBuf> = self
            .table
            .iter()
            .filter_map(|e| e.bound_path.clone())
            .collect();
        self.lesson_files.retain(|p| {
            if held.contains(p) {
                return true;
            }
            let is_socket = std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_socket());
            if is_socket && std::fs::remove_file(p).is_ok() {
                out.emit(Item::Note(format!(
                    "removed the socket file {} that the lesson made",
                    crate::files::shown(p)
                )));
            }
            false
        });
    }
}

/// What `import M` means here: the socket, select and time modules are
/// built in; the others a course program imports have a shell way.
pub(super) fn import_note(module: &str) -> String {
    match module {
        "socket" | "select" | "time" | "sys" => {
            format!("{module}: built in, nothing to import")
        }
        "threading" | "multiprocessing" | "socketserver" | "selectors" => format!(
            "{module}: not needed here; one shell plays every end, and a call ended with & runs in the background (conn, addr = sk.accept() &); a program that uses {module} runs as it is with `run python3 FILE.py`"
        ),
        "os" => {
            format!("{module}: only os.unlink(path) and os.remove(path) are taken (unlink PATH)")
        }
        "struct" => format!(
            "{module}: not here; for length-prefixed messages use sendmsg c DATA framed / recvmsg c framed"
        ),
        _ => format!("{module}: sockplay has no `{module}`; it speaks the socket module only"),
    }
}

/// `help python`: the Python forms the second surface takes, each with
/// the shell's own words for it.
const PYTHON_FORMS: &[(&str, &str)] = &[
    ("sk = socket.socket()", "sk = socket"),
    (
        "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
        "u = socket inet dgram",
    ),
    ("sk.bind(('127.0.0.1', 9000))", "bind sk 127.0.0.1 9000"),
    ("sk.listen(5)", "listen sk 5"),
    ("conn, addr = sk.accept()", "conn, addr = accept sk"),
    (
        "sk.connect(('127.0.0.1', 9000))",
        "connect sk 127.0.0.1 9000",
    ),
    (
        "conn.send(b'hi')  conn.sendall(msg.encode())",
        "send conn b\"hi\"  sendall conn msg",
    ),
    (
        "msg = conn.recv(1024).decode('utf-8')",
        "msg = recv conn 1024 (bound as a str)",
    ),
    (
        "data, addr = u.recvfrom(1024)",
        "data, addr = recvfrom u 1024",
    ),
    ("u.sendto(data, addr)", "sendto u data addr"),
    (
        "sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
        "setsockopt sk SO_REUSEADDR 1",
    ),
    ("conn.shutdown(socket.SHUT_WR)", "shutdown conn write"),
    (
        "sk.settimeout(2)  sk.setblocking(False)",
        "settimeout sk 2  setblocking sk false",
    ),
    (
        "r, w, x = select.select([sk, conn], [], [], 1)",
        "r, w, x = select read sk conn 1",
    ),
    (
        "socket.gethostbyname('localhost')",
        "gethostbyname localhost",
    ),
    ("print(x)  time.sleep(1)", "echo x  sleep 1"),
    (
        "ADDR = ('127.0.0.1', 9000)",
        "a tuple; sk.bind(ADDR) takes it",
    ),
];

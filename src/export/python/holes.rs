//! The holes of a command's Python template, filled for one statement:
//! its socket's name, its address (a port the kernel chose becomes the
//! socket's own address), its data as bytes, its flags and options.

use super::{Filter, W, pyexpr};
use crate::export::journal::{AddrVal, Owner, Step, Val};
use crate::spec::{self, Cmd, OptKind};
use crate::syntax::ast::{
    AddrExpr, BulkInto, ByteOrderOp, Command, Expr, Family, Framing, How, RecvFlag, SendFlag,
    SockKind, SockRef, Spanned,
};
use crate::value::str_repr;
use std::collections::HashMap;
use std::net::IpAddr;

impl<F: Filter> W<'_, F> {
    /// The text of one hole of a template, for this statement.
    pub(super) fn hole(
        &mut self,
        name: &str,
        step: &Step,
        tmps: &HashMap<String, String>,
    ) -> Option<String> {
        use Command as C;
        let cmd = &step.stmt.command;
        let k = &self.kinds;
        let v = |e: &Spanned<Expr>| pyexpr::value(&e.node, k);
        Some(match (name, cmd) {
            ("sock", _) => {
                let s = crate::export::journal::sock_refs(cmd).into_iter().next()?;
                self.sock_name(s, step)?
            }
            ("family", C::Socket { family, .. }) => family.unwrap_or(Family::Inet).to_string(),
            ("type", C::Socket { kind, .. }) => kind.unwrap_or(SockKind::Stream).to_string(),
            ("family", C::SocketPair { family, .. }) => family.unwrap_or(Family::Unix).to_string(),
            ("type", C::SocketPair { kind, .. }) => kind.unwrap_or(SockKind::Stream).to_string(),
            ("name", C::GetProtoByName { name }) => v(name),
            ("addr", C::Bind { addr, sock }) => self.addr(addr, step, sock, false)?,
            ("addr", C::Connect { addr, sock }) | ("addr", C::SendTo { addr, sock, .. }) => {
                self.addr(addr, step, sock, true)?
            }
            ("backlog", C::Listen { backlog, .. }) => backlog.as_ref().map(v).unwrap_or_default(),
            ("data", C::Send { data, .. } | C::SendAll { data, .. } | C::SendTo { data, .. })
            | ("data", C::SendMsg { data, .. }) => pyexpr::data(&data.node, k),
            ("flags", C::Send { flags, .. } | C::SendTo { flags, .. }) => send_flags(flags),
            ("flags", C::Recv { flags, .. } | C::RecvFrom { flags, .. }) => recv_flags(flags),
            ("size", C::Recv { size, .. } | C::RecvFrom { size, .. }) => {
                size.as_ref().map_or_else(|| "1024".to_string(), v)
            }
            ("decode", C::Recv { decode, .. }) => {
                if *decode {
                    ".decode()".into()
                } else {
                    String::new()
                }
            }
            ("limit", C::RecvBulk { limit, .. }) => limit.as_ref().map(v)?,
            ("path", C::SendFile { path, .. }) => v(path),
            (
                "path",
                C::RecvBulk {
                    into: BulkInto::File(p),
                    ..
                },
            ) => v(p),
            ("path", C::Unlink { path }) => v(path),
            ("how", C::Shutdown { how, .. }) => match how {
                How::Read => "SHUT_RD",
                How::Write => "SHUT_WR",
                How::Both => "SHUT_RDWR",
            }
            .into(),
            (
                "level",
                C::SetSockOpt { level, option, .. } | C::GetSockOpt { level, option, .. },
            ) => match level {
                Some(l) => l.node.trim_start_matches("socket.").to_ascii_uppercase(),
                None => spec::option(&option.node)?.level_name.to_string(),
            },
            ("option", C::SetSockOpt { option, .. } | C::GetSockOpt { option, .. }) => {
                spec::option(&option.node)?.name.to_string()
            }
            ("value", C::SetSockOpt { option, values, .. }) => {
                let o = spec::option(&option.node)?;
                self.option_value(o.kind, values)?
            }
            ("group", C::Membership { group, .. }) => v(group),
            ("iface", C::Membership { interface, .. }) => interface
                .as_ref()
                .map_or_else(|| "'0.0.0.0'".to_string(), v),
            ("flag", C::SetBlocking { flag, .. }) => v(flag),
            ("seconds", C::SetTimeout { seconds, .. } | C::Sleep { seconds }) => v(seconds),
            ("host", C::GetHostByName { host } | C::GetHostByNameEx { host })
            | ("host", C::GetHostByAddr { host })
            | ("host", C::GetAddrInfo { host, .. }) => self.host_name(host),
            ("host", C::GetFqdn { host }) => {
                host.as_ref().map(|h| self.host_name(h)).unwrap_or_default()
            }
            ("port", C::GetAddrInfo { port, .. }) => {
                port.as_ref().map_or_else(|| "None".to_string(), v)
            }
            ("family", C::GetAddrInfo { family, .. }) => {
                family.map(|f| format!(", {f}")).unwrap_or_default()
            }
            ("type", C::GetAddrInfo { family, kind, .. }) => match (family, kind) {
                (_, None) => String::new(),
                (Some(_), Some(t)) => format!(", {t}"),
                (None, Some(t)) => format!(", type={t}"),
            },
            ("ip", C::InetAton { text } | C::InetPton { text, .. }) => v(text),
            ("packed", C::InetNtoa { data } | C::InetNtop { data, .. }) => v(data),
            ("family", C::InetPton { family, .. } | C::InetNtop { family, .. }) => {
                family.to_string()
            }
            ("name", C::GetServByName { name, .. }) => v(name),
            ("port", C::GetServByPort { port, .. }) => v(port),
            ("proto", C::GetServByName { proto, .. } | C::GetServByPort { proto, .. }) => proto
                .as_ref()
                .map(|p| format!(", {}", v(p)))
                .unwrap_or_default(),
            ("n", C::ByteOrder { value, .. }) => v(value),
            (
                "marker",
                C::SendMsg {
                    framing: Framing::Marker(m),
                    ..
                },
            )
            | (
                "marker",
                C::RecvMsg {
                    framing: Framing::Marker(m),
                    ..
                },
            ) => pyexpr::data(&m.node, k),
            (
                g @ ("read" | "write" | "except"),
                C::Select {
                    read,
                    write,
                    except,
                    ..
                },
            ) => {
                let list = match g {
                    "read" => read,
                    "write" => write,
                    _ => except,
                };
                let mut names = Vec::new();
                for s in list {
                    names.push(self.sock_name(s, step)?);
                }
                names.join(", ")
            }
            ("timeout", C::Select { timeout, .. }) => timeout
                .as_ref()
                .map(|t| format!(", {}", v(t)))
                .unwrap_or_default(),
            ("timeout", C::Poll { timeout, .. }) => timeout.as_ref().map(v).unwrap_or_default(),
            (
                "register",
                C::Poll {
                    read,
                    write,
                    except,
                    ..
                },
            ) => {
                let p = tmps.get("p").cloned().unwrap_or_else(|| "p".into());
                let mut masks: Vec<(String, Vec<&str>)> = Vec::new();
                for (list, mask) in [
                    (read, "select.POLLIN"),
                    (write, "select.POLLOUT"),
                    (except, "select.POLLPRI"),
                ] {
                    for s in list {
                        let n = self.sock_name(s, step)?;
                        match masks.iter_mut().find(|(m, _)| *m == n) {
                            Some((_, v)) => v.push(mask),
                            None => masks.push((n, vec![mask])),
                        }
                    }
                }
                masks
                    .iter()
                    .map(|(n, m)| format!("{p}.register({n}, {})", m.join(" | ")))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            ("values", C::Echo { values }) => values.iter().map(v).collect::<Vec<_>>().join(", "),
            ("status", C::Quit { code }) => code.as_ref().map(v).unwrap_or_default(),
            _ => return None,
        })
    }

    /// A setsockopt value as the option takes it.
    pub(super) fn option_value(&self, kind: OptKind, values: &[Spanned<Expr>]) -> Option<String> {
        let k = &self.kinds;
        let int = |e: &Spanned<Expr>| match &e.node {
            Expr::Bool(b) => u8::from(*b).to_string(),
            other => pyexpr::value(other, k),
        };
        Some(match kind {
            OptKind::Linger => {
                let on = values.first().map(int)?;
                let secs = values.get(1).map_or_else(|| "0".to_string(), int);
                format!("struct.pack('ii', {on}, {secs})")
            }
            OptKind::Time => {
                let secs = values.first()?;
                let (s, us) = match &secs.node {
                    Expr::Float(f) => (f.trunc() as i64, ((f.fract()) * 1e6).round() as i64),
                    Expr::Int(n) => (*n, 0),
                    _ => return None,
                };
                format!("struct.pack('ll', {s}, {us})")
            }
            OptKind::Addr4 => format!(
                "inet_aton({})",
                values.first().map(|e| pyexpr::value(&e.node, k))?
            ),
            _ => values.first().map(int)?,
        })
    }

    /// The Python name of a socket argument.
    pub(super) fn sock_name(&self, s: &Spanned<SockRef>, step: &Step) -> Option<String> {
        match &s.node {
            SockRef::Name(n) => Some(n.clone()),
            other => {
                let r = step.resolved.iter().find(|r| &r.written == other)?;
                Some(match r.serial.and_then(|x| self.names.get(&x)) {
                    Some(n) => n.clone(),
                    None => r.name.clone(),
                })
            }
        }
    }

    /// The serial of a socket argument, when known.
    pub(super) fn serial(&self, s: &Spanned<SockRef>, step: &Step) -> Option<u64> {
        match &s.node {
            SockRef::Name(n) => match self.kinds.get(n) {
                Some(Val::Socket(h)) => Some(h.serial),
                _ => None,
            },
            other => step.resolved.iter().find(|r| &r.written == other)?.serial,
        }
    }

    /// A host name or address argument: a lab host's (as the program
    /// writes every lab host) is '127.0.0.1'.
    fn host_name(&self, e: &Spanned<Expr>) -> String {
        match &e.node {
            Expr::Word(w) | Expr::Str(w) if self.here(w) != *w => str_repr(&self.here(w)),
            other => pyexpr::value(other, &self.kinds),
        }
    }

    /// An address argument. A port the kernel chose for a socket (or a
    /// peer) of the session, typed back as a number, is that socket's
    /// address in the program: the kernel will choose another.
    pub(super) fn addr(
        &self,
        a: &AddrExpr,
        step: &Step,
        sock: &Spanned<SockRef>,
        connect: bool,
    ) -> Option<String> {
        let fam = self
            .serial(sock, step)
            .and_then(|s| self.family.get(&s).copied())
            .unwrap_or(Family::Inet);
        Some(match a {
            AddrExpr::HostPort { host, port } => {
                let h = match host {
                    Some(h) => self.here(&h.node),
                    None if connect && fam == Family::Inet6 => "::1".into(),
                    None if connect => "127.0.0.1".into(),
                    None if fam == Family::Inet6 => "::".into(),
                    None => "0.0.0.0".into(),
                };
                match &port.node {
                    Expr::Int(0)
                        if !connect
                            && let Some(s) = self.serial(sock, step)
                            && let Some(f) = self.filter.fixed_port(&Owner::Socket(s)) =>
                    {
                        pyexpr::host_port(&h, &f)
                    }
                    Expr::Int(p) => {
                        if connect && let Some(x) = self.known_port(&h, *p) {
                            return Some(x);
                        }
                        pyexpr::host_port(&h, &p.to_string())
                    }
                    Expr::Word(service) => {
                        pyexpr::host_port(&h, &format!("getservbyname({})", str_repr(service)))
                    }
                    Expr::Var(v) if matches!(self.kinds.get(v), Some(Val::Addr(_))) => {
                        pyexpr::host_port(&h, &format!("{v}[1]"))
                    }
                    other => pyexpr::host_port(&h, &pyexpr::value(other, &self.kinds)),
                }
            }
            AddrExpr::Path(p) => str_repr(&p.node),
            AddrExpr::Abstract(n) => str_repr(&format!("\0{}", n.node)),
            AddrExpr::Word(w) => match self.kinds.get(&w.node).cloned() {
                Some(Val::Socket(h)) => self.sock_addr(h.serial, &w.node, connect),
                Some(Val::Addr(_))
                    if let Some(n) = self.peer_vars.get(&w.node)
                        && let Some(x) = self.filter.foreign_addr(self.step, &Owner::Peer(*n)) =>
                {
                    x
                }
                Some(_) => w.node.clone(),
                None => match step.word_socks.iter().find(|(n, _)| *n == w.node) {
                    Some((n, serial)) => self.sock_addr(*serial, n, connect),
                    None => match step.programs.iter().find(|(n, _)| *n == w.node) {
                        // Where the program run from the session was.
                        Some((_, a)) => {
                            pyexpr::host_port(&a.ip().to_string(), &a.port().to_string())
                        }
                        None => str_repr(&w.node),
                    },
                },
            },
            AddrExpr::Value(e) => pyexpr::value(&e.node, &self.kinds),
        })
    }

    /// The address of socket `serial` (named `name`), as a connect reaches
    /// it: a socket bound to every address is reached on loopback.
    pub(super) fn sock_addr(&self, serial: u64, name: &str, connect: bool) -> String {
        if let Some(x) = self.filter.foreign_addr(self.step, &Owner::Socket(serial)) {
            return x;
        }
        let note = self
            .input
            .journal
            .ports
            .iter()
            .find(|n| n.owner == Owner::Socket(serial));
        match note {
            Some(n) if connect && n.addr.ip().is_unspecified() => {
                let lo = if n.addr.is_ipv6() { "::1" } else { "127.0.0.1" };
                pyexpr::host_port(lo, &format!("{name}.getsockname()[1]"))
            }
            _ => format!("{name}.getsockname()"),
        }
    }

    /// `X.getsockname()` (or a peer's address) for a port the kernel
    /// chose for a socket or peer that is still there.
    pub(super) fn known_port(&self, host: &str, port: i64) -> Option<String> {
        let note = self
            .input
            .journal
            .ports
            .iter()
            .rfind(|n| n.step < self.step && n.by_kernel && i64::from(n.addr.port()) == port)?;
        if let Some(x) = self.filter.foreign_addr(self.step, &note.owner) {
            // The other end's kernel port: a name here that holds the
            // address (what recvfrom or accept gave) says it best.
            let held = self.kinds.iter().find_map(|(n, v)| match v {
                Val::Addr(AddrVal::Inet(sa)) if *sa == note.addr => Some(n.clone()),
                _ => None,
            });
            return Some(held.unwrap_or(x));
        }
        let same_ip = host
            .parse::<IpAddr>()
            .ok()
            .or_else(|| (host == "localhost").then_some(IpAddr::from([127, 0, 0, 1])))
            .is_some_and(|ip| ip == note.addr.ip());
        match &note.owner {
            Owner::Socket(serial) => {
                if self.closed.contains(serial) {
                    return None;
                }
                let name = self.names.get(serial)?;
                // Still this socket's name?
                if !matches!(self.kinds.get(name), Some(Val::Socket(h)) if h.serial == *serial) {
                    return None;
                }
                Some(if same_ip {
                    format!("{name}.getsockname()")
                } else {
                    pyexpr::host_port(host, &format!("{name}.getsockname()[1]"))
                })
            }
            Owner::Peer(n) => {
                let p = self.peers.get(n)?;
                Some(if same_ip {
                    format!("{p}.server_address")
                } else {
                    pyexpr::host_port(host, &format!("{p}.server_address[1]"))
                })
            }
        }
    }
}

/// Which template (command and variant) a statement is written with.
pub(super) fn form_of(cmd: &Command) -> (Cmd, Option<&'static str>) {
    use Command as C;
    match cmd {
        C::Socket { .. } => (Cmd::Socket, None),
        C::Bind { .. } => (Cmd::Bind, None),
        C::Listen { .. } => (Cmd::Listen, None),
        C::Accept { .. } => (Cmd::Accept, None),
        C::Connect { .. } => (Cmd::Connect, None),
        C::Send { .. } => (Cmd::Send, None),
        C::SendAll { .. } => (Cmd::SendAll, None),
        C::Recv { .. } => (Cmd::Recv, None),
        C::SendTo { .. } => (Cmd::SendTo, None),
        C::RecvFrom { .. } => (Cmd::RecvFrom, None),
        C::SendFile { .. } => (Cmd::SendFile, None),
        C::RecvBulk {
            into: BulkInto::Discard,
            limit,
            ..
        } => (
            Cmd::Recv,
            Some(if limit.is_some() {
                "discard limit"
            } else {
                "discard"
            }),
        ),
        C::RecvBulk { limit, .. } => (Cmd::RecvFile, limit.as_ref().map(|_| "limit")),
        C::Close { .. } => (Cmd::Close, None),
        C::Shutdown { .. } => (Cmd::Shutdown, None),
        C::SetSockOpt { .. } => (Cmd::SetSockOpt, None),
        C::GetSockOpt { option, .. } => (
            Cmd::GetSockOpt,
            match spec::option(&option.node).map(|o| o.kind) {
                Some(OptKind::Linger) => Some("linger"),
                Some(OptKind::Time) => Some("time"),
                Some(OptKind::Addr4) => Some("addr"),
                _ => None,
            },
        ),
        C::GetSockName { .. } => (Cmd::GetSockName, None),
        C::GetPeerName { .. } => (Cmd::GetPeerName, None),
        C::Fileno { .. } => (Cmd::Fileno, None),
        C::GetFamily { .. } => (Cmd::Family, None),
        C::GetType { .. } => (Cmd::Type, None),
        C::SetBlocking { .. } => (Cmd::SetBlocking, None),
        C::SetTimeout { .. } => (Cmd::SetTimeout, None),
        C::GetTimeout { .. } => (Cmd::GetTimeout, None),
        C::GetHostName => (Cmd::GetHostName, None),
        C::GetHostByName { .. } => (Cmd::GetHostByName, None),
        C::GetHostByNameEx { .. } => (Cmd::GetHostByNameEx, None),
        C::GetHostByAddr { .. } => (Cmd::GetHostByAddr, None),
        C::GetAddrInfo { .. } => (Cmd::GetAddrInfo, None),
        C::GetFqdn { .. } => (Cmd::GetFqdn, None),
        C::InetAton { .. } => (Cmd::InetAton, None),
        C::InetNtoa { .. } => (Cmd::InetNtoa, None),
        C::InetPton { .. } => (Cmd::InetPton, None),
        C::InetNtop { .. } => (Cmd::InetNtop, None),
        C::GetServByName { .. } => (Cmd::GetServByName, None),
        C::GetServByPort { .. } => (Cmd::GetServByPort, None),
        C::ByteOrder { op, .. } => (
            match op {
                ByteOrderOp::Htons => Cmd::Htons,
                ByteOrderOp::Ntohs => Cmd::Ntohs,
                ByteOrderOp::Htonl => Cmd::Htonl,
                ByteOrderOp::Ntohl => Cmd::Ntohl,
            },
            None,
        ),
        C::Sleep { .. } => (Cmd::Sleep, None),
        C::Unlink { .. } => (Cmd::Unlink, None),
        C::Select { .. } => (Cmd::Select, None),
        C::Poll { .. } => (Cmd::Poll, None),
        // The real sendmsg/recvmsg with ancillary data have no template:
        // written as comments, never as the framed helpers.
        C::SendMsg {
            framing: Framing::Fds(_) | Framing::Creds,
            ..
        }
        | C::RecvMsg {
            framing: Framing::Ancillary(_),
            ..
        } => (Cmd::Help, None),
        C::SendMsg { framing, .. } => (
            Cmd::SendMsg,
            matches!(framing, Framing::Marker(_)).then_some("marker"),
        ),
        C::RecvMsg { framing, .. } => (
            Cmd::RecvMsg,
            matches!(framing, Framing::Marker(_)).then_some("marker"),
        ),
        C::Membership { join, .. } => (if *join { Cmd::Join } else { Cmd::Leave }, None),
        C::SocketPair { .. } => (Cmd::SocketPair, None),
        C::Dup { .. } => (Cmd::Dup, None),
        C::GetProtoByName { .. } => (Cmd::GetProtoByName, None),
        // Written without a template (or not at all).
        _ => (Cmd::Help, None),
    }
}

fn send_flags(flags: &[SendFlag]) -> String {
    let names: Vec<&str> = flags
        .iter()
        .map(|f| match f {
            SendFlag::Oob => "MSG_OOB",
            SendFlag::DontWait => "MSG_DONTWAIT",
            SendFlag::NoSignal => "MSG_NOSIGNAL",
            SendFlag::More => "MSG_MORE",
        })
        .collect();
    flags_arg(&names)
}

/// `, MSG_PEEK | MSG_WAITALL`: the flags argument of a call (none: no
/// argument).
fn flags_arg(names: &[&str]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(", {}", names.join(" | "))
    }
}

fn recv_flags(flags: &[RecvFlag]) -> String {
    let names: Vec<&str> = flags
        .iter()
        .map(|f| match f {
            RecvFlag::Peek => "MSG_PEEK",
            RecvFlag::WaitAll => "MSG_WAITALL",
            RecvFlag::Oob => "MSG_OOB",
            RecvFlag::DontWait => "MSG_DONTWAIT",
        })
        .collect();
    flags_arg(&names)
}

//! The built-in peers' commands: `serve`, `peers`, `peers log`, `stop`.
//! The peers themselves live in [`crate::peers`]; this file turns the
//! arguments into addresses and directories, and what the peers report
//! into items.

use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::peers::{StopError, StopReport};
use crate::syntax::ast::{AddrExpr, Expr, Family, PeerKind, Span, Spanned};
use crate::value::plural;
use crate::value::{Value, addr_short, escape_controls};
use socket2::SockAddr;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// What each kind does, for the line after `serve`.
fn what_it_does(kind: PeerKind, udp: bool) -> &'static str {
    match kind {
        PeerKind::Echo if udp => "it sends every datagram back to its sender",
        PeerKind::Discard if udp => "it drops every datagram (RFC 863)",
        PeerKind::Daytime if udp => "it answers every datagram with the date and time (RFC 867)",
        PeerKind::Echo => "it sends back every byte it receives",
        PeerKind::Discard => "it reads and drops every byte (RFC 863)",
        PeerKind::Daytime => "it sends the date and time to each client, then closes (RFC 867)",
        PeerKind::Chat => {
            "it relays each line (up to its \\n) to every other client as `<userN> line`, and announces who comes and goes"
        }
        PeerKind::Http => "it answers GET and HEAD requests (HTTP/1.1, one request per connection)",
    }
}

impl Session {
    pub(super) fn serve(
        &mut self,
        kind: PeerKind,
        udp: bool,
        addr: Option<&AddrExpr>,
        dir: Option<&Spanned<Expr>>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        if udp && matches!(kind, PeerKind::Chat | PeerKind::Http) {
            return Err(ExecError::usage(format!(
                "a {} peer speaks TCP; echo, discard and daytime serve UDP",
                kind.name()
            ))
            .hint(format!("serve {} (TCP), or serve echo udp", kind.name())));
        }
        let mut target = addr;
        let mut dir_arg: Option<(String, Span)> = match dir {
            Some(d) => Some((self.text(d)?, d.span)),
            None => None,
        };
        // `serve http ./www`: for http a lone path (or a word that is not
        // an address) is the directory.
        if kind == PeerKind::Http && dir_arg.is_none() {
            match addr {
                Some(AddrExpr::Path(p)) => {
                    dir_arg = Some((p.node.clone(), p.span));
                    target = None;
                }
                Some(AddrExpr::Word(w))
                    if !matches!(
                        self.vars.get(&w.node),
                        Some(Value::Addr(_) | Value::Socket(_))
                    ) =>
                {
                    let text = match self.vars.get(&w.node) {
                        Some(Value::Str(s)) => s.to_string(),
                        _ => w.node.clone(),
                    };
                    dir_arg = Some((text, w.span));
                    target = None;
                }
                _ => {}
            }
        }
        if let Some((_, span)) = &dir_arg
            && kind != PeerKind::Http
        {
            return Err(ExecError::usage(format!(
                "only the http peer serves a directory, not {}",
                kind.name()
            ))
            .at(*span));
        }
        let sockaddr = match target {
            None => SockAddr::from(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0)),
            Some(a) => self.peer_address(a)?,
        };
        if let Some(p) = sockaddr.as_pathname() {
            let span = addr.map(AddrExpr::span).unwrap_or_default();
            crate::files::check_socket_path(p.as_os_str().as_encoded_bytes(), &self.file_rules())
                .map_err(|x| x.at(span))?;
        }
        let dir_path = match &dir_arg {
            Some((d, span)) => {
                crate::files::check_read(d, &self.file_rules()).map_err(|x| x.at(*span))?;
                let p = PathBuf::from(d);
                match std::fs::metadata(&p) {
                    Ok(m) if m.is_dir() => Some(p),
                    Ok(_) => {
                        return Err(ExecError::os(libc::ENOTDIR)
                            .at(*span)
                            .hint("http serves the files of a directory: give the directory"));
                    }
                    Err(e) => {
                        return Err(ExecError::from(e)
                            .at(*span)
                            .hint(format!("no directory `{}` here", escape_controls(d))));
                    }
                }
            }
            None => None,
        };
        let span = addr.map(AddrExpr::span);
        let started = self
            .peers
            .start(kind, udp, &sockaddr, dir_path.as_deref())
            .map_err(|e| {
                let mut x = ExecError::from(e);
                if let Some(s) = span {
                    x = x.at(s);
                }
                if x.is_errno(libc::ENOENT)
                    && let Some(h) = sockaddr
                        .as_pathname()
                        .and_then(crate::files::missing_folder_hint)
                {
                    x.hint = Some(h);
                } else if x.is_errno(libc::EADDRINUSE) && sockaddr.as_pathname().is_some() {
                    x.hint = Some(
                        "a file is already there (an old socket file?): remove it, or pick another path".into(),
                    );
                } else if x.is_errno(libc::EADDRINUSE) {
                    x.hint = Some(
                        "something already listens there (`peers` lists the peers): pick another port, or leave it out and the kernel picks one".into(),
                    );
                } else if x.is_errno(libc::EACCES) {
                    x.hint = Some("ports below 1024 need root: pick a port above 1024".into());
                } else if x.is_errno(libc::EADDRNOTAVAIL) {
                    x.hint = Some("that address is not one of this machine's".into());
                }
                x
            })?;
        let n = started.n;
        let shown = addr_short(&started.addr);
        let serving = match (&dir_arg, kind) {
            (Some((d, _)), _) => format!(", serving the files of {}", escape_controls(d)),
            (None, PeerKind::Http) => ", serving its built-in page".to_string(),
            _ => String::new(),
        };
        out.emit(Item::Done(format!(
            "peer {n}: {} server{} on {shown}{serving}",
            kind.name(),
            match (udp, started.addr.domain() == socket2::Domain::UNIX) {
                (false, _) => "",
                (true, false) => " (UDP)",
                (true, true) => " (UNIX datagrams)",
            }
        )));
        let try_it = match self.current_host() {
            Some(on) => {
                let hosts = self.lab_hosts();
                let other = hosts.iter().find(|h| **h != on).unwrap_or(&on);
                try_line_in_lab(kind, udp, &started.addr, &on, other)
            }
            None => None,
        }
        .unwrap_or_else(|| try_line(kind, udp, &started.addr));
        out.emit(Item::Note(format!(
            "{}; try: {try_it}",
            what_it_does(kind, udp),
        )));
        if !self.told_peers {
            self.told_peers = true;
            out.emit(Item::Note(format!(
                "`peers` lists the peers, `peers log {n}` shows what this one received, `stop {n}` stops it"
            )));
        }
        Ok(Ret::said(Value::Addr(started.addr)))
    }

    /// The address of a peer: as for bind, but a missing host is 127.0.0.1.
    fn peer_address(&self, a: &AddrExpr) -> Result<SockAddr, ExecError> {
        match a {
            AddrExpr::HostPort { host, .. } => {
                let v6 = host.as_ref().is_some_and(|h| h.node.contains(':'));
                if v6 {
                    return self.address(a, Family::Inet6, true);
                }
                // A name may have only an IPv6 address (ip6-localhost).
                self.address(a, Family::Inet, true)
                    .or_else(|e| self.address(a, Family::Inet6, true).map_err(|_| e))
            }
            AddrExpr::Path(_) | AddrExpr::Abstract(_) => self.address(a, Family::Unix, false),
            AddrExpr::Word(w) => match self.vars.get(&w.node) {
                Some(Value::Addr(sa)) => Ok(sa.clone()),
                _ => self.address(a, Family::Inet, true),
            },
            AddrExpr::Value(_) => self.address(a, Family::Inet, true),
        }
    }

    pub(super) fn peers_cmd(
        &mut self,
        log: bool,
        peer: Option<&Spanned<Expr>>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        if !log {
            if self.peers.is_empty() {
                out.emit(Item::Note("no peers yet: a = serve echo".into()));
            } else {
                out.emit(Item::Peers(self.peers.rows()));
            }
            return Ok(Ret::none());
        }
        let n = match peer {
            Some(e) => self.peer_number(e)?,
            None => match self.peers.len() {
                0 => return Err(ExecError::usage("no peers yet: a = serve echo")),
                1 => 1,
                k => {
                    return Err(ExecError::usage("which peer? peers log N").hint(format!(
                        "there are {k}; `peers` lists them with their numbers"
                    )));
                }
            },
        };
        let log = self.peers.log(n).ok_or_else(|| no_peer(n, peer))?;
        out.emit(Item::PeerLog(log));
        Ok(Ret::none())
    }

    pub(super) fn stop_cmd(
        &mut self,
        peer: &Spanned<Expr>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        if let Expr::Var(w) = &peer.node
            && w.eq_ignore_ascii_case("all")
            && !self.vars.contains_key(w)
        {
            let numbers = self.peers.numbers();
            if numbers.is_empty() {
                out.emit(Item::Note("no peer is running".into()));
                return Ok(Ret::none());
            }
            for n in numbers {
                if let Ok(r) = self.peers.stop(n) {
                    report_stop(&r, out);
                }
            }
            return Ok(Ret::none());
        }
        let n = self.peer_number(peer)?;
        match self.peers.stop(n) {
            Ok(r) => report_stop(&r, out),
            Err(StopError::NoSuchPeer) => return Err(no_peer(n, Some(peer))),
            Err(StopError::AlreadyStopped) => {
                return Err(ExecError::usage(format!("peer {n} is stopped already"))
                    .at(peer.span)
                    .hint(format!("`peers log {n}` still shows what it received")));
            }
        }
        Ok(Ret::none())
    }

    fn peer_number(&self, e: &Spanned<Expr>) -> Result<u32, ExecError> {
        let n = self.int(e).map_err(|x| {
            if x.exception == "NameError" {
                x.hint("a peer is named by its number: `peers` lists them")
            } else {
                x
            }
        })?;
        u32::try_from(n).map_err(|_| no_peer_n(n).at(e.span))
    }
}

fn no_peer_n(n: i64) -> ExecError {
    ExecError::usage(format!("there is no peer {n}"))
        .hint("`peers` lists the peers and their numbers")
}

fn no_peer(n: u32, at: Option<&Spanned<Expr>>) -> ExecError {
    let x = no_peer_n(i64::from(n));
    match at {
        Some(e) => x.at(e.span),
        None => x,
    }
}

fn report_stop(r: &StopReport, out: &mut dyn Sink) {
    out.emit(Item::Done(if r.row.udp {
        format!(
            "stopped peer {} ({} on {}): closed its socket",
            r.row.n, r.row.label, r.row.addr
        )
    } else {
        format!(
            "stopped peer {} ({} on {}): closed its listening socket and {}",
            r.row.n,
            r.row.label,
            r.row.addr,
            plural(r.closed, "client connection", "client connections")
        )
    }));
    if r.closed > 0 {
        out.emit(Item::Note(
            "each of those clients now reads b'' (the end of the stream), or gets a reset if it sends".into(),
        ));
    }
    if let Some(p) = &r.removed {
        out.emit(Item::Note(format!(
            "removed its socket file {}",
            crate::files::shown(p)
        )));
    }
    if !r.joined {
        out.emit(Item::Warn(
            "its thread did not end within 1 s; it ends on its own".into(),
        ));
    }
}

/// How to reach a peer started on lab host `on`: from a socket made on
/// another host (`other`), or on `on` itself for a loopback address. A
/// socket of sockplay's own, or `nc` in another terminal, is on this
/// machine's network, which does not reach the lab. None for an address
/// that is not a lab host's (a path works from anywhere).
fn try_line_in_lab(
    kind: PeerKind,
    udp: bool,
    a: &SockAddr,
    on: &str,
    other: &str,
) -> Option<String> {
    let sa = a.as_socket().filter(std::net::SocketAddr::is_ipv4)?;
    let (from, target) = if sa.ip().is_loopback() {
        (on, "127.0.0.1")
    } else {
        (other, on)
    };
    let port = sa.port();
    // A discard peer answers nothing: a recvfrom would wait for ever.
    let answer = if kind == PeerKind::Discard {
        ""
    } else {
        "; recvfrom u"
    };
    Some(if udp {
        format!("on {from} u = socket udp; sendto u b\"hi\" {target} {port}{answer}")
    } else if kind == PeerKind::Http {
        format!(
            "on {from} k = socket tcp; connect k {target} {port}; send k b\"GET / HTTP/1.0\\r\\n\\r\\n\"; recv k"
        )
    } else {
        format!("on {from} k = socket tcp; connect k {target} {port}")
    })
}

/// How to reach a peer from sockplay or from another terminal.
fn try_line(kind: PeerKind, udp: bool, a: &SockAddr) -> String {
    if let Some(p) = a.as_pathname() {
        let p = crate::files::shown(p);
        if udp {
            return format!(
                "u = socket unix-dgram; bind u ./me.sock; sendto u b\"hi\" {p}; recvfrom u"
            );
        }
        return format!("k = socket unix; connect k {p} (or nc -U {p} in another terminal)");
    }
    if let Some(name) = a.as_abstract_namespace() {
        let name = escape_controls(&String::from_utf8_lossy(name));
        return format!("k = socket unix; connect k @{name}");
    }
    let Some(sa) = a.as_socket() else {
        return String::new();
    };
    // A peer on every address is reached on this host's loopback.
    let host = match sa.ip() {
        ip if ip.is_unspecified() && sa.is_ipv4() => "127.0.0.1".to_string(),
        ip if ip.is_unspecified() => "::1".to_string(),
        ip => ip.to_string(),
    };
    let port = sa.port();
    let bracketed = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.clone()
    };
    // The address as `help connect` documents it: HOST PORT.
    if udp {
        let sock = if host.contains(':') { "udp6" } else { "udp" };
        // A discard peer answers nothing: a recvfrom would wait for ever.
        let answer = if kind == PeerKind::Discard {
            ""
        } else {
            "; recvfrom u"
        };
        return format!(
            "u = socket {sock}; sendto u b\"hi\" {host} {port}{answer} (or nc -u {host} {port})"
        );
    }
    let sock = if host.contains(':') { "tcp6" } else { "tcp" };
    match kind {
        PeerKind::Http => format!("curl -i http://{bracketed}:{port}/"),
        PeerKind::Chat => format!("nc {host} {port} in two other terminals"),
        _ => format!("k = socket {sock}; connect k {host} {port} (or nc {host} {port})"),
    }
}

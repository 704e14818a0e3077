//! The socket calls that never wait: socket, bind, listen, close, shutdown,
//! the blocking modes and the address queries. The calls that may wait are
//! in [`super::io`].

use super::io::addr_value;
use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::syntax::ast::{AddrExpr, Expr, Family, How, SockKind, SockRef, Spanned};
use crate::table::{self, Entry, Mode, Origin};
use crate::value::plural;
use crate::value::{SockHandle, Value, addr_short};
use socket2::{Domain, SockAddr, Socket, Type};

/// Python's default backlog for `listen()` without an argument.
const DEFAULT_BACKLOG: i32 = 128;

impl Session {
    fn entry_h(&self, h: SockHandle) -> Result<&Entry, ExecError> {
        self.table.get(h).ok_or_else(|| ExecError::os(libc::EBADF))
    }

    pub(super) fn socket(
        &mut self,
        family: Option<Family>,
        kind: Option<SockKind>,
        proto: Option<i32>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let family = family.unwrap_or(Family::Inet);
        let kind = kind.unwrap_or(SockKind::Stream);
        let domain = domain_of(family);
        let ty = type_of(kind);
        // Non-blocking from the start (see table.rs): one call, not three.
        let sock = Socket::new(domain, ty.nonblocking(), proto.map(socket2::Protocol::from))
            .map_err(|err| socket_error(err.into(), family, kind, proto))?;
        let h = self.table.insert(sock, family, kind, Origin::Created)?;
        let host = self.current_host();
        if let Some(e) = self.table.get_mut(h) {
            e.host = host;
            e.protocol = proto.unwrap_or(0);
        }
        self.table.last = Some(h);
        if kind == SockKind::Raw {
            out.emit(Item::Note(
                "a raw socket sees whole packets: recvfrom returns the IP header (20 bytes for IPv4) before the payload, \
                 and sendto sends the payload behind an IP header the kernel writes (the port in the address is ignored)"
                    .into(),
            ));
        }
        Ok(Ret::one(Value::Socket(h)))
    }

    pub(super) fn bind(
        &mut self,
        r: &Spanned<SockRef>,
        addr: &AddrExpr,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let e = self.entry_h(h)?;
        let target = self.address(addr, e.family, false)?;
        if let Some(p) = target.as_pathname() {
            crate::files::check_socket_path(p.as_os_str().as_encoded_bytes(), &self.file_rules())
                .map_err(|x| x.at(addr.span()))?;
        }
        let asked_port = target.as_socket().map(|s| s.port());
        if let Err(err) = e.sock.bind(&target) {
            let mut x = ExecError::from(err).at(addr.span());
            if x.is_errno(libc::ENOENT)
                && let Some(h) = target
                    .as_pathname()
                    .and_then(crate::files::missing_folder_hint)
            {
                x.hint = Some(h);
            } else if x.is_errno(libc::EADDRINUSE) && e.family == Family::Unix {
                x.hint = Some("the socket file already exists: remove it (the course does os.unlink(path)) or bind another path".into());
            } else if x.is_errno(libc::EADDRINUSE)
                && let Some(port) = asked_port
            {
                x.hint = Some(self.in_use_hint(h, port));
            } else if x.is_errno(libc::EINVAL) {
                x.hint = Some("this socket is already bound: a socket binds once".into());
            }
            return Err(x);
        }
        let local = e.sock.local_addr().ok();
        let shown = local
            .as_ref()
            .map_or_else(|| addr_short(&target), addr_short);
        let chosen = local
            .as_ref()
            .and_then(SockAddr::as_socket)
            .map(|s| s.port())
            .filter(|_| asked_port == Some(0));
        out.emit(Item::Done(bound_text(&e.label(), &shown, chosen)));
        if let Some(path) = target.as_pathname() {
            let path = path.to_path_buf();
            out.emit(socket_file_note(&path));
            // A path bound outside a lesson is the learner's, even if a
            // lesson made a file there before.
            self.lesson_files.retain(|p| *p != path);
            if self.in_lesson > 0 {
                self.lesson_files.push(path.clone());
            }
            if let Some(e) = self.table.get_mut(h) {
                e.bound_path = Some(path);
            }
        }
        Ok(Ret::none())
    }

    /// Who holds a port bind found in use: a socket of this shell, a
    /// connection in TIME_WAIT, or someone else.
    fn in_use_hint(&self, h: SockHandle, port: u16) -> String {
        let holder = self.table.iter().find(|o| {
            o.handle != h
                && o.sock
                    .local_addr()
                    .ok()
                    .and_then(|a| a.as_socket())
                    .is_some_and(|a| a.port() == port)
        });
        if let Some(o) = holder {
            return format!(
                "{} (fd {}) is bound to port {port} already: close it or bind another port \
                 (SO_REUSEADDR does not share a port with a socket still bound to it)",
                o.label(),
                o.fd()
            );
        }
        port_in_use_hint(port)
    }
}

/// Who holds a port (no socket of the shell does): a connection in
/// TIME_WAIT, or another program.
pub(crate) fn port_in_use_hint(port: u16) -> String {
    {
        let kernel = table::kernel_tcp();
        let waiting = kernel
            .iter()
            .filter(|k| k.local.port() == port && k.state == 6)
            .count();
        if waiting > 0 {
            return format!(
                "{waiting} closed connection{} on port {port} {} in TIME_WAIT (about 60 s after the close): \
                 a server sets SO_REUSEADDR before bind, every time, so it can bind at once",
                if waiting == 1 { "" } else { "s" },
                if waiting == 1 { "is" } else { "are" }
            );
        }
        if kernel.iter().any(|k| k.local.port() == port) {
            return format!(
                "another program (or a connection still closing) holds port {port}; `ss -tanp` shows which"
            );
        }
        format!("another program holds port {port}; `ss -tanp` or `ss -uanp` shows which")
    }
}

impl Session {
    pub(super) fn listen(
        &mut self,
        r: &Spanned<SockRef>,
        backlog: Option<&Spanned<Expr>>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let n = match backlog {
            Some(b) => {
                i32::try_from(self.int(b)?.clamp(0, i64::from(i32::MAX))).unwrap_or(i32::MAX)
            }
            None => DEFAULT_BACKLOG,
        };
        if self.entry_h(h)?.is_tcp() {
            // Before any handshake can reach it (see start_capture).
            self.start_capture();
        }
        let e = self.entry_h(h)?;
        let was_unbound =
            e.family != Family::Unix && !e.sock.local_addr().is_ok_and(|a| table::is_bound(&a));
        if let Err(err) = e.sock.listen(n) {
            let mut x = ExecError::from(err);
            if e.kind == SockKind::Dgram {
                x.hint = Some("UDP sockets do not listen or accept: bind it and recvfrom receives each datagram directly".into());
            }
            return Err(x);
        }
        let local = e.sock.local_addr().ok();
        let shown = local.as_ref().map_or("?".into(), addr_short);
        let state = table::tcp_state(e).unwrap_or("listening");
        out.emit(Item::Done(listening_text(&e.label(), &shown, n, state)));
        if was_unbound {
            out.emit(Item::Note(
                "it was not bound, so listen bound it to every address and a port the kernel chose"
                    .into(),
            ));
        }
        if let Some(e) = self.table.get_mut(h) {
            e.backlog = Some(n);
        }
        Ok(Ret::none())
    }

    pub(super) fn close(
        &mut self,
        r: &Spanned<SockRef>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        // Python's close() of a closed socket does nothing.
        if let SockRef::Name(n) = &r.node
            && let Some(Value::Socket(old)) = self.vars.get(n)
            && self.table.get(*old).is_none()
        {
            out.emit(Item::Note(format!(
                "{n} was closed already: closing again does nothing (as in Python)"
            )));
            return Ok(Ret::none());
        }
        let h = self.sock(r)?;
        let label = self.entry_h(h)?.label();
        // A job waiting on this socket would otherwise go on polling a
        // descriptor that the next socket may reuse.
        self.cancel_jobs_on(h.fd, &label, out);
        // Another descriptor of the same socket (dup, or received with
        // SCM_RIGHTS): closing this one ends nothing.
        let others = self.same_socket(h.fd);
        if !others.is_empty() {
            let held = self.table.get(h).map_or(0, |e| e.held_len());
            self.table.remove(h);
            out.emit(Item::Done(format!(
                "closed {label} (fd {} is free again)",
                h.fd
            )));
            out.emit(Item::Note(format!(
                "the socket itself stays open: {} still refer{} to it, so nothing is sent to the peer \
                 (the connection ends when its last descriptor closes)",
                others.join(", "),
                if others.len() == 1 { "s" } else { "" }
            )));
            if held > 0 {
                out.emit(Item::Note(format!(
                    "{} held for its next receive went with this descriptor",
                    plural(held, "byte", "bytes")
                )));
            }
            return Ok(Ret::none());
        }
        let e = self.entry_h(h)?;
        // Only what the messages below need is asked of the kernel: an
        // unconnected socket costs one call besides close itself.
        let is_tcp = e.is_tcp();
        let info = if is_tcp {
            table::tcp_info(&e.sock)
        } else {
            None
        };
        let before = info.map(|t| table::tcp_state_name(t.state));
        let queued_conns = match info {
            Some(t) if t.state == 10 => t.unacked,
            _ => 0,
        };
        // CLOSED (never connected, or reset) and LISTEN have no peer.
        let connected = info.is_some_and(|t| t.state != 7 && t.state != 10);
        let (local, peer) = match e.conn {
            Some((l, p)) => (Some(l), Some(p)),
            None if connected => match table::conn_pair(&e.sock) {
                Some((l, p)) => (Some(l), Some(p)),
                None => (None, None),
            },
            None => (None, None),
        };
        let pair = (local, peer);
        let rst_linger = connected && matches!(e.sock.linger(), Ok(Some(d)) if d.is_zero());
        let unread = if before == Some("ESTABLISHED") {
            table::recv_queue(e.fd()).unwrap_or(0)
        } else {
            0
        };
        if let (true, Some(local), Some(peer)) = (is_tcp && !rst_linger, pair.0, pair.1) {
            self.table.ghosts.push(table::Ghost {
                label: label.clone(),
                fd: h.fd,
                serial: h.serial,
                local,
                peer,
                closed_at: std::time::Instant::now(),
            });
        }
        if let (Some(l), Some(p)) = pair
            && let Ok(mut b) = self.bounds.lock()
        {
            b.forget(l, p);
        }
        if let (Some(l), Some(_)) = pair
            && self.closed_labels.len() < 10_000
        {
            self.closed_labels.insert(l, label.clone());
        }
        if is_tcp {
            self.note(
                h,
                crate::wire::now_ns(),
                crate::wire::CallKind::Close {
                    linger0: rst_linger,
                    unread,
                },
            );
        }
        let entry = self.table.remove(h);
        let path = entry.as_ref().and_then(|e| e.bound_path.clone());
        let held = entry.as_ref().map_or(0, |e| e.held_len());
        drop(entry);
        out.emit(Item::Done(format!(
            "closed {label} (fd {} is free again)",
            h.fd
        )));
        for it in close_notes(before, rst_linger, unread, queued_conns) {
            out.emit(it);
        }
        if held > 0 {
            out.emit(Item::Note(format!(
                "{} held for its next receive went with it",
                plural(held, "byte", "bytes")
            )));
        }
        if let Some(p) = path
            && p.exists()
        {
            out.emit(Item::Note(format!(
                "the socket file {} is still on disk; binding it again needs it removed",
                crate::files::shown(&p)
            )));
        }
        Ok(Ret::none())
    }

    pub(super) fn shutdown(
        &mut self,
        r: &Spanned<SockRef>,
        how: How,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let e = self.entry_h(h)?;
        let was_listening = e.sock.is_listener().unwrap_or(false);
        let std_how = match how {
            How::Read => std::net::Shutdown::Read,
            How::Write => std::net::Shutdown::Write,
            How::Both => std::net::Shutdown::Both,
        };
        if e.is_tcp() {
            self.note(
                h,
                crate::wire::now_ns(),
                crate::wire::CallKind::Shutdown(match how {
                    How::Read => "read",
                    How::Write => "write",
                    How::Both => "both",
                }),
            );
        }
        let e = self.entry_h(h)?;
        e.sock.shutdown(std_how).map_err(|err| {
            let mut x = ExecError::from(err);
            if x.is_errno(libc::ENOTCONN) {
                x.hint = Some("shutdown needs a connected socket".into());
            }
            x
        })?;
        if how != How::Read
            && let Some(m) = self.table.get_mut(h)
        {
            m.shut_write = true;
        }
        let e = self.entry_h(h)?;
        // On a listener, shutting down reading stops the listening.
        let listener_stopped = was_listening && !e.sock.is_listener().unwrap_or(false);
        let what = shutdown_text(how, listener_stopped);
        out.emit(Item::Done(format!("{}: {what}", e.label())));
        if let Some(st) = table::tcp_state(e) {
            out.emit(Item::Note(format!("state now {st}")));
        }
        Ok(Ret::none())
    }

    pub(super) fn setblocking(
        &mut self,
        r: &Spanned<SockRef>,
        flag: &Spanned<Expr>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let b = self.boolean(flag)?;
        let mode = if b { Mode::Blocking } else { Mode::NonBlocking };
        self.set_mode(h, mode, out)
    }

    pub(super) fn settimeout(
        &mut self,
        r: &Spanned<SockRef>,
        secs: &Spanned<Expr>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let mode = match self.float_or_none(secs)? {
            None => Mode::Blocking,
            Some(s) if s < 0.0 => {
                return Err(
                    ExecError::new("ValueError", "Timeout value out of range").at(secs.span)
                );
            }
            Some(0.0) => Mode::NonBlocking,
            Some(s) => Mode::Timeout(crate::wait::timeout_of(s).ok_or_else(|| {
                ExecError::new(
                    "OverflowError",
                    "timestamp out of range for platform time_t",
                )
                .at(secs.span)
            })?),
        };
        self.set_mode(h, mode, out)
    }

    fn set_mode(
        &mut self,
        h: SockHandle,
        mode: Mode,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let e = self
            .table
            .get_mut(h)
            .ok_or_else(|| ExecError::os(libc::EBADF))?;
        e.mode = mode;
        out.emit(Item::Done(mode_text(&e.label(), mode)));
        Ok(Ret::none())
    }

    pub(super) fn gettimeout(&mut self, r: &Spanned<SockRef>) -> Result<Ret, ExecError> {
        let e = self.entry(r)?;
        Ok(Ret::answer(match e.mode {
            Mode::Blocking => Value::None,
            Mode::NonBlocking => Value::Float(0.0),
            Mode::Timeout(d) => Value::Float(d.as_secs_f64()),
        }))
    }

    pub(super) fn getsockname(&mut self, r: &Spanned<SockRef>) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let e = self.entry_h(h)?;
        let a = e.sock.local_addr()?;
        Ok(Ret::one(match a.as_socket() {
            Some(_) => Value::Addr(a),
            None => addr_value(a).into_str_if_none(),
        }))
    }

    pub(super) fn getpeername(&mut self, r: &Spanned<SockRef>) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let e = self.entry_h(h)?;
        let a = e.sock.peer_addr().map_err(|err| {
            let mut x = ExecError::from(err).at(r.span);
            if x.is_errno(libc::ENOTCONN) {
                x.hint = Some(
                    "this socket has no peer: it is not connected (a listener never has one)"
                        .into(),
                );
            }
            x
        })?;
        Ok(Ret::one(addr_value(a).into_str_if_none()))
    }
}

/// `bound s to 127.0.0.1:9900`, and the port the kernel chose for port 0.
pub(crate) fn bound_text(label: &str, shown: &str, chosen: Option<u16>) -> String {
    let mut msg = format!("bound {label} to {shown}");
    if let Some(p) = chosen {
        msg.push_str(&format!(" (port {p} chosen by the kernel)"));
    }
    msg
}

/// What binding a UNIX path leaves behind.
pub(crate) fn socket_file_note(path: &std::path::Path) -> Item {
    Item::Note(format!(
        "bind created the socket file {}; it stays after close until removed",
        crate::files::shown(path)
    ))
}

/// `s is listening on ...`.
pub(crate) fn listening_text(label: &str, shown: &str, backlog: i32, state: &str) -> String {
    format!("{label} is listening on {shown}, backlog {backlog} ({state})")
}

/// What a close did to a connection, from its TCP state before the close.
pub(crate) fn close_notes(
    before: Option<&str>,
    rst_linger: bool,
    unread: u32,
    queued_conns: u32,
) -> Vec<Item> {
    let item = match before {
        Some("ESTABLISHED" | "CLOSE_WAIT") if rst_linger => Item::Warn(
            "SO_LINGER is on with 0 seconds: close sent RST, not FIN; the peer gets ConnectionResetError and there is no TIME_WAIT".into(),
        ),
        Some("ESTABLISHED") if unread > 0 => Item::Warn(format!(
            "{} unread: closing with data unread sends RST, not FIN; the peer gets ConnectionResetError",
            plural(unread as usize, "byte was", "bytes were")
        )),
        Some("ESTABLISHED") => Item::Note(
            "FIN sent: the peer's recv returns b'' once it has read everything; \
             the connection lives on in the kernel (FIN_WAIT, then TIME_WAIT): `sockets` shows it"
                .into(),
        ),
        Some("CLOSE_WAIT") => Item::Note(
            "the peer had closed first; this close sends the last FIN (LAST_ACK) and completes the four-way close".into(),
        ),
        Some("LISTEN") if queued_conns > 0 => Item::Warn(format!(
            "{} never accepted: they are reset",
            plural(queued_conns as usize, "queued connection was", "queued connections were")
        )),
        _ => return Vec::new(),
    };
    vec![item]
}

/// What a shutdown did.
pub(crate) fn shutdown_text(how: How, listener_stopped: bool) -> &'static str {
    match how {
        _ if listener_stopped => {
            "shut down reading on a listener: it stops listening (state CLOSED) and its accept queue is dropped"
        }
        How::Read => "shut down reading: recv now returns b'' (the peer is not told)",
        How::Write => {
            "shut down writing: FIN sent; the peer's recv returns b'' while it can still send to us"
        }
        How::Both => "shut down both directions: FIN sent and recv returns b''",
    }
}

/// What a socket's new mode means.
pub(crate) fn mode_text(label: &str, mode: Mode) -> String {
    match mode {
        Mode::Blocking => {
            format!("{label} is now blocking: calls wait as long as it takes (Ctrl-C interrupts)")
        }
        Mode::NonBlocking => format!(
            "{label} is now non-blocking: a call that would wait raises BlockingIOError at once"
        ),
        Mode::Timeout(d) => format!(
            "{label} now has a timeout of {} s: a call waits at most that long, then raises TimeoutError",
            table::trim_float(d.as_secs_f64())
        ),
    }
}

trait NoneAsEmpty {
    fn into_str_if_none(self) -> Value;
}

impl NoneAsEmpty for Value {
    /// Python's getsockname of an unbound UNIX socket is ''.
    fn into_str_if_none(self) -> Value {
        match self {
            Value::None => Value::Str(String::new().into()),
            v => v,
        }
    }
}

pub(crate) fn domain_of(family: Family) -> Domain {
    match family {
        Family::Inet => Domain::IPV4,
        Family::Inet6 => Domain::IPV6,
        Family::Unix => Domain::UNIX,
    }
}

pub(crate) fn type_of(kind: SockKind) -> Type {
    match kind {
        SockKind::Stream => Type::STREAM,
        SockKind::Dgram => Type::DGRAM,
        SockKind::SeqPacket => Type::SEQPACKET,
        SockKind::Raw => Type::RAW,
    }
}

/// socket() refused: what the kernel's refusal means for this family, type
/// and protocol.
fn socket_error(mut x: ExecError, family: Family, kind: SockKind, proto: Option<i32>) -> ExecError {
    if (x.is_errno(libc::EPERM) || x.is_errno(libc::EACCES)) && kind == SockKind::Raw {
        x.hint = Some(
            "raw sockets need root (or the CAP_NET_RAW capability): run sockplay as root. \
             Without it, a ping socket sends ICMP echo requests: socket inet dgram icmp \
             (when /proc/sys/net/ipv4/ping_group_range lets your group)"
                .into(),
        );
    } else if (x.is_errno(libc::EPERM) || x.is_errno(libc::EACCES)) && kind == SockKind::Dgram {
        x.hint = Some(
            "a ping socket (SOCK_DGRAM + IPPROTO_ICMP) is allowed only to the groups in \
             /proc/sys/net/ipv4/ping_group_range"
                .into(),
        );
    } else if x.is_errno(libc::EPROTONOSUPPORT) && kind == SockKind::Raw && proto.is_none() {
        x.hint = Some(
            "a raw IP socket needs its protocol: socket raw icmp (or tcp, udp, a number)".into(),
        );
    } else if (x.is_errno(libc::EPROTONOSUPPORT)
        || x.is_errno(libc::ESOCKTNOSUPPORT)
        || x.is_errno(libc::EINVAL))
        && kind == SockKind::SeqPacket
        && family != Family::Unix
    {
        x.hint = Some(
            "SOCK_SEQPACKET is for UNIX sockets here (socket unix seqpacket); over IP it needs SCTP".into(),
        );
    } else if x.is_errno(libc::EPROTONOSUPPORT) || x.is_errno(libc::ESOCKTNOSUPPORT) {
        x.hint = Some(format!("{family} has no {kind} sockets with that protocol"));
    }
    x
}

/// (queued connections, limit) of a TCP listener.
pub(crate) fn accept_queue(e: &Entry) -> Option<(u32, u32)> {
    super::io::accept_queue_of(&e.sock, e.family, e.kind)
}

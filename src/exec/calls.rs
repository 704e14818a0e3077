//! The socket calls: socket, bind, listen, accept, connect, send, sendall,
//! recv, sendto, recvfrom, close, shutdown, and the blocking modes.
//!
//! Each call first says whether it will wait and on what (the queue that
//! matters), then waits with poll (see [`crate::wait`]) honouring the mode
//! the learner chose, then reports what the kernel did.

use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::syntax::ast::{
    AddrExpr, Expr, Family, How, RecvFlag, SendFlag, SockKind, SockRef, Spanned, View,
};
use crate::table::{self, Entry, Mode, Origin};
use crate::value::{SockHandle, Value, addr_short};
use crate::wait::{self, Stopped};
use socket2::{Domain, SockAddr, Socket, Type};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Python's default backlog for `listen()` without an argument.
const DEFAULT_BACKLOG: i32 = 128;
const DEFAULT_RECV: i64 = 1024;

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

/// What a waiting call waits for.
struct Wait<'a> {
    /// poll() events that mean "try again".
    events: libc::c_short,
    /// A send (SO_SNDTIMEO applies) rather than a receive (SO_RCVTIMEO).
    send: bool,
    /// Said when a non-blocking socket would have had to wait.
    nonblock_hint: &'a str,
}

/// The error of a wait that ended without its event.
fn stopped(s: Stopped) -> ExecError {
    match s {
        Stopped::TimedOut => ExecError::timeout(),
        Stopped::Interrupted => ExecError::interrupted(),
    }
}

/// recv into a fresh buffer of `size` bytes; returns the bytes and the
/// length the kernel reported (larger than the buffer for a truncated
/// datagram when MSG_TRUNC is given).
fn recv_buf(sock: &Socket, size: usize, flags: i32) -> io::Result<(Vec<u8>, usize)> {
    let mut buf: Vec<u8> = Vec::with_capacity(size);
    let n = sock.recv_with_flags(buf.spare_capacity_mut(), flags)?;
    // SAFETY: the kernel initialised the first min(n, size) bytes.
    unsafe { buf.set_len(n.min(size)) };
    Ok((buf, n))
}

fn recv_from_buf(sock: &Socket, size: usize, flags: i32) -> io::Result<(Vec<u8>, usize, SockAddr)> {
    let mut buf: Vec<u8> = Vec::with_capacity(size);
    let (n, addr) = sock.recv_from_with_flags(buf.spare_capacity_mut(), flags)?;
    // SAFETY: as in recv_buf.
    unsafe { buf.set_len(n.min(size)) };
    Ok((buf, n, addr))
}

/// SO_RCVTIMEO / SO_SNDTIMEO, which a real blocking call would honour.
fn kernel_timeout(sock: &Socket, send: bool) -> Option<Duration> {
    let t = if send {
        sock.write_timeout()
    } else {
        sock.read_timeout()
    };
    t.ok().flatten()
}

/// A value to show for an address: Python gives None for an unnamed one.
pub(crate) fn addr_value(a: SockAddr) -> Value {
    let named =
        a.as_socket().is_some() || a.as_pathname().is_some() || a.as_abstract_namespace().is_some();
    if named { Value::Addr(a) } else { Value::None }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

impl Session {
    fn used(&mut self, h: SockHandle) {
        self.table.last = Some(h);
    }

    /// A better hint for an error, knowing the socket it happened on.
    fn in_context(&self, h: SockHandle, mut x: ExecError) -> ExecError {
        let Some(e) = self.table.get(h) else { return x };
        let connected = e.sock.peer_addr().is_ok();
        if x.is_errno(libc::EPIPE) && !connected {
            x.hint = Some(
                "this socket is not connected: connect it first (a TCP send without a connection fails with EPIPE)".into(),
            );
        } else if x.is_errno(libc::ECONNREFUSED) && e.kind == SockKind::Dgram {
            x.hint = Some(
                "an earlier datagram to that port came back as ICMP port unreachable: nothing listens there; \
                 a connected UDP socket reports it on its next call"
                    .into(),
            );
        }
        x
    }

    fn entry_h(&self, h: SockHandle) -> Result<&Entry, ExecError> {
        self.table.get(h).ok_or_else(|| ExecError::os(libc::EBADF))
    }

    /// The deadline a call gets from the socket's mode (and the kernel
    /// timeout a real blocking call would honour).
    fn deadline(mode: Mode, kernel: Option<Duration>, start: Instant) -> (Option<Instant>, bool) {
        match mode {
            Mode::Timeout(d) => (Some(start + d), false),
            Mode::Blocking => (kernel.map(|k| start + k), kernel.is_some()),
            Mode::NonBlocking => (Some(start), false),
        }
    }

    /// Calls `attempt` until it does not report EAGAIN, waiting for `events`
    /// in between as the socket's mode allows. `waiting` describes the wait
    /// (announced once, before it starts). Returns the result and how long
    /// it waited (None when it did not wait).
    fn wait_call<T>(
        &self,
        h: SockHandle,
        how: Wait<'_>,
        waiting: impl FnOnce(&Entry) -> Item,
        out: &mut dyn Sink,
        mut attempt: impl FnMut(&Socket) -> io::Result<T>,
    ) -> Result<(T, Option<Duration>), ExecError> {
        let Wait {
            events,
            send,
            nonblock_hint,
        } = how;
        let e = self.entry_h(h)?;
        let sock = Arc::clone(&e.sock);
        match attempt(&sock) {
            Ok(v) => return Ok((v, None)),
            Err(err) if !would_block(&err) => return Err(self.in_context(h, err.into())),
            Err(_) => {}
        }
        if e.mode == Mode::NonBlocking {
            return Err(ExecError::os(libc::EAGAIN).hint(nonblock_hint.to_string()));
        }
        let start = Instant::now();
        let (deadline, kernel) = Self::deadline(e.mode, kernel_timeout(&sock, send), start);
        out.emit(waiting(e));
        let cancel = self.cancel();
        loop {
            match wait::wait_fd(h.fd, events, deadline, &cancel) {
                Ok(_) => {}
                Err(Stopped::TimedOut) if kernel => {
                    let which = if send { "SO_SNDTIMEO" } else { "SO_RCVTIMEO" };
                    return Err(ExecError::os(libc::EAGAIN).hint(format!(
                        "the socket's {which} passed: a blocking call with a kernel timeout fails with EAGAIN"
                    )));
                }
                Err(s) => return Err(stopped(s)),
            }
            match attempt(&sock) {
                Ok(v) => return Ok((v, Some(start.elapsed()))),
                Err(err) if !would_block(&err) => return Err(self.in_context(h, err.into())),
                Err(_) => {}
            }
        }
    }

    pub(super) fn socket(
        &mut self,
        family: Option<Family>,
        kind: Option<SockKind>,
    ) -> Result<Ret, ExecError> {
        let family = family.unwrap_or(Family::Inet);
        let kind = kind.unwrap_or(SockKind::Stream);
        let domain = match family {
            Family::Inet => Domain::IPV4,
            Family::Inet6 => Domain::IPV6,
            Family::Unix => Domain::UNIX,
        };
        let ty = match kind {
            SockKind::Stream => Type::STREAM,
            SockKind::Dgram => Type::DGRAM,
        };
        let sock = Socket::new(domain, ty, None)?;
        let h = self.table.insert(sock, family, kind, Origin::Created)?;
        self.used(h);
        Ok(Ret::one(Value::Socket(h)))
    }

    pub(super) fn bind(
        &mut self,
        r: &Spanned<SockRef>,
        addr: &AddrExpr,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.sock(r)?;
        self.used(h);
        let e = self.entry_h(h)?;
        let target = self.address(addr, e.family, false)?;
        let asked_port = target.as_socket().map(|s| s.port());
        if let Err(err) = e.sock.bind(&target) {
            let mut x = ExecError::from(err).at(addr.span());
            if x.is_errno(libc::EADDRINUSE) && e.family == Family::Unix {
                x.hint = Some("the socket file already exists: remove it (the course does os.unlink(path)) or bind another path".into());
            } else if x.is_errno(libc::EINVAL) {
                x.hint = Some("this socket is already bound: a socket binds once".into());
            }
            return Err(x);
        }
        let local = e.sock.local_addr().ok();
        let shown = local
            .as_ref()
            .map_or_else(|| addr_short(&target), addr_short);
        let mut msg = format!("bound {} to {shown}", e.label());
        if asked_port == Some(0)
            && let Some(p) = local
                .as_ref()
                .and_then(SockAddr::as_socket)
                .map(|s| s.port())
        {
            msg.push_str(&format!(" (port {p} chosen by the kernel)"));
        }
        out.emit(Item::Done(msg));
        if let Some(path) = target.as_pathname() {
            let path = path.to_path_buf();
            out.emit(Item::Note(format!(
                "bind created the socket file {}; it stays after close until removed",
                path.display()
            )));
            if let Some(e) = self.table.get_mut(h) {
                e.bound_path = Some(path);
            }
        }
        Ok(Ret::none())
    }

    pub(super) fn listen(
        &mut self,
        r: &Spanned<SockRef>,
        backlog: Option<&Spanned<Expr>>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.sock(r)?;
        self.used(h);
        let n = match backlog {
            Some(b) => {
                i32::try_from(self.int(b)?.clamp(0, i64::from(i32::MAX))).unwrap_or(i32::MAX)
            }
            None => DEFAULT_BACKLOG,
        };
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
        out.emit(Item::Done(format!(
            "{} is listening on {shown}, backlog {n} ({state})",
            e.label()
        )));
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

    pub(super) fn accept(
        &mut self,
        r: &Spanned<SockRef>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.sock(r)?;
        self.used(h);
        let e = self.entry_h(h)?;
        let family = e.family;
        let listening = e.sock.is_listener().unwrap_or(false);
        if !listening {
            let mut x = ExecError::os(libc::EINVAL);
            x.hint = Some(if e.kind == SockKind::Dgram {
                "UDP sockets do not accept: recvfrom receives datagrams from anyone".into()
            } else {
                format!(
                    "accept needs a listening socket: listen {} first",
                    e.label()
                )
            });
            return Err(x.at(r.span));
        }
        let queue = accept_queue(e);
        if let Some((q, max)) = queue
            && q > 0
        {
            out.emit(Item::NoWait(format!(
                "{} already waiting in the accept queue ({q}/{max})",
                plural(q as usize, "connection was", "connections were")
            )));
        }
        let ((sock, peer), waited) = self.wait_call(
            h,
            Wait {
                events: libc::POLLIN,
                send: false,
                nonblock_hint: "no connection is waiting in the accept queue, and the socket is non-blocking",
            },
            |e| Item::Waiting {
                call: format!("accept(fd {})", e.fd()),
                what: format!("a client on {}", local_text(e)),
                queue: match accept_queue(e) {
                    Some((q, max)) => format!("accept queue {q}/{max}"),
                    None => "accept queue empty".into(),
                },
            },
            out,
            |s| s.accept(),
        )?;
        if let Some(w) = waited {
            out.emit(Item::Waited(w));
        }
        let kind = SockKind::Stream;
        let new = self
            .table
            .insert(sock, family, kind, Origin::Accepted { listener: h.fd })?;
        let peer_v = addr_value(peer.clone());
        out.emit(Item::Done(format!(
            "accepted a connection from {} as a new socket, fd {}",
            addr_short(&peer),
            new.fd
        )));
        self.used(new);
        Ok(Ret::two(Value::Socket(new), peer_v))
    }

    pub(super) fn connect(
        &mut self,
        r: &Spanned<SockRef>,
        addr: &AddrExpr,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.sock(r)?;
        self.used(h);
        let e = self.entry_h(h)?;
        let target = self.address(addr, e.family, true).map_err(|x| {
            if x.span.is_none() {
                x.at(addr.span())
            } else {
                x
            }
        })?;
        let sock = Arc::clone(&e.sock);
        let (mode, label, kind, family) = (e.mode, e.label(), e.kind, e.family);
        let start = Instant::now();
        let mut waited = None;
        match sock.connect(&target) {
            Ok(()) => {}
            Err(err)
                if err.raw_os_error() == Some(libc::EINPROGRESS)
                    || (would_block(&err) && family == Family::Unix) =>
            {
                let unix_full = family == Family::Unix;
                if mode == Mode::NonBlocking {
                    let mut x = ExecError::from(err);
                    x.hint = Some(if unix_full {
                        "the listener's accept queue is full and the socket is non-blocking".into()
                    } else {
                        "the handshake has started; the socket turns writable (select) when it completes".into()
                    });
                    return Err(x);
                }
                let (deadline, _) = Self::deadline(mode, None, start);
                let cancel = self.cancel();
                let quick = !unix_full
                    && wait::wait_fd(
                        h.fd,
                        libc::POLLOUT,
                        Some(Instant::now() + Duration::from_millis(2)),
                        &cancel,
                    )
                    .is_ok();
                if !quick {
                    out.emit(Item::Waiting {
                        call: format!("connect(fd {})", h.fd),
                        what: format!("the handshake with {}", addr_short(&target)),
                        queue: if unix_full {
                            "the listener's accept queue is full".into()
                        } else {
                            "SYN sent, state SYN_SENT".into()
                        },
                    });
                    if unix_full {
                        // AF_UNIX reports a full queue as EAGAIN and never
                        // signals when room appears: retry in slices.
                        loop {
                            wait::sleep(Duration::from_millis(20), &cancel).map_err(stopped)?;
                            if deadline.is_some_and(|d| Instant::now() >= d) {
                                return Err(ExecError::timeout());
                            }
                            match sock.connect(&target) {
                                Ok(()) => break,
                                Err(x) if would_block(&x) => continue,
                                Err(x) => return Err(x.into()),
                            }
                        }
                    } else {
                        wait::wait_fd(h.fd, libc::POLLOUT, deadline, &cancel).map_err(|s| {
                            let mut x = stopped(s);
                            x.hint = Some(format!(
                                "{} (the handshake may still complete in the background)",
                                x.hint.unwrap_or_default()
                            ));
                            x
                        })?;
                    }
                    waited = Some(start.elapsed());
                }
                if !unix_full && let Some(err) = sock.take_error()? {
                    return Err(ExecError::from(err).at(addr.span()));
                }
            }
            Err(err) => {
                let mut x = ExecError::from(err).at(addr.span());
                if x.is_errno(libc::ENOENT) && family == Family::Unix {
                    x.hint =
                        Some("no socket file at that path: bind and listen on it first".into());
                }
                return Err(x);
            }
        }
        if let Some(w) = waited {
            out.emit(Item::Waited(w));
        }
        let e = self.entry_h(h)?;
        let local = e
            .sock
            .local_addr()
            .ok()
            .map(|a| addr_short(&a))
            .unwrap_or_default();
        let mut msg = format!("connected {label}");
        if !local.is_empty() && local != "-" {
            msg.push_str(&format!(" from {local}"));
        }
        msg.push_str(&format!(" to {}", addr_short(&target)));
        if let Some(st) = table::tcp_state(e) {
            msg.push_str(&format!(" ({st})"));
        }
        out.emit(Item::Done(msg));
        if kind == SockKind::Dgram {
            out.emit(Item::Note(
                "a UDP connect sends nothing: it only fixes the peer, so send/recv work and datagrams from others are dropped".into(),
            ));
        }
        Ok(Ret::none())
    }

    fn send_flags(flags: &[SendFlag]) -> i32 {
        let mut f = libc::MSG_NOSIGNAL;
        for fl in flags {
            f |= match fl {
                SendFlag::Oob => libc::MSG_OOB,
                SendFlag::DontWait => libc::MSG_DONTWAIT,
                SendFlag::NoSignal => libc::MSG_NOSIGNAL,
                SendFlag::More => libc::MSG_MORE,
            };
        }
        f
    }

    /// The socket at the other end of a connection, if this shell holds it.
    pub(crate) fn peer_entry(&self, h: SockHandle) -> Option<&Entry> {
        let e = self.table.get(h)?;
        let local = e.sock.local_addr().ok()?;
        let peer = e.sock.peer_addr().ok()?;
        let (ls, ps) = (local.as_socket()?, peer.as_socket()?);
        self.table.iter().find(|o| {
            o.handle != h
                && o.sock.local_addr().ok().and_then(|a| a.as_socket()) == Some(ps)
                && o.sock.peer_addr().ok().and_then(|a| a.as_socket()) == Some(ls)
        })
    }

    fn send_waiting(&self, e: &Entry) -> Item {
        let sq = table::send_queue(e.fd()).unwrap_or(0);
        let mut queue = format!("send queue {sq} bytes");
        if let Some(p) = self.peer_entry(e.handle) {
            let rq = table::recv_queue(p.fd()).unwrap_or(0);
            queue.push_str(&format!(", {}'s receive queue {rq} bytes", p.label()));
        }
        Item::Waiting {
            call: format!("send(fd {})", e.fd()),
            what: "buffer space (the peer is not reading fast enough)".into(),
            queue,
        }
    }

    /// One blocking-or-not send of `data`; for a blocking stream socket it
    /// goes on until every byte is taken, as the kernel's blocking send does.
    fn send_bytes(
        &self,
        h: SockHandle,
        data: &[u8],
        flags: i32,
        all: bool,
        out: &mut dyn Sink,
    ) -> Result<(usize, Option<Duration>, usize), ExecError> {
        let e = self.entry_h(h)?;
        let sock = Arc::clone(&e.sock);
        let stream = e.kind == SockKind::Stream;
        let mode = e.mode;
        let nonblock = mode == Mode::NonBlocking || flags & libc::MSG_DONTWAIT != 0;
        let start = Instant::now();
        let (deadline, kernel) = Self::deadline(mode, kernel_timeout(&sock, true), start);
        let cancel = self.cancel();
        let mut sent = 0usize;
        let mut calls = 0usize;
        let mut announced = false;
        loop {
            calls += 1;
            match sock.send_with_flags(&data[sent..], flags) {
                Ok(n) => {
                    sent += n;
                    // A blocking stream send (or sendall) continues until
                    // all is sent; a timeout-mode send returns what one
                    // call took, as Python's does.
                    let go_on =
                        stream && sent < data.len() && (all || mode == Mode::Blocking) && !nonblock;
                    if !go_on {
                        break;
                    }
                }
                Err(err) if would_block(&err) => {
                    if nonblock {
                        if sent > 0 && !all {
                            break;
                        }
                        let mut x = ExecError::os(libc::EAGAIN);
                        x.hint = Some(format!(
                            "the send buffer is full and the socket is non-blocking{}",
                            if sent > 0 {
                                format!(" ({sent} bytes were sent before it filled)")
                            } else {
                                String::new()
                            }
                        ));
                        return Err(x);
                    }
                    if !announced {
                        announced = true;
                        out.emit(self.send_waiting(e));
                    }
                    match wait::wait_fd(h.fd, libc::POLLOUT, deadline, &cancel) {
                        Ok(_) => {}
                        Err(Stopped::TimedOut) if kernel => {
                            if sent > 0 {
                                break;
                            }
                            return Err(
                                ExecError::os(libc::EAGAIN).hint("the socket's SO_SNDTIMEO passed")
                            );
                        }
                        Err(s) => {
                            let mut x = stopped(s);
                            if sent > 0 {
                                x.hint = Some(format!(
                                    "{sent} of {} bytes had been handed to the kernel before it stopped",
                                    data.len()
                                ));
                            }
                            return Err(x);
                        }
                    }
                }
                Err(err) => {
                    if sent > 0 && !all {
                        break;
                    }
                    return Err(err.into());
                }
            }
        }
        Ok((sent, announced.then(|| start.elapsed()), calls))
    }

    pub(super) fn send(
        &mut self,
        r: &Spanned<SockRef>,
        data: &Spanned<Expr>,
        flags: &[SendFlag],
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.sock(r)?;
        self.used(h);
        let bytes = self.data(data)?;
        self.note_str_encoding(data, out);
        let (n, waited, _) = self
            .send_bytes(h, &bytes, Self::send_flags(flags), false, out)
            .map_err(|x| self.in_context(h, x))?;
        if let Some(w) = waited {
            out.emit(Item::Waited(w));
        }
        let mut msg = format!("sent {}", plural(n, "byte", "bytes"));
        if n < bytes.len() {
            msg.push_str(&format!(
                " of {} (the rest did not fit in the send buffer)",
                bytes.len()
            ));
        }
        if flags.contains(&SendFlag::Oob) {
            msg.push_str(" as urgent (OOB) data");
        }
        out.emit(Item::Done(msg));
        Ok(Ret::said(Value::Int(n as i64)))
    }

    pub(super) fn sendall(
        &mut self,
        r: &Spanned<SockRef>,
        data: &Spanned<Expr>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.sock(r)?;
        self.used(h);
        let bytes = self.data(data)?;
        self.note_str_encoding(data, out);
        let (n, waited, calls) = self
            .send_bytes(h, &bytes, libc::MSG_NOSIGNAL, true, out)
            .map_err(|x| self.in_context(h, x))?;
        if let Some(w) = waited {
            out.emit(Item::Waited(w));
        }
        let mut msg = format!("sent all {}", plural(n, "byte", "bytes"));
        if calls > 1 {
            msg.push_str(&format!(" in {calls} send calls"));
        }
        out.emit(Item::Done(msg));
        Ok(Ret::none())
    }

    fn recv_size(&self, size: Option<&Spanned<Expr>>) -> Result<usize, ExecError> {
        let n = match size {
            Some(s) => {
                let n = self.int(s)?;
                if n < 0 {
                    return Err(
                        ExecError::new("ValueError", "negative buffersize in recv").at(s.span)
                    );
                }
                if n as usize > super::eval::MAX_DATA {
                    return Err(ExecError::new(
                        "ValueError",
                        "a buffer over 256 MiB is more than this shell receives at once",
                    )
                    .at(s.span));
                }
                n
            }
            None => DEFAULT_RECV,
        };
        Ok(n as usize)
    }

    fn recv_flags(flags: &[RecvFlag]) -> (i32, bool) {
        let mut f = 0;
        let mut waitall = false;
        for fl in flags {
            match fl {
                RecvFlag::Peek => f |= libc::MSG_PEEK,
                RecvFlag::WaitAll => waitall = true,
                RecvFlag::Oob => f |= libc::MSG_OOB,
                RecvFlag::DontWait => f |= libc::MSG_DONTWAIT,
            }
        }
        (f, waitall)
    }

    fn recv_waiting(e: &Entry, from: bool) -> Item {
        let what = match (e.kind, e.sock.peer_addr().ok()) {
            (SockKind::Stream, Some(p)) => format!("data from {}", addr_short(&p)),
            (SockKind::Dgram, Some(p)) => format!("a datagram from {}", addr_short(&p)),
            (SockKind::Dgram, None) => format!("a datagram on {}", local_text(e)),
            (SockKind::Stream, None) => "data".into(),
        };
        Item::Waiting {
            call: format!("{}(fd {})", if from { "recvfrom" } else { "recv" }, e.fd()),
            what,
            queue: "receive queue empty".into(),
        }
    }

    /// What was queued before a recv (said when it did not have to wait).
    fn queued_before(e: &Entry, out: &mut dyn Sink) -> u32 {
        let q = table::recv_queue(e.fd()).unwrap_or(0);
        let bound = e.sock.local_addr().is_ok_and(|a| table::is_bound(&a));
        if q == 0 && e.kind == SockKind::Dgram && !bound {
            out.emit(Item::Warn(format!(
                "{} has no address yet, so no datagram can reach it: bind it first (or send from it: that binds it to a port the kernel picks)",
                e.label()
            )));
        }
        if q > 0 {
            let what = if e.kind == SockKind::Dgram {
                format!(
                    "a datagram of {} was already queued",
                    plural(q as usize, "byte", "bytes")
                )
            } else {
                format!(
                    "{} already queued",
                    plural(q as usize, "byte was", "bytes were")
                )
            };
            out.emit(Item::NoWait(what));
        } else if e.kind == SockKind::Stream && table::poll_now(e.fd()) & libc::POLLIN != 0 {
            out.emit(Item::NoWait(
                "nothing queued, but the peer has closed: no need to wait".into(),
            ));
        }
        q
    }

    /// Notes shown after the received value.
    fn after_recv(
        &self,
        h: SockHandle,
        got: usize,
        real: usize,
        size: usize,
        peek: bool,
    ) -> Vec<Item> {
        let mut out = Vec::new();
        let Some(e) = self.table.get(h) else {
            return out;
        };
        if e.kind == SockKind::Stream && got == 0 && size > 0 {
            out.push(Item::Note(
                "b'' is end of stream: the peer closed (or shut down) its sending side; every recv from now on returns b''".into(),
            ));
            return out;
        }
        if e.kind == SockKind::Dgram && real > got {
            out.push(Item::Warn(format!(
                "datagram of {real} bytes truncated to {got}: {} lost (UDP delivers a datagram whole or cut, never in parts)",
                plural(real - got, "byte", "bytes")
            )));
        }
        if peek {
            out.push(Item::Note(
                "peeked: these bytes are still queued; the next recv returns them again".into(),
            ));
            return out;
        }
        if e.kind == SockKind::Stream
            && let Some(rem) = table::recv_queue(e.fd()).filter(|&n| n > 0)
        {
            out.push(Item::Note(format!(
                "{} still queued",
                plural(rem as usize, "more byte", "more bytes")
            )));
        }
        out
    }

    pub(super) fn recv(
        &mut self,
        r: &Spanned<SockRef>,
        size: Option<&Spanned<Expr>>,
        flags: &[RecvFlag],
        view: Option<View>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.sock(r)?;
        self.used(h);
        let size = self.recv_size(size)?;
        let (mut f, waitall) = Self::recv_flags(flags);
        let e = self.entry_h(h)?;
        if e.kind == SockKind::Dgram {
            f |= libc::MSG_TRUNC;
        }
        if e.sock.is_listener().unwrap_or(false) {
            return Err(ExecError::os(libc::ENOTCONN)
                .hint("a listening socket only accepts: recv on the socket accept returned")
                .at(r.span));
        }
        let dontwait = f & libc::MSG_DONTWAIT != 0;
        if dontwait && e.mode != Mode::NonBlocking {
            f &= !libc::MSG_DONTWAIT;
        }
        Self::queued_before(e, out);
        let nonblock_hint =
            "nothing is queued and the socket is non-blocking (with settimeout it would wait)";
        let mut total: Vec<u8> = Vec::new();
        let mut real = 0;
        let mut waited_total: Option<Duration> = None;
        loop {
            let want = size - total.len();
            let ((buf, n), waited) = if dontwait {
                let e = self.entry_h(h)?;
                match recv_buf(&e.sock, want, f | libc::MSG_DONTWAIT) {
                    Ok(v) => (v, None),
                    Err(err) if would_block(&err) => {
                        return Err(ExecError::os(libc::EAGAIN).hint(nonblock_hint));
                    }
                    Err(err) => return Err(self.in_context(h, err.into())),
                }
            } else {
                self.wait_call(
                    h,
                    Wait {
                        events: libc::POLLIN
                            | if f & libc::MSG_OOB != 0 {
                                libc::POLLPRI
                            } else {
                                0
                            },
                        send: false,
                        nonblock_hint,
                    },
                    |e| Self::recv_waiting(e, false),
                    out,
                    |s| recv_buf(s, want, f),
                )?
            };
            if let Some(w) = waited {
                waited_total = Some(waited_total.unwrap_or_default() + w);
            }
            let got = buf.len();
            real = real.max(n);
            total.extend_from_slice(&buf);
            // MSG_WAITALL: a blocking socket waits for the whole size.
            if !waitall || got == 0 || total.len() >= size || f & libc::MSG_PEEK != 0 {
                break;
            }
        }
        if let Some(w) = waited_total {
            out.emit(Item::Waited(w));
        }
        let after = self.after_recv(h, total.len(), real, size, f & libc::MSG_PEEK != 0);
        Ok(Ret {
            values: vec![Value::Bytes(total)],
            view: view.unwrap_or(self.settings.display),
            said: false,
            after,
        })
    }

    pub(super) fn sendto(
        &mut self,
        r: &Spanned<SockRef>,
        data: &Spanned<Expr>,
        addr: &AddrExpr,
        flags: &[SendFlag],
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.sock(r)?;
        self.used(h);
        let bytes = self.data(data)?;
        let e = self.entry_h(h)?;
        let target = self.address(addr, e.family, true)?;
        self.note_str_encoding(data, out);
        let f = Self::send_flags(flags);
        let (n, waited) = self
            .wait_call(
                h,
                Wait {
                    events: libc::POLLOUT,
                    send: true,
                    nonblock_hint: "the send buffer is full and the socket is non-blocking",
                },
                |e| Item::Waiting {
                    call: format!("sendto(fd {})", e.fd()),
                    what: "buffer space".into(),
                    queue: format!(
                        "send queue {} bytes",
                        table::send_queue(e.fd()).unwrap_or(0)
                    ),
                },
                out,
                |s| s.send_to_with_flags(&bytes, &target, f),
            )
            .map_err(|x| {
                if x.is_errno(libc::EMSGSIZE) {
                    x.at(data.span)
                } else {
                    x
                }
            })?;
        if let Some(w) = waited {
            out.emit(Item::Waited(w));
        }
        out.emit(Item::Done(format!(
            "sent {} to {}",
            plural(n, "byte", "bytes"),
            addr_short(&target)
        )));
        Ok(Ret::said(Value::Int(n as i64)))
    }

    pub(super) fn recvfrom(
        &mut self,
        r: &Spanned<SockRef>,
        size: Option<&Spanned<Expr>>,
        flags: &[RecvFlag],
        view: Option<View>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.sock(r)?;
        self.used(h);
        let size = self.recv_size(size)?;
        let (mut f, _) = Self::recv_flags(flags);
        let e = self.entry_h(h)?;
        let dgram = e.kind == SockKind::Dgram;
        if dgram {
            f |= libc::MSG_TRUNC;
        }
        if e.sock.is_listener().unwrap_or(false) {
            return Err(ExecError::os(libc::ENOTCONN)
                .hint("a listening socket only accepts")
                .at(r.span));
        }
        Self::queued_before(e, out);
        let ((buf, n, from), waited) = self.wait_call(
            h,
            Wait {
                events: libc::POLLIN,
                send: false,
                nonblock_hint: "nothing is queued and the socket is non-blocking",
            },
            |e| Self::recv_waiting(e, true),
            out,
            |s| recv_from_buf(s, size, f & !libc::MSG_DONTWAIT),
        )?;
        if let Some(w) = waited {
            out.emit(Item::Waited(w));
        }
        let after = self.after_recv(h, buf.len(), n, size, f & libc::MSG_PEEK != 0);
        // Python gives None as the address of a TCP recvfrom.
        let addr = if dgram { addr_value(from) } else { Value::None };
        Ok(Ret {
            values: vec![Value::Bytes(buf), addr],
            view: view.unwrap_or(self.settings.display),
            said: false,
            after,
        })
    }

    pub(super) fn close(
        &mut self,
        r: &Spanned<SockRef>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.sock(r)?;
        let e = self.entry_h(h)?;
        let before = table::tcp_state(e);
        let unread = if e.kind == SockKind::Stream && !e.sock.is_listener().unwrap_or(false) {
            table::recv_queue(e.fd()).unwrap_or(0)
        } else {
            0
        };
        let label = e.label();
        let queued_conns = accept_queue(e).map_or(0, |(q, _)| q);
        let entry = self.table.remove(h);
        let path = entry.as_ref().and_then(|e| e.bound_path.clone());
        drop(entry);
        out.emit(Item::Done(format!(
            "closed {label} (fd {} is free again)",
            h.fd
        )));
        match before {
            Some("ESTABLISHED") if unread > 0 => out.emit(Item::Warn(format!(
                "{} unread: closing with data unread sends RST, not FIN; the peer gets ConnectionResetError",
                plural(unread as usize, "byte was", "bytes were")
            ))),
            Some("ESTABLISHED") => out.emit(Item::Note(
                "FIN sent: the peer's recv returns b'' once it has read everything".into(),
            )),
            Some("CLOSE_WAIT") => out.emit(Item::Note(
                "the peer had closed first; this close completes the four-way close".into(),
            )),
            Some("LISTEN") if queued_conns > 0 => out.emit(Item::Warn(format!(
                "{} never accepted: they are reset",
                plural(queued_conns as usize, "queued connection was", "queued connections were")
            ))),
            _ => {}
        }
        if let Some(p) = path
            && p.exists()
        {
            out.emit(Item::Note(format!(
                "the socket file {} is still on disk; binding it again needs it removed",
                p.display()
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
        let h = self.sock(r)?;
        self.used(h);
        let e = self.entry_h(h)?;
        let std_how = match how {
            How::Read => std::net::Shutdown::Read,
            How::Write => std::net::Shutdown::Write,
            How::Both => std::net::Shutdown::Both,
        };
        e.sock.shutdown(std_how).map_err(|err| {
            let mut x = ExecError::from(err);
            if x.is_errno(libc::ENOTCONN) {
                x.hint = Some("shutdown needs a connected socket".into());
            }
            x
        })?;
        let what = match how {
            How::Read => "shut down reading: recv now returns b'' (the peer is not told)",
            How::Write => {
                "shut down writing: FIN sent; the peer's recv returns b'' while it can still send to us"
            }
            How::Both => "shut down both directions: FIN sent and recv returns b''",
        };
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
        let h = self.sock(r)?;
        self.used(h);
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
        let h = self.sock(r)?;
        self.used(h);
        let mode = match self.float_or_none(secs)? {
            None => Mode::Blocking,
            Some(s) if s < 0.0 => {
                return Err(
                    ExecError::new("ValueError", "Timeout value out of range").at(secs.span)
                );
            }
            Some(0.0) => Mode::NonBlocking,
            Some(s) => Mode::Timeout(Duration::try_from_secs_f64(s).map_err(|_| {
                ExecError::new("OverflowError", "timeout doesn't fit into C timeval").at(secs.span)
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
        let what = match mode {
            Mode::Blocking => {
                "blocking: calls wait as long as it takes (Ctrl-C interrupts)".to_string()
            }
            Mode::NonBlocking => {
                "non-blocking: a call that would wait raises BlockingIOError at once".to_string()
            }
            Mode::Timeout(d) => format!(
                "timeout {}s: a call waits at most that long, then raises TimeoutError",
                table::trim_float(d.as_secs_f64())
            ),
        };
        out.emit(Item::Done(format!("{} is now {what}", e.label())));
        Ok(Ret::none())
    }

    pub(super) fn gettimeout(&mut self, r: &Spanned<SockRef>) -> Result<Ret, ExecError> {
        let e = self.entry(r)?;
        Ok(Ret::one(match e.mode {
            Mode::Blocking => Value::None,
            Mode::NonBlocking => Value::Float(0.0),
            Mode::Timeout(d) => Value::Float(d.as_secs_f64()),
        }))
    }

    pub(super) fn getsockname(&mut self, r: &Spanned<SockRef>) -> Result<Ret, ExecError> {
        let h = self.sock(r)?;
        self.used(h);
        let e = self.entry_h(h)?;
        let a = e.sock.local_addr()?;
        Ok(Ret::one(match a.as_socket() {
            Some(_) => Value::Addr(a),
            None => addr_value(a).into_str_if_none(),
        }))
    }

    pub(super) fn getpeername(&mut self, r: &Spanned<SockRef>) -> Result<Ret, ExecError> {
        let h = self.sock(r)?;
        self.used(h);
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

trait NoneAsEmpty {
    fn into_str_if_none(self) -> Value;
}

impl NoneAsEmpty for Value {
    /// Python's getsockname of an unbound UNIX socket is ''.
    fn into_str_if_none(self) -> Value {
        match self {
            Value::None => Value::Str(String::new()),
            v => v,
        }
    }
}

/// (queued connections, limit) of a TCP listener.
pub(crate) fn accept_queue(e: &Entry) -> Option<(u32, u32)> {
    if !e.is_tcp() {
        return None;
    }
    let t = table::tcp_info(&e.sock)?;
    (t.state == 10).then_some((t.unacked, t.sacked))
}

fn local_text(e: &Entry) -> String {
    e.sock
        .local_addr()
        .map(|a| addr_short(&a))
        .unwrap_or_else(|_| "?".into())
}

//! The calls that may wait: accept, connect, send, sendall, sendto (and
//! sleep); recv and recvfrom, built on the same [`Ctx`], are in
//! [`super::recv`].
//!
//! Each is split in two. The first half runs on the session: it finds the
//! socket, checks the arguments and says what is already queued. The second
//! half ([`Work`]) is detached from the session: it gets a [`Ctx`] (the
//! socket, its mode, the cancel flags) and may run in the foreground or on a
//! background job's thread. It announces a wait before it starts (the
//! queue that matters), waits with poll in slices (see [`crate::wait`]),
//! honouring the mode the learner chose, and returns what the kernel did.
//! That half (Ctx, the wait, the sending loop) is in io/ctx.rs; this file
//! keeps the session's half and the accept and connect work.

use super::eval::Payload;

use super::{Adopt, Item, Ret, Session, Sink, describe_socket};
use crate::errors::ExecError;
use crate::proto::log::Dir;
use crate::syntax::ast::{AddrExpr, Expr, Family, SendFlag, SockKind, SockRef, Spanned};
use crate::table::{self, Mode, Origin};
use crate::value::plural;
use crate::value::{SockHandle, Value, addr_short};
use crate::wait;
use socket2::SockAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod ctx;
pub(crate) use ctx::*;

impl Session {
    /// The detached view of a socket for a call.
    pub(crate) fn ctx(&self, h: SockHandle) -> Result<Ctx, ExecError> {
        let e = self
            .table
            .get(h)
            .ok_or_else(|| ExecError::os(libc::EBADF))?;
        let peer_entry = self.table.peer_of(h);
        let peer = peer_entry.map(|p| (p.fd(), p.label()));
        let peer_open = peer_entry.is_some_and(|p| !p.shut_write);
        let pair = match e.conn {
            Some(pair) => Some(pair),
            // Not noted yet (a non-blocking connect that completed since).
            None if e.is_tcp() => table::conn_pair(&e.sock),
            None => None,
        };
        Ok(Ctx {
            h,
            sock: Arc::clone(&e.sock),
            mode: e.mode,
            family: e.family,
            kind: e.kind,
            label: e.label(),
            cancel: self.cancel(),
            peer,
            bounds: Arc::clone(&self.bounds),
            was_connected: e.was_connected || pair.is_some() || e.sock.peer_addr().is_ok(),
            shut_write: e.shut_write,
            was_reset: e.was_reset,
            pair,
            listening: e.backlog.is_some(),
            peer_open,
            held: Arc::clone(&e.held),
            log: Arc::clone(&self.log),
            calls: self.watch_states.then(|| self.calls.clone()),
        })
    }

    pub(super) fn accept(
        &mut self,
        r: &Spanned<SockRef>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let ctx = self.ctx(h)?;
        if !ctx.listening {
            let mut x = ExecError::os(libc::EINVAL);
            x.hint = Some(if ctx.kind == SockKind::Dgram {
                "UDP sockets do not accept: recvfrom receives datagrams from anyone".into()
            } else {
                format!(
                    "accept needs a listening socket: listen {} first",
                    ctx.label
                )
            });
            return Err(x.at(r.span));
        }
        if let Some((q, max)) = accept_queue_of(&ctx.sock, ctx.family, ctx.kind)
            && q > 0
        {
            out.emit(Item::NoWait(format!(
                "{} already waiting in the accept queue ({q}/{max})",
                plural(q as usize, "connection was", "connections were")
            )));
        }
        self.call(ctx, Box::new(accept_work), out)
    }

    pub(super) fn connect(
        &mut self,
        r: &Spanned<SockRef>,
        addr: &AddrExpr,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        if self.table.get(h).is_some_and(|e| e.family != Family::Unix) {
            // Before the SYN goes out (see start_capture).
            self.start_capture();
        }
        let ctx = self.ctx(h)?;
        let target = self.address(addr, ctx.family, true).map_err(|x| {
            if x.span.is_none() {
                x.at(addr.span())
            } else {
                x
            }
        })?;
        let span = addr.span();
        self.lab_route(h, &target, span)?;
        // The handshake is captured for `states` even when the server is
        // not a socket of this shell.
        if let (Some(t), Some(sa)) = (&self.capture, target.as_socket()) {
            t.watch(sa.port());
        }
        self.call(
            ctx,
            Box::new(move |ctx: &Ctx, out: &mut dyn Sink| {
                connect_work(ctx, &target, out).map_err(|x| {
                    if x.errno.is_some() && x.span.is_none() {
                        x.at(span)
                    } else {
                        x
                    }
                })
            }),
            out,
        )
    }

    pub(super) fn send(
        &mut self,
        r: &Spanned<SockRef>,
        data: &Spanned<Expr>,
        flags: &[SendFlag],
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let f = send_flags(flags);
        let ctx = self.ctx(h)?;
        let bytes = match self.payload(data, ctx.kind)? {
            Payload::Zeros(n) => {
                return self.call(
                    ctx,
                    Box::new(move |ctx: &Ctx, out: &mut dyn Sink| {
                        super::bulk::zeros_work(ctx, n, f, false, out)
                    }),
                    out,
                );
            }
            Payload::Bytes(b) => b,
        };
        self.note_str_encoding(data, out);
        let oob = flags.contains(&SendFlag::Oob);
        self.call(
            ctx,
            Box::new(move |ctx: &Ctx, out: &mut dyn Sink| {
                let peer_gone = ctx.peer_closed();
                let (n, waited, _) = ctx.send_bytes(&bytes, f, false, out)?;
                if let Some(w) = waited {
                    out.emit(Item::Waited(w));
                }
                if peer_gone {
                    out.emit(match &ctx.peer {
                        // The other end is a socket of this shell, still open:
                        // it only shut down its writing.
                        Some((_, name)) => Item::Note(format!(
                            "{name} only shut down its writing (half-close): it still receives what is sent here"
                        )),
                        None => Item::Warn(
                            "the peer has closed its sending side (this socket is in CLOSE_WAIT): if it closed \
                             the socket, not just shut down writing, its kernel answers with RST and the next \
                             send fails with BrokenPipeError"
                                .into(),
                        ),
                    });
                }
                let mut msg = format!("sent {}", plural(n, "byte", "bytes"));
                if n < bytes.len() {
                    msg.push_str(&format!(
                        " of {} (the rest did not fit in the send buffer)",
                        bytes.len()
                    ));
                }
                if oob {
                    msg.push_str(" as urgent (OOB) data");
                }
                out.emit(Item::Done(msg));
                Ok(Ret::said(Value::Int(n as i64)))
            }),
            out,
        )
    }

    pub(super) fn sendall(
        &mut self,
        r: &Spanned<SockRef>,
        data: &Spanned<Expr>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let ctx = self.ctx(h)?;
        let bytes = match self.payload(data, ctx.kind)? {
            Payload::Zeros(n) => {
                return self.call(
                    ctx,
                    Box::new(move |ctx: &Ctx, out: &mut dyn Sink| {
                        super::bulk::zeros_work(ctx, n, libc::MSG_NOSIGNAL, true, out)
                    }),
                    out,
                );
            }
            Payload::Bytes(b) => b,
        };
        self.note_str_encoding(data, out);
        self.call(
            ctx,
            Box::new(move |ctx: &Ctx, out: &mut dyn Sink| {
                let (n, waited, calls) = ctx.send_bytes(&bytes, libc::MSG_NOSIGNAL, true, out)?;
                if let Some(w) = waited {
                    out.emit(Item::Waited(w));
                }
                let mut msg = format!("sent all {}", plural(n, "byte", "bytes"));
                if calls > 1 {
                    msg.push_str(&format!(" in {calls} send calls"));
                }
                out.emit(Item::Done(msg));
                Ok(Ret::none())
            }),
            out,
        )
    }

    pub(super) fn sendto(
        &mut self,
        r: &Spanned<SockRef>,
        data: &Spanned<Expr>,
        addr: &AddrExpr,
        flags: &[SendFlag],
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let bytes = self.data(data)?;
        let ctx = self.ctx(h)?;
        let target = self.address(addr, ctx.family, true)?;
        self.lab_route(h, &target, addr.span())?;
        if let Some(to) = target.as_socket() {
            // The datagram, and an ICMP error that may answer it, are
            // captured for `states` (the port is known before the call).
            self.start_capture();
            if let Some(c) = &self.capture {
                c.watch(to.port());
            }
        }
        self.note_str_encoding(data, out);
        let f = send_flags(flags);
        let data_span = data.span;
        self.call(
            ctx,
            Box::new(move |ctx: &Ctx, out: &mut dyn Sink| {
                // Stamped before the call, as a send is: the datagram it
                // sends comes after it (and the kernel's answer after that).
                let t0 = crate::wire::now_ns();
                let (n, waited) = ctx
                    .wait_call(
                        Wait {
                            events: libc::POLLOUT,
                            send: true,
                            nonblock_hint: "the send buffer is full and the socket is non-blocking",
                        },
                        |ctx| Item::Waiting {
                            call: format!("sendto(fd {})", ctx.h.fd),
                            what: "buffer space".into(),
                            queue: format!(
                                "send queue {} bytes",
                                table::send_queue(ctx.h.fd).unwrap_or(0)
                            ),
                        },
                        out,
                        |s| {
                            let made = crate::wire::now_ns();
                            let n =
                                s.send_to_with_flags(&bytes, &target, f | libc::MSG_DONTWAIT)?;
                            ctx.log_bytes_at(Dir::Sent, &bytes[..n], Some(&target), Some(made));
                            Ok(n)
                        },
                    )
                    .inspect(|(n, _)| {
                        if let Some(to) = target.as_socket() {
                            ctx.note(t0, crate::wire::CallKind::SendTo { len: *n, to });
                        }
                    })
                    .map_err(|x| {
                        if x.is_errno(libc::EMSGSIZE) {
                            x.at(data_span)
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
            }),
            out,
        )
    }
}

fn accept_work(ctx: &Ctx, out: &mut dyn Sink) -> Result<Ret, ExecError> {
    let ((sock, peer), waited) = ctx.wait_call(
        Wait {
            events: libc::POLLIN,
            send: false,
            nonblock_hint: "no connection is waiting in the accept queue, and the socket is non-blocking",
        },
        |ctx| Item::Waiting {
            call: format!("accept(fd {})", ctx.h.fd),
            what: format!("a client on {}", local_text(&ctx.sock)),
            queue: match accept_queue_of(&ctx.sock, ctx.family, ctx.kind) {
                Some((q, max)) => format!("accept queue {q}/{max}"),
                None => "accept queue empty".into(),
            },
        },
        out,
        |s| {
            // Not while the line editor opens its own (see fd_gate_wait).
            table::fd_gate_wait();
            s.accept()
        },
    )?;
    if let Some(w) = waited {
        out.emit(Item::Waited(w));
    }
    // Every socket of the shell lives non-blocking in the kernel (see
    // table.rs); set it here, on whatever thread accepted it.
    sock.set_nonblocking(true)?;
    let handle = SockHandle {
        fd: std::os::fd::AsRawFd::as_raw_fd(&sock),
        serial: table::next_serial(),
    };
    if let (Some(calls), Some((l, p))) = (&ctx.calls, table::conn_pair(&sock)) {
        calls.push(crate::wire::Call {
            t: crate::wire::now_ns(),
            local: l,
            peer: Some(p),
            who: format!("fd {}", handle.fd),
            id: handle.serial,
            kind: crate::wire::CallKind::Accepted,
        });
    }
    let from = if peer.as_socket().is_some()
        || peer.as_pathname().is_some()
        || peer.as_abstract_namespace().is_some()
    {
        addr_short(&peer)
    } else {
        "an unnamed client socket (it never bound a path)".to_string()
    };
    out.emit(Item::Done(format!(
        "accepted a connection from {from} as a new socket, fd {}",
        handle.fd
    )));
    let peer_v = addr_value(peer);
    let mut ret = Ret::two(Value::Socket(handle), peer_v);
    ret.adopt.push(Adopt {
        handle,
        sock,
        family: ctx.family,
        // SOCK_SEQPACKET listeners accept SOCK_SEQPACKET connections.
        kind: ctx.kind,
        origin: Origin::Accepted { listener: ctx.h.fd },
    });
    Ok(ret)
}

fn connect_work(ctx: &Ctx, target: &SockAddr, out: &mut dyn Sink) -> Result<Ret, ExecError> {
    let sock = &ctx.sock;
    let start = Instant::now();
    let mut waited = None;
    // The SYN leaves during the call: the call is noted from before it, by
    // the address the kernel gave the socket in it.
    let t0 = crate::wire::now_ns();
    let first = sock.connect(target);
    if let (Some(calls), Some(to)) = (&ctx.calls, target.as_socket())
        && ctx.kind == SockKind::Stream
    {
        let local = sock
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .unwrap_or_else(|| std::net::SocketAddr::new(to.ip(), 0));
        calls.push(crate::wire::Call {
            t: t0,
            local,
            peer: Some(to),
            who: ctx.label.clone(),
            id: ctx.h.serial,
            kind: crate::wire::CallKind::Connect,
        });
    }
    match first {
        Ok(()) => {}
        // EALREADY: an earlier connect (interrupted by Ctrl-C) is still
        // going on; a blocking socket's connect waits for it, as the
        // kernel's blocking connect does (with a timeout Python raises it).
        Err(err)
            if err.raw_os_error() == Some(libc::EINPROGRESS)
                || (err.raw_os_error() == Some(libc::EALREADY) && ctx.mode == Mode::Blocking)
                || (would_block(&err) && ctx.family == Family::Unix) =>
        {
            let unix_full = ctx.family == Family::Unix;
            if ctx.mode == Mode::NonBlocking {
                let mut x = ExecError::from(err);
                x.hint = Some(if unix_full {
                    "the listener's accept queue is full and the socket is non-blocking".into()
                } else {
                    "the handshake has started; the socket turns writable (select) when it completes".into()
                });
                return Err(x);
            }
            let (deadline, _) = deadline(ctx.mode, None, start);
            let quick = !unix_full
                && wait::wait_fd(
                    ctx.h.fd,
                    libc::POLLOUT,
                    Some(Instant::now() + Duration::from_millis(2)),
                    &ctx.cancel,
                )
                .is_ok();
            if !quick {
                out.emit(Item::Waiting {
                    call: format!("connect(fd {})", ctx.h.fd),
                    what: format!("the handshake with {}", addr_short(target)),
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
                        wait::sleep(Duration::from_millis(20), &ctx.cancel).map_err(stopped)?;
                        if deadline.is_some_and(|d| Instant::now() >= d) {
                            return Err(ExecError::timeout());
                        }
                        match sock.connect(target) {
                            Ok(()) => break,
                            Err(x) if would_block(&x) => continue,
                            Err(x) => return Err(x.into()),
                        }
                    }
                } else {
                    wait::wait_fd(ctx.h.fd, libc::POLLOUT, deadline, &ctx.cancel).map_err(|s| {
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
            if !unix_full {
                // Connect again once the socket is writable: the kernel
                // then reports the outcome (0, or the error) and finishes
                // the connect, so a later connect gets EISCONN and a
                // failed socket can connect anew, as a blocking one would.
                match sock.connect(target) {
                    Ok(()) => {}
                    Err(e) if e.raw_os_error() == Some(libc::EISCONN) => {}
                    Err(e) => return Err(ExecError::from(e)),
                }
            }
        }
        Err(err) => {
            let mut x = ExecError::from(err);
            if x.is_errno(libc::ENOENT) && ctx.family == Family::Unix {
                x.hint = Some("no socket file at that path: bind and listen on it first".into());
            }
            return Err(x);
        }
    }
    if let Some(w) = waited {
        out.emit(Item::Waited(w));
    }
    if ctx.kind == SockKind::Stream && ctx.family != Family::Unix {
        let mut c = ctx.clone();
        c.pair = table::conn_pair(sock);
        c.note(crate::wire::now_ns(), crate::wire::CallKind::Connected);
    }
    let local = sock
        .local_addr()
        .ok()
        .map(|a| addr_short(&a))
        .unwrap_or_default();
    let mut msg = format!("connected {}", ctx.label);
    if !local.is_empty() && local != "-" {
        msg.push_str(&format!(" from {local}"));
    }
    msg.push_str(&format!(" to {}", addr_short(target)));
    if ctx.family != Family::Unix
        && ctx.kind == SockKind::Stream
        && let Some(t) = table::tcp_info(sock)
    {
        msg.push_str(&format!(" ({})", table::tcp_state_name(t.state)));
    }
    out.emit(Item::Done(msg));
    if ctx.kind == SockKind::Dgram {
        out.emit(Item::Note(
            "a UDP connect sends nothing: it only fixes the peer, so send/recv work and datagrams from others are dropped".into(),
        ));
    }
    Ok(Ret::none())
}

/// An error (a reset) waits on the socket, and nothing is left to read
/// before it.
pub(super) fn error_pending(fd: i32) -> bool {
    table::poll_now(fd) & libc::POLLERR != 0 && table::recv_queue(fd).unwrap_or(0) == 0
}

/// A socket the shell does not hold yet (a job's accept), described from
/// the socket itself.
pub(crate) fn describe_adopt(a: &Adopt) -> super::SockDesc {
    describe_socket(a.handle.fd, &a.sock, a.family, a.kind, Vec::new())
}

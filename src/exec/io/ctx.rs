//! The detached half of the waiting calls: [`Ctx`] (a socket, its mode,
//! the cancel flags, cut loose from the session so that it can run on a
//! background job's thread), the wait in slices with its progress line, the
//! sending loop, and the errors put in context. Apart from io.rs, which
//! keeps the session's half (find the socket, check the arguments, say
//! what is queued) and the accept and connect work, because recv.rs and the
//! watched programs' reports use this half without the session.

use crate::exec::bounds::Boundaries;

use crate::errors::ExecError;
use crate::exec::{Item, Ret, Sink};
use crate::proto::log::Dir;
use crate::syntax::ast::{Family, SendFlag, SockKind};
use crate::table::{self, Mode};
use crate::value::{SockHandle, Value, addr_short};
use crate::wait::{self, Cancel, Stopped};
use socket2::{SockAddr, Socket};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a long wait on a terminal refreshes its progress line.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// What a waiting call needs, detached from the session (Send).
#[derive(Clone)]
pub(crate) struct Ctx {
    pub h: SockHandle,
    pub sock: Arc<Socket>,
    pub mode: Mode,
    pub family: Family,
    pub kind: SockKind,
    pub label: String,
    pub cancel: Cancel,
    /// The socket at the other end, when this shell holds it: (fd, name).
    pub peer: Option<(i32, String)>,
    pub bounds: Arc<Mutex<Boundaries>>,
    /// It has had a peer / its writing side was shut down / it was reset
    /// (for hints).
    pub was_connected: bool,
    pub shut_write: bool,
    pub was_reset: bool,
    /// A TCP connection's (local, peer) addresses (message boundaries are
    /// kept by them).
    pub pair: Option<(SocketAddr, SocketAddr)>,
    /// `listen` was called on it.
    pub listening: bool,
    /// The other end is a socket of this shell that has neither closed nor
    /// shut down its writing side (so this one is not in CLOSE_WAIT).
    pub peer_open: bool,
    /// Where the call is recorded for `states` and `diagram` (None when
    /// the script never asks for them).
    pub calls: Option<crate::wire::Calls>,
    /// Bytes held for the next receive (see [`crate::proto::held`]).
    pub held: crate::proto::held::SharedHeld,
    /// The traffic log (`log FILE`), when it is on.
    pub log: crate::proto::log::SharedLog,
}

impl Ctx {
    /// Records this socket's call, made at `t` (see [`crate::wire::calls`]).
    pub(crate) fn note(&self, t: crate::wire::Nanos, kind: crate::wire::CallKind) {
        let Some(calls) = &self.calls else { return };
        let (local, peer) = match self.pair {
            Some((l, p)) => (Some(l), Some(p)),
            None => (
                self.sock.local_addr().ok().and_then(|a| a.as_socket()),
                self.sock.peer_addr().ok().and_then(|a| a.as_socket()),
            ),
        };
        if let Some(local) = local {
            calls.push(crate::wire::Call {
                t,
                local,
                peer,
                who: self.label.clone(),
                id: self.h.serial,
                kind,
            });
        }
    }
}

/// The half of a call that may wait.
pub(crate) type Work = Box<dyn FnOnce(&Ctx, &mut dyn Sink) -> Result<Ret, ExecError> + Send>;

pub(in crate::exec) fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

/// The error of a wait that ended without its event.
pub(crate) fn stopped(s: Stopped) -> ExecError {
    match s {
        Stopped::TimedOut => ExecError::timeout(),
        Stopped::Interrupted => ExecError::interrupted(),
    }
}

/// recv into a fresh buffer of `size` bytes; returns the bytes and the
/// length the kernel reported (larger than the buffer for a truncated
/// datagram when MSG_TRUNC is given).
pub(crate) fn recv_buf(sock: &Socket, size: usize, flags: i32) -> io::Result<(Vec<u8>, usize)> {
    let mut buf = recv_space(sock, size, flags)?;
    let cap = buf.capacity();
    // MSG_DONTWAIT: the shell waits with poll, never in the kernel, even on
    // a socket that another process has made blocking (O_NONBLOCK belongs
    // to the socket, shared by every descriptor of it, in every process).
    let n = sock.recv_with_flags(buf.spare_capacity_mut(), flags | libc::MSG_DONTWAIT)?;
    // SAFETY: the kernel initialised the first min(n, cap) bytes.
    unsafe { buf.set_len(n.min(cap)) };
    fit(&mut buf);
    Ok((buf, n))
}

/// Room for what one recv of at most `size` bytes can return now: what is
/// queued (the next datagram, for a datagram socket), at least 64 KiB,
/// never more than `size`. `recv c 256M` with 5 bytes queued takes 64 KiB,
/// not 256 MiB (the sockets are non-blocking: a call returns what is
/// there). The room is asked for without aborting when there is none.
pub(in crate::exec) fn recv_space(sock: &Socket, size: usize, flags: i32) -> io::Result<Vec<u8>> {
    const FLOOR: usize = 64 * 1024;
    // A small size is taken as it is (no ioctl for the common recv c 1024).
    let queued = if size <= FLOOR || flags & libc::MSG_OOB != 0 {
        0
    } else {
        table::recv_queue(std::os::fd::AsRawFd::as_raw_fd(sock)).unwrap_or(0) as usize
    };
    let want = size.min(queued.max(FLOOR));
    let mut buf: Vec<u8> = Vec::new();
    buf.try_reserve_exact(want)
        .map_err(|_| io::Error::from_raw_os_error(libc::ENOMEM))?;
    Ok(buf)
}

/// A received value keeps only the memory it uses.
pub(in crate::exec) fn fit(buf: &mut Vec<u8>) {
    if buf.capacity() - buf.len() > 4096 {
        buf.shrink_to_fit();
    }
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

/// The deadline a call gets from the socket's mode (and whether it is the
/// kernel timeout a real blocking call would honour).
pub(super) fn deadline(
    mode: Mode,
    kernel: Option<Duration>,
    start: Instant,
) -> (Option<Instant>, bool) {
    match mode {
        Mode::Timeout(d) => (Some(start + d), false),
        Mode::Blocking => (kernel.map(|k| start + k), kernel.is_some()),
        Mode::NonBlocking => (Some(start), false),
    }
}

/// A value to show for an address, as Python gives it: an unnamed UNIX
/// socket is '' when the kernel gave its family (accept, getpeername) and
/// None when it gave nothing (recvfrom).
pub(crate) fn addr_value(a: SockAddr) -> Value {
    let named =
        a.as_socket().is_some() || a.as_pathname().is_some() || a.as_abstract_namespace().is_some();
    if named {
        Value::Addr(a)
    } else if a.family() == libc::AF_UNIX as libc::sa_family_t && a.len() > 0 {
        Value::Str(String::new().into())
    } else {
        Value::None
    }
}

pub(in crate::exec) fn local_text(sock: &Socket) -> String {
    sock.local_addr()
        .map(|a| addr_short(&a))
        .unwrap_or_else(|_| "?".into())
}

/// (queued connections, limit) of a TCP listener.
pub(crate) fn accept_queue_of(sock: &Socket, family: Family, kind: SockKind) -> Option<(u32, u32)> {
    if family == Family::Unix || kind != SockKind::Stream {
        return None;
    }
    let t = table::tcp_info(sock)?;
    (t.state == 10).then_some((t.unacked, t.sacked))
}

/// What is known of a socket when one of its calls fails, for a better
/// hint (the shell's sockets and a watched program's alike).
pub(crate) struct ErrorContext<'a> {
    pub label: &'a str,
    pub kind: SockKind,
    /// It has (or has had) a peer.
    pub connected: bool,
    pub shut_write: bool,
    pub was_reset: bool,
}

/// A better hint for an error, knowing the socket it happened on.
pub(crate) fn hint_in_context(mut x: ExecError, c: &ErrorContext<'_>) -> ExecError {
    if x.is_errno(libc::EPIPE) && c.shut_write {
        x.hint = Some(format!(
            "{} shut down its own writing side (shutdown write): it can still recv, but not send",
            c.label
        ));
    } else if x.is_errno(libc::EPIPE) && c.was_reset {
        x.hint = Some(
            "the peer reset this connection (the ConnectionResetError before): a reset connection is dead, \
             every send fails with EPIPE"
                .into(),
        );
    } else if x.is_errno(libc::EPIPE) && !c.connected {
        x.hint = Some(
            "this socket is not connected: connect it first (a TCP send without a connection fails with EPIPE)".into(),
        );
    } else if x.is_errno(libc::ECONNRESET) {
        x.hint = Some(
            "the peer reset the connection: it closed with data unread (or with SO_LINGER 0), so its kernel sent RST; \
             this socket is now dead"
                .into(),
        );
    } else if x.is_errno(libc::EACCES) && c.kind == SockKind::Dgram {
        x.hint = Some(format!(
            "sending to a broadcast address needs permission first: setsockopt {} SO_BROADCAST 1",
            c.label
        ));
    } else if x.is_errno(libc::ECONNREFUSED) && c.kind == SockKind::Dgram {
        x.hint = Some(
            "an earlier datagram to that port came back as ICMP port unreachable: nothing listens there; \
             a connected UDP socket reports it on its next call"
                .into(),
        );
    }
    x
}

impl Ctx {
    /// The connection was reset and is dead: a call failed with
    /// ECONNRESET before, or the kernel says CLOSED for a connected TCP
    /// socket that did not shut down its writing (see
    /// [`crate::table::Entry::reset_dead`]). Asked of the kernel only
    /// when a note depends on it.
    pub(in crate::exec) fn reset_now(&self) -> bool {
        self.was_reset
            || (self.kind == SockKind::Stream
                && self.family != Family::Unix
                && self.pair.is_some()
                && !self.listening
                && !self.shut_write
                && table::tcp_info(&self.sock).is_some_and(|t| t.state == table::TCP_CLOSED))
    }

    /// A better hint for an error, knowing the socket it happened on.
    pub(crate) fn in_context(&self, x: ExecError) -> ExecError {
        let connected = self.was_connected || self.sock.peer_addr().is_ok();
        hint_in_context(
            x,
            &ErrorContext {
                label: &self.label,
                kind: self.kind,
                connected,
                shut_write: self.shut_write,
                was_reset: self.was_reset,
            },
        )
    }

    /// True for a TCP socket whose peer has closed (CLOSE_WAIT).
    pub(in crate::exec) fn peer_closed(&self) -> bool {
        !self.peer_open
            && self.family != Family::Unix
            && self.kind == SockKind::Stream
            && table::tcp_info(&self.sock).is_some_and(|t| t.state == 8)
    }

    /// Calls `attempt` until it does not report EAGAIN, waiting for `events`
    /// in between as the socket's mode allows. `waiting` describes the wait
    /// (announced once, before it starts). Returns the result and how long
    /// it waited (None when it did not wait).
    pub(in crate::exec) fn wait_call<T>(
        &self,
        how: Wait<'_>,
        waiting: impl FnOnce(&Ctx) -> Item,
        out: &mut dyn Sink,
        mut attempt: impl FnMut(&Socket) -> io::Result<T>,
    ) -> Result<(T, Option<Duration>), ExecError> {
        match attempt(&self.sock) {
            Ok(v) => return Ok((v, None)),
            Err(err) if !would_block(&err) => return Err(self.in_context(err.into())),
            Err(_) => {}
        }
        if self.mode == Mode::NonBlocking {
            return Err(ExecError::os(libc::EAGAIN).hint(how.nonblock_hint.to_string()));
        }
        let start = Instant::now();
        let (deadline, kernel) = deadline(self.mode, kernel_timeout(&self.sock, how.send), start);
        out.emit(waiting(self));
        loop {
            match wait::wait_fd(self.h.fd, how.events, deadline, &self.cancel) {
                Ok(_) => {}
                Err(Stopped::TimedOut) if kernel => {
                    let which = if how.send {
                        "SO_SNDTIMEO"
                    } else {
                        "SO_RCVTIMEO"
                    };
                    return Err(ExecError::os(libc::EAGAIN).hint(format!(
                        "the socket's {which} passed: a blocking call with a kernel timeout fails with EAGAIN"
                    )));
                }
                Err(s) => return Err(stopped(s)),
            }
            match attempt(&self.sock) {
                Ok(v) => return Ok((v, Some(start.elapsed()))),
                Err(err) if !would_block(&err) => return Err(self.in_context(err.into())),
                Err(_) => {}
            }
        }
    }

    fn send_waiting(&self, sent: usize, total: usize) -> String {
        let sq = table::send_queue(self.h.fd).unwrap_or(0);
        let mut queue = format!("send queue {} bytes", sq);
        if let Some((fd, name)) = &self.peer {
            let rq = table::recv_queue(*fd).unwrap_or(0);
            queue.push_str(&format!(", {name}'s receive queue {rq} bytes"));
        }
        if sent > 0 {
            format!("{sent} of {total} bytes sent - {queue}")
        } else {
            queue
        }
    }

    /// Sends `data`: for a blocking stream socket (and for sendall) it goes
    /// on until every byte is taken, as the kernel's blocking send does;
    /// otherwise one call. Returns (bytes sent, time waited, send calls).
    pub(crate) fn send_bytes(
        &self,
        data: &[u8],
        flags: i32,
        all: bool,
        out: &mut dyn Sink,
    ) -> Result<(usize, Option<Duration>, usize), ExecError> {
        let stream = self.kind == SockKind::Stream;
        let nonblock = self.mode == Mode::NonBlocking || flags & libc::MSG_DONTWAIT != 0;
        let start = Instant::now();
        // SO_SNDTIMEO is asked for only when a send has to wait.
        let mut limits: Option<(Option<Instant>, bool)> = None;
        let mut sent = 0usize;
        let mut calls = 0usize;
        let mut announced = false;
        let mut last_progress = Instant::now();
        // What stops the loop with an error; the bytes sent before it still
        // count as a send (for the message boundaries).
        let mut failure: Option<ExecError> = None;
        // Before the data goes out, for `diagram`.
        let t0 = crate::wire::now_ns();
        // The send is recorded when it returns, a moment after its bytes
        // arrive: a watched program receiving them on another thread (its
        // report read by the tracker) waits for the record instead of
        // finding none and naming no send (`recv` instead of `recv took #1`
        // in the diagram, one run in a few under load).
        if stream
            && flags & libc::MSG_OOB == 0
            && let Some((l, p)) = self.pair
            && let Ok(mut b) = self.bounds.lock()
        {
            b.expect_reports(l, p);
        }
        loop {
            calls += 1;
            // The log stamps a send when it was made (see record_at).
            let made = crate::wire::now_ns();
            match self
                .sock
                .send_with_flags(&data[sent..], flags | libc::MSG_DONTWAIT)
            {
                Ok(n) => {
                    self.log_bytes_at(Dir::Sent, &data[sent..sent + n], None, Some(made));
                    sent += n;
                    // A blocking stream send (or sendall) continues until
                    // all is sent; a timeout-mode send returns what one
                    // call took, as Python's does.
                    let go_on = stream
                        && sent < data.len()
                        && (all || (self.mode == Mode::Blocking && !nonblock));
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
                        failure = Some(x);
                        break;
                    }
                    if !announced {
                        announced = true;
                        out.emit(Item::Waiting {
                            call: format!("send(fd {})", self.h.fd),
                            what: send_wait_what(self.peer.as_ref().map(|p| p.0)),
                            queue: self.send_waiting(sent, data.len()),
                        });
                    } else if last_progress.elapsed() >= PROGRESS_EVERY {
                        last_progress = Instant::now();
                        out.emit(Item::Progress(format!(
                            "send(fd {}) waits: {}",
                            self.h.fd,
                            self.send_waiting(sent, data.len())
                        )));
                    }
                    let (deadline, kernel) = *limits.get_or_insert_with(|| {
                        deadline(self.mode, kernel_timeout(&self.sock, true), start)
                    });
                    // Wake at least every PROGRESS_EVERY to refresh the
                    // progress line.
                    let slice = Instant::now() + PROGRESS_EVERY;
                    let until = Some(deadline.map_or(slice, |d| d.min(slice)));
                    match wait::wait_fd(self.h.fd, libc::POLLOUT, until, &self.cancel) {
                        Ok(_) => {}
                        Err(Stopped::TimedOut) if deadline.is_none_or(|d| Instant::now() < d) => {}
                        Err(Stopped::TimedOut) if kernel => {
                            if sent > 0 {
                                break;
                            }
                            failure = Some(
                                ExecError::os(libc::EAGAIN).hint("the socket's SO_SNDTIMEO passed"),
                            );
                            break;
                        }
                        Err(s) => {
                            let mut x = stopped(s);
                            if sent > 0 {
                                x.hint = Some(format!(
                                    "{sent} of {} bytes had been handed to the kernel before it stopped",
                                    data.len()
                                ));
                            }
                            failure = Some(x);
                            break;
                        }
                    }
                }
                Err(err) => {
                    if sent > 0 && !all {
                        break;
                    }
                    failure = Some(self.in_context(err.into()));
                    break;
                }
            }
        }
        // Urgent data does not join the byte stream (without SO_OOBINLINE),
        // so it is no message of the stream either.
        if stream
            && sent > 0
            && flags & libc::MSG_OOB == 0
            && let Some((l, p)) = self.pair
            && let Ok(mut b) = self.bounds.lock()
        {
            b.name_sender(l, p, crate::exec::bounds::Sender::Shell(self.label.clone()));
            let no = b.sent(l, p, sent);
            b.settled(l, p);
            drop(b);
            self.note(t0, crate::wire::CallKind::Send { no, len: sent, all });
        } else if !stream
            && sent > 0
            && let Some(to) = self.sock.peer_addr().ok().and_then(|a| a.as_socket())
        {
            self.note(t0, crate::wire::CallKind::SendTo { len: sent, to });
        }
        if sent == 0
            && let Some((l, p)) = self.pair
            && let Ok(mut b) = self.bounds.lock()
        {
            b.settled(l, p);
        }
        if let Some(x) = failure {
            return Err(x);
        }
        Ok((sent, announced.then(|| start.elapsed()), calls))
    }
}

/// What a waiting call waits for.
pub(in crate::exec) struct Wait<'a> {
    /// poll() events that mean "try again".
    pub events: libc::c_short,
    /// A send (SO_SNDTIMEO applies) rather than a receive (SO_RCVTIMEO).
    pub send: bool,
    /// Said when a non-blocking socket would have had to wait.
    pub nonblock_hint: &'a str,
}

/// What a send waits for when the send buffer is full, and why: the
/// peer not reading (its receive queue is full, so its window is shut),
/// or, when the peer is a socket of this shell whose receive queue has
/// room, the network still carrying what was sent (a lab link's rate or
/// delay: the bytes are on their way, and the reader is not to blame).
pub(in crate::exec) fn send_wait_what(peer_fd: Option<i32>) -> String {
    let in_flight = peer_fd.is_some_and(|fd| {
        let rq = table::recv_queue(fd).unwrap_or(0);
        let mut buf: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: SO_RCVBUF writes one int into a buffer of its size.
        let ok = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&mut buf as *mut libc::c_int).cast(),
                &mut len,
            )
        } == 0;
        ok && buf > 0 && u64::from(rq) < (buf as u64) / 4
    });
    if in_flight {
        "buffer space (what was sent is still on its way: the network carries it slower than it is sent)".into()
    } else {
        "buffer space (the peer is not reading fast enough)".into()
    }
}

pub(super) fn send_flags(flags: &[SendFlag]) -> i32 {
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

//! The receiving calls that may wait: `recv` and `recvfrom` (the first
//! half on the session, the second a [`Work`] on a [`Ctx`], as in
//! [`super::io`]), and what is said after a receive: bytes held from an
//! earlier receive first, the sends a recv took (sticky packets), a cut
//! datagram, the end of the stream. `recvuntil` and its kin build on the
//! same pieces (src/proto).

use super::bounds::Piece;
use super::explain::{Ends, Moment};
use super::io::{
    Ctx, Wait, addr_value, error_pending, fit, local_text, recv_buf, recv_space, would_block,
};
use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::proto::log::Dir;
use crate::syntax::ast::{Expr, RecvFlag, SockKind, SockRef, Spanned, View};
use crate::table;
use crate::value::{Value, addr_short};

use crate::value::plural;
use socket2::{SockAddr, Socket};
use std::io;
use std::time::Duration;

const DEFAULT_RECV: i64 = 1024;

fn recv_from_buf(sock: &Socket, size: usize, flags: i32) -> io::Result<(Vec<u8>, usize, SockAddr)> {
    let mut buf = recv_space(sock, size, flags)?;
    let cap = buf.capacity();
    // MSG_DONTWAIT: as in recv_buf (a program may have made the socket
    // blocking).
    let (n, addr) =
        sock.recv_from_with_flags(buf.spare_capacity_mut(), flags | libc::MSG_DONTWAIT)?;
    // SAFETY: as in recv_buf.
    unsafe { buf.set_len(n.min(cap)) };
    fit(&mut buf);
    Ok((buf, n, addr))
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

/// What a recv waits for, from the socket's kind and addresses.
pub(crate) fn recv_wait_what(kind: SockKind, peer: Option<&SockAddr>, local: &str) -> String {
    match (kind, peer) {
        (SockKind::Stream, Some(p)) if table::is_bound(p) => format!("data from {}", addr_short(p)),
        (SockKind::Stream, Some(_)) => "data from the peer (an unnamed socket)".into(),
        (SockKind::SeqPacket, _) => "a message from the peer".into(),
        (SockKind::Raw, _) => format!("a packet on {local}"),
        (SockKind::Dgram, Some(p)) => format!("a datagram from {}", addr_short(p)),
        (SockKind::Dgram, None) => format!("a datagram on {local}"),
        (SockKind::Stream, None) => "data".into(),
    }
}

pub(super) fn recv_waiting(ctx: &Ctx, from: bool) -> Item {
    let peer = ctx.sock.peer_addr().ok();
    let what = recv_wait_what(ctx.kind, peer.as_ref(), &local_text(&ctx.sock));
    Item::Waiting {
        call: format!(
            "{}(fd {})",
            if from { "recvfrom" } else { "recv" },
            ctx.h.fd
        ),
        what,
        queue: "receive queue empty".into(),
    }
}

/// Notes shown after the received value, and the sends its bytes came from.
/// `left`: the bytes still queued when the caller knows it without asking
/// the kernel (what was queued before a recv that did not wait, less what
/// it took).
fn after_recv(
    ctx: &Ctx,
    bytes: usize,
    real: usize,
    size: usize,
    flags: i32,
    left: Option<u32>,
) -> (Vec<Item>, Vec<Piece>) {
    let peek = flags & libc::MSG_PEEK != 0;
    let oob = flags & libc::MSG_OOB != 0;
    if !oob && ctx.kind == SockKind::Stream && !peek && bytes == 0 && size > 0 {
        // b'' is recorded here; received bytes below, with their sends.
        ctx.note(
            crate::wire::now_ns(),
            crate::wire::CallKind::Recv {
                sends: Vec::new(),
                len: 0,
            },
        );
    }
    let mut pieces = Vec::new();
    if !oob
        && ctx.kind == SockKind::Stream
        && bytes > 0
        && let Some((l, p)) = ctx.pair
    {
        pieces = super::bounds::received_synced(&ctx.bounds, l, p, bytes, peek);
        if !peek {
            ctx.note(
                crate::wire::now_ns(),
                crate::wire::CallKind::Recv {
                    sends: pieces.iter().map(|p| p.send_no).collect(),
                    len: bytes,
                },
            );
        }
    }
    let fd = ctx.h.fd;
    let out = recv_notes(
        &RecvFacts {
            kind: ctx.kind,
            // Asked of the kernel only for a b''.
            reset: ctx.kind == SockKind::Stream && bytes == 0 && size > 0 && ctx.reset_now(),
            ends: recv_ends(ctx, pieces.len() > 1),
            bytes,
            real,
            size,
            flags,
        },
        &pieces,
        &mut || left.or_else(|| table::recv_queue(fd)),
    );
    (out, pieces)
}

/// The ends of a shell's recv, for the advice on merged sends (`merged`:
/// only then is the sender looked up): the sender is the socket at the
/// other end when the shell holds it, else whoever the boundaries say sent
/// (a watched program's socket, by its name there).
fn recv_ends(ctx: &Ctx, merged: bool) -> Ends {
    let mut ends = Ends {
        sender: ctx.peer.as_ref().map(|(_, label)| label.clone()),
        receiver: Some(ctx.label.clone()),
        ..Ends::default()
    };
    if merged
        && ends.sender.is_none()
        && let Some((l, p)) = ctx.pair
        && let Some(who) = ctx.bounds.lock().ok().and_then(|b| b.sender(p, l))
    {
        match who {
            super::bounds::Sender::Shell(k) => ends.sender = Some(k),
            super::bounds::Sender::Program(name) => ends.sender_py = Some(name),
        }
    }
    ends
}

/// What a recv did, for its notes.
pub(crate) struct RecvFacts {
    pub kind: SockKind,
    /// The connection was reset (its b'' is not the peer's FIN).
    pub reset: bool,
    /// The sockets at both ends, for the advice on merged sends: the
    /// sender when the shell holds it, the receiver when it is the shell's.
    pub ends: Ends,
    /// Bytes returned, and the datagram's (or message's) real length
    /// (larger when cut).
    pub bytes: usize,
    pub real: usize,
    /// The size asked for.
    pub size: usize,
    pub flags: i32,
}

/// The notes after a received value: the end of the stream, a cut
/// datagram, sends merged or split (`pieces`: the sends the bytes came
/// from), a peek, and the bytes still queued (`queued`, asked only when
/// needed). The shell's recvs and a watched program's say the same.
pub(crate) fn recv_notes(
    f: &RecvFacts,
    pieces: &[Piece],
    queued: &mut dyn FnMut() -> Option<u32>,
) -> Vec<Item> {
    let (bytes, real, size, flags) = (f.bytes, f.real, f.size, f.flags);
    let peek = flags & libc::MSG_PEEK != 0;
    let mut out = Vec::new();
    if flags & libc::MSG_OOB != 0 {
        // Urgent data is no part of the stream: no boundaries to show.
        out.push(Item::Note(
            "urgent (OOB) data: one byte beside the stream; the normal bytes around it are untouched".into(),
        ));
        return out;
    }
    if f.kind == SockKind::Stream && bytes == 0 && size > 0 && f.reset {
        // Not the peer's FIN: the end of a connection that was reset.
        out.push(Item::Note(
            "b'': this connection was reset (RST) and is dead: every recv from now on returns b'', every send fails; close it"
                .into(),
        ));
        return out;
    }
    if f.kind == SockKind::Stream && bytes == 0 && size > 0 {
        out.push(Item::Note(
            "b'' is end of stream: the peer closed (or shut down) its sending side; every recv from now on returns b''".into(),
        ));
        out.push(Item::Moment(Moment::EndOfStream, Ends::none()));
        return out;
    }
    if f.kind.keeps_boundaries() && real > bytes {
        out.push(Item::Warn(if f.kind == SockKind::SeqPacket {
            format!(
                "message of {real} bytes truncated to {bytes}: {} lost (SOCK_SEQPACKET delivers a message whole or cut, never in parts)",
                plural(real - bytes, "byte", "bytes")
            )
        } else {
            format!(
                "datagram of {real} bytes truncated to {bytes}: {} lost (UDP delivers a datagram whole or cut, never in parts)",
                plural(real - bytes, "byte", "bytes")
            )
        }));
        out.push(Item::Moment(Moment::Truncated, Ends::none()));
    }
    if f.kind == SockKind::Stream && bytes > 0 {
        let sends: Vec<u64> = pieces.iter().map(|p| p.send_no).collect();
        if pieces.len() > 1 {
            out.push(Item::Note(format!(
                "{} sends merged into one recv (sends #{}): TCP keeps no message boundaries",
                pieces.len(),
                sends
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", #")
            )));
            // The sends came from the socket at the other end: the
            // advice names it when this shell holds it.
            out.push(Item::Moment(Moment::Sticky, f.ends.clone()));
        }
        if let Some(last) = pieces.last() {
            let end = last.offset + last.len;
            if end < last.send_len && !peek {
                out.push(Item::Note(format!(
                    "send #{} split: {} of {} bytes returned, {} still queued",
                    last.send_no,
                    end,
                    last.send_len,
                    plural(last.send_len - end, "byte", "bytes")
                )));
            }
        }
        if pieces.len() == 1
            && pieces[0].offset > 0
            && pieces[0].offset + pieces[0].len == pieces[0].send_len
            && !peek
        {
            out.push(Item::Note(format!(
                "the rest of send #{}: its last {}",
                pieces[0].send_no,
                plural(pieces[0].len, "byte", "bytes")
            )));
        }
    }
    if peek {
        out.push(Item::Note(
            "peeked: these bytes are still queued; the next recv returns them again".into(),
        ));
        return out;
    }
    let split_noted = pieces.last().is_some_and(|l| l.offset + l.len < l.send_len);
    if f.kind == SockKind::Stream
        && !split_noted
        && let Some(rem) = queued().filter(|&n| n > 0)
    {
        out.push(Item::Note(format!(
            "{} still queued",
            plural(rem as usize, "more byte", "more bytes")
        )));
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn recv_work(
    ctx: &Ctx,
    size: usize,
    f: i32,
    waitall: bool,
    dontwait: bool,
    view: View,
    queued: u32,
    out: &mut dyn Sink,
) -> Result<Ret, ExecError> {
    let nonblock_hint =
        "nothing is queued and the socket is non-blocking (with settimeout it would wait)";
    let peek = f & libc::MSG_PEEK != 0;
    // Bytes held from an earlier recvuntil come first (urgent data is
    // beside the stream, so not for it).
    let pre = if f & libc::MSG_OOB == 0 {
        take_held(ctx, size, peek)
    } else {
        Default::default()
    };
    let mut total: Vec<u8> = pre.bytes.clone();
    let mut real = 0;
    let mut waited_total: Option<Duration> = None;
    if !pre.is_empty() && total.len() < size && !ctx.kind.keeps_boundaries() {
        // The kernel's queue after them, as one recv would take it; no
        // wait (unless waitall, below).
        if table::recv_queue(ctx.h.fd).unwrap_or(0) > 0
            && let Ok((buf, n)) = recv_buf(&ctx.sock, size - total.len(), f | libc::MSG_DONTWAIT)
        {
            if !peek {
                ctx.log_bytes(Dir::Received, &buf, None);
            }
            real = n;
            total.extend_from_slice(&buf);
        }
    }
    let mut first = true;
    loop {
        if !pre.is_empty() && first {
            first = false;
            if !waitall || peek || total.len() >= size || ctx.kind.keeps_boundaries() {
                break;
            }
        }
        let want = size - total.len();
        let ((buf, n), waited) = if dontwait {
            match recv_buf(&ctx.sock, want, f | libc::MSG_DONTWAIT) {
                Ok(v) => (v, None),
                // waitall without waiting: what came is the answer.
                Err(err) if would_block(&err) && !total.is_empty() => break,
                Err(err) if would_block(&err) => {
                    return Err(ExecError::os(libc::EAGAIN).hint(nonblock_hint));
                }
                Err(err) => return Err(ctx.in_context(err.into())),
            }
        } else {
            let pri = if f & libc::MSG_OOB != 0 {
                libc::POLLPRI
            } else {
                0
            };
            let have = !total.is_empty();
            ctx.wait_call(
                Wait {
                    events: libc::POLLIN | pri,
                    send: false,
                    nonblock_hint,
                },
                |ctx| recv_waiting(ctx, false),
                out,
                |s| {
                    // MSG_WAITALL with bytes in hand and the connection
                    // failed (reset): the kernel returns those bytes and
                    // leaves the error for the next call; so do we (a recv
                    // would take the error and lose the bytes).
                    if have && error_pending(ctx.h.fd) {
                        return Ok((Vec::new(), 0));
                    }
                    recv_buf(s, want, f)
                },
            )?
        };
        if let Some(w) = waited {
            waited_total = Some(waited_total.unwrap_or_default() + w);
        }
        if !peek {
            ctx.log_bytes(Dir::Received, &buf, None);
        }
        let got = buf.len();
        real = real.max(n);
        if total.is_empty() {
            total = buf;
        } else {
            total
                .try_reserve(got)
                .map_err(|_| crate::value::no_room(total.len() + got))?;
            total.extend_from_slice(&buf);
        }
        // MSG_WAITALL: a blocking socket waits for the whole size.
        if !waitall || got == 0 || total.len() >= size || f & libc::MSG_PEEK != 0 {
            break;
        }
    }
    if let Some(w) = waited_total {
        out.emit(Item::Waited(w));
    }
    // One call that did not wait took bytes that were queued already: the
    // rest is known without asking again (urgent data is not in the count).
    let left = (waited_total.is_none() && f & libc::MSG_OOB == 0)
        .then(|| u32::try_from(total.len()).ok())
        .flatten()
        .filter(|&t| t <= queued)
        .map(|t| queued - t);
    let (after, pieces) = after_recv_held(ctx, &pre, total.len(), real, size, f, left);
    let mut ret = Ret::one(Value::Bytes(total.into()));
    ret.view = view;
    ret.after = after;
    ret.pieces = pieces;
    Ok(ret)
}

/// Takes (or peeks at) up to `size` held bytes of a socket.
pub(crate) fn take_held(ctx: &Ctx, size: usize, peek: bool) -> crate::proto::held::Attributed {
    ctx.held
        .lock()
        .map(|mut h| h.take(size, peek))
        .unwrap_or_default()
}

/// [`after_recv`] for a receive whose first bytes were held ones (`pre`):
/// their sends come first, and the notes count them.
fn after_recv_held(
    ctx: &Ctx,
    pre: &crate::proto::held::Attributed,
    bytes: usize,
    real: usize,
    size: usize,
    flags: i32,
    left: Option<u32>,
) -> (Vec<Item>, Vec<Piece>) {
    if pre.is_empty() {
        return after_recv(ctx, bytes, real, size, flags, left);
    }
    let kernel = bytes - pre.len();
    let (mut after, pieces) = if kernel > 0 {
        after_recv(ctx, kernel, real, size, flags, left)
    } else {
        (Vec::new(), Vec::new())
    };
    let mut all = pre.clone();
    all.append(crate::proto::held::Attributed::new(Vec::new(), pieces));
    let still = ctx.held.lock().map_or(0, |h| h.len());
    if flags & libc::MSG_PEEK != 0 && kernel == 0 {
        after.push(Item::Note(
            "peeked: these bytes are still held; the next recv returns them again".into(),
        ));
    } else if still > 0 {
        after.push(Item::Note(format!(
            "{} still held for the next receive",
            plural(still, "more byte is", "more bytes are")
        )));
    }
    (after, all.pieces)
}

/// What a raw IPv4 socket's packet starts with, in words: its IP header
/// (and, for ICMP, the message type).
fn ip_header_note(b: &[u8]) -> Option<String> {
    let first = *b.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(first & 0x0f) * 4;
    if ihl < 20 || b.len() < ihl {
        return None;
    }
    let proto = b[9];
    let src = std::net::Ipv4Addr::new(b[12], b[13], b[14], b[15]);
    let dst = std::net::Ipv4Addr::new(b[16], b[17], b[18], b[19]);
    let name = match i32::from(proto) {
        libc::IPPROTO_ICMP => "ICMP",
        libc::IPPROTO_TCP => "TCP",
        libc::IPPROTO_UDP => "UDP",
        _ => "protocol",
    };
    let mut s = format!(
        "the first {ihl} bytes are the IP header: from {src} to {dst}, TTL {}, {name} ({proto}), total length {}",
        b[8],
        u16::from_be_bytes([b[2], b[3]])
    );
    if i32::from(proto) == libc::IPPROTO_ICMP
        && let Some(&t) = b.get(ihl)
    {
        let what = match t {
            0 => "echo reply (the answer to a ping)",
            3 => "destination unreachable",
            8 => "echo request (a ping)",
            11 => "time exceeded",
            _ => "another ICMP message",
        };
        s.push_str(&format!("; then ICMP type {t}: {what}"));
    }
    Some(s)
}

/// `.decode()` after a recv: the bytes received become a str, or Python's
/// UnicodeDecodeError (the bytes are gone from the queue either way, as in
/// Python).
fn decoded(mut ret: Ret) -> Result<Ret, ExecError> {
    if let Some(v @ Value::Bytes(_)) = ret.values.first_mut() {
        let Value::Bytes(b) = std::mem::replace(v, Value::None) else {
            return Ok(ret);
        };
        match String::from_utf8(b.into_vec()?) {
            Ok(s) => *v = Value::Str(s.into()),
            Err(e) => {
                return Err(ExecError::new(
                    "UnicodeDecodeError",
                    crate::value::utf8_error_text(e.as_bytes(), e.utf8_error()),
                )
                .hint(format!(
                    "the {} received {} not UTF-8 text; receive without .decode() to see them",
                    crate::value::bytes_count(e.as_bytes().len()),
                    if e.as_bytes().len() == 1 { "is" } else { "are" }
                )));
            }
        }
        ret.view = View::Repr;
    }
    Ok(ret)
}

impl Session {
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

    /// What was queued before a recv (said when it did not have to wait);
    /// returns it.
    fn queued_before(ctx: &Ctx, out: &mut dyn Sink) -> u32 {
        // Readiness first, then the count: data that lands between the two
        // looks are counted, never taken for the peer's close.
        let ev = table::poll_now(ctx.h.fd);
        let q = table::recv_queue(ctx.h.fd).unwrap_or(0);
        let held = ctx.held.lock().map_or(0, |h| h.len());
        if held > 0 {
            out.emit(Item::NoWait(format!(
                "{} held from an earlier receive come first{}",
                plural(held, "byte", "bytes"),
                if q > 0 {
                    format!(
                        ", then {} in the kernel's queue",
                        plural(q as usize, "byte", "bytes")
                    )
                } else {
                    String::new()
                }
            )));
            return q;
        }
        if q == 0
            && ctx.kind == SockKind::Dgram
            && !ctx.sock.local_addr().is_ok_and(|a| table::is_bound(&a))
        {
            out.emit(Item::Warn(format!(
                "{} has no address yet, so no datagram can reach it: bind it first (or send from it: that binds it to a port the kernel picks)",
                ctx.label
            )));
        }
        if q > 0 {
            let what = if ctx.kind == SockKind::Dgram {
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
        } else if ctx.kind == SockKind::Stream {
            if ev & libc::POLLERR != 0 {
                out.emit(Item::NoWait(
                    "an error is pending on this socket (the connection was reset): no need to wait".into(),
                ));
            } else if ev & (libc::POLLRDHUP | libc::POLLHUP) != 0 && ctx.reset_now() {
                out.emit(Item::NoWait(
                    "nothing queued, and the connection was reset (RST): it is dead, no need to wait".into(),
                ));
            } else if ev & (libc::POLLRDHUP | libc::POLLHUP) != 0 {
                out.emit(Item::NoWait(
                    "nothing queued, but the peer has closed: no need to wait".into(),
                ));
            }
        }
        q
    }

    pub(super) fn recv(
        &mut self,
        r: &Spanned<SockRef>,
        size: Option<&Spanned<Expr>>,
        flags: &[RecvFlag],
        view: Option<View>,
        decode: bool,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let size = self.recv_size(size)?;
        let (mut f, waitall) = recv_flags(flags);
        let ctx = self.ctx(h)?;
        if ctx.kind.keeps_boundaries() {
            f |= libc::MSG_TRUNC;
        }
        if ctx.listening {
            return Err(ExecError::os(libc::ENOTCONN)
                .hint("a listening socket only accepts: recv on the socket accept returned")
                .at(r.span));
        }
        // MSG_DONTWAIT makes this one call non-blocking, whatever the mode.
        let dontwait = f & libc::MSG_DONTWAIT != 0;
        f &= !libc::MSG_DONTWAIT;
        let queued = Self::queued_before(&ctx, out);
        let view = view.unwrap_or(self.settings.display);
        let oob = f & libc::MSG_OOB != 0;
        self.call(
            ctx,
            Box::new(move |ctx: &Ctx, out: &mut dyn Sink| {
                let ret = recv_work(ctx, size, f, waitall, dontwait, view, queued, out)
                    .map_err(|mut x| {
                        if oob && x.is_errno(libc::EINVAL) {
                            x.hint = Some(
                                "no urgent (OOB) data is waiting: it was read already, or the peer sent none \
                                 (select ... except s tells when some arrives)"
                                    .into(),
                            );
                        }
                        x
                    })?;
                if decode { decoded(ret) } else { Ok(ret) }
            }),
            out,
        )
    }

    pub(super) fn recvfrom(
        &mut self,
        r: &Spanned<SockRef>,
        size: Option<&Spanned<Expr>>,
        flags: &[RecvFlag],
        view: Option<View>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let size = self.recv_size(size)?;
        let (mut f, _) = recv_flags(flags);
        let ctx = self.ctx(h)?;
        let dgram = ctx.kind.keeps_boundaries();
        if dgram {
            f |= libc::MSG_TRUNC;
        }
        f &= !libc::MSG_DONTWAIT;
        if ctx.listening {
            return Err(ExecError::os(libc::ENOTCONN)
                .hint("a listening socket only accepts")
                .at(r.span));
        }
        Self::queued_before(&ctx, out);
        let view = view.unwrap_or(self.settings.display);
        self.call(
            ctx,
            Box::new(move |ctx: &Ctx, out: &mut dyn Sink| {
                // Held bytes (the rest of a datagram or of a stream read
                // past a delimiter) come first, with their sender.
                let from = ctx.held.lock().ok().and_then(|h| h.from());
                let pre = take_held(ctx, size, f & libc::MSG_PEEK != 0);
                if !pre.is_empty() {
                    let n = pre.len();
                    let (after, pieces) = after_recv_held(ctx, &pre, n, n, size, f, None);
                    let addr = match from {
                        Some(a) if dgram => addr_value(a),
                        _ => Value::None,
                    };
                    let mut ret = Ret::two(Value::Bytes(pre.bytes.into()), addr);
                    ret.view = view;
                    ret.after = after;
                    ret.pieces = pieces;
                    return Ok(ret);
                }
                let ((buf, n, from), waited) = ctx.wait_call(
                    Wait {
                        events: libc::POLLIN,
                        send: false,
                        nonblock_hint: "nothing is queued and the socket is non-blocking",
                    },
                    |ctx| recv_waiting(ctx, true),
                    out,
                    |s| recv_from_buf(s, size, f),
                )?;
                if f & libc::MSG_PEEK == 0 {
                    ctx.log_bytes(Dir::Received, &buf, Some(&from));
                }
                if let Some(w) = waited {
                    out.emit(Item::Waited(w));
                }
                let (mut after, pieces) = after_recv(ctx, buf.len(), n, size, f, None);
                if ctx.kind == SockKind::Raw
                    && let Some(note) = ip_header_note(&buf)
                {
                    after.insert(0, Item::Note(note));
                }
                // Python gives None as the address of a TCP recvfrom.
                let addr = if dgram { addr_value(from) } else { Value::None };
                let mut ret = Ret::two(Value::Bytes(buf.into()), addr);
                ret.view = view;
                ret.after = after;
                ret.pieces = pieces;
                Ok(ret)
            }),
            out,
        )
    }
}

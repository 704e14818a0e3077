//! The course's remedies for sticky packets, as commands a lesson can show:
//! a length prefix (`sendmsg c DATA framed`: a 4-byte big-endian length,
//! then the bytes, as `struct.pack('!I', len(data)) + data`), or an end
//! marker (`sendmsg c DATA marker b"\n"`). `recvmsg` reads exactly one
//! message back, however the bytes were merged or split on the way.
//!
//! These are the shell's helpers, not Python's socket.sendmsg/recvmsg
//! (which send scatter/gather buffers and ancillary data).

use super::io::{Ctx, Wait, recv_buf, recv_waiting};
use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::syntax::ast::{Expr, Framing, SockKind, SockRef, Spanned};
use crate::value::{Value, bytes_repr};
use std::time::Duration;

/// A frame longer than this is taken as a sign the stream is not framed.
const MAX_FRAME: usize = 256 << 20;
/// How far recvmsg looks for a marker before it gives up.
const MAX_LINE: usize = 1 << 20;

const NONBLOCK: &str = "nothing (or not a whole message) is queued and the socket is non-blocking";

fn plural(n: usize) -> String {
    if n == 1 {
        "1 byte".into()
    } else {
        format!("{n} bytes")
    }
}

/// The longest marker (a marker is a few bytes: `\n`, `\r\n\r\n`).
const MAX_MARKER: usize = 4096;

/// The marker of a `marker M` form.
fn marker_bytes(s: &Session, m: &Spanned<Expr>) -> Result<Vec<u8>, ExecError> {
    let b = s.data(m)?;
    if b.is_empty() {
        return Err(ExecError::new("ValueError", "the marker must not be empty").at(m.span));
    }
    if b.len() > MAX_MARKER {
        return Err(ExecError::new(
            "ValueError",
            format!("a marker of {} bytes: at most {MAX_MARKER}", b.len()),
        )
        .at(m.span));
    }
    Ok(b.to_vec())
}

/// A buffer for bytes on their way to the wire (the value's own limit was
/// checked when it was built), or MemoryError.
fn wire_buffer(n: usize) -> Result<Vec<u8>, ExecError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| crate::value::no_room(n))?;
    Ok(v)
}

impl Ctx {
    /// Takes received bytes off the record of message boundaries.
    fn taken(&self, n: usize) {
        if let (Ok(l), Ok(p)) = (self.sock.local_addr(), self.sock.peer_addr())
            && let (Some(l), Some(p)) = (l.as_socket(), p.as_socket())
            && let Ok(mut b) = self.bounds.lock()
        {
            b.received(l, p, n, false);
        }
    }

    /// Receives until `buf` holds `n` bytes, or the peer closes.
    fn fill(
        &self,
        buf: &mut Vec<u8>,
        n: usize,
        waited: &mut Duration,
        out: &mut dyn Sink,
    ) -> Result<(), ExecError> {
        while buf.len() < n {
            let want = n - buf.len();
            let ((chunk, _), w) = self.wait_call(
                Wait {
                    events: libc::POLLIN,
                    send: false,
                    nonblock_hint: NONBLOCK,
                },
                |ctx| recv_waiting(ctx, false),
                out,
                |s| recv_buf(s, want, 0),
            )?;
            *waited += w.unwrap_or_default();
            if chunk.is_empty() {
                return Ok(());
            }
            self.taken(chunk.len());
            buf.try_reserve(chunk.len())
                .map_err(|_| crate::value::no_room(buf.len() + chunk.len()))?;
            buf.extend_from_slice(&chunk);
        }
        Ok(())
    }
}

impl Session {
    pub(super) fn sendmsg(
        &mut self,
        r: &Spanned<SockRef>,
        data: &Spanned<Expr>,
        framing: &Framing,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let body = self.data(data)?;
        let (wire, what, python) = match framing {
            Framing::Length => {
                let len = u32::try_from(body.len()).map_err(|_| {
                    ExecError::new("OverflowError", "a frame holds at most 4 GiB").at(data.span)
                })?;
                let head = len.to_be_bytes();
                let what = format!(
                    "a frame: 4-byte length {} ({}) + {}",
                    body.len(),
                    bytes_repr(&head),
                    plural(body.len())
                );
                let mut wire = wire_buffer(body.len() + 4)?;
                wire.extend_from_slice(&head);
                wire.extend_from_slice(&body);
                (
                    wire,
                    what,
                    "{s}.sendall(struct.pack('!I', len(data)) + data)",
                )
            }
            Framing::Marker(m) => {
                let m = marker_bytes(self, m)?;
                if body.windows(m.len()).any(|w| w == m.as_slice()) {
                    out.emit(Item::Warn(format!(
                        "the data contains the marker {}: the receiver will cut the message there",
                        bytes_repr(&m)
                    )));
                }
                let what = format!("{} + the marker {}", plural(body.len()), bytes_repr(&m));
                let mut wire = wire_buffer(body.len() + m.len())?;
                wire.extend_from_slice(&body);
                wire.extend_from_slice(&m);
                (wire, what, "{s}.sendall(data + marker)")
            }
        };
        let ctx = self.ctx(h)?;
        self.call(
            ctx,
            Box::new(move |ctx: &Ctx, out: &mut dyn Sink| {
                let (n, waited, _) = ctx.send_bytes(&wire, libc::MSG_NOSIGNAL, true, out)?;
                if let Some(w) = waited {
                    out.emit(Item::Waited(w));
                }
                out.emit(Item::Done(format!(
                    "sent {what}: {} on the wire",
                    plural(n)
                )));
                out.emit(Item::Note(format!(
                    "in Python: {}",
                    python.replace("{s}", &ctx.label)
                )));
                Ok(Ret::none())
            }),
            out,
        )
    }

    pub(super) fn recvmsg(
        &mut self,
        r: &Spanned<SockRef>,
        framing: &Framing,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let ctx = self.ctx(h)?;
        if ctx.kind != SockKind::Stream {
            return Err(ExecError::usage(
                "recvmsg frames a byte stream; a datagram socket keeps message boundaries already (recvfrom)",
            )
            .at(r.span));
        }
        let view = self.settings.display;
        match framing {
            Framing::Length => self.call(
                ctx,
                Box::new(move |ctx: &Ctx, out: &mut dyn Sink| {
                    let mut waited = Duration::ZERO;
                    let mut head = Vec::with_capacity(4);
                    ctx.fill(&mut head, 4, &mut waited, out)?;
                    if head.len() < 4 {
                        return Err(ExecError::new(
                            "ConnectionError",
                            format!("the peer closed inside a frame's length ({} of 4 bytes)", head.len()),
                        )
                        .hint("a frame starts with 4 bytes of length; the stream ended first"));
                    }
                    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
                    if len > MAX_FRAME {
                        return Err(ExecError::new(
                            "ValueError",
                            format!("the length prefix says {len} bytes ({}): more than 256 MiB", bytes_repr(&head)),
                        )
                        .hint("these 4 bytes are probably not a length: was this message sent with sendmsg ... framed?"));
                    }
                    // Grown as the bytes come: a peer's length prefix
                    // alone takes no memory.
                    let mut body = Vec::new();
                    ctx.fill(&mut body, len, &mut waited, out)?;
                    if body.len() < len {
                        return Err(ExecError::new(
                            "ConnectionError",
                            format!("the peer closed inside a frame ({} of {len} bytes)", body.len()),
                        ));
                    }
                    if !waited.is_zero() {
                        out.emit(Item::Waited(waited));
                    }
                    out.emit(Item::Done(format!(
                        "one frame: the length {} said {len}, then {} were read",
                        bytes_repr(&head),
                        plural(len)
                    )));
                    let mut ret = Ret::one(Value::Bytes(body.into()));
                    ret.view = view;
                    ret.after.push(Item::Note(format!(
                        "in Python: n, = struct.unpack('!I', recv_exactly({0}, 4)); data = recv_exactly({0}, n)",
                        ctx.label
                    )));
                    Ok(ret)
                }),
                out,
            ),
            Framing::Marker(m) => {
                let m = marker_bytes(self, m)?;
                self.call(
                    ctx,
                    Box::new(move |ctx: &Ctx, out: &mut dyn Sink| recv_to_marker(ctx, &m, view, out)),
                    out,
                )
            }
        }
    }
}

/// Reads up to and including the marker: peeks at what is queued, finds
/// the marker, then takes exactly that many bytes, so nothing after the
/// marker is consumed.
fn recv_to_marker(
    ctx: &Ctx,
    m: &[u8],
    view: crate::syntax::ast::View,
    out: &mut dyn Sink,
) -> Result<Ret, ExecError> {
    let mut waited = Duration::ZERO;
    let mut seen = 0usize;
    loop {
        // Wait until more than `seen` bytes are queued (or the peer closed).
        let ((peek, _), w) = ctx.wait_call(
            Wait {
                events: libc::POLLIN,
                send: false,
                nonblock_hint: NONBLOCK,
            },
            |ctx| {
                if seen == 0 {
                    recv_waiting(ctx, false)
                } else {
                    Item::Waiting {
                        call: format!("recvmsg(fd {})", ctx.h.fd),
                        what: format!("the marker {}", bytes_repr(m)),
                        queue: format!("{} queued, no marker yet", plural(seen)),
                    }
                }
            },
            out,
            |s| {
                let (b, n) = recv_buf(s, MAX_LINE, libc::MSG_PEEK)?;
                if b.len() <= seen && !b.is_empty() {
                    // Nothing new yet: wait for more.
                    return Err(std::io::Error::from(std::io::ErrorKind::WouldBlock));
                }
                Ok((b, n))
            },
        )?;
        waited += w.unwrap_or_default();
        let found = peek.windows(m.len()).position(|x| x == m);
        let take = match found {
            Some(k) => k + m.len(),
            None if peek.is_empty() => 0,
            None if peek.len() >= MAX_LINE => {
                return Err(ExecError::new(
                    "ValueError",
                    format!("no marker {} in the first 1 MiB queued", bytes_repr(m)),
                )
                .hint("was the message sent with sendmsg ... marker?"));
            }
            None => {
                // Closed without a marker: the rest is the last message.
                if crate::table::poll_now(ctx.h.fd) & libc::POLLRDHUP != 0 {
                    peek.len()
                } else {
                    seen = peek.len();
                    continue;
                }
            }
        };
        let (mut got, _) = if take == 0 {
            (Vec::new(), 0)
        } else {
            recv_buf(&ctx.sock, take, 0)?
        };
        ctx.taken(got.len());
        if !waited.is_zero() {
            out.emit(Item::Waited(waited));
        }
        let complete = found.is_some();
        if complete {
            got.truncate(got.len() - m.len());
            out.emit(Item::Done(format!(
                "one message: {} up to the marker {} (read and removed)",
                plural(got.len()),
                bytes_repr(m)
            )));
        } else if take == 0 {
            out.emit(Item::Done("the peer closed: no more messages (b'')".into()));
        } else {
            out.emit(Item::Warn(format!(
                "the peer closed before a marker: the last {} come without one",
                plural(got.len())
            )));
        }
        let rest = crate::table::recv_queue(ctx.h.fd).unwrap_or(0);
        let mut ret = Ret::one(Value::Bytes(got.into()));
        ret.view = view;
        if rest > 0 {
            ret.after.push(Item::Note(format!(
                "{} still queued: the next message (recvmsg again)",
                plural(rest as usize)
            )));
        }
        return Ok(ret);
    }
}

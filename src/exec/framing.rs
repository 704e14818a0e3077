//! The course's remedies for sticky packets, as commands a lesson can show:
//! a length prefix (`sendmsg c DATA framed`: a 4-byte big-endian length,
//! then the bytes, as `struct.pack('!I', len(data)) + data`), or an end
//! marker (`sendmsg c DATA marker b"\n"`). `recvmsg` reads exactly one
//! message back, however the bytes were merged or split on the way.
//!
//! These are the shell's helpers, not Python's socket.sendmsg/recvmsg
//! (which send scatter/gather buffers and ancillary data).

use super::io::Ctx;
use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::proto::until::{Stop, gather, mode_budget};
use crate::syntax::ast::{Expr, Framing, SockKind, SockRef, Spanned};
use crate::value::bytes_count;
use crate::value::{Value, bytes_repr};

/// A frame longer than this is taken as a sign the stream is not framed.
const MAX_FRAME: usize = 256 << 20;

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

impl Session {
    pub(super) fn sendmsg(
        &mut self,
        r: &Spanned<SockRef>,
        data: &Spanned<Expr>,
        framing: &Framing,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        if let Framing::Fds(_) | Framing::Creds = framing {
            return self.sendmsg_ancillary(r, data, framing, out);
        }
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
                    bytes_count(body.len())
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
                let what = format!(
                    "{} + the marker {}",
                    bytes_count(body.len()),
                    bytes_repr(&m)
                );
                let mut wire = wire_buffer(body.len() + m.len())?;
                wire.extend_from_slice(&body);
                wire.extend_from_slice(&m);
                (wire, what, "{s}.sendall(data + marker)")
            }
            Framing::Fds(_) | Framing::Creds | Framing::Ancillary(_) => {
                return Err(ExecError::usage(
                    "sendmsg takes framed, marker M, fds SOCK... or creds",
                ));
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
                    bytes_count(n)
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
        if let Framing::Ancillary(max) = framing {
            return self.recvmsg_ancillary(r, max.as_ref(), out);
        }
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
                    // One budget for the whole message (the socket's timeout).
                    let budget = mode_budget(ctx.mode);
                    let call = "recvmsg";
                    let first = gather(ctx, call, &Stop::Count(4), budget, true, out)?;
                    let head = first.answer.bytes;
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
                    let body = gather(ctx, call, &Stop::Count(len), budget, true, out)?;
                    if body.answer.len() < len {
                        return Err(ExecError::new(
                            "ConnectionError",
                            format!("the peer closed inside a frame ({} of {len} bytes)", body.answer.len()),
                        ));
                    }
                    let waited = first.waited.unwrap_or_default() + body.waited.unwrap_or_default();
                    if !waited.is_zero() {
                        out.emit(Item::Waited(waited));
                    }
                    out.emit(Item::Done(format!(
                        "one frame: the length {} said {len}, then {} were read",
                        bytes_repr(&head),
                        bytes_count(len)
                    )));
                    let mut ret = Ret::one(Value::Bytes(body.answer.bytes.into()));
                    ret.view = view;
                    ret.after.push(Item::Note(format!(
                        "in Python: n, = struct.unpack('!I', recv_exactly({0}, 4)); data = recv_exactly({0}, n)",
                        ctx.label
                    )));
                    Ok(ret)
                }),
                out,
            ),
            Framing::Fds(_) | Framing::Creds | Framing::Ancillary(_) => Err(ExecError::usage(
                "recvmsg takes framed, marker M, or fds [N]",
            )),
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

/// Reads up to and including the marker, and removes it; what follows
/// it is held for the next receive (the next message). A peer that closes
/// without a last marker gives its last bytes as the last message.
fn recv_to_marker(
    ctx: &Ctx,
    m: &[u8],
    view: crate::syntax::ast::View,
    out: &mut dyn Sink,
) -> Result<Ret, ExecError> {
    let got = gather(
        ctx,
        "recvmsg",
        &Stop::Delim(m.to_vec()),
        mode_budget(ctx.mode),
        true,
        out,
    )
    .map_err(|mut x| {
        if x.exception == "ValueError" {
            x.hint = Some("was the message sent with sendmsg ... marker?".into());
        }
        x
    })?;
    if let Some(w) = got.waited {
        out.emit(Item::Waited(w));
    }
    let mut msg = got.answer.bytes;
    if !got.eof {
        msg.truncate(msg.len() - m.len());
        out.emit(Item::Done(format!(
            "one message: {} up to the marker {} (read and removed)",
            bytes_count(msg.len()),
            bytes_repr(m)
        )));
    } else if msg.is_empty() {
        out.emit(Item::Done("the peer closed: no more messages (b'')".into()));
    } else {
        out.emit(Item::Warn(format!(
            "the peer closed before a marker: the last {} come without one",
            bytes_count(msg.len())
        )));
    }
    let rest = ctx.held.lock().map_or(0, |h| h.len())
        + crate::table::recv_queue(ctx.h.fd).unwrap_or(0) as usize;
    let mut ret = Ret::one(Value::Bytes(msg.into()));
    ret.view = view;
    if rest > 0 {
        ret.after.push(Item::Note(format!(
            "{} still queued: the next message (recvmsg again)",
            bytes_count(rest)
        )));
    }
    Ok(ret)
}

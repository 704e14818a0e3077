//! Receives that stop where a protocol stops: `recvuntil sock DELIM`,
//! `recvline sock`, `recvn sock N`, `recvall sock` (pwntools' names).
//!
//! Each reads as often as it must, and gives the caller exactly what was
//! asked for; bytes read past the end (after the delimiter) are held for
//! the socket's next receive (see [`super::held`]). The timeout is one
//! budget for the whole call: it is set once, when the call starts, and
//! counts down across every read (pwntools restarts it at each read, so a
//! peer that trickles a byte a second keeps a `recvline(timeout=2)` going
//! forever; sockplay's stops after 2 s). When the call fails (the time is
//! up, the peer closed first, the delimiter never came within the limit),
//! nothing is lost: what it gathered is held for the next receive.

use super::held::Attributed;
use super::log::Dir;
use crate::errors::ExecError;
use crate::exec::io::{Ctx, recv_buf, stopped};
use crate::exec::{Item, Piece, Ret, Session, Sink};
use crate::syntax::ast::{Expr, SockKind, SockRef, Spanned, Until, View};
use crate::table::Mode;
use crate::value::bytes_count;
use crate::value::{Value, bytes_repr};
use crate::wait::{self, Stopped};
use std::io;
use std::time::{Duration, Instant};

/// recvuntil and recvline look this far for their delimiter, then give up
/// (a peer that never sends it must not fill the memory).
pub const MAX_UNTIL: usize = 1 << 20;

/// recvn and recvall return at most this much (as recv).
pub const MAX_ALL: usize = crate::exec::MAX_DATA;

/// One read asks for this much at most.
const CHUNK: usize = 64 * 1024;

/// A datagram is read whole: up to this size.
const DGRAM: usize = 65536;

/// How often a long wait refreshes its progress line (on a terminal).
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Where the call stops.
#[derive(Clone, Debug)]
pub(crate) enum Stop {
    Delim(Vec<u8>),
    Count(usize),
    /// The end of the stream.
    End,
}

/// How long the whole call may wait.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Budget {
    Forever,
    Within(Duration),
    /// Only what is there now (a non-blocking socket, or `timeout 0`).
    NoWait,
}

impl Budget {
    fn text(self) -> String {
        match self {
            Budget::Forever => "no timeout".into(),
            Budget::Within(d) => format!("{} for the whole call", wait::human(d)),
            Budget::NoWait => "no waiting".into(),
        }
    }
}

/// Takes the sends of this shell that `n` bytes just received came from
/// off the connection's record (stream sockets whose peer is in this shell).
pub(crate) fn attribute(ctx: &Ctx, n: usize) -> Vec<Piece> {
    if ctx.kind != SockKind::Stream || n == 0 {
        return Vec::new();
    }
    match (ctx.pair, ctx.bounds.lock()) {
        (Some((l, p)), Ok(mut b)) => b.received(l, p, n, false),
        _ => Vec::new(),
    }
}

impl Stop {
    /// What the call waits for, in words.
    fn what(&self) -> String {
        match self {
            Stop::Delim(d) => bytes_repr(d),
            Stop::Count(n) => bytes_count(*n),
            Stop::End => "the end of the stream".into(),
        }
    }

    /// Where the answer ends in `b`, if it is all there. `scan` is where
    /// the delimiter search starts (the part before was searched already).
    fn end_in(&self, b: &[u8], scan: &mut usize) -> Option<usize> {
        match self {
            Stop::Delim(d) => {
                let from = scan.saturating_sub(d.len().saturating_sub(1));
                let found = b
                    .get(from..)?
                    .windows(d.len())
                    .position(|w| w == d.as_slice())
                    .map(|k| from + k + d.len());
                if found.is_none() {
                    *scan = b.len();
                }
                found
            }
            Stop::Count(n) => (b.len() >= *n).then_some(*n),
            Stop::End => None,
        }
    }
}

impl Session {
    /// `recvuntil`, `recvline`, `recvn`, `recvall`.
    pub(crate) fn recv_until(
        &mut self,
        r: &Spanned<SockRef>,
        until: &Until,
        drop: bool,
        timeout: Option<&Spanned<Expr>>,
        view: Option<View>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let ctx = self.ctx(h)?;
        let call = match until {
            Until::Delim(_) => "recvuntil",
            Until::Line => "recvline",
            Until::Count(_) => "recvn",
            Until::All => "recvall",
        };
        if ctx.listening {
            return Err(ExecError::os(libc::ENOTCONN)
                .hint("a listening socket only accepts: receive on the socket accept returned")
                .at(r.span));
        }
        let stop = match until {
            Until::Delim(e) => {
                let d = self.data(e)?;
                if d.is_empty() {
                    return Err(
                        ExecError::new("ValueError", "the delimiter must not be empty").at(e.span),
                    );
                }
                if d.len() > MAX_UNTIL / 2 {
                    return Err(ExecError::new(
                        "ValueError",
                        format!(
                            "a delimiter of {} is longer than this shell looks",
                            bytes_count(d.len())
                        ),
                    )
                    .at(e.span));
                }
                Stop::Delim(d.to_vec())
            }
            Until::Line => Stop::Delim(b"\n".to_vec()),
            Until::Count(e) => {
                let n = self.int(e)?;
                if n < 0 {
                    return Err(
                        ExecError::new("ValueError", "a count cannot be negative").at(e.span)
                    );
                }
                if n as u64 > MAX_ALL as u64 {
                    return Err(ExecError::new(
                        "ValueError",
                        "more than 256 MiB is more than this shell receives at once",
                    )
                    .at(e.span)
                    .hint(
                        "recvfile c PATH N writes that much to a file; recv c discard N drops it",
                    ));
                }
                Stop::Count(n as usize)
            }
            Until::All => {
                if ctx.kind == SockKind::Dgram || ctx.kind == SockKind::Raw {
                    return Err(ExecError::usage(
                        "recvall reads to the end of a stream, and a datagram socket has no end: recvfrom reads one datagram",
                    )
                    .at(r.span));
                }
                Stop::End
            }
        };
        let budget = match timeout {
            Some(t) => match self.float_or_none(t)? {
                None => Budget::Forever,
                Some(s) if s < 0.0 => {
                    return Err(
                        ExecError::new("ValueError", "timeout must be non-negative").at(t.span)
                    );
                }
                Some(0.0) => Budget::NoWait,
                Some(s) => Budget::Within(wait::timeout_of(s).ok_or_else(|| {
                    ExecError::new("OverflowError", "timeout is too large").at(t.span)
                })?),
            },
            None => mode_budget(ctx.mode),
        };
        let view = view.unwrap_or(self.settings.display);
        self.call(
            ctx,
            Box::new(move |ctx: &Ctx, out: &mut dyn Sink| {
                until_work(ctx, call, &stop, drop, budget, view, out)
            }),
            out,
        )
    }
}

/// What one read gave: the bytes, the length the kernel reported (a cut
/// datagram's real length), and the end of the stream.
struct Read {
    bytes: Vec<u8>,
    real: usize,
    eof: bool,
    from: Option<socket2::SockAddr>,
}

fn read_once(ctx: &Ctx, want: usize) -> io::Result<Read> {
    if ctx.kind.keeps_boundaries() {
        let mut buf: Vec<u8> = Vec::with_capacity(DGRAM);
        let (n, from) = ctx.sock.recv_from_with_flags(
            buf.spare_capacity_mut(),
            libc::MSG_TRUNC | libc::MSG_DONTWAIT,
        )?;
        // SAFETY: the kernel initialised the first min(n, DGRAM) bytes.
        unsafe { buf.set_len(n.min(DGRAM)) };
        // A SOCK_SEQPACKET connection ends like a stream; a datagram of 0
        // bytes is a datagram.
        let eof = n == 0 && ctx.kind == SockKind::SeqPacket;
        ctx.log_bytes(Dir::Received, &buf, Some(&from));
        return Ok(Read {
            bytes: buf,
            real: n,
            eof,
            from: Some(from),
        });
    }
    let (bytes, n) = recv_buf(&ctx.sock, want, 0)?;
    ctx.log_bytes(Dir::Received, &bytes, None);
    Ok(Read {
        eof: bytes.is_empty() && want > 0,
        bytes,
        real: n,
        from: None,
    })
}

/// What [`gather`] brought back.
pub(crate) struct Gathered {
    /// The answer: up to and including the delimiter, exactly the count,
    /// or everything up to the end of the stream.
    pub answer: Attributed,
    /// The stream ended before the stop (only when the caller took that).
    pub eof: bool,
    /// Kernel reads it took.
    pub reads: usize,
    /// How long it waited, when it had to.
    pub waited: Option<Duration>,
    /// Bytes read past the answer, now held.
    pub kept: usize,
    /// Bytes of cut datagrams, lost.
    pub lost: usize,
}

/// Budget of a call from the socket's mode.
pub(crate) fn mode_budget(mode: Mode) -> Budget {
    match mode {
        Mode::Blocking => Budget::Forever,
        Mode::NonBlocking => Budget::NoWait,
        Mode::Timeout(d) => Budget::Within(d),
    }
}

/// Reads until `stop`, held bytes first, within one `budget` for the whole
/// call. Bytes past the answer are held for the next receive. When the
/// stream ends first: with `eof_ok` what came is the answer (`eof` set),
/// else EOFError. On every error what was gathered is held again.
pub(crate) fn gather(
    ctx: &Ctx,
    call: &str,
    stop: &Stop,
    budget: Budget,
    eof_ok: bool,
    out: &mut dyn Sink,
) -> Result<Gathered, ExecError> {
    let start = Instant::now();
    let deadline = match budget {
        Budget::Forever => None,
        Budget::Within(d) => Some(start + d),
        Budget::NoWait => Some(start),
    };
    let (mut got, mut from) = match ctx.held.lock() {
        Ok(mut h) => {
            let from = h.from();
            (h.take_all(), from)
        }
        Err(_) => (Attributed::default(), None),
    };
    let had = got.len();
    if had > 0 {
        out.emit(Item::NoWait(format!(
            "{} held from an earlier receive come first",
            bytes_count(had)
        )));
    }
    // On every way out without an answer, what was gathered is held again.
    let give_back = |got: Attributed, from: Option<socket2::SockAddr>| {
        if let Ok(mut h) = ctx.held.lock() {
            h.put_front(got, from);
        }
    };
    let mut scan = 0usize;
    let mut reads = 0usize;
    let mut waited: Option<Duration> = None;
    let mut announced = false;
    let mut last_progress = Instant::now();
    let mut lost = 0usize;
    let mut eof = false;
    let end = loop {
        if let Some(k) = stop.end_in(&got.bytes, &mut scan) {
            break k;
        }
        // A peer that never pauses keeps every read from waiting: the
        // budget and Ctrl-C are looked at between reads too, not only in
        // the wait (`timeout 0` takes all that is there, however long).
        if reads > 0 && budget != Budget::NoWait {
            let why = if ctx.cancel.is_set() {
                Some(Stopped::Interrupted)
            } else if deadline.is_some_and(|d| Instant::now() >= d) {
                Some(Stopped::TimedOut)
            } else {
                None
            };
            if let Some(s) = why {
                let n = got.len();
                give_back(got, from);
                return Err(stopped_error(s, call, budget, reads, n));
            }
        }
        let limit = match stop {
            Stop::Delim(_) => MAX_UNTIL,
            _ => MAX_ALL,
        };
        if got.len() >= limit {
            let n = got.len();
            give_back(got, from);
            return Err(too_much(ctx, call, stop, n));
        }
        let want = match stop {
            Stop::Count(n) => n - got.len(),
            _ => CHUNK.min(limit - got.len()),
        };
        match read_once(ctx, want) {
            Ok(r) if r.eof => {
                reads += 1;
                if matches!(stop, Stop::End) || eof_ok {
                    eof = !matches!(stop, Stop::End);
                    break got.len();
                }
                let n = got.len();
                give_back(got, from);
                return Err(ExecError::new(
                    "EOFError",
                    if n == 0 {
                        format!(
                            "the peer has closed its side of the connection: no {} will come",
                            stop.what()
                        )
                    } else {
                        format!(
                            "the peer closed its side of the connection after {}, before {}",
                            bytes_count(n),
                            stop.what()
                        )
                    },
                )
                .hint(if n > 0 {
                    format!(
                        "what arrived is held: recv {0} (or recvall {0}) returns it",
                        ctx.label
                    )
                } else {
                    "nothing arrived: the stream had ended".into()
                }));
            }
            Ok(r) => {
                reads += 1;
                if r.real > r.bytes.len() {
                    lost += r.real - r.bytes.len();
                }
                if r.from.is_some() {
                    from = r.from;
                }
                // No room (beside the values alive, or under ulimit -v):
                // a MemoryError, the bytes held.
                if let Err(e) = crate::value::room_for(got.len() + r.bytes.len()) {
                    give_back(got, from);
                    return Err(e);
                }
                if got.bytes.try_reserve(r.bytes.len()).is_err() {
                    let n = got.len() + r.bytes.len();
                    give_back(got, from);
                    return Err(crate::value::no_room(n));
                }
                let pieces = attribute(ctx, r.bytes.len());
                got.append(Attributed::new(r.bytes, pieces));
                if announced && last_progress.elapsed() >= PROGRESS_EVERY {
                    last_progress = Instant::now();
                    out.emit(Item::Progress(format!(
                        "{call}(fd {}) waits for {}: {} so far",
                        ctx.h.fd,
                        stop.what(),
                        bytes_count(got.len())
                    )));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if budget == Budget::NoWait {
                    let n = got.len();
                    give_back(got, from);
                    return Err(if ctx.mode == Mode::NonBlocking {
                        ExecError::os(libc::EAGAIN).hint(format!(
                            "{} of {} are there, and the socket is non-blocking{}",
                            bytes_count(n),
                            stop.what(),
                            if n > 0 {
                                " (they are held for the next receive)"
                            } else {
                                ""
                            }
                        ))
                    } else {
                        ExecError::timeout().hint(format!(
                            "timeout 0 takes only what is there: {} so far{}",
                            bytes_count(n),
                            if n > 0 {
                                ", held for the next receive"
                            } else {
                                ""
                            }
                        ))
                    });
                }
                if !announced {
                    announced = true;
                    out.emit(Item::Waiting {
                        call: format!("{call}(fd {})", ctx.h.fd),
                        what: stop.what(),
                        queue: format!("{} so far, {}", bytes_count(got.len()), budget.text()),
                    });
                }
                let slice = Instant::now() + PROGRESS_EVERY;
                let until = Some(deadline.map_or(slice, |d| d.min(slice)));
                match wait::wait_fd(ctx.h.fd, libc::POLLIN | libc::POLLRDHUP, until, &ctx.cancel) {
                    Ok(_) => {}
                    Err(Stopped::TimedOut) if deadline.is_none_or(|d| Instant::now() < d) => {}
                    Err(s) => {
                        let n = got.len();
                        give_back(got, from);
                        return Err(stopped_error(s, call, budget, reads, n));
                    }
                }
                waited = Some(start.elapsed());
            }
            Err(e) => {
                let n = got.len();
                give_back(got, from);
                let mut x = ctx.in_context(e.into());
                if n > 0 {
                    // A reset mid-line: what came before it is not lost.
                    let held = format!(
                        "the {} received before it are held: recv {} returns them",
                        bytes_count(n),
                        ctx.label
                    );
                    x.hint = Some(match x.hint.take() {
                        Some(h) => format!("{h}; {held}"),
                        None => held,
                    });
                }
                return Err(x);
            }
        }
    };
    let mut answer = got;
    let rest = answer.split_off(end);
    let kept = rest.len();
    give_back(rest, from);
    Ok(Gathered {
        answer,
        eof,
        reads,
        waited,
        kept,
        lost,
    })
}

/// The error of a call that stopped before its answer (the budget ran
/// out, or Ctrl-C) after `reads` reads had gathered `n` bytes, now held.
fn stopped_error(s: Stopped, call: &str, budget: Budget, reads: usize, n: usize) -> ExecError {
    let mut x = stopped(s);
    if s == Stopped::TimedOut {
        x.hint = Some(format!(
            "{call} had {} in all, counted from its start across {} (the budget does not start \
             again at each read, as pwntools' does); {}",
            budget.text().replace(" for the whole call", ""),
            match reads {
                0 => "its wait".to_string(),
                1 => "its 1 read".to_string(),
                n => format!("its {n} reads"),
            },
            if n > 0 {
                format!(
                    "the {} received are held: the next receive returns them",
                    bytes_count(n)
                )
            } else {
                "nothing arrived".into()
            }
        ));
    } else if n > 0 {
        x.hint = Some(format!(
            "the {} received so far are held: the next receive returns them",
            bytes_count(n)
        ));
    }
    x
}

/// The error of a call that read as far as it looks (1 MiB for a
/// delimiter, [`MAX_ALL`] to the end of a stream) without its answer.
fn too_much(ctx: &Ctx, call: &str, stop: &Stop, n: usize) -> ExecError {
    let label = &ctx.label;
    match stop {
        Stop::Delim(_) => ExecError::new(
            "ValueError",
            format!("no {} in the first {} received", stop.what(), bytes_count(n)),
        )
        .hint(format!(
            "{call} looks at most 1 MiB ahead; the bytes are held: recv {label} reads them, \
             recvn {label} N or recvall {label} read by count or to the end"
        )),
        _ => ExecError::new(
            "ValueError",
            format!(
                "{} came and the stream has not ended: more than {call} keeps",
                bytes_count(n)
            ),
        )
        .hint(format!(
            "the bytes are held (recv {label} reads them); recvfile {label} PATH writes a long stream to a \
             file, recv {label} discard drops it"
        )),
    }
}

fn until_work(
    ctx: &Ctx,
    call: &'static str,
    stop: &Stop,
    drop: bool,
    budget: Budget,
    view: View,
    out: &mut dyn Sink,
) -> Result<Ret, ExecError> {
    let Gathered {
        mut answer,
        eof: _,
        reads,
        waited,
        kept,
        lost,
    } = gather(ctx, call, stop, budget, false, out)?;
    let mut dropped = false;
    if drop && let Stop::Delim(d) = stop {
        answer.split_off(answer.len().saturating_sub(d.len()));
        dropped = true;
    }
    if let Some(w) = waited {
        out.emit(Item::Waited(w));
    }
    let reads_text = match reads {
        0 => "no read: all were held already".to_string(),
        1 => "1 read".to_string(),
        n => format!("{n} reads"),
    };
    let mut msg = match stop {
        Stop::Delim(d) => format!(
            "{call}: {} up to {} {} ({reads_text})",
            bytes_count(answer.len()),
            if dropped {
                "the delimiter"
            } else {
                "and including"
            },
            bytes_repr(d)
        ),
        Stop::Count(n) => format!("{call}: exactly {} ({reads_text})", bytes_count(*n)),
        Stop::End => format!(
            "{call}: {} up to the end of the stream ({reads_text})",
            bytes_count(answer.len())
        ),
    };
    if dropped && let Stop::Delim(d) = stop {
        msg.push_str(&format!("; {} dropped", bytes_repr(d)));
    }
    out.emit(Item::Done(msg));
    let mut ret = Ret::one(Value::Bytes(answer.bytes.into()));
    ret.view = view;
    ret.pieces = answer.pieces;
    if kept > 0 {
        ret.after.push(Item::Note(if kept == 1 {
            "1 byte after it is held for the next receive (sockets shows it in RECV-Q)".to_string()
        } else {
            format!(
                "{kept} bytes after it are held for the next receive (sockets shows them in RECV-Q)"
            )
        }));
    }
    if lost > 0 {
        ret.after.push(Item::Warn(format!(
            "a datagram longer than {DGRAM} bytes was cut: {} lost",
            bytes_count(lost)
        )));
    }
    if matches!(stop, Stop::End) {
        ret.after.push(Item::Note(
            "the peer closed its sending side: every receive from now on returns b''".into(),
        ));
    }
    Ok(ret)
}

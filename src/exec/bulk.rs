//! Bulk transfers: `sendfile c PATH`, `recvfile c PATH [N]`, and the load
//! generators `send c zeros 1G` and `recv c discard`.
//!
//! They move more bytes than the shell should ever hold, so nothing is
//! built in memory, and the bytes take the shortest way the kernel offers:
//!
//! - a file goes with sendfile(2): its pages go from the page cache to the
//!   socket by reference, never through the shell;
//! - zeros are sent with send(2) from a 4 MiB buffer that is never written,
//!   so every page of it is the kernel's one shared zero page: the copy
//!   into the socket reads the same 4 KiB, always in the cache. (Measured
//!   against sendfile(2) of a zero-filled memfd, 2 GiB between two
//!   processes, 7 interleaved rounds on the 2-core test machine: medians of
//!   0.94 s for this and 1.45 s for sendfile, which takes and drops a
//!   reference on every page it lends and goes through an internal pipe);
//! - received bytes go to a file through a pipe with splice(2) (one copy,
//!   into the page cache, instead of two);
//! - discarded bytes are dropped inside the kernel: recv with MSG_TRUNC on
//!   TCP frees them without copying them out (tcp(7)); other streams are
//!   read into one reused 1 MiB buffer.
//!
//! `SOCKPLAY_BULK=copy` makes the receiving side and `sendfile` use plain
//! recv/send with a 1 MiB buffer, so that the benchmark can show what the
//! zero-copy paths bring (BENCHMARKS.md).
//!
//! Every transfer runs through one loop ([`Pump`]) that honours the
//! socket's mode as the Python call it mirrors does, checks the cancel
//! flags between calls (Ctrl-C, `kill`, closing the socket), and feeds a
//! [`Meter`]: a progress line on a terminal once a transfer has run for a
//! second, and always a last line with the bytes and the rate.

use super::io::{Ctx, stopped};
use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::files::{NewFile, file_error};
use crate::proto::log::Dir;
use crate::syntax::ast::{BulkInto, Expr, SockKind, SockRef, Spanned};
use crate::table::{self, Mode};
use crate::value::{Value, human_size};
use crate::wait::{self, Stopped};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The most one copying call moves (the buffer of the copy paths).
const CHUNK: usize = 1 << 20;
/// The most one send of zeros moves.
const ZERO_LEN: usize = 4 << 20;
/// The pipe between a socket and a file (the most one splice moves).
const PIPE_LEN: libc::c_int = 1 << 20;
/// A progress line appears once a transfer has run this long...
const SHOW_AFTER: Duration = Duration::from_secs(1);
/// ...and is refreshed this often.
const EVERY: Duration = Duration::from_millis(200);

/// `SOCKPLAY_BULK=copy`: plain send/recv instead of sendfile and splice.
fn copy_only() -> bool {
    static COPY: OnceLock<bool> = OnceLock::new();
    *COPY.get_or_init(|| std::env::var("SOCKPLAY_BULK").is_ok_and(|v| v == "copy"))
}

/// The zeros that `send c zeros N` sends: allocated zeroed (calloc, so
/// mmap) and never written, so its pages are the kernel's shared zero page
/// and it costs no memory.
fn zero_buf() -> &'static [u8] {
    static BUF: OnceLock<Vec<u8>> = OnceLock::new();
    BUF.get_or_init(|| vec![0u8; ZERO_LEN])
}

/// sendfile(2) of `count` bytes of `file` from `*offset` (advanced by the
/// kernel).
fn sendfile(sock: RawFd, file: RawFd, offset: &mut libc::off_t, count: usize) -> io::Result<usize> {
    // SAFETY: two descriptors and a valid offset; the kernel copies nothing
    // into our memory.
    let n = unsafe { libc::sendfile(sock, file, offset, count) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// splice(2) between two descriptors (one of them a pipe), no offsets.
fn splice(from: RawFd, to: RawFd, count: usize, flags: libc::c_uint) -> io::Result<usize> {
    // SAFETY: two descriptors; null offsets mean "the current position".
    let n = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            count,
            flags,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// A pipe for splice: non-blocking ends, 1 MiB if the kernel allows, moved
/// out of the learner's descriptor numbers.
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: room for two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: two fresh descriptors nobody else owns.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // A bigger pipe means fewer calls; the default (64 KiB) still works.
    // SAFETY: fcntl on our own descriptor.
    unsafe { libc::fcntl(w.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_LEN) };
    Ok((table::move_high(r), table::move_high(w)))
}

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

/// Counts a transfer and says how it goes.
pub(crate) struct Meter {
    /// `sendfile(fd 4)`: who is moving bytes (for the progress line).
    call: String,
    /// What is counted: `bytes`, `zero bytes`.
    noun: &'static str,
    total: Option<u64>,
    pub(crate) done: u64,
    start: Instant,
    last_shown: Option<Instant>,
}

impl Meter {
    pub(crate) fn new(call: String, total: Option<u64>) -> Meter {
        Meter {
            call,
            noun: "bytes",
            total,
            done: 0,
            start: Instant::now(),
            last_shown: None,
        }
    }

    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Megabytes (10^6 bytes) per second so far.
    fn rate(&self) -> f64 {
        let s = self.elapsed().as_secs_f64();
        if s > 0.0 {
            self.done as f64 / s / 1e6
        } else {
            0.0
        }
    }

    /// The progress line, once the transfer has run [`SHOW_AFTER`], every
    /// [`EVERY`]; `stalled` says what it waits for when nothing moves.
    fn tick(&mut self, out: &mut dyn Sink, stalled: Option<&str>) {
        let now = Instant::now();
        if now - self.start < SHOW_AFTER || self.last_shown.is_some_and(|t| now - t < EVERY) {
            return;
        }
        self.last_shown = Some(now);
        out.emit(Item::Progress(self.line(stalled)));
    }

    /// `sendfile(fd 4) [#######.............]  35%  358.0 MiB of 1.0 GiB  2210.3 MB/s  1 s left`
    pub(crate) fn line(&self, stalled: Option<&str>) -> String {
        let rate = self.rate();
        let mut s = self.call.clone();
        match self.total {
            Some(t) if t > 0 => {
                let frac = (self.done as f64 / t as f64).clamp(0.0, 1.0);
                let filled = (frac * 20.0).round() as usize;
                s.push_str(&format!(
                    " [{}{}] {:>3}%  {} of {}  {rate:.1} MB/s",
                    "#".repeat(filled),
                    ".".repeat(20 - filled),
                    (frac * 100.0).floor() as u32,
                    human_size(self.done),
                    human_size(t),
                ));
                if rate > 0.0 {
                    let left = (t - self.done.min(t)) as f64 / (rate * 1e6);
                    s.push_str(&format!("  {} left", clock(left)));
                }
            }
            _ => s.push_str(&format!(
                "  {}  {rate:.1} MB/s  {}",
                human_size(self.done),
                clock(self.elapsed().as_secs_f64())
            )),
        }
        if let Some(w) = stalled {
            s.push_str(&format!("  - waits: {w}"));
        }
        s
    }

    /// `1073741824 bytes (1.0 GiB) in 452.1 ms, 2375.0 MB/s`: the time
    /// from the first byte.
    pub(crate) fn summary(&self) -> String {
        let noun = self.noun;
        let bytes = if self.done == 1 {
            format!("1 {}", noun.trim_end_matches('s'))
        } else {
            format!("{} {noun}", self.done)
        };
        let size = if self.done >= 1024 {
            format!(" ({})", human_size(self.done))
        } else {
            String::new()
        };
        format!(
            "{bytes}{size} in {}, {:.1} MB/s",
            wait::human(self.elapsed()),
            self.rate()
        )
    }
}

/// `0:07`, `1:02:03`.
fn clock(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// How a transfer ended without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// The size asked for was reached (or everything was sent).
    Limit,
    /// End of stream (recv), or the source ran dry (a file that shrank).
    Eof,
    /// The mode allowed only what could move without waiting, or one call.
    Partial,
}

/// How a transfer waits.
struct Pump<'a> {
    ctx: &'a Ctx,
    /// POLLOUT to send, POLLIN to receive.
    events: libc::c_short,
    /// Return after the first call that moves bytes (Python's `send` on a
    /// socket with a timeout, or a non-blocking one).
    one_call: bool,
    /// Never wait: stop with what moved (or EAGAIN when nothing did).
    nonblock: bool,
    /// A limit on the whole transfer (sendall with a timeout).
    total_deadline: Option<Instant>,
    /// A limit on each wait (sendfile and receive loops with a timeout, or
    /// SO_SNDTIMEO / SO_RCVTIMEO).
    per_wait: Option<Duration>,
    /// The per-wait limit is the kernel's: a blocking call ends with what
    /// it moved (or EAGAIN), not with TimeoutError.
    kernel: bool,
    /// What a wait before the first byte is announced with.
    waiting: Option<fn(&Ctx, &str) -> Item>,
    /// What a stall is, for the progress line.
    stall: fn(&Ctx) -> String,
}

impl Pump<'_> {
    /// Calls `step` (which moves at most its argument's bytes, returns 0 at
    /// the end and WouldBlock when it must wait) until `meter.total` bytes
    /// moved, the end, or what the mode allows.
    fn run(
        &self,
        meter: &mut Meter,
        out: &mut dyn Sink,
        mut step: impl FnMut(usize) -> io::Result<usize>,
    ) -> Result<Stop, ExecError> {
        let fd = self.ctx.h.fd;
        let mut announced = false;
        // A transfer takes a while: what was said before it should be seen.
        out.idle();
        loop {
            let remaining = meter.total.map(|t| t.saturating_sub(meter.done));
            if remaining == Some(0) {
                return Ok(Stop::Limit);
            }
            // Checked between calls too: a fast transfer may never wait.
            if self.ctx.cancel.is_set() {
                return Err(ExecError::interrupted());
            }
            let want = remaining.map_or(usize::MAX, |r| usize::try_from(r).unwrap_or(usize::MAX));
            let tried = Instant::now();
            match step(want) {
                Ok(0) => return Ok(Stop::Eof),
                Ok(n) => {
                    // The clock runs from the first byte: a receiver
                    // started long before its sender is not slow.
                    if meter.done == 0 {
                        meter.start = tried;
                    }
                    meter.done += n as u64;
                    if self.one_call {
                        return Ok(Stop::Partial);
                    }
                    meter.tick(out, None);
                }
                Err(e) if would_block(&e) => {
                    if self.nonblock {
                        if meter.done > 0 {
                            return Ok(Stop::Partial);
                        }
                        return Err(ExecError::os(libc::EAGAIN));
                    }
                    if meter.done == 0
                        && !announced
                        && let Some(w) = &self.waiting
                    {
                        announced = true;
                        out.emit(w(self.ctx, &meter.call));
                    }
                    if let Some(stop) = self.wait(fd, meter, out)? {
                        return Ok(stop);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.ctx.in_context(e.into())),
            }
        }
    }

    /// Waits until the socket is ready again, refreshing the progress
    /// line. Some(stop) when a kernel timeout ended the transfer.
    fn wait(
        &self,
        fd: RawFd,
        meter: &mut Meter,
        out: &mut dyn Sink,
    ) -> Result<Option<Stop>, ExecError> {
        let started = Instant::now();
        let limit = match (self.total_deadline, self.per_wait) {
            (Some(t), Some(p)) => Some(t.min(started + p)),
            (Some(t), None) => Some(t),
            (None, Some(p)) => Some(started + p),
            (None, None) => None,
        };
        loop {
            let slice = Instant::now() + EVERY;
            let until = limit.map_or(slice, |l| l.min(slice));
            match wait::wait_fd(fd, self.events, Some(until), &self.ctx.cancel) {
                Ok(_) => return Ok(None),
                Err(Stopped::TimedOut) if limit.is_some_and(|l| Instant::now() >= l) => {
                    if !self.kernel {
                        return Err(ExecError::timeout());
                    }
                    if meter.done > 0 {
                        return Ok(Some(Stop::Partial));
                    }
                    return Err(ExecError::os(libc::EAGAIN).hint(
                        "the socket's kernel timeout (SO_SNDTIMEO / SO_RCVTIMEO) passed before anything moved",
                    ));
                }
                Err(Stopped::TimedOut) => {
                    let stalled = (started.elapsed() >= EVERY).then(|| (self.stall)(self.ctx));
                    meter.tick(out, stalled.as_deref());
                }
                Err(s) => return Err(stopped(s)),
            }
        }
    }
}

/// The limits of a transfer from the socket's mode: Python's `send` and
/// `sendall` count a timeout over the whole call; `sendfile` and a loop of
/// `recv`s count it per wait.
fn limits(ctx: &Ctx, send: bool, whole: bool) -> (Option<Instant>, Option<Duration>, bool) {
    let kernel = if send {
        ctx.sock.write_timeout()
    } else {
        ctx.sock.read_timeout()
    };
    match ctx.mode {
        Mode::Timeout(d) if whole => (Some(Instant::now() + d), None, false),
        Mode::Timeout(d) => (None, Some(d), false),
        Mode::Blocking => match kernel.ok().flatten() {
            Some(k) => (None, Some(k), true),
            None => (None, None, false),
        },
        Mode::NonBlocking => (None, None, false),
    }
}

/// The send side's stall, in the learner's terms.
fn send_stall(ctx: &Ctx) -> String {
    let sq = table::send_queue(ctx.h.fd).unwrap_or(0);
    let mut s = format!("buffer space, send queue {}", human_size(u64::from(sq)));
    if let Some((fd, name)) = &ctx.peer {
        let rq = table::recv_queue(*fd).unwrap_or(0);
        s.push_str(&format!(
            ", {name}'s receive queue {} (is {name} reading?)",
            human_size(u64::from(rq))
        ));
    }
    s
}

fn send_waiting(ctx: &Ctx, call: &str) -> Item {
    Item::Waiting {
        call: call.to_string(),
        what: super::io::send_wait_what(ctx.peer.as_ref().map(|p| p.0)),
        queue: send_stall(ctx),
    }
}

fn recv_stall(ctx: &Ctx) -> String {
    match ctx.pair {
        Some((_, p)) => format!("data from {p} (none for a while)"),
        None => "data (none for a while)".into(),
    }
}

/// The end of a transfer: the last line (also when it failed half way,
/// with what had moved), and the error's hint says how far it got.
fn conclude(
    meter: &Meter,
    what: &str,
    result: Result<Stop, ExecError>,
    out: &mut dyn Sink,
) -> Result<Stop, ExecError> {
    match result {
        Ok(stop) => Ok(stop),
        Err(mut x) => {
            if meter.done > 0 {
                out.emit(Item::Done(format!(
                    "{what} {} before it stopped",
                    meter.summary()
                )));
                let so_far = format!("{} had moved", human_size(meter.done));
                x.hint = Some(if x.exception == "KeyboardInterrupt" {
                    format!(
                        "{so_far} when it stopped: those bytes are in the stream, and the connection goes on"
                    )
                } else {
                    match x.hint.take() {
                        Some(h) => format!("{so_far}; {h}"),
                        None => so_far,
                    }
                });
            }
            Err(x)
        }
    }
}

/// Records a bulk send as one send of the connection (message boundaries),
/// or takes received bytes off it.
/// The call is noted for `diagram` (a send from `t0`, when it began).
fn note_bounds(ctx: &Ctx, bytes: u64, sent: bool, t0: crate::wire::Nanos) {
    if bytes == 0 || ctx.kind != SockKind::Stream {
        return;
    }
    if let Some((l, p)) = ctx.pair
        && let Ok(mut b) = ctx.bounds.lock()
    {
        let n = usize::try_from(bytes).unwrap_or(usize::MAX);
        if sent {
            b.name_sender(l, p, super::bounds::Sender::Shell(ctx.label.clone()));
            let no = b.sent(l, p, n);
            drop(b);
            ctx.note(
                t0,
                crate::wire::CallKind::Send {
                    no,
                    len: n,
                    all: false,
                },
            );
        } else {
            let sends = b
                .received(l, p, n, false)
                .iter()
                .map(|x| x.send_no)
                .collect();
            drop(b);
            ctx.note(
                crate::wire::now_ns(),
                crate::wire::CallKind::Recv { sends, len: n },
            );
        }
    }
}

/// `send c zeros N` / `sendall c zeros N`: zeros made as they go.
pub(super) fn zeros_work(
    ctx: &Ctx,
    n: u64,
    flags: i32,
    all: bool,
    out: &mut dyn Sink,
) -> Result<Ret, ExecError> {
    let t0 = crate::wire::now_ns();
    let nonblock = ctx.mode == Mode::NonBlocking || flags & libc::MSG_DONTWAIT != 0;
    let (total_deadline, per_wait, kernel) = limits(ctx, true, true);
    let pump = Pump {
        ctx,
        events: libc::POLLOUT,
        // A blocking send goes on until all is sent (as the kernel's
        // does); with a timeout Python's send returns what one call took.
        one_call: !all && ctx.mode != Mode::Blocking,
        nonblock,
        total_deadline,
        per_wait,
        kernel,
        waiting: Some(send_waiting),
        stall: send_stall,
    };
    let call = if all { "sendall" } else { "send" };
    let mut meter = Meter::new(format!("{call}(fd {})", ctx.h.fd), Some(n));
    meter.noun = "zero bytes";
    let buf = zero_buf();
    let result = pump.run(&mut meter, out, |want| {
        ctx.sock.send_with_flags(
            &buf[..want.min(buf.len())],
            flags | libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
        )
    });
    let result = conclude(&meter, "sent", result, out);
    note_bounds(ctx, meter.done, true, t0);
    ctx.log_bulk(Dir::Sent, meter.done, "zero bytes (send zeros)");
    let stop = result?;
    let mut msg = format!("sent {}", meter.summary());
    if stop == Stop::Partial && meter.done < n {
        msg.push_str(&format!(
            " (of {}: {})",
            human_size(n),
            if nonblock {
                "what fit in the send buffer, the socket is non-blocking"
            } else {
                "what one send call took, as Python's send with a timeout"
            }
        ));
    }
    out.emit(Item::Done(msg));
    Ok(Ret::said(Value::Int(meter.done as i64)))
}

/// `len`: the file's size, None when it cannot be trusted (procfs, sysfs:
/// 0 or 4096 whatever they hold): then it is read to its end.
fn sendfile_work(
    ctx: &Ctx,
    file: File,
    len: Option<u64>,
    shown: &str,
    out: &mut dyn Sink,
) -> Result<Ret, ExecError> {
    let t0 = crate::wire::now_ns();
    let (total_deadline, per_wait, kernel) = limits(ctx, true, false);
    let pump = Pump {
        ctx,
        events: libc::POLLOUT,
        one_call: false,
        nonblock: false,
        total_deadline,
        per_wait,
        kernel,
        waiting: Some(send_waiting),
        stall: send_stall,
    };
    let mut meter = Meter::new(format!("sendfile(fd {})", ctx.h.fd), len);
    let (fd, ffd) = (ctx.h.fd, file.as_raw_fd());
    let mut offset: libc::off_t = 0;
    // Plain reads and sends: asked for, or the file refuses sendfile(2)
    // (many procfs files: EINVAL), or the socket is blocking in the kernel
    // (another process was given it blocking): sendfile has no per-call
    // MSG_DONTWAIT, and the shell never waits in the kernel.
    let mut copy = copy_only() || !crate::table::kernel_nonblocking(fd);
    let mut tmp: Vec<u8> = Vec::new();
    let result = pump.run(&mut meter, out, |want| {
        // At most 1 GiB a call (the kernel's own cap is just under 2 GiB).
        let count = want.min(1 << 30);
        if !copy {
            match sendfile(fd, ffd, &mut offset, count) {
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {
                    copy = true;
                }
                r => return r,
            }
        }
        {
            if tmp.is_empty() {
                tmp.resize(CHUNK, 0);
            }
            let len = count.min(tmp.len());
            // SAFETY: a buffer of at least `len` bytes, our descriptor.
            let r = unsafe { libc::pread(ffd, tmp.as_mut_ptr().cast(), len, offset) };
            if r <= 0 {
                return if r == 0 {
                    Ok(0)
                } else {
                    Err(io::Error::last_os_error())
                };
            }
            let n = ctx
                .sock
                .send_with_flags(&tmp[..r as usize], libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT)?;
            offset += n as libc::off_t;
            Ok(n)
        }
    });
    let result = conclude(&meter, "sent", result, out);
    note_bounds(ctx, meter.done, true, t0);
    ctx.log_bulk(
        Dir::Sent,
        meter.done,
        &format!("the bytes of {shown} (sendfile)"),
    );
    let stop = result?;
    let mut msg = format!("sent {shown}: {}", meter.summary());
    if let Some(len) = len
        && stop == Stop::Eof
        && meter.done < len
    {
        msg.push_str(&format!(
            " (the file ended early: it was {} when the send began)",
            human_size(len)
        ));
    }
    out.emit(Item::Done(msg));
    Ok(Ret::said(Value::Int(meter.done as i64)))
}

/// A file whose st_size says nothing of its content: on procfs or sysfs
/// (and the like: debugfs, configfs, securityfs, tracefs).
fn size_is_made_up(file: &File) -> bool {
    const MADE_UP: [i64; 6] = [
        0x9fa0,      // PROC_SUPER_MAGIC
        0x6265_6572, // SYSFS_MAGIC
        0x6462_6720, // DEBUGFS_MAGIC
        0x6265_6570, // CONFIGFS_MAGIC
        0x7363_6673, // SECURITYFS_MAGIC
        0x7472_6163, // TRACEFS_MAGIC
    ];
    // SAFETY: statfs is plain data that fstatfs fills (or fails).
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: our descriptor and our struct.
    if unsafe { libc::fstatfs(file.as_raw_fd(), &mut st) } != 0 {
        return false;
    }
    MADE_UP.contains(&(st.f_type as i64))
}

/// Where received bytes go.
enum Dest {
    Discard,
    /// The file being written (put in place at the end, if all went well)
    /// and its path as shown.
    File(NewFile, String),
}

fn recv_bulk_work(
    ctx: &Ctx,
    dest: Dest,
    limit: Option<u64>,
    out: &mut dyn Sink,
) -> Result<Ret, ExecError> {
    let (total_deadline, per_wait, kernel) = limits(ctx, false, false);
    let pump = Pump {
        ctx,
        events: libc::POLLIN,
        one_call: false,
        nonblock: ctx.mode == Mode::NonBlocking,
        total_deadline,
        per_wait,
        kernel,
        waiting: Some(|ctx: &Ctx, call: &str| {
            let mut item = super::recv::recv_waiting(ctx, false);
            if let Item::Waiting { call: c, .. } = &mut item {
                *c = call.to_string();
            }
            item
        }),
        stall: recv_stall,
    };
    let call = match dest {
        Dest::Discard => "recv",
        _ => "recvfile",
    };
    let mut meter = Meter::new(format!("{call}(fd {})", ctx.h.fd), limit);
    // Bytes held from an earlier recvuntil come first.
    let pre = super::recv::take_held(
        ctx,
        limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX)),
        false,
    );
    let mut dest = dest;
    if !pre.is_empty() {
        if let Dest::File(file, shown) = &mut dest {
            file.file()
                .write_all(&pre.bytes)
                .map_err(|e| file_error(e, shown))?;
        }
        meter.done += pre.len() as u64;
        out.emit(Item::NoWait(format!(
            "{} held from an earlier receive come first",
            crate::value::bytes_count(pre.len())
        )));
    }
    let fd = ctx.h.fd;
    let tcp = ctx.family != crate::syntax::ast::Family::Unix;
    let mut dest = dest;
    let result = match &mut dest {
        Dest::Discard if tcp && !copy_only() => pump.run(&mut meter, out, |want| {
            // MSG_TRUNC on TCP drops the bytes in the kernel; no buffer is
            // touched (tcp(7)), so none is given.
            let want = want.min(1 << 30);
            // SAFETY: with MSG_TRUNC a TCP socket copies nothing out.
            let n = unsafe {
                libc::recv(
                    fd,
                    std::ptr::null_mut(),
                    want,
                    libc::MSG_TRUNC | libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        }),
        Dest::Discard => {
            let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
            pump.run(&mut meter, out, |want| {
                let want = want.min(CHUNK);
                ctx.sock
                    .recv_with_flags(&mut buf.spare_capacity_mut()[..want], libc::MSG_DONTWAIT)
            })
        }
        Dest::File(file, _) => {
            let pipe = if copy_only() { None } else { pipe().ok() };
            match pipe {
                Some((pr, pw)) => {
                    let ffd = file.file().as_raw_fd();
                    // Bytes in the pipe not yet written to the file.
                    let mut pending = 0usize;
                    pump.run(&mut meter, out, |want| {
                        let n = splice(
                            fd,
                            pw.as_raw_fd(),
                            want.min(PIPE_LEN as usize),
                            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
                        )?;
                        pending += n;
                        while pending > 0 {
                            match splice(pr.as_raw_fd(), ffd, pending, libc::SPLICE_F_MOVE) {
                                Ok(0) => break,
                                Ok(m) => pending -= m,
                                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                                Err(e) => return Err(e),
                            }
                        }
                        Ok(n)
                    })
                }
                None => {
                    let mut buf = vec![0u8; CHUNK];
                    let f = file.file();
                    pump.run(&mut meter, out, |want| {
                        let want = want.min(CHUNK);
                        // SAFETY: a buffer of `want` bytes we own.
                        let n = unsafe {
                            libc::recv(fd, buf.as_mut_ptr().cast(), want, libc::MSG_DONTWAIT)
                        };
                        if n < 0 {
                            return Err(io::Error::last_os_error());
                        }
                        let n = n as usize;
                        f.write_all(&buf[..n])?;
                        Ok(n)
                    })
                }
            }
        }
    };
    let what = match &dest {
        Dest::Discard => "discarded",
        _ => "received",
    };
    let result = conclude(&meter, what, result, out);
    // The held bytes were taken off the record (and logged) when they
    // were read.
    note_bounds(ctx, meter.done - pre.len() as u64, false, 0);
    ctx.log_bulk(
        Dir::Received,
        meter.done - pre.len() as u64,
        &match &dest {
            Dest::Discard => "bytes dropped (recv discard)".to_string(),
            Dest::File(_, shown) => format!("bytes written to {shown} (recvfile)"),
        },
    );
    if let (Err(_), Dest::File(f, shown)) = (&result, &dest) {
        // The target is left as it was: the bytes went to a temporary
        // file, which goes with `dest`.
        out.emit(Item::Note(if f.replaces() {
            format!(
                "{shown} was left as it was: a file is replaced only by a transfer that ends well"
            )
        } else {
            format!("{shown} was not created: a file is written only by a transfer that ends well")
        }));
    }
    let stop = result?;
    let shown = match dest {
        Dest::File(f, shown) => {
            f.commit()?;
            Some(shown)
        }
        Dest::Discard => None,
    };
    let why = match stop {
        Stop::Eof => "end of stream: the peer closed its sending side".to_string(),
        Stop::Limit => format!("the {} asked for", human_size(meter.done)),
        Stop::Partial => "what was queued: the socket is non-blocking".to_string(),
    };
    let msg = match shown {
        None => format!("received and discarded {} ({why})", meter.summary()),
        Some(shown) => format!("wrote {shown}: {} ({why})", meter.summary()),
    };
    out.emit(Item::Done(msg));
    if stop == Stop::Eof && limit.is_some_and(|l| meter.done < l) {
        out.emit(Item::Note(format!(
            "the stream ended before the {} asked for",
            human_size(limit.unwrap_or(0))
        )));
    }
    Ok(Ret::said(Value::Int(meter.done as i64)))
}

impl Session {
    /// A size argument: a whole, non-negative number of bytes.
    pub(crate) fn size(&self, e: &Spanned<Expr>) -> Result<u64, ExecError> {
        let n = self.int(e)?;
        u64::try_from(n).map_err(|_| {
            ExecError::new("ValueError", format!("a size cannot be negative: {n}")).at(e.span)
        })
    }

    /// Refuses what a bulk transfer cannot do on this socket.
    fn bulk_socket(&self, ctx: &Ctx, r: &Spanned<SockRef>, what: &str) -> Result<(), ExecError> {
        if ctx.kind != SockKind::Stream {
            return Err(ExecError::new(
                "ValueError",
                "only SOCK_STREAM type sockets are supported",
            )
            .at(r.span)
            .hint(format!(
                "{what} works on a stream (TCP or UNIX stream); a datagram socket has no stream to read to its end: use sendto/recvfrom"
            )));
        }
        if ctx.listening {
            return Err(ExecError::os(libc::ENOTCONN)
                .at(r.span)
                .hint("a listening socket only accepts: use the socket accept returned"));
        }
        Ok(())
    }

    pub(super) fn sendfile(
        &mut self,
        r: &Spanned<SockRef>,
        path: &Spanned<Expr>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let ctx = self.ctx(h)?;
        self.bulk_socket(&ctx, r, "sendfile")?;
        if ctx.mode == Mode::NonBlocking {
            // Python's socket.sendfile refuses them too.
            return Err(ExecError::new(
                "ValueError",
                "non-blocking sockets are not supported",
            )
            .at(r.span)
            .hint(format!(
                "setblocking {} true (or settimeout) first; a non-blocking socket sends with send",
                ctx.label
            )));
        }
        let p = self.text(path)?;
        let file =
            crate::files::open_for_reading(&p, &self.file_rules()).map_err(|e| e.at(path.span))?;
        let meta = file
            .metadata()
            .map_err(|e| file_error(e, &p).at(path.span))?;
        if meta.is_dir() {
            return Err(file_error(io::Error::from_raw_os_error(libc::EISDIR), &p).at(path.span));
        }
        if !meta.is_file() {
            return Err(ExecError::usage(format!(
                "`{p}` is not a regular file (a device or a pipe): sendfile sends files"
            ))
            .at(path.span)
            .hint("for endless zeros: send c zeros 1G"));
        }
        let shown = crate::value::path_text(p.as_bytes());
        // procfs and sysfs give a size of 0 or 4096 whatever a file holds:
        // such a file is read to its end.
        let len = (meta.len() > 0 && !size_is_made_up(&file)).then_some(meta.len());
        self.call(
            ctx,
            Box::new(move |ctx: &Ctx, out: &mut dyn Sink| {
                sendfile_work(ctx, file, len, &shown, out)
            }),
            out,
        )
    }

    /// `recv c discard [N]`, `recvfile c PATH [N]`.
    pub(super) fn recv_bulk(
        &mut self,
        r: &Spanned<SockRef>,
        into: &BulkInto,
        limit: Option<&Spanned<Expr>>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let ctx = self.ctx(h)?;
        let what = match into {
            BulkInto::Discard => "recv ... discard",
            BulkInto::File(_) => "recvfile",
        };
        self.bulk_socket(&ctx, r, what)?;
        let limit = match limit {
            Some(e) => Some(self.size(e)?),
            None => None,
        };
        let dest = match into {
            BulkInto::Discard => Dest::Discard,
            BulkInto::File(path) => {
                let p = self.text(path)?;
                // Written aside and put in place at the end (see files.rs):
                // a failed transfer leaves the target as it was.
                let file = self.new_file(&p).map_err(|e| e.at(path.span))?;
                let shown = file.shown().to_string();
                Dest::File(file, shown)
            }
        };
        self.call(
            ctx,
            Box::new(move |ctx: &Ctx, out: &mut dyn Sink| recv_bulk_work(ctx, dest, limit, out)),
            out,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_line_has_a_bar_a_rate_and_time_left() {
        let mut m = Meter::new("send(fd 4)".into(), Some(1 << 30));
        m.done = 1 << 29;
        m.start = Instant::now() - Duration::from_secs(2);
        let l = m.line(None);
        assert!(
            l.starts_with("send(fd 4) [##########..........]  50%"),
            "{l}"
        );
        assert!(l.contains("512.0 MiB of 1.0 GiB"), "{l}");
        assert!(l.contains("MB/s"), "{l}");
        assert!(l.ends_with("0:02 left"), "{l}");
        let mut u = Meter::new("recv(fd 5)".into(), None);
        u.done = 3 << 20;
        assert!(u.line(Some("data")).contains("3.0 MiB"));
        assert!(u.summary().starts_with("3145728 bytes (3.0 MiB) in "));
    }

    #[test]
    fn clocks() {
        assert_eq!(clock(7.4), "0:07");
        assert_eq!(clock(3723.0), "1:02:03");
    }
}

//! The loop that follows one running program: its reports, its output
//! (when it goes through pipes), and its end. The foreground (`watch`,
//! `run` without `&`) and a background job run the same loop; they differ
//! in where the items go and in what stops the program.

use super::launch::Launched;
use super::proto::{self, Frames};
use super::track::Tracker;
use crate::exec::{Item, Sink};
use crate::value::escape_controls;
use std::io::Read;
use std::os::fd::{AsRawFd, RawFd};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

/// The longest one poll lasts (the cancel flags and connects that may be
/// waiting are looked at between two).
const SLICE: Duration = Duration::from_millis(20);

/// A line of output longer than this is shown in pieces.
const LINE_MAX: usize = 4096;

/// A partial line (a prompt without its newline) is shown once the
/// program has written nothing more for this long.
const PARTIAL_AFTER: Duration = Duration::from_millis(60);

/// One output pipe of the program (stdout or stderr), cut into lines.
struct Lines {
    pipe: Option<std::fs::File>,
    buf: Vec<u8>,
    last: Instant,
    err: bool,
}

impl Lines {
    fn new(pipe: Option<std::fs::File>, err: bool) -> Lines {
        Lines {
            pipe,
            buf: Vec::new(),
            last: Instant::now(),
            err,
        }
    }

    fn fd(&self) -> Option<RawFd> {
        self.pipe.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Text the program printed, sent over the report channel.
    fn push(&mut self, data: &[u8], who: &str) -> Vec<Item> {
        self.buf.extend_from_slice(data);
        self.last = Instant::now();
        self.lines(who, false)
    }

    /// The whole lines gathered (and the rest, at the end).
    fn lines(&mut self, who: &str, ended: bool) -> Vec<Item> {
        let mut out = Vec::new();
        while let Some(k) = self.buf.iter().position(|&c| c == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=k).collect();
            self.push_line(&line[..line.len() - 1], who, &mut out);
        }
        while self.buf.len() >= LINE_MAX {
            let line: Vec<u8> = self.buf.drain(..LINE_MAX).collect();
            self.push_line(&line, who, &mut out);
        }
        if ended && !self.buf.is_empty() {
            let line = std::mem::take(&mut self.buf);
            self.push_line(&line, who, &mut out);
        }
        out
    }

    /// Reads what is there; returns the whole lines as items.
    fn read(&mut self, who: &str) -> Vec<Item> {
        let Some(p) = &mut self.pipe else {
            return Vec::new();
        };
        let mut chunk = [0u8; 16 * 1024];
        let mut ended = false;
        // At most 1 MiB a turn, so that reports are read in between.
        for _ in 0..64 {
            match p.read(&mut chunk) {
                Ok(0) => {
                    ended = true;
                    break;
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    self.last = Instant::now();
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        if ended {
            self.pipe = None;
        }
        self.lines(who, ended)
    }

    /// A partial line left alone long enough (a prompt).
    fn partial(&mut self, who: &str, now: Instant) -> Vec<Item> {
        if self.buf.is_empty() || now.duration_since(self.last) < PARTIAL_AFTER {
            return Vec::new();
        }
        let line = std::mem::take(&mut self.buf);
        let mut out = Vec::new();
        self.push_line(&line, who, &mut out);
        out
    }

    fn push_line(&self, line: &[u8], who: &str, out: &mut Vec<Item>) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        out.push(Item::Output {
            who: who.to_string(),
            text: escape_controls(&String::from_utf8_lossy(line)),
            err: self.err,
        });
    }
}

/// How the program ended.
#[derive(Clone, Debug)]
pub struct Ended {
    pub status: ExitStatus,
    pub elapsed: Duration,
    /// Its TCP connections, (local, peer, its name for the socket): their
    /// ends keep their names in `states` and `diagram` after it ended.
    pub connections: Vec<(std::net::SocketAddr, std::net::SocketAddr, String)>,
}

impl Ended {
    /// The status a shell would give: the code, or 128 + the signal.
    pub fn code(&self) -> i32 {
        use std::os::unix::process::ExitStatusExt;
        match (self.status.code(), self.status.signal()) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            _ => 1,
        }
    }

    /// `exited with status 0`, `ended by SIGINT (Ctrl-C)`.
    pub fn words(&self) -> String {
        use std::os::unix::process::ExitStatusExt;
        match (self.status.code(), self.status.signal()) {
            (Some(c), _) => format!("exited with status {c}"),
            (None, Some(s)) => {
                let name = match s {
                    libc::SIGINT => "SIGINT (Ctrl-C)",
                    libc::SIGTERM => "SIGTERM",
                    libc::SIGKILL => "SIGKILL",
                    libc::SIGPIPE => "SIGPIPE (it wrote to a closed pipe or socket)",
                    libc::SIGSEGV => "SIGSEGV (a crash)",
                    libc::SIGABRT => "SIGABRT",
                    _ => "a signal",
                };
                format!("ended by signal {s}, {name} (status {})", 128 + s)
            }
            _ => "ended".into(),
        }
    }
}

/// A running program and what follows it.
pub struct Watched {
    pub launched: Launched,
    pub tracker: Tracker,
    frames: Frames,
    /// The report channel is at its end (every holder closed it).
    reports_done: bool,
    out: Lines,
    err: Lines,
    /// Who the output lines are from (`[1]`).
    pub who: String,
    pub started: Instant,
}

impl Watched {
    pub fn new(mut launched: Launched, tracker: Tracker, who: String) -> Watched {
        let out = launched.stdout.take();
        let err = launched.stderr.take();
        Watched {
            launched,
            tracker,
            frames: Frames::default(),
            reports_done: false,
            out: Lines::new(out, false),
            err: Lines::new(err, true),
            who,
            started: Instant::now(),
        }
    }

    /// Reads the program's output pipes (what it wrote before its latest
    /// reports comes before them).
    fn read_output(&mut self, out: &mut dyn Sink) {
        let who = self.who.clone();
        for l in [&mut self.out, &mut self.err] {
            for it in l.read(&who) {
                out.emit(it);
            }
        }
    }

    /// Reads every report there is now. `shown` makes the items shown so
    /// far visible (before the program is told to go on writing).
    fn read_reports(&mut self, out: &mut dyn Sink) {
        if self.reports_done {
            return;
        }
        let fd = self.launched.reports.as_raw_fd();
        let mut chunk = vec![0u8; 64 * 1024];
        for _ in 0..64 {
            // SAFETY: reading into a buffer we own, at most its length.
            let n = unsafe { libc::read(fd, chunk.as_mut_ptr().cast(), chunk.len()) };
            if n == 0 {
                self.reports_done = true;
                break;
            }
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                if e.kind() != std::io::ErrorKind::WouldBlock {
                    self.reports_done = true;
                }
                break;
            }
            if self.frames.broken {
                // Not the hook's stream any more: what comes is read and
                // dropped (unread, it would fill the channel and stop the
                // program at its next report, for ever), and a byte answers
                // each read, so that a sync the hook asks for does not wait.
                // SAFETY: writing one byte from a static buffer.
                unsafe {
                    libc::write(fd, b"k".as_ptr().cast(), 1);
                }
                if (n as usize) < chunk.len() {
                    break;
                }
                continue;
            }
            self.frames.push(&chunk[..n as usize]);
            while let Some(frame) = self.frames.next_frame() {
                // The program's output written before this report.
                self.read_output(out);
                let report = proto::parse(&frame);
                if let Ok(proto::Report::Call(c)) = &report
                    && c.phase != proto::Phase::Done
                {
                    // It is about to wait: what it printed without a
                    // newline (a prompt) is all there is for now.
                    let who = self.who.clone();
                    let now = Instant::now() + PARTIAL_AFTER;
                    for l in [&mut self.out, &mut self.err] {
                        for it in l.partial(&who, now) {
                            out.emit(it);
                        }
                    }
                }
                let (items, sync) = match report {
                    Ok(proto::Report::Output { fd, data, .. }) => {
                        let who = self.who.clone();
                        let l = if fd == 2 {
                            &mut self.err
                        } else {
                            &mut self.out
                        };
                        (l.push(&data, &who), false)
                    }
                    Ok(r) => self.tracker.feed(r),
                    Err(g) => (self.tracker.garbage(&g.0), false),
                };
                for it in items {
                    out.emit(it);
                }
                if sync {
                    out.idle();
                    // SAFETY: writing one byte from a static buffer.
                    unsafe {
                        libc::write(fd, b"k".as_ptr().cast(), 1);
                    }
                }
            }
            if self.frames.broken {
                out.emit(Item::Warn(
                    "the program wrote something that is not a report on sockplay's channel (a frame longer than \
                     any report): its calls are not shown from here on"
                        .into(),
                ));
                break;
            }
            if (n as usize) < chunk.len() {
                break;
            }
        }
    }

    /// Whether the program has ended (reaped here).
    fn ended(&mut self) -> Option<ExitStatus> {
        // A traced program is reaped by its tracer (a wait from here would
        // take the tracer's stops).
        if let Some(t) = &self.launched.tracer {
            return t.status();
        }
        self.launched.child.try_wait().ok().flatten()
    }

    /// Follows the program for at most `slice`: reads, feeds, emits.
    /// Returns how it ended, once it has.
    pub fn step(&mut self, slice: Duration, out: &mut dyn Sink) -> Option<Ended> {
        if let Some(n) = self.launched.note.take() {
            out.emit(Item::Note(n));
        }
        if !slice.is_zero() {
            let mut fds: Vec<libc::pollfd> = self
                .fds()
                .into_iter()
                .map(|fd| libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            let ms = slice.min(SLICE).as_millis().max(1) as libc::c_int;
            // SAFETY: a valid slice of pollfds.
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        }
        self.read_reports(out);
        self.read_output(out);
        let now = Instant::now();
        let who = self.who.clone();
        for l in [&mut self.out, &mut self.err] {
            for it in l.partial(&who, now) {
                out.emit(it);
            }
        }
        for it in self.tracker.tick(now) {
            out.emit(it);
        }
        let status = self.ended()?;
        // Whatever it said before it ended.
        self.read_reports(out);
        self.read_output(out);
        if self.frames.pending() > 0 && !self.frames.broken {
            out.emit(Item::Warn(format!(
                "the program's last report was cut short ({} bytes of it came): it ended while writing it, \
                 or wrote on sockplay's channel itself",
                self.frames.pending()
            )));
        }
        for l in [&mut self.out, &mut self.err] {
            for it in l.partial(&who, now + PARTIAL_AFTER) {
                out.emit(it);
            }
        }
        Some(Ended {
            status,
            elapsed: self.started.elapsed(),
            connections: self.tracker.connections(),
        })
    }

    /// Sends a signal to the program (and, for a job, its process group).
    pub fn signal(&self, sig: libc::c_int, group: bool) {
        let pid = self.launched.pid;
        // SAFETY: kill(2) with a pid we started (not yet reaped: the
        // caller reaps only through step()).
        unsafe {
            if group {
                libc::kill(-pid, sig);
            }
            libc::kill(pid, sig);
        }
    }

    /// Ends the program: SIGTERM, then SIGKILL if it lingers. Returns how
    /// it ended.
    pub fn stop(&mut self, group: bool, out: &mut dyn Sink) -> Ended {
        self.signal(libc::SIGTERM, group);
        let until = Instant::now() + Duration::from_secs(1);
        loop {
            if let Some(e) = self.step(SLICE, out) {
                if group {
                    // What it left in its group (a forked worker that
                    // ignores SIGTERM, or outlives a main that handled it)
                    // goes too: stopping a job leaves nothing running. The
                    // group's number is not reused while a member lives.
                    // SAFETY: kill(2) of our job's process group.
                    unsafe { libc::kill(-self.launched.pid, libc::SIGKILL) };
                }
                return e;
            }
            if Instant::now() >= until {
                self.signal(libc::SIGKILL, group);
                // SIGKILL cannot be caught: the end is near.
                let status = match &self.launched.tracer {
                    Some(t) => {
                        let until = Instant::now() + Duration::from_secs(5);
                        loop {
                            if let Some(s) = t.status() {
                                break Ok(s);
                            }
                            if Instant::now() >= until {
                                break Err(std::io::Error::other("not reaped"));
                            }
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                    None => self.launched.child.wait(),
                };
                self.read_reports(out);
                self.read_output(out);
                return Ended {
                    status: status.unwrap_or_else(|_| {
                        use std::os::unix::process::ExitStatusExt;
                        ExitStatus::from_raw(libc::SIGKILL)
                    }),
                    elapsed: self.started.elapsed(),
                    connections: self.tracker.connections(),
                };
            }
        }
    }

    /// The descriptors to poll for this program now (its reports while
    /// they last, its end, its open output pipes).
    pub fn fds(&self) -> Vec<RawFd> {
        let mut v = Vec::with_capacity(4);
        if !self.reports_done {
            v.push(self.launched.reports.as_raw_fd());
        }
        if let Some(p) = &self.launched.pidfd {
            v.push(p.as_raw_fd());
        }
        v.extend(self.out.fd());
        v.extend(self.err.fd());
        v
    }

    /// The program's pidfd (to look at its sockets).
    pub fn pidfd(&self) -> Option<RawFd> {
        self.launched.pidfd.as_ref().map(AsRawFd::as_raw_fd)
    }
}

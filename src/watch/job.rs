//! `run PROGRAM ... &`: a watched program as a background job of the shell.
//!
//! The job's thread follows the program (the same loop as the
//! foreground); the session keeps a handle to it ([`Program`]) for what the
//! shell asks of a running program: its sockets for `sockets`, its
//! connections for `states`, its listening address for `connect k %1`, a
//! line for its stdin (`input %1 "text"`), and whether it has settled.
//!
//! Where its lines go: in the interactive shell, above the prompt as they
//! come (the job printer); in a script, into a buffer that the session
//! empties after each statement, once the program has *settled* (every
//! thread waits for something outside: a socket, a line, another thread),
//! so that a lesson prints the same thing every time.

use super::launch::{self, Stdio3};
use super::pump::Watched;
use super::track::{Context, Setup, Tracker};
use super::{Level, program_name};
use crate::errors::ExecError;
use crate::exec::{Item, Row, Sink};
use crate::jobs::{JobPrinter, Task};
use crate::wait::Cancel;
use socket2::SockAddr;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A script keeps at most this many of a program's items between two
/// statements (a flood is counted, not kept).
const BUFFER_MAX: usize = 20_000;

/// A program's output is quiet once nothing came for this long.
const QUIET: Duration = Duration::from_millis(40);

/// What a job's thread has emitted and the session has not shown yet.
#[derive(Default)]
struct Buffered {
    items: Vec<Item>,
    dropped: usize,
}

/// A program running in the background.
pub struct Program {
    pub id: usize,
    /// `tcp_server.py`.
    pub name: String,
    pub pid: i32,
    watched: Mutex<Watched>,
    stdin: Mutex<Option<std::fs::File>>,
    buffer: Mutex<Buffered>,
    printer: Option<JobPrinter>,
    ended: AtomicBool,
    /// When the program last said or did something.
    activity: Mutex<Instant>,
    /// The CPU time its threads have used (ns), and since when it is that.
    cpu: Mutex<(u64, Instant)>,
    /// It runs in python3: it will say hello (and input() reads what
    /// `input %1` types).
    pub python: bool,
    /// The lab host it runs on (`on a run ... &`), and its address: its
    /// sockets are there.
    pub host: Option<(String, std::net::Ipv4Addr)>,
}

impl Program {
    /// `[1] tcp_server.py`, for the OWNER column.
    pub fn owner(&self) -> String {
        format!("[{}] {}", self.id, self.name)
    }

    fn emit(&self, items: Vec<Item>) {
        if items.is_empty() {
            return;
        }
        if let Ok(mut t) = self.activity.lock() {
            *t = Instant::now();
        }
        match &self.printer {
            Some(p) => p(items),
            None => {
                if let Ok(mut b) = self.buffer.lock() {
                    for it in items {
                        if b.items.len() < BUFFER_MAX {
                            b.items.push(it);
                        } else {
                            b.dropped += 1;
                        }
                    }
                }
            }
        }
    }

    /// What a script has not shown yet.
    pub fn take(&self) -> Vec<Item> {
        let Ok(mut b) = self.buffer.lock() else {
            return Vec::new();
        };
        let mut items = std::mem::take(&mut b.items);
        if b.dropped > 0 {
            items.push(Item::Warn(format!(
                "[{}] {} more lines not shown (a script keeps {BUFFER_MAX} between two commands)",
                self.id, b.dropped
            )));
            b.dropped = 0;
        }
        items
    }

    pub fn is_ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    /// Writes a line to the program's stdin (`input %1 "text"`); None
    /// closes it (the program's next read gets the end of its input).
    pub fn input(&self, line: Option<&[u8]>) -> Result<(), ExecError> {
        let mut guard = self
            .stdin
            .lock()
            .map_err(|_| ExecError::usage("the program's input is not available"))?;
        let Some(pipe) = guard.as_mut() else {
            return Err(ExecError::os(libc::EPIPE)
                .hint("the program's input was closed already (input %N eof)"));
        };
        let Some(line) = line else {
            *guard = None;
            return Ok(());
        };
        let mut data = line.to_vec();
        data.push(b'\n');
        match pipe.write_all(&data) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Err(ExecError::os(
                libc::EAGAIN,
            )
            .hint("the program is not reading its input: its pipe is full (64 KiB waiting)")),
            Err(e) => {
                let mut x = ExecError::from(e);
                if x.is_errno(libc::EPIPE) {
                    x.hint = Some("the program has closed its input (or has ended)".into());
                }
                Err(x)
            }
        }
    }

    /// Its sockets as table rows.
    pub fn rows(&self) -> Vec<Row> {
        let Ok(w) = self.watched.lock() else {
            return Vec::new();
        };
        if self.is_ended() {
            return Vec::new();
        }
        let mut rows = super::peek::program_rows(&w.tracker, w.pidfd(), &self.owner());
        if let Some((h, _)) = &self.host {
            for r in &mut rows {
                r.host = h.clone();
            }
        }
        rows
    }

    /// Its TCP connections: (local, peer, label).
    pub fn connections(&self) -> Vec<(SocketAddr, SocketAddr, String)> {
        self.watched
            .lock()
            .map(|w| {
                w.tracker
                    .connections()
                    .into_iter()
                    .map(|(l, p, label)| (l, p, format!("[{}] {label}", self.id)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Where a client reaches it.
    pub fn service_address(&self, udp: bool) -> Option<SockAddr> {
        let host = self.host.as_ref().map(|(_, ip)| *ip);
        self.watched.lock().ok()?.tracker.service_address(udp, host)
    }

    /// Whether the program has settled: it has ended, or it has been quiet
    /// a moment and every thread of it waits for something outside (a
    /// reported wait, or blocked in the kernel in something else: a lock,
    /// a read); a sleep is not settled, it ends by itself.
    pub fn settled(&self) -> bool {
        if self.is_ended() {
            return true;
        }
        // A program starting: a Python program until its start-up module
        // has said hello (python3 may be a shim that runs other programs
        // first), any other for a moment.
        if let Ok(w) = self.watched.lock()
            && !w.tracker.hooked
            && (self.python || w.started.elapsed() < Duration::from_millis(700))
        {
            return false;
        }
        if self.activity.lock().is_ok_and(|t| t.elapsed() < QUIET) {
            return false;
        }
        let Ok(w) = self.watched.lock() else {
            return true;
        };
        if w.tracker.last_report.is_some_and(|t| t.elapsed() < QUIET) {
            return false;
        }
        // A program that has used the CPU lately is working (a thread just
        // woken, between two reports).
        let family = family_of(w.tracker.pids.keys().copied());
        let used: u64 = family
            .iter()
            .map(|&pid| cpu_ns(pid))
            .fold(0, u64::wrapping_add);
        if let Ok(mut c) = self.cpu.lock() {
            if c.0 != used {
                *c = (used, Instant::now());
                return false;
            }
            if c.1.elapsed() < QUIET {
                return false;
            }
        }
        let waits = w.tracker.waits();
        // A wait whose socket (or input) is ready now is about to end: the
        // statement just made it so.
        for (&(pid, _), wait) in waits {
            if wait.fds.is_empty() {
                continue;
            }
            let own;
            let pidfd = if pid == w.tracker.setup.main_pid {
                w.pidfd()
            } else {
                own = super::launch::pidfd_open(pid);
                own.as_ref().map(std::os::fd::AsRawFd::as_raw_fd)
            };
            if let Some(pidfd) = pidfd
                && wait
                    .fds
                    .iter()
                    .any(|&(fd, ev)| super::peek::ready(pidfd, fd, ev))
            {
                return false;
            }
        }
        for &pid in &family {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            for t in tasks.flatten().take(10_000) {
                let Ok(tid) = t.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                match waits.get(&(pid, tid)) {
                    Some(wait) if wait.settled => continue,
                    Some(_) => return false,
                    None => {}
                }
                // stat: "tid (name) S ...": the state after the name's ')'.
                let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat"))
                    .unwrap_or_default();
                let state = stat
                    .rfind(')')
                    .and_then(|k| stat[k + 1..].split_whitespace().next())
                    .unwrap_or("S");
                if state == "R" {
                    return false;
                }
            }
        }
        true
    }

    /// `jobs`' words for it now.
    pub fn state(&self) -> String {
        match self.watched.lock() {
            Ok(w) => format!("pid {}: {}", self.pid, w.tracker.state()),
            Err(_) => "running".into(),
        }
    }
}

/// How much every thread of `pid` has run so far: the sum of its run
/// times (ns) and of the times it was scheduled in
/// (/proc/PID/task/TID/schedstat, fields 1 and 3). The count changes the
/// moment a thread is woken and runs; the time only when it stops.
fn cpu_ns(pid: i32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .take(10_000)
        .filter_map(|t| {
            let s = std::fs::read_to_string(t.path().join("schedstat")).ok()?;
            let mut f = s.split_whitespace();
            let ran: u64 = f.next()?.parse().ok()?;
            let runs: u64 = f.nth(1)?.parse().ok()?;
            Some(ran.wrapping_add(runs.wrapping_mul(1 << 40)))
        })
        .fold(0u64, u64::wrapping_add)
}

/// The processes `pids` and their descendants (a shell script's commands,
/// a server's forked children), from /proc/PID/task/TID/children.
fn family_of(pids: impl Iterator<Item = i32>) -> Vec<i32> {
    let mut all: Vec<i32> = pids.collect();
    let mut k = 0;
    while k < all.len() && all.len() < 1024 {
        let pid = all[k];
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for t in tasks.flatten().take(1024) {
                let kids = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
                for c in kids
                    .split_whitespace()
                    .filter_map(|c| c.parse::<i32>().ok())
                {
                    if !all.contains(&c) {
                        all.push(c);
                    }
                }
            }
        }
        k += 1;
    }
    all
}

/// The programs running in the background, by job number.
#[derive(Default)]
pub struct Programs {
    list: Vec<Arc<Program>>,
    /// The connections of programs collected since (the last 1024), so
    /// that `states` still names their ends.
    gone: std::collections::VecDeque<(SocketAddr, SocketAddr, String)>,
}

impl Programs {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn push(&mut self, p: Arc<Program>) {
        self.list.push(p);
    }

    pub fn get(&self, id: usize) -> Option<&Arc<Program>> {
        self.list.iter().find(|p| p.id == id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Program>> {
        self.list.iter()
    }

    /// Keeps the connections of a program that ran in the foreground (or
    /// was collected), so that `states` and `diagram` still name its ends.
    pub fn remember(&mut self, conns: Vec<(SocketAddr, SocketAddr, String)>) {
        for c in conns {
            if self.gone.len() >= 1024 {
                self.gone.pop_front();
            }
            self.gone.push_back(c);
        }
    }

    /// Forgets job `id` (collected); returns what it had not shown.
    pub fn remove(&mut self, id: usize) -> Vec<Item> {
        let Some(k) = self.list.iter().position(|p| p.id == id) else {
            return Vec::new();
        };
        let p = self.list.remove(k);
        self.remember(p.connections());
        p.take()
    }

    /// Waits (at most `max`) until every program has settled, then hands
    /// over what they said (a script's only; the interactive shell's went
    /// to the printer).
    pub fn settle(&self, max: Duration, cancel: &Cancel) -> Vec<Item> {
        let until = Instant::now() + max;
        while Instant::now() < until && !cancel.is_set() {
            if self.list.iter().all(|p| p.settled()) {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut out = Vec::new();
        for p in &self.list {
            out.extend(p.take());
        }
        out
    }

    /// Every program's sockets.
    pub fn rows(&self) -> Vec<Row> {
        self.list.iter().flat_map(|p| p.rows()).collect()
    }

    /// The program (`[1] tcp_server.py`) with an open socket of this name.
    pub fn owner_of(&self, name: &str) -> Option<String> {
        self.list
            .iter()
            .find(|p| {
                !p.is_ended()
                    && p.watched
                        .lock()
                        .is_ok_and(|w| w.tracker.has_socket_named(name))
            })
            .map(|p| p.owner())
    }

    /// The programs' descriptors of the socket whose inode is `ino` (one
    /// passed to them with SCM_RIGHTS): `conn (fd 5) of [1] server.py`.
    pub fn holders(&self, ino: u64) -> Vec<String> {
        let want = format!("socket:[{ino}]");
        let mut out = Vec::new();
        for p in self.list.iter().filter(|p| !p.is_ended()) {
            let Ok(w) = p.watched.lock() else { continue };
            for &pid in w.tracker.pids.keys() {
                let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
                    continue;
                };
                for e in dir.flatten().take(1 << 20) {
                    if !std::fs::read_link(e.path()).is_ok_and(|l| l.as_os_str() == want.as_str()) {
                        continue;
                    }
                    let Some(fd) = e.file_name().to_str().and_then(|f| f.parse::<i32>().ok())
                    else {
                        continue;
                    };
                    let who = match w.tracker.label_of(pid, fd) {
                        Some(l) if !l.starts_with("fd ") => format!("{l} (fd {fd})"),
                        _ => format!("fd {fd}"),
                    };
                    out.push(format!("{who} of {}", p.owner()));
                }
            }
        }
        out
    }

    /// Every program's TCP connections.
    pub fn connections(&self) -> Vec<(SocketAddr, SocketAddr, String)> {
        self.list
            .iter()
            .flat_map(|p| p.connections())
            .chain(self.gone.iter().rev().cloned())
            .collect()
    }
}

/// The emit side of a program's items on its job's thread.
struct ToProgram<'a> {
    p: &'a Program,
    batch: Vec<Item>,
}

impl Sink for ToProgram<'_> {
    fn emit(&mut self, item: Item) {
        self.batch.push(item);
    }
}

impl ToProgram<'_> {
    fn send(&mut self) {
        let b = std::mem::take(&mut self.batch);
        if b.is_empty() {
            return;
        }
        self.p.emit(b);
        // The shell's own lines may come next: the program's next call
        // says where it is again.
        if let Ok(mut w) = self.p.watched.lock() {
            w.tracker.break_continuity();
        }
    }
}

/// Starts `argv` in the background as job `id`: returns its handle and
/// the task its job's thread runs.
pub(crate) fn start(
    id: usize,
    argv: &[String],
    level: Level,
    ctx: Context,
    printer: Option<JobPrinter>,
    host: Option<(String, std::net::Ipv4Addr)>,
) -> Result<(Arc<Program>, Task), ExecError> {
    let argv = launch::resolve(argv);
    let launched = launch::launch(&argv, Stdio3::Pipes)
        .map_err(|e| super::launch_error(e, argv.first().map_or("", String::as_str)))?;
    let setup = Setup {
        job: Some(id),
        level,
        foreground: false,
        cwd: launched.cwd.clone(),
        main_pid: launched.pid,
    };
    let pid = launched.pid;
    let mut launched = launched;
    let stdin = launched.stdin.take();
    let tracker = Tracker::new(setup, ctx);
    let w = Watched::new(launched, tracker, format!("[{id}]"));
    let name = program_name(&argv);
    let p = Arc::new(Program {
        id,
        name: name.clone(),
        pid,
        watched: Mutex::new(w),
        stdin: Mutex::new(stdin),
        buffer: Mutex::default(),
        printer,
        ended: AtomicBool::new(false),
        activity: Mutex::new(Instant::now()),
        cpu: Mutex::new((0, Instant::now())),
        python: argv.first().is_some_and(|a| {
            std::path::Path::new(a)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("python"))
        }),
        host,
    });
    let q = Arc::clone(&p);
    let task: Task = Box::new(move |cancel: &Cancel, sink: &mut dyn Sink| follow(&q, cancel, sink));
    Ok((p, task))
}

/// The job's thread: follows the program until it ends or is killed.
fn follow(
    p: &Program,
    cancel: &Cancel,
    sink: &mut dyn Sink,
) -> Result<crate::exec::Ret, ExecError> {
    let mut out = ToProgram {
        p,
        batch: Vec::new(),
    };
    let mut proc_watch = super::peek::ProcWatch::new(p.pid, format!("[{}]", p.id));
    let mut last_state = String::new();
    let started = Instant::now();
    loop {
        if cancel.is_set() {
            let end = match p.watched.lock() {
                Ok(mut w) => Some(w.stop(true, &mut out)),
                Err(_) => None,
            };
            out.send();
            p.ended.store(true, Ordering::SeqCst);
            if let Some(end) = end {
                sink.emit(Item::Done(format!("{} {}", p.name, end.words())));
            }
            return Err(ExecError::interrupted());
        }
        let open = p.watched.lock().map(|w| w.fds()).unwrap_or_default();
        let mut fds: Vec<libc::pollfd> = open
            .iter()
            .map(|&fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: a valid slice of pollfds (their descriptors live as long
        // as `p.watched`, which this thread's `p` holds).
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 20) };
        let (end, hooked) = match p.watched.lock() {
            Ok(mut w) => (w.step(Duration::ZERO, &mut out), w.tracker.hooked),
            Err(_) => (None, true),
        };
        if !hooked && started.elapsed() > Duration::from_millis(150) {
            for it in proc_watch.poll() {
                out.emit(it);
            }
        }
        out.send();
        let state = p.state();
        if state != last_state {
            sink.emit(Item::Progress(state.clone()));
            last_state = state;
        }
        if let Some(end) = end {
            p.ended.store(true, Ordering::SeqCst);
            // The input pipe goes with the program.
            if let Ok(mut s) = p.stdin.lock() {
                *s = None;
            }
            if end.code() != 0 {
                return Err(ExecError::usage(format!("{} {}", p.name, end.words())));
            }
            sink.emit(Item::Done(format!("{} {}", p.name, end.words())));
            return Ok(crate::exec::Ret::none());
        }
    }
}

//! `c10k [N]`: the C10K question, measured live. N TCP connections to
//! 127.0.0.1, plus one socket with a byte waiting, and what select, poll
//! and epoll cost to find that one among them.
//!
//! The other ends of the connections are held by a helper process (this
//! program again, started with SOCKPLAY_HOLD_CONNECTIONS set, the
//! listening socket as its stdin), so the shell holds N descriptors, not
//! 2N. The helper ends when its stdout pipe is closed (or when the shell
//! dies). Nothing of this joins the socket table: it is all closed when the
//! command ends.

use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::syntax::ast::{Expr, Spanned};
use crate::value::Value;
use crate::wait;
use socket2::{Domain, SockAddr, Socket, Type};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable that makes this program the helper.
pub const HOLD_ENV: &str = "SOCKPLAY_HOLD_CONNECTIONS";

/// Descriptors kept free for the shell itself (the line editor, the
/// capture, the helper's pipe, the sockets of the table are counted apart).
const SPARE: u64 = 64;

/// The most connections c10k opens.
const MAX_N: i64 = 100_000;

/// Connects issued before waiting for them.
const BATCH: usize = 256;

/// The small set the large one is compared with.
const SMALL: usize = 100;

/// How long each measurement runs (at least 5 calls).
const MEASURE_FOR: Duration = Duration::from_millis(300);

/// The helper: accepts every connection on stdin (a listening socket) and
/// holds it, until its stdout pipe has no reader (the shell closed it, or
/// died). Never returns.
pub fn hold_connections() -> ! {
    // SAFETY: plain system calls on descriptors this process owns; the
    // only memory is the vector of accepted descriptors.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // Only as the shell starts it: a listening socket on stdin.
        let mut listening: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        if libc::getsockopt(
            0,
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&mut listening as *mut libc::c_int).cast(),
            &mut len,
        ) != 0
            || listening == 0
        {
            eprintln!(
                "sockplay: {HOLD_ENV} is for the helper of c10k (stdin must be a listening socket)"
            );
            libc::_exit(2);
        }
        let mut held: Vec<RawFd> = Vec::new();
        loop {
            let mut fds = [
                libc::pollfd {
                    fd: 0,
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: 1,
                    events: 0,
                    revents: 0,
                },
            ];
            if libc::poll(fds.as_mut_ptr(), 2, 1000) < 0 {
                continue;
            }
            if fds[1].revents & (libc::POLLERR | libc::POLLHUP) != 0 || libc::getppid() == 1 {
                libc::_exit(0);
            }
            if fds[0].revents & libc::POLLIN != 0 {
                for _ in 0..1024 {
                    let fd = libc::accept4(
                        0,
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                    );
                    if fd < 0 {
                        break;
                    }
                    held.push(fd);
                }
            }
        }
    }
}

/// (soft, hard) limits on open descriptors.
fn nofile() -> (u64, u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return (1024, 1024);
    }
    (lim.rlim_cur, lim.rlim_max)
}

/// The median time of `f`, called for about [`MEASURE_FOR`].
fn median_of(mut f: impl FnMut()) -> (Duration, usize) {
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 5 || (start.elapsed() < MEASURE_FOR && times.len() < 100_000) {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    times.sort();
    (times[times.len() / 2], times.len())
}

/// poll(2) on these descriptors for POLLIN, no waiting; how many are ready.
fn poll_once(fds: &mut [libc::pollfd]) -> usize {
    // SAFETY: a valid slice of pollfds.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) };
    n.max(0) as usize
}

/// select(2) for reading on these descriptors, no waiting, with a bitmap
/// as large as the largest descriptor needs (Linux's select takes any
/// size; C's fd_set type, and so Python, holds 0 to 1023 only).
fn select_once(fds: &[RawFd], bits: &mut Vec<u64>) -> i32 {
    let max = fds.iter().copied().max().unwrap_or(0);
    let words = (max as usize) / 64 + 1;
    bits.clear();
    bits.resize(words, 0);
    for &fd in fds {
        bits[fd as usize / 64] |= 1u64 << (fd as usize % 64);
    }
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    // SAFETY: the bitmap holds max + 1 bits, as nfds says; the kernel
    // reads and writes only that many.
    unsafe {
        libc::select(
            max + 1,
            bits.as_mut_ptr().cast(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut tv,
        )
    }
}

/// An epoll instance watching `fds` for EPOLLIN; the time to register them.
fn epoll_of(fds: &[RawFd]) -> Result<(OwnedFd, Duration), ExecError> {
    // SAFETY: epoll_create1 returns a new descriptor or -1.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: a fresh descriptor we own.
    let ep = unsafe { OwnedFd::from_raw_fd(ep) };
    let start = Instant::now();
    for &fd in fds {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: fd as u64,
        };
        // SAFETY: valid descriptors, one event.
        if unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
    }
    Ok((ep, start.elapsed()))
}

fn epoll_once(ep: RawFd, events: &mut [libc::epoll_event]) -> usize {
    // SAFETY: a valid epoll descriptor and buffer.
    let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, 0) };
    n.max(0) as usize
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// The helper process and its pipe; ended when dropped.
struct Helper {
    child: Child,
}

impl Drop for Helper {
    fn drop(&mut self) {
        // Closing its stdout ends it; a kill if it is slow.
        drop(self.child.stdout.take());
        let end = Instant::now() + Duration::from_secs(3);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(10)),
                Ok(None) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return;
                }
            }
        }
    }
}

impl Session {
    pub(super) fn c10k(
        &mut self,
        n: Option<&Spanned<Expr>>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let asked = match n {
            Some(e) => {
                let v = self.int(e)?;
                if !(1..=MAX_N).contains(&v) {
                    return Err(ExecError::new(
                        "ValueError",
                        format!("c10k opens 1 to {MAX_N} connections"),
                    )
                    .at(e.span));
                }
                v as u64
            }
            None => 10_000,
        };
        let (soft, hard) = nofile();
        let used = self.table.len() as u64 + SPARE;
        out.emit(Item::Done(format!(
            "descriptors: this process may open {soft} (ulimit -n; raised at start to the hard limit, {hard})"
        )));
        let mut count = asked;
        if asked + used > soft {
            let fit = soft.saturating_sub(used);
            if fit < (SMALL as u64) * 2 {
                return Err(ExecError::os(libc::EMFILE).hint(format!(
                    "the limit on open descriptors is {soft} (hard limit {hard}): too few for this lesson; \
                     as root, `ulimit -Hn 20000` (or prlimit) raises it"
                )));
            }
            count = fit;
            out.emit(Item::Warn(format!(
                "the hard limit on descriptors is {hard}: {asked} connections need about {}, so this measures {count}; \
                 as root, `ulimit -Hn {}` before starting sockplay (or prlimit --nofile) makes room",
                asked + used,
                asked + used + 100
            )));
        }
        let count = count as usize;
        let cancel = self.cancel();
        // The listener, handed to the helper as its stdin.
        let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        listener.set_reuse_address(true)?;
        listener.bind(&SockAddr::from(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            0,
        ))))?;
        listener.listen(count.min(65535) as i32)?;
        let addr = listener.local_addr()?;
        // This very program, even if its file was replaced since it
        // started (/proc/self/exe still names the running one).
        let child = Command::new("/proc/self/exe")
            .env(HOLD_ENV, "1")
            .stdin(Stdio::from(OwnedFd::from(listener)))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                let mut x = ExecError::from(e);
                x.hint = Some(
                    "the helper process that holds the other ends (sockplay itself) could not start".into(),
                );
                x
            })?;
        let helper = Helper { child };
        out.emit(Item::Done(format!(
            "a helper process (pid {}) accepts on {} and holds the other ends, so this shell holds only its own",
            helper.child.id(),
            crate::value::addr_short(&addr)
        )));
        out.idle();
        // One socket with a byte waiting: what every call has to find. Made
        // first, so its number is low (a set that select can take holds it).
        let (ready, writer) = Socket::pair(Domain::UNIX, Type::STREAM, None)?;
        writer.send(b"!")?;
        // The connections, a batch at a time: connect without waiting,
        // then wait for the batch's handshakes.
        let start = Instant::now();
        let mut conns: Vec<Socket> = Vec::with_capacity(count);
        let mut last_progress = Instant::now();
        while conns.len() < count {
            if cancel.is_set() {
                return Err(ExecError::interrupted().hint("the connections made so far are closed"));
            }
            let batch = BATCH.min(count - conns.len());
            let mut pending = Vec::with_capacity(batch);
            for _ in 0..batch {
                let s =
                    Socket::new(Domain::IPV4, Type::STREAM.nonblocking(), None).map_err(|e| {
                        ExecError::from(e).hint(format!("after {} connections", conns.len()))
                    })?;
                match s.connect(&addr) {
                    Ok(()) => {}
                    Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
                    Err(e) => {
                        return Err(
                            ExecError::from(e).hint(format!("after {} connections", conns.len()))
                        );
                    }
                }
                pending.push(s);
            }
            let mut fds: Vec<libc::pollfd> = pending
                .iter()
                .map(|s| libc::pollfd {
                    fd: s.as_raw_fd(),
                    events: libc::POLLOUT,
                    revents: 0,
                })
                .collect();
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut done = vec![false; fds.len()];
            while done.iter().any(|d| !d) {
                let mut open: Vec<libc::pollfd> = fds
                    .iter()
                    .zip(&done)
                    .filter(|(_, d)| !**d)
                    .map(|(p, _)| *p)
                    .collect();
                match wait::wait_fds(&mut open, Some(deadline), &cancel) {
                    Ok(_) => {}
                    Err(wait::Stopped::Interrupted) => {
                        return Err(
                            ExecError::interrupted().hint("the connections made so far are closed")
                        );
                    }
                    Err(wait::Stopped::TimedOut) => {
                        return Err(ExecError::timeout().hint(format!(
                            "handshakes stopped completing after {} connections",
                            conns.len()
                        )));
                    }
                }
                for p in open.iter().filter(|p| p.revents != 0) {
                    if let Some(k) = fds.iter().position(|q| q.fd == p.fd) {
                        done[k] = true;
                    }
                }
                fds.iter_mut().for_each(|p| p.revents = 0);
            }
            for s in pending {
                if let Ok(Some(e)) = s.take_error() {
                    return Err(
                        ExecError::from(e).hint(format!("connection {} failed", conns.len() + 1))
                    );
                }
                conns.push(s);
            }
            if last_progress.elapsed() >= Duration::from_millis(250) {
                last_progress = Instant::now();
                out.emit(Item::Progress(format!(
                    "c10k: {} of {count} connections",
                    conns.len()
                )));
            }
        }
        out.emit(Item::Done(format!(
            "{count} TCP connections open in {} (connect on each, the helper accepting)",
            wait::human(start.elapsed())
        )));
        let mut all: Vec<RawFd> = conns.iter().map(AsRawFd::as_raw_fd).collect();
        all.push(ready.as_raw_fd());
        all.sort_unstable();
        // The lowest numbers, the ready one among them: a set select takes.
        let small: Vec<RawFd> = all[..SMALL.min(all.len())].to_vec();
        let max_fd = all.iter().copied().max().unwrap_or(0);
        out.emit(Item::Done(format!(
            "watching {} sockets (fd {} to {max_fd}) for one with data: fd {}",
            all.len(),
            all.iter().copied().min().unwrap_or(0),
            ready.as_raw_fd()
        )));
        out.idle();
        // Every call finds exactly the one ready socket, or the
        // measurement means nothing.
        let check = |what: &str, found: usize| -> Result<(), ExecError> {
            if found != 1 {
                return Err(ExecError::usage(format!(
                    "{what} found {found} ready sockets, not 1: something else is writing to them"
                )));
            }
            Ok(())
        };
        let mut rows: Vec<Vec<String>> = Vec::new();
        // select: C's fd_set (and Python) stop at 1023.
        let mut bits = Vec::new();
        let mut found = 0;
        let (t_sel_small, _) = median_of(|| found = select_once(&small, &mut bits) as usize);
        check("select", found)?;
        rows.push(vec![
            "select".into(),
            small.len().to_string(),
            us(t_sel_small),
            format!(
                "fds {} to {}: below {}, what C's fd_set (and Python's select.select) can hold",
                small.first().copied().unwrap_or(0),
                small.last().copied().unwrap_or(0),
                libc::FD_SETSIZE
            ),
        ]);
        rows.push(vec![
            "select".into(),
            all.len().to_string(),
            "-".into(),
            format!(
                "ValueError: filedescriptor out of range in select(): fd_set holds fds 0 to {} (FD_SETSIZE); fd {max_fd} does not fit",
                libc::FD_SETSIZE - 1
            ),
        ]);
        let (t_sel_big, _) = median_of(|| found = select_once(&all, &mut bits) as usize);
        check("select", found)?;
        rows.push(vec![
            "select(2) with a larger bitmap".into(),
            all.len().to_string(),
            us(t_sel_big),
            format!(
                "Linux takes {} bits; C's fd_set type and Python cannot",
                max_fd + 1
            ),
        ]);
        // poll: the whole array goes to the kernel, every call.
        let pollfds = |fds: &[i32]| -> Vec<libc::pollfd> {
            fds.iter()
                .map(|&fd| libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect()
        };
        let mut pfd_small = pollfds(&small);
        let (t_poll_small, _) = median_of(|| found = poll_once(&mut pfd_small));
        check("poll", found)?;
        let mut pfd_all = pollfds(&all);
        let (t_poll_all, calls) = median_of(|| found = poll_once(&mut pfd_all));
        check("poll", found)?;
        rows.push(vec![
            "poll".into(),
            small.len().to_string(),
            us(t_poll_small),
            "every pollfd copied in and checked, every call".into(),
        ]);
        rows.push(vec![
            "poll".into(),
            all.len().to_string(),
            us(t_poll_all),
            format!("median of {calls} calls"),
        ]);
        // epoll: the kernel keeps the list; a wait looks at the ready ones.
        let (ep_small, _) = epoll_of(&small)?;
        let (ep_all, t_add) = epoll_of(&all)?;
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 64];
        let (t_ep_small, _) = median_of(|| found = epoll_once(ep_small.as_raw_fd(), &mut events));
        check("epoll_wait", found)?;
        let (t_ep_all, calls) = median_of(|| found = epoll_once(ep_all.as_raw_fd(), &mut events));
        check("epoll_wait", found)?;
        rows.push(vec![
            "epoll_wait".into(),
            small.len().to_string(),
            us(t_ep_small),
            "only the ready list is looked at".into(),
        ]);
        rows.push(vec![
            "epoll_wait".into(),
            all.len().to_string(),
            us(t_ep_all),
            format!("median of {calls} calls"),
        ]);
        rows.push(vec![
            "epoll_ctl ADD, once".into(),
            all.len().to_string(),
            format!("{} in all", wait::human(t_add)),
            format!(
                "{} per socket, paid once",
                us(t_add / all.len().max(1) as u32)
            ),
        ]);
        out.emit(Item::Timeline {
            title: format!(
                "what it costs to find the 1 ready socket among {} (each call with no wait; median time a call)",
                all.len()
            ),
            head: vec!["call", "sockets", "time a call", "why"],
            rows,
        });
        // The lines the benchmark script reads.
        out.emit(Item::Done(format!(
            "select on {} sockets: {}",
            all.len(),
            us(t_sel_big)
        )));
        out.emit(Item::Done(format!(
            "poll on {} sockets: {}",
            all.len(),
            us(t_poll_all)
        )));
        out.emit(Item::Done(format!(
            "epoll on {} sockets: {}",
            all.len(),
            us(t_ep_all)
        )));
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
        out.emit(Item::Note(format!(
            "with {}x the sockets poll took {:.0}x as long and epoll_wait {:.1}x: poll and select hand the kernel the whole \
             list at every call and it checks each socket, while epoll's list lives in the kernel and a socket that \
             turns ready puts itself on the ready list. That is the C10K answer: epoll (kqueue on BSD), and an event \
             loop around it (Python's selectors.DefaultSelector, asyncio).",
            all.len() / small.len().max(1),
            ratio(t_poll_all, t_poll_small),
            ratio(t_ep_all, t_ep_small),
        )));
        // Close everything: the connections, then the helper.
        let closing = Instant::now();
        drop(conns);
        drop(ready);
        drop(writer);
        drop(helper);
        out.emit(Item::Done(format!(
            "closed the {count} connections and the helper in {}",
            wait::human(closing.elapsed())
        )));
        Ok(Ret::said(Value::Int(count as i64)))
    }
}

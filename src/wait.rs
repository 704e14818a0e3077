//! Blocking made visible and interruptible.
//!
//! Every wait of the shell is a `poll()` in short slices, between which the
//! cancel flags are checked. A SIGINT handler (signal-hook) only sets a
//! flag: signal-hook installs it with SA_RESTART, so a plain blocking
//! `recv` would be restarted by the kernel and never return; polling in
//! slices is what makes Ctrl-C reliable.

use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The longest one poll() lasts before the flags are checked again.
const SLICE: Duration = Duration::from_millis(25);

/// Flags any of which stops a wait: Ctrl-C for the foreground, a kill for
/// a background job.
#[derive(Clone, Debug, Default)]
pub struct Cancel {
    flags: Vec<Arc<AtomicBool>>,
}

impl Cancel {
    pub fn new(flags: Vec<Arc<AtomicBool>>) -> Self {
        Cancel { flags }
    }

    pub fn none() -> Self {
        Cancel::default()
    }

    pub fn is_set(&self) -> bool {
        self.flags.iter().any(|f| f.load(Ordering::SeqCst))
    }

    pub fn with(&self, flag: Arc<AtomicBool>) -> Cancel {
        let mut flags = self.flags.clone();
        flags.push(flag);
        Cancel { flags }
    }
}

/// How a wait ended without the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    TimedOut,
    Interrupted,
}

/// Waits until `fd` has one of `events` (returns the revents), the deadline
/// passes, or a cancel flag is set.
pub fn wait_fd(
    fd: RawFd,
    events: libc::c_short,
    deadline: Option<Instant>,
    cancel: &Cancel,
) -> Result<libc::c_short, Stopped> {
    loop {
        if cancel.is_set() {
            return Err(Stopped::Interrupted);
        }
        let now = Instant::now();
        let slice = match deadline {
            Some(d) if d <= now => return Err(Stopped::TimedOut),
            Some(d) => (d - now).min(SLICE),
            None => SLICE,
        };
        let mut p = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        let ms = slice.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut p, 1, ms) };
        if rc > 0 && p.revents != 0 {
            return Ok(p.revents);
        }
        // rc == 0: the slice passed; rc < 0: EINTR (a signal), look again.
    }
}

/// Waits until one of `fds` has one of its events (their revents are
/// filled in; returns how many), the deadline passes, or a cancel flag is
/// set. Python's select() and poll() semantics, interruptible.
pub fn wait_fds(
    fds: &mut [libc::pollfd],
    deadline: Option<Instant>,
    cancel: &Cancel,
) -> Result<usize, Stopped> {
    loop {
        if cancel.is_set() {
            return Err(Stopped::Interrupted);
        }
        let now = Instant::now();
        let slice = match deadline {
            Some(d) if d <= now => Duration::ZERO,
            Some(d) => (d - now).min(SLICE),
            None => SLICE,
        };
        for p in fds.iter_mut() {
            p.revents = 0;
        }
        let ms = slice.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: a valid slice of pollfds.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if rc > 0 {
            return Ok(rc as usize);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Stopped::TimedOut);
        }
    }
}

/// Sleeps until the deadline or a cancel flag.
pub fn sleep(d: Duration, cancel: &Cancel) -> Result<(), Stopped> {
    let end = Instant::now() + d;
    loop {
        if cancel.is_set() {
            return Err(Stopped::Interrupted);
        }
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        std::thread::sleep((end - now).min(SLICE));
    }
}

/// The process-wide Ctrl-C flag. The handler only stores `true`.
pub fn install_sigint() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    // If registering fails, Ctrl-C keeps its default action (ends the
    // program), which is still safe.
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&flag));
    flag
}

/// The longest timeout a call takes, in seconds: Python's (its clock
/// counts nanoseconds in 64 bits, about 292 years). Longer would not fit
/// the monotonic clock either: a deadline that far away overflows it.
pub const MAX_TIMEOUT_SECS: f64 = 9_223_372_036.0;

/// A timeout of `secs` seconds (not negative), or None when it does not
/// fit the clock (Python says OverflowError: timestamp out of range).
pub fn timeout_of(secs: f64) -> Option<Duration> {
    if secs <= MAX_TIMEOUT_SECS {
        Duration::try_from_secs_f64(secs).ok()
    } else {
        None
    }
}

/// A readable duration: `12 µs`, `3.4 ms`, `2.31 s`.
pub fn human(d: Duration) -> String {
    let us = d.as_micros();
    if us < 1000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_deadline_ends_the_wait() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("pair");
        let t = Instant::now();
        let r = wait_fd(
            a.as_raw_fd(),
            libc::POLLIN,
            Some(t + Duration::from_millis(60)),
            &Cancel::none(),
        );
        assert_eq!(r, Err(Stopped::TimedOut));
    }

    #[test]
    fn a_set_flag_interrupts() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("pair");
        let flag = Arc::new(AtomicBool::new(false));
        let f2 = Arc::clone(&flag);
        let th = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            f2.store(true, Ordering::SeqCst);
        });
        let r = wait_fd(
            a.as_raw_fd(),
            libc::POLLIN,
            Some(Instant::now() + Duration::from_secs(10)),
            &Cancel::new(vec![flag]),
        );
        assert_eq!(r, Err(Stopped::Interrupted));
        th.join().expect("thread");
    }

    #[test]
    fn data_wakes_it() {
        use std::io::Write;
        let (a, mut b) = std::os::unix::net::UnixStream::pair().expect("pair");
        b.write_all(b"x").expect("write");
        let r = wait_fd(
            a.as_raw_fd(),
            libc::POLLIN,
            Some(Instant::now() + Duration::from_secs(10)),
            &Cancel::none(),
        );
        assert!(r.is_ok_and(|ev| ev & libc::POLLIN != 0));
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_micros(12)), "12 µs");
        assert_eq!(human(Duration::from_micros(3400)), "3.4 ms");
        assert_eq!(human(Duration::from_millis(2310)), "2.31 s");
    }
}

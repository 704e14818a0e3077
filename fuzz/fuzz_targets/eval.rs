//! The evaluator on any input: the bytes are a session, one statement
//! line per line (at most 24 lines), run for real by one shell session
//! on live sockets. Nothing may panic, every item and every error must
//! render without a raw control character (what reaches the terminal), and
//! the session must close cleanly at the end.
//!
//! Sealed from the machine:
//! - the process moves into a network namespace of its own (root, or an
//!   unprivileged user namespace) with only `lo`, brought up: every address
//!   a statement names is loopback or unreachable, and nothing leaves;
//! - it works in a scratch directory, emptied after each input, and the
//!   session is a script's (files::Who::Script): it creates files only
//!   there, reads only there, replaces nothing;
//! - each input has 300 ms: then the session's Ctrl-C flag is set, which
//!   ends any wait (accept, recv, sleep...), and the rest of the input is
//!   skipped.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockplay::exec::{Flow, Item, Session};
use sockplay::render::{self, Origin};
use sockplay::syntax::parse_line;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Lines of one input run, at most.
const MAX_LINES: usize = 24;
/// Time one input may take before Ctrl-C.
const BUDGET: Duration = Duration::from_millis(300);

struct Sealed {
    scratch: PathBuf,
    interrupt: Arc<AtomicBool>,
    /// When the input running now must stop (ns since `epoch`; 0: none).
    deadline: Arc<AtomicU64>,
    epoch: Instant,
}

/// Brings `lo` up in the new namespace (SIOCSIFFLAGS).
fn loopback_up() -> bool {
    // SAFETY: a datagram socket for the ioctl; ifreq is plain data.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
        if fd < 0 {
            return false;
        }
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (k, b) in b"lo".iter().enumerate() {
            ifr.ifr_name[k] = *b as libc::c_char;
        }
        let ok = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut ifr) == 0 && {
            ifr.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            libc::ioctl(fd, libc::SIOCSIFFLAGS, &ifr) == 0
        };
        libc::close(fd);
        ok
    }
}

/// A network namespace of our own: as root, else in a user namespace.
fn own_network() -> bool {
    // SAFETY: unshare only changes this thread's namespaces (the fuzzing
    // thread, which makes every socket and every thread of the session).
    let ok = unsafe {
        libc::unshare(libc::CLONE_NEWNET) == 0
            || libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) == 0
    };
    ok && loopback_up()
}

/// The scratch directory, removed when the fuzzer exits.
static SCRATCH: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_scratch() {
    if let Some(d) = SCRATCH.get() {
        let _ = std::fs::remove_dir_all(d);
    }
}

fn sealed() -> Option<&'static Sealed> {
    static SEALED: OnceLock<Option<Sealed>> = OnceLock::new();
    SEALED
        .get_or_init(|| {
            if !own_network() {
                eprintln!("eval target: no network namespace of its own (needs root or user namespaces): nothing runs");
                return None;
            }
            let scratch = std::env::temp_dir().join(format!("sockplay-fuzz-eval-{}", std::process::id()));
            std::fs::create_dir_all(&scratch).ok()?;
            std::env::set_current_dir(&scratch).ok()?;
            let _ = SCRATCH.set(scratch.clone());
            // SAFETY: registers a function without arguments for exit().
            unsafe { libc::atexit(remove_scratch) };
            colored::control::set_override(false);
            let interrupt = Arc::new(AtomicBool::new(false));
            let deadline = Arc::new(AtomicU64::new(0));
            let epoch = Instant::now();
            // The watchdog: Ctrl-C for an input past its budget.
            let (i, d) = (Arc::clone(&interrupt), Arc::clone(&deadline));
            std::thread::spawn(move || loop {
                std::thread::sleep(Duration::from_millis(10));
                let at = d.load(Ordering::SeqCst);
                if at != 0 && epoch.elapsed().as_nanos() as u64 >= at {
                    i.store(true, Ordering::SeqCst);
                }
            });
            Some(Sealed {
                scratch,
                interrupt,
                deadline,
                epoch,
            })
        })
        .as_ref()
}

/// No byte a terminal would act on (colour is off: no ESC is legitimate).
fn check_safe(what: &str, text: &str) {
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "a control character reaches the terminal in {what}: {text:?}"
    );
}

/// Empties the scratch directory (the files and socket files of an input).
fn empty(dir: &PathBuf) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                let _ = std::fs::remove_dir_all(&p);
            } else {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(s) = sealed() else { return };
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    s.interrupt.store(false, Ordering::SeqCst);
    let start = s.epoch.elapsed() + BUDGET;
    s.deadline.store(start.as_nanos() as u64, Ordering::SeqCst);
    let mut session = Session::new(Arc::clone(&s.interrupt));
    session.watch_states = false;
    for (no, line) in text.lines().take(MAX_LINES).enumerate() {
        if s.interrupt.load(Ordering::SeqCst) {
            break;
        }
        let origin = Origin {
            file: Some("fuzz.sp"),
            line: no + 1,
            text: line,
        };
        let stmts = match parse_line(line) {
            Ok(st) => st,
            Err(e) => {
                check_safe("a parse error", &render::parse_error(&e, &origin));
                continue;
            }
        };
        let mut quit = false;
        for st in &stmts {
            let mut items: Vec<Item> = Vec::new();
            let r = session.run(st, line, &mut items);
            for it in &items {
                check_safe("an item", &render::item(it));
            }
            match r {
                Ok(Flow::Continue) => {}
                Ok(Flow::Quit(_)) => quit = true,
                Err(e) => check_safe("an error", &render::exec_error(&e, &origin)),
            }
            if quit {
                break;
            }
        }
        if quit {
            break;
        }
    }
    // The end of a script: jobs reported or cancelled, sockets closed,
    // peers stopped; all of it bounded.
    let mut items: Vec<Item> = Vec::new();
    session.interrupt.store(false, Ordering::SeqCst);
    session.close_all(&mut items);
    for it in &items {
        check_safe("an item at the end", &render::item(it));
    }
    session.stop_peers();
    s.deadline.store(0, Ordering::SeqCst);
    empty(&s.scratch);
});

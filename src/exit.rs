//! The one way out of sockplay. However the shell ends (the end of a
//! script, `quit`, Ctrl-D, Ctrl-C ending a script, or a signal: SIGTERM,
//! SIGHUP, SIGQUIT), the same clean-up hooks run, once each, newest
//! first: what sockplay left on disk or in the system goes (the built-in
//! peers' UNIX socket files, the temporary file of a `recvfile`).
//!
//! What flows in: hooks, registered by whoever creates something that must
//! not outlive the shell ([`register`], then [`unregister`] once it is
//! cleaned up the ordinary way). Labs (network namespaces, links) register
//! theirs here too. What flows out: nothing but the clean-up; the process
//! then ends with the status a shell expects (killed by SIGTERM or SIGHUP,
//! 131 for SIGQUIT, without a core dump).
//!
//! A hook runs on the signal thread while the rest of the shell may be in
//! the middle of anything: it must only touch what it owns (a path, a
//! descriptor it holds), never the session.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A registered hook, to unregister it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HookId(u64);

type Hook = Box<dyn FnOnce() + Send>;

/// The hooks, oldest first.
static HOOKS: Mutex<Vec<(HookId, String, Hook)>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(1);
/// The hooks ran (they run once).
static RAN: AtomicBool = AtomicBool::new(false);

fn hooks() -> std::sync::MutexGuard<'static, Vec<(HookId, String, Hook)>> {
    // A panic elsewhere leaves the list usable.
    HOOKS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Registers `hook` (`what` names it, for debugging) to run when the
/// shell ends, however it ends.
pub fn register(what: &str, hook: impl FnOnce() + Send + 'static) -> HookId {
    let id = HookId(NEXT.fetch_add(1, Ordering::SeqCst));
    hooks().push((id, what.to_string(), Box::new(hook)));
    id
}

/// The thing was cleaned up the ordinary way: its hook is not needed.
pub fn unregister(id: HookId) {
    hooks().retain(|(h, _, _)| *h != id);
}

/// Runs every hook, newest first, once. Called on every way out.
pub fn run_hooks() {
    if RAN.swap(true, Ordering::SeqCst) {
        return;
    }
    let list = std::mem::take(&mut *hooks());
    for (_, _, hook) in list.into_iter().rev() {
        // One hook's panic must not keep the others from running.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(hook));
    }
}

/// The names of the hooks registered now (for tests).
pub fn registered() -> Vec<String> {
    hooks().iter().map(|(_, w, _)| w.clone()).collect()
}

/// The terminal's settings at start, put back if a signal ends the shell
/// while the line editor has it in raw mode.
static TERMINAL: Mutex<Option<libc::termios>> = Mutex::new(None);

/// Listens for the signals that end the shell (SIGTERM, SIGHUP, SIGQUIT)
/// on a thread of its own: each runs the hooks, puts the terminal back
/// and ends the process. SIGINT stays Ctrl-C (see [`crate::wait`]); when it
/// ends a script, the ordinary way out runs the hooks.
pub fn install() {
    // SAFETY: termios is plain data; tcgetattr fills it or fails (stdin is
    // not a terminal), and then nothing is kept.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::isatty(0) == 1 && libc::tcgetattr(0, &mut t) == 0 {
            *TERMINAL
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(t);
        }
    }
    use signal_hook::consts::{SIGHUP, SIGQUIT, SIGTERM};
    use std::os::fd::{AsRawFd, OwnedFd};
    // A self-pipe per signal, its ends moved out of the learner's
    // descriptor numbers (the first socket is still fd 3). If one cannot
    // be made, that signal keeps its default action: the shell still
    // ends, only without its clean-up.
    let mut pipes: Vec<(i32, OwnedFd)> = Vec::new();
    for sig in [SIGTERM, SIGHUP, SIGQUIT] {
        let Ok((r, w)) = std::os::unix::net::UnixStream::pair() else {
            continue;
        };
        let (r, w) = (
            crate::table::move_high(r.into()),
            crate::table::move_high(w.into()),
        );
        if signal_hook::low_level::pipe::register_raw(sig, w).is_ok() {
            pipes.push((sig, r));
        }
    }
    if pipes.is_empty() {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut fds: Vec<libc::pollfd> = pipes
                .iter()
                .map(|(_, r)| libc::pollfd {
                    fd: r.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            let sig = loop {
                // SAFETY: a valid array of pollfd; no timeout.
                let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
                if rc > 0
                    && let Some(k) = fds.iter().position(|f| f.revents != 0)
                {
                    break pipes[k].0;
                }
            };
            {
                run_hooks();
                restore_terminal();
                crate::script::flush_out();
                if sig == SIGQUIT {
                    // The status a shell shows for SIGQUIT, without the
                    // core dump its default action would leave.
                    std::process::exit(128 + SIGQUIT);
                }
                // Ends as the signal's default action would: the parent
                // sees the signal.
                let _ = signal_hook::low_level::emulate_default_handler(sig);
                std::process::exit(128 + sig);
            }
        });
}

fn restore_terminal() {
    let saved = *TERMINAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(t) = saved {
        // SAFETY: the settings read at start, on the same descriptor.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
    }
}

/// The ordinary way out: the hooks, what stdout holds, then the status.
pub fn exit(status: i32) -> ! {
    run_hooks();
    crate::script::flush_out();
    std::process::exit(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_run_once_newest_first_and_unregistered_ones_do_not() {
        use std::sync::Arc;
        let order = Arc::new(Mutex::new(Vec::new()));
        let (a, b, c) = (Arc::clone(&order), Arc::clone(&order), Arc::clone(&order));
        register("first", move || a.lock().expect("lock").push(1));
        let gone = register("gone", move || b.lock().expect("lock").push(2));
        register("last", move || c.lock().expect("lock").push(3));
        assert!(registered().contains(&"gone".to_string()));
        unregister(gone);
        run_hooks();
        run_hooks();
        assert_eq!(*order.lock().expect("lock"), vec![3, 1]);
    }
}

//! Anonymous network namespaces, held by file descriptors.
//!
//! A namespace is made by a short-lived thread that calls
//! `unshare(CLONE_NEWNET | CLONE_NEWUTS)` and opens its own
//! `/proc/thread-self/ns/net` (and `uts`): the descriptors are the only
//! references left once the thread ends. Nothing is named (no
//! `/run/netns` file, no mount), so a namespace dies with its last
//! reference: when the [`Ns`] is dropped and no socket or thread is still
//! in it, and in any case when sockplay exits, however it exits.
//!
//! Work inside a namespace is done either on a fresh thread that joins it
//! ([`within`], for setting it up) or on the current thread for the length
//! of one statement ([`enter`], for `on HOST ...`), which joins back the
//! namespaces it came from when the guard drops.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// A network namespace and a UTS namespace (its host name) made together.
#[derive(Debug)]
pub struct Ns {
    pub net: OwnedFd,
    pub uts: OwnedFd,
}

fn last_error() -> io::Error {
    io::Error::last_os_error()
}

/// Opens one of the calling thread's namespaces, close-on-exec, moved
/// out of the learner's range of descriptor numbers.
fn open_own(kind: &str) -> io::Result<OwnedFd> {
    let path = CString::new(format!("/proc/thread-self/ns/{kind}")).map_err(io::Error::other)?;
    // SAFETY: a NUL-terminated path; the descriptor returned is ours.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(last_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok(crate::table::move_high(fd))
}

/// Joins namespace `fd` (of type `kind`, CLONE_NEWNET or CLONE_NEWUTS) on
/// the calling thread.
fn join(fd: BorrowedFd<'_>, kind: libc::c_int) -> io::Result<()> {
    // SAFETY: setns on a descriptor we hold; it only changes this thread.
    if unsafe { libc::setns(fd.as_raw_fd(), kind) } != 0 {
        return Err(last_error());
    }
    Ok(())
}

/// A new network namespace (with only `lo`, down) and a UTS namespace
/// whose host name is `hostname`.
pub fn create(hostname: &str) -> io::Result<Ns> {
    let name = hostname.as_bytes().to_vec();
    std::thread::scope(|s| {
        s.spawn(move || -> io::Result<Ns> {
            // SAFETY: unshare affects only this thread, which ends below.
            if unsafe { libc::unshare(libc::CLONE_NEWNET | libc::CLONE_NEWUTS) } != 0 {
                return Err(last_error());
            }
            // SAFETY: a buffer of its length.
            if unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) } != 0 {
                return Err(last_error());
            }
            Ok(Ns {
                net: open_own("net")?,
                uts: open_own("uts")?,
            })
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the thread making a namespace failed")))
    })
}

/// Runs `f` on a fresh thread inside `ns`'s network namespace (the thread
/// ends with it, so nothing needs joining back).
pub fn within<T: Send>(ns: &Ns, f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
    let net = ns.net.as_fd();
    std::thread::scope(|s| {
        s.spawn(move || {
            join(net, libc::CLONE_NEWNET)?;
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("a thread inside the lab failed")))
    })
}

/// The calling thread is inside a host's namespaces until this drops; then
/// it is back where it was.
#[derive(Debug)]
pub struct Inside {
    home_net: OwnedFd,
    home_uts: OwnedFd,
}

/// Moves the calling thread into `ns` (network and host name). Sockets
/// made meanwhile belong to `ns` for good; calls on them work from
/// anywhere.
pub fn enter(ns: &Ns) -> io::Result<Inside> {
    let home_net = open_own("net")?;
    let home_uts = open_own("uts")?;
    join(ns.net.as_fd(), libc::CLONE_NEWNET)?;
    if let Err(e) = join(ns.uts.as_fd(), libc::CLONE_NEWUTS) {
        let _ = join(home_net.as_fd(), libc::CLONE_NEWNET);
        return Err(e);
    }
    Ok(Inside { home_net, home_uts })
}

impl Drop for Inside {
    fn drop(&mut self) {
        // Joining back a namespace this thread was in cannot lose the
        // permission it had; if it failed anyway, staying in the host
        // would make every later socket the host's, so say so loudly.
        let net = join(self.home_net.as_fd(), libc::CLONE_NEWNET);
        let uts = join(self.home_uts.as_fd(), libc::CLONE_NEWUTS);
        if let Err(e) = net.and(uts) {
            eprintln!("sockplay: could not leave the lab host's namespace: {e}");
        }
    }
}

/// The inode of a namespace (what `lsns` and `/proc/PID/ns/net` show).
pub fn inode(fd: BorrowedFd<'_>) -> Option<u64> {
    // SAFETY: fstat fills the struct it is given.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    (unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } == 0).then_some(st.st_ino)
}

impl Ns {
    pub fn net_inode(&self) -> Option<u64> {
        inode(self.net.as_fd())
    }
}

/// The processes (other than sockplay) in one of the network namespaces
/// whose inodes are `inodes`, each with whether it is a program sockplay
/// ran (it carries the start-up module's variable, SOCKPLAY_WATCH, as its
/// descendants do), read from /proc.
pub fn processes_in(inodes: &[u64]) -> Vec<(i32, bool)> {
    if inodes.is_empty() {
        return Vec::new();
    }
    let me = std::process::id() as i32;
    let wanted: Vec<String> = inodes.iter().map(|i| format!("net:[{i}]")).collect();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in dir.flatten().take(1 << 20) {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(link) = std::fs::read_link(e.path().join("ns/net")) else {
            continue;
        };
        if !wanted.iter().any(|w| link.as_os_str() == w.as_str()) {
            continue;
        }
        let ours = std::fs::read(e.path().join("environ")).is_ok_and(|env| {
            env.split(|&b| b == 0)
                .any(|v| v.starts_with(b"SOCKPLAY_WATCH="))
        });
        out.push((pid, ours));
    }
    out
}

/// Why a namespace could not be made, in words a teacher can act on.
pub fn explain(e: &io::Error) -> Option<String> {
    match e.raw_os_error() {
        Some(libc::EPERM) => Some(
            "making a network namespace needs root, or a user namespace of your own: \
             run `sockplay --lab`, or `unshare -Urn sockplay` (if that fails too, user \
             namespaces are turned off here: kernel.unprivileged_userns_clone or an AppArmor \
             policy; ask the administrator, or run sockplay as root)"
                .into(),
        ),
        Some(libc::ENOSPC) => Some(
            "the kernel refused another network namespace: the limit user.max_net_namespaces \
             is reached (sysctl user.max_net_namespaces)"
                .into(),
        ),
        Some(libc::EINVAL) => Some("this kernel has no network namespaces (CONFIG_NET_NS)".into()),
        Some(libc::ENOENT) => Some("/proc is not mounted: namespaces are opened there".into()),
        _ => None,
    }
}

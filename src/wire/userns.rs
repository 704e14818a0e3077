//! A network of the shell's own, without root (`sockplay --lab`, `set lab
//! on`): a new user namespace, where the learner's user is root (uid 0
//! maps to their uid, and to nothing else), and in it a new network
//! namespace, whose loopback is brought up. There the capture may open its
//! packet socket: CAP_NET_RAW over a network namespace one owns is all it
//! needs. Root needs no user namespace: only the network namespace is new.
//!
//! In: nothing but the process (it must have one thread: the kernel
//! refuses CLONE_NEWUSER to a process with more). Out: what to tell the
//! learner (Ok), or why the kernel refused and what it means (Err); the
//! process is then as it was. Every step is first tried in a child process
//! (a probe), so that a kernel that allows the namespace but not what
//! follows (AppArmor's restriction lets unshare succeed and denies the
//! capabilities) never leaves the shell in a network with its loopback
//! down.

use std::io::{Read, Write};
use std::os::fd::FromRawFd;

/// What the learner is told once the shell is in its own network.
pub fn said(root: bool) -> String {
    let how = if root {
        "a network namespace"
    } else {
        "a user and a network namespace: root of nothing but this network"
    };
    format!(
        "lab: this shell runs in a network of its own ({how}). Its loopback, 127.0.0.1 and ::1, is its own: \
         servers elsewhere on this machine (a python3 server, nc -l) cannot be reached from here, nor this \
         shell's servers from outside, because a network namespace has its own interfaces, addresses and ports; \
         programs started from here share it. `states` and `diagram` capture here without root."
    )
}

/// How many threads this process has.
pub fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(1, |d| d.count())
}

/// A sysctl's value, if it can be read.
fn sysctl(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Why unshare refused, in words (`errno` from unshare).
fn refused(errno: i32) -> String {
    let os = std::io::Error::from_raw_os_error(errno);
    match errno {
        libc::EPERM => {
            if sysctl("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
                format!(
                    "the kernel lets only root make user namespaces here (sysctl kernel.unprivileged_userns_clone = 0) ({os})"
                )
            } else if sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref()
                == Some("1")
            {
                format!(
                    "AppArmor restricts user namespaces to programs it allows (sysctl kernel.apparmor_restrict_unprivileged_userns = 1) ({os})"
                )
            } else {
                format!(
                    "the kernel refused a user namespace ({os}): a container's seccomp filter, a chroot, or a security module may forbid them"
                )
            }
        }
        libc::ENOSPC => format!(
            "no user namespace may be made: the limit is reached or 0 (sysctl user.max_user_namespaces = {}) ({os})",
            sysctl("/proc/sys/user/max_user_namespaces").unwrap_or_else(|| "?".into())
        ),
        libc::EINVAL => format!(
            "the kernel refused: this process has more than one thread, or the kernel has no user namespaces ({os})"
        ),
        _ => format!("the kernel refused a network namespace ({os})"),
    }
}

/// Writes `text` to a file of /proc/self (the namespace's maps).
fn write_proc(path: &str, text: &str) -> Result<(), String> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("writing {path} failed ({e})"))
}

/// Brings `lo` of the current network namespace up.
fn lo_up() -> Result<(), String> {
    let why = |e: std::io::Error| format!("bringing up the loopback failed ({e})");
    // SAFETY: a plain datagram socket, closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(why(std::io::Error::last_os_error()));
    }
    // SAFETY: an ifreq, zeroed, with the name set; SIOCGIFFLAGS and
    // SIOCSIFFLAGS read and write its flags.
    let r = unsafe {
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (k, b) in b"lo".iter().enumerate() {
            ifr.ifr_name[k] = *b as libc::c_char;
        }
        if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut ifr) < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            if libc::ioctl(fd, libc::SIOCSIFFLAGS, &ifr) < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(())
            }
        }
    };
    // SAFETY: the socket made above.
    unsafe { libc::close(fd) };
    r.map_err(why)
}

/// Every step, in this process.
fn steps(root: bool) -> Result<(), String> {
    // SAFETY: getuid and getgid only read the credentials.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let flags = if root {
        libc::CLONE_NEWNET
    } else {
        libc::CLONE_NEWUSER | libc::CLONE_NEWNET
    };
    // SAFETY: unshare changes only this process's namespaces.
    if unsafe { libc::unshare(flags) } != 0 {
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        return Err(refused(errno));
    }
    if !root {
        // An unprivileged map needs setgroups denied first.
        match write_proc("/proc/self/setgroups", "deny") {
            Ok(()) => {}
            Err(e) if !std::path::Path::new("/proc/self/setgroups").exists() => drop(e),
            Err(e) => return Err(e),
        }
        write_proc("/proc/self/uid_map", &format!("0 {uid} 1\n"))?;
        write_proc("/proc/self/gid_map", &format!("0 {gid} 1\n"))?;
    }
    lo_up()
}

/// Enters a network of the shell's own (see the module's doc). Returns
/// what to tell the learner, or why it could not be done (the process is
/// then unchanged).
pub fn enter() -> Result<String, String> {
    let n = threads();
    if n > 1 {
        return Err(format!(
            "this shell already runs {n} threads (a capture, a peer, a job), and the kernel makes a user namespace only for a process with one: start it as `sockplay --lab`"
        ));
    }
    // SAFETY: geteuid only reads the credentials.
    let root = unsafe { libc::geteuid() } == 0;
    probe(root)?;
    steps(root)?;
    Ok(said(root))
}

/// Tries every step in a child process first, which reports how it went
/// through a pipe and exits.
fn probe(root: bool) -> Result<(), String> {
    let mut fds = [0; 2];
    // SAFETY: a pipe of two descriptors, both closed below.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!(
            "could not try it ({})",
            std::io::Error::last_os_error()
        ));
    }
    let (rd, wr) = (fds[0], fds[1]);
    // SAFETY: the process has one thread (checked), so the child may run
    // Rust code; it only makes calls and exits with _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        // SAFETY: the pipe made above.
        unsafe {
            libc::close(rd);
            libc::close(wr);
        }
        return Err(format!(
            "could not try it ({})",
            std::io::Error::last_os_error()
        ));
    }
    if pid == 0 {
        // SAFETY: the child: its ends of the pipe, then _exit (no
        // destructors, no flushing of the parent's buffers).
        unsafe {
            libc::close(rd);
            let mut w = std::fs::File::from_raw_fd(wr);
            let code = match steps(root) {
                Ok(()) => 0,
                Err(e) => {
                    let _ = w.write_all(e.as_bytes());
                    1
                }
            };
            drop(w);
            libc::_exit(code);
        }
    }
    // SAFETY: the parent's copy of the write end.
    unsafe { libc::close(wr) };
    // SAFETY: the read end, owned from here.
    let mut r = unsafe { std::fs::File::from_raw_fd(rd) };
    let mut why = String::new();
    let _ = r.read_to_string(&mut why);
    let mut status = 0;
    // SAFETY: waits for the child made above.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else if why.is_empty() {
        Err("trying it failed".into())
    } else {
        Err(why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_why() {
        assert!(refused(libc::ENOSPC).contains("max_user_namespaces"));
        assert!(refused(libc::EINVAL).contains("more than one thread"));
        assert!(refused(libc::EPERM).contains("Operation not permitted"));
    }

    #[test]
    fn the_message_says_the_loopback_is_its_own() {
        let m = said(false);
        assert!(m.contains("cannot be reached"), "{m}");
        assert!(m.contains("without root"), "{m}");
    }
}

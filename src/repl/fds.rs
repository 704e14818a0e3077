//! Descriptors held low around the line editor, so that the numbers a
//! learner's sockets get match what a Python program would get (the
//! editor's own descriptors land above them), and the gate that keeps a
//! background accept waiting meanwhile. Apart from the loop because the
//! editor's hinter releases them too.

use std::sync::Mutex;

/// Descriptors below this are held while the line editor opens its own at
/// the start of a line, so that the editor's land above them.
const LOW_FDS: libc::c_int = 64;

/// The descriptors held for [`hold_low_fds_for_editor`].
static HELD_LOW: Mutex<Vec<std::os::fd::OwnedFd>> = Mutex::new(Vec::new());

/// Before the line editor reads a line: it opens a socket pair then (for
/// window resizes), at the lowest numbers free, and keeps it while the
/// prompt shows. A background job accepting meanwhile would get a number
/// after the pair (fd 7 for what a Python program numbers 5). So every
/// free number below [`LOW_FDS`] is held (the pair goes above), and the
/// descriptor gate is closed (a job's accept waits, see
/// [`crate::table::fd_gate_wait`]) until the editor draws its line
/// ([`release_low_fds`], from the hinter).
pub(super) fn hold_low_fds_for_editor() {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    crate::table::fd_gate_close();
    let Ok(mut held) = HELD_LOW.lock() else {
        crate::table::fd_gate_open();
        return;
    };
    let Ok(null) = std::fs::File::open("/dev/null") else {
        drop(held);
        crate::table::fd_gate_open();
        return;
    };
    let null = OwnedFd::from(null);
    let base = null.as_raw_fd();
    if base >= LOW_FDS {
        return;
    }
    loop {
        // SAFETY: F_DUPFD_CLOEXEC on a descriptor we own returns a new one
        // (or -1), which we then own.
        let fd = unsafe { libc::fcntl(base, libc::F_DUPFD_CLOEXEC, 3) };
        if fd < 0 {
            break;
        }
        // SAFETY: `fd` is fresh and nobody else's.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        if fd >= LOW_FDS {
            break;
        }
        held.push(owned);
    }
    held.push(null);
}

/// The editor has its descriptors: the low numbers are free again, and a
/// job's accept may go on.
pub(super) fn release_low_fds() {
    if let Ok(mut held) = HELD_LOW.lock()
        && !held.is_empty()
    {
        held.clear();
    }
    crate::table::fd_gate_open();
}

/// Opens /dev/null until descriptors 3 to 9 are taken (those free now),
/// to be closed once the line editor has its own descriptors.
pub(super) fn hold_low_fds() -> Vec<std::fs::File> {
    use std::os::fd::AsRawFd;
    let mut held = Vec::new();
    for _ in 0..7 {
        match std::fs::File::open("/dev/null") {
            Ok(f) if f.as_raw_fd() <= 9 => held.push(f),
            _ => break,
        }
    }
    held
}

//! Reading what the user, a script or a pipe gives sockplay, bounded: no
//! input can make the shell take memory without end or wait past Ctrl-C.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};

/// The longest answer to a question read ([`read_answer`]).
const ANSWER_MAX: usize = 256;

/// One line typed in answer to a question (y/N), read from `fd` byte by
/// byte so nothing after it is taken from the input. None after Ctrl-C or
/// at the end of input. A long line is cut (the rest is read and dropped).
pub fn read_answer(fd: RawFd, interrupt: &AtomicBool) -> Option<String> {
    let mut line = Vec::new();
    loop {
        if interrupt.load(Ordering::SeqCst) {
            return None;
        }
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; 100 ms so that Ctrl-C is seen (a
        // plain read would be restarted after the signal).
        let rc = unsafe { libc::poll(&mut p, 1, 100) };
        if rc <= 0 {
            continue;
        }
        let mut b = [0u8; 1];
        // SAFETY: reads at most one byte into `b`.
        let n = unsafe { libc::read(fd, b.as_mut_ptr().cast(), 1) };
        if n <= 0 {
            return None;
        }
        if b[0] == b'\n' {
            break;
        }
        if line.len() < ANSWER_MAX {
            line.push(b[0]);
        }
    }
    Some(String::from_utf8_lossy(&line).into_owned())
}

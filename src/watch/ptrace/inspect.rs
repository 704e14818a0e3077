//! What the tracer reads of a tracee and its sockets, apart from the
//! tracing itself: the clock, /proc's names and parents, the program's
//! memory (process_vm_readv), addresses as the module writes them, and the
//! state of a socket through a copy of its descriptor (its name, options,
//! queues, TCP state, whether a call on it would wait).

use super::*;

pub(super) fn wall() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A field as the module escapes it.
pub(super) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\t' => o.push_str("\\t"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            c => o.push(c),
        }
    }
    o
}

pub(super) fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim_end().to_string())
        .unwrap_or_else(|_| "?".into())
}

pub(super) fn tgid_of(tid: i32) -> Option<i32> {
    let s = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

pub(super) fn ppid_of(pid: i32) -> i32 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("PPid:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// `len` bytes of the tracee's memory at `addr` (fewer if it ends).
pub(super) fn peek(pid: i32, addr: u64, len: usize) -> Vec<u8> {
    if addr == 0 || len == 0 {
        return Vec::new();
    }
    let mut buf = vec![0u8; len];
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: len,
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: len,
    };
    // SAFETY: one local iovec over a buffer we own, of its length; the
    // remote one is only read by the kernel, which checks it.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    buf.truncate(usize::try_from(n).unwrap_or(0));
    buf
}

pub(super) fn peek_u32(pid: i32, addr: u64) -> Option<u32> {
    let b = peek(pid, addr, 4);
    (b.len() == 4).then(|| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

/// A socket address (the kernel's bytes) as the module writes one.
pub(super) fn addr_text(b: &[u8]) -> String {
    if b.len() < 2 {
        return "-".into();
    }
    let family = i32::from(u16::from_ne_bytes([b[0], b[1]]));
    match family {
        libc::AF_INET if b.len() >= 8 => {
            let port = u16::from_be_bytes([b[2], b[3]]);
            let ip = std::net::Ipv4Addr::new(b[4], b[5], b[6], b[7]);
            format!("4|{ip}|{port}")
        }
        libc::AF_INET6 if b.len() >= 24 => {
            let port = u16::from_be_bytes([b[2], b[3]]);
            let mut o = [0u8; 16];
            o.copy_from_slice(&b[8..24]);
            format!("6|{}|{port}", std::net::Ipv6Addr::from(o))
        }
        libc::AF_UNIX => {
            let path = &b[2..];
            if path.first() == Some(&0) {
                let abs = &path[1..];
                format!("a|{}", hex(abs))
            } else {
                let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
                match std::str::from_utf8(&path[..end]) {
                    Ok(s) => format!("u|{}", esc(s)),
                    Err(_) => format!("p|{}", hex(&path[..end])),
                }
            }
        }
        _ => format!("?|family {family}"),
    }
}

pub(super) fn hex(b: &[u8]) -> String {
    b.iter().map(|c| format!("{c:02x}")).collect()
}

/// getsockname/getpeername of our copy of a socket.
pub(super) fn sock_name(fd: RawFd, peer: bool) -> String {
    // SAFETY: a sockaddr_storage and its length, filled by the kernel.
    unsafe {
        let mut ss: libc::sockaddr_storage = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let p = (&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr>();
        let rc = if peer {
            libc::getpeername(fd, p, &mut len)
        } else {
            libc::getsockname(fd, p, &mut len)
        };
        if rc != 0 {
            return "-".into();
        }
        let bytes = std::slice::from_raw_parts(
            (&ss as *const libc::sockaddr_storage).cast::<u8>(),
            (len as usize).min(std::mem::size_of::<libc::sockaddr_storage>()),
        );
        addr_text(bytes)
    }
}

pub(super) fn int_opt(fd: RawFd, level: i32, opt: i32) -> i32 {
    let mut v: libc::c_int = -1;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: an int and its length.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            level,
            opt,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 { -1 } else { v }
}

pub(super) fn ioctl_int(fd: RawFd, req: libc::c_ulong) -> i64 {
    let mut v: libc::c_int = 0;
    // SAFETY: FIONREAD and SIOCOUTQ write one int.
    let rc = unsafe { libc::ioctl(fd, req, &mut v) };
    if rc != 0 { -1 } else { i64::from(v) }
}

/// (state, accept queue, its limit) from TCP_INFO, as the module reads it.
pub(super) fn tcp_info(fd: RawFd) -> (i64, i64, i64) {
    let mut b = [0u8; 32];
    let mut len = b.len() as libc::socklen_t;
    // SAFETY: a buffer and its length.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            b.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 || len < 32 {
        return (-1, -1, -1);
    }
    let u = |k: usize| i64::from(u32::from_ne_bytes([b[k], b[k + 1], b[k + 2], b[k + 3]]));
    (i64::from(b[0]), u(24), u(28))
}

pub(super) fn is_tcp(fd: RawFd) -> bool {
    let fam = int_opt(fd, libc::SOL_SOCKET, libc::SO_DOMAIN);
    (fam == libc::AF_INET || fam == libc::AF_INET6)
        && int_opt(fd, libc::SOL_SOCKET, libc::SO_TYPE) == libc::SOCK_STREAM
}

/// Whether a call on our copy of the socket would wait: it is blocking and
/// not ready.
pub(super) fn would_wait(fd: RawFd, write: bool, flags: u64) -> bool {
    if flags & libc::MSG_DONTWAIT as u64 != 0 {
        return false;
    }
    // SAFETY: fcntl and poll on a descriptor we own.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl < 0 || fl & libc::O_NONBLOCK != 0 {
            return false;
        }
        let mut p = libc::pollfd {
            fd,
            events: if write { libc::POLLOUT } else { libc::POLLIN },
            revents: 0,
        };
        libc::poll(&mut p, 1, 0) == 0
    }
}

pub(super) fn is_restart(errno: i64) -> bool {
    // ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK:
    // the call is interrupted by a signal and will be made again.
    (512..=516).contains(&errno)
}

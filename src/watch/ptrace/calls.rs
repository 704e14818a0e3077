//! Each traced system call told as the start-up module tells a Python
//! call: at its entry what it is about to do (and, for a call that will
//! wait, what it waits for), at its exit what it returned or raised, as
//! the report lines [`super::super::proto`] defines.

use super::inspect::*;
use super::*;

impl Trace {
    pub(super) fn entry(&mut self, tid: i32, nr: u64, args: [u64; 6]) {
        let tgid = self.tgid(tid);
        let fd = args[0] as i32;
        let t0 = wall();
        let mut p = Pending {
            nr,
            args,
            t0,
            begun: false,
            pre: Vec::new(),
            kind: -1,
        };
        let restarting =
            self.threads.get_mut(&tid).and_then(|t| t.restarting.take()) == Some((nr, args[0]));
        match nr {
            nr::SOCKET
            | nr::SOCKETPAIR
            | nr::EXECVE
            | nr::EXECVEAT
            | nr::DUP2
            | nr::DUP3
            | nr::CLOSE_RANGE => {}
            nr::CLOSE => {
                let Some(kind) = self.socket_kind(tgid, fd) else {
                    // Not a socket: only its number is free again.
                    self.forget_fd(tgid, fd);
                    return;
                };
                p.kind = kind;
                let (mut st, mut unread, mut queued, mut linger0, mut ino) = (-1, 0, 0, 0, 0);
                if let Some(c) = self.getfd(tgid, fd) {
                    let c = c.as_raw_fd();
                    if is_tcp(c) {
                        let (s, q, _) = tcp_info(c);
                        st = s;
                        queued = q;
                        if s == 1 {
                            unread = ioctl_int(c, libc::FIONREAD);
                        }
                        let mut lg = libc::linger {
                            l_onoff: 0,
                            l_linger: 0,
                        };
                        let mut len = std::mem::size_of::<libc::linger>() as libc::socklen_t;
                        // SAFETY: a linger struct and its length.
                        let rc = unsafe {
                            libc::getsockopt(
                                c,
                                libc::SOL_SOCKET,
                                libc::SO_LINGER,
                                (&mut lg as *mut libc::linger).cast(),
                                &mut len,
                            )
                        };
                        if rc == 0 && lg.l_onoff != 0 && lg.l_linger == 0 {
                            linger0 = 1;
                        }
                    }
                    // SAFETY: fstat fills the struct it is given.
                    unsafe {
                        let mut s: libc::stat = std::mem::zeroed();
                        if libc::fstat(c, &mut s) == 0 {
                            ino = s.st_ino;
                        }
                    }
                }
                p.pre = vec![
                    st.to_string(),
                    unread.to_string(),
                    queued.to_string(),
                    linger0.to_string(),
                    ino.to_string(),
                ];
            }
            nr::BIND | nr::LISTEN | nr::SHUTDOWN | nr::SETSOCKOPT => {
                p.kind = match self.socket_kind(tgid, fd) {
                    Some(k) => k,
                    None => return,
                };
            }
            nr::CONNECT => {
                p.kind = match self.socket_kind(tgid, fd) {
                    Some(k) => k,
                    None => return,
                };
                let a = addr_text(&peek(tid, args[1], (args[2] as usize).min(128)));
                p.pre = vec![a.clone()];
                if !restarting {
                    let h = self.head(
                        'B',
                        tid,
                        "connect",
                        &format!("connect(fd {fd})"),
                        fd.into(),
                        t0,
                    );
                    self.send(&format!("{h}\t{a}\n"), &[]);
                }
                p.begun = true;
            }
            nr::ACCEPT | nr::ACCEPT4 => {
                p.kind = match self.socket_kind(tgid, fd) {
                    Some(k) => k,
                    None => return,
                };
                let (mut q, mut mx, mut wait) = (-1, -1, false);
                if let Some(c) = self.getfd(tgid, fd) {
                    if is_tcp(c.as_raw_fd()) {
                        (_, q, mx) = tcp_info(c.as_raw_fd());
                    }
                    wait = would_wait(c.as_raw_fd(), false, 0);
                }
                p.pre = vec![q.to_string(), mx.to_string()];
                if wait || restarting {
                    p.begun = true;
                }
                if wait && !restarting {
                    let shown = format!("{}(fd {fd})", call_name(nr));
                    let h = self.head('W', tid, "accept", &shown, fd.into(), t0);
                    self.send(&format!("{h}\t{q}\t{mx}\n"), &[]);
                }
            }
            nr::READ | nr::RECVFROM => {
                p.kind = match self.socket_kind(tgid, fd) {
                    Some(k) => k,
                    None => return,
                };
                let flags = if nr == nr::READ { 0 } else { args[3] };
                let (mut dg, mut wait) = (-1, false);
                if let Some(c) = self.getfd(tgid, fd) {
                    wait = would_wait(c.as_raw_fd(), false, flags);
                    if p.kind == libc::SOCK_DGRAM && !wait {
                        dg = ioctl_int(c.as_raw_fd(), libc::FIONREAD);
                    }
                }
                p.pre = vec![args[2].to_string(), flags.to_string(), dg.to_string()];
                if wait || restarting {
                    p.begun = true;
                }
                if wait && !restarting {
                    let (name, shown) = recv_names(nr, fd, args[4] != 0);
                    let h = self.head('W', tid, name, &shown, fd.into(), t0);
                    self.send(&format!("{h}\t{}\n", p.pre.join("\t")), &[]);
                }
            }
            nr::WRITE | nr::SENDTO => {
                p.kind = match self.socket_kind(tgid, fd) {
                    Some(k) => k,
                    None => {
                        if nr == nr::WRITE && self.sync_writes && (fd == 1 || fd == 2) {
                            self.sync(tgid);
                        }
                        return;
                    }
                };
                let flags = if nr == nr::WRITE { 0 } else { args[3] };
                let (mut q, mut wait) = (-1, false);
                if let Some(c) = self.getfd(tgid, fd) {
                    wait = would_wait(c.as_raw_fd(), true, flags);
                    if wait {
                        q = ioctl_int(c.as_raw_fd(), libc::TIOCOUTQ);
                    }
                }
                p.pre = vec![args[2].to_string(), flags.to_string(), q.to_string()];
                if wait || restarting {
                    p.begun = true;
                }
                let to = nr == nr::SENDTO && args[4] != 0;
                if wait && !restarting {
                    let shown = format!("{}(fd {fd})", call_name(nr));
                    let name = if to { "sendto" } else { "send" };
                    let h = self.head('W', tid, name, &shown, fd.into(), t0);
                    self.send(&format!("{h}\t{}\t0\n", p.pre.join("\t")), &[]);
                }
                if to {
                    let a = addr_text(&peek(tid, args[4], (args[5] as usize).min(128)));
                    p.pre = vec![args[2].to_string(), flags.to_string(), a];
                }
            }
            _ => return,
        }
        if let Some(t) = self.threads.get_mut(&tid) {
            t.pending = Some(p);
        }
    }

    pub(super) fn exit(&mut self, tid: i32, p: Pending, rval: i64) {
        let tgid = self.tgid(tid);
        let fd = p.args[0] as i32;
        let nr = p.nr;
        if (-4095..0).contains(&rval) && is_restart(-rval) {
            // Interrupted by a signal: the call is made again (its wait
            // was said already).
            if p.begun
                && let Some(t) = self.threads.get_mut(&tid)
            {
                t.restarting = Some((nr, p.args[0]));
            }
            return;
        }
        let errno = if (-4095..0).contains(&rval) {
            Some((-rval) as i32)
        } else {
            None
        };
        let t1 = wall();
        let waited = if p.begun {
            (t1.saturating_sub(p.t0) / 1000) as i64
        } else {
            -1
        };
        // The call's name, what the header shows, its fd, its args.
        let (name, shown, rfd, args): (&str, String, i64, Vec<String>) = match nr {
            nr::SOCKET => ("socket", "socket()".into(), rval.max(-1), Vec::new()),
            nr::SOCKETPAIR => ("socketpair", "socketpair()".into(), -1, Vec::new()),
            nr::DUP2 | nr::DUP3 => {
                if errno.is_none() {
                    self.forget_fd(tgid, p.args[1] as i32);
                }
                return;
            }
            nr::CLOSE_RANGE => {
                if errno.is_none()
                    && let Some(pr) = self.procs.get_mut(&tgid)
                {
                    let (lo, hi) = (p.args[0], p.args[1]);
                    pr.fds.retain(|&f, _| !(lo..=hi).contains(&(f as u64)));
                }
                return;
            }
            nr::BIND => {
                let a = addr_text(&peek(tid, p.args[1], (p.args[2] as usize).min(128)));
                ("bind", format!("bind(fd {fd})"), fd.into(), vec![a])
            }
            nr::LISTEN => (
                "listen",
                format!("listen(fd {fd})"),
                fd.into(),
                vec![(p.args[1] as i32).to_string()],
            ),
            nr::SHUTDOWN => (
                "shutdown",
                format!("shutdown(fd {fd})"),
                fd.into(),
                vec![(p.args[1] as i32).to_string()],
            ),
            nr::SETSOCKOPT => {
                let len = (p.args[4] as usize).min(256);
                let v = peek(tid, p.args[3], len);
                let value = if v.len() == 4 {
                    i32::from_ne_bytes([v[0], v[1], v[2], v[3]]).to_string()
                } else {
                    format!("b:{}", hex(&v))
                };
                (
                    "setsockopt",
                    format!("setsockopt(fd {fd})"),
                    fd.into(),
                    vec![
                        (p.args[1] as i32).to_string(),
                        (p.args[2] as i32).to_string(),
                        value,
                    ],
                )
            }
            nr::CONNECT => (
                "connect",
                format!("connect(fd {fd})"),
                fd.into(),
                p.pre.clone(),
            ),
            nr::ACCEPT | nr::ACCEPT4 => (
                "accept",
                format!("{}(fd {fd})", call_name(nr)),
                fd.into(),
                p.pre.clone(),
            ),
            nr::READ | nr::RECVFROM => {
                let (name, shown) = recv_names(nr, fd, nr == nr::RECVFROM && p.args[4] != 0);
                (name, shown, fd.into(), p.pre.clone())
            }
            nr::WRITE | nr::SENDTO => {
                let name = if nr == nr::SENDTO && p.args[4] != 0 {
                    "sendto"
                } else {
                    "send"
                };
                (
                    name,
                    format!("{}(fd {fd})", call_name(nr)),
                    fd.into(),
                    p.pre.clone(),
                )
            }
            nr::CLOSE => {
                self.forget_fd(tgid, fd);
                ("close", format!("close(fd {fd})"), fd.into(), p.pre.clone())
            }
            _ => return,
        };
        let head = self.head('R', tid, name, &shown, rfd, p.t0);
        let mut msg = format!("{head}\t{t1}\t{waited}");
        if let Some(e) = errno {
            msg.push_str("\terr");
            for a in &args {
                msg.push('\t');
                msg.push_str(a);
            }
            let exc = crate::errors::exception_for(e);
            let text = format!("[Errno {e}] {}", crate::errors::strerror(e));
            msg.push_str(&format!("\t{exc}\t{e}\t{}\n", esc(&text)));
            self.send(&msg, &[]);
            return;
        }
        msg.push_str("\tok");
        for a in &args {
            msg.push('\t');
            msg.push_str(a);
        }
        let mut data = Vec::new();
        let results: Vec<String> = match nr {
            nr::SOCKET => {
                let kind = (p.args[1] as i32) & 0xf;
                if let Some(pr) = self.procs.get_mut(&tgid) {
                    pr.fds.insert(rval as i32, Some(kind));
                }
                let nonblock = p.args[1] as i32 & libc::SOCK_NONBLOCK != 0;
                vec![
                    (p.args[0] as i32).to_string(),
                    kind.to_string(),
                    (p.args[2] as i32).to_string(),
                    if nonblock {
                        "0.0".into()
                    } else {
                        String::new()
                    },
                ]
            }
            nr::SOCKETPAIR => {
                let kind = (p.args[1] as i32) & 0xf;
                let a = peek_u32(tid, p.args[3]).map_or(-1, |v| v as i32);
                let b = peek_u32(tid, p.args[3] + 4).map_or(-1, |v| v as i32);
                if let Some(pr) = self.procs.get_mut(&tgid) {
                    pr.fds.insert(a, Some(kind));
                    pr.fds.insert(b, Some(kind));
                }
                // The pair's first fd is the report's fd.
                let head = self.head('R', tid, name, &shown, a.into(), p.t0);
                msg = format!("{head}\t{t1}\t{waited}\tok");
                vec![
                    (p.args[0] as i32).to_string(),
                    kind.to_string(),
                    b.to_string(),
                ]
            }
            nr::BIND | nr::LISTEN | nr::CONNECT => {
                let local = self
                    .getfd(tgid, fd)
                    .map_or("-".into(), |c| sock_name(c.as_raw_fd(), false));
                vec![local]
            }
            nr::ACCEPT | nr::ACCEPT4 => {
                let newfd = rval as i32;
                if let Some(pr) = self.procs.get_mut(&tgid) {
                    pr.fds.insert(newfd, Some(p.kind));
                }
                let (peer, local) = self
                    .getfd(tgid, newfd)
                    .map_or(("-".into(), "-".into()), |c| {
                        (
                            sock_name(c.as_raw_fd(), true),
                            sock_name(c.as_raw_fd(), false),
                        )
                    });
                vec![newfd.to_string(), peer, local]
            }
            nr::READ | nr::RECVFROM => {
                let n = rval.max(0) as usize;
                let size = p.args[2] as usize;
                data = peek(tid, p.args[1], n.min(DATA_MAX));
                let rem = if n >= size && n > 0 && p.kind == libc::SOCK_STREAM {
                    self.getfd(tgid, fd)
                        .map_or(-1, |c| ioctl_int(c.as_raw_fd(), libc::FIONREAD))
                } else {
                    0
                };
                if nr == nr::RECVFROM && p.args[4] != 0 {
                    let len = peek_u32(tid, p.args[5]).unwrap_or(0) as usize;
                    let a = addr_text(&peek(tid, p.args[4], len.min(128)));
                    vec![n.to_string(), a, rem.to_string()]
                } else {
                    vec![n.to_string(), rem.to_string()]
                }
            }
            nr::WRITE | nr::SENDTO => {
                let n = rval.max(0) as usize;
                data = peek(tid, p.args[1], n.min(DATA_MAX));
                if nr == nr::SENDTO && p.args[4] != 0 {
                    let local = self
                        .getfd(tgid, fd)
                        .map_or("-".into(), |c| sock_name(c.as_raw_fd(), false));
                    vec![n.to_string(), local]
                } else {
                    vec![n.to_string()]
                }
            }
            _ => Vec::new(),
        };
        for r in &results {
            msg.push('\t');
            msg.push_str(r);
        }
        msg.push('\n');
        self.send(&msg, &data);
    }
}

/// The system call's own name, for the header.
pub(super) fn call_name(nr: u64) -> &'static str {
    match nr {
        nr::READ => "read",
        nr::WRITE => "write",
        nr::ACCEPT => "accept",
        nr::ACCEPT4 => "accept4",
        nr::RECVFROM => "recvfrom",
        nr::SENDTO => "sendto",
        _ => "?",
    }
}

/// A receive's report name (`recvfrom` only when the program asked for
/// the sender's address) and its header.
pub(super) fn recv_names(nr: u64, fd: i32, from: bool) -> (&'static str, String) {
    let name = if from { "recvfrom" } else { "recv" };
    (name, format!("{}(fd {fd})", call_name(nr)))
}

//! Looking at a program's sockets from outside.
//!
//! For a watched Python program, sockplay knows each socket from its
//! reports, and takes a look at it now with pidfd_getfd(2) (Linux 5.6: a
//! duplicate of the program's descriptor, asked of a process sockplay
//! started): TCP_INFO, the queues, readiness, as for its own sockets (the
//! same snapshot, the same row). The duplicate is closed at once: held, it
//! would keep the socket open after the program closes it.
//!
//! For any program (nc, curl, a C program, or Python started with -I),
//! /proc says which of its descriptors are sockets (`socket:[INODE]` in
//! /proc/PID/fd) and /proc/PID/net/{tcp,tcp6,udp,udp6,unix} what each one
//! is: addresses, state, queues. [`ProcWatch`] turns changes of that view
//! into lines, for `watch` of a program that reports nothing itself.

use super::track::{Sock, Tracker};
use crate::exec::{Item, Row};
use crate::syntax::ast::{Family, SockKind};
use crate::table::{self, Entry, Origin};
use crate::value::SockHandle;
use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// pidfd_getfd(2): a duplicate of descriptor `fd` of the process behind
/// `pidfd`.
pub fn getfd(pidfd: RawFd, fd: i32) -> Option<OwnedFd> {
    // SAFETY: a plain system call with integer arguments.
    let dup = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) };
    if dup < 0 {
        return None;
    }
    // SAFETY: a fresh descriptor that we own.
    Some(unsafe { OwnedFd::from_raw_fd(dup as RawFd) })
}

/// Whether descriptor `fd` of a program has `events` now (looked at
/// through a duplicate, closed at once).
pub fn ready(pidfd: RawFd, fd: i32, events: i16) -> bool {
    let Some(dup) = getfd(pidfd, fd) else {
        return false;
    };
    let mut p = libc::pollfd {
        fd: dup.as_raw_fd(),
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no waiting.
    let rc = unsafe { libc::poll(&mut p, 1, 0) };
    rc > 0 && p.revents & (events | libc::POLLHUP | libc::POLLERR) != 0
}

fn sockopt_int(fd: RawFd, level: i32, opt: i32) -> Option<i32> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` is writable for `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            level,
            opt,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(v)
}

/// What the table shows of a program's socket now, looked at through a
/// duplicate (closed before this returns). None when the descriptor is
/// no longer that socket.
pub fn row_of_program_socket(pidfd: RawFd, s: &Sock, owner: &str) -> Option<Row> {
    let dup = getfd(pidfd, s.fd)?;
    let raw = dup.as_raw_fd();
    // The descriptor may have been closed and reused since the report:
    // the kind must match.
    let ty = sockopt_int(raw, libc::SOL_SOCKET, libc::SO_TYPE)?;
    let kind = match ty {
        libc::SOCK_STREAM => SockKind::Stream,
        libc::SOCK_DGRAM => SockKind::Dgram,
        _ => return None,
    };
    if s.kind.is_some_and(|k| k != kind) {
        return None;
    }
    let family = match sockopt_int(raw, libc::SOL_SOCKET, libc::SO_DOMAIN)? {
        libc::AF_INET => Family::Inet,
        libc::AF_INET6 => Family::Inet6,
        libc::AF_UNIX => Family::Unix,
        _ => return None,
    };
    let sock = socket2::Socket::from(dup);
    let e = Entry {
        handle: SockHandle {
            fd: raw,
            serial: s.serial,
        },
        sock: Arc::new(sock),
        names: vec![s.label.clone()],
        family,
        kind,
        mode: s.mode,
        backlog: s.backlog.map(|b| i32::try_from(b).unwrap_or(i32::MAX)),
        origin: Origin::Created,
        created: Instant::now(),
        bound_path: None,
        was_connected: s.peer.is_some(),
        shut_write: s.shut_write,
        was_reset: s.was_reset,
        conn: None,
        rcvlowat: false,
        host: None,
        protocol: 0,
        held: Default::default(),
    };
    let snap = table::snapshot(&e);
    let mut row = crate::exec::shell::row_of(&e, snap);
    row.fd = s.fd.to_string();
    row.names = if s.named { s.label.clone() } else { "-".into() };
    row.owner = owner.to_string();
    // `e` (and the duplicate) is dropped here.
    Some(row)
}

/// A socket as /proc/PID/net lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcSock {
    pub proto: &'static str,
    pub local: String,
    pub peer: String,
    pub state: String,
    pub recv_q: String,
    pub send_q: String,
}

impl ProcSock {
    fn words(&self) -> String {
        let mut s = format!("{} {}", self.proto, self.local);
        if self.peer != "-" {
            s.push_str(&format!(" <-> {}", self.peer));
        }
        if !self.state.is_empty() {
            s.push_str(&format!(" {}", self.state));
        }
        s
    }
}

/// The socket descriptors of a process: fd -> inode.
pub fn socket_fds(pid: i32) -> BTreeMap<i32, u64> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return out;
    };
    for e in dir.flatten().take(100_000) {
        let Ok(fd) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(target) = std::fs::read_link(e.path()) else {
            continue;
        };
        let t = target.to_string_lossy();
        if let Some(ino) = t
            .strip_prefix("socket:[")
            .and_then(|r| r.strip_suffix(']'))
            .and_then(|n| n.parse().ok())
        {
            out.insert(fd, ino);
        }
    }
    out
}

/// Every socket of the process's network namespace, by inode.
pub fn proc_sockets(pid: i32) -> HashMap<u64, ProcSock> {
    let mut out = HashMap::new();
    for (file, proto) in [
        ("tcp", "TCP"),
        ("tcp6", "TCP6"),
        ("udp", "UDP"),
        ("udp6", "UDP6"),
    ] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{file}")) else {
            continue;
        };
        for line in text.lines().skip(1).take(200_000) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                continue;
            }
            let (Some(local), Some(peer)) =
                (table::parse_proc_addr(f[1]), table::parse_proc_addr(f[2]))
            else {
                continue;
            };
            let st = u8::from_str_radix(f[3], 16).unwrap_or(0);
            let (tx, rx) = f[4].split_once(':').unwrap_or(("0", "0"));
            let tx = u32::from_str_radix(tx, 16).unwrap_or(0);
            let rx = u32::from_str_radix(rx, 16).unwrap_or(0);
            let Ok(ino) = f[9].parse::<u64>() else {
                continue;
            };
            let tcp = proto.starts_with("TCP");
            let listening = tcp && st == 10;
            let state = if tcp {
                table::tcp_state_name(st).to_string()
            } else if peer.port() != 0 {
                "connected".into()
            } else {
                "bound".into()
            };
            out.insert(
                ino,
                ProcSock {
                    proto,
                    local: local.to_string(),
                    peer: if peer.port() == 0 {
                        "-".into()
                    } else {
                        peer.to_string()
                    },
                    state,
                    // A listener's queues are its accept queue and limit.
                    recv_q: if listening {
                        format!("{rx}/{tx}")
                    } else {
                        rx.to_string()
                    },
                    send_q: if listening {
                        "-".into()
                    } else {
                        tx.to_string()
                    },
                },
            );
        }
    }
    if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/unix")) {
        for line in text.lines().skip(1).take(200_000) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 7 {
                continue;
            }
            let Ok(ino) = f[6].parse::<u64>() else {
                continue;
            };
            let flags = u32::from_str_radix(f[3], 16).unwrap_or(0);
            let ty = u32::from_str_radix(f[4], 16).unwrap_or(0);
            let st = u32::from_str_radix(f[5], 16).unwrap_or(0);
            let path = f
                .get(7)
                .map_or(String::from("-"), |p| crate::value::escape_controls(p));
            out.insert(
                ino,
                ProcSock {
                    proto: if ty == 2 { "UNIX-DG" } else { "UNIX" },
                    local: path,
                    peer: "-".into(),
                    state: if flags & 0x10000 != 0 {
                        "listening".into()
                    } else if st == 3 {
                        "connected".into()
                    } else {
                        "unconnected".into()
                    },
                    recv_q: "-".into(),
                    send_q: "-".into(),
                },
            );
        }
    }
    out
}

/// The table's rows for a process's sockets, from /proc alone.
pub fn proc_rows(pid: i32, owner: &str, names: &HashMap<i32, String>) -> Vec<Row> {
    let fds = socket_fds(pid);
    if fds.is_empty() {
        return Vec::new();
    }
    let all = proc_sockets(pid);
    fds.iter()
        .map(|(fd, ino)| {
            let s = all.get(ino);
            Row {
                fd: fd.to_string(),
                names: names.get(fd).cloned().unwrap_or_else(|| "-".into()),
                proto: s.map_or("?", |s| s.proto).to_string(),
                local: s.map_or("-".into(), |s| s.local.clone()),
                peer: s.map_or("-".into(), |s| s.peer.clone()),
                state: s.map_or(String::new(), |s| s.state.clone()),
                recv_q: s.map_or("-".into(), |s| s.recv_q.clone()),
                send_q: s.map_or("-".into(), |s| s.send_q.clone()),
                mode: "-".into(),
                ready: "-".into(),
                owner: owner.to_string(),
                host: String::new(),
            }
        })
        .collect()
}

/// The rows of a watched program: from its reports and a look at each
/// socket; the sockets of processes that do not report (or that the look
/// cannot reach) from /proc.
pub fn program_rows(t: &Tracker, main_pidfd: Option<RawFd>, owner: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut pidfds: HashMap<i32, Option<OwnedFd>> = HashMap::new();
    let mut done: HashMap<i32, Vec<i32>> = HashMap::new();
    for (&(pid, fd), s) in t.sockets() {
        let pidfd = if pid == t.setup.main_pid {
            main_pidfd
        } else {
            pidfds
                .entry(pid)
                .or_insert_with(|| super::launch::pidfd_open(pid))
                .as_ref()
                .map(AsRawFd::as_raw_fd)
        };
        let who = if pid == t.setup.main_pid {
            owner.to_string()
        } else {
            format!("{owner} pid {pid}")
        };
        if let Some(r) = pidfd.and_then(|p| row_of_program_socket(p, s, &who)) {
            rows.push(r);
            done.entry(pid).or_default().push(fd);
        }
    }
    // What the look could not reach (or a program that does not report).
    for &pid in t.pids.keys() {
        let names: HashMap<i32, String> = t
            .sockets()
            .filter(|((p, _), s)| *p == pid && s.named)
            .map(|((_, fd), s)| (*fd, s.label.clone()))
            .collect();
        let skip = done.get(&pid).cloned().unwrap_or_default();
        let who = if pid == t.setup.main_pid {
            owner.to_string()
        } else {
            format!("{owner} pid {pid}")
        };
        let channel = super::launch::channel_fd();
        rows.extend(proc_rows(pid, &who, &names).into_iter().filter(|r| {
            !r.fd
                .parse::<i32>()
                .is_ok_and(|fd| skip.contains(&fd) || fd == channel)
        }));
    }
    rows.sort_by_key(|r| (r.owner.clone(), r.fd.parse::<i32>().unwrap_or(i32::MAX)));
    rows
}

/// Follows the sockets of a program that reports nothing (not Python, or
/// Python without the start-up module): each new socket, change and close
/// becomes a line.
pub struct ProcWatch {
    pid: i32,
    who: String,
    seen: BTreeMap<i32, (u64, String)>,
    last: Option<Instant>,
}

/// How often /proc is read for such a program.
const PROC_EVERY: Duration = Duration::from_millis(30);

impl ProcWatch {
    pub fn new(pid: i32, who: String) -> ProcWatch {
        ProcWatch {
            pid,
            who,
            seen: BTreeMap::new(),
            last: None,
        }
    }

    /// The changes since the last look (at most every 100 ms).
    pub fn poll(&mut self) -> Vec<Item> {
        if self.last.is_some_and(|t| t.elapsed() < PROC_EVERY) {
            return Vec::new();
        }
        self.last = Some(Instant::now());
        let fds = socket_fds(self.pid);
        let all = if fds.is_empty() {
            HashMap::new()
        } else {
            proc_sockets(self.pid)
        };
        let channel = super::launch::channel_fd();
        let mut out = Vec::new();
        let prefix = if self.who.is_empty() {
            String::new()
        } else {
            format!("{} ", self.who)
        };
        for (fd, ino) in &fds {
            if *fd == channel {
                continue;
            }
            let now = all
                .get(ino)
                .map_or_else(|| "a socket".to_string(), ProcSock::words);
            match self.seen.get(fd) {
                Some((i, before)) if i == ino && *before == now => {}
                Some((i, before)) if i == ino => {
                    out.push(Item::Done(format!("{prefix}fd {fd}: {before} -> {now}")))
                }
                _ => out.push(Item::Done(format!("{prefix}fd {fd} is a socket: {now}"))),
            }
            self.seen.insert(*fd, (*ino, now));
        }
        let gone: Vec<i32> = self
            .seen
            .keys()
            .filter(|fd| !fds.contains_key(fd))
            .copied()
            .collect();
        for fd in gone {
            self.seen.remove(&fd);
            out.push(Item::Done(format!("{prefix}fd {fd} closed")));
        }
        out
    }

    /// At the end: a note when nothing was reported at all.
    pub fn finish(&mut self) -> Vec<Item> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_s_input_is_seen_ready() {
        use std::io::Write;
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("sleep");
        let pidfd = crate::watch::launch::pidfd_open(child.id() as i32).expect("pidfd");
        assert!(!ready(pidfd.as_raw_fd(), 0, libc::POLLIN));
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"hi\n").expect("write");
        assert!(ready(pidfd.as_raw_fd(), 0, libc::POLLIN));
        let _ = child.kill();
        let _ = child.wait();
    }
}

//! What a watched call that waits is shown waiting for: the shell's wait
//! line for each call (accept, recv, send, connect, select, poll, input...),
//! the words `jobs` gives, and the descriptors a wait is on (to tell a wait
//! about to end).

use super::{PAddr, Sock, Tracker, paddr};
use crate::exec::Item;
use crate::exec::recv::recv_wait_what;
use crate::syntax::ast::{Family, SockKind};
use crate::value::{addr_short, escape_controls};
use crate::watch::proto::Call;
use std::time::Duration;

impl Tracker {
    /// `jobs`' words for a wait.
    pub(super) fn wait_text(&self, c: &Call) -> String {
        let at = self
            .places
            .get(&(c.pid, c.loc))
            .map_or(String::new(), |p| format!("{} ", p.at));
        let wait = self
            .waiting_items(c)
            .into_iter()
            .find(|i| matches!(i, Item::ProgramWaiting { .. }));
        match wait {
            Some(Item::ProgramWaiting { call, what, .. }) => format!("{at}{call} waits for {what}"),
            _ => format!("{at}{}() waits", c.name),
        }
    }

    /// What a call that waits waits for.
    pub(super) fn waiting_items(&self, c: &Call) -> Vec<Item> {
        let stop = self.stop_text();
        let sock = self.socks.get(&(c.pid, c.fd));
        let wait = |call: String, what: String, queue: String| {
            vec![Item::ProgramWaiting {
                call,
                what,
                queue,
                stop: stop.clone(),
            }]
        };
        let fd = c.fd;
        match c.name.as_str() {
            "accept" => {
                let queue = match (c.int(0), c.int(1)) {
                    (Some(q), Some(m)) if q >= 0 && m >= 0 => format!("accept queue {q}/{m}"),
                    _ => "accept queue empty".into(),
                };
                let local = sock.map_or("?".into(), Sock::local_text);
                wait(
                    format!("accept(fd {fd})"),
                    format!("a client on {local}"),
                    queue,
                )
            }
            "recv" | "recv_into" | "recvfrom" | "recvfrom_into" | "recvmsg" => {
                let kind = sock.and_then(|s| s.kind).unwrap_or(SockKind::Stream);
                let peer = sock.and_then(|s| s.peer.as_ref());
                // A datagram socket's wait gives its address as it is now
                // (after its arguments): the port 0 of an unbound one, as
                // the shell shows it, with the shell's warning.
                let now = paddr(c.field(3));
                let local = match &now {
                    PAddr::Sock(a) => addr_short(a),
                    _ => sock.map_or("?".into(), Sock::local_text),
                };
                let unbound = kind == SockKind::Dgram
                    && peer.is_none()
                    && now.sock().is_some_and(|a| !crate::table::is_bound(a));
                let name = if c.name.starts_with("recvfrom") {
                    "recvfrom"
                } else if c.name == "recvmsg" {
                    "recvmsg"
                } else {
                    "recv"
                };
                let mut items = Vec::new();
                if unbound {
                    items.push(Item::Warn(format!(
                        "{} has no address yet, so no datagram can reach it: bind it first (or send from it: that binds it to a port the kernel picks)",
                        sock.map_or_else(|| format!("fd {fd}"), |s| s.label.clone())
                    )));
                }
                items.extend(wait(
                    format!("{name}(fd {fd})"),
                    recv_wait_what(kind, peer, &local),
                    "receive queue empty".into(),
                ));
                items
            }
            "send" | "sendall" => {
                let total = c.int(0).unwrap_or(0);
                let q = c.int(2).unwrap_or(-1);
                let sent = c.int(3).unwrap_or(0);
                let mut queue = if q >= 0 {
                    format!("send queue {q} bytes")
                } else {
                    "send queue full".into()
                };
                if sent > 0 {
                    queue = format!("{sent} of {total} bytes sent - {queue}");
                }
                wait(
                    format!("send(fd {fd})"),
                    "buffer space (the peer is not reading fast enough)".into(),
                    queue,
                )
            }
            "sendmsg" => wait(
                format!("sendmsg(fd {fd})"),
                "buffer space".into(),
                "send queue full".into(),
            ),
            "sendto" => wait(
                format!("sendto(fd {fd})"),
                "buffer space".into(),
                "send queue full".into(),
            ),
            "connect" | "connect_ex" => {
                let target = paddr(c.field(0)).text();
                let unix = sock.and_then(|s| s.family) == Some(Family::Unix);
                wait(
                    format!("connect(fd {fd})"),
                    format!("the handshake with {target}"),
                    if unix {
                        "the listener's accept queue is full".into()
                    } else {
                        "SYN sent, state SYN_SENT".into()
                    },
                )
            }
            "select" => {
                let mut what = Vec::new();
                for (k, word) in ["readable", "writable", "with urgent data"]
                    .iter()
                    .enumerate()
                {
                    let fds = self.fd_labels(c.pid, c.field(k));
                    if !fds.is_empty() {
                        what.push(format!("{fds} {word}"));
                    }
                }
                wait(
                    "select".into(),
                    format!("one of: {}", what.join("; ")),
                    timeout_words(c.field(3), 1.0),
                )
            }
            "poll" | "epoll" => {
                let mut what = Vec::new();
                for pair in c.field(0).split(',').filter(|p| !p.is_empty()) {
                    let Some((f, ev)) = pair.split_once(':') else {
                        continue;
                    };
                    let (Ok(f), Ok(ev)) = (f.parse::<i32>(), ev.parse::<i64>()) else {
                        continue;
                    };
                    let mut words = Vec::new();
                    if ev & 1 != 0 {
                        words.push("readable");
                    }
                    if ev & 4 != 0 {
                        words.push("writable");
                    }
                    if ev & 2 != 0 {
                        words.push("urgent data");
                    }
                    what.push(format!("{} {}", self.label(c.pid, f), words.join("/")));
                }
                // epoll's timeout is in seconds, poll's in milliseconds.
                let scale = if c.name == "epoll" { 1.0 } else { 0.001 };
                wait(
                    c.name.clone(),
                    format!("one of: {}", what.join("; ")),
                    timeout_words(c.field(1), scale),
                )
            }
            "input" => wait(
                "input()".into(),
                "a line on its standard input".into(),
                format!("prompt {}", c.field(0)),
            )
            .into_iter()
            .map(|i| match (i, self.setup.job) {
                (
                    Item::ProgramWaiting {
                        call, what, queue, ..
                    },
                    Some(id),
                ) => Item::ProgramWaiting {
                    call,
                    what,
                    queue,
                    stop: format!("`input %{id} \"text\"` types one"),
                },
                (i, _) => i,
            })
            .collect(),
            "sleep" => wait(
                format!("sleep({})", c.field(0)),
                "the clock".into(),
                format!("{} s", c.field(0)),
            ),
            "join" => wait(
                "join()".into(),
                format!("thread {} to end", c.field(0)),
                timeout_words(c.field(1), 1.0),
            ),
            _ => Vec::new(),
        }
    }

    /// `sockfd, fd 5` for a list of fds.
    pub(super) fn fd_labels(&self, pid: i32, list: &str) -> String {
        list.split(',')
            .filter(|f| !f.is_empty())
            .map(|f| match f.parse::<i32>() {
                Ok(fd) => self.label(pid, fd),
                Err(_) => escape_controls(f),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What a waiting call waits on: (fd, poll events).
pub(super) fn wait_fds(c: &Call) -> Vec<(i32, i16)> {
    let list = |f: &str, ev: i16| -> Vec<(i32, i16)> {
        f.split(',')
            .filter_map(|x| x.parse::<i32>().ok())
            .map(|fd| (fd, ev))
            .take(1024)
            .collect()
    };
    match c.name.as_str() {
        "accept" | "recv" | "recv_into" | "recvfrom" | "recvfrom_into" | "recvmsg" => {
            vec![(c.fd, libc::POLLIN)]
        }
        "send" | "sendall" | "sendto" | "sendmsg" => vec![(c.fd, libc::POLLOUT)],
        "input" => vec![(0, libc::POLLIN)],
        "select" => {
            let mut v = list(c.field(0), libc::POLLIN);
            v.extend(list(c.field(1), libc::POLLOUT));
            v.extend(list(c.field(2), libc::POLLPRI));
            v
        }
        "poll" | "epoll" => c
            .field(0)
            .split(',')
            .filter_map(|p| {
                let (f, ev) = p.split_once(':')?;
                let ev: i64 = ev.parse().ok()?;
                // POLLIN, POLLPRI and POLLOUT have the same bits in epoll.
                Some((f.parse().ok()?, (ev & 7) as i16))
            })
            .take(1024)
            .collect(),
        _ => Vec::new(),
    }
}

/// `up to 2 s` or `no timeout`, from a timeout in `scale` seconds.
pub(super) fn timeout_words(t: &str, scale: f64) -> String {
    match t.parse::<f64>() {
        Ok(v) if v >= 0.0 => match Duration::try_from_secs_f64(v * scale) {
            Ok(d) => format!("up to {}", crate::wait::human(d)),
            Err(_) => "no timeout".into(),
        },
        _ => "no timeout".into(),
    }
}

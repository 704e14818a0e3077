//! What a watched program's accept, connect, sends, receives, select and
//! poll did to its sockets: the shell's lines for them, the connections
//! learnt (for `states` and the message boundaries shared with the
//! shell), and the sockets forgotten when closed.

use super::{PAddr, SENT_SHOWN, Sock, Tracker, paddr};
use crate::errors::ExecError;
use crate::exec::Item;
use crate::exec::bounds;
use crate::exec::recv::{RecvFacts, recv_notes};
use crate::syntax::ast::{SockKind, View};
use crate::value::plural;
use crate::value::{self, SockHandle, Value, addr_short};
use crate::watch::proto::Call;
use socket2::SockAddr;
use std::collections::HashMap;

impl Tracker {
    pub(super) fn watch_addr(&self, a: &SockAddr) {
        if let (Some(w), Some(sa)) = (&self.ctx.watch_port, a.as_socket())
            && sa.port() != 0
        {
            w(sa.port());
        }
    }

    /// The socket's connection is known: its sends will be reported.
    pub(super) fn note_conn(&self, s: &Sock) {
        if let Some((l, p)) = s.pair() {
            if let Ok(mut b) = self.ctx.bounds.lock() {
                b.expect_reports(l, p);
            }
            self.watch_addr(&SockAddr::from(l));
        }
    }

    pub(super) fn forget(&mut self, pid: i32, fd: i32) {
        if let Some(s) = self.socks.remove(&(pid, fd))
            && let Some((l, p)) = s.pair()
        {
            if let Ok(mut b) = self.ctx.bounds.lock() {
                b.forget(l, p);
            }
            if self.closed.len() >= 256 {
                self.closed.pop_front();
            }
            self.closed.push_back((l, p, s.label.clone()));
        }
    }

    pub(super) fn accepted(&mut self, c: &Call, out: &mut Vec<Item>) {
        let (pid, fd) = (c.pid, c.fd);
        let newfd = c.int(2).unwrap_or(-1) as i32;
        let peer = paddr(c.field(3));
        let local = paddr(c.field(4));
        let (q, max) = (c.int(0).unwrap_or(-1), c.int(1).unwrap_or(-1));
        if c.waited.is_none() && q > 0 {
            out.push(Item::NoWait(format!(
                "{} already waiting in the accept queue ({q}/{max})",
                plural(q as usize, "connection was", "connections were")
            )));
        }
        let listener = self.socks.get(&(pid, fd)).cloned();
        let place = self.places.get(&(pid, c.loc)).cloned();
        let names = place
            .map(|p| p.targets)
            .filter(|_| c.via.is_empty() || c.via.ends_with(":accept"))
            .unwrap_or_default();
        let mut s = Sock::new(newfd);
        s.family = listener.as_ref().and_then(|l| l.family);
        s.kind = Some(SockKind::Stream);
        s.local = local.sock().cloned();
        s.peer = peer.sock().cloned();
        if names.len() == 2 {
            s.label = names[0].clone();
            s.named = true;
        }
        let from = match &peer {
            PAddr::Sock(a) if addr_short(a) == "-" => {
                "an unnamed client socket (it never bound a path)".to_string()
            }
            p => p.text(),
        };
        out.push(Item::Done(format!(
            "accepted a connection from {from} as a new socket, fd {newfd}"
        )));
        let desc = s.desc("ESTABLISHED");
        let h = SockHandle {
            fd: newfd,
            serial: s.serial,
        };
        self.forget(pid, newfd);
        self.note_conn(&s);
        if let Some((l, p)) = s.pair() {
            self.record(
                c.t1,
                (l, Some(p)),
                &s.label,
                s.serial,
                crate::wire::CallKind::Accepted,
            );
        }
        self.socks.insert((pid, newfd), s);
        if names.len() == 2 {
            out.push(Item::Value {
                name: Some(names[0].clone()),
                value: Value::Socket(h),
                view: View::Repr,
                sock: Some(desc),
                pieces: Vec::new(),
            });
            out.push(Item::Value {
                name: Some(names[1].clone()),
                value: peer.value(),
                view: View::Repr,
                sock: None,
                pieces: Vec::new(),
            });
        } else {
            out.push(Item::Value {
                name: None,
                value: Value::Tuple(vec![Value::Socket(h), peer.value()]),
                view: View::Repr,
                sock: Some(desc),
                pieces: Vec::new(),
            });
        }
    }

    pub(super) fn connected(&mut self, c: &Call, out: &mut Vec<Item>) {
        let (pid, fd) = (c.pid, c.fd);
        let target = paddr(c.field(0));
        let (rc, local) = if c.name == "connect_ex" {
            (c.int(1).unwrap_or(0), paddr(c.field(2)))
        } else {
            (0, paddr(c.field(1)))
        };
        if rc != 0 {
            let e = ExecError::os(rc as i32);
            self.record_failure(c, e.exception.as_str());
            out.push(Item::Value {
                name: None,
                value: Value::Int(rc),
                view: View::Repr,
                sock: None,
                pieces: Vec::new(),
            });
            out.push(Item::Note(format!(
                "connect_ex returns the error instead of raising it: {e}"
            )));
            return;
        }
        if let Some(a) = target.sock() {
            self.watch_addr(a);
        }
        let s = self.sock(pid, fd);
        if let PAddr::Sock(a) = &local {
            s.local = Some(a.clone());
        }
        if let PAddr::Sock(a) = &target {
            s.peer = Some(a.clone());
        }
        let label = s.label.clone();
        let tcp = s.is_tcp();
        let dgram = s.kind == Some(SockKind::Dgram);
        let snapshot = s.clone();
        self.note_conn(&snapshot);
        // The SYN left when the call began; the handshake was done when it
        // returned.
        if let Some((l, p)) = snapshot.pair() {
            let ends = (l, Some(p));
            let id = snapshot.serial;
            self.record(c.t0, ends, &label, id, crate::wire::CallKind::Connect);
            self.record(c.t1, ends, &label, id, crate::wire::CallKind::Connected);
        }
        let mut msg = format!("connected {label}");
        let l = local.text();
        if !l.is_empty() && l != "-" && l != "an unnamed socket" {
            msg.push_str(&format!(" from {l}"));
        }
        msg.push_str(&format!(" to {}", target.text()));
        if tcp {
            msg.push_str(" (ESTABLISHED)");
        }
        out.push(Item::Done(msg));
        if dgram {
            out.push(Item::Note(
                "a UDP connect sends nothing: it only fixes the peer, so send/recv work and datagrams from others are dropped".into(),
            ));
        }
    }

    pub(super) fn sent(&mut self, c: &Call, out: &mut Vec<Item>) {
        let (pid, fd) = (c.pid, c.fd);
        let total = c.int(0).unwrap_or(0).max(0) as usize;
        let n = match c.name.as_str() {
            "sendall" => total,
            _ => c.int(3).unwrap_or(0).max(0) as usize,
        };
        if c.name == "sendto"
            && let PAddr::Sock(a) = paddr(c.field(4))
        {
            let s = self.sock(pid, fd);
            if s.local.is_none() {
                s.local = Some(a);
            }
        }
        let sock = self.socks.get(&(pid, fd)).cloned();
        let mut msg = match c.name.as_str() {
            "sendall" => format!("sent all {}", plural(n, "byte", "bytes")),
            _ => format!("sent {}", plural(n, "byte", "bytes")),
        };
        if c.name == "send" && n < total {
            msg.push_str(&format!(
                " of {total} (the rest did not fit in the send buffer)"
            ));
        }
        if c.name == "sendto" {
            msg.push_str(&format!(" to {}", paddr(c.field(2)).text()));
        }
        if !c.data.is_empty() {
            let shown = &c.data[..c.data.len().min(SENT_SHOWN)];
            let more = if c.data.len() > SENT_SHOWN || n > c.data.len() {
                "..."
            } else {
                ""
            };
            msg.push_str(&format!(": {}{more}", value::bytes_repr(shown)));
        }
        out.push(Item::Done(msg));
        let Some(s) = sock else { return };
        let to = (c.name == "sendto").then(|| paddr(c.field(2)));
        self.log_bytes(
            c,
            &s,
            crate::proto::log::Dir::Sent,
            n,
            to.as_ref().and_then(PAddr::sock),
        );
        if let Some((l, p)) = s.pair()
            && n > 0
        {
            let no = self.ctx.bounds.lock().ok().map(|mut b| {
                b.name_sender(l, p, bounds::Sender::Program(s.label.clone()));
                b.sent(l, p, n)
            });
            if let Some(no) = no {
                let all = c.name == "sendall";
                let kind = crate::wire::CallKind::Send { no, len: n, all };
                self.record(c.t0, (l, Some(p)), &s.label, s.serial, kind);
            }
        } else if s.kind == Some(SockKind::Dgram)
            && n > 0
            && let Some(local) = s.local.as_ref().and_then(SockAddr::as_socket)
        {
            // A datagram: to where sendto said, or to the connected peer.
            let to = match paddr(c.field(2)) {
                PAddr::Sock(a) if c.name == "sendto" => a.as_socket(),
                _ => s.peer.as_ref().and_then(SockAddr::as_socket),
            };
            if let Some(to) = to {
                let kind = crate::wire::CallKind::SendTo { len: n, to };
                self.record(
                    c.t0,
                    (local, s.peer.as_ref().and_then(SockAddr::as_socket)),
                    &s.label,
                    s.serial,
                    kind,
                );
            }
        }
    }

    pub(super) fn received(&mut self, c: &Call, out: &mut Vec<Item>) {
        let (pid, fd) = (c.pid, c.fd);
        let size = c.int(0).unwrap_or(0).max(0) as usize;
        let flags = c.int(1).unwrap_or(0) as i32;
        let dgram_size = c.int(2).unwrap_or(-1);
        let n = c.int(3).unwrap_or(0).max(0) as usize;
        let from = c.name.starts_with("recvfrom");
        let (addr, rem) = if from {
            (paddr(c.field(4)), c.int(5).unwrap_or(-1))
        } else {
            (PAddr::None, c.int(4).unwrap_or(-1))
        };
        let sock = self
            .socks
            .get(&(pid, fd))
            .cloned()
            .unwrap_or_else(|| Sock::new(fd));
        let kind = sock.kind.unwrap_or(SockKind::Stream);
        if c.waited.is_none() {
            if n > 0 {
                let queued = if kind == SockKind::Dgram {
                    usize::try_from(dgram_size).unwrap_or(n).max(n)
                } else {
                    n + usize::try_from(rem).unwrap_or(0)
                };
                out.push(Item::NoWait(if kind == SockKind::Dgram {
                    format!(
                        "a datagram of {} was already queued",
                        plural(queued, "byte", "bytes")
                    )
                } else {
                    format!(
                        "{} already queued",
                        plural(queued, "byte was", "bytes were")
                    )
                }));
            } else if kind == SockKind::Stream && size > 0 {
                out.push(Item::NoWait(if sock.was_reset {
                    "an error is pending on this socket (the connection was reset): no need to wait"
                        .into()
                } else {
                    "nothing queued, but the peer has closed: no need to wait".into()
                }));
            }
        }
        let mut data = c.data.clone();
        data.truncate(n);
        if flags & libc::MSG_PEEK == 0 {
            self.log_bytes(c, &sock, crate::proto::log::Dir::Received, n, addr.sock());
        }
        let mut pieces = Vec::new();
        if kind == SockKind::Stream
            && n > 0
            && flags & libc::MSG_OOB == 0
            && let Some((l, p)) = sock.pair()
        {
            pieces =
                bounds::received_synced(&self.ctx.bounds, l, p, n, flags & libc::MSG_PEEK != 0);
        }
        // What the recv took (or the end of the stream), drawn after the
        // segments that brought it.
        if kind == SockKind::Stream
            && flags & (libc::MSG_PEEK | libc::MSG_OOB) == 0
            && (n > 0 || size > 0)
            && let Some((l, p)) = sock.pair()
        {
            let sends = pieces.iter().map(|p| p.send_no).collect();
            let kind = crate::wire::CallKind::Recv { sends, len: n };
            self.record(c.t1, (l, Some(p)), &sock.label, sock.serial, kind);
        }
        let real = if kind == SockKind::Dgram {
            usize::try_from(dgram_size).unwrap_or(n).max(n)
        } else {
            n
        };
        let value = Value::Bytes(data.clone().into());
        let shown_value = if from {
            Value::Tuple(vec![value, addr.value()])
        } else if c.name.ends_with("_into") {
            Value::Int(n as i64)
        } else {
            value
        };
        if c.name.ends_with("_into") {
            // recv_into returns a count; what it put in the buffer is shown.
            out.push(Item::Value {
                name: None,
                value: shown_value,
                view: View::Repr,
                sock: None,
                pieces: Vec::new(),
            });
            out.push(Item::Note(format!(
                "into the buffer: {}",
                value::bytes_repr(&data[..data.len().min(256)])
            )));
        } else {
            let view = if from {
                View::Repr
            } else {
                self.ctx.view_now()
            };
            out.push(Item::Value {
                name: None,
                value: shown_value,
                view,
                sock: None,
                pieces: if from { Vec::new() } else { pieces.clone() },
            });
        }
        if n > c.data.len() {
            out.push(Item::Note(format!(
                "{} received; the first {} are shown",
                plural(n, "byte", "bytes"),
                c.data.len()
            )));
        }
        out.extend(recv_notes(
            &RecvFacts {
                kind,
                reset: sock.was_reset,
                // The receiver is the program's socket; the sender is
                // named as the boundaries know it (the shell's `k`, or a
                // program's socket).
                ends: self.recv_ends(&sock, pieces.len() > 1),
                bytes: n,
                real,
                size,
                flags,
            },
            &pieces,
            &mut || u32::try_from(rem).ok(),
        ));
    }

    pub(super) fn selected(&mut self, c: &Call, out: &mut Vec<Item>) {
        let pid = c.pid;
        let nread: HashMap<i32, i64> = c
            .field(7)
            .split(',')
            .filter_map(|p| {
                let (f, n) = p.split_once(':')?;
                Some((f.parse().ok()?, n.parse().ok()?))
            })
            .collect();
        let mut any = false;
        for (k, word) in ["readable", "writable", "urgent"].iter().enumerate() {
            for f in c
                .field(4 + k)
                .split(',')
                .filter_map(|f| f.parse::<i32>().ok())
            {
                any = true;
                let label = self.label(pid, f);
                let why = match k {
                    0 => self.why_readable(pid, f, nread.get(&f).copied()),
                    1 => "buffer space: send will not block".to_string(),
                    _ => format!("urgent (OOB) data: recv({label}, 1, MSG_OOB) reads it"),
                };
                out.push(Item::Done(format!("{label} {word}: {why}")));
            }
        }
        if !any {
            out.push(Item::Done(
                "nothing ready: select timed out and returns three empty lists".into(),
            ));
        }
    }

    pub(super) fn polled(&mut self, c: &Call, out: &mut Vec<Item>) {
        let pid = c.pid;
        let nread: HashMap<i32, i64> = c
            .field(3)
            .split(',')
            .filter_map(|p| {
                let (f, n) = p.split_once(':')?;
                Some((f.parse().ok()?, n.parse().ok()?))
            })
            .collect();
        let mut any = false;
        for pair in c.field(2).split(',').filter(|p| !p.is_empty()) {
            let Some((f, ev)) = pair.split_once(':') else {
                continue;
            };
            let (Ok(f), Ok(ev)) = (f.parse::<i32>(), ev.parse::<i64>()) else {
                continue;
            };
            any = true;
            let mut names = Vec::new();
            for (bit, name) in [
                (1, "POLLIN"),
                (2, "POLLPRI"),
                (4, "POLLOUT"),
                (8, "POLLERR"),
                (16, "POLLHUP"),
                (0x2000, "POLLRDHUP"),
            ] {
                if ev & bit != 0 {
                    names.push(name);
                }
            }
            let mut why = Vec::new();
            if ev & (1 | 8 | 16 | 0x2000) != 0 {
                why.push(self.why_readable(pid, f, nread.get(&f).copied()));
            }
            if ev & 4 != 0 {
                why.push("buffer space: send will not block".into());
            }
            let label = self.label(pid, f);
            let named = if label == format!("fd {f}") {
                String::new()
            } else {
                format!(" ({label})")
            };
            out.push(Item::Done(format!(
                "fd {f}{named}: {} - {}",
                names.join("|"),
                why.join("; ")
            )));
        }
        if !any {
            out.push(Item::Done(format!(
                "nothing ready: {} timed out and returns []",
                c.name
            )));
        }
    }

    /// Why a program's socket is readable, in terms of its next call.
    pub(super) fn why_readable(&self, pid: i32, fd: i32, queued: Option<i64>) -> String {
        let s = self.socks.get(&(pid, fd));
        if s.is_some_and(|s| s.listening) {
            return "a connection is waiting in the accept queue: accept will not block".into();
        }
        let dgram = s.and_then(|s| s.kind) == Some(SockKind::Dgram);
        match queued {
            Some(q) if q > 0 && dgram => {
                format!("a datagram of {q} bytes is queued: recvfrom will not block")
            }
            Some(q) if q > 0 => format!("{q} bytes queued: recv will not block"),
            Some(0) if !dgram => "the peer closed: recv returns b'' at once".into(),
            _ => "readable: the next recv will not block".into(),
        }
    }
}

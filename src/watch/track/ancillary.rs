//! A watched program's sendmsg and recvmsg (so `socket.send_fds` and
//! `socket.recv_fds`), and the socket objects it makes of descriptors it
//! holds (`socket.socket(fileno=fd)`, `socket.fromfd`).
//!
//! A descriptor passed with SCM_RIGHTS is the same socket in the receiving
//! process: the hook describes each one it receives (family, type,
//! addresses), and from then on it is one of the program's sockets, traced
//! like those it made: its calls, its connection's message boundaries
//! (shared with the shell, which may hold its other end), its row in
//! `sockets`, its segments in `states` and `diagram`.

use super::{PAddr, Sock, Tracker, family_of, kind_of, mode_of, paddr, plural};
use crate::exec::Item;
use crate::exec::bounds::{self, Sender};
use crate::syntax::ast::{Family, SockKind, View};
use crate::value::{SockHandle, Value, addr_short};
use crate::watch::proto::Call;
use socket2::SockAddr;

/// How many received descriptors a report describes (the hook's limit).
const DESCRIBED: usize = 8;

/// `TCP`, `UDP`, `UNIX stream`: a socket in a few words.
fn kind_words(family: Option<Family>, kind: Option<SockKind>) -> &'static str {
    match (family, kind) {
        (Some(Family::Inet | Family::Inet6), Some(SockKind::Stream)) => "TCP socket",
        (Some(Family::Inet | Family::Inet6), Some(SockKind::Dgram)) => "UDP socket",
        (Some(Family::Unix), Some(SockKind::Stream)) => "UNIX stream socket",
        (Some(Family::Unix), Some(SockKind::Dgram)) => "UNIX datagram socket",
        (Some(Family::Unix), Some(SockKind::SeqPacket)) => "UNIX seqpacket socket",
        _ => "socket",
    }
}

fn fd_list(field: &str) -> Vec<i32> {
    field
        .split(',')
        .filter_map(|f| f.parse().ok())
        .take(64)
        .collect()
}

impl Tracker {
    /// `conn = socket.socket(fileno=fd)` (or `socket.fromfd`): a socket
    /// object for a descriptor the program holds.
    pub(super) fn adopted(&mut self, c: &Call, out: &mut Vec<Item>) {
        let (pid, fd) = (c.pid, c.fd);
        let named = self.places.get(&(pid, c.loc)).and_then(|p| {
            let direct = c.via.is_empty() || c.via.ends_with(":fromfd");
            (direct && p.targets.len() == 1).then(|| p.targets[0].clone())
        });
        // What the recvmsg that brought it said, if it did (a dup made by
        // socket.fromfd shares its socket with the original).
        let mut s = self
            .socks
            .remove(&(pid, fd))
            .unwrap_or_else(|| Sock::new(fd));
        s.shared |= c.via.ends_with(":fromfd");
        s.family = c.int(0).and_then(family_of).or(s.family);
        s.kind = c.int(1).and_then(kind_of).or(s.kind);
        if let Ok(t) = c.field(3).parse::<f64>() {
            s.mode = mode_of(Some(t));
        }
        if let PAddr::Sock(a) = paddr(c.field(4)) {
            s.local = Some(a);
        }
        if let PAddr::Sock(a) = paddr(c.field(5)) {
            s.peer = Some(a);
        }
        if let Some(n) = &named {
            s.label = n.clone();
            s.named = true;
        }
        let state = if s.pair().is_some() {
            "ESTABLISHED"
        } else {
            ""
        };
        let desc = s.desc(state);
        let h = SockHandle {
            fd,
            serial: s.serial,
        };
        self.note_conn(&s);
        self.socks.insert((pid, fd), s);
        out.push(Item::Value {
            name: named,
            value: Value::Socket(h),
            view: View::Repr,
            sock: Some(desc),
            pieces: Vec::new(),
        });
    }

    /// sendmsg: its bytes (a stream's, counted as one send), and the
    /// descriptors it passed.
    pub(super) fn sent_msg(&mut self, c: &Call, out: &mut Vec<Item>) {
        let (pid, fd) = (c.pid, c.fd);
        let n = c.int(3).unwrap_or(0).max(0) as usize;
        let passed = fd_list(c.field(2));
        let mut msg = format!("sendmsg: {}", plural(n, "byte", "bytes"));
        if passed.is_empty() {
            if !c.data.is_empty() {
                msg.push_str(&format!(
                    ": {}",
                    crate::value::bytes_repr(&c.data[..c.data.len().min(48)])
                ));
            }
        } else {
            let names: Vec<String> = passed
                .iter()
                .map(|&f| match self.socks.get(&(pid, f)) {
                    Some(s) if s.named => format!("{} (fd {f})", s.label),
                    _ => format!("fd {f}"),
                })
                .collect();
            msg.push_str(&format!(
                " and {} ({}) with SCM_RIGHTS",
                plural(passed.len(), "descriptor", "descriptors"),
                names.join(", ")
            ));
        }
        out.push(Item::Done(msg));
        if !passed.is_empty() {
            out.push(Item::Note(
                "the receiver gets new descriptors of the same sockets: what it sends on them, their other \
                 ends receive; they stay open in this program too"
                    .into(),
            ));
        }
        // On a TCP connection the bytes are one send of the stream.
        let Some(s) = self.socks.get(&(pid, fd)).cloned() else {
            return;
        };
        self.log_bytes(c, &s, crate::proto::log::Dir::Sent, n, None);
        if let Some((l, p)) = s.pair()
            && n > 0
        {
            let no = self.ctx.bounds.lock().ok().map(|mut b| {
                b.name_sender(l, p, Sender::Program(s.label.clone()));
                b.sent(l, p, n)
            });
            if let Some(no) = no {
                let kind = crate::wire::CallKind::Send {
                    no,
                    len: n,
                    all: false,
                };
                self.record(c.t0, (l, Some(p)), &s.label, s.serial, kind);
            }
        }
    }

    /// recvmsg (recv_fds): the bytes, and each descriptor received, which
    /// becomes one of the program's sockets.
    pub(super) fn received_msg(&mut self, c: &Call, out: &mut Vec<Item>) {
        let (pid, fd) = (c.pid, c.fd);
        let n = c.int(3).unwrap_or(0).max(0) as usize;
        let flags = c.int(4).unwrap_or(0);
        let from = paddr(c.field(5));
        let got = fd_list(c.field(6));
        let sock = self.socks.get(&(pid, fd)).cloned();
        let stream = sock.as_ref().and_then(|s| s.kind) != Some(SockKind::Dgram);
        let mut msg = format!("recvmsg: {}", plural(n, "byte", "bytes"));
        if n == 0 && got.is_empty() && stream {
            msg.push_str(" (b'': the peer closed)");
        }
        msg.push_str(&match got.len() {
            0 => " and no descriptor".to_string(),
            k => format!(
                " and {} (SCM_RIGHTS)",
                plural(k, "descriptor", "descriptors")
            ),
        });
        out.push(Item::Done(msg));
        let mut data = c.data.clone();
        data.truncate(n);
        // A peek (the call's own flags, field 2) leaves the bytes queued:
        // the receive that takes them logs them, as the shell's recv does.
        if let Some(s) = &sock
            && c.int(2).unwrap_or(0) as i32 & libc::MSG_PEEK == 0
        {
            self.log_bytes(c, s, crate::proto::log::Dir::Received, n, from.sock());
        }
        // A TCP stream's bytes: the sends they came from.
        let mut pieces = Vec::new();
        if let Some(s) = &sock
            && let Some((l, p)) = s.pair()
            && n > 0
        {
            pieces = bounds::received_synced(&self.ctx.bounds, l, p, n, false);
            let sends = pieces.iter().map(|p| p.send_no).collect();
            let kind = crate::wire::CallKind::Recv { sends, len: n };
            self.record(c.t1, (l, Some(p)), &s.label, s.serial, kind);
        }
        // recv_fds returns (data, [fds], flags, address), as Python shows it;
        // recvmsg its ancillary data as (level, type, bytes).
        let fds = Value::List(got.iter().map(|&f| Value::Int(i64::from(f))).collect());
        let anc = if c.via.ends_with(":recv_fds") || got.is_empty() {
            fds
        } else {
            Value::Named(format!(
                "[(SOL_SOCKET, SCM_RIGHTS, <{}>)]",
                plural(got.len(), "descriptor", "descriptors")
            ))
        };
        out.push(Item::Value {
            name: None,
            value: Value::Tuple(vec![
                Value::Bytes(data.into()),
                anc,
                Value::Int(flags),
                from.value(),
            ]),
            view: View::Repr,
            sock: None,
            pieces,
        });
        if flags & i64::from(libc::MSG_CTRUNC) != 0 {
            out.push(Item::Warn(
                "MSG_CTRUNC: more descriptors came than there was room for; the kernel closed the rest \
                 (recv_fds(sock, size, N) makes room for N)"
                    .into(),
            ));
        }
        for (k, &f) in got.iter().enumerate() {
            let base = 7 + 4 * k;
            if k >= DESCRIBED {
                out.push(Item::Note(format!(
                    "fd {f}: not described (more than {DESCRIBED} came)"
                )));
                continue;
            }
            let family = c.int(base).and_then(family_of);
            if c.int(base) == Some(-1) {
                let what = c.field(base + 2).trim_start_matches("?|");
                out.push(Item::Note(format!(
                    "fd {f} is {}, not a socket",
                    crate::value::escape_controls(what)
                )));
                continue;
            }
            let mut s = Sock::new(f);
            s.family = family;
            s.kind = c.int(base + 1).and_then(kind_of);
            if let PAddr::Sock(a) = paddr(c.field(base + 2)) {
                s.local = Some(a);
            }
            if let PAddr::Sock(a) = paddr(c.field(base + 3)) {
                s.peer = Some(a);
            }
            let ends = match (&s.local, &s.peer) {
                (Some(l), Some(p)) => format!(" {} <-> {}", short(l), short(p)),
                (Some(l), None) => format!(" on {}", short(l)),
                _ => String::new(),
            };
            out.push(Item::Done(format!(
                "fd {f} is a {}{ends} from the other process: now the program's too (socket.socket(fileno={f}) makes it a socket object)",
                kind_words(s.family, s.kind)
            )));
            s.shared = true;
            self.forget(pid, f);
            self.note_conn(&s);
            self.socks.insert((pid, f), s);
        }
    }
}

/// sockplay's own descriptor of the socket whose inode is `ino`, if it
/// holds one (read from /proc/self/fd: asked only for a socket that came
/// from another process).
pub(super) fn held_by_sockplay(ino: u64) -> Option<i32> {
    if ino == 0 {
        return None;
    }
    let want = format!("socket:[{ino}]");
    std::fs::read_dir("/proc/self/fd")
        .ok()?
        .flatten()
        .take(1 << 20)
        .find(|e| std::fs::read_link(e.path()).is_ok_and(|l| l.as_os_str() == want.as_str()))
        .and_then(|e| e.file_name().to_str()?.parse().ok())
}

fn short(a: &SockAddr) -> String {
    let s = addr_short(a);
    if s == "-" {
        "an unnamed socket".into()
    } else {
        s
    }
}

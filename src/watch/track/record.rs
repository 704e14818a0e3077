//! A watched program's calls, recorded beside the shell's for the wire view
//! (`states`, `diagram`): connect, accept returned, send #N, recv took #N
//! #M, close, shutdown, a call that failed.
//!
//! The records are the shell's own ([`crate::wire::Call`]): an end is known
//! by its address, so a ladder draws a program's calls on its side of a
//! connection exactly as it draws the shell's. Each call carries the wall
//! clock the hook read when it began and when it returned (the capture
//! stamps packets with the same clock), not the moment its report arrived:
//! the hook writes its reports in batches, up to 10 ms late, and a call
//! drawn after the segments it caused would tell the story backwards.
//! Whether a call is drawn beside its segments does not depend on the
//! level (`-q`) or on what the terminal was shown.

use super::{Sock, Tracker, paddr};
use crate::exec::bounds::Sender;
use crate::exec::explain::Ends;
use crate::watch::proto::Call;
use crate::wire::{Call as WireCall, CallKind};
use socket2::SockAddr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A time the hook gave, or now (a report without one: the hook's reports
/// always have one; a zero would put the call at the epoch).
fn at(t: u64) -> u64 {
    if t == 0 { crate::wire::now_ns() } else { t }
}

impl Tracker {
    /// Whether the program's calls are recorded (the shell asks for the
    /// wire view; `sockplay watch` alone has none).
    pub(super) fn recording(&self) -> bool {
        self.ctx.calls.is_some()
    }

    /// The name a program's socket goes by in the wire view: `[1] connfd`
    /// for a job, as `states` names its end.
    pub(super) fn wire_name(&self, label: &str) -> String {
        match self.setup.job {
            Some(id) => format!("[{id}] {label}"),
            None => label.to_string(),
        }
    }

    /// Records one call made by the program's socket `label` (serial `id`)
    /// at `t` (the hook's wall clock).
    pub(super) fn record(
        &self,
        t: u64,
        ends: (SocketAddr, Option<SocketAddr>),
        label: &str,
        id: u64,
        kind: CallKind,
    ) {
        let Some(calls) = &self.ctx.calls else {
            return;
        };
        calls.push(WireCall {
            t: at(t),
            local: ends.0,
            peer: ends.1,
            who: self.wire_name(label),
            id,
            kind,
        });
    }

    /// Writes what the program's call on `s` moved to the shell's traffic
    /// log, when it is on: `[1] connfd (fd 4)`, as the shell's own lines
    /// name a socket.
    pub(super) fn log_bytes(
        &self,
        c: &Call,
        s: &Sock,
        dir: crate::proto::log::Dir,
        n: usize,
        peer: Option<&SockAddr>,
    ) {
        let Some(log) = &self.ctx.log else { return };
        let Ok(mut guard) = log.lock() else { return };
        let Some(l) = guard.as_mut() else { return };
        let who = format!("{} (fd {})", self.wire_name(&s.label), s.fd);
        let peer = peer
            .or(s.peer.as_ref())
            .filter(|a| crate::table::is_bound(a))
            .map(crate::value::addr_short);
        let t = if dir == crate::proto::log::Dir::Sent {
            c.t0
        } else {
            c.t1
        };
        l.record_program(
            dir,
            s.serial,
            &who,
            peer.as_deref(),
            &c.data,
            n as u64,
            at(t),
        );
    }

    /// A program's `sendfile`: its bytes went from the file to the socket
    /// in the kernel and its report carries none, so the log says how many
    /// (as it does for the shell's own sendfile).
    pub(super) fn log_bulk(&self, c: &Call, s: &Sock, n: usize) {
        let Some(log) = &self.ctx.log else { return };
        let Ok(mut guard) = log.lock() else { return };
        let Some(l) = guard.as_mut() else { return };
        let who = format!("{} (fd {})", self.wire_name(&s.label), s.fd);
        let peer = s
            .peer
            .as_ref()
            .filter(|a| crate::table::is_bound(a))
            .map(crate::value::addr_short);
        l.record_bulk_at(
            crate::proto::log::Dir::Sent,
            s.serial,
            &who,
            peer.as_deref(),
            n as u64,
            "sendfile",
            Some(at(c.t0)),
        );
    }

    /// A call that raised (or connect_ex's error number), drawn on its
    /// socket's side. A connect that failed began too (its SYN left), from
    /// a port it has let go: drawn as the shell draws its own refused
    /// connect.
    pub(super) fn record_failure(&self, c: &Call, exception: &str) {
        if !self.recording() {
            return;
        }
        let Some(s) = self.socks.get(&(c.pid, c.fd)) else {
            return;
        };
        if !s.is_tcp() {
            return;
        }
        let failed = CallKind::Failed {
            call: c.name.clone(),
            error: exception.to_string(),
        };
        if matches!(c.name.as_str(), "connect" | "connect_ex") {
            let Some(to) = paddr(c.field(0)).sock().and_then(SockAddr::as_socket) else {
                return;
            };
            let unspecified: IpAddr = if to.is_ipv4() {
                Ipv4Addr::UNSPECIFIED.into()
            } else {
                Ipv6Addr::UNSPECIFIED.into()
            };
            let ends = (SocketAddr::new(unspecified, 0), Some(to));
            self.record(c.t0, ends, &s.label, s.serial, CallKind::Connect);
            self.record(c.t1, ends, &s.label, s.serial, failed);
            return;
        }
        if let Some((l, p)) = s.pair() {
            self.record(c.t1, (l, Some(p)), &s.label, s.serial, failed);
        }
    }

    /// The ends of the program's recv on `s`, for the advice on merged
    /// sends: the receiver is the program's socket (named as in the
    /// program), the sender whoever the boundaries say sent (the shell's
    /// socket by its shell name: the job's thread cannot ask the shell).
    pub(super) fn recv_ends(&self, s: &Sock, merged: bool) -> Ends {
        let mut ends = Ends {
            receiver_py: Some(s.label.clone()),
            ..Ends::default()
        };
        if merged
            && let Some((l, p)) = s.pair()
            && let Some(who) = self.ctx.bounds.lock().ok().and_then(|b| b.sender(p, l))
        {
            match who {
                Sender::Shell(k) => ends.sender = Some(k),
                Sender::Program(name) => ends.sender_py = Some(name),
            }
        }
        ends
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Context, Setup, Tracker};
    use crate::watch::Level;
    use crate::watch::proto::parse;
    use crate::wire::{CallKind, Calls};

    fn tracker(calls: &Calls) -> Tracker {
        let ctx = Context {
            calls: Some(calls.clone()),
            ..Context::default()
        };
        Tracker::new(
            Setup {
                job: Some(1),
                level: Level::Normal,
                foreground: false,
                cwd: std::path::PathBuf::from("/tmp"),
                main_pid: 7,
            },
            ctx,
        )
    }

    fn feed(t: &mut Tracker, line: &str, data: &[u8]) {
        let mut frame = line.as_bytes().to_vec();
        frame.push(b'\n');
        frame.extend_from_slice(data);
        let r = parse(&frame).unwrap_or_else(|g| panic!("{line}: {g:?}"));
        let _ = t.feed(r);
    }

    #[test]
    fn a_server_s_calls_are_recorded_with_the_hook_s_times() {
        let calls = Calls::default();
        let mut t = tracker(&calls);
        feed(&mut t, "H\t7\t1\t/tmp", b"");
        feed(
            &mut t,
            "R\t7\t7\tMainThread\t0\t\tsocket\t3\t1\t2\t-1\tok\t2\t1\t0\t",
            b"",
        );
        feed(
            &mut t,
            "L\t7\t1\t/tmp/s.py\t3\tconnfd, addr = s.accept()",
            b"",
        );
        feed(
            &mut t,
            "L\t7\t2\t/tmp/s.py\t4\tdata = connfd.recv(1024)",
            b"",
        );
        feed(
            &mut t,
            "R\t7\t7\tMainThread\t1\t\taccept\t3\t100\t200\t-1\tok\t0\t5\t4\t4|127.0.0.1|5000\t4|127.0.0.1|9000",
            b"",
        );
        feed(
            &mut t,
            "R\t7\t7\tMainThread\t2\t\trecv\t4\t300\t400\t-1\tok\t1024\t0\t-1\t2\t0",
            b"hi",
        );
        feed(
            &mut t,
            "R\t7\t7\tMainThread\t2\t\tsend\t4\t500\t600\t-1\tok\t2\t0\t-1\t2",
            b"ok",
        );
        feed(
            &mut t,
            "R\t7\t7\tMainThread\t2\t\tclose\t4\t700\t800\t-1\tok\t1\t3\t0\t0",
            b"",
        );
        let got: Vec<(u64, String, CallKind)> = calls
            .select(&|_| true)
            .into_iter()
            .map(|c| (c.t, c.who, c.kind))
            .collect();
        let who = "[1] connfd".to_string();
        assert_eq!(
            got,
            vec![
                (200, who.clone(), CallKind::Accepted),
                (
                    400,
                    who.clone(),
                    CallKind::Recv {
                        sends: vec![],
                        len: 2
                    }
                ),
                (
                    500,
                    who.clone(),
                    CallKind::Send {
                        no: 1,
                        len: 2,
                        all: false
                    }
                ),
                (
                    700,
                    who,
                    CallKind::Close {
                        linger0: false,
                        unread: 3
                    }
                ),
            ]
        );
    }

    #[test]
    fn a_refused_connect_is_drawn_on_the_connecting_side() {
        let calls = Calls::default();
        let mut t = tracker(&calls);
        feed(&mut t, "H\t7\t1\t/tmp", b"");
        feed(
            &mut t,
            "R\t7\t7\tMainThread\t0\t\tsocket\t3\t1\t2\t-1\tok\t2\t1\t0\t",
            b"",
        );
        feed(
            &mut t,
            "R\t7\t7\tMainThread\t0\t\tconnect\t3\t10\t20\t-1\terr\t4|127.0.0.1|9\tConnectionRefusedError\t111\t[Errno 111] Connection refused",
            b"",
        );
        let got = calls.select(&|_| true);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].kind, CallKind::Connect);
        assert_eq!(got[0].local.port(), 0);
        assert_eq!(got[0].peer, Some("127.0.0.1:9".parse().expect("addr")));
        assert_eq!(
            got[1].kind,
            CallKind::Failed {
                call: "connect".into(),
                error: "ConnectionRefusedError".into()
            }
        );
        assert_eq!(got[1].t, 20);
    }

    #[test]
    fn nothing_is_recorded_outside_the_shell() {
        let mut t = Tracker::new(
            Setup {
                job: None,
                level: Level::Normal,
                foreground: true,
                cwd: std::path::PathBuf::from("/tmp"),
                main_pid: 7,
            },
            Context::default(),
        );
        assert!(!t.recording());
        feed(&mut t, "H\t7\t1\t/tmp", b"");
    }
}

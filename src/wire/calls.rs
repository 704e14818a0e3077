//! The calls behind the packets: what each end of a connection did
//! (connect, accept returned, send #1, recv took #1 #2, close), stamped
//! with the wall clock, as the kernel stamps the frames it captures, so
//! that each call falls just before the segments it caused.
//!
//! An end is known by its address, not by a socket of the shell: the
//! shell records its own calls here, and a program watched from outside
//! can record its calls the same way; the views that read them
//! ([`super::analysis`], the diagram) need nothing else.

use super::packet::{Nanos, now_ns};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Calls kept (the oldest go first).
const KEEP: usize = 20_000;

/// What an end did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// connect() began (the SYN goes out in it).
    Connect,
    /// connect() returned: the handshake is done.
    Connected,
    /// accept() returned this connection.
    Accepted,
    /// A send (its number on the connection, its bytes); `all` for sendall.
    Send { no: u64, len: usize, all: bool },
    /// A recv took bytes of these sends (empty when unknown); 0 bytes is
    /// the end of the stream (b'').
    Recv { sends: Vec<u64>, len: usize },
    /// sendto (or send on a UDP socket): a datagram.
    SendTo { len: usize, to: SocketAddr },
    /// close(): with SO_LINGER on and 0 seconds, or with bytes unread.
    Close { linger0: bool, unread: u32 },
    /// shutdown(): `read`, `write` or `both`.
    Shutdown(&'static str),
    /// A call failed: the call, the exception (BrokenPipeError).
    Failed { call: String, error: String },
}

/// One call by one end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub t: Nanos,
    /// The end that made it (its address may have port 0 when a failed
    /// connect let its port go), and its peer when it has one.
    pub local: SocketAddr,
    pub peer: Option<SocketAddr>,
    /// Its name for the reader: the shell's name of the socket.
    pub who: String,
    /// Which socket made it, for the one who records (the shell: the
    /// socket's serial number; 0 when unknown).
    pub id: u64,
    pub kind: CallKind,
}

impl Call {
    /// The call in a few words, as a sequence diagram writes it beside
    /// its end: `connect`, `send #1`, `recv took #1 #2`, `close`.
    pub fn text(&self) -> String {
        match &self.kind {
            CallKind::Connect => "connect".into(),
            CallKind::Connected => "connect returned".into(),
            CallKind::Accepted => "accept returned".into(),
            CallKind::Send { no, all, .. } => {
                format!("{} #{no}", if *all { "sendall" } else { "send" })
            }
            CallKind::Recv { sends, len } if *len == 0 => {
                let _ = sends;
                "recv -> b''".into()
            }
            CallKind::Recv { sends, .. } if sends.is_empty() => "recv".into(),
            CallKind::Recv { sends, .. } => {
                let n: Vec<String> = sends.iter().map(|s| format!("#{s}")).collect();
                if n.len() > 3 {
                    format!("recv took {}..{}", n[0], n[n.len() - 1])
                } else {
                    format!("recv took {}", n.join(" "))
                }
            }
            CallKind::SendTo { .. } => "sendto".into(),
            CallKind::Close { linger0: true, .. } => "close (SO_LINGER 0)".into(),
            CallKind::Close { unread, .. } if *unread > 0 => {
                format!("close ({unread} B unread)")
            }
            CallKind::Close { .. } => "close".into(),
            CallKind::Shutdown(how) => format!("shutdown {how}"),
            CallKind::Failed { call, error } => format!("{call}: {error}"),
        }
    }
}

/// Whether a call made at `local` is by the end at `end`: the same
/// address, or its port with the address unspecified (a socket whose
/// connect failed keeps its port but forgets its address).
pub fn is_end(local: SocketAddr, end: SocketAddr) -> bool {
    local == end || (local.port() == end.port() && local.ip().is_unspecified())
}

/// The calls so far, shared by the shell and its background jobs.
#[derive(Clone, Default)]
pub struct Calls(Arc<Mutex<VecDeque<Call>>>);

impl Calls {
    /// Records a call made at `t` (taken before the call when it sends
    /// something, after it when it returns something).
    pub fn push(&self, call: Call) {
        if let Ok(mut q) = self.0.lock() {
            if q.len() >= KEEP {
                q.pop_front();
            }
            q.push_back(call);
        }
    }

    /// Records a call made now by socket `id`.
    pub fn now(
        &self,
        local: SocketAddr,
        peer: Option<SocketAddr>,
        who: &str,
        id: u64,
        kind: CallKind,
    ) {
        self.push(Call {
            t: now_ns(),
            local,
            peer,
            who: who.to_string(),
            id,
            kind,
        });
    }

    /// Whether no call was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.lock().map_or(true, |q| q.is_empty())
    }

    /// The calls that `pred` selects, in order.
    pub fn select(&self, pred: &dyn Fn(&Call) -> bool) -> Vec<Call> {
        let mut v: Vec<Call> = self
            .0
            .lock()
            .map(|q| q.iter().filter(|c| pred(c)).cloned().collect())
            .unwrap_or_default();
        v.sort_by_key(|c| c.t);
        v
    }

    /// The calls made by either end of the connection `a` <-> `b`.
    pub fn of_conn(&self, a: SocketAddr, b: SocketAddr) -> Vec<Call> {
        self.select(&|c| {
            (is_end(c.local, a) && c.peer.is_none_or(|p| p == b))
                || (is_end(c.local, b) && c.peer.is_none_or(|p| p == a))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(p: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], p))
    }

    #[test]
    fn calls_read_as_a_diagram_writes_them() {
        let c = |kind| Call {
            t: 0,
            local: a(1),
            peer: None,
            who: "k".into(),
            id: 0,
            kind,
        };
        assert_eq!(
            c(CallKind::Recv {
                sends: vec![1, 2],
                len: 6
            })
            .text(),
            "recv took #1 #2"
        );
        assert_eq!(
            c(CallKind::Recv {
                sends: vec![1, 2, 3, 4, 5],
                len: 6
            })
            .text(),
            "recv took #1..#5"
        );
        assert_eq!(
            c(CallKind::Send {
                no: 3,
                len: 1,
                all: false
            })
            .text(),
            "send #3"
        );
        assert_eq!(
            c(CallKind::Close {
                linger0: true,
                unread: 0
            })
            .text(),
            "close (SO_LINGER 0)"
        );
        assert_eq!(
            c(CallKind::Recv {
                sends: vec![],
                len: 0
            })
            .text(),
            "recv -> b''"
        );
    }

    #[test]
    fn a_connections_calls_are_both_ends_and_bounded() {
        let calls = Calls::default();
        calls.now(a(1), Some(a(2)), "k", 1, CallKind::Connect);
        calls.now(a(2), Some(a(1)), "c", 2, CallKind::Accepted);
        calls.now(a(3), Some(a(2)), "x", 3, CallKind::Connect);
        assert_eq!(calls.of_conn(a(1), a(2)).len(), 2);
        for _ in 0..KEEP + 5 {
            calls.now(a(9), None, "u", 4, CallKind::Connect);
        }
        assert_eq!(calls.select(&|_| true).len(), KEEP);
    }
}

//! Message boundaries of TCP connections whose both ends are in this shell.
//!
//! TCP is a byte stream: the kernel keeps no record of where one `send`
//! ended and the next began. The shell does: every send on a TCP socket is
//! recorded against its flow (sender address -> receiver address), and every
//! recv on the other end takes bytes off the same flow, so it can tell
//! which sends its bytes came from. That is how the course's "sticky
//! packets" (粘包) become visible: two sends, one recv.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

/// A flow is keyed by (sender's address, receiver's address).
type Flow = (SocketAddr, SocketAddr);

/// At most this many unread sends are remembered per flow (a peer that
/// never reads must not make the shell's memory grow).
const MAX_SEGMENTS: usize = 10_000;

#[derive(Clone, Debug)]
struct Segment {
    /// 1 for the sender's first send on this connection.
    send_no: u64,
    /// Bytes of this send.
    len: usize,
    /// Bytes of it already received.
    taken: usize,
}

/// Part of a recv's bytes that came from one send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub send_no: u64,
    /// How many of the recv's bytes.
    pub len: usize,
    /// The whole send's length.
    pub send_len: usize,
    /// Bytes of that send before this piece (0 = it starts here).
    pub offset: usize,
}

/// Who sends on a flow, by the name the advice on merged sends uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sender {
    /// A socket of this shell (`k`): the advice is a command on it.
    Shell(String),
    /// A watched program's socket (`connfd`, its name in the program): the
    /// advice is the program's Python.
    Program(String),
}

#[derive(Debug, Default)]
pub struct Boundaries {
    flows: HashMap<Flow, VecDeque<Segment>>,
    sends: HashMap<Flow, u64>,
    /// The socket sending on each flow, named: a receiver in a watched
    /// program's thread cannot ask the shell for its names.
    senders: HashMap<Flow, Sender>,
    /// Flows whose sender is a watched program (see [`crate::watch`]): its
    /// sends are recorded when its report arrives, a moment after the
    /// bytes, so a receiver waits (briefly) for the record.
    reported: std::collections::HashSet<Flow>,
}

/// How long a receiver waits for the record of a watched program's send
/// (its report is on its way: the hook writes its queue every 10 ms).
const REPORT_PATIENCE: std::time::Duration = std::time::Duration::from_millis(300);

/// The sends `n` received bytes came from, as [`Boundaries::received`];
/// when the sender is a watched program whose report of those bytes has
/// not arrived yet, waits for it a moment (the lock is not held while
/// waiting). A flow whose records do not come in time is no longer waited
/// for (the program stopped reporting, or sent some other way).
pub fn received_synced(
    b: &std::sync::Mutex<Boundaries>,
    local: SocketAddr,
    peer: SocketAddr,
    n: usize,
    peek: bool,
) -> Vec<Piece> {
    let until = std::time::Instant::now() + REPORT_PATIENCE;
    loop {
        let Ok(mut g) = b.lock() else {
            return Vec::new();
        };
        let flow = (peer, local);
        let short = g.reported.contains(&flow) && g.untaken(flow) < n;
        if !short {
            return g.received(local, peer, n, peek);
        }
        if std::time::Instant::now() >= until {
            g.reported.remove(&flow);
            return g.received(local, peer, n, peek);
        }
        drop(g);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

impl Boundaries {
    /// Records a send of `n` bytes from `from` to `to`. Returns its number.
    pub fn sent(&mut self, from: SocketAddr, to: SocketAddr, n: usize) -> u64 {
        let count = self.sends.entry((from, to)).or_insert(0);
        *count += 1;
        let send_no = *count;
        if n == 0 {
            return send_no;
        }
        let q = self.flows.entry((from, to)).or_default();
        if q.len() >= MAX_SEGMENTS {
            // Forget the oldest: its bytes will show without attribution.
            q.pop_front();
        }
        q.push_back(Segment {
            send_no,
            len: n,
            taken: 0,
        });
        send_no
    }

    /// Takes `n` received bytes off the flow `peer -> local` (or only looks,
    /// for MSG_PEEK). Bytes beyond what was recorded get no piece.
    pub fn received(
        &mut self,
        local: SocketAddr,
        peer: SocketAddr,
        n: usize,
        peek: bool,
    ) -> Vec<Piece> {
        let Some(q) = self.flows.get_mut(&(peer, local)) else {
            return Vec::new();
        };
        let mut pieces = Vec::new();
        let mut left = n;
        let mut k = 0;
        while left > 0 && k < q.len() {
            let seg = &mut q[k];
            let avail = seg.len - seg.taken;
            let take = avail.min(left);
            pieces.push(Piece {
                send_no: seg.send_no,
                len: take,
                send_len: seg.len,
                offset: seg.taken,
            });
            left -= take;
            if !peek {
                seg.taken += take;
            }
            k += 1;
        }
        if !peek {
            while q.front().is_some_and(|s| s.taken == s.len) {
                q.pop_front();
            }
        }
        pieces
    }

    /// Forgets the flows into `local` from `peer` (the receiver closed).
    pub fn forget(&mut self, local: SocketAddr, peer: SocketAddr) {
        self.flows.remove(&(peer, local));
        self.sends.remove(&(local, peer));
        self.reported.remove(&(local, peer));
        self.senders.remove(&(local, peer));
    }

    /// Names the socket sending from `from` to `to` (it sent just now).
    pub fn name_sender(&mut self, from: SocketAddr, to: SocketAddr, who: Sender) {
        if self.senders.len() < MAX_SEGMENTS || self.senders.contains_key(&(from, to)) {
            self.senders.insert((from, to), who);
        }
    }

    /// The socket that sends to `to` from `from`, when it was named.
    pub fn sender(&self, from: SocketAddr, to: SocketAddr) -> Option<Sender> {
        self.senders.get(&(from, to)).cloned()
    }

    /// The shell's send from `from` to `to` is recorded (or sent nothing):
    /// a receiver has no record to wait for on that flow any more.
    pub fn settled(&mut self, from: SocketAddr, to: SocketAddr) {
        self.reported.remove(&(from, to));
    }

    /// Bytes recorded on a flow and not received yet.
    fn untaken(&self, flow: Flow) -> usize {
        self.flows
            .get(&flow)
            .map_or(0, |q| q.iter().map(|s| s.len - s.taken).sum())
    }

    /// The sends from `from` to `to` are recorded after their bytes leave
    /// (a watched program's, reported later; or the shell's own send, in
    /// flight): a receiver waits for their records (see
    /// [`received_synced`]).
    pub fn expect_reports(&mut self, from: SocketAddr, to: SocketAddr) {
        if self.reported.len() < MAX_SEGMENTS {
            self.reported.insert((from, to));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(p: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], p))
    }

    #[test]
    fn two_sends_one_recv() {
        let mut b = Boundaries::default();
        b.sent(a(1), a(2), 5);
        b.sent(a(1), a(2), 6);
        let p = b.received(a(2), a(1), 11, false);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].send_no, p[0].len), (1, 5));
        assert_eq!((p[1].send_no, p[1].len), (2, 6));
        assert!(b.received(a(2), a(1), 1, false).is_empty());
    }

    #[test]
    fn a_split_send() {
        let mut b = Boundaries::default();
        b.sent(a(1), a(2), 12);
        let p = b.received(a(2), a(1), 4, false);
        assert_eq!(
            p,
            vec![Piece {
                send_no: 1,
                len: 4,
                send_len: 12,
                offset: 0
            }]
        );
        let p = b.received(a(2), a(1), 8, true);
        assert_eq!(
            p,
            vec![Piece {
                send_no: 1,
                len: 8,
                send_len: 12,
                offset: 4
            }]
        );
        let p = b.received(a(2), a(1), 8, false);
        assert_eq!(p[0].offset, 4);
        assert!(b.received(a(2), a(1), 1, false).is_empty());
    }

    #[test]
    fn a_receiver_waits_for_a_watched_sender_s_record() {
        let b = std::sync::Arc::new(std::sync::Mutex::new(Boundaries::default()));
        if let Ok(mut g) = b.lock() {
            g.expect_reports(a(1), a(2));
            g.sent(a(1), a(2), 5);
        }
        let late = std::sync::Arc::clone(&b);
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(30));
            if let Ok(mut g) = late.lock() {
                g.sent(a(1), a(2), 6);
            }
        });
        let p = received_synced(&b, a(2), a(1), 11, false);
        let _ = t.join();
        assert_eq!(p.iter().map(|p| p.send_no).collect::<Vec<_>>(), [1, 2]);
        // A record that never comes: given up after a while, then never
        // waited for again.
        let p = received_synced(&b, a(2), a(1), 3, false);
        assert!(p.is_empty());
        let t0 = std::time::Instant::now();
        let _ = received_synced(&b, a(2), a(1), 3, false);
        assert!(t0.elapsed() < REPORT_PATIENCE);
    }

    #[test]
    fn memory_is_bounded() {
        let mut b = Boundaries::default();
        for _ in 0..MAX_SEGMENTS + 10 {
            b.sent(a(1), a(2), 1);
        }
        assert_eq!(b.flows[&(a(1), a(2))].len(), MAX_SEGMENTS);
    }
}

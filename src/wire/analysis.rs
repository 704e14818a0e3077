//! One TCP connection's segments read the way tcpdump and Wireshark read
//! them: sequence and acknowledgment numbers relative to each side's first
//! (its ISN), the window with its scale applied, the options of a SYN, the
//! states each segment moves the two ends to (the textbook's state
//! machine), Wireshark's expert notes (retransmission, duplicate ACK, zero
//! window, window update...), and why a reset came.
//!
//! In: the segments (both directions, in the order they passed), the two
//! ends' names, and the calls the ends made ([`super::calls`]), which say
//! what the segments alone cannot (a close with SO_LINGER 0). Out:
//! [`Analysis`], one [`Row`] per segment, which `states` shows as a table
//! and the diagram draws.

use super::calls::{Call, CallKind, is_end};
use super::packet::{ACK, FIN, RST, SYN, Segment};
use std::net::SocketAddr;

/// Wireshark's expert notes on a segment (its words, so that a learner can
/// look them up), and one of ours: the cause of a reset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expert {
    /// Data (or a SYN or FIN) sent again.
    Retransmission,
    /// Sent again after duplicate ACKs asked for it.
    FastRetransmission,
    /// Sent again though the peer had acknowledged it already.
    SpuriousRetransmission,
    /// The same ACK again (`of`: the row of the first one; `n`: how many
    /// times again).
    DupAck { of: usize, n: u32 },
    /// The receiver's buffer is full: "send nothing more".
    ZeroWindow,
    /// A sender's probe of a zero window.
    ZeroWindowProbe,
    /// Only the window changed: the receiver read, and has room again.
    WindowUpdate,
    /// Data up to the right edge of the receiver's window: it is full now.
    WindowFull,
    /// An empty segment one byte behind: "are you still there?", or, while
    /// the peer's window is 0, "is there room yet?" (Linux probes a zero
    /// window this way).
    KeepAlive { zero_window: bool },
}

impl Expert {
    /// The name Wireshark's expert info gives it.
    pub fn name(&self) -> String {
        match self {
            Expert::Retransmission => "TCP Retransmission".into(),
            Expert::FastRetransmission => "TCP Fast Retransmission".into(),
            Expert::SpuriousRetransmission => "TCP Spurious Retransmission".into(),
            Expert::DupAck { of, n } => format!("TCP Dup ACK {}#{n}", of + 1),
            Expert::ZeroWindow => "TCP ZeroWindow".into(),
            Expert::ZeroWindowProbe => "TCP ZeroWindowProbe".into(),
            Expert::WindowUpdate => "TCP Window Update".into(),
            Expert::WindowFull => "TCP Window Full".into(),
            Expert::KeepAlive { .. } => "TCP Keep-Alive".into(),
        }
    }

    /// What it means here, in a few words.
    pub fn gloss(&self) -> &'static str {
        match self {
            Expert::Retransmission => "sent again: no ACK came in time",
            Expert::FastRetransmission => "sent again at once: duplicate ACKs said it was lost",
            Expert::SpuriousRetransmission => "sent again, though it had been acknowledged",
            Expert::DupAck { .. } => "the same ACK again: a segment is missing",
            Expert::ZeroWindow => "its receive buffer is full: the sender must wait",
            Expert::ZeroWindowProbe => "the sender asks whether the window opened",
            Expert::WindowUpdate => "only the window changed: it read, so there is room again",
            Expert::WindowFull => "this fills the receiver's window: the sender must stop here",
            Expert::KeepAlive { zero_window: true } => {
                "empty, one byte behind: the sender probes the zero window (room yet?)"
            }
            Expert::KeepAlive { zero_window: false } => {
                "empty, one byte behind: is the peer still there?"
            }
        }
    }
}

/// What a lab's link did to a segment (its switch sees every frame on the
/// way, and says).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkMark {
    /// Lost on this host's link: the receiver never saw it.
    Lost(String),
    /// A second copy, made by this host's link.
    Duplicate(String),
}

/// Why a reset came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResetCause {
    /// A SYN to a port where nothing listens.
    SynToClosedPort,
    /// Data reached a socket that had been closed.
    DataToClosedSocket,
    /// close() with SO_LINGER on and 0 seconds.
    Linger0,
    /// close() with this many bytes unread in the receive queue.
    UnreadData(u32),
    /// An abort without a FIN before it (SO_LINGER 0 or unread data at
    /// close, as far as the segments tell).
    Abort,
    /// None of the above.
    Unknown,
}

impl ResetCause {
    /// The cause, in words, with the names of the end that sent the RST
    /// (`x`) and of the other (`y`).
    pub fn text(&self, x: &str, y: &str) -> String {
        match self {
            ResetCause::SynToClosedPort => format!(
                "a SYN to a closed port: nothing listens there, so {x}'s kernel answers RST (connect raises ConnectionRefusedError)"
            ),
            ResetCause::DataToClosedSocket => format!(
                "data to a closed socket: {x} had closed, so its kernel answers the data {y} sent with RST"
            ),
            ResetCause::Linger0 => format!(
                "{x} closed with SO_LINGER 0: close aborts the connection with RST instead of FIN (no TIME_WAIT)"
            ),
            ResetCause::UnreadData(n) => format!(
                "{x} closed with {n} bytes unread: the kernel aborts with RST instead of FIN, and the data is lost"
            ),
            ResetCause::Abort => format!(
                "{x} aborted the connection (a close with unread data, or with SO_LINGER 0)"
            ),
            ResetCause::Unknown => format!("{x} reset the connection"),
        }
    }
}

/// One segment, read.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub seg: Segment,
    /// Which end sent it (an index into [`Analysis::ends`]).
    pub from: usize,
    /// Relative sequence number.
    pub seq: u32,
    /// Relative acknowledgment number (None without the ACK flag).
    pub ack: Option<u32>,
    /// The window in bytes: the field, shifted by the sender's window scale
    /// once both SYNs agreed on scaling (a SYN's own window never is).
    pub window: u64,
    /// The shift applied to get [`Row::window`].
    pub shift: Option<u8>,
    /// The ends it moved to a new state, with that state.
    pub states: Vec<(usize, &'static str)>,
    /// The step of the handshake or close it is, and its data.
    pub steps: Vec<String>,
    pub expert: Vec<Expert>,
    /// Why it reset the connection, if it is an RST.
    pub reset: Option<ResetCause>,
    /// A call that failed at the other end because of this RST.
    pub reset_effect: Option<String>,
    /// Bytes of its direction sent before it that no captured segment
    /// holds (the large segments of a bulk transfer are not captured).
    pub gap: u64,
    /// What a lab's link did to it.
    pub link: Option<LinkMark>,
}

impl Row {
    pub fn has(&self, f: u8) -> bool {
        self.seg.has(f)
    }
}

/// One connection, read.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    /// The two ends: the one that sent the first SYN comes first.
    pub ends: [SocketAddr; 2],
    pub names: [String; 2],
    /// Each end's state before the first segment.
    pub initial: [&'static str; 2],
    /// Each end's initial sequence number, when its SYN was captured.
    pub isn: [Option<u32>; 2],
    pub rows: Vec<Row>,
}

/// `a` before `b` in sequence space.
fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// What the analysis follows of one direction.
#[derive(Clone, Copy, Default)]
struct Dir {
    /// The first sequence number it numbers from.
    base: Option<u32>,
    /// The sequence number after the last byte (and SYN, FIN) sent.
    next: Option<u32>,
    last_ack: Option<u32>,
    last_win: Option<u16>,
    /// The row of the ACK that the next duplicate repeats, and how many.
    dup_of: usize,
    dups: u32,
    /// Its SYN's window scale, when its SYN was seen.
    wscale: Option<Option<u8>>,
    /// The sequence number of its FIN, once sent.
    fin: Option<u32>,
    /// Where its next byte is (64-bit stream position, from the capture).
    pos_next: Option<u64>,
    sent_syn: bool,
}

/// Reads a connection's segments. `names` are the ends' names (for the
/// words of the steps); `calls` the calls either end made.
pub fn analyze(
    ends: [SocketAddr; 2],
    names: [String; 2],
    segs: &[Segment],
    calls: &[Call],
) -> Analysis {
    analyze_marked(ends, names, segs, &[], calls)
}

/// As [`analyze`], with what a lab's links did to each segment (`marks`,
/// by index; missing ones are none). A lost segment moves no state: the
/// receiver never saw it; a duplicate the link made is no retransmission.
pub fn analyze_marked(
    ends: [SocketAddr; 2],
    names: [String; 2],
    segs: &[Segment],
    marks: &[Option<LinkMark>],
    calls: &[Call],
) -> Analysis {
    let mut ends = ends;
    let mut names = names;
    // The side that sent the first SYN is the client.
    if let Some(syn) = segs.iter().find(|s| s.has(SYN) && !s.has(ACK))
        && syn.src == ends[1]
    {
        ends.swap(0, 1);
        names.swap(0, 1);
    }
    let mut fsm = Machine {
        state: ["CLOSED", "LISTEN"],
        handshake: 0,
        closing: 0,
    };
    // A connection caught midway (its SYN not captured) starts as it is.
    if !segs.iter().any(|s| s.has(SYN)) && segs.first().is_some_and(|s| !s.has(RST)) {
        fsm.state = ["ESTABLISHED", "ESTABLISHED"];
        fsm.handshake = 3;
    }
    // A SYN answered by RST found no listener: that end was CLOSED.
    if segs
        .iter()
        .find(|s| s.src == ends[1])
        .is_some_and(|s| s.has(RST))
    {
        fsm.state[1] = "CLOSED";
    }
    let initial = fsm.state;
    let mut dirs = [Dir::default(); 2];
    let mut rows: Vec<Row> = Vec::with_capacity(segs.len());
    for (i, s) in segs.iter().enumerate() {
        let Some(d) = ends.iter().position(|e| *e == s.src) else {
            continue;
        };
        let link = marks.get(i).cloned().flatten();
        let o = 1 - d;
        // Relative numbers: from the SYN's sequence number, or from the
        // first one seen when the SYN was not captured.
        let base = *dirs[d].base.get_or_insert(s.seq);
        if s.has(SYN) && !dirs[d].sent_syn {
            dirs[d].base = Some(s.seq);
            dirs[d].sent_syn = true;
            dirs[d].wscale = Some(s.opts.wscale);
        }
        let base = dirs[d].base.unwrap_or(base);
        let ack = s.has(ACK).then(|| {
            let b = *dirs[o].base.get_or_insert(s.ack.wrapping_sub(1));
            s.ack.wrapping_sub(b)
        });
        let scaling = match (dirs[d].wscale, dirs[o].wscale) {
            (Some(Some(mine)), Some(Some(_))) => Some(mine.min(14)),
            _ => None,
        };
        let shift = if s.has(SYN) { None } else { scaling };
        let window = u64::from(s.window) << shift.unwrap_or(0);

        let mut expert = Vec::new();
        let plain = !s.has(SYN) && !s.has(FIN) && !s.has(RST);
        let span = s.len + u32::from(s.has(SYN)) + u32::from(s.has(FIN));
        let end = s.seq.wrapping_add(span);
        let mut is_keepalive = false;
        if let Some(next) = dirs[d].next {
            if plain && s.len <= 1 && s.seq.wrapping_add(1) == next {
                is_keepalive = true;
                expert.push(Expert::KeepAlive {
                    zero_window: dirs[o].last_win == Some(0),
                });
            } else if span > 0 && lt(s.seq, next) && !s.has(RST) {
                let acked = dirs[o].last_ack.is_some_and(|a| !lt(a, end));
                expert.push(if acked {
                    Expert::SpuriousRetransmission
                } else if dirs[o].dups >= 2 && dirs[o].last_ack == Some(s.seq) {
                    Expert::FastRetransmission
                } else {
                    Expert::Retransmission
                });
            } else if plain && s.len == 1 && s.seq == next && dirs[o].last_win == Some(0) {
                expert.push(Expert::ZeroWindowProbe);
            }
        }
        // The receiver's window, as its last ACK said: full once this
        // segment's end reaches its right edge (known once both SYNs told
        // whether windows are scaled).
        if plain
            && s.len > 0
            && let (Some(a), Some(w), Some(_), Some(theirs)) = (
                dirs[o].last_ack,
                dirs[o].last_win,
                dirs[d].wscale,
                dirs[o].wscale,
            )
        {
            let shift = match (dirs[d].wscale, theirs) {
                (Some(Some(_)), Some(t)) => t.min(14),
                _ => 0,
            };
            let edge = a.wrapping_add(u32::from(w) << shift);
            if end == edge {
                expert.push(Expert::WindowFull);
            }
        }
        if s.window == 0 && plain {
            expert.push(Expert::ZeroWindow);
        }
        let same_place = dirs[d].next == Some(s.seq) && dirs[d].last_ack == Some(s.ack);
        if plain && s.len == 0 && s.window != 0 && same_place && !is_keepalive && s.has(ACK) {
            if dirs[d].last_win == Some(s.window) {
                dirs[d].dups += 1;
                expert.push(Expert::DupAck {
                    of: dirs[d].dup_of,
                    n: dirs[d].dups,
                });
            } else if dirs[d].last_win.is_some() {
                expert.push(Expert::WindowUpdate);
            }
        }
        if s.has(ACK) && dirs[d].last_ack != Some(s.ack) {
            dirs[d].dup_of = rows.len();
            dirs[d].dups = 0;
        }

        // Bytes of this direction that passed in segments not captured.
        let gap = dirs[d]
            .pos_next
            .map_or(0, |n| s.pos.saturating_sub(n))
            .min(if s.has(SYN) { 0 } else { u64::MAX });
        let pos_end = s.pos + u64::from(span);
        if dirs[d].pos_next.is_none_or(|n| pos_end > n) {
            dirs[d].pos_next = Some(pos_end);
        }

        if dirs[d].next.is_none_or(|n| lt(n, end)) {
            dirs[d].next = Some(end);
        }
        if s.has(ACK) {
            dirs[d].last_ack = Some(s.ack);
        }
        dirs[d].last_win = Some(s.window);

        let reset = s
            .has(RST)
            .then(|| reset_cause(d, s, &rows, &dirs, ends, calls));
        let (states, steps) = match &link {
            Some(LinkMark::Lost(h)) => {
                // Its sender sent it (SYN_SENT, FIN_WAIT1...); the
                // receiver never saw it, and stays as it was.
                let theirs = fsm.state[o];
                let (changes, _) = fsm.apply(d, s, &mut dirs, &names);
                fsm.state[o] = theirs;
                (
                    changes.into_iter().filter(|(k, _)| *k == d).collect(),
                    vec![format!(
                        "LOST on {h}'s link (lab net): the receiver never sees it"
                    )],
                )
            }
            Some(LinkMark::Duplicate(h)) => {
                expert.retain(|x| {
                    !matches!(
                        x,
                        Expert::Retransmission
                            | Expert::FastRetransmission
                            | Expert::SpuriousRetransmission
                    )
                });
                let (st, mut steps) = fsm.apply(d, s, &mut dirs, &names);
                steps.insert(0, format!("a duplicate made by {h}'s link (lab net)"));
                (st, steps)
            }
            None => fsm.apply(d, s, &mut dirs, &names),
        };
        rows.push(Row {
            seg: s.clone(),
            from: d,
            seq: s.seq.wrapping_sub(base),
            ack,
            window,
            shift,
            states,
            steps,
            expert,
            reset,
            reset_effect: None,
            gap,
            link,
        });
    }
    // What a reset did at the other end: the first call there that failed
    // after it (BrokenPipeError, ConnectionResetError).
    for r in rows.iter_mut().filter(|r| r.reset.is_some()) {
        let other = ends[1 - r.from];
        r.reset_effect = calls
            .iter()
            .find(|c| {
                c.t >= r.seg.t
                    && (is_end(c.local, other)
                        || (c.local.port() == 0 && c.peer == Some(ends[r.from])))
                    && matches!(c.kind, CallKind::Failed { .. })
            })
            .map(|c| format!("{}'s {}", names[1 - r.from], c.text()));
    }
    Analysis {
        ends,
        names,
        initial,
        isn: [
            dirs[0].sent_syn.then_some(dirs[0].base).flatten(),
            dirs[1].sent_syn.then_some(dirs[1].base).flatten(),
        ],
        rows,
    }
}

/// Why end `d` sent the RST `s`, from the segments before it and the
/// calls of `d`.
fn reset_cause(
    d: usize,
    s: &Segment,
    rows: &[Row],
    dirs: &[Dir; 2],
    ends: [SocketAddr; 2],
    calls: &[Call],
) -> ResetCause {
    let prev_other = rows.iter().rev().find(|r| r.from != d);
    if let Some(p) = prev_other
        && p.has(SYN)
        && !p.has(ACK)
        && !dirs[d].sent_syn
    {
        return ResetCause::SynToClosedPort;
    }
    if rows.is_empty() && s.has(ACK) && !dirs[d].sent_syn {
        return ResetCause::SynToClosedPort;
    }
    // The close of `d` just before the RST, as its calls tell.
    let close = calls.iter().rev().find(|c| {
        is_end(c.local, ends[d]) && c.t <= s.t && matches!(c.kind, CallKind::Close { .. })
    });
    if dirs[d].fin.is_some() {
        if prev_other.is_some_and(|p| p.seg.len > 0) {
            return ResetCause::DataToClosedSocket;
        }
        return ResetCause::Unknown;
    }
    match close.map(|c| &c.kind) {
        Some(CallKind::Close { linger0: true, .. }) => ResetCause::Linger0,
        Some(CallKind::Close { unread, .. }) if *unread > 0 => ResetCause::UnreadData(*unread),
        _ if rows.iter().any(|r| r.from == d) => ResetCause::Abort,
        _ => ResetCause::Unknown,
    }
}

/// The textbook state machine, driven by the segments both ends send.
struct Machine {
    state: [&'static str; 2],
    /// Handshake and close steps seen so far.
    handshake: u8,
    closing: u8,
}

impl Machine {
    /// Applies segment `s` from end `x`; returns the ends it moved (with
    /// their new states) and the steps of the handshake or close it is.
    fn apply(
        &mut self,
        x: usize,
        s: &Segment,
        dirs: &mut [Dir; 2],
        names: &[String; 2],
    ) -> (Vec<(usize, &'static str)>, Vec<String>) {
        let y = 1 - x;
        let mut changes = Vec::new();
        let mut steps: Vec<String> = Vec::new();
        let mut set = |state: &mut [&'static str; 2], k: usize, st: &'static str| {
            if state[k] != st {
                state[k] = st;
                changes.push((k, st));
            }
        };
        if s.has(RST) {
            set(&mut self.state, 0, "CLOSED");
            set(&mut self.state, 1, "CLOSED");
            steps.push("reset: the connection is aborted".into());
            return (changes, steps);
        }
        if s.has(SYN) && !s.has(ACK) {
            let again = self.handshake >= 1;
            set(&mut self.state, x, "SYN_SENT");
            // A closed port has no listener to make a connection in it.
            if self.state[y] != "CLOSED" {
                set(&mut self.state, y, "SYN_RECV");
            }
            self.handshake = 1;
            steps.push(if again {
                "handshake 1/3 again: no SYN-ACK came, so connect sends its SYN again".into()
            } else {
                "handshake 1/3: connect sends SYN".into()
            });
            return (changes, steps);
        }
        if s.has(SYN) && s.has(ACK) {
            self.handshake = 2;
            set(&mut self.state, y, "ESTABLISHED");
            steps.push("handshake 2/3: the listener's kernel answers SYN-ACK".into());
            return (changes, steps);
        }
        // An ACK: of the handshake, of a FIN, or of data.
        if s.has(ACK) {
            if self.state[y] == "SYN_RECV" && self.handshake == 2 {
                self.handshake = 3;
                set(&mut self.state, y, "ESTABLISHED");
                steps.push("handshake 3/3: ACK; the connection waits in the accept queue".into());
            }
            if let Some(f) = dirs[y].fin
                && s.ack == f.wrapping_add(1)
            {
                let next = match self.state[y] {
                    "FIN_WAIT1" => Some("FIN_WAIT2"),
                    "CLOSING" => Some("TIME_WAIT"),
                    "LAST_ACK" => Some("CLOSED"),
                    _ => None,
                };
                if let Some(n) = next {
                    set(&mut self.state, y, n);
                    self.closing += 1;
                    steps.push(format!("close {}/4: ACK of the FIN", self.closing));
                }
            }
        }
        if s.has(FIN) {
            let first = dirs[x].fin.is_none();
            dirs[x].fin = Some(s.seq.wrapping_add(s.len));
            if first {
                let next_x = match self.state[x] {
                    "CLOSE_WAIT" => "LAST_ACK",
                    _ => "FIN_WAIT1",
                };
                set(&mut self.state, x, next_x);
                let next_y = match self.state[y] {
                    "FIN_WAIT1" => "CLOSING",
                    "FIN_WAIT2" => "TIME_WAIT",
                    "ESTABLISHED" | "SYN_RECV" => "CLOSE_WAIT",
                    other => other,
                };
                set(&mut self.state, y, next_y);
                self.closing += 1;
                steps.push(format!("close {}/4: FIN from {}", self.closing, names[x]));
            }
        }
        if s.len > 0 {
            steps.push(if s.len == 1 {
                "1 byte of data".to_string()
            } else {
                format!("{} bytes of data", s.len)
            });
        }
        (changes, steps)
    }
}

/// The options of a SYN in words: `MSS 65495, SACK permitted, timestamps,
/// window scale 7 (x128)`.
pub fn syn_options(s: &Segment) -> String {
    let o = &s.opts;
    let mut v = Vec::new();
    if let Some(m) = o.mss {
        v.push(format!("MSS {m}"));
    }
    if o.sack_perm {
        v.push("SACK permitted".into());
    }
    if o.ts.is_some() {
        v.push("timestamps".into());
    }
    if let Some(w) = o.wscale {
        v.push(format!("window scale {w} (x{})", 1u64 << w.min(14)));
    }
    v.join(", ")
}

/// The same, short, for a diagram: `MSS=65495 SACK_PERM TS WS=128`.
pub fn syn_options_short(s: &Segment) -> String {
    let o = &s.opts;
    let mut v = Vec::new();
    if let Some(m) = o.mss {
        v.push(format!("MSS={m}"));
    }
    if o.sack_perm {
        v.push("SACK_PERM".into());
    }
    if o.ts.is_some() {
        v.push("TS".into());
    }
    if let Some(w) = o.wscale {
        v.push(format!("WS={}", 1u64 << w.min(14)));
    }
    v.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::packet::{Frame, PSH, TcpOptions};

    fn a(p: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], p))
    }

    const K: u16 = 40000;
    const C: u16 = 9900;

    /// A segment from port `from` to the other end.
    fn seg(t: u64, from: u16, flags: u8, seq: u32, ack: u32, len: u32, window: u16) -> Segment {
        let to = if from == K { C } else { K };
        Segment {
            t,
            src: a(from),
            dst: a(to),
            flags,
            seq,
            ack,
            len,
            window,
            opts: TcpOptions::default(),
            more: 0,
            pos: u64::from(seq),
            frame: Frame::default(),
        }
    }

    fn syn_opts(mut s: Segment) -> Segment {
        s.opts = TcpOptions {
            mss: Some(65495),
            wscale: Some(7),
            sack_perm: true,
            ts: Some((1, 0)),
            sack: Vec::new(),
        };
        s
    }

    fn names() -> [String; 2] {
        ["k".into(), "c".into()]
    }

    /// A handshake, "hello" from k, and the four-way close.
    fn story() -> Vec<Segment> {
        let (i, j) = (1000u32, 5000u32);
        vec![
            syn_opts(seg(1, K, SYN, i, 0, 0, 65495)),
            syn_opts(seg(2, C, SYN | ACK, j, i + 1, 0, 65483)),
            seg(3, K, ACK, i + 1, j + 1, 0, 512),
            seg(4, K, PSH | ACK, i + 1, j + 1, 5, 512),
            seg(5, C, ACK, j + 1, i + 6, 0, 512),
            seg(6, K, FIN | ACK, i + 6, j + 1, 0, 512),
            seg(7, C, ACK, j + 1, i + 7, 0, 512),
            seg(8, C, FIN | ACK, j + 1, i + 7, 0, 512),
            seg(9, K, ACK, i + 7, j + 2, 0, 512),
        ]
    }

    #[test]
    fn numbers_are_relative_and_windows_scaled() {
        let an = analyze([a(C), a(K)], names(), &story(), &[]);
        // The client comes first whatever order the ends were given in.
        assert_eq!(an.ends, [a(K), a(C)]);
        assert_eq!(an.isn, [Some(1000), Some(5000)]);
        let nums: Vec<(u32, Option<u32>, u32, u64)> = an
            .rows
            .iter()
            .map(|r| (r.seq, r.ack, r.seg.len, r.window))
            .collect();
        assert_eq!(
            nums,
            vec![
                (0, None, 0, 65495),
                (0, Some(1), 0, 65483),
                (1, Some(1), 0, 512 * 128),
                (1, Some(1), 5, 512 * 128),
                (1, Some(6), 0, 512 * 128),
                (6, Some(1), 0, 512 * 128),
                (1, Some(7), 0, 512 * 128),
                (1, Some(7), 0, 512 * 128),
                (7, Some(2), 0, 512 * 128),
            ]
        );
        assert!(an.rows.iter().all(|r| r.expert.is_empty()), "{:?}", an.rows);
        assert_eq!(
            syn_options(&an.rows[0].seg),
            "MSS 65495, SACK permitted, timestamps, window scale 7 (x128)"
        );
        assert_eq!(
            syn_options_short(&an.rows[0].seg),
            "MSS=65495 SACK_PERM TS WS=128"
        );
    }

    #[test]
    fn the_states_follow_the_textbook() {
        let an = analyze([a(K), a(C)], names(), &story(), &[]);
        let st: Vec<Vec<(usize, &str)>> = an.rows.iter().map(|r| r.states.clone()).collect();
        assert_eq!(st[0], vec![(0, "SYN_SENT"), (1, "SYN_RECV")]);
        assert_eq!(st[1], vec![(0, "ESTABLISHED")]);
        assert_eq!(st[2], vec![(1, "ESTABLISHED")]);
        assert_eq!(st[5], vec![(0, "FIN_WAIT1"), (1, "CLOSE_WAIT")]);
        assert_eq!(st[6], vec![(0, "FIN_WAIT2")]);
        assert_eq!(st[7], vec![(1, "LAST_ACK"), (0, "TIME_WAIT")]);
        assert_eq!(st[8], vec![(1, "CLOSED")]);
        assert_eq!(an.rows[3].steps, vec!["5 bytes of data"]);
        assert_eq!(an.rows[7].steps, vec!["close 3/4: FIN from c"]);
    }

    #[test]
    fn retransmissions_dup_acks_and_windows_are_named() {
        let mut s = story();
        s.truncate(5);
        let (i, j) = (1000u32, 5000u32);
        s.extend([
            // k sends 10 bytes twice (lost?), c acks the same thing thrice.
            seg(10, K, PSH | ACK, i + 6, j + 1, 10, 512),
            seg(11, K, PSH | ACK, i + 6, j + 1, 10, 512),
            seg(12, C, ACK, j + 1, i + 6, 0, 512),
            seg(13, C, ACK, j + 1, i + 6, 0, 512),
            seg(14, K, PSH | ACK, i + 6, j + 1, 10, 512),
            // c's window closes, then opens.
            seg(15, C, ACK, j + 1, i + 16, 0, 0),
            seg(16, C, ACK, j + 1, i + 16, 0, 300),
            // A keep-alive from k.
            seg(17, K, ACK, i + 15, j + 1, 0, 512),
        ]);
        let an = analyze([a(K), a(C)], names(), &s, &[]);
        let ex: Vec<Vec<String>> = an
            .rows
            .iter()
            .map(|r| r.expert.iter().map(Expert::name).collect())
            .collect();
        assert!(ex[5].is_empty(), "{ex:?}");
        assert_eq!(ex[6], vec!["TCP Retransmission"]);
        assert_eq!(ex[7], vec!["TCP Dup ACK 5#1"]);
        assert_eq!(ex[8], vec!["TCP Dup ACK 5#2"]);
        assert_eq!(ex[9], vec!["TCP Fast Retransmission"]);
        assert_eq!(ex[10], vec!["TCP ZeroWindow"]);
        assert_eq!(ex[11], vec!["TCP Window Update"]);
        assert_eq!(ex[12], vec!["TCP Keep-Alive"]);
    }

    #[test]
    fn a_syn_to_a_closed_port_is_refused() {
        let s = vec![
            syn_opts(seg(1, K, SYN, 77, 0, 0, 65495)),
            seg(2, C, RST | ACK, 0, 78, 0, 0),
        ];
        let an = analyze([a(K), a(C)], names(), &s, &[]);
        assert_eq!(an.rows[1].reset, Some(ResetCause::SynToClosedPort));
        assert_eq!(an.rows[1].ack, Some(1));
        assert_eq!(an.initial, ["CLOSED", "CLOSED"]);
        assert_eq!(an.rows[0].states, vec![(0, "SYN_SENT")]);
        assert_eq!(an.rows[1].states, vec![(0, "CLOSED")]);
    }

    #[test]
    fn data_to_a_closed_socket_is_reset_and_the_broken_pipe_follows() {
        let (i, j) = (1000u32, 5000u32);
        let mut s = story();
        s.truncate(3);
        s.extend([
            // c closes (FIN, acked), then k sends a byte: RST.
            seg(4, C, FIN | ACK, j + 1, i + 1, 0, 512),
            seg(5, K, ACK, i + 1, j + 2, 0, 512),
            seg(6, K, PSH | ACK, i + 1, j + 2, 1, 512),
            seg(7, C, RST, j + 2, 0, 0, 0),
        ]);
        let calls = vec![Call {
            t: 8,
            local: a(K),
            peer: Some(a(C)),
            who: "k".into(),
            id: 0,
            kind: CallKind::Failed {
                call: "send".into(),
                error: "BrokenPipeError".into(),
            },
        }];
        let an = analyze([a(K), a(C)], names(), &s, &calls);
        let rst = an.rows.last().expect("rows");
        assert_eq!(rst.reset, Some(ResetCause::DataToClosedSocket));
        assert_eq!(
            rst.reset_effect.as_deref(),
            Some("k's send: BrokenPipeError")
        );
        assert_eq!(
            ResetCause::DataToClosedSocket.text("c", "k"),
            "data to a closed socket: c had closed, so its kernel answers the data k sent with RST"
        );
    }

    #[test]
    fn a_close_with_linger_0_is_named_from_the_calls() {
        let mut s = story();
        s.truncate(3);
        s.push(seg(5, C, RST | ACK, 5001, 1001, 0, 0));
        let calls = vec![Call {
            t: 4,
            local: a(C),
            peer: Some(a(K)),
            who: "c".into(),
            id: 0,
            kind: CallKind::Close {
                linger0: true,
                unread: 0,
            },
        }];
        let an = analyze([a(K), a(C)], names(), &s, &calls);
        assert_eq!(
            an.rows.last().and_then(|r| r.reset.clone()),
            Some(ResetCause::Linger0)
        );
        let an = analyze([a(K), a(C)], names(), &s, &[]);
        assert_eq!(
            an.rows.last().and_then(|r| r.reset.clone()),
            Some(ResetCause::Abort)
        );
    }

    #[test]
    fn a_lost_segment_moves_no_state_and_its_resend_is_a_retransmission() {
        let mut s = story();
        s.truncate(3);
        let (i, j) = (1000u32, 5000u32);
        s.push(seg(4, K, PSH | ACK, i + 1, j + 1, 5, 512));
        s.push(seg(5, K, PSH | ACK, i + 1, j + 1, 5, 512));
        s.push(seg(6, K, PSH | ACK, i + 1, j + 1, 5, 512));
        let marks = vec![
            None,
            None,
            None,
            Some(LinkMark::Lost("k".into())),
            None,
            Some(LinkMark::Duplicate("k".into())),
        ];
        let an = analyze_marked([a(K), a(C)], names(), &s, &marks, &[]);
        // Data moves no state: nor does its loss.
        assert!(an.rows[3].states.is_empty());
        assert_eq!(
            an.rows[3].steps,
            vec!["LOST on k's link (lab net): the receiver never sees it"]
        );
        assert_eq!(an.rows[4].expert, vec![Expert::Retransmission]);
        assert!(an.rows[5].expert.is_empty(), "{:?}", an.rows[5]);
        assert!(an.rows[5].steps[0].contains("a duplicate made by k's link"));
    }

    #[test]
    fn a_gap_counts_the_bytes_not_captured() {
        let mut s = story();
        s.truncate(4);
        let mut late = seg(5, K, PSH | ACK, 1000 + 6 + 65483, 5001, 100, 512);
        late.pos = u64::from(1000u32 + 6 + 65483);
        s.push(late);
        let an = analyze([a(K), a(C)], names(), &s, &[]);
        assert_eq!(an.rows[4].gap, 65483);
    }
}

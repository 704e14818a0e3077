//! `states`: each connection's TCP states over time, read off the segments
//! on the loopback interface (see [`crate::trace`]), so the three-way
//! handshake and the four-way close can be followed step by step. Without
//! the capture (it needs root), the states sampled after each command are
//! shown instead.

use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::syntax::ast::{SockRef, Spanned};
use crate::table::{self, Ghost};
use crate::trace::{self, ACK, FIN, RST, SYN, Segment};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

/// A state sampled after a command (for when there is no capture).
#[derive(Clone, Debug)]
pub struct Sample {
    pub at: Instant,
    pub label: String,
    pub state: String,
}

/// One end of a connection, as the packets tell its state.
#[derive(Clone, Debug)]
struct End {
    addr: SocketAddr,
    label: String,
    state: &'static str,
    /// Sequence number of its FIN, once sent.
    fin_seq: Option<u32>,
}

/// The textbook state machine, driven by the segments both ends send.
struct Connection {
    ends: [End; 2],
    /// Handshake and close steps seen so far.
    handshake: u8,
    closing: u8,
}

impl Connection {
    fn index(&self, a: SocketAddr) -> Option<usize> {
        self.ends.iter().position(|e| e.addr == a)
    }

    /// Applies one segment; returns the state changes it caused and the
    /// step of the handshake or close it is.
    fn apply(&mut self, s: &Segment) -> (Vec<String>, Option<String>) {
        let (Some(x), Some(y)) = (self.index(s.src), self.index(s.dst)) else {
            return (Vec::new(), None);
        };
        let mut changes = Vec::new();
        let mut steps: Vec<String> = Vec::new();
        let mut set = |ends: &mut [End; 2], k: usize, st: &'static str| {
            if ends[k].state != st {
                ends[k].state = st;
                changes.push(format!("{} {st}", ends[k].label));
            }
        };
        if s.has(RST) {
            set(&mut self.ends, x, "CLOSED");
            set(&mut self.ends, y, "CLOSED");
            return (changes, Some("reset: the connection is aborted".into()));
        }
        if s.has(SYN) && !s.has(ACK) {
            set(&mut self.ends, x, "SYN_SENT");
            set(&mut self.ends, y, "SYN_RECV");
            self.handshake = 1;
            return (changes, Some("handshake 1/3: connect sends SYN".into()));
        }
        if s.has(SYN) && s.has(ACK) {
            self.handshake = 2;
            set(&mut self.ends, y, "ESTABLISHED");
            return (
                changes,
                Some("handshake 2/3: the listener's kernel answers SYN-ACK".to_string()),
            );
        }
        // An ACK: of the handshake, of a FIN, or of data.
        if s.has(ACK) {
            if self.ends[y].state == "SYN_RECV" && self.handshake == 2 {
                self.handshake = 3;
                set(&mut self.ends, y, "ESTABLISHED");
                steps.push("handshake 3/3: ACK; the connection waits in the accept queue".into());
            }
            if let Some(f) = self.ends[y].fin_seq
                && s.ack == f.wrapping_add(1)
            {
                let st = self.ends[y].state;
                let next = match st {
                    "FIN_WAIT1" => Some("FIN_WAIT2"),
                    "CLOSING" => Some("TIME_WAIT"),
                    "LAST_ACK" => Some("CLOSED"),
                    _ => None,
                };
                if let Some(n) = next {
                    set(&mut self.ends, y, n);
                    self.closing += 1;
                    steps.push(format!("close {}/4: ACK of the FIN", self.closing));
                }
            }
        }
        if s.has(FIN) {
            self.ends[x].fin_seq = Some(s.seq.wrapping_add(s.len));
            let xs = self.ends[x].state;
            let next_x = match xs {
                "CLOSE_WAIT" => "LAST_ACK",
                _ => "FIN_WAIT1",
            };
            set(&mut self.ends, x, next_x);
            let ys = self.ends[y].state;
            let next_y = match ys {
                "FIN_WAIT1" => "CLOSING",
                "FIN_WAIT2" => "TIME_WAIT",
                "ESTABLISHED" | "SYN_RECV" => "CLOSE_WAIT",
                other => other,
            };
            set(&mut self.ends, y, next_y);
            self.closing += 1;
            steps.push(format!(
                "close {}/4: FIN from {}",
                self.closing, self.ends[x].label
            ));
        }
        if s.len > 0 {
            steps.push(format!("{} bytes of data", s.len));
        }
        let step = (!steps.is_empty()).then(|| steps.join("; "));
        (changes, step)
    }
}

impl Session {
    /// Starts the capture (if allowed) the first time a TCP socket listens
    /// or connects: before the first handshake, and not in a session that
    /// never makes a connection. (Opening it costs little; closing it costs
    /// the process one RCU grace period at exit, in the kernel's
    /// packet_release, some tens of milliseconds.)
    pub(super) fn start_trace(&mut self) {
        if self.watch_states && self.trace.is_none() && self.trace_error.is_none() {
            match trace::Trace::start() {
                Ok(t) => self.trace = Some(t),
                // Out of descriptors (EMFILE): not for good; the next TCP
                // socket tries again.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {}
                Err(e) => self.trace_error = Some(e.to_string()),
            }
        }
    }

    /// Records the TCP states that changed since the last command.
    pub(super) fn sample_states(&mut self) {
        // With the capture, `states` reads the segments: nothing to sample.
        if self.trace.is_some() || !self.watch_states {
            return;
        }
        let now = Instant::now();
        let mut seen: Vec<(u64, String, String)> = Vec::new();
        // A lesson holds a few sockets: sample them all, so a close on one
        // end shows on the other. A table of thousands samples only the
        // socket the command used (a statement must not cost O(sockets)).
        let few = self.table.len() <= 64;
        let last = self.table.last;
        for e in self.table.iter().filter(|e| few || Some(e.handle) == last) {
            if let Some(st) = table::tcp_state(e) {
                seen.push((e.handle.serial, e.label(), st.to_string()));
            }
        }
        // Closed sockets go on in the kernel (FIN_WAIT, TIME_WAIT, LAST_ACK)
        // until it forgets them; then they are CLOSED.
        if !self.table.ghosts.is_empty() {
            let kernel = table::kernel_tcp();
            for g in self.table.ghosts.clone() {
                let key = u64::MAX - u64::from(g.local.port()) * 65536 - u64::from(g.peer.port());
                let st = kernel
                    .iter()
                    .find(|k| k.local == g.local && k.remote == g.peer)
                    .map_or("CLOSED", |k| table::tcp_state_name(k.state));
                seen.push((key, format!("{} (closed)", g.label), st.to_string()));
            }
            self.table.ghosts_now(&kernel);
        }
        for (serial, label, state) in seen {
            if self.last_state.get(&serial) != Some(&state) {
                self.last_state.insert(serial, state.clone());
                self.samples.push_back(Sample {
                    at: now,
                    label,
                    state,
                });
                if self.samples.len() > 10_000 {
                    self.samples.pop_front();
                }
            }
        }
    }

    /// The name to show for an address: the socket of this shell bound to
    /// it, else the address.
    fn label_of(&self, a: SocketAddr, ghosts: &[Ghost]) -> String {
        for e in self.table.iter() {
            let local = e.sock.local_addr().ok().and_then(|x| x.as_socket());
            let peer = e.sock.peer_addr().ok().and_then(|x| x.as_socket());
            if local == Some(a) && peer.is_some() {
                return e.label();
            }
        }
        if let Some(g) = ghosts.iter().find(|g| g.local == a) {
            return g.label.clone();
        }
        if let Some(l) = self.closed_labels.get(&a) {
            return l.clone();
        }
        for e in self.table.iter() {
            if let Some(l) = e.sock.local_addr().ok().and_then(|x| x.as_socket())
                && l.port() == a.port()
                && trace::same_host(l.ip(), a.ip())
                && e.sock.is_listener().unwrap_or(false)
            {
                return format!("{}'s queue", e.label());
            }
        }
        a.to_string()
    }

    pub(super) fn states(
        &mut self,
        sock: Option<&Spanned<SockRef>>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let only = match sock {
            Some(r) => Some(self.sock(r)?),
            None => None,
        };
        let kernel = table::kernel_tcp();
        let ghosts: Vec<Ghost> = self
            .table
            .ghosts_now(&kernel)
            .into_iter()
            .map(|(g, _)| g)
            .collect();
        // The connections: (one end, other end), each once.
        let mut conns: Vec<(SocketAddr, SocketAddr)> = Vec::new();
        let mut add = |a: SocketAddr, b: SocketAddr| {
            if !conns.contains(&(a, b)) && !conns.contains(&(b, a)) {
                conns.push((a, b));
            }
        };
        for e in self.table.iter() {
            if only.is_some_and(|h| h != e.handle) {
                continue;
            }
            if let (Some(l), Some(p)) = (
                e.sock.local_addr().ok().and_then(|x| x.as_socket()),
                e.sock.peer_addr().ok().and_then(|x| x.as_socket()),
            ) && e.is_tcp()
            {
                add(l, p);
            }
        }
        if only.is_none() {
            for g in &ghosts {
                add(g.local, g.peer);
            }
        }
        // The connections of programs run from the shell, and their names.
        let theirs = self.programs.connections();
        if only.is_none() {
            for (l, p, _) in &theirs {
                add(*l, *p);
            }
        }
        let Some(trace) = &self.trace else {
            return self.sampled_states(only, out);
        };
        if conns.is_empty() {
            out.emit(Item::Note(
                "no TCP connection to show: connect two sockets first".into(),
            ));
            return Ok(Ret::none());
        }
        for (a, b) in conns {
            let segs = trace.between(&|s| (s.src == a && s.dst == b) || (s.src == b && s.dst == a));
            let named = |x: SocketAddr| {
                theirs
                    .iter()
                    .find(|(l, _, _)| *l == x)
                    .map(|(_, _, label)| label.clone())
            };
            let la = named(a).unwrap_or_else(|| self.label_of(a, &ghosts));
            let lb = named(b).unwrap_or_else(|| self.label_of(b, &ghosts));
            // An end outside this shell is labelled by its address alone.
            let end = |l: &str, x: SocketAddr| {
                if l == x.to_string() {
                    l.to_string()
                } else {
                    format!("{l} {x}")
                }
            };
            let title = format!("connection {} <-> {}", end(&la, a), end(&lb, b));
            let Some(first) = segs.first().map(|s| s.at) else {
                out.emit(Item::Note(format!("{title}: no segments captured")));
                continue;
            };
            let mut conn = Connection {
                ends: [
                    End {
                        addr: a,
                        label: la.clone(),
                        state: "CLOSED",
                        fin_seq: None,
                    },
                    End {
                        addr: b,
                        label: lb.clone(),
                        state: "LISTEN",
                        fin_seq: None,
                    },
                ],
                handshake: 0,
                closing: 0,
            };
            // The side that sent the first SYN is the client.
            if let Some(syn) = segs.iter().find(|s| s.has(SYN) && !s.has(ACK))
                && syn.src == b
            {
                conn.ends.swap(0, 1);
                conn.ends[0].state = "CLOSED";
                conn.ends[1].state = "LISTEN";
            }
            let label_of_addr: HashMap<SocketAddr, String> =
                [(a, la.clone()), (b, lb.clone())].into_iter().collect();
            let mut rows = Vec::new();
            // Where each direction's next byte is, to tell the bytes of
            // bulk segments the capture left out.
            let mut next: HashMap<SocketAddr, u64> = HashMap::new();
            for s in &segs {
                let (changes, step) = conn.apply(s);
                let who = format!(
                    "{} -> {}",
                    label_of_addr.get(&s.src).cloned().unwrap_or_default(),
                    label_of_addr.get(&s.dst).cloned().unwrap_or_default()
                );
                if let Some(gap) = next.get(&s.src).map(|n| s.pos.saturating_sub(*n))
                    && gap > 0
                {
                    rows.push(vec![
                        String::new(),
                        "...".into(),
                        who.clone(),
                        String::new(),
                        format!(
                            "{gap} bytes of data ({}) in segments not captured one by one (the large segments of a long send)",
                            crate::value::human_size(gap),
                        ),
                    ]);
                }
                let end = s.pos + u64::from(s.len) + u64::from(s.has(SYN)) + u64::from(s.has(FIN));
                if next.get(&s.src).is_none_or(|n| end > *n) {
                    next.insert(s.src, end);
                }
                let mut seg = s.flag_names();
                if s.len > 0 {
                    seg.push_str(&format!(" {}B", s.len));
                }
                rows.push(vec![
                    format!("{:.3} ms", trace::since(first, s.at).as_secs_f64() * 1000.0),
                    seg,
                    who,
                    changes.join(", "),
                    step.unwrap_or_default(),
                ]);
                if s.more > 0 {
                    rows.push(vec![
                        String::new(),
                        "...".into(),
                        format!("{la} <-> {lb}"),
                        String::new(),
                        format!(
                            "{} more segments in a burst (a bulk transfer), counted, not shown one by one",
                            s.more
                        ),
                    ]);
                }
            }
            out.emit(Item::Timeline {
                title,
                head: vec!["time", "segment", "from -> to", "states after it", "step"],
                rows,
            });
        }
        Ok(Ret::none())
    }

    /// Without a capture: the states each socket had after each command.
    fn sampled_states(
        &mut self,
        only: Option<crate::value::SockHandle>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let label = only.and_then(|h| self.table.get(h)).map(|e| e.label());
        let rows: Vec<Vec<String>> = self
            .samples
            .iter()
            .filter(|s| label.as_ref().is_none_or(|l| *l == s.label))
            .map(|s| {
                vec![
                    format!("{:.3} s", trace::since(self.started, s.at).as_secs_f64()),
                    s.label.clone(),
                    s.state.clone(),
                ]
            })
            .collect();
        let why = self.trace_error.clone().unwrap_or_default();
        out.emit(Item::Note(format!(
            "no capture of the segments ({why}; it needs root): states as sampled after each command"
        )));
        out.emit(Item::Timeline {
            title: "TCP states".into(),
            head: vec!["time", "socket", "state"],
            rows,
        });
        Ok(Ret::none())
    }
}

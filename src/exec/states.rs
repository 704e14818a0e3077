//! `states` and `states save FILE`: each connection's segments with their
//! numbers and the TCP states they move each end to, and each UDP
//! socket's datagrams, read off the loopback interface by [`crate::wire`]
//! (the capture, and the analysis that reads it as Wireshark does). The
//! calls of this shell's sockets are recorded here too ([`Session::note`]),
//! so a reset can say which call caused it and which failed because of it.
//! Without the capture (it needs root, or `sockplay --lab`), the states
//! sampled after each command are shown instead.

use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::syntax::ast::{Command, Expr, SockRef, Spanned};
use crate::table::{self, Ghost};
use crate::value::SockHandle;
use crate::value::plural;
use crate::wire::analysis::{self, Analysis};
use crate::wire::packet::{Packet, SYN};
use crate::wire::{self, CallKind, Nanos};
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

/// What `states` (and `diagram`) show: a TCP connection, or a UDP
/// socket's datagrams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum View {
    Tcp(SocketAddr, SocketAddr),
    Udp(SocketAddr),
}

/// At most this many connections are shown by `states` without a socket.
const MAX_VIEWS: usize = 16;

/// The name of a call, for the record of one that failed.
pub(super) fn call_name(cmd: &Command) -> Option<&'static str> {
    Some(match cmd {
        Command::Connect { .. } => "connect",
        Command::Accept { .. } => "accept",
        Command::Send { .. } => "send",
        Command::SendAll { .. } => "sendall",
        Command::SendTo { .. } => "sendto",
        Command::Recv { .. } | Command::RecvBulk { .. } => "recv",
        Command::RecvFrom { .. } => "recvfrom",
        Command::SendFile { .. } => "sendfile",
        Command::Shutdown { .. } => "shutdown",
        _ => return None,
    })
}

/// A file `states save` or `diagram save` could not write: the rules'
/// own error (crate::files), at the path, saying which command.
pub(super) fn save_error(e: ExecError, cmd: &str, path: &Spanned<Expr>) -> ExecError {
    let mut x = e.at(path.span);
    if x.hint.is_none() {
        x.hint = Some(format!("{cmd}: the file could not be written there"));
    }
    x
}

/// `k FIN_WAIT2 -> TIME_WAIT, c LAST_ACK`: the states a segment moved the
/// ends to, each end once, in order.
fn states_text(states: &[(usize, &'static str)], names: &[String; 2]) -> String {
    let mut parts: Vec<(usize, Vec<&str>)> = Vec::new();
    for (k, st) in states {
        match parts.iter_mut().find(|(j, _)| j == k) {
            Some((_, v)) => v.push(st),
            None => parts.push((*k, vec![st])),
        }
    }
    parts
        .iter()
        .map(|(k, v)| format!("{} {}", names[*k], v.join(" -> ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Milliseconds from `first` to `t`.
fn ms(first: Nanos, t: Nanos) -> String {
    format!("{:.3} ms", t.saturating_sub(first) as f64 / 1e6)
}

impl Session {
    /// Records a call of socket `h` (made at `t`), when `states` may be
    /// asked for.
    pub(super) fn note(&self, h: SockHandle, t: Nanos, kind: CallKind) {
        if !self.watch_states {
            return;
        }
        let Some(e) = self.table.get(h) else { return };
        let (local, peer) = match e.conn {
            Some((l, p)) => (Some(l), Some(p)),
            None => (
                e.sock.local_addr().ok().and_then(|a| a.as_socket()),
                e.sock.peer_addr().ok().and_then(|a| a.as_socket()),
            ),
        };
        if let Some(local) = local {
            self.calls.push(wire::Call {
                t,
                local,
                peer,
                who: e.label(),
                id: h.serial,
                kind,
            });
        }
    }

    /// Records a call that failed (BrokenPipeError, ConnectionRefusedError)
    /// on the last socket used.
    pub(super) fn note_failure(&self, cmd: &Command, e: &ExecError) {
        if e.errno.is_none() || !self.watch_states {
            return;
        }
        let (Some(name), Some(h)) = (call_name(cmd), self.table.last) else {
            return;
        };
        let peer = match cmd {
            Command::Connect { .. } => self
                .calls
                .select(&|c| c.id == h.serial && c.kind == CallKind::Connect)
                .last()
                .and_then(|c| c.peer),
            _ => None,
        };
        let Some(entry) = self.table.get(h) else {
            return;
        };
        let local = entry
            .conn
            .map(|c| c.0)
            .or_else(|| entry.sock.local_addr().ok().and_then(|a| a.as_socket()))
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        // A connected UDP socket has no `conn`, but a peer all the same
        // (its refused send belongs to the conversation with that peer).
        let connected = entry.sock.peer_addr().ok().and_then(|a| a.as_socket());
        self.calls.push(wire::Call {
            t: wire::now_ns(),
            local,
            peer: entry.conn.map(|c| c.1).or(connected).or(peer),
            who: entry.label(),
            id: h.serial,
            kind: CallKind::Failed {
                call: name.into(),
                error: e.exception.clone(),
            },
        });
    }

    /// Records the TCP states that changed since the last command.
    pub(super) fn sample_states(&mut self) {
        // With the capture, `states` reads the segments: nothing to sample.
        if self.capture.is_some() || !self.watch_states {
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

    /// The name to show for an address, one end of a connection with
    /// `other` (when known): the socket of this shell at that end, else the
    /// address. (Two lab hosts may have sockets with the same address: the
    /// pair tells them apart.)
    pub(super) fn label_of(
        &self,
        a: SocketAddr,
        other: Option<SocketAddr>,
        ghosts: &[Ghost],
    ) -> String {
        let matches = |p: SocketAddr| other.is_none_or(|o| o == p);
        for e in self.table.iter() {
            if e.conn.is_some_and(|c| c.0 == a && matches(c.1)) {
                return e.label();
            }
        }
        for e in self.table.iter() {
            let local = e.sock.local_addr().ok().and_then(|x| x.as_socket());
            let peer = e.sock.peer_addr().ok().and_then(|x| x.as_socket());
            if local == Some(a) && (peer.is_some_and(matches) || !e.is_tcp()) {
                return e.label();
            }
        }
        if let Some(g) = ghosts.iter().find(|g| g.local == a && matches(g.peer)) {
            return g.label.clone();
        }
        // An end in a program run from the shell: its job and name.
        if let Some((_, _, l)) = self
            .programs
            .connections()
            .into_iter()
            .find(|(l, p, _)| *l == a && matches(*p))
        {
            return l;
        }
        // A socket still connecting (SYN_SENT) has its address, no peer.
        for e in self.table.iter() {
            if e.is_tcp()
                && e.sock.local_addr().ok().and_then(|x| x.as_socket()) == Some(a)
                && e.sock.peer_addr().is_err()
                && !e.sock.is_listener().unwrap_or(false)
            {
                return e.label();
            }
        }
        if let Some(l) = self.closed_labels.get(&a) {
            return l.clone();
        }
        if let Some(c) = self.calls.select(&|c| c.local == a).last() {
            return c.who.clone();
        }
        for e in self.table.iter() {
            if let Some(l) = e.sock.local_addr().ok().and_then(|x| x.as_socket())
                && l.port() == a.port()
                && wire::capture::same_host(l.ip(), a.ip())
                && e.sock.is_listener().unwrap_or(false)
            {
                return format!("{}'s queue", e.label());
            }
        }
        a.to_string()
    }

    /// The name to show for a UDP address: a UDP socket of this shell
    /// there (open, or closed: its datagrams' calls remember it), else the
    /// address. A TCP socket on the same port number is another socket.
    pub(super) fn udp_label(&self, a: SocketAddr) -> String {
        let here = |l: SocketAddr| {
            l == a || (l.port() == a.port() && wire::capture::same_host(l.ip(), a.ip()))
        };
        for e in self.table.iter().filter(|e| !e.is_tcp()) {
            if e.sock
                .local_addr()
                .ok()
                .and_then(|x| x.as_socket())
                .is_some_and(here)
            {
                return e.label();
            }
        }
        self.calls
            .select(&|c| matches!(c.kind, CallKind::SendTo { .. }) && here(c.local))
            .last()
            .map_or_else(|| a.to_string(), |c| c.who.clone())
    }

    /// The connection a socket's failed connect tried: the SYN it sent,
    /// found in the capture (a refused connect lets its port go, so the
    /// socket no longer knows it).
    fn refused_conn(&self, h: SockHandle) -> Option<View> {
        let cap = self.capture.as_ref()?;
        let call = self
            .calls
            .select(&|c| c.id == h.serial && c.kind == CallKind::Connect)
            .pop()?;
        let target = call.peer?;
        let port = call.local.port();
        cap.packets(&|p| {
            matches!(p, Packet::Tcp(s) if s.dst == target && s.has(SYN) && s.t >= call.t
                && (port == 0 || s.src.port() == port))
        })
        .first()
        .and_then(Packet::as_tcp)
        .map(|s| View::Tcp(s.src, s.dst))
    }

    /// What `states` or `diagram` shows: for one socket, its connection
    /// (kept after a reset), the one its refused connect tried, the
    /// connections of a listener, or a UDP socket's datagrams; for none,
    /// every connection and UDP socket of this shell still in the capture.
    pub(super) fn views(&mut self, only: Option<SockHandle>) -> Vec<View> {
        let kernel = table::kernel_tcp();
        let ghosts: Vec<Ghost> = self
            .table
            .ghosts_now(&kernel)
            .into_iter()
            .map(|(g, _)| g)
            .collect();
        let mut views: Vec<View> = Vec::new();
        let mut add = |v: View| {
            let dup = views.iter().any(|w| match (w, &v) {
                (View::Tcp(a, b), View::Tcp(c, d)) => (a, b) == (c, d) || (a, b) == (d, c),
                (x, y) => x == y,
            });
            if !dup {
                views.push(v);
            }
        };
        if let Some(h) = only {
            let Some(e) = self.table.get(h) else {
                // Closed: its calls still say which connection it had.
                let closed = self.calls.select(&|c| c.id == h.serial);
                for c in closed.iter().rev() {
                    match (&c.kind, c.peer) {
                        (CallKind::Connected | CallKind::Accepted, Some(p)) => {
                            add(View::Tcp(c.local, p));
                            break;
                        }
                        (CallKind::SendTo { .. }, _) => {
                            add(View::Udp(c.local));
                            break;
                        }
                        _ => {}
                    }
                }
                if views.is_empty()
                    && let Some(v) = self.refused_conn(h)
                {
                    views.push(v);
                }
                return views;
            };
            let local = e.sock.local_addr().ok().and_then(|x| x.as_socket());
            if !e.is_tcp() {
                if let Some(l) = local.filter(|l| l.port() != 0) {
                    add(View::Udp(l));
                }
                return views;
            }
            if let Some((l, p)) = e.conn {
                add(View::Tcp(l, p));
            } else if e.sock.is_listener().unwrap_or(false) {
                // A listener: the connections made to it.
                if let (Some(cap), Some(l)) = (&self.capture, local) {
                    for p in cap.packets(&|p| {
                        matches!(p, Packet::Tcp(s) if s.has(SYN) && s.dst.port() == l.port()
                            && wire::capture::same_host(l.ip(), s.dst.ip()))
                    }) {
                        if let Packet::Tcp(s) = p {
                            add(View::Tcp(s.src, s.dst));
                        }
                    }
                }
            } else if let Some(v) = self.refused_conn(h) {
                add(v);
            }
            return views;
        }
        // Every connection this shell's calls name, then the live ones,
        // then every conversation the lab's switch saw (a SYN never
        // answered has no socket that could name it afterwards).
        let mut pairs: Vec<(Nanos, View)> = Vec::new();
        for c in self.calls.select(&|c| {
            matches!(
                c.kind,
                CallKind::Connected | CallKind::Accepted | CallKind::SendTo { .. }
            )
        }) {
            match (c.kind, c.peer) {
                (CallKind::SendTo { .. }, _) => pairs.push((c.t, View::Udp(c.local))),
                (_, Some(p)) => pairs.push((c.t, View::Tcp(c.local, p))),
                _ => {}
            }
        }
        for e in self.table.iter() {
            if let Some((l, p)) = e.conn {
                pairs.push((Nanos::MAX, View::Tcp(l, p)));
            } else if !e.is_tcp()
                && let Some(l) = e.sock.local_addr().ok().and_then(|x| x.as_socket())
                && l.port() != 0
            {
                pairs.push((Nanos::MAX, View::Udp(l)));
            }
        }
        for g in &ghosts {
            pairs.push((Nanos::MAX, View::Tcp(g.local, g.peer)));
        }
        // The connections of programs run from the shell.
        for (l, p, _) in self.programs.connections() {
            pairs.push((Nanos::MAX, View::Tcp(l, p)));
        }
        if let Some(segs) = self.lab_segments(&|_| true) {
            for (s, _) in segs {
                pairs.push((s.t, View::Tcp(s.src, s.dst)));
            }
        }
        for (_, v) in pairs {
            add(v);
        }
        // Refused connects of live sockets.
        let handles: Vec<SockHandle> = self
            .table
            .iter()
            .filter(|e| e.is_tcp() && e.conn.is_none())
            .map(|e| e.handle)
            .collect();
        for h in handles {
            if let Some(v) = self.refused_conn(h) {
                add(v);
            }
        }
        views
    }

    pub(super) fn states(
        &mut self,
        sock: Option<&Spanned<SockRef>>,
        absolute: bool,
        save: Option<&Spanned<Expr>>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let only = match sock {
            Some(r) => Some(self.wire_sock(r)?),
            None => None,
        };
        // Asked before any connection: whether the capture is possible is
        // worth knowing now.
        self.start_capture();
        if let Some(path) = save {
            return self.states_save(path, out);
        }
        if self.capture.is_none() && self.lab.lab.is_none() {
            return self.sampled_states(only, out);
        }
        let views = self.views(only);
        if views.is_empty() {
            out.emit(Item::Note(match only.and_then(|h| self.table.get(h)) {
                Some(e) if !e.is_tcp() => {
                    format!("{} has sent and received no datagram yet", e.label())
                }
                Some(e) => format!(
                    "{} has no connection to show: connect it (or accept on it) first",
                    e.label()
                ),
                None => "no connection to show: connect two sockets first".into(),
            }));
            return Ok(Ret::none());
        }
        let skipped = views.len().saturating_sub(MAX_VIEWS);
        if skipped > 0 {
            out.emit(Item::Note(format!(
                "the last {MAX_VIEWS} connections of {} (`states SOCK` shows one)",
                views.len()
            )));
        }
        let ghosts: Vec<Ghost> = self.table.ghosts.clone();
        for v in views.into_iter().skip(skipped) {
            match v {
                View::Tcp(a, b) => self.tcp_timeline(a, b, absolute, &ghosts, out),
                View::Udp(l) => self.udp_timeline(l, only.is_some(), out),
            }
        }
        if let Some(c) = &self.capture {
            let lost = c.lost();
            if lost > 0 {
                out.emit(Item::Warn(format!(
                    "{} lost: the capture's ring was full (the machine was busy)",
                    plural(lost, "frame was", "frames were")
                )));
            }
        }
        Ok(Ret::none())
    }

    /// The socket `states` or `diagram` is about: an open one, or one
    /// closed already (its name still holds it), whose connection the
    /// calls remember.
    pub(super) fn wire_sock(&mut self, r: &Spanned<SockRef>) -> Result<SockHandle, ExecError> {
        if let SockRef::Name(n) = &r.node
            && let Some(crate::value::Value::Socket(h)) = self.vars.get(n)
            && self.table.get(*h).is_none()
        {
            return Ok(*h);
        }
        self.use_sock(r)
    }

    /// One connection read: the ends' names and the analysis.
    pub(super) fn read_conn(
        &self,
        a: SocketAddr,
        b: SocketAddr,
        ghosts: &[Ghost],
    ) -> Option<Analysis> {
        let (segs, marks) = self.conn_segments(a, b);
        if segs.is_empty() {
            return None;
        }
        let names = [
            self.label_of(a, Some(b), ghosts),
            self.label_of(b, Some(a), ghosts),
        ];
        let calls = self.conn_calls(a, b);
        Some(analysis::analyze_marked(
            [a, b],
            names,
            &segs,
            &marks,
            &calls,
        ))
    }

    /// The segments between `a` and `b`: those of the capture on `lo` and
    /// those the lab's switch saw (with what its links did to them), in
    /// the order they passed.
    fn conn_segments(
        &self,
        a: SocketAddr,
        b: SocketAddr,
    ) -> (Vec<wire::Segment>, Vec<Option<analysis::LinkMark>>) {
        let mut all: Vec<(wire::Segment, Option<analysis::LinkMark>)> = self
            .capture
            .as_ref()
            .map(|c| c.segments(a, b).into_iter().map(|s| (s, None)).collect())
            .unwrap_or_default();
        let pred = |s: &wire::Segment| (s.src == a && s.dst == b) || (s.src == b && s.dst == a);
        if let Some(lab) = self.lab_segments(&pred) {
            all.extend(lab.into_iter().map(|(s, m)| {
                let mark = m.map(|m| match m {
                    crate::lab::Mark::Lost(h) => analysis::LinkMark::Lost(h),
                    crate::lab::Mark::Duplicate(h) => analysis::LinkMark::Duplicate(h),
                });
                (s, mark)
            }));
            all.sort_by_key(|(s, _)| s.t);
        }
        all.into_iter().unzip()
    }

    fn tcp_timeline(
        &self,
        a: SocketAddr,
        b: SocketAddr,
        absolute: bool,
        ghosts: &[Ghost],
        out: &mut dyn Sink,
    ) {
        let la = self.label_of(a, Some(b), ghosts);
        let lb = self.label_of(b, Some(a), ghosts);
        // An end outside this shell is labelled by its address alone.
        let end = |l: &str, x: SocketAddr| {
            if l == x.to_string() {
                l.to_string()
            } else {
                format!("{l} {x}")
            }
        };
        let Some(an) = self.read_conn(a, b, ghosts) else {
            out.emit(Item::Note(format!(
                "connection {} <-> {}: no segments captured",
                end(&la, a),
                end(&lb, b)
            )));
            return;
        };
        let [n0, n1] = &an.names;
        let title = format!(
            "connection {} <-> {}",
            end(n0, an.ends[0]),
            end(n1, an.ends[1])
        );
        let first = an.rows.first().map_or(0, |r| r.seg.t);
        let mut rows = Vec::new();
        for r in &an.rows {
            let (from, to) = (&an.names[r.from], &an.names[1 - r.from]);
            let who = format!("{from} -> {to}");
            if r.gap > 0 {
                rows.push(vec![
                    String::new(),
                    "...".into(),
                    who.clone(),
                    String::new(),
                    String::new(),
                    // Its bytes are in the words: a 10-digit count here
                    // would widen the len column of every row.
                    String::new(),
                    String::new(),
                    String::new(),
                    format!(
                        "{} of a long send, in segments not captured one by one",
                        crate::value::human_size(r.gap),
                    ),
                ]);
            }
            let (seq, ack) = if absolute {
                (
                    r.seg.seq,
                    r.seg.has(crate::wire::packet::ACK).then_some(r.seg.ack),
                )
            } else {
                (r.seq, r.ack)
            };
            let mut what: Vec<String> = r.steps.clone();
            if r.seg.has(SYN) {
                let o = analysis::syn_options(&r.seg);
                if !o.is_empty() {
                    what.push(o);
                }
            }
            for x in &r.expert {
                what.push(format!("[{}] {}", x.name(), x.gloss()));
            }
            if let Some(cause) = &r.reset {
                let mut t = format!("why: {}", cause.text(from, to));
                if let Some(eff) = &r.reset_effect {
                    t.push_str(&format!("; then {eff}"));
                }
                what.push(t);
            }
            rows.push(vec![
                ms(first, r.seg.t),
                r.seg.flag_names(),
                who,
                seq.to_string(),
                ack.map_or("-".into(), |a| a.to_string()),
                r.seg.len.to_string(),
                r.window.to_string(),
                match &r.link {
                    Some(analysis::LinkMark::Lost(h)) if r.states.is_empty() => {
                        format!("LOST on {h}'s link")
                    }
                    Some(analysis::LinkMark::Lost(h)) => {
                        format!("LOST on {h}'s link; {}", states_text(&r.states, &an.names))
                    }
                    _ => states_text(&r.states, &an.names),
                },
                what.join("; "),
            ]);
            if r.seg.more > 0 {
                rows.push(vec![
                    String::new(),
                    "...".into(),
                    format!("{n0} <-> {n1}"),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    format!(
                        "{} more segments in a burst (a bulk transfer), counted, not shown one by one",
                        r.seg.more
                    ),
                ]);
            }
        }
        out.emit(Item::Timeline {
            title,
            head: vec![
                "time",
                "segment",
                "from -> to",
                "seq",
                "ack",
                "len",
                "win",
                "states after it",
                "what",
            ],
            rows,
        });
        if !absolute {
            let isn: Vec<String> = (0..2)
                .filter_map(|k| an.isn[k].map(|i| format!("{} {i}", an.names[k])))
                .collect();
            out.emit(Item::Note(format!(
                "seq and ack count from each side's first sequence number{}, as Wireshark shows them; `states {} absolute` shows them as sent",
                if isn.is_empty() {
                    String::new()
                } else {
                    format!(" (its ISN: {})", isn.join(", "))
                },
                an.names[0].split(' ').next().unwrap_or("SOCK"),
            )));
        }
    }

    /// A UDP socket's datagrams, and the ICMP errors that answered them.
    /// `asked`: this socket was named (`states u`): say so when nothing
    /// was captured; among all of them, such a socket is left out.
    fn udp_timeline(&self, local: SocketAddr, asked: bool, out: &mut dyn Sink) {
        let Some(cap) = &self.capture else { return };
        let mine = |a: SocketAddr| {
            a.port() == local.port() && wire::capture::same_host(a.ip(), local.ip())
        };
        let packets = cap.packets(&|p| match p {
            Packet::Udp(d) => mine(d.src) || mine(d.dst),
            Packet::Unreachable(u) => u.proto == 17 && mine(u.orig_src),
            Packet::Tcp(_) => false,
        });
        let me = self.udp_label(local);
        let title = if me == local.to_string() {
            format!("UDP {local}")
        } else {
            format!("UDP {me} {local}")
        };
        let Some(first) = packets.first().map(Packet::t) else {
            if asked {
                out.emit(Item::Note(format!("{title}: no datagrams captured")));
            }
            return;
        };
        let name = |a: SocketAddr| {
            if mine(a) {
                me.clone()
            } else {
                let l = self.udp_label(a);
                if l == a.to_string() {
                    l
                } else {
                    format!("{l} {a}")
                }
            }
        };
        let failures = self
            .calls
            .select(&|c| mine(c.local) && matches!(c.kind, CallKind::Failed { .. }));
        let mut rows = Vec::new();
        for p in &packets {
            match p {
                Packet::Udp(d) => {
                    rows.push(vec![
                        ms(first, d.t),
                        "UDP".into(),
                        format!("{} -> {}", name(d.src), name(d.dst)),
                        d.len.to_string(),
                        if d.len == 1 {
                            "a datagram of 1 byte".into()
                        } else {
                            format!("a datagram of {} bytes", d.len)
                        },
                    ]);
                    if d.more > 0 {
                        rows.push(vec![
                            String::new(),
                            "...".into(),
                            String::new(),
                            String::new(),
                            format!(
                                "{} more datagrams in a burst, counted, not shown one by one",
                                d.more
                            ),
                        ]);
                    }
                }
                Packet::Unreachable(u) => {
                    let mut what = format!(
                        "ICMP {}: nothing receives on {}, so the kernel there answers the datagram {} sent",
                        u.what(),
                        u.orig_dst,
                        me
                    );
                    if let Some(f) = failures.iter().find(|c| c.t >= u.t) {
                        what.push_str(&format!("; then {me}'s {}", f.text()));
                    } else {
                        what.push_str(
                            "; a connected UDP socket reports it on its next call (ConnectionRefusedError), an unconnected one never",
                        );
                    }
                    rows.push(vec![
                        ms(first, u.t),
                        if u.v6 { "ICMPv6" } else { "ICMP" }.into(),
                        format!("{} -> {}", u.from, me),
                        String::new(),
                        what,
                    ]);
                }
                Packet::Tcp(_) => {}
            }
        }
        out.emit(Item::Timeline {
            title,
            head: vec!["time", "packet", "from -> to", "len", "what"],
            rows,
        });
    }

    /// `states save FILE`: the captured packets of this shell's
    /// connections and UDP sockets, as pcap (or pcapng).
    fn states_save(&mut self, path: &Spanned<Expr>, out: &mut dyn Sink) -> Result<Ret, ExecError> {
        let name = self.text(path)?;
        if self.capture.is_none() && self.lab.lab.is_none() {
            let mut x =
                ExecError::usage("nothing was captured, so there is nothing to save").at(path.span);
            x.hint = Some(self.no_capture_why());
            return Err(x);
        }
        // This shell's connections and UDP sockets, as `states` shows them
        // (another program on `lo` may use one of their port numbers with
        // another peer: its packets are not this shell's).
        let views = self.views(None);
        let conns: std::collections::HashSet<(SocketAddr, SocketAddr)> = views
            .iter()
            .filter_map(|v| match v {
                View::Tcp(a, b) => Some((*a, *b)),
                View::Udp(_) => None,
            })
            .collect();
        let udp: Vec<SocketAddr> = views
            .iter()
            .filter_map(|v| match v {
                View::Udp(l) => Some(*l),
                View::Tcp(..) => None,
            })
            .collect();
        let mine = |a: SocketAddr| {
            udp.iter()
                .any(|l| l.port() == a.port() && wire::capture::same_host(l.ip(), a.ip()))
        };
        let ours = |p: &Packet| match p {
            Packet::Tcp(s) => conns.contains(&(s.src, s.dst)) || conns.contains(&(s.dst, s.src)),
            Packet::Udp(d) => mine(d.src) || mine(d.dst),
            Packet::Unreachable(u) => mine(u.orig_src),
        };
        // The capture on `lo`, and what the lab's switch saw.
        let mut packets: Vec<Packet> = self
            .capture
            .as_ref()
            .map(|c| c.packets(&ours))
            .unwrap_or_default();
        if let Some(lab) = self.lab_segments(&|_| true) {
            packets.extend(lab.into_iter().map(|(s, _)| Packet::Tcp(s)));
            packets.sort_by_key(Packet::t);
        }
        // Comments (pcapng): the steps and notes `states` shows.
        let mut comments: HashMap<(Nanos, SocketAddr), String> = HashMap::new();
        let ghosts = self.table.ghosts.clone();
        for v in views {
            if let View::Tcp(a, b) = v
                && let Some(an) = self.read_conn(a, b, &ghosts)
            {
                for r in &an.rows {
                    let mut c: Vec<String> = r.steps.clone();
                    c.extend(r.expert.iter().map(|x| x.name()));
                    if let Some(cause) = &r.reset {
                        c.push(cause.text(&an.names[r.from], &an.names[1 - r.from]));
                    }
                    if !c.is_empty() {
                        comments.insert((r.seg.t, r.seg.src), c.join("; "));
                    }
                }
            }
        }
        let records: Vec<wire::pcap::Record> = packets
            .iter()
            .map(|p| wire::pcap::Record {
                t: p.t(),
                frame: p.frame(),
                comment: match p {
                    Packet::Tcp(s) => comments.get(&(s.t, s.src)).cloned(),
                    _ => None,
                },
            })
            .collect();
        let file = std::path::PathBuf::from(&name);
        let format = wire::pcap::Format::of(&file);
        let bytes = match format {
            wire::pcap::Format::PcapNg => wire::pcap::pcapng(&records),
            _ => wire::pcap::pcap(&records),
        };
        let n = bytes.len() as u64;
        // The shell's file rules (crate::files): a new file, whole or not
        // at all; at the prompt a file is replaced only if you say so.
        match self.save_file(&name, &bytes, false) {
            Ok(_) => {
                out.emit(Item::Done(format!(
                    "wrote {} ({}, {}) to {}",
                    plural(records.len() as u64, "packet", "packets"),
                    if format == wire::pcap::Format::PcapNg {
                        "pcapng, with the steps as comments"
                    } else {
                        "pcap"
                    },
                    crate::value::human_size(n),
                    crate::value::escape_controls(&name)
                )));
                out.emit(Item::Note(format!(
                    "open it with Wireshark, or: tshark -r {} (the first {} bytes of each frame are kept; the large segments of a bulk transfer are not captured)",
                    crate::value::escape_controls(&name),
                    wire::capture::SNAP
                )));
                Ok(Ret::none())
            }
            Err(e) => Err(save_error(e, "states save", path)),
        }
    }

    /// Without a capture: the states each socket had after each command.
    fn sampled_states(
        &mut self,
        only: Option<SockHandle>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let label = only.and_then(|h| self.table.get(h)).map(|e| e.label());
        let rows: Vec<Vec<String>> = self
            .samples
            .iter()
            .filter(|s| label.as_ref().is_none_or(|l| *l == s.label))
            .map(|s| {
                vec![
                    format!(
                        "{:.3} s",
                        s.at.saturating_duration_since(self.started).as_secs_f64()
                    ),
                    s.label.clone(),
                    s.state.clone(),
                ]
            })
            .collect();
        out.emit(Item::Note(format!(
            "no capture of the segments: {}. States as sampled after each command:",
            self.no_capture_why()
        )));
        out.emit(Item::Timeline {
            title: "TCP states".into(),
            head: vec!["time", "socket", "state"],
            rows,
        });
        Ok(Ret::none())
    }
}

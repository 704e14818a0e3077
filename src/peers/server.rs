//! One stream peer's thread: a `poll()` event loop over its listening
//! socket, its clients and a wake-up socket, every socket non-blocking (the
//! UDP peers' loop is in `udp.rs`).
//!
//! Written so that no client can hold up another, or the shell:
//! - each pass reads at most one chunk from each ready client, so a
//!   flood from one is served in turn with the others;
//! - output waiting for a client is bounded: `echo` stops reading from a
//!   client whose echo is not being read (1 MiB waiting), so its sends
//!   block, as with any echo server; `chat` stops reading from everyone
//!   while 256 KiB wait for some client (so writers go at the pace of the
//!   slowest reader), and disconnects a client that takes nothing for a
//!   second while that much waits for it (or lets 1 MiB pile up); `http`
//!   reads a file only as the client takes it;
//! - a chat line or an HTTP request head longer than 64 KiB closes the
//!   connection (after a 431 for HTTP);
//! - at most [`MAX_CLIENTS`] clients at once; when all slots are taken, a
//!   new client is still served: the client that has been quiet longest
//!   (nothing read from it, nothing taken by it) is closed to make room, so
//!   idle connections or a slow-loris cannot lock everyone out; when the
//!   process runs out of descriptors accepting pauses for a second
//!   instead of spinning;
//! - an HTTP request head must be complete within a deadline of its
//!   connection (60 s: a learner typing into `nc` has time), then 408;
//!   a head over 64 KiB is 431 even when its end came in the same read;
//! - nothing from the outside world is unwrapped; every error closes the
//!   one connection it happened on, and is logged.
//!
//! The loop wakes at least every 50 ms, and at once when the shell writes
//! to the wake-up socket (to stop it, or to ask for a pass before `peers`
//! reads the counters).

use super::http::{self, Body};
use super::log::What;
use super::{Limits, Shared};
use crate::syntax::ast::PeerKind;
use socket2::Socket;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Clients connected at once, per peer.
pub const MAX_CLIENTS: usize = 64;
/// Output waiting for one client, at most (then echo pauses, chat disconnects).
pub const MAX_PENDING: usize = 1 << 20;
/// Chat reads nobody's lines while this much waits for some client...
pub const CHAT_HOLD: usize = 256 * 1024;
/// ... and disconnects a client that takes nothing of it for this long.
pub const CHAT_STALL: Duration = Duration::from_secs(1);
/// A chat line may be at most this long.
pub const MAX_LINE: usize = 64 * 1024;
/// One read takes at most this much.
const READ_CHUNK: usize = 64 * 1024;
/// A file is read into the output while less than this waits.
const FILE_AHEAD: usize = 128 * 1024;
/// The longest poll().
pub(super) const TICK_MS: libc::c_int = 50;
/// After its answer, a closing connection is drained this long at most.
const DRAIN: Duration = Duration::from_secs(2);
/// ... or this many bytes, whichever comes first.
const DRAIN_BYTES: usize = 256 * 1024;
/// Connections accepted per pass, at most.
const ACCEPTS_PER_PASS: usize = 32;
/// How long accepting pauses when the process has no descriptor left.
const ACCEPT_PAUSE: Duration = Duration::from_secs(1);

enum Phase {
    Open,
    /// Send what is pending, then close: after shutting the write side and
    /// draining when `drain` (so unread input does not turn the close into
    /// a reset that could destroy the answer), else at once.
    Closing {
        drain: bool,
        why: String,
    },
    /// The write side is shut; reading and dropping until EOF, `until`,
    /// or [`DRAIN_BYTES`] more bytes.
    Draining {
        until: Instant,
        left: usize,
        why: String,
    },
    /// To be removed at the end of the pass, for this reason.
    Dead(String),
}

struct Client {
    id: u64,
    sock: Socket,
    /// Output: `out[sent..]` is still to be sent.
    out: Vec<u8>,
    sent: usize,
    /// A chat line or an HTTP head being collected.
    inbuf: Vec<u8>,
    /// An HTTP file being sent, and how many bytes of it are left.
    file: Option<(File, u64)>,
    phase: Phase,
    /// Told the log that echo stopped reading from it.
    told_paused: bool,
    /// Since when output has waited for it without any being taken.
    waiting_since: Option<Instant>,
    /// When it connected.
    since: Instant,
    /// When it last did something: sent bytes, or took some.
    active: Instant,
}

impl Client {
    fn pending(&self) -> usize {
        self.out.len().saturating_sub(self.sent)
    }

    fn paused(&self, kind: PeerKind) -> bool {
        kind == PeerKind::Echo && self.pending() >= MAX_PENDING
    }

    /// Whether poll() should report input: not while echo is paused for
    /// it, nor while the chat is `held` (some client is behind).
    fn reading(&self, kind: PeerKind, held: bool) -> bool {
        match self.phase {
            Phase::Open => !self.paused(kind) && !held,
            Phase::Draining { .. } => true,
            Phase::Closing { .. } | Phase::Dead(_) => false,
        }
    }

    fn events(&self, kind: PeerKind, held: bool) -> libc::c_short {
        let read = match self.phase {
            Phase::Open => !self.paused(kind) && !held,
            Phase::Draining { .. } => true,
            Phase::Closing { .. } | Phase::Dead(_) => false,
        };
        let mut ev = 0;
        if read {
            ev |= libc::POLLIN;
        }
        if self.pending() > 0 {
            ev |= libc::POLLOUT;
        }
        ev
    }

    fn is_dead(&self) -> bool {
        matches!(self.phase, Phase::Dead(_))
    }

    fn kill(&mut self, why: impl Into<String>) {
        if !self.is_dead() {
            self.phase = Phase::Dead(why.into());
        }
    }
}

/// Why a connection failed, in words.
pub(super) fn describe(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ECONNRESET) => "reset by the client (ECONNRESET)".into(),
        Some(libc::EPIPE) => "the client is gone (EPIPE)".into(),
        Some(libc::ETIMEDOUT) => "timed out (ETIMEDOUT)".into(),
        _ => format!("error: {e}"),
    }
}

const EOF: &str = "the client closed (recv returned b'')";

struct Loop<'a> {
    kind: PeerKind,
    root: Option<PathBuf>,
    limits: Limits,
    shared: &'a Shared,
    clients: Vec<Client>,
    next_id: u64,
    accept_pause: Option<Instant>,
    buf: Vec<u8>,
    /// Chat: some client is behind, so nobody's input is read this pass.
    held: bool,
}

/// Runs a peer until the shell asks it to stop; returns how many client
/// connections were still open then (they are closed on return).
pub(super) fn run(
    listener: Socket,
    wake: UnixStream,
    kind: PeerKind,
    root: Option<PathBuf>,
    limits: Limits,
    shared: &Shared,
) -> usize {
    let mut lp = Loop {
        kind,
        root,
        limits,
        shared,
        clients: Vec::new(),
        next_id: 1,
        accept_pause: None,
        buf: vec![0u8; READ_CHUNK],
        held: false,
    };
    let mut fds: Vec<libc::pollfd> = Vec::new();
    // The last request for a pass that a pass answered.
    let mut answered = 0;
    loop {
        drain_wake(&wake);
        // Read before poll(): a pass answers the requests made before it.
        let pass = shared.sync_req.load(Ordering::SeqCst);
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let now = Instant::now();
        if lp.accept_pause.is_some_and(|t| now >= t) {
            lp.accept_pause = None;
        }
        fds.clear();
        fds.push(pollfd(wake.as_raw_fd(), libc::POLLIN));
        let listen_ev = if lp.accept_pause.is_none() {
            libc::POLLIN
        } else {
            0
        };
        fds.push(pollfd(listener.as_raw_fd(), listen_ev));
        lp.held = kind == PeerKind::Chat
            && lp
                .clients
                .iter()
                .any(|c| matches!(c.phase, Phase::Open) && c.pending() >= CHAT_HOLD);
        for c in &lp.clients {
            fds.push(pollfd(c.sock.as_raw_fd(), c.events(kind, lp.held)));
        }
        let polled = lp.clients.len();
        // A request that came while the last poll() slept (its wake-up was
        // drained above) is answered by a pass that does not wait.
        let timeout = if pass > answered { 0 } else { TICK_MS };
        // SAFETY: `fds` is a valid array of fds.len() pollfd structures.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                // Should not happen; do not spin if it does.
                std::thread::sleep(Duration::from_millis(u64::from(TICK_MS.unsigned_abs())));
            }
            continue;
        }
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        // Clients first, then new connections: what a client did before
        // another one connected is logged first.
        for k in 0..polled {
            let re = fds[2 + k].revents;
            if re == 0 {
                continue;
            }
            lp.ready(k, re);
        }
        lp.tick();
        lp.reap();
        if fds[1].revents & libc::POLLIN != 0 {
            lp.accept(&listener);
            lp.tick();
            lp.reap();
        }
        // A request is answered by a quiet pass: one that found nothing
        // to do on any socket, so that what was already delivered (data
        // and then a FIN, which take two reads) is all taken in.
        if fds[1..].iter().all(|f| f.revents == 0) {
            shared.done(pass);
            answered = pass;
        }
    }
    let open = lp.clients.len();
    for c in &lp.clients {
        shared.note(Some(c.id), What::Closed("the peer was stopped".into()));
    }
    open
}

pub(super) fn pollfd(fd: i32, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

pub(super) fn drain_wake(wake: &UnixStream) {
    let mut b = [0u8; 64];
    let mut r = wake;
    // Bounded: the shell writes at most a few bytes per request.
    for _ in 0..64 {
        match r.read(&mut b) {
            Ok(n) if n > 0 => continue,
            _ => break,
        }
    }
}

impl Loop<'_> {
    fn accept(&mut self, listener: &Socket) {
        for _ in 0..ACCEPTS_PER_PASS {
            let (sock, addr) = match listener.accept() {
                Ok((s, a)) => (Socket::from(super::move_high(s.into())), a),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
                    ) =>
                {
                    self.shared.note(
                        None,
                        What::Note(format!("cannot accept ({e}); trying again in 1 s")),
                    );
                    self.accept_pause = Some(Instant::now() + ACCEPT_PAUSE);
                    return;
                }
                // ECONNABORTED and the like: that one connection is gone.
                Err(_) => continue,
            };
            let from = if addr.as_socket().is_some() || addr.as_pathname().is_some() {
                crate::value::addr_short(&addr)
            } else {
                "a UNIX socket without a name".into()
            };
            if sock.set_nonblocking(true).is_err() {
                continue;
            }
            // Each write of the peer leaves at once, as its own segment.
            let _ = sock.set_tcp_nodelay(true);
            if self.clients.iter().filter(|c| !c.is_dead()).count() >= MAX_CLIENTS {
                self.make_room();
            }
            let id = self.next_id;
            self.next_id += 1;
            self.shared.served.fetch_add(1, Ordering::SeqCst);
            self.shared.clients_now.fetch_add(1, Ordering::SeqCst);
            self.shared.note(Some(id), What::Connected(from));
            self.clients.push(Client {
                id,
                sock,
                out: Vec::new(),
                sent: 0,
                inbuf: Vec::new(),
                file: None,
                phase: Phase::Open,
                told_paused: false,
                waiting_since: None,
                since: Instant::now(),
                active: Instant::now(),
            });
            self.greet(self.clients.len() - 1);
        }
    }

    /// Every slot is taken and a client is coming: the client quiet the
    /// longest goes (one already closing first: it is done anyway), so a
    /// new client is always served. Idle connections and a slow-loris
    /// cannot lock the others out; the log says who made room.
    fn make_room(&mut self) {
        let now = Instant::now();
        let victim = self
            .clients
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.is_dead())
            .min_by_key(|(_, c)| (matches!(c.phase, Phase::Open), c.active))
            .map(|(k, _)| k);
        let Some(k) = victim else { return };
        let c = &mut self.clients[k];
        let quiet = now.duration_since(c.active);
        let why = format!(
            "closed to make room: {MAX_CLIENTS} clients were connected, and this one had been quiet longest ({})",
            crate::wait::human(quiet)
        );
        c.kill(why);
    }

    /// What a new client gets at once.
    fn greet(&mut self, k: usize) {
        match self.kind {
            PeerKind::Daytime => {
                let t = daytime();
                self.queue(k, t.as_bytes());
                self.clients[k].phase = Phase::Closing {
                    drain: true,
                    why: "sent the date and time, then closed (RFC 867)".into(),
                };
                self.flush(k);
            }
            PeerKind::Chat => {
                let id = self.clients[k].id;
                let here: Vec<String> = self
                    .clients
                    .iter()
                    .filter(|c| c.id != id && matches!(c.phase, Phase::Open))
                    .map(|c| format!("<user{}>", c.id))
                    .collect();
                let others = if here.is_empty() {
                    "nobody".to_string()
                } else {
                    here.join(", ")
                };
                let hello =
                    format!("<announce> you are <user{id}>; already connected: {others}.\n");
                self.queue(k, hello.as_bytes());
                self.flush(k);
                self.shared
                    .note(Some(id), What::Note(format!("is <user{id}> in the chat")));
                let msg = format!("<announce> <user{id}> is connected.\n");
                self.broadcast(Some(k), msg.as_bytes());
            }
            PeerKind::Echo | PeerKind::Discard | PeerKind::Http => {}
        }
    }

    fn queue(&mut self, k: usize, bytes: &[u8]) {
        let c = &mut self.clients[k];
        if c.pending() == 0 {
            c.waiting_since = Some(Instant::now());
        }
        c.out.extend_from_slice(bytes);
    }

    /// Chat: `msg` to every open client but `from`. A client that lets
    /// more than [`MAX_PENDING`] bytes pile up is disconnected.
    fn broadcast(&mut self, from: Option<usize>, msg: &[u8]) {
        for j in 0..self.clients.len() {
            if Some(j) == from || !matches!(self.clients[j].phase, Phase::Open) {
                continue;
            }
            self.queue(j, msg);
            if self.clients[j].pending() > MAX_PENDING {
                let id = self.clients[j].id;
                self.shared.note(
                    Some(id),
                    What::Note("does not read: more than 1 MiB of chat waits for it".into()),
                );
                self.clients[j].kill("disconnected: it did not read what the others wrote");
                continue;
            }
            self.flush(j);
        }
    }

    /// poll() said something about client `k`.
    fn ready(&mut self, k: usize, re: libc::c_short) {
        if re & libc::POLLNVAL != 0 {
            self.clients[k].kill("the socket was invalid (POLLNVAL)");
            return;
        }
        let reading = self.clients[k].reading(self.kind, self.held);
        if re & libc::POLLIN != 0 || (reading && re & (libc::POLLHUP | libc::POLLERR) != 0) {
            self.read(k);
        }
        if re & libc::POLLOUT != 0 {
            self.flush(k);
        }
        // An error or hangup on a client we are not reading from: the send
        // finds it, or else nothing will.
        if !reading && re & (libc::POLLHUP | libc::POLLERR) != 0 && !self.clients[k].is_dead() {
            let why = match self.clients[k].sock.take_error() {
                Ok(Some(e)) => describe(&e),
                _ => "the connection was closed by the client".into(),
            };
            self.clients[k].kill(why);
        }
    }

    fn read(&mut self, k: usize) {
        let n = match self.clients[k].sock.recv(as_uninit(&mut self.buf)) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                return;
            }
            Err(e) => {
                self.clients[k].kill(describe(&e));
                return;
            }
        };
        if n == 0 {
            self.eof(k);
            return;
        }
        let n = n.min(self.buf.len());
        let id = self.clients[k].id;
        self.clients[k].active = Instant::now();
        self.shared.bytes_in.fetch_add(n as u64, Ordering::SeqCst);
        self.shared.data(id, &self.buf[..n]);
        if let Phase::Draining { left, why, .. } = &mut self.clients[k].phase {
            // Dropped: the answer is out.
            *left = left.saturating_sub(n);
            if *left == 0 {
                let why = format!("{why}; it went on sending, so it was cut off");
                self.clients[k].kill(why);
            }
            return;
        }
        match self.kind {
            PeerKind::Echo => {
                let data = self.buf[..n].to_vec();
                self.queue(k, &data);
                self.flush(k);
                let c = &mut self.clients[k];
                if c.paused(PeerKind::Echo) && !c.told_paused {
                    c.told_paused = true;
                    self.shared.note(
                        Some(id),
                        What::Note(
                            "1 MiB of echo waits for it to read: not reading from it until it does (its sends will block)"
                                .into(),
                        ),
                    );
                }
            }
            PeerKind::Discard | PeerKind::Daytime => {}
            PeerKind::Chat => {
                let data = self.buf[..n].to_vec();
                self.clients[k].inbuf.extend_from_slice(&data);
                self.chat_lines(k);
            }
            PeerKind::Http => {
                let data = self.buf[..n].to_vec();
                let c = &mut self.clients[k];
                c.inbuf.extend_from_slice(&data);
                // The size first: a head over the limit is 431 even when
                // its end came in the same read.
                match http::head_end(&c.inbuf) {
                    Some(end) if end <= http::MAX_HEAD => {
                        let head = std::mem::take(&mut c.inbuf);
                        let resp =
                            http::respond(&head[..end.min(head.len())], self.root.as_deref());
                        self.answer(k, resp);
                    }
                    Some(_) => {
                        c.inbuf = Vec::new();
                        self.answer(k, http::too_large());
                    }
                    None if c.inbuf.len() > http::MAX_HEAD => {
                        c.inbuf = Vec::new();
                        self.answer(k, http::too_large());
                    }
                    None => {}
                }
            }
        }
    }

    /// Chat: relay every complete line of client `k`.
    fn chat_lines(&mut self, k: usize) {
        loop {
            let c = &mut self.clients[k];
            let Some(p) = c.inbuf.iter().position(|&b| b == b'\n') else {
                break;
            };
            let line: Vec<u8> = c.inbuf.drain(..=p).collect();
            let mut msg = format!("<user{}> ", c.id).into_bytes();
            msg.extend_from_slice(&defang(&line));
            self.broadcast(Some(k), &msg);
        }
        let c = &mut self.clients[k];
        if c.inbuf.len() > MAX_LINE {
            let id = c.id;
            c.inbuf = Vec::new();
            c.kill("disconnected: a line longer than 64 KiB");
            self.shared.note(
                Some(id),
                What::Note("sent more than 64 KiB without a newline".into()),
            );
        }
    }

    /// HTTP: send `resp`, then close.
    fn answer(&mut self, k: usize, resp: http::Response) {
        let id = self.clients[k].id;
        self.shared.note(Some(id), What::Note(resp.note));
        let c = &mut self.clients[k];
        c.out.extend_from_slice(&resp.head);
        match resp.body {
            Body::Empty => {}
            Body::Bytes(b) => c.out.extend_from_slice(&b),
            Body::File { file, left } => c.file = Some((file, left)),
        }
        c.phase = Phase::Closing {
            drain: true,
            why: "answered, then closed (Connection: close)".into(),
        };
        self.flush(k);
    }

    fn eof(&mut self, k: usize) {
        let kind = self.kind;
        let c = &mut self.clients[k];
        if let Phase::Draining { why, .. } = &c.phase {
            let why = why.clone();
            c.kill(why);
            return;
        }
        match kind {
            PeerKind::Echo => {
                c.phase = Phase::Closing {
                    drain: false,
                    why: EOF.into(),
                };
                self.flush(k);
            }
            PeerKind::Chat => {
                let rest = std::mem::take(&mut c.inbuf);
                let id = c.id;
                c.kill(EOF);
                if !rest.is_empty() {
                    let mut msg = format!("<user{id}> ").into_bytes();
                    msg.extend_from_slice(&defang(&rest));
                    msg.push(b'\n');
                    self.broadcast(Some(k), &msg);
                }
            }
            PeerKind::Http if !c.inbuf.is_empty() => {
                c.kill("the client closed before the end of its request head");
            }
            PeerKind::Http => c.kill("the client closed without a request"),
            PeerKind::Discard | PeerKind::Daytime => c.kill(EOF),
        }
    }

    /// Sends what waits for client `k`, reading more of its file as the
    /// client takes it.
    fn flush(&mut self, k: usize) {
        let shared = self.shared;
        let c = &mut self.clients[k];
        // Bounded: each turn sends bytes or stops.
        for _ in 0..64 {
            if c.is_dead() {
                return;
            }
            refill(c);
            if c.pending() == 0 {
                break;
            }
            match c.sock.send_with_flags(&c.out[c.sent..], libc::MSG_NOSIGNAL) {
                Ok(0) => break,
                Ok(n) => {
                    c.sent += n;
                    c.waiting_since = Some(Instant::now());
                    c.active = Instant::now();
                    shared.bytes_out.fetch_add(n as u64, Ordering::SeqCst);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    c.kill(describe(&e));
                    return;
                }
            }
        }
        if c.sent == c.out.len() {
            c.out.clear();
            c.sent = 0;
            c.waiting_since = None;
        } else if c.sent > 0 && c.sent >= c.out.len() / 2 {
            c.out.drain(..c.sent);
            c.sent = 0;
        }
    }

    /// Timers and the ends of connections: a closing client whose output
    /// is all sent shuts its write side (or closes); a drain ends.
    fn tick(&mut self) {
        let now = Instant::now();
        if self.kind == PeerKind::Http {
            // Heads that did not end in time: 408, then close.
            let late: Vec<usize> = (0..self.clients.len())
                .filter(|&k| {
                    let c = &self.clients[k];
                    matches!(c.phase, Phase::Open)
                        && now.duration_since(c.since) >= self.limits.head_deadline
                })
                .collect();
            for k in late {
                self.clients[k].inbuf = Vec::new();
                let resp = http::timed_out(self.limits.head_deadline);
                self.answer(k, resp);
            }
        }
        let chat = self.kind == PeerKind::Chat;
        for c in &mut self.clients {
            if chat
                && matches!(c.phase, Phase::Open)
                && c.pending() >= CHAT_HOLD
                && c.waiting_since
                    .is_some_and(|t| now.duration_since(t) >= CHAT_STALL)
            {
                self.shared.note(
                    Some(c.id),
                    What::Note(format!(
                        "took nothing for 1 s while {} KiB of chat waited for it",
                        c.pending() / 1024
                    )),
                );
                c.kill("disconnected: it did not read what the others wrote");
                continue;
            }
            match &c.phase {
                Phase::Closing { drain, why } if c.pending() == 0 && c.file.is_none() => {
                    let why = why.clone();
                    if *drain {
                        match c.sock.shutdown(std::net::Shutdown::Write) {
                            Ok(()) => {
                                c.phase = Phase::Draining {
                                    until: now + DRAIN,
                                    left: DRAIN_BYTES,
                                    why,
                                }
                            }
                            Err(_) => c.kill(why),
                        }
                    } else {
                        c.kill(why);
                    }
                }
                Phase::Draining { until, why, .. } if now >= *until => {
                    let why = format!("{why}; it had not closed its side after 2 s");
                    c.kill(why);
                }
                _ => {}
            }
        }
    }

    /// Removes the dead clients (closing them), and tells the chat.
    fn reap(&mut self) {
        // A goodbye can make another client dead (it does not read): go
        // round again, a bounded number of times.
        for _ in 0..4 {
            let mut gone = Vec::new();
            let shared = self.shared;
            self.clients.retain(|c| {
                let Phase::Dead(why) = &c.phase else {
                    return true;
                };
                shared.note(Some(c.id), What::Closed(why.clone()));
                shared.clients_now.fetch_sub(1, Ordering::SeqCst);
                gone.push(c.id);
                false
            });
            if gone.is_empty() || self.kind != PeerKind::Chat {
                return;
            }
            for id in gone {
                let msg = format!("<announce> <user{id}> is disconnected.\n");
                self.broadcast(None, msg.as_bytes());
            }
        }
    }
}

/// A chat line made safe for the other clients' terminals, as `ncat
/// --chat` does: control characters (but tab and the line's end), DEL,
/// C1 controls, bidi overrides and bytes that are not UTF-8 become `\x1b`
/// style escapes. UTF-8 text passes (ncat escapes it too, which would
/// mangle Chinese).
fn defang(line: &[u8]) -> Vec<u8> {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(line.len());
    for chunk in line.utf8_chunks() {
        let mut chars = chunk.valid().chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\n' | '\t' => out.push(c),
                '\r' if chars.peek() == Some(&'\n') => out.push(c),
                '\r' => out.push_str("\\r"),
                c if crate::value::is_unsafe_char(c) => {
                    let n = c as u32;
                    let _ = if n < 0x100 {
                        write!(out, "\\x{n:02x}")
                    } else {
                        write!(out, "\\u{n:04x}")
                    };
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.into_bytes()
}

/// HTTP: more of the file into the output, while little is waiting.
fn refill(c: &mut Client) {
    let Some((file, left)) = &mut c.file else {
        return;
    };
    while *left > 0 && c.out.len() - c.sent < FILE_AHEAD {
        let want = usize::try_from(*left).unwrap_or(READ_CHUNK).min(READ_CHUNK);
        let start = c.out.len();
        c.out.resize(start + want, 0);
        match file.read(&mut c.out[start..]) {
            Ok(n) if n > 0 => {
                c.out.truncate(start + n);
                *left -= n as u64;
            }
            Ok(_) | Err(_) => {
                // The file got shorter (or unreadable) after Content-Length
                // was sent: the client will see a short body and the close.
                c.out.truncate(start);
                c.file = None;
                c.phase = Phase::Closing {
                    drain: false,
                    why: "closed early: the file got shorter while it was sent".into(),
                };
                return;
            }
        }
    }
    if *left == 0 {
        c.file = None;
    }
}

pub(super) fn as_uninit(buf: &mut [u8]) -> &mut [std::mem::MaybeUninit<u8>] {
    // SAFETY: u8 and MaybeUninit<u8> have the same layout, and an
    // initialised buffer stays initialised whatever recv writes into it.
    unsafe { &mut *(buf as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]) }
}

/// The date and time as the daytime service of inetd sends it (ctime's
/// format, local time): `Tue Mar  4 12:00:00 2025\r\n`.
pub fn daytime() -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // SAFETY: time(NULL) only returns the time; localtime_r fills the tm
    // we own (all-zero is a valid tm) and returns NULL on failure.
    let tm = unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() && libc::gmtime_r(&t, &mut tm).is_null() {
            return "Thu Jan  1 00:00:00 1970\r\n".into();
        }
        tm
    };
    let day = usize::try_from(tm.tm_wday)
        .ok()
        .and_then(|k| DAYS.get(k))
        .unwrap_or(&"???");
    let month = usize::try_from(tm.tm_mon)
        .ok()
        .and_then(|k| MONTHS.get(k))
        .unwrap_or(&"???");
    format!(
        "{day} {month} {:>2} {:02}:{:02}:{:02} {}\r\n",
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        i64::from(tm.tm_year) + 1900
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn chat_lines_are_defanged_but_text_passes() {
        assert_eq!(
            super::defang(
                b"plain \x1b[31mred\x07 tab\there \xe4\xbd\xa0\xe5\xa5\xbd \x7f\xc2\x9b\xff cr\r\n"
            ),
            b"plain \\x1b[31mred\\x07 tab\there \xe4\xbd\xa0\xe5\xa5\xbd \\x7f\\x9b\\xff cr\r\n"
                .to_vec()
        );
        assert_eq!(super::defang(b"a\rb\n"), b"a\\rb\n".to_vec());
        assert_eq!(
            super::defang("\u{202e}evil\n".as_bytes()),
            b"\\u202eevil\n".to_vec()
        );
    }

    #[test]
    fn daytime_is_ctime_format() {
        let t = super::daytime();
        assert_eq!(t.len(), 26, "{t:?}");
        assert!(t.ends_with("\r\n"));
        let b = t.as_bytes();
        assert_eq!(
            (b[3], b[7], b[10], b[13], b[16], b[19]),
            (b' ', b' ', b' ', b':', b':', b' ')
        );
    }
}

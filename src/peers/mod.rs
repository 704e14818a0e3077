//! Built-in peers: small servers that run in the background of the shell,
//! so one terminal is enough to play the client side (`a = serve echo`,
//! then `k = socket tcp`, `connect k a`).
//!
//! Each peer is one thread running a `poll()` loop over non-blocking
//! sockets ([`server`] for stream peers, [`udp`] for datagram ones); the shell talks to it through shared counters,
//! a bounded log ([`log`]) and a wake-up socket. Nothing here prints: the
//! executor turns what [`Peers`] returns into items.
//!
//! The kinds: `echo` sends back what it receives, `discard` drops it
//! (RFC 863), `daytime` sends the time and closes (RFC 867), `chat` relays
//! lines between its clients like `ncat --chat`, `http` serves files
//! ([`http`]).

mod http;
mod log;
mod server;
mod udp;

pub use self::http::{INDEX_PAGE, MAX_HEAD};
pub use self::log::{CHUNK_KEEP, LOG_BUDGET, LogEntry, MAX_EVENTS, What};
pub use self::server::{MAX_CLIENTS, MAX_LINE, MAX_PENDING, daytime};

use crate::syntax::ast::PeerKind;
use socket2::{Domain, SockAddr, Socket, Type};
use std::io::{self, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

// A peer's descriptors are moved out of the learner's way (see
// table::move_high), so the learner's first socket is still fd 3.
pub(crate) use crate::table::move_high;

/// Peers running at once, at most.
pub const MAX_PEERS: usize = 32;
/// Stopped peers kept for `peers` and `peers log`, at most (the oldest go).
pub const MAX_STOPPED: usize = 32;
/// How long `stop` waits for a peer's thread to end.
const STOP_WAIT: Duration = Duration::from_secs(1);
/// How long the shell waits for a peer to finish a pass before it reads
/// the counters (normally well under a millisecond).
const SYNC_WAIT: Duration = Duration::from_millis(250);

/// What the shell and a peer's thread share.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) stop: AtomicBool,
    finished: AtomicBool,
    pub(crate) clients_now: AtomicU64,
    pub(crate) served: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) log: Mutex<log::Log>,
    /// Passes asked for by the shell, and the last one answered.
    pub(crate) sync_req: AtomicU64,
    sync_done: Mutex<u64>,
    sync_cv: Condvar,
    /// Why the thread ended on its own, if it did.
    failure: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere leaves the data usable: counters and a log.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn note(&self, client: Option<u64>, what: What) {
        lock(&self.log).push(client, what);
    }

    /// A chunk read from client `client`.
    pub(crate) fn data(&self, client: u64, chunk: &[u8]) {
        lock(&self.log).data(client, chunk);
    }

    /// The pass that started after request `pass` is over.
    pub(crate) fn done(&self, pass: u64) {
        let mut d = lock(&self.sync_done);
        if *d < pass {
            *d = pass;
        }
        self.sync_cv.notify_all();
    }

    fn finish(&self, failure: Option<String>) {
        *lock(&self.failure) = failure;
        self.finished.store(true, Ordering::SeqCst);
        let _d = lock(&self.sync_done);
        self.sync_cv.notify_all();
    }
}

/// One row of `peers`.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerRow {
    pub n: u32,
    pub kind: PeerKind,
    /// A UDP peer: datagrams, senders instead of connections.
    pub udp: bool,
    /// The kind as shown: `echo`, `echo/udp`, or `echo/dgram` for a UNIX
    /// datagram peer.
    pub label: String,
    /// Where it listens (`127.0.0.1:40123`, `./echo.sock`).
    pub addr: String,
    /// `running`, `stopped`, or why it ended.
    pub state: String,
    /// Clients connected now.
    pub clients: u64,
    /// Connections accepted since it started.
    pub served: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// What an http peer serves: the directory as given, or None for the
    /// built-in page.
    pub dir: Option<String>,
}

/// `peers log N`.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerLog {
    pub row: PeerRow,
    pub entries: Vec<LogEntry>,
    /// Older chunks (and their bytes) and events no longer kept.
    pub dropped_chunks: u64,
    pub dropped_bytes: u64,
    pub dropped_events: u64,
}

/// What `stop` did.
#[derive(Clone, Debug, PartialEq)]
pub struct StopReport {
    pub row: PeerRow,
    /// Client connections it closed.
    pub closed: usize,
    /// The UNIX socket file it removed.
    pub removed: Option<PathBuf>,
    /// False when the thread did not end in time (it ends on its own).
    pub joined: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StopError {
    NoSuchPeer,
    AlreadyStopped,
}

struct Peer {
    n: u32,
    kind: PeerKind,
    udp: bool,
    addr: SockAddr,
    dir: Option<String>,
    shared: Arc<Shared>,
    /// Gone once the peer stops: a socket belongs for good to the network
    /// namespace it was made in, and a peer started on a lab host (`on b
    /// serve ...`) would keep that host's namespace alive after `lab down`.
    wake: Option<UnixStream>,
    thread: Option<JoinHandle<usize>>,
    /// The socket file to remove when it stops.
    unix_path: Option<PathBuf>,
    /// The clean-up of that file if the shell ends by a signal.
    exit_hook: Option<crate::exit::HookId>,
    stopped: bool,
}

impl Peer {
    fn running(&self) -> bool {
        !self.stopped && !self.shared.finished.load(Ordering::SeqCst)
    }

    fn wake(&self) {
        // Non-blocking: a full wake-up socket already has a wake-up in it.
        if let Some(w) = &self.wake {
            let _ = (&*w).write(&[1]);
        }
    }

    /// Waits (briefly) until the thread has made a quiet pass (nothing to
    /// do on any socket) that started after this call, so counters and log
    /// include what the kernel already delivered: a `peers` right after
    /// `close k` shows the close. Under a flood there is no quiet pass:
    /// then it gives up after [`SYNC_WAIT`].
    fn sync(&self) {
        if !self.running() {
            return;
        }
        let want = self.shared.sync_req.fetch_add(1, Ordering::SeqCst) + 1;
        self.wake();
        let end = Instant::now() + SYNC_WAIT;
        let mut done = lock(&self.shared.sync_done);
        while *done < want && !self.shared.finished.load(Ordering::SeqCst) {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            done = match self.shared.sync_cv.wait_timeout(done, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    fn row(&self) -> PeerRow {
        let s = &self.shared;
        let state = if self.stopped {
            "stopped".to_string()
        } else if s.finished.load(Ordering::SeqCst) {
            lock(&s.failure).clone().unwrap_or_else(|| "ended".into())
        } else {
            "running".to_string()
        };
        PeerRow {
            n: self.n,
            kind: self.kind,
            udp: self.udp,
            label: match (self.udp, self.addr.domain() == Domain::UNIX) {
                (false, _) => self.kind.name().to_string(),
                (true, false) => format!("{}/udp", self.kind.name()),
                (true, true) => format!("{}/dgram", self.kind.name()),
            },
            addr: crate::value::addr_short(&self.addr),
            state,
            clients: s.clients_now.load(Ordering::SeqCst),
            served: s.served.load(Ordering::SeqCst),
            bytes_in: s.bytes_in.load(Ordering::SeqCst),
            bytes_out: s.bytes_out.load(Ordering::SeqCst),
            dir: self.dir.clone(),
        }
    }

    /// Asks the thread to stop and waits for it, at most [`STOP_WAIT`].
    fn stop(&mut self) -> StopReport {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.wake();
        let end = Instant::now() + STOP_WAIT;
        let mut closed = 0;
        let mut joined = false;
        if let Some(t) = self.thread.take() {
            while !t.is_finished() && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(2));
            }
            if t.is_finished() {
                closed = t.join().unwrap_or(0);
                joined = true;
            }
            // else: dropping the handle detaches the thread; it sees the
            // flag within 50 ms and ends on its own.
        }
        self.wake = None;
        self.stopped = true;
        let mut removed = None;
        if let Some(p) = self.unix_path.take()
            && std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_socket())
            && std::fs::remove_file(&p).is_ok()
        {
            removed = Some(p);
        }
        if let Some(h) = self.exit_hook.take() {
            crate::exit::unregister(h);
        }
        if joined {
            self.shared.clients_now.store(0, Ordering::SeqCst);
        }
        let row = self.row();
        self.shared.note(
            None,
            What::Note(format!(
                "stopped: closed the listening socket and {closed} client connection{}",
                if closed == 1 { "" } else { "s" }
            )),
        );
        StopReport {
            row,
            closed,
            removed,
            joined,
        }
    }
}

/// Limits that protect a peer from its clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// An HTTP request head must be complete this long after its
    /// connection (then 408 and close): a client that sends one byte a
    /// second cannot keep its slot for ever. Long enough for a learner
    /// typing a request by hand in `nc`.
    pub head_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            head_deadline: Duration::from_secs(60),
        }
    }
}

/// Registers the removal of a peer's socket file for a shell ended by a
/// signal: only if the file there is still the socket the peer bound.
fn remove_at_exit(path: PathBuf) -> crate::exit::HookId {
    use std::os::unix::fs::MetadataExt;
    let id = std::fs::symlink_metadata(&path)
        .ok()
        .map(|m| (m.dev(), m.ino()));
    let what = format!("remove the socket file {}", crate::files::shown(&path));
    crate::exit::register(&what, move || {
        if let Ok(m) = std::fs::symlink_metadata(&path)
            && m.file_type().is_socket()
            && Some((m.dev(), m.ino())) == id
        {
            let _ = std::fs::remove_file(&path);
        }
    })
}

/// The addresses the running peers listen on, by peer number: a UDP
/// peer never answers a datagram that comes (or seems to come) from one of
/// them, or two echo peers could answer each other for ever.
pub(crate) type Siblings = Arc<Mutex<Vec<(u32, SockAddr)>>>;

/// The shell's peers, numbered from 1 (numbers are not reused).
#[derive(Default)]
pub struct Peers {
    list: Vec<Peer>,
    next: u32,
    /// The limits new peers start with.
    pub limits: Limits,
    siblings: Siblings,
}

/// A peer that started: its number and the address it listens on.
#[derive(Clone, Debug)]
pub struct Started {
    pub n: u32,
    pub addr: SockAddr,
}

impl Peers {
    /// Starts a peer of `kind` listening on `addr` (an http peer serves
    /// `dir`, or its built-in page); `udp`: on a datagram socket (echo,
    /// discard and daytime only). Errors are the kernel's (bind) or the
    /// directory's.
    pub fn start(
        &mut self,
        kind: PeerKind,
        udp: bool,
        addr: &SockAddr,
        dir: Option<&Path>,
    ) -> io::Result<Started> {
        if udp && matches!(kind, PeerKind::Chat | PeerKind::Http) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a {} peer speaks TCP: only echo, discard and daytime serve UDP",
                    kind.name()
                ),
            ));
        }
        if self.running() >= MAX_PEERS {
            return Err(io::Error::other(format!(
                "{MAX_PEERS} peers are running already: stop one first"
            )));
        }
        let root = match dir {
            Some(d) => Some(http::root_of(d)?),
            None => None,
        };
        let ty = if udp { Type::DGRAM } else { Type::STREAM };
        let sock = Socket::from(move_high(Socket::new(addr.domain(), ty, None)?.into()));
        if addr.domain() != Domain::UNIX {
            // A peer stopped and started again on the same port must not
            // wait for its old connections' TIME_WAIT.
            sock.set_reuse_address(true)?;
        }
        sock.bind(addr)?;
        let local = sock.local_addr().unwrap_or_else(|_| addr.clone());
        let unix_path = local.as_pathname().map(Path::to_path_buf);
        let exit_hook = unix_path.as_ref().map(|p| remove_at_exit(p.clone()));
        let cleanup = |e: io::Error| {
            if let Some(p) = &unix_path {
                let _ = std::fs::remove_file(p);
            }
            if let Some(h) = exit_hook {
                crate::exit::unregister(h);
            }
            e
        };
        if !udp {
            sock.listen(128).map_err(cleanup)?;
        }
        sock.set_nonblocking(true).map_err(cleanup)?;
        let (wake_tx, wake_rx) = UnixStream::pair().map_err(cleanup)?;
        let wake_tx = UnixStream::from(move_high(wake_tx.into()));
        let wake_rx = UnixStream::from(move_high(wake_rx.into()));
        wake_tx.set_nonblocking(true).map_err(cleanup)?;
        wake_rx.set_nonblocking(true).map_err(cleanup)?;
        // Forget the oldest stopped peers (their logs) beyond the bound.
        while self.list.iter().filter(|p| p.stopped).count() >= MAX_STOPPED {
            let Some(k) = self.list.iter().position(|p| p.stopped) else {
                break;
            };
            self.list.remove(k);
        }
        self.next += 1;
        let n = self.next;
        let shared = Arc::new(Shared::default());
        let thread_shared = Arc::clone(&shared);
        let limits = self.limits;
        let siblings = Arc::clone(&self.siblings);
        let thread = std::thread::Builder::new()
            .name(format!("peer-{n}-{}", kind.name()))
            .spawn(move || {
                let s = &*thread_shared;
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    if udp {
                        udp::run_udp(&sock, &wake_rx, kind, &siblings, s)
                    } else {
                        server::run(sock, wake_rx, kind, root, limits, s)
                    }
                }));
                match r {
                    Ok(open) => {
                        s.finish(None);
                        open
                    }
                    Err(_) => {
                        s.finish(Some("failed (a bug in sockplay)".into()));
                        0
                    }
                }
            })
            .map_err(cleanup)?;
        lock(&self.siblings).push((n, local.clone()));
        self.list.push(Peer {
            n,
            kind,
            udp,
            addr: local.clone(),
            dir: dir.map(|d| d.display().to_string()),
            shared,
            wake: Some(wake_tx),
            thread: Some(thread),
            unix_path,
            exit_hook,
            stopped: false,
        });
        Ok(Started { n, addr: local })
    }

    /// The address peer `n` listens on (no sync: it never changes).
    pub fn addr(&self, n: u32) -> Option<SockAddr> {
        self.list.iter().find(|p| p.n == n).map(|p| p.addr.clone())
    }

    /// Every peer (running and stopped), each up to date.
    pub fn rows(&self) -> Vec<PeerRow> {
        for p in &self.list {
            p.sync();
        }
        self.list.iter().map(Peer::row).collect()
    }

    /// One peer's row, up to date.
    pub fn row(&self, n: u32) -> Option<PeerRow> {
        let p = self.list.iter().find(|p| p.n == n)?;
        p.sync();
        Some(p.row())
    }

    /// What peer `n` received.
    pub fn log(&self, n: u32) -> Option<PeerLog> {
        let p = self.list.iter().find(|p| p.n == n)?;
        p.sync();
        let log = lock(&p.shared.log);
        Some(PeerLog {
            row: p.row(),
            entries: log.entries(),
            dropped_chunks: log.dropped_chunks,
            dropped_bytes: log.dropped_bytes,
            dropped_events: log.dropped_events,
        })
    }

    /// Stops peer `n`: closes its listening socket and its clients.
    pub fn stop(&mut self, n: u32) -> Result<StopReport, StopError> {
        let p = self
            .list
            .iter_mut()
            .find(|p| p.n == n)
            .ok_or(StopError::NoSuchPeer)?;
        if p.stopped {
            return Err(StopError::AlreadyStopped);
        }
        p.sync();
        lock(&self.siblings).retain(|(k, _)| *k != n);
        Ok(p.stop())
    }

    /// Stops every running peer (quit, Ctrl-D, the end of a script);
    /// returns how many there were.
    pub fn stop_all(&mut self) -> usize {
        let mut n = 0;
        for p in self.list.iter_mut().filter(|p| !p.stopped) {
            p.shared.stop.store(true, Ordering::SeqCst);
            p.wake();
        }
        for p in self.list.iter_mut().filter(|p| !p.stopped) {
            p.stop();
            n += 1;
        }
        lock(&self.siblings).clear();
        n
    }

    /// Peers not stopped (a peer that failed counts until stopped).
    pub fn running(&self) -> usize {
        self.list.iter().filter(|p| !p.stopped).count()
    }

    /// Numbers of the peers not stopped.
    pub fn numbers(&self) -> Vec<u32> {
        self.list
            .iter()
            .filter(|p| !p.stopped)
            .map(|p| p.n)
            .collect()
    }

    /// Numbers of every peer, stopped ones too.
    pub fn all_numbers(&self) -> Vec<u32> {
        self.list.iter().map(|p| p.n).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }
}

impl Drop for Peers {
    fn drop(&mut self) {
        self.stop_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddr};

    fn loopback() -> SockAddr {
        SockAddr::from(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0))
    }

    #[test]
    fn peers_are_bounded_and_numbers_not_reused() {
        let mut peers = Peers::default();
        let mut last = 0;
        for _ in 0..MAX_STOPPED + 5 {
            let s = peers
                .start(PeerKind::Discard, false, &loopback(), None)
                .expect("start");
            assert!(s.n > last);
            last = s.n;
            assert!(peers.stop(s.n).is_ok_and(|r| r.joined));
        }
        assert_eq!(peers.len(), MAX_STOPPED);
        assert_eq!(peers.running(), 0);
        let mut running = Vec::new();
        for _ in 0..MAX_PEERS {
            running.push(
                peers
                    .start(PeerKind::Echo, false, &loopback(), None)
                    .expect("start"),
            );
        }
        assert!(
            peers
                .start(PeerKind::Echo, false, &loopback(), None)
                .is_err()
        );
        assert_eq!(peers.stop_all(), MAX_PEERS);
        assert_eq!(peers.stop(running[0].n), Err(StopError::AlreadyStopped));
        assert_eq!(peers.stop(9999), Err(StopError::NoSuchPeer));
    }
}

//! The socket table: every socket this shell holds, by file descriptor,
//! and what the kernel says about each one right now.
//!
//! Each socket lives in the kernel as non-blocking (O_NONBLOCK) whatever
//! mode the learner chose: the shell does its own waiting with `poll()` (see
//! [`crate::wait`]) so that Ctrl-C can always interrupt a call and the wait
//! can be described while it happens. The learner's mode (blocking,
//! non-blocking, timeout) is kept here and honoured by the executor exactly
//! as Python's socket module honours it (Python itself implements timeouts
//! the same way).

use crate::syntax::ast::{Family, SockKind};
use crate::value::SockHandle;
use socket2::{SockAddr, Socket};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

static SERIAL: AtomicU64 = AtomicU64::new(1);

/// A serial no socket has had: it tells apart sockets that get the same
/// descriptor one after the other. Global, so a background job can name
/// the socket it accepted before the table holds it.
pub fn next_serial() -> u64 {
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

/// Whether the socket (the open socket, shared by every descriptor of it
/// in every process) is O_NONBLOCK in the kernel now.
pub fn kernel_nonblocking(fd: RawFd) -> bool {
    // SAFETY: F_GETFL reads the flags of a descriptor; no memory is passed.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    fl >= 0 && fl & libc::O_NONBLOCK != 0
}

/// Sets or clears O_NONBLOCK on the socket (for every process that holds
/// it).
pub fn set_kernel_nonblocking(fd: RawFd, on: bool) -> std::io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on a descriptor; no memory is passed.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let new = if on {
            fl | libc::O_NONBLOCK
        } else {
            fl & !libc::O_NONBLOCK
        };
        if new != fl && libc::fcntl(fd, libc::F_SETFL, new) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// How calls on a socket wait, as Python's `settimeout` sets it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Blocking,
    NonBlocking,
    Timeout(Duration),
}

impl Mode {
    /// For the table: `blocking`, `non-blocking`, `timeout 2.5s`.
    pub fn label(&self) -> String {
        match self {
            Mode::Blocking => "blocking".into(),
            Mode::NonBlocking => "non-blocking".into(),
            Mode::Timeout(d) => format!("timeout {}s", trim_float(d.as_secs_f64())),
        }
    }
}

pub fn trim_float(f: f64) -> String {
    let s = format!("{f:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// How a socket came to be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Origin {
    Created,
    /// Returned by `accept` on this listener fd.
    Accepted {
        listener: RawFd,
    },
    /// Received with SCM_RIGHTS (`recvmsg ... fds`) on this socket's fd.
    Received {
        via: RawFd,
    },
}

/// One socket the shell holds.
#[derive(Debug)]
pub struct Entry {
    pub handle: SockHandle,
    /// Shared so a background call can use it; the descriptor closes when
    /// the last holder drops it.
    pub sock: Arc<Socket>,
    /// The names bound to it, in binding order.
    pub names: Vec<String>,
    pub family: Family,
    pub kind: SockKind,
    pub mode: Mode,
    /// Set by `listen`.
    pub backlog: Option<i32>,
    pub origin: Origin,
    pub created: Instant,
    /// A UNIX path this socket created by binding (it stays on disk after
    /// close, as in Python).
    pub bound_path: Option<std::path::PathBuf>,
    /// It has had a peer (so an EPIPE means the connection ended, not that
    /// it never began).
    pub was_connected: bool,
    /// `shutdown write` (or both) was called on it.
    pub shut_write: bool,
    /// A call on it failed with ECONNRESET.
    pub was_reset: bool,
    /// A TCP connection's (local, peer) addresses, once it has them (they
    /// never change after): found once, not asked of the kernel again.
    pub conn: Option<(SocketAddr, SocketAddr)>,
    /// SO_RCVLOWAT was set on it: readable no longer means "bytes queued".
    pub rcvlowat: bool,
    /// The lab host it was made on (`on b ...`; an accepted socket is on
    /// its listener's); None: sockplay's own network.
    pub host: Option<String>,
    /// The protocol it was made with (`socket raw icmp`), 0 by default.
    pub protocol: i32,
    /// Bytes read from the kernel and not returned yet (past a delimiter):
    /// the next receive takes them first.
    pub held: crate::proto::held::SharedHeld,
}

impl Entry {
    /// How many bytes are held for the next receive.
    pub fn held_len(&self) -> usize {
        self.held.lock().map_or(0, |h| h.len())
    }
}

impl Entry {
    pub fn fd(&self) -> RawFd {
        self.handle.fd
    }

    /// The name to show: the first bound name, else `fd N`.
    pub fn label(&self) -> String {
        match self.names.first() {
            Some(n) => n.clone(),
            None => format!("fd {}", self.handle.fd),
        }
    }

    /// Its connection was reset and is dead: the kernel says CLOSED (state
    /// `tcp_state`) for a TCP socket that was connected and that neither
    /// closed nor shut down its writing, which only a RST does (or a peer
    /// given up on after retransmissions). Not CLOSE_WAIT any more, and
    /// not "the peer has closed": nothing can go either way now.
    pub fn reset_dead(&self, tcp_state: u8) -> bool {
        tcp_state == TCP_CLOSED
            && self.is_tcp()
            && self.backlog.is_none()
            && !self.shut_write
            && (self.conn.is_some() || self.was_connected || self.was_reset)
    }

    pub fn is_tcp(&self) -> bool {
        self.kind == SockKind::Stream && self.family != Family::Unix
    }
}

/// All sockets, by descriptor.
#[derive(Debug, Default)]
pub struct Table {
    entries: BTreeMap<RawFd, Entry>,
    /// Connected TCP sockets by (local, peer): the other end of a
    /// connection is found in one look-up, not by asking the kernel for the
    /// addresses of every socket (a table may hold thousands).
    by_conn: HashMap<(SocketAddr, SocketAddr), RawFd>,
    /// Which socket each name means (a name is on at most one).
    by_name: HashMap<String, RawFd>,
    /// TCP connections this shell closed, kept while the kernel still
    /// has them (FIN_WAIT1/2, CLOSING, LAST_ACK, TIME_WAIT).
    pub ghosts: Vec<Ghost>,
    /// The socket the last command used (`.`).
    pub last: Option<SockHandle>,
    /// Some descriptors may share a socket (`dup`, descriptors received
    /// with SCM_RIGHTS): `close` then asks which.
    pub shared_sockets: bool,
}

impl Table {
    pub fn new() -> Self {
        Table::default()
    }

    /// Adds a socket made with SOCK_NONBLOCK (see the module doc).
    pub fn insert(
        &mut self,
        sock: Socket,
        family: Family,
        kind: SockKind,
        origin: Origin,
    ) -> std::io::Result<SockHandle> {
        let handle = SockHandle {
            fd: sock.as_raw_fd(),
            serial: next_serial(),
        };
        self.adopt(handle, sock, family, kind, origin);
        Ok(handle)
    }

    /// Adds a socket under a handle made for it already (it must be
    /// non-blocking already).
    pub fn adopt(
        &mut self,
        handle: SockHandle,
        sock: Socket,
        family: Family,
        kind: SockKind,
        origin: Origin,
    ) {
        let was_connected = matches!(origin, Origin::Accepted { .. });
        let host = match origin {
            Origin::Accepted { listener } => {
                self.entries.get(&listener).and_then(|l| l.host.clone())
            }
            // A descriptor passed over a socket is on that socket's host.
            Origin::Received { via } => self.entries.get(&via).and_then(|l| l.host.clone()),
            Origin::Created => None,
        };
        let old = self.entries.remove(&handle.fd);
        self.forget(old);
        self.entries.insert(
            handle.fd,
            Entry {
                handle,
                sock: Arc::new(sock),
                names: Vec::new(),
                family,
                kind,
                mode: Mode::Blocking,
                backlog: None,
                origin,
                created: Instant::now(),
                was_connected,
                shut_write: false,
                was_reset: false,
                bound_path: None,
                conn: None,
                rcvlowat: false,
                protocol: 0,
                held: Default::default(),
                host,
            },
        );
        if was_connected {
            self.note_conn(handle);
        }
    }

    /// Records the addresses of a TCP socket that has connected (once; it
    /// costs the kernel two calls, later look-ups none). Returns whether it
    /// is connected.
    pub fn note_conn(&mut self, h: SockHandle) -> bool {
        let Some(e) = self.get_mut(h) else {
            return false;
        };
        if e.conn.is_some() {
            return true;
        }
        if !e.is_tcp() {
            return false;
        }
        let Some(pair) = conn_pair(&e.sock) else {
            return false;
        };
        e.conn = Some(pair);
        e.was_connected = true;
        self.by_conn.insert(pair, h.fd);
        true
    }

    /// The socket of this table at the other end of `h`'s connection.
    pub fn peer_of(&self, h: SockHandle) -> Option<&Entry> {
        let e = self.get(h)?;
        let (l, p) = match e.conn {
            Some(pair) => pair,
            None if e.is_tcp() => conn_pair(&e.sock)?,
            None => return None,
        };
        let fd = *self.by_conn.get(&(p, l))?;
        self.entries
            .get(&fd)
            .filter(|o| o.handle != h && o.conn == Some((p, l)))
    }

    /// Drops what the indexes know of a socket leaving the table.
    fn forget(&mut self, e: Option<Entry>) {
        let Some(e) = e else { return };
        if let Some(pair) = e.conn
            && self.by_conn.get(&pair) == Some(&e.handle.fd)
        {
            self.by_conn.remove(&pair);
        }
        for n in &e.names {
            if self.by_name.get(n) == Some(&e.handle.fd) {
                self.by_name.remove(n);
            }
        }
    }

    pub fn get(&self, h: SockHandle) -> Option<&Entry> {
        self.entries
            .get(&h.fd)
            .filter(|e| e.handle.serial == h.serial)
    }

    pub fn get_mut(&mut self, h: SockHandle) -> Option<&mut Entry> {
        self.entries
            .get_mut(&h.fd)
            .filter(|e| e.handle.serial == h.serial)
    }

    pub fn by_fd(&self, fd: RawFd) -> Option<&Entry> {
        self.entries.get(&fd)
    }

    /// Takes a socket out of the table (closing it when the last holder
    /// lets go).
    pub fn remove(&mut self, h: SockHandle) -> Option<Entry> {
        if self.get(h).is_some() {
            if self.last == Some(h) {
                self.last = None;
            }
            let e = self.entries.remove(&h.fd)?;
            if let Some(pair) = e.conn
                && self.by_conn.get(&pair) == Some(&h.fd)
            {
                self.by_conn.remove(&pair);
            }
            for n in &e.names {
                if self.by_name.get(n) == Some(&h.fd) {
                    self.by_name.remove(n);
                }
            }
            Some(e)
        } else {
            None
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Closes every socket (at exit).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.by_conn.clear();
        self.by_name.clear();
        self.ghosts.clear();
        self.last = None;
    }

    /// Records that `name` now means `h` (and no longer whatever it meant).
    pub fn name(&mut self, name: &str, h: Option<SockHandle>) {
        if let Some(fd) = self.by_name.remove(name)
            && let Some(e) = self.entries.get_mut(&fd)
        {
            e.names.retain(|n| n != name);
        }
        if let Some(e) = h.and_then(|h| self.get_mut(h)) {
            e.names.push(name.to_string());
            let fd = e.handle.fd;
            self.by_name.insert(name.to_string(), fd);
        }
    }
}

/// The shell's own descriptors (the capture, the built-in peers) are moved
/// to this number or above.
pub const FD_BASE: libc::c_int = 256;

/// Room kept at the top of a low limit for the shell's own descriptors.
const FD_ROOM: libc::c_int = 16;

/// Where the shell's own descriptors go: [`FD_BASE`], or under a limit too
/// low for it (`ulimit -n 64`) the top [`FD_ROOM`] numbers of the range.
pub fn fd_base() -> libc::c_int {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct it is given.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    let cur = libc::c_int::try_from(lim.rlim_cur).unwrap_or(libc::c_int::MAX);
    if rc != 0 || cur >= FD_BASE + FD_ROOM {
        FD_BASE
    } else {
        (cur - FD_ROOM).max(3)
    }
}

/// `fd`, moved to [`fd_base`] or above when the limit allows (else left
/// where it is: only the numbering is at stake), so that the learner's
/// sockets get the numbers a fresh Python process would give them.
pub fn move_high(fd: std::os::fd::OwnedFd) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: F_DUPFD_CLOEXEC on a descriptor we own returns a new one
    // (or -1), which we then own.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, fd_base()) };
    if new < 0 {
        return fd;
    }
    // SAFETY: `new` is a fresh descriptor nobody else owns.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(new) }
}

/// Descriptors inherited from whoever started sockplay (a test harness, an
/// IDE, a shell that leaks one) go to [`fd_base`] or above, kept open, so
/// that the learner's first socket is fd 3 as in a fresh Python process,
/// whoever started the shell. Call it first thing, with one thread.
pub fn move_inherited_fds() {
    let base = fd_base();
    // The numbers first: the directory being read is a descriptor too
    // (it is closed again before anything moves, so it is skipped).
    let fds: Vec<libc::c_int> = match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|&fd| fd > 2 && fd < base)
            .collect(),
        Err(_) => return,
    };
    for fd in fds {
        // SAFETY: F_GETFD only reads the flags (EBADF for the directory's
        // descriptor, which is closed by now).
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 {
            continue;
        }
        let cmd = if flags & libc::FD_CLOEXEC != 0 {
            libc::F_DUPFD_CLOEXEC
        } else {
            libc::F_DUPFD
        };
        // SAFETY: a duplicate of an open descriptor at `base` or above; the
        // original is closed only when the duplicate exists.
        unsafe {
            if libc::fcntl(fd, cmd, base) >= 0 {
                libc::close(fd);
            }
        }
    }
}

/// The line editor opens descriptors of its own at the start of each line
/// it reads (a socket pair, for window resizes), at the lowest numbers
/// free. A background job that accepts while the prompt shows would then
/// get a number after them: `c` fd 7 where a Python program (and a script)
/// gets fd 5, depending on whether the job was quicker than the prompt.
/// So the front end closes this gate while the editor opens its
/// descriptors (having made it open them high), and a new connection's
/// descriptor waits for the gate: it gets the number it would get without
/// the editor.
struct FdGate {
    closed: std::sync::Mutex<bool>,
    opened: std::sync::Condvar,
}

static FD_GATE: FdGate = FdGate {
    closed: std::sync::Mutex::new(false),
    opened: std::sync::Condvar::new(),
};

/// The longest a descriptor waits for the gate (the editor takes
/// microseconds; a gate left closed by mistake must not stall a job).
const FD_GATE_LIMIT: std::time::Duration = std::time::Duration::from_millis(200);

/// The front end: the line editor is about to open its descriptors.
pub fn fd_gate_close() {
    if let Ok(mut c) = FD_GATE.closed.lock() {
        *c = true;
    }
}

/// The front end: the line editor has its descriptors.
pub fn fd_gate_open() {
    if let Ok(mut c) = FD_GATE.closed.lock() {
        *c = false;
    }
    FD_GATE.opened.notify_all();
}

/// Before a call that makes a descriptor (accept): waits while the gate
/// is closed (at most [`FD_GATE_LIMIT`]).
pub fn fd_gate_wait() {
    if let Ok(c) = FD_GATE.closed.lock() {
        let _ = FD_GATE
            .opened
            .wait_timeout_while(c, FD_GATE_LIMIT, |closed| *closed);
    }
}

/// Opens a file of the shell's own (the terminal, in step mode) at
/// [`fd_base`] or above, the descriptor gate closed meanwhile, so that it
/// never takes, even for a moment, a number a learner's socket would get.
pub fn open_high(path: &str) -> std::io::Result<std::fs::File> {
    fd_gate_close();
    let opened = std::fs::File::open(path)
        .map(|f| std::fs::File::from(move_high(std::os::fd::OwnedFd::from(f))));
    fd_gate_open();
    opened
}

/// A TCP connection closed by the learner, which the kernel may still be
/// closing (or holding in TIME_WAIT).
#[derive(Clone, Debug)]
pub struct Ghost {
    pub label: String,
    pub fd: RawFd,
    /// The serial of the socket that was closed (its handle's).
    pub serial: u64,
    pub local: std::net::SocketAddr,
    pub peer: std::net::SocketAddr,
    pub closed_at: Instant,
}

impl Table {
    /// The closed connections the kernel still has, with their state now;
    /// forgets those it no longer has.
    pub fn ghosts_now(&mut self, kernel: &[KernelTcp]) -> Vec<(Ghost, u8)> {
        let mut out = Vec::new();
        self.ghosts.retain(|g| {
            match kernel
                .iter()
                .find(|k| k.local == g.local && k.remote == g.peer)
            {
                Some(k) => {
                    out.push((g.clone(), k.state));
                    true
                }
                None => false,
            }
        });
        out
    }
}

/// The kernel's TCP_CLOSE (TCP_INFO's tcpi_state).
pub const TCP_CLOSED: u8 = 7;

/// How the table and `expect state` show a connection that was reset
/// ([`Entry::reset_dead`]): the kernel's state, and why.
pub const CLOSED_RESET: &str = "CLOSED (reset)";

/// The kernel's TCP states, as `ss` and textbooks name them.
pub fn tcp_state_name(state: u8) -> &'static str {
    match state {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSED",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        _ => "UNKNOWN",
    }
}

/// What the kernel says about a socket right now.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub local: Option<SockAddr>,
    pub peer: Option<SockAddr>,
    /// TCP state name, or for other sockets a word (`listening`, `connected`, `unconnected`, `bound`).
    pub state: String,
    /// Bytes waiting to be read (FIONREAD).
    pub recv_q: Option<u32>,
    /// Bytes sent but not yet acknowledged, or not yet sent (SIOCOUTQ).
    pub send_q: Option<u32>,
    /// For a TCP listener: connections waiting in the accept queue, and the
    /// queue's limit.
    pub accept_q: Option<(u32, u32)>,
    pub readable: bool,
    pub writable: bool,
    /// POLLERR or POLLPRI (urgent data).
    pub exceptional: bool,
    /// POLLHUP / POLLRDHUP: the peer closed (or both directions are shut).
    pub hangup: bool,
    pub tcp: Option<TcpInfo>,
    pub listening: bool,
}

/// The fields of TCP_INFO the shell shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct TcpInfo {
    pub state: u8,
    pub rtt_us: u32,
    pub rttvar_us: u32,
    pub snd_cwnd: u32,
    pub snd_mss: u32,
    pub rcv_mss: u32,
    pub retransmits: u8,
    pub total_retrans: u32,
    pub unacked: u32,
    pub sacked: u32,
    pub rcv_space: u32,
    /// Bytes written and not yet sent.
    pub notsent: u32,
}

/// TCP_INFO: socket2 has no call for it, so libc.
pub fn tcp_info(sock: &Socket) -> Option<TcpInfo> {
    // SAFETY: tcp_info is plain old data; the kernel fills at most `len` bytes
    // of it and tells us how many.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(TcpInfo {
        state: info.tcpi_state,
        rtt_us: info.tcpi_rtt,
        rttvar_us: info.tcpi_rttvar,
        snd_cwnd: info.tcpi_snd_cwnd,
        snd_mss: info.tcpi_snd_mss,
        rcv_mss: info.tcpi_rcv_mss,
        retransmits: info.tcpi_retransmits,
        total_retrans: info.tcpi_total_retrans,
        unacked: info.tcpi_unacked,
        sacked: info.tcpi_sacked,
        rcv_space: info.tcpi_rcv_space,
        notsent: info.tcpi_notsent_bytes,
    })
}

/// SIOCOUTQ is TIOCOUTQ on Linux.
const SIOCOUTQ: libc::c_ulong = 0x5411;

fn ioctl_int(fd: RawFd, req: libc::c_ulong) -> Option<u32> {
    let mut n: libc::c_int = 0;
    // SAFETY: both requests write one int.
    let rc = unsafe { libc::ioctl(fd, req as _, &mut n) };
    (rc == 0 && n >= 0).then_some(n as u32)
}

/// Bytes in the receive queue (for UDP: the size of the next datagram).
pub fn recv_queue(fd: RawFd) -> Option<u32> {
    ioctl_int(fd, libc::FIONREAD as libc::c_ulong)
}

/// Bytes in the send queue.
pub fn send_queue(fd: RawFd) -> Option<u32> {
    ioctl_int(fd, SIOCOUTQ)
}

/// poll() with a zero timeout: what is ready now.
pub fn poll_now(fd: RawFd) -> libc::c_short {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN | libc::POLLOUT | libc::POLLPRI | libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let rc = unsafe { libc::poll(&mut p, 1, 0) };
    if rc > 0 { p.revents } else { 0 }
}

fn is_listener(sock: &Socket) -> bool {
    sock.is_listener().unwrap_or(false)
}

/// Up to this many sockets, each is asked everything on its own; above,
/// readiness is asked of all at once (one poll), and a queue is asked for
/// only when it can hold something: a table of 10,000 sockets costs one
/// call a socket instead of four. (sock_diag, which `ss` uses, was
/// measured slower: it walks every TCP socket of the machine, and a busy
/// machine holds tens of thousands in TIME_WAIT.)
pub const FEW: usize = 64;

/// What the table shows about each of `entries`, in order.
pub fn snapshots(entries: &[&Entry]) -> Vec<Snapshot> {
    if entries.len() <= FEW {
        return entries.iter().map(|e| snapshot(e)).collect();
    }
    let mut fds: Vec<libc::pollfd> = entries
        .iter()
        .map(|e| libc::pollfd {
            fd: e.fd(),
            events: libc::POLLIN | libc::POLLOUT | libc::POLLPRI | libc::POLLRDHUP,
            revents: 0,
        })
        .collect();
    // SAFETY: a valid slice of pollfds; a zero timeout.
    let polled = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) } >= 0;
    entries
        .iter()
        .zip(&fds)
        .map(|(e, p)| snapshot_with(e, polled.then_some(p.revents)))
        .collect()
}

/// Everything the table shows about one socket.
pub fn snapshot(e: &Entry) -> Snapshot {
    snapshot_with(e, None)
}

/// A snapshot, with the socket's poll() events when they were asked for
/// already (then a queue is asked for only when it may hold bytes).
fn snapshot_with(e: &Entry, polled: Option<libc::c_short>) -> Snapshot {
    let sock = &e.sock;
    let fd = e.fd();
    // A connected TCP socket's addresses are known already (they do not
    // change), and so is whether it listens: a table of 10,000 sockets asks
    // the kernel only for what changes (state, queues, readiness).
    // Once the connection has ended (CLOSED) the kernel forgets them, and
    // so does the table.
    let tcp = if e.is_tcp() { tcp_info(sock) } else { None };
    let (local, peer) = match e.conn {
        Some((l, p)) if tcp.is_none_or(|t| t.state != 7) => {
            (Some(SockAddr::from(l)), Some(SockAddr::from(p)))
        }
        _ => (sock.local_addr().ok(), sock.peer_addr().ok()),
    };
    // TCP_INFO says LISTEN already; a UNIX stream socket is asked.
    let listening = e.backlog.is_some()
        || match &tcp {
            Some(t) => t.state == 10,
            None => e.kind == SockKind::Stream && is_listener(sock),
        };
    let revents = polled.unwrap_or_else(|| poll_now(fd));
    let state = match (&tcp, e.kind) {
        (Some(t), _) if e.reset_dead(t.state) => CLOSED_RESET.to_string(),
        (Some(t), _) => tcp_state_name(t.state).to_string(),
        (None, _) if listening => "listening".into(),
        (None, _) if peer.is_some() => "connected".into(),
        (None, _) if local.as_ref().is_some_and(is_bound) => "bound".into(),
        (None, _) => "unbound".into(),
    };
    let accept_q = match (&tcp, listening) {
        (Some(t), true) => Some((t.unacked, t.sacked)),
        _ => None,
    };
    let (recv_q, send_q) = if listening {
        (None, None)
    } else if polled.is_some()
        && let Some(t) = &tcp
    {
        // Not readable: nothing queued (unless SO_RCVLOWAT raised the
        // bar). Nothing in flight nor waiting to go: an empty send queue.
        let recv_q = if revents & libc::POLLIN == 0 && !e.rcvlowat {
            Some(0)
        } else {
            recv_queue(fd)
        };
        let send_q = if t.unacked == 0 && t.notsent == 0 {
            Some(0)
        } else {
            send_queue(fd)
        };
        (recv_q, send_q)
    } else {
        (recv_queue(fd), send_queue(fd))
    };
    Snapshot {
        local,
        peer,
        state,
        recv_q,
        send_q,
        accept_q,
        readable: revents & libc::POLLIN != 0,
        writable: revents & libc::POLLOUT != 0,
        exceptional: revents & (libc::POLLERR | libc::POLLPRI) != 0,
        hangup: revents & (libc::POLLHUP | libc::POLLRDHUP) != 0,
        tcp,
        listening,
    }
}

/// An IP socket's (local, peer) addresses, when it has both.
pub fn conn_pair(sock: &Socket) -> Option<(SocketAddr, SocketAddr)> {
    let l = sock.local_addr().ok()?.as_socket()?;
    let p = sock.peer_addr().ok()?.as_socket()?;
    Some((l, p))
}

/// A local address counts as bound when it has a port or a path.
pub fn is_bound(a: &SockAddr) -> bool {
    match a.as_socket() {
        Some(s) => s.port() != 0,
        None => a.as_pathname().is_some() || a.as_abstract_namespace().is_some(),
    }
}

/// The TCP state of a socket now (None when not TCP).
pub fn tcp_state(e: &Entry) -> Option<&'static str> {
    if !e.is_tcp() {
        return None;
    }
    tcp_info(&e.sock).map(|t| tcp_state_name(t.state))
}

/// A TCP socket as /proc/net/tcp lists it: the kernel's view of every
/// connection, including those no descriptor holds any more (FIN_WAIT2,
/// TIME_WAIT after close).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelTcp {
    pub local: std::net::SocketAddr,
    pub remote: std::net::SocketAddr,
    pub state: u8,
}

pub(crate) fn parse_proc_addr(s: &str) -> Option<std::net::SocketAddr> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    let (ip, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(ip, 16).ok()?.to_le_bytes(),
        )),
        32 => {
            // Four 32-bit words, each in host (little-endian) order.
            let mut b = [0u8; 16];
            for k in 0..4 {
                let w = u32::from_str_radix(ip.get(k * 8..k * 8 + 8)?, 16).ok()?;
                b[k * 4..k * 4 + 4].copy_from_slice(&w.to_le_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Every TCP socket of this network namespace (IPv4 and IPv6).
pub fn kernel_tcp() -> Vec<KernelTcp> {
    let mut out = Vec::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let mut f = line.split_whitespace().skip(1);
            let (Some(l), Some(r), Some(st)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            if let (Some(local), Some(remote), Ok(state)) = (
                parse_proc_addr(l),
                parse_proc_addr(r),
                u8::from_str_radix(st, 16),
            ) {
                out.push(KernelTcp {
                    local,
                    remote,
                    state,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_addresses_parse() {
        assert_eq!(
            parse_proc_addr("0100007F:26AC"),
            Some("127.0.0.1:9900".parse().expect("addr"))
        );
        assert_eq!(
            parse_proc_addr("00000000000000000000000001000000:0050"),
            Some("[::1]:80".parse().expect("addr"))
        );
        assert_eq!(parse_proc_addr("zz:1"), None);
    }

    #[test]
    fn a_large_table_is_seen_as_each_socket_alone() {
        use std::io::Write;
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let mut t = Table::new();
        let mut handles = Vec::new();
        let mut writers = Vec::new();
        for k in 0..40 {
            let mut a = std::net::TcpStream::connect(addr).expect("connect");
            let (b, _) = l.accept().expect("accept");
            if k % 3 == 0 {
                a.write_all(&[7u8; 100]).expect("write");
            }
            writers.push(a.try_clone().expect("clone"));
            for (s, origin) in [(a, Origin::Created), (b, Origin::Accepted { listener: 0 })] {
                let sock = Socket::from(s);
                sock.set_nonblocking(true).expect("nonblocking");
                let h = t
                    .insert(sock, Family::Inet, SockKind::Stream, origin)
                    .expect("insert");
                t.note_conn(h);
                handles.push(h);
            }
        }
        // Let the bytes arrive and be acknowledged.
        std::thread::sleep(Duration::from_millis(50));
        let entries: Vec<&Entry> = t.iter().collect();
        assert!(entries.len() > FEW);
        let many = snapshots(&entries);
        for (e, m) in entries.iter().zip(&many) {
            let one = snapshot(e);
            let view = |s: &Snapshot| {
                (
                    s.local.as_ref().and_then(|a| a.as_socket()),
                    s.peer.as_ref().and_then(|a| a.as_socket()),
                    s.state.clone(),
                    s.recv_q,
                    s.send_q,
                    (s.readable, s.writable, s.exceptional),
                )
            };
            assert_eq!(view(m), view(&one), "fd {}", e.fd());
        }
        assert!(many.iter().filter(|s| s.recv_q == Some(100)).count() >= 13);
    }

    #[test]
    fn a_listener_is_in_the_kernel_list() {
        let s = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let a = s.local_addr().expect("addr");
        assert!(kernel_tcp().iter().any(|k| k.local == a && k.state == 10));
    }
}

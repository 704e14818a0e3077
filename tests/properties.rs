//! Properties of the executor on live sockets: random sequences of socket
//! calls, drawn from what a learner types, run in-process on a [`Session`]
//! (items collected in a `Vec<Item>`), on 127.0.0.1 and UNIX paths in a
//! scratch directory. After every statement:
//!
//! - nothing panicked (parsing, running, rendering the items and errors);
//! - a failure is a clean `ExecError`: an exception name, a message, a
//!   Display, a span inside the line on char boundaries, a rendering;
//! - the table agrees with the kernel: for each TCP socket, the state the
//!   `sockets` table shows is the state TCP_INFO gives and the state
//!   /proc/net/tcp lists for its address pair; every LOCAL and PEER column
//!   is what getsockname / getpeername return.
//!
//! At the end of a case every socket is closed through the session
//! (`close FD` for each fd the table holds) and no descriptor is left
//! behind: the process has the descriptors it had before the session
//! (counted in /proc/self/fd; the capture's packet socket and thread, when
//! running as root, go with the session). This file holds one test, so no
//! other test of the same binary opens descriptors meanwhile.
//!
//! The commands: socket (tcp, udp, unix, unix-dgram), bind (127.0.0.1 0 or
//! a scratch path), listen, connect and sendto to another socket by name,
//! accept, send, sendall, recv, recvfrom, shutdown, close, setsockopt,
//! getsockopt, setblocking/settimeout, getsockname, getpeername, select
//! and poll with timeout 0, sockets, states, info; and "a pair" (socket,
//! bind, listen, socket, connect, accept). Names are picked to fit, from
//! what the session holds (a listener for accept, a bound socket of the
//! same family for connect), mostly the names used last, now and then any.
//!
//! Bounded: 64 cases of at most 30 ops (a pair is six steps); no call can
//! wait long: every socket gets `settimeout 0.01` (or 0.02) or
//! `setblocking false` right after it is created or accepted, and `select`
//! and `poll` look with a zero timeout. `-- --nocapture` shows what the
//! cases did: lines run, failures by exception, TCP states checked.

use proptest::prelude::*;
use sockplay::exec::{Item, Row, Session};
use sockplay::render::{self, Origin};
use sockplay::syntax::parse_line;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::RawFd;
use std::path::PathBuf;

/// Sockets are held under the names s0..s5.
const SLOTS: usize = 6;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Tcp,
    Udp,
    Unix,
    UnixDgram,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Tcp => "tcp",
            Kind::Udp => "udp",
            Kind::Unix => "unix",
            Kind::UnixDgram => "unix-dgram",
        }
    }
    fn unix(self) -> bool {
        matches!(self, Kind::Unix | Kind::UnixDgram)
    }
}

/// One command, its sockets given as raw picks: the model turns a pick into
/// a name that fits (a listener for `accept`, a bound socket of the same
/// family for `connect`...), most of the time; now and then into any name,
/// even an unused one, so the error paths run too.
#[derive(Clone, Debug)]
enum Op {
    Socket(u8, Kind),
    Bind(u8),
    Listen(u8, u8),
    Connect(u8, u8),
    Accept(u8, u8),
    Send(u8, u8),
    SendAll(u8, u8),
    Recv(u8, u8),
    SendTo(u8, u8, u8),
    RecvFrom(u8),
    Shutdown(u8, u8),
    Close(u8),
    SetOpt(u8, u8),
    GetOpt(u8, u8),
    Mode(u8, u8),
    GetSockName(u8),
    GetPeerName(u8),
    Select(u8, u8, u8),
    Poll(u8),
    Sockets,
    States,
    Info(u8),
    /// A learner's first server and client: socket, bind, listen, socket,
    /// connect, accept (each a step of its own).
    Pair(Kind, u8),
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        3 => Just(Kind::Tcp),
        2 => Just(Kind::Udp),
        2 => Just(Kind::Unix),
        1 => Just(Kind::UnixDgram),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let p = any::<u8>;
    prop_oneof![
        5 => (p(), kind()).prop_map(|(s, k)| Op::Socket(s, k)),
        4 => p().prop_map(Op::Bind),
        3 => (p(), 0..3u8).prop_map(|(s, b)| Op::Listen(s, b)),
        4 => (p(), p()).prop_map(|(a, b)| Op::Connect(a, b)),
        4 => (p(), p()).prop_map(|(a, b)| Op::Accept(a, b)),
        4 => (p(), 1..48u8).prop_map(|(s, n)| Op::Send(s, n)),
        1 => (p(), 1..48u8).prop_map(|(s, n)| Op::SendAll(s, n)),
        4 => (p(), 1..64u8).prop_map(|(s, n)| Op::Recv(s, n)),
        2 => (p(), p(), 1..48u8).prop_map(|(a, b, n)| Op::SendTo(a, b, n)),
        2 => p().prop_map(Op::RecvFrom),
        2 => (p(), 0..3u8).prop_map(|(s, h)| Op::Shutdown(s, h)),
        2 => p().prop_map(Op::Close),
        1 => (p(), 0..7u8).prop_map(|(s, o)| Op::SetOpt(s, o)),
        1 => (p(), 0..4u8).prop_map(|(s, o)| Op::GetOpt(s, o)),
        1 => (p(), 0..3u8).prop_map(|(s, m)| Op::Mode(s, m)),
        1 => p().prop_map(Op::GetSockName),
        1 => p().prop_map(Op::GetPeerName),
        1 => (p(), p(), p()).prop_map(|(a, b, c)| Op::Select(a, b, c)),
        1 => p().prop_map(Op::Poll),
        1 => Just(Op::Sockets),
        1 => Just(Op::States),
        1 => p().prop_map(Op::Info),
        2 => (prop_oneof![Just(Kind::Tcp), Just(Kind::Unix)], p()).prop_map(|(k, r)| Op::Pair(k, r)),
    ]
}

/// The steps of an op: a pair is six.
fn steps(op: &Op) -> Vec<Op> {
    match *op {
        Op::Pair(k, r) => vec![
            Op::Socket(r, k),
            Op::Bind(0),
            Op::Listen(0, 2),
            Op::Socket(r.wrapping_add(1), k),
            Op::Connect(0, 0),
            Op::Accept(0, r),
        ],
        ref other => vec![other.clone()],
    }
}

/// What a name holds now, read off the session after every step.
#[derive(Clone, Copy, Debug)]
struct Held {
    kind: Kind,
    bound: bool,
    listening: bool,
    connected: bool,
}

/// What the generator knows of the sockets: enough to pick names and
/// addresses that fit, the names used last first (so `socket` then `bind`
/// then `listen` tend to act on one socket, as a learner's do).
struct Model {
    held: std::collections::BTreeMap<usize, Held>,
    /// Names, the one used last first.
    recent: Vec<usize>,
    dir: PathBuf,
    paths: usize,
}

fn name(s: usize) -> String {
    format!("s{s}")
}

fn data(n: u8) -> String {
    let text: String = (0..n).map(|k| (b'a' + k % 26) as char).collect();
    format!("b\"{text}\"")
}

/// The guard that keeps every later call on a socket from waiting long.
fn guard(s: usize, pick: usize) -> String {
    match pick % 3 {
        0 => format!("setblocking {} false", name(s)),
        1 => format!("settimeout {} 0.01", name(s)),
        _ => format!("settimeout {} 0.02", name(s)),
    }
}

impl Model {
    /// Reads what each name holds off the session (the kernel's word).
    fn refresh(&mut self, session: &Session) {
        use sockplay::syntax::ast::{Family, SockKind};
        use sockplay::value::Value;
        self.held.clear();
        for slot in 0..SLOTS {
            let Some(Value::Socket(h)) = session.vars.get(&name(slot)) else {
                continue;
            };
            let Some(e) = session.table.get(*h) else {
                continue;
            };
            let kind = match (e.family, e.kind) {
                (Family::Unix, SockKind::Stream) => Kind::Unix,
                (Family::Unix, SockKind::Dgram) => Kind::UnixDgram,
                (_, SockKind::Stream) => Kind::Tcp,
                (_, SockKind::Dgram) => Kind::Udp,
                // Kinds this model never makes (seqpacket, raw).
                _ => continue,
            };
            let bound = e
                .sock
                .local_addr()
                .is_ok_and(|a| sockplay::table::is_bound(&a));
            self.held.insert(
                slot,
                Held {
                    kind,
                    bound,
                    listening: e.sock.is_listener().unwrap_or(false),
                    connected: e.sock.peer_addr().is_ok(),
                },
            );
        }
    }

    /// A held name that passes `fits` (any held one when none fits),
    /// mostly one of the two used last; one pick in 32 gives any name at
    /// all.
    fn pick(&self, raw: u8, fits: impl Fn(&Held) -> bool) -> usize {
        if raw % 32 == 31 || self.held.is_empty() {
            return raw as usize % SLOTS;
        }
        let by_recency = |pass: &dyn Fn(&Held) -> bool| -> Vec<usize> {
            let mut v: Vec<usize> = self
                .recent
                .iter()
                .copied()
                .filter(|s| self.held.get(s).is_some_and(pass))
                .collect();
            for (s, h) in &self.held {
                if !v.contains(s) && pass(h) {
                    v.push(*s);
                }
            }
            v
        };
        let mut from = by_recency(&fits);
        if from.is_empty() {
            from = by_recency(&|_| true);
        }
        let k = if raw % 4 == 3 {
            raw as usize % from.len()
        } else {
            raw as usize % from.len().min(2)
        };
        from[k]
    }

    /// A name that holds nothing (or, when all are taken, any).
    fn free(&self, raw: u8) -> usize {
        let free: Vec<usize> = (0..SLOTS).filter(|s| !self.held.contains_key(s)).collect();
        if free.is_empty() {
            raw as usize % SLOTS
        } else {
            free[raw as usize % free.len()]
        }
    }

    /// Remembers the names a step used, the first as the one used last.
    fn used(&mut self, names: &[usize]) {
        for s in names.iter().rev() {
            self.recent.retain(|r| r != s);
            self.recent.insert(0, *s);
        }
    }

    fn kind(&self, s: usize) -> Option<Kind> {
        self.held.get(&s).map(|h| h.kind)
    }

    /// The line for an op, and the names it acts on (the first is the
    /// one whose belief changes when it succeeds).
    fn line(&mut self, op: &Op) -> (String, Vec<usize>) {
        let n = name;
        let any = |_: &Held| true;
        match *op {
            Op::Socket(raw, k) => {
                let s = self.free(raw);
                (format!("{} = socket {}", n(s), k.word()), vec![s])
            }
            Op::Bind(raw) => {
                let s = self.pick(raw, |h| !h.bound);
                let line = match self.kind(s) {
                    Some(k) if k.unix() => {
                        self.paths += 1;
                        format!("bind {} {}/u{}", n(s), self.dir.display(), self.paths)
                    }
                    _ => format!("bind {} 127.0.0.1 0", n(s)),
                };
                (line, vec![s])
            }
            Op::Listen(raw, b) => {
                let s = self.pick(raw, |h| {
                    matches!(h.kind, Kind::Tcp | Kind::Unix) && !h.listening && !h.connected
                });
                (format!("listen {} {b}", n(s)), vec![s])
            }
            Op::Connect(ra, rb) => {
                let a = self.pick(ra, |h| !h.listening && !h.connected);
                let ka = self.kind(a);
                let b = self.pick(rb, |h| {
                    Some(h.kind) == ka
                        && match h.kind {
                            Kind::Tcp | Kind::Unix => h.listening,
                            Kind::Udp | Kind::UnixDgram => h.bound,
                        }
                });
                (format!("connect {} {}", n(a), n(b)), vec![a, b])
            }
            Op::Accept(rl, rt) => {
                let l = self.pick(rl, |h| h.listening);
                let t = self.free(rt);
                (format!("{}, a{t} = accept {}", n(t), n(l)), vec![t, l])
            }
            Op::Send(raw, len) => {
                let s = self.pick(raw, |h| h.connected);
                (format!("send {} {}", n(s), data(len)), vec![s])
            }
            Op::SendAll(raw, len) => {
                let s = self.pick(raw, |h| h.connected);
                (format!("sendall {} {}", n(s), data(len)), vec![s])
            }
            Op::Recv(raw, size) => {
                let s = self.pick(raw, |h| h.connected || h.bound);
                (format!("d = recv {} {size}", n(s)), vec![s])
            }
            Op::SendTo(ra, rb, len) => {
                let a = self.pick(ra, |h| matches!(h.kind, Kind::Udp | Kind::UnixDgram));
                let ka = self.kind(a);
                let b = self.pick(rb, |h| Some(h.kind) == ka && h.bound);
                (
                    format!("sendto {} {} {}", n(a), data(len), n(b)),
                    vec![a, b],
                )
            }
            Op::RecvFrom(raw) => {
                let s = self.pick(raw, |h| {
                    matches!(h.kind, Kind::Udp | Kind::UnixDgram) && h.bound
                });
                (format!("d, a = recvfrom {} 64", n(s)), vec![s])
            }
            Op::Shutdown(raw, how) => {
                let s = self.pick(raw, |h| h.connected);
                let how = ["read", "write", "both"][how as usize % 3];
                (format!("shutdown {} {how}", n(s)), vec![s])
            }
            Op::Close(raw) => {
                let s = self.pick(raw, any);
                (format!("close {}", n(s)), vec![s])
            }
            Op::SetOpt(raw, o) => {
                let s = self.pick(raw, any);
                let opt = [
                    "SO_REUSEADDR 1",
                    "SO_RCVBUF 4096",
                    "SO_SNDBUF 4096",
                    "SO_KEEPALIVE 1",
                    "TCP_NODELAY 1",
                    "SO_LINGER 1 0",
                    "SO_BROADCAST 1",
                ][o as usize % 7];
                (format!("setsockopt {} {opt}", n(s)), vec![s])
            }
            Op::GetOpt(raw, o) => {
                let s = self.pick(raw, any);
                let opt = ["SO_TYPE", "SO_ERROR", "SO_RCVBUF", "SO_ACCEPTCONN"][o as usize % 4];
                (format!("getsockopt {} {opt}", n(s)), vec![s])
            }
            Op::Mode(raw, m) => {
                let s = self.pick(raw, any);
                (guard(s, m as usize), vec![s])
            }
            Op::GetSockName(raw) => {
                let s = self.pick(raw, any);
                (format!("getsockname {}", n(s)), vec![s])
            }
            Op::GetPeerName(raw) => {
                let s = self.pick(raw, any);
                (format!("getpeername {}", n(s)), vec![s])
            }
            Op::Select(ra, rb, rc) => {
                let (a, b, c) = (self.pick(ra, any), self.pick(rb, any), self.pick(rc, any));
                (
                    format!("r, w, x = select read {} {} write {} 0", n(a), n(b), n(c)),
                    vec![a, b, c],
                )
            }
            Op::Poll(raw) => {
                let s = self.pick(raw, any);
                (format!("poll in {0} out {0} 0", n(s)), vec![s])
            }
            Op::Sockets => ("sockets".into(), Vec::new()),
            Op::States => ("states".into(), Vec::new()),
            Op::Info(raw) => {
                let s = self.pick(raw, any);
                (format!("info {}", n(s)), vec![s])
            }
            Op::Pair(..) => unreachable!("expanded by steps()"),
        }
    }
}

/// The descriptors this process has open now.
fn open_fds() -> Vec<RawFd> {
    let mut v: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    v.sort_unstable();
    v
}

/// TCP_INFO's state of a descriptor (None: not TCP, or closed).
fn tcp_state(fd: RawFd) -> Option<u8> {
    // SAFETY: tcp_info is plain data; the kernel fills at most `len` bytes.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(info.tcpi_state)
}

fn state_name(st: u8) -> &'static str {
    [
        "?",
        "ESTABLISHED",
        "SYN_SENT",
        "SYN_RECV",
        "FIN_WAIT1",
        "FIN_WAIT2",
        "TIME_WAIT",
        "CLOSED",
        "CLOSE_WAIT",
        "LAST_ACK",
        "LISTEN",
        "CLOSING",
    ]
    .get(st as usize)
    .copied()
    .unwrap_or("?")
}

/// What the kernel says of one descriptor now: its TCP state, and its
/// local and peer addresses (getsockname, getpeername).
#[derive(Clone, Debug, PartialEq)]
struct Look {
    state: Option<u8>,
    local: Option<socket2::SockAddr>,
    peer: Option<socket2::SockAddr>,
}

fn look(fd: RawFd) -> Look {
    use std::os::fd::BorrowedFd;
    // SAFETY: the descriptor is open (the session holds it) for the
    // duration of this borrow.
    let b = unsafe { BorrowedFd::borrow_raw(fd) };
    let s = socket2::SockRef::from(&b);
    Look {
        state: tcp_state(fd),
        local: s.local_addr().ok(),
        peer: s.peer_addr().ok(),
    }
}

/// An address as the table's LOCAL and PEER columns write it: `ip:port`,
/// a path, `@name`; `-` for none (a port 0, an unnamed UNIX socket).
fn column(a: Option<&socket2::SockAddr>) -> String {
    let Some(a) = a else { return "-".into() };
    if let Some(sa) = a.as_socket() {
        return if sa.port() == 0 {
            "-".into()
        } else {
            sa.to_string()
        };
    }
    if let Some(p) = a.as_pathname() {
        return p.display().to_string();
    }
    if let Some(n) = a.as_abstract_namespace() {
        return format!("@{}", String::from_utf8_lossy(n));
    }
    "-".into()
}

/// /proc/net/tcp, parsed here (not with the crate's own parser, which is
/// under test): (local, remote, state) for every IPv4 TCP socket.
fn proc_net_tcp() -> Vec<(SocketAddr, SocketAddr, u8)> {
    let text = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let addr = |s: &str| -> Option<SocketAddr> {
        let (ip, port) = s.split_once(':')?;
        let ip = u32::from_str_radix(ip, 16).ok()?;
        let port = u16::from_str_radix(port, 16).ok()?;
        // The address is in network order, printed as a host-order u32.
        Some(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::from(ip.to_le_bytes())),
            port,
        ))
    };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((
                addr(f.get(1)?)?,
                addr(f.get(2)?)?,
                u8::from_str_radix(f.get(3)?, 16).ok()?,
            ))
        })
        .collect()
}

/// The state /proc/net/tcp (read once, in `all`) lists for a socket:
/// found by its address pair, or by its local address alone while it has
/// no peer yet (a listener, a connect in SYN_SENT). A listener's remote
/// address is usually 0.0.0.0:0, but not always: a socket whose connect
/// failed keeps the address it tried (127.0.0.1:0) when it listens after.
fn proc_state(
    all: &[(SocketAddr, SocketAddr, u8)],
    local: SocketAddr,
    peer: Option<SocketAddr>,
    state: u8,
) -> Option<u8> {
    match peer {
        Some(p) => all.iter().find(|(l, r, _)| *l == local && *r == p),
        None => all.iter().find(|(l, _, st)| *l == local && *st == state),
    }
    .map(|(_, _, st)| *st)
}

/// The rows of `sockets` with a descriptor (closed connections the kernel
/// still has are shown with `-`).
fn table_rows(session: &mut Session) -> Result<Vec<Row>, TestCaseError> {
    let stmts = parse_line("sockets").map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut items: Vec<Item> = Vec::new();
    session
        .run(&stmts[0], "sockets", &mut items)
        .map_err(|e| TestCaseError::fail(format!("sockets failed: {e}")))?;
    let mut rows = Vec::new();
    for it in items {
        render::item(&it);
        if let Item::Table(r) = it {
            rows.extend(r.into_iter().filter(|r| r.fd != "-"));
        }
    }
    Ok(rows)
}

/// The table agrees with the kernel (see the module doc). A state read
/// before the table and again after /proc/net/tcp with the same answer
/// held still in between (TCP states never come back); a connection that
/// moved meanwhile (a handshake finishing) is looked at again.
fn check_table(session: &mut Session, line: &str) -> Result<(), TestCaseError> {
    let looks = |session: &Session| -> HashMap<RawFd, Look> {
        session
            .table
            .iter()
            .map(|e| (e.fd(), look(e.fd())))
            .collect()
    };
    'attempt: for attempt in 0..20 {
        let before = looks(session);
        let rows = table_rows(session)?;
        // Walking the kernel's connection hash costs milliseconds: once.
        let kernel = proc_net_tcp();
        let after = looks(session);
        if before != after {
            continue 'attempt;
        }
        prop_assert_eq!(
            rows.len(),
            session.table.len(),
            "after {:?}: one row per socket",
            line
        );
        for row in &rows {
            let fd: RawFd = row
                .fd
                .parse()
                .map_err(|_| TestCaseError::fail(format!("fd column {:?}", row.fd)))?;
            let Some(k) = before.get(&fd) else {
                return Err(TestCaseError::fail(format!(
                    "after {line:?}: a row for fd {fd}, which the table does not hold"
                )));
            };
            // LOCAL and PEER are getsockname and getpeername.
            prop_assert_eq!(
                (row.local.clone(), row.peer.clone()),
                (column(k.local.as_ref()), column(k.peer.as_ref())),
                "after {:?}: LOCAL and PEER of fd {}",
                line,
                fd
            );
            if row.proto != "TCP" {
                continue;
            }
            let Some(st) = k.state else {
                return Err(TestCaseError::fail(format!(
                    "after {line:?}: TCP fd {fd} without TCP_INFO"
                )));
            };
            // A connection reset is CLOSED with its cause: `CLOSED (reset)`.
            let shown = row.state.strip_suffix(" (reset)").unwrap_or(&row.state);
            prop_assert_eq!(
                shown,
                state_name(st),
                "after {:?}: the table's state of fd {} is TCP_INFO's",
                line,
                fd
            );
            // CLOSED sockets (unbound, bound only, refused) are not in
            // /proc/net/tcp.
            if st == 7 {
                continue;
            }
            let Some(local) = k.local.as_ref().and_then(|a| a.as_socket()) else {
                return Err(TestCaseError::fail(format!(
                    "after {line:?}: TCP fd {fd} in {} has no address",
                    row.state
                )));
            };
            let peer = k.peer.as_ref().and_then(|a| a.as_socket());
            let listed = proc_state(&kernel, local, peer, st);
            count(|c| *c.states.entry(state_name(st)).or_default() += 1);
            prop_assert_eq!(
                listed.map(state_name),
                Some(state_name(st)),
                "after {:?}: /proc/net/tcp lists fd {} ({}) as TCP_INFO says (attempt {})",
                line,
                fd,
                local,
                attempt
            );
        }
        return Ok(());
    }
    Err(TestCaseError::fail(format!(
        "after {line:?}: the sockets never held still for 20 looks"
    )))
}

/// Runs one line; checks that it parses, that nothing panics, that a
/// failure is clean, and that its items render. Returns whether it ran.
fn run_line(session: &mut Session, line: &str) -> Result<bool, TestCaseError> {
    let stmts = parse_line(line)
        .map_err(|e| TestCaseError::fail(format!("{line:?} does not parse: {e}")))?;
    let mut ok = true;
    for st in &stmts {
        let mut items: Vec<Item> = Vec::new();
        let t0 = std::time::Instant::now();
        let result = session.run(st, line, &mut items);
        let took = t0.elapsed();
        count(|c| {
            c.lines += 1;
            c.slow.push((took, line.to_string()));
            c.slow.sort_by_key(|s| std::cmp::Reverse(s.0));
            c.slow.truncate(8);
        });
        for it in &items {
            render::item(it);
        }
        if let Err(e) = result {
            ok = false;
            count(|c| {
                *c.failed.entry(e.exception.clone()).or_default() += 1;
                let ex = c.examples.entry(e.exception.clone()).or_default();
                if ex.len() < 2 {
                    ex.push(format!("{line} -> {e}"));
                }
            });
            prop_assert!(!e.exception.is_empty(), "{:?}: no exception name", line);
            prop_assert!(
                !e.message.is_empty(),
                "{:?}: {} without a message",
                line,
                e.exception
            );
            prop_assert_ne!(
                e.exception.as_str(),
                "KeyboardInterrupt",
                "{:?}: nothing interrupts here",
                line
            );
            let shown = e.to_string();
            prop_assert!(
                shown.contains(&e.message),
                "{:?}: Display {:?}",
                line,
                shown
            );
            if let Some(sp) = e.span {
                prop_assert!(
                    sp.start <= sp.end
                        && sp.end <= line.len()
                        && line.is_char_boundary(sp.start)
                        && line.is_char_boundary(sp.end),
                    "{:?}: span {:?} of {}",
                    line,
                    sp,
                    shown
                );
            }
            let origin = Origin {
                file: Some("prop.sp"),
                line: 1,
                text: line,
            };
            render::exec_error(&e, &origin);
            let mut after: Vec<Item> = Vec::new();
            session.explain_after(&e, &mut after);
            for it in &after {
                render::item(it);
            }
            break;
        }
    }
    Ok(ok)
}

/// A scratch directory for UNIX socket paths (short: paths are limited to
/// 108 bytes), removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(case: u64) -> Scratch {
        let dir = std::env::temp_dir().join(format!("spprop-{}-{case}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

static CASE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn run_case(ops: &[Op]) -> Result<(), TestCaseError> {
    let case = CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let scratch = Scratch::new(case);
    let fds_before = open_fds();
    let mut session = Session::default();
    // Reports of the first moments are explained; that is rendering too.
    let mut model = Model {
        held: Default::default(),
        recent: Vec::new(),
        dir: scratch.0.clone(),
        paths: 0,
    };
    for (k, op) in ops.iter().flat_map(steps).enumerate() {
        model.refresh(&session);
        let (line, names) = model.line(&op);
        model.used(&names);
        let ran = run_line(&mut session, &line)?;
        // The guard that bounds every later wait on a new socket.
        if ran && matches!(op, Op::Socket(..) | Op::Accept(..)) {
            run_line(&mut session, &guard(names[0], k))?;
        }
        check_table(&mut session, &line)?;
    }
    // Close every socket through the session, by descriptor.
    let fds: Vec<RawFd> = session.table.iter().map(|e| e.fd()).collect();
    for fd in fds {
        let line = format!("close {fd}");
        prop_assert!(run_line(&mut session, &line)?, "{} failed", line);
    }
    prop_assert_eq!(session.table.len(), 0, "every socket closed");
    // The shell's own descriptors (the capture, as root) are at
    // table::fd_base() or above while the session lives: below it, the
    // process has what it had before.
    let low = |v: &[RawFd]| -> Vec<RawFd> {
        v.iter()
            .copied()
            .filter(|&fd| fd < sockplay::table::fd_base())
            .collect()
    };
    prop_assert_eq!(
        low(&open_fds()),
        low(&fds_before),
        "descriptors left open after closing every socket"
    );
    drop(session);
    prop_assert_eq!(
        open_fds(),
        fds_before,
        "descriptors left open after the session ended"
    );
    Ok(())
}

/// What the cases did, to show that they reached the interesting states
/// (printed at the end; `--nocapture` shows it).
#[derive(Default)]
struct Stats {
    lines: usize,
    failed: std::collections::BTreeMap<String, usize>,
    examples: std::collections::BTreeMap<String, Vec<String>>,
    states: std::collections::BTreeMap<&'static str, usize>,
    /// The slowest lines (with their items' kinds), for the curious.
    slow: Vec<(std::time::Duration, String)>,
}

static STATS: std::sync::Mutex<Option<Stats>> = std::sync::Mutex::new(None);

fn count(f: impl FnOnce(&mut Stats)) {
    if let Ok(mut g) = STATS.lock() {
        f(g.get_or_insert_with(Stats::default));
    }
}

#[test]
fn random_socket_calls_keep_the_table_true_and_leak_nothing() {
    use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
    let config = Config {
        cases: 64,
        max_shrink_iters: 500,
        max_shrink_time: 60_000,
        // A failing case is saved here and tried first next time.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/properties.proptest-regressions",
        ))),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    // Each case starts with a socket (a case of NameErrors teaches little).
    let ops = (kind(), prop::collection::vec(op(), 0..30)).prop_map(|(k, rest)| {
        let mut v = vec![Op::Socket(0, k)];
        v.extend(rest);
        v
    });
    let result = runner.run(&ops, |ops| run_case(&ops));
    if let Ok(g) = STATS.lock()
        && let Some(st) = g.as_ref()
    {
        eprintln!(
            "{} lines run; failures by exception: {:?}",
            st.lines, st.failed
        );
        eprintln!("TCP states checked against the kernel: {:?}", st.states);
        eprintln!("slowest lines: {:?}", st.slow);
        for (ex, lines) in &st.examples {
            eprintln!("{ex}: {lines:#?}");
        }
    }
    if let Err(e) = result {
        panic!("{e}");
    }
}

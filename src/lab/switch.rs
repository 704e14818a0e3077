//! The lab's switch: a thread of sockplay's that forwards Ethernet frames
//! between the hosts' links, and is where the network's faults happen.
//!
//! Each host's link is a veth pair: `eth0` in the host, `sw-HOST` in the
//! switch's own namespace. The thread reads each frame a host sends from
//! a packet socket on `sw-HOST`, decides its fate with that host's
//! settings (`lab net`: loss, delay and jitter, reordering, duplication,
//! a rate), and writes it, when its time comes, to the port of the host
//! it is for (by its MAC address; broadcast to every other port).
//!
//! Why not the kernel's bridge and netem: netem is a kernel option that
//! many kernels leave out (this project's machines among them), and a
//! lab that only works on some kernels is no lab for a class. The faults
//! follow netem's meaning (tc-netem(8)): they act on what a host sends,
//! as `tc qdisc add dev eth0 root netem ...` on that host would.
//!
//! Since every frame passes here, the switch is also the capture of the
//! lab's TCP segments that `states` reads: each one as it is delivered,
//! and the ones lost, marked.

use crate::wire::capture;
use crate::wire::packet::{self, Packet, Segment};
use socket2::{Domain, Socket, Type};
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The faults of one host's link (what it sends).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Net {
    /// Chance each frame is lost, 0..=1.
    pub loss: f64,
    pub delay: Duration,
    /// Each frame's delay is `delay` ± up to this (uniformly).
    pub jitter: Duration,
    /// Chance a frame skips the delay and overtakes those held back.
    pub reorder: f64,
    /// Chance a frame is sent twice.
    pub duplicate: f64,
    /// Bits per second the link carries (None: as fast as it goes).
    pub rate: Option<u64>,
}

impl Net {
    pub fn is_clear(&self) -> bool {
        *self == Net::default()
    }

    /// `loss 30%, delay 100ms ± 10ms, ...`, or `none`.
    pub fn describe(&self) -> String {
        let mut v = Vec::new();
        let pct = |p: f64| {
            let s = format!("{:.3}", p * 100.0);
            format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
        };
        if self.loss > 0.0 {
            v.push(format!("loss {}", pct(self.loss)));
        }
        if !self.delay.is_zero() {
            let mut d = format!("delay {}", ms(self.delay));
            if !self.jitter.is_zero() {
                d.push_str(&format!(" jitter {}", ms(self.jitter)));
            }
            v.push(d);
        }
        if self.reorder > 0.0 {
            v.push(format!("reorder {}", pct(self.reorder)));
        }
        if self.duplicate > 0.0 {
            v.push(format!("duplicate {}", pct(self.duplicate)));
        }
        if let Some(r) = self.rate {
            v.push(format!("rate {}", rate_text(r)));
        }
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    }
}

fn ms(d: Duration) -> String {
    let s = format!("{:.3}", d.as_secs_f64() * 1000.0);
    format!("{}ms", s.trim_end_matches('0').trim_end_matches('.'))
}

/// `1mbit`, `64kbit`, `1500bit`.
pub fn rate_text(bits: u64) -> String {
    for (unit, n) in [
        ("gbit", 1_000_000_000),
        ("mbit", 1_000_000),
        ("kbit", 1_000),
    ] {
        if bits >= n && bits.is_multiple_of(n) {
            return format!("{}{unit}", bits / n);
        }
    }
    format!("{bits}bit")
}

/// What happened to a host's frames.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counts {
    /// Frames the host sent.
    pub sent: u64,
    pub lost: u64,
    pub duplicated: u64,
    /// Dropped because more than [`LIMIT`] were held back (as netem's
    /// queue limit).
    pub overflow: u64,
}

/// Frames held back per link at most (netem's default limit).
pub const LIMIT: usize = 1000;

/// What the switch did to a captured segment.
#[derive(Clone, Debug, PartialEq)]
pub enum Mark {
    /// Lost on this host's link.
    Lost(String),
    /// A second copy made by this host's link.
    Duplicate(String),
}

type Key = (SocketAddr, SocketAddr, u32, u8, packet::Nanos);

fn key(s: &Segment) -> Key {
    (s.src, s.dst, s.seq, s.flags, s.t)
}

#[derive(Default)]
struct Capture {
    segments: VecDeque<Segment>,
    keeper: capture::Keeper,
    marks: HashMap<Key, Mark>,
}

/// A port: a packet socket on `sw-HOST` in the switch's namespace.
pub struct Port {
    pub host: String,
    pub mac: [u8; 6],
    pub sock: Socket,
}

/// What the thread and the shell share.
struct Shared {
    /// Rounds of the thread's loop so far (see [`Switch::sync`]).
    rounds: std::sync::atomic::AtomicU64,
    nets: Mutex<Vec<Net>>,
    counts: Mutex<Vec<Counts>>,
    capture: Mutex<Capture>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The running switch.
pub struct Switch {
    shared: Arc<Shared>,
    hosts: Vec<String>,
    stop: Arc<AtomicBool>,
    wake: Arc<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

/// PACKET_QDISC_BYPASS (linux/if_packet.h; Linux 3.14): the port's sends
/// go straight to the link.
const PACKET_QDISC_BYPASS: libc::c_int = 20;

/// Opens the port on link `index` (call it inside the switch's namespace).
/// Its socket does not read back the frames it writes
/// (PACKET_IGNORE_OUTGOING, as the capture on `lo`).
pub fn open_port(index: u32) -> io::Result<Socket> {
    let sock = Socket::new(Domain::PACKET, Type::RAW, None)?;
    // Without it the switch would read back each frame it forwards and
    // forward it again, for ever: no lab rather than a storm (Linux 4.20
    // and later have it).
    if !capture::set_int(&sock, libc::SOL_PACKET, capture::PACKET_IGNORE_OUTGOING, 1) {
        return Err(io::Error::last_os_error());
    }
    // Frames go straight to the link, past its queueing discipline: a
    // port brought up before its host's end has a `noop` one (which drops
    // everything) until the kernel's linkwatch work gets round to it,
    // late on a busy machine, and the first frames across the lab were
    // lost. The switch does the queueing (delay, rate) itself.
    if !capture::set_int(&sock, libc::SOL_PACKET, PACKET_QDISC_BYPASS, 1) {
        return Err(io::Error::last_os_error());
    }
    sock.bind(&capture::link_addr(index)?)?;
    sock.set_nonblocking(true)?;
    Ok(Socket::from(crate::table::move_high(OwnedFd::from(sock))))
}

/// A frame waiting for its time.
struct Held {
    at: Instant,
    n: u64,
    from: usize,
    dup: bool,
    frame: Vec<u8>,
}

impl PartialEq for Held {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.n) == (o.at, o.n)
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Held {
    // Earliest first out of a max-heap.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.at, o.n).cmp(&(self.at, self.n))
    }
}

/// xorshift64*: the faults need chance, not cryptography.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let mut seed = [0u8; 8];
        // SAFETY: a buffer of its length.
        let got = unsafe { libc::getrandom(seed.as_mut_ptr().cast(), seed.len(), 0) };
        let mut s = u64::from_ne_bytes(seed);
        if got != 8 || s == 0 {
            s = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64 | 1);
        }
        Rng(s)
    }

    /// Uniform in [0, 1).
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.next() < p
    }
}

impl Switch {
    /// Starts forwarding between `ports` (made by [`open_port`]).
    pub fn start(ports: Vec<Port>) -> io::Result<Switch> {
        // SAFETY: eventfd(2); the descriptor is ours.
        let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if efd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fresh descriptor.
        let wake = Arc::new(crate::table::move_high(unsafe {
            OwnedFd::from_raw_fd(efd)
        }));
        let shared = Arc::new(Shared {
            rounds: std::sync::atomic::AtomicU64::new(0),
            nets: Mutex::new(vec![Net::default(); ports.len()]),
            counts: Mutex::new(vec![Counts::default(); ports.len()]),
            capture: Mutex::default(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let hosts = ports.iter().map(|p| p.host.clone()).collect();
        let thread = {
            let (shared, stop, wake) = (Arc::clone(&shared), Arc::clone(&stop), Arc::clone(&wake));
            std::thread::Builder::new()
                .name("lab-switch".into())
                .spawn(move || run(&ports, &shared, &stop, &wake))?
        };
        Ok(Switch {
            shared,
            hosts,
            stop,
            wake,
            thread: Some(thread),
        })
    }

    pub fn set_net(&self, port: usize, net: Net) {
        if let Some(n) = lock(&self.shared.nets).get_mut(port) {
            *n = net;
        }
    }

    pub fn net(&self, port: usize) -> Net {
        lock(&self.shared.nets)
            .get(port)
            .copied()
            .unwrap_or_default()
    }

    /// Waits (at most half a second) until the thread has read every
    /// frame sent before this call: a host's frames are queued on its
    /// port by the time its send returns, and the counts and the capture
    /// must include them.
    pub fn sync(&self) {
        let start = self.shared.rounds.load(Ordering::SeqCst);
        self.wake();
        let deadline = Instant::now() + Duration::from_millis(500);
        // Two rounds: the one running now may have polled before the
        // last frames came.
        while self.shared.rounds.load(Ordering::SeqCst) < start + 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: an 8-byte write to our eventfd.
        unsafe {
            libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8);
        }
    }

    pub fn counts(&self, port: usize) -> Counts {
        lock(&self.shared.counts)
            .get(port)
            .copied()
            .unwrap_or_default()
    }

    /// The captured segments that `pred` selects, each with what the
    /// switch did to it (None: delivered once, as sent).
    pub fn segments(&self, pred: &dyn Fn(&Segment) -> bool) -> Vec<(Segment, Option<Mark>)> {
        let c = lock(&self.shared.capture);
        c.segments
            .iter()
            .filter(|s| pred(s))
            .map(|s| (s.clone(), c.marks.get(&key(s)).cloned()))
            .collect()
    }

    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The biggest frame read (the links send at most an MTU of 1500 bytes
/// with offloads off; more is cut and dropped).
const FRAME_MAX: usize = 65536;

fn run(ports: &[Port], shared: &Shared, stop: &AtomicBool, wake: &OwnedFd) {
    let mut held: BinaryHeap<Held> = BinaryHeap::new();
    let mut queued = vec![0usize; ports.len()];
    let mut busy_until: Vec<Option<Instant>> = vec![None; ports.len()];
    let mut rng = Rng::new();
    let mut n: u64 = 0;
    let mut buf = vec![0u8; FRAME_MAX];
    let mut fds: Vec<libc::pollfd> = ports
        .iter()
        .map(|p| libc::pollfd {
            fd: p.sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .chain(std::iter::once(libc::pollfd {
            fd: wake.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }))
        .collect();
    while !stop.load(Ordering::SeqCst) {
        let wait = held
            .peek()
            .map_or(Duration::from_millis(500), |h| {
                h.at.saturating_duration_since(Instant::now())
            })
            .min(Duration::from_millis(500));
        let ts = libc::timespec {
            tv_sec: wait.as_secs() as libc::time_t,
            tv_nsec: libc::c_long::from(wait.subsec_nanos() as i32),
        };
        for f in fds.iter_mut() {
            f.revents = 0;
        }
        // SAFETY: valid pollfds of their count; no signal mask change.
        let rc = unsafe {
            libc::ppoll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                &ts,
                std::ptr::null(),
            )
        };
        if rc > 0 {
            let nets = lock(&shared.nets).clone();
            for (k, port) in ports.iter().enumerate() {
                if fds[k].revents & libc::POLLIN == 0 {
                    continue;
                }
                // A bounded batch per port, so no host starves the others
                // (a port with more is read again next round).
                for _ in 0..1024 {
                    // SAFETY: receiving into a buffer of its length.
                    let got = unsafe {
                        libc::recv(
                            port.sock.as_raw_fd(),
                            buf.as_mut_ptr().cast(),
                            buf.len(),
                            libc::MSG_TRUNC | libc::MSG_DONTWAIT,
                        )
                    };
                    if got <= 0 {
                        break;
                    }
                    let len = got as usize;
                    if len > buf.len() || len < 14 {
                        continue;
                    }
                    let frame = &buf[..len];
                    let net = nets.get(k).copied().unwrap_or_default();
                    let now = Instant::now();
                    lock(&shared.counts)[k].sent += 1;
                    if rng.chance(net.loss) {
                        lock(&shared.counts)[k].lost += 1;
                        // Shown when it would have arrived, among the
                        // segments that did (they are shown as they arrive).
                        let when = now + net.delay;
                        record(shared, frame, when, Some(Mark::Lost(port.host.clone())));
                        continue;
                    }
                    let copies = if rng.chance(net.duplicate) {
                        lock(&shared.counts)[k].duplicated += 1;
                        2
                    } else {
                        1
                    };
                    for c in 0..copies {
                        if queued[k] >= LIMIT {
                            lock(&shared.counts)[k].overflow += 1;
                            continue;
                        }
                        let mut at = now;
                        if let Some(rate) = net.rate.filter(|r| *r > 0) {
                            // The link carries one frame at a time.
                            let tx = Duration::from_secs_f64(len as f64 * 8.0 / rate as f64);
                            let start = busy_until[k].filter(|b| *b > now).unwrap_or(now);
                            at = start + tx;
                            busy_until[k] = Some(at);
                        }
                        if !net.delay.is_zero() && !rng.chance(net.reorder) {
                            let j = net.jitter.as_secs_f64();
                            let d = net.delay.as_secs_f64() + (rng.next() * 2.0 - 1.0) * j;
                            at += Duration::from_secs_f64(d.max(0.0));
                        }
                        n += 1;
                        queued[k] += 1;
                        held.push(Held {
                            at,
                            n,
                            from: k,
                            dup: c == 1,
                            frame: frame.to_vec(),
                        });
                    }
                }
            }
            if fds[ports.len()].revents & libc::POLLIN != 0 {
                let mut v = [0u8; 8];
                // SAFETY: an 8-byte read from our eventfd.
                unsafe { libc::read(wake.as_raw_fd(), v.as_mut_ptr().cast(), 8) };
            }
        }
        // Everything whose time has come, in time order.
        let now = Instant::now();
        while held.peek().is_some_and(|h| h.at <= now) {
            let Some(h) = held.pop() else { break };
            queued[h.from] = queued[h.from].saturating_sub(1);
            deliver(ports, h.from, &h.frame);
            let mark = h.dup.then(|| Mark::Duplicate(ports[h.from].host.clone()));
            // Its due time (not the moment the loop got to it), so segments
            // read in one batch keep the order they were sent in.
            record(shared, &h.frame, h.at, mark);
        }
        shared.rounds.fetch_add(1, Ordering::SeqCst);
    }
}

/// Writes a frame to the port(s) it is for: the one with its destination
/// MAC, or every other port for broadcast and unknown addresses.
fn deliver(ports: &[Port], from: usize, frame: &[u8]) {
    let dst = &frame[..6];
    let target = if dst[0] & 1 == 0 {
        ports.iter().position(|p| p.mac == dst)
    } else {
        None
    };
    for (k, p) in ports.iter().enumerate() {
        if k == from || target.is_some_and(|t| t != k) {
            continue;
        }
        // A full queue on the way out is a lost frame, as on a real link.
        // SAFETY: sending a buffer of its length on our packet socket.
        unsafe {
            libc::send(
                p.sock.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                libc::MSG_DONTWAIT,
            );
        }
    }
}

/// Keeps the TCP segment in `frame` for `states`, with its mark.
///
/// Every segment is kept, none folded into a burst as the capture on `lo`
/// does with bulk transfers: on a lossy link the one segment lost, and
/// its retransmission, are what a lesson is about. The oldest go first.
fn record(shared: &Shared, frame: &[u8], at: Instant, mark: Option<Mark>) {
    // The headers and the start of the data, as the capture on `lo` keeps
    // them (for `states save`).
    let first = &frame[..frame.len().min(capture::SNAP)];
    let Some(Packet::Tcp(mut seg)) =
        packet::parse_frame(first, frame.len() as u32, packet::nanos_at(at))
    else {
        return;
    };
    let mut c = lock(&shared.capture);
    if let Some(m) = mark {
        if c.marks.len() >= capture::KEEP {
            c.marks.clear();
        }
        c.marks.insert(key(&seg), m);
    }
    c.keeper.follow(&mut seg);
    if c.segments.len() >= capture::KEEP {
        c.segments.pop_front();
    }
    c.segments.push_back(seg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nets_are_described_as_tc_writes_them() {
        assert_eq!(Net::default().describe(), "none");
        let n = Net {
            loss: 0.3,
            delay: Duration::from_millis(100),
            jitter: Duration::from_millis(10),
            reorder: 0.25,
            duplicate: 0.005,
            rate: Some(1_000_000),
        };
        assert_eq!(
            n.describe(),
            "loss 30%, delay 100ms jitter 10ms, reorder 25%, duplicate 0.5%, rate 1mbit"
        );
        assert_eq!(rate_text(64_000), "64kbit");
        assert_eq!(rate_text(1500), "1500bit");
    }

    #[test]
    fn chance_is_near_its_probability() {
        let mut r = Rng(12345);
        let hits = (0..10_000).filter(|_| r.chance(0.3)).count();
        assert!((2_700..3_300).contains(&hits), "{hits}");
        assert!(!(0..1000).any(|_| r.chance(0.0)));
        assert!((0..1000).all(|_| r.chance(1.0)));
    }

    #[test]
    fn held_frames_come_out_earliest_first() {
        let t = Instant::now();
        let mut h = BinaryHeap::new();
        for (k, ms) in [30u64, 10, 20].into_iter().enumerate() {
            h.push(Held {
                at: t + Duration::from_millis(ms),
                n: k as u64,
                from: 0,
                dup: false,
                frame: Vec::new(),
            });
        }
        let order: Vec<u64> = std::iter::from_fn(|| h.pop().map(|x| x.n)).collect();
        assert_eq!(order, vec![1, 2, 0]);
    }
}

//! The capture: the frames on one interface (`lo` for the shell), read as
//! they pass, so the handshake, the data, the close, a reset and a UDP
//! datagram's "port unreachable" can be read off afterwards.
//!
//! A packet socket (AF_PACKET; it needs CAP_NET_RAW: root, or the user
//! namespace of `sockplay --lab`) bound to `lo` sees every frame twice:
//! once going out and once coming in. It is kept cheap, because a bulk
//! transfer (`send c zeros 1G`) puts tens of thousands of segments a
//! second on `lo`:
//!
//! - PACKET_IGNORE_OUTGOING: the kernel does not even clone outgoing
//!   frames for us; the incoming copy of each is the one read;
//! - a classic BPF filter ([`filter`]) runs in the kernel and keeps only
//!   TCP segments that are SYN, FIN or RST, or smaller than 32 KiB, UDP
//!   datagrams and ICMP "destination unreachable": the full-size data
//!   segments of a bulk transfer (64 KiB on `lo`) are never queued, and
//!   `states` tells their bytes from the sequence numbers;
//! - the filter keeps only the first [`SNAP`] bytes of what it passes (the
//!   headers, and the start of a small send), and the kernel writes them
//!   into a ring mapped into this process (PACKET_RX_RING): no socket
//!   buffer, no call per segment; a thread reads the ring every 10 ms, and
//!   a reader ([`Capture::packets`]) reads it first itself;
//! - past the first segments of a burst (a bulk transfer), a connection's
//!   segments are counted on the last one kept ([`Segment::more`]).
//!
//! So a lesson's handshake, its small sends and its close are all there,
//! and a 1 GiB transfer adds a few rows rather than flooding [`KEEP`].
//! Without the privilege the capture does not start and the `states` view
//! falls back to states sampled after each command.
//!
//! [`Capture::open`] takes an interface name and opens it in the network
//! namespace of the calling thread: a thread that has entered another
//! namespace (setns) can open a capture there and leave; the packet socket
//! stays bound to that namespace's interface.

use super::packet::{ACK, FIN, Frame, Nanos, Packet, RST, SYN, Segment, parse_headers};
use socket2::{Domain, SockAddr, Socket, Type};
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Packets kept (the oldest go first).
pub const KEEP: usize = 20_000;
/// Bytes of each frame read: Ethernet + IPv6 + TCP with options fit, and
/// the first bytes of a small send.
pub const SNAP: usize = 160;

/// The last segment of a send is kept when smaller than this (IP length).
pub const BULK: u32 = 32 * 1024;
/// A connection's segments more than this many in a burst (each less than
/// [`BURST_GAP`] after the one before) are counted, not kept one by one.
pub const BURST_KEEP: u32 = 24;
const BURST_GAP: Nanos = 50_000_000;

/// PACKET_IGNORE_OUTGOING (linux/if_packet.h; Linux 4.20).
pub(crate) const PACKET_IGNORE_OUTGOING: libc::c_int = 23;

// cBPF opcodes (linux/filter.h): class | size | mode, class | op | src.
const LD_W_ABS: u16 = 0x20;
const LD_H_ABS: u16 = 0x28;
const LD_B_ABS: u16 = 0x30;
const LD_B_IND: u16 = 0x50;
const LDX_B_MSH: u16 = 0xb1;
const JEQ_K: u16 = 0x15;
const JGT_K: u16 = 0x25;
const JGE_K: u16 = 0x35;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;
/// The packet type, an ancillary word (SKF_AD_OFF + SKF_AD_PKTTYPE).
const AD_PKTTYPE: u32 = (-0x1000i32 + 4) as u32;

/// Where a jump of the filter goes: the next instruction, or a label.
#[derive(Clone, Copy)]
enum To {
    Next,
    L(&'static str),
}

/// One instruction of the filter being written, maybe labelled.
#[derive(Clone, Copy)]
struct Ins {
    label: Option<&'static str>,
    code: u16,
    jt: To,
    jf: To,
    k: u32,
}

const fn ins(code: u16, jt: To, jf: To, k: u32) -> Ins {
    Ins {
        label: None,
        code,
        jt,
        jf,
        k,
    }
}

const fn at(label: &'static str, i: Ins) -> Ins {
    Ins {
        label: Some(label),
        ..i
    }
}

/// Turns labels into the forward offsets cBPF jumps by.
fn assemble(prog: &[Ins]) -> Vec<libc::sock_filter> {
    let find = |from: usize, to: To| -> u8 {
        let target = match to {
            To::Next => from + 1,
            To::L(l) => prog
                .iter()
                .position(|i| i.label == Some(l))
                .expect("the filter's labels are its own"),
        };
        u8::try_from(target - from - 1).expect("the filter jumps forward, less than 256")
    };
    prog.iter()
        .enumerate()
        .map(|(n, i)| libc::sock_filter {
            code: i.code,
            jt: find(n, i.jt),
            jf: find(n, i.jf),
            k: i.k,
        })
        .collect()
}

/// The filter: frames (of packet type `want`, when given) holding
///
/// - an IPv4 or IPv6 TCP segment that is SYN, FIN or RST (the states), or
///   a pure ACK (an IP length of at most 80 bytes: headers with options),
///   or the last segment of a send (PSH) under [`BULK`] bytes;
/// - a UDP datagram;
/// - an ICMP or ICMPv6 "destination unreachable";
///
/// of those, the first [`SNAP`] bytes. So a bulk transfer's data segments
/// (64 KiB ones, and the pieces between them) never leave the kernel;
/// `states` counts their bytes from the sequence numbers. Offsets are of
/// an Ethernet frame (the loopback's header is 14 zero bytes and the type).
/// A TCP segment takes the same path through it as before UDP and ICMP
/// were added: they are tested only once TCP is ruled out.
pub fn filter(want: Option<u8>) -> Vec<libc::sock_filter> {
    use To::{L, Next as N};
    let mut p = Vec::new();
    if let Some(w) = want {
        p.push(ins(LD_W_ABS, N, N, AD_PKTTYPE));
        p.push(ins(JEQ_K, N, L("drop"), u32::from(w)));
    }
    p.extend([
        ins(LD_H_ABS, N, N, 12),                     // ethertype
        ins(JEQ_K, N, L("v6"), 0x0800),              // IPv4
        ins(LD_B_ABS, N, N, 14 + 9),                 // protocol
        ins(JEQ_K, N, L("v4other"), 6),              // TCP
        ins(LD_H_ABS, N, N, 14 + 6),                 // fragment offset
        ins(JSET_K, L("drop"), N, 0x1fff),           // a fragment
        ins(LDX_B_MSH, N, N, 14),                    // X = IP header length
        ins(LD_B_IND, N, N, 14 + 13),                // TCP flags
        ins(JSET_K, L("keep"), N, 0x07),             // FIN|SYN|RST
        ins(JSET_K, N, L("v4ack"), 0x08),            // PSH
        ins(LD_H_ABS, N, N, 14 + 2),                 // IP total length
        ins(JGE_K, L("drop"), L("keep"), BULK),      // bulk, or a send's end
        at("v4ack", ins(LD_H_ABS, N, N, 14 + 2)),    // IP total length
        ins(JGT_K, L("drop"), L("keep"), 80),        // data, or a pure ACK
        at("v4other", ins(JEQ_K, L("keep"), N, 17)), // UDP
        ins(JEQ_K, N, L("drop"), 1),                 // ICMP
        ins(LDX_B_MSH, N, N, 14),
        ins(LD_B_IND, N, N, 14),                    // ICMP type
        ins(JEQ_K, L("keep"), L("drop"), 3),        // destination unreachable
        at("v6", ins(JEQ_K, N, L("drop"), 0x86dd)), // IPv6
        ins(LD_B_ABS, N, N, 14 + 6),                // next header
        ins(JEQ_K, N, L("v6other"), 6),             // TCP
        ins(LD_B_ABS, N, N, 14 + 40 + 13),          // TCP flags
        ins(JSET_K, L("keep"), N, 0x07),            // FIN|SYN|RST
        ins(JSET_K, N, L("v6ack"), 0x08),           // PSH
        ins(LD_H_ABS, N, N, 14 + 4),                // payload length
        ins(JGE_K, L("drop"), L("keep"), BULK),
        at("v6ack", ins(LD_H_ABS, N, N, 14 + 4)),
        ins(JGT_K, L("drop"), L("keep"), 60),
        at("v6other", ins(JEQ_K, L("keep"), N, 17)), // UDP
        ins(JEQ_K, N, L("drop"), 58),                // ICMPv6
        ins(LD_B_ABS, N, N, 14 + 40),                // ICMPv6 type
        ins(JEQ_K, L("keep"), L("drop"), 1),         // destination unreachable
        at("keep", ins(RET_K, N, N, SNAP as u32)),
        at("drop", ins(RET_K, N, N, 0)),
    ]);
    assemble(&p)
}

fn attach(sock: &Socket, prog: &[libc::sock_filter]) -> std::io::Result<()> {
    let fprog = libc::sock_fprog {
        len: u16::try_from(prog.len()).map_err(std::io::Error::other)?,
        filter: prog.as_ptr().cast_mut(),
    };
    // SAFETY: a valid program of `len` instructions, copied by the kernel.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&fprog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sets an int socket option; whether the kernel took it.
pub(crate) fn set_int(
    sock: &Socket,
    level: libc::c_int,
    name: libc::c_int,
    v: libc::c_int,
) -> bool {
    // SAFETY: an int option.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        ) == 0
    }
}

/// The ports whose packets are kept: the ports of the shell's own sockets
/// (other programs on `lo` must not push them out of the buffer), or all
/// of them. One bit per port, so it is read without a lock.
pub struct Ports {
    bits: [AtomicU64; 1024],
    all: AtomicBool,
}

impl Ports {
    fn new() -> Ports {
        Ports {
            bits: std::array::from_fn(|_| AtomicU64::new(0)),
            all: AtomicBool::new(false),
        }
    }

    pub fn watch(&self, port: u16) {
        let p = usize::from(port);
        self.bits[p / 64].fetch_or(1 << (p % 64), Ordering::Relaxed);
    }

    pub fn watched(&self, port: u16) -> bool {
        let p = usize::from(port);
        self.all.load(Ordering::Relaxed)
            || self.bits[p / 64].load(Ordering::Relaxed) & (1 << (p % 64)) != 0
    }
}

/// A running capture.
pub struct Capture {
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    iface: String,
}

/// What the capture thread and readers share: the packet socket and its
/// ring (either may read it) and what was read from it.
struct Shared {
    // The ring is unmapped before the socket closes (field order).
    ring: Ring,
    sock: Socket,
    /// The packet type of the copy of each frame that is read (None: all).
    want: Option<u8>,
    ports: Ports,
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    packets: VecDeque<Packet>,
    keeper: Keeper,
    /// The ring's next frame to read.
    next: usize,
    /// Frames the kernel had no room for in the ring, so far.
    lost: u64,
}

/// How long the capture thread lets frames gather in the ring between two
/// reads: one wakeup per pause rather than one per segment. `states` reads
/// the ring itself first, so it never misses the last segments; times are
/// the kernel's.
const PAUSE: Duration = Duration::from_millis(10);

/// One frame slot of the ring: the header, the address, and [`SNAP`] bytes
/// of the frame fit (the kernel puts the frame at offset 66).
const FRAME: usize = 256;
/// Frames in the ring (1 MiB, resident once written): a 10 ms pause at
/// 100,000 segments a second fills a quarter of it.
const FRAMES: usize = 4096;
const BLOCK: usize = 64 * 1024;

/// The receive ring the kernel writes frames into (PACKET_RX_RING,
/// TPACKET_V2): no socket buffer, no copy of the packet (the kernel copies
/// [`SNAP`] bytes into a slot), no call per frame.
struct Ring {
    base: *mut u8,
    len: usize,
}

// SAFETY: the mapping lives as long as the Ring; its frames are read and
// handed back only under the `kept` mutex of the Shared that owns it.
unsafe impl Send for Ring {}
// SAFETY: as above.
unsafe impl Sync for Ring {}

impl Ring {
    /// Sets up TPACKET_V2 and the ring on `sock` and maps it.
    fn new(sock: &Socket) -> std::io::Result<Ring> {
        if !set_int(
            sock,
            libc::SOL_PACKET,
            libc::PACKET_VERSION,
            libc::tpacket_versions::TPACKET_V2 as libc::c_int,
        ) {
            return Err(std::io::Error::last_os_error());
        }
        let req = libc::tpacket_req {
            tp_block_size: BLOCK as libc::c_uint,
            tp_block_nr: (FRAMES * FRAME / BLOCK) as libc::c_uint,
            tp_frame_size: FRAME as libc::c_uint,
            tp_frame_nr: FRAMES as libc::c_uint,
        };
        // SAFETY: a tpacket_req of its size.
        let rc = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_RX_RING,
                (&req as *const libc::tpacket_req).cast(),
                std::mem::size_of::<libc::tpacket_req>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let len = FRAMES * FRAME;
        // SAFETY: mapping the ring the kernel just made for this socket.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                sock.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Ring {
            base: base.cast(),
            len,
        })
    }

    /// The status word of frame `k` (shared with the kernel).
    fn status(&self, k: usize) -> &std::sync::atomic::AtomicU32 {
        // SAFETY: k < FRAMES; tp_status is the first, aligned word of the
        // frame, and the mapping outlives &self.
        unsafe {
            &*self
                .base
                .add(k * FRAME)
                .cast::<std::sync::atomic::AtomicU32>()
        }
    }

    /// Frame `k`, once the kernel has handed it over: its packet type, the
    /// kernel's time, its length on the wire and its first bytes.
    fn frame(&self, k: usize) -> Option<(u8, libc::timespec, u32, &[u8])> {
        if self.status(k).load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
            return None;
        }
        // SAFETY: the slot is ours until handed back; the header and the
        // address sit at the start of it, the bytes within it (checked).
        unsafe {
            let slot = self.base.add(k * FRAME);
            let h: libc::tpacket2_hdr = std::ptr::read_unaligned(slot.cast());
            let ll: libc::sockaddr_ll = std::ptr::read_unaligned(
                slot.add(libc::TPACKET_ALIGN(
                    std::mem::size_of::<libc::tpacket2_hdr>(),
                ))
                .cast(),
            );
            let at = usize::from(h.tp_mac).min(FRAME);
            let len = (h.tp_snaplen as usize).min(FRAME - at);
            let ts = libc::timespec {
                tv_sec: h.tp_sec.into(),
                tv_nsec: h.tp_nsec.into(),
            };
            Some((
                ll.sll_pkttype,
                ts,
                h.tp_len,
                std::slice::from_raw_parts(slot.add(at), len),
            ))
        }
    }

    /// Hands frame `k` back to the kernel.
    fn release(&self, k: usize) {
        self.status(k)
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: the mapping made in new(), unmapped once.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

/// The address a packet socket binds to take every frame (ETH_P_ALL) of
/// link `index` (a capture's interface, and the lab switch's ports).
pub(crate) fn link_addr(index: u32) -> std::io::Result<SockAddr> {
    let index = i32::try_from(index).map_err(std::io::Error::other)?;
    // SAFETY: sockaddr_ll fits in sockaddr_storage; every field is set.
    let ((), addr) = unsafe {
        SockAddr::try_init(|storage, len| {
            let ll = storage.cast::<libc::sockaddr_ll>();
            std::ptr::write_bytes(ll, 0, 1);
            (*ll).sll_family = libc::AF_PACKET as u16;
            (*ll).sll_protocol = (libc::ETH_P_ALL as u16).to_be();
            (*ll).sll_ifindex = index;
            *len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            Ok(())
        })
    }?;
    Ok(addr)
}

/// The packet socket bound to `iface` (in the calling thread's network
/// namespace), its ring, and the packet type of the copy of each frame it
/// reads.
fn open_on(iface: &str) -> std::io::Result<(Socket, Ring, Option<u8>)> {
    // Protocol 0: no frames until bind, which hooks it to the interface
    // once. (Made with ETH_P_ALL, it would be hooked to every interface
    // first and bind would unhook it, which waits for an RCU grace period.)
    let sock = Socket::new(Domain::PACKET, Type::RAW, None)?;
    let name = std::ffi::CString::new(iface).map_err(std::io::Error::other)?;
    // SAFETY: a NUL-terminated name.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(std::io::Error::last_os_error());
    }
    let addr = link_addr(index)?;
    // On `lo` every frame passes twice: the incoming copy of each when the
    // kernel can skip the outgoing ones for us (no clone on the sending
    // path), else the outgoing copy. On any other interface a frame passes
    // once, going out or coming in: both are read.
    let want = if iface != "lo" {
        None
    } else if set_int(&sock, libc::SOL_PACKET, PACKET_IGNORE_OUTGOING, 1) {
        Some(libc::PACKET_HOST)
    } else {
        Some(libc::PACKET_OUTGOING)
    };
    attach(&sock, &filter(want))?;
    let ring = Ring::new(&sock)?;
    sock.bind(&addr)?;
    sock.set_nonblocking(true)?;
    // Out of the learner's way: their first socket is fd 3, as in a fresh
    // Python process.
    let sock = Socket::from(crate::table::move_high(std::os::fd::OwnedFd::from(sock)));
    Ok((sock, ring, want))
}

impl Capture {
    /// Starts capturing on `lo`; Err when not permitted (no CAP_NET_RAW).
    pub fn loopback() -> std::io::Result<Capture> {
        Capture::open("lo")
    }

    /// Starts capturing on interface `iface` of the calling thread's
    /// network namespace (see the module's doc); Err when not permitted
    /// or when there is no such interface.
    pub fn open(iface: &str) -> std::io::Result<Capture> {
        let (sock, ring, want) = open_on(iface)?;
        let shared = Arc::new(Shared {
            ring,
            sock,
            want,
            ports: Ports::new(),
            kept: Mutex::default(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("capture".into())
                .spawn(move || capture(&shared, &stop))?
        };
        Ok(Capture {
            shared,
            stop,
            thread: Some(thread),
            iface: iface.to_string(),
        })
    }

    /// The interface it captures on.
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// Keeps the packets to and from `port` from now on.
    pub fn watch(&self, port: u16) {
        if port != 0 {
            self.shared.ports.watch(port);
        }
    }

    /// A function that does [`Capture::watch`] from another thread (a
    /// watched program's ports, learnt from its reports).
    pub fn port_watcher(&self) -> Arc<dyn Fn(u16) + Send + Sync> {
        let shared = Arc::clone(&self.shared);
        Arc::new(move |port: u16| {
            if port != 0 {
                shared.ports.watch(port);
            }
        })
    }

    /// Keeps every packet from now on, whatever its ports (a namespace of
    /// the learner's own, where every packet is theirs).
    pub fn watch_all(&self) {
        self.shared.ports.all.store(true, Ordering::Relaxed);
    }

    /// The packets that `pred` selects, including those still in the ring.
    pub fn packets(&self, pred: &dyn Fn(&Packet) -> bool) -> Vec<Packet> {
        self.shared.drain();
        self.shared
            .kept
            .lock()
            .map(|k| k.packets.iter().filter(|x| pred(x)).cloned().collect())
            .unwrap_or_default()
    }

    /// The TCP segments between `a` and `b`, both ways, in order.
    pub fn segments(&self, a: SocketAddr, b: SocketAddr) -> Vec<Segment> {
        self.shared.drain();
        self.shared
            .kept
            .lock()
            .map(|k| {
                k.packets
                    .iter()
                    .filter_map(Packet::as_tcp)
                    .filter(|s| (s.src == a && s.dst == b) || (s.src == b && s.dst == a))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Frames that were lost because the ring was full (the kernel counts
    /// them; the capture thread fell behind), so far.
    pub fn lost(&self) -> u64 {
        let mut st = libc::tpacket_stats {
            tp_packets: 0,
            tp_drops: 0,
        };
        let mut len = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
        // SAFETY: PACKET_STATISTICS fills a tpacket_stats (and resets the
        // kernel's counts, so they are added up here).
        let rc = unsafe {
            libc::getsockopt(
                self.shared.sock.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut libc::tpacket_stats).cast(),
                &mut len,
            )
        };
        let Ok(mut k) = self.shared.kept.lock() else {
            return 0;
        };
        if rc == 0 {
            k.lost += u64::from(st.tp_drops);
        }
        k.lost
    }
}

/// A connection's (or a UDP flow's) burst so far.
struct Burst {
    kept: u32,
    last: Nanos,
}

/// One direction's byte stream: a 32-bit sequence number unwrapped.
struct Stream {
    pos: u64,
    mark: u32,
}

impl Stream {
    /// The 64-bit position of sequence number `p` (seen shortly after the
    /// last one: segments and ACKs come far more often than every 2 GiB).
    fn at(&mut self, p: u32) -> u64 {
        let ahead = p.wrapping_sub(self.mark);
        if ahead < 1 << 31 {
            self.pos += u64::from(ahead);
            self.mark = p;
            self.pos
        } else {
            self.pos
                .saturating_sub(u64::from(self.mark.wrapping_sub(p)))
        }
    }
}

/// Keeps a packet, or counts it on its flow's last kept one when it is
/// deep in a burst of plain segments (no SYN, FIN or RST) or datagrams.
#[derive(Default)]
pub(crate) struct Keeper {
    bursts: std::collections::HashMap<(SocketAddr, SocketAddr), Burst>,
    /// By direction (from, to).
    streams: std::collections::HashMap<(SocketAddr, SocketAddr), Stream>,
}

/// A flow's key, the same both ways.
fn key(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b { (a, b) } else { (b, a) }
}

/// The flow a packet belongs to (none for an ICMP error: always kept).
fn flow(p: &Packet) -> Option<(SocketAddr, SocketAddr)> {
    match p {
        Packet::Tcp(s) => Some(key(s.src, s.dst)),
        Packet::Udp(d) => Some(key(d.src, d.dst)),
        Packet::Unreachable(_) => None,
    }
}

impl Keeper {
    /// Follows both directions' positions through this segment.
    pub(crate) fn follow(&mut self, s: &mut Segment) {
        if self.streams.len() > 8192 {
            self.streams.clear();
        }
        let own = self.streams.entry((s.src, s.dst)).or_insert(Stream {
            pos: u64::from(s.seq),
            mark: s.seq,
        });
        s.pos = own.at(s.seq);
        own.at(s.seq.wrapping_add(s.len));
        if s.has(ACK)
            && let Some(back) = self.streams.get_mut(&(s.dst, s.src))
        {
            back.at(s.ack);
        }
    }

    /// Keeps `p` (its frame's first bytes: `bytes`) or counts it.
    fn keep(&mut self, mut p: Packet, bytes: &[u8], kept: &mut VecDeque<Packet>) {
        if let Packet::Tcp(s) = &mut p {
            self.follow(s);
        }
        let always = match &p {
            Packet::Tcp(s) => s.has(SYN) || s.has(FIN) || s.has(RST),
            Packet::Udp(_) => false,
            Packet::Unreachable(_) => true,
        };
        if let Some(key) = flow(&p) {
            if always {
                self.bursts.remove(&key);
            } else {
                let t = p.t();
                let b = self.bursts.entry(key).or_insert(Burst { kept: 0, last: t });
                if t.saturating_sub(b.last) >= BURST_GAP {
                    b.kept = 0;
                }
                b.last = t;
                if b.kept >= BURST_KEEP
                    && let Some(prev) = kept
                        .iter_mut()
                        .rev()
                        .take(4096)
                        .find(|q| flow(q) == Some(key))
                {
                    match prev {
                        Packet::Tcp(s) => s.more = s.more.saturating_add(1),
                        Packet::Udp(d) => d.more = d.more.saturating_add(1),
                        Packet::Unreachable(_) => {}
                    }
                    return;
                }
                b.kept += 1;
            }
        }
        if self.bursts.len() > 4096 {
            self.bursts.clear();
        }
        if let Packet::Tcp(s) = &p
            && s.has(RST)
        {
            self.streams.remove(&(s.src, s.dst));
            self.streams.remove(&(s.dst, s.src));
        }
        if kept.len() >= KEEP {
            kept.pop_front();
        }
        let len = p.frame().len;
        *p.frame_mut() = Frame {
            bytes: bytes.into(),
            len,
        };
        kept.push_back(p);
    }
}

impl Shared {
    /// Reads every frame the kernel has put in the ring.
    fn drain(&self) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        let kept = &mut *kept;
        while let Some((pkttype, ts, len, bytes)) = self.ring.frame(kept.next) {
            // The filter checked the type already.
            if self.want.is_none_or(|w| w == pkttype) {
                let t = u64::try_from(ts.tv_sec)
                    .unwrap_or(0)
                    .saturating_mul(1_000_000_000)
                    .saturating_add(u64::try_from(ts.tv_nsec).unwrap_or(0));
                if let Some(p) = parse_headers(bytes, len, t) {
                    let (a, b) = p.ports();
                    if self.ports.watched(a) || self.ports.watched(b) {
                        kept.keeper.keep(p, bytes, &mut kept.packets);
                    }
                }
            }
            self.ring.release(kept.next);
            kept.next = (kept.next + 1) % FRAMES;
        }
    }
}

fn capture(shared: &Shared, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let mut p = libc::pollfd {
            fd: shared.sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut p, 1, 50) };
        if rc <= 0 {
            continue;
        }
        shared.drain();
        std::thread::sleep(PAUSE);
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Unspecified addresses mean "this host" for matching a listener.
pub fn same_host(a: IpAddr, b: IpAddr) -> bool {
    a == b
        || a == IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        || b == IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        || a == IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        || b == IpAddr::V6(Ipv6Addr::UNSPECIFIED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::packet::tests::frame4;
    use crate::wire::packet::{PSH, parse_frame};

    /// Runs a classic BPF program the way the kernel does, for the few
    /// opcodes [`filter`] uses.
    fn run(prog: &[libc::sock_filter], frame: &[u8], pkttype: u8) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let byte = |k: usize| u32::from(frame.get(k).copied().unwrap_or(0));
        loop {
            let i = prog[pc];
            pc += 1;
            let k = i.k as usize;
            match i.code {
                LD_W_ABS if i.k == AD_PKTTYPE => a = u32::from(pkttype),
                LD_H_ABS => a = byte(k) << 8 | byte(k + 1),
                LD_B_ABS => a = byte(k),
                LD_B_IND => a = byte(x as usize + k),
                LDX_B_MSH => x = (byte(k) & 0xf) * 4,
                JEQ_K | JGT_K | JGE_K | JSET_K => {
                    let yes = match i.code {
                        JEQ_K => a == i.k,
                        JGT_K => a > i.k,
                        JGE_K => a >= i.k,
                        _ => a & i.k != 0,
                    };
                    pc += usize::from(if yes { i.jt } else { i.jf });
                }
                RET_K => return i.k,
                other => panic!("opcode {other:#x}"),
            }
        }
    }

    fn tcp4(flags: u8, len: u16) -> Vec<u8> {
        frame4(flags, len, &[])
    }

    fn tcp6(flags: u8, len: u16) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 40 + 20];
        f[12] = 0x86;
        f[13] = 0xdd;
        f[14] = 0x60;
        f[18..20].copy_from_slice(&(20 + len).to_be_bytes());
        f[20] = 6;
        f[14 + 40 + 12] = 5 << 4;
        f[14 + 40 + 13] = flags;
        f
    }

    #[test]
    fn the_filter_keeps_what_states_needs_and_drops_bulk() {
        for want in [Some(libc::PACKET_HOST), None] {
            let prog = filter(want);
            let snap = SNAP as u32;
            for frame in [tcp4 as fn(u8, u16) -> Vec<u8>, tcp6] {
                assert_eq!(run(&prog, &frame(SYN, 0), 0), snap, "SYN");
                assert_eq!(run(&prog, &frame(SYN | ACK, 0), 0), snap, "SYN-ACK");
                assert_eq!(run(&prog, &frame(ACK, 0), 0), snap, "ACK");
                assert_eq!(run(&prog, &frame(FIN | ACK, 0), 0), snap, "FIN");
                assert_eq!(run(&prog, &frame(RST, 0), 0), snap, "RST");
                assert_eq!(run(&prog, &frame(PSH | ACK, 5), 0), snap, "a small send");
                assert_eq!(run(&prog, &frame(PSH | ACK, 30000), 0), snap, "a send");
                assert_eq!(run(&prog, &frame(FIN | PSH | ACK, 65000), 0), snap);
                assert_eq!(run(&prog, &frame(ACK, 65483), 0), 0, "bulk");
                assert_eq!(run(&prog, &frame(PSH | ACK, 65483), 0), 0, "bulk end");
                assert_eq!(run(&prog, &frame(ACK, 53), 0), 0, "a piece of bulk");
                let other = run(&prog, &frame(SYN, 0), libc::PACKET_OUTGOING);
                if want.is_some() {
                    // The other copy of each frame on lo is not read.
                    assert_eq!(other, 0);
                } else {
                    // Elsewhere, what goes out is read too.
                    assert_eq!(other, snap);
                }
            }
            // UDP: kept; ICMP: only "destination unreachable"; others: not.
            let mut udp = tcp4(0, 10);
            udp[23] = 17;
            assert_eq!(run(&prog, &udp, 0), snap, "UDP");
            let mut icmp = tcp4(0, 10);
            icmp[23] = 1;
            icmp[34] = 3;
            assert_eq!(run(&prog, &icmp, 0), snap, "port unreachable");
            icmp[34] = 8;
            assert_eq!(run(&prog, &icmp, 0), 0, "an echo request");
            let mut udp6 = tcp6(0, 10);
            udp6[20] = 17;
            assert_eq!(run(&prog, &udp6, 0), snap, "UDP over IPv6");
            let mut icmp6 = tcp6(0, 10);
            icmp6[20] = 58;
            icmp6[54] = 1;
            assert_eq!(run(&prog, &icmp6, 0), snap, "ICMPv6 unreachable");
            icmp6[54] = 135;
            assert_eq!(run(&prog, &icmp6, 0), 0, "neighbour solicitation");
            let mut sctp = tcp4(0, 10);
            sctp[23] = 132;
            assert_eq!(run(&prog, &sctp, 0), 0, "neither TCP, UDP nor ICMP");
        }
    }

    /// The TCP path through the filter is as long as it was before UDP and
    /// ICMP were added (15 instructions to the verdict for a bulk segment
    /// on lo): a bulk transfer's segments pay nothing for them.
    #[test]
    fn tcp_takes_the_short_path() {
        let prog = filter(Some(libc::PACKET_HOST));
        let f = tcp4(ACK, 65483);
        let (mut a, mut x, mut pc, mut steps) = (0u32, 0u32, 0usize, 0);
        let byte = |k: usize| u32::from(f.get(k).copied().unwrap_or(0));
        loop {
            let i = prog[pc];
            pc += 1;
            steps += 1;
            let k = i.k as usize;
            match i.code {
                LD_W_ABS => a = 0,
                LD_H_ABS => a = byte(k) << 8 | byte(k + 1),
                LD_B_ABS => a = byte(k),
                LD_B_IND => a = byte(x as usize + k),
                LDX_B_MSH => x = (byte(k) & 0xf) * 4,
                RET_K => break,
                c => {
                    let yes = match c {
                        JEQ_K => a == i.k,
                        JGT_K => a > i.k,
                        JGE_K => a >= i.k,
                        _ => a & i.k != 0,
                    };
                    pc += usize::from(if yes { i.jt } else { i.jf });
                }
            }
        }
        assert_eq!(steps, 15);
    }

    #[test]
    fn a_burst_is_counted_after_its_first_segments() {
        let mut k = Keeper::default();
        let mut kept = VecDeque::new();
        let f = tcp4(ACK, 0);
        let seg = parse_frame(&f, f.len() as u32, 0).expect("segment");
        for n in 0..1000u64 {
            let mut s = seg.clone();
            if let Packet::Tcp(t) = &mut s {
                t.t = n * 1000;
            }
            k.keep(s, &f, &mut kept);
        }
        assert_eq!(kept.len(), BURST_KEEP as usize);
        let more = |p: Option<&Packet>| p.and_then(Packet::as_tcp).map(|s| s.more);
        assert_eq!(more(kept.back()), Some(1000 - BURST_KEEP));
        // A FIN is always kept, and after a pause segments are kept again.
        let fin = tcp4(FIN | ACK, 0);
        k.keep(
            parse_frame(&fin, fin.len() as u32, 0).expect("fin"),
            &fin,
            &mut kept,
        );
        let mut s = seg.clone();
        if let Packet::Tcp(t) = &mut s {
            t.t = 2_000_000_000;
        }
        k.keep(s, &f, &mut kept);
        assert_eq!(kept.len(), BURST_KEEP as usize + 2);
    }

    #[test]
    fn positions_unwrap_past_4_gib() {
        let mut st = Stream {
            pos: u64::from(u32::MAX - 10),
            mark: u32::MAX - 10,
        };
        assert_eq!(st.at(5), u64::from(u32::MAX) + 6);
        let mut p = 5u32;
        for _ in 0..10 {
            p = p.wrapping_add(1 << 30);
            st.at(p);
        }
        assert_eq!(st.pos, u64::from(u32::MAX) + 6 + 10 * (1 << 30));
        // An old (retransmitted) number does not move it back.
        assert_eq!(st.at(p.wrapping_sub(100)), st.pos - 100);
        assert_eq!(st.mark, p);
    }

    #[test]
    fn ports_are_watched_one_by_one_or_all() {
        let p = Ports::new();
        p.watch(9900);
        p.watch(65535);
        assert!(p.watched(9900) && p.watched(65535));
        assert!(!p.watched(9901) && !p.watched(0));
        p.all.store(true, Ordering::Relaxed);
        assert!(p.watched(9901));
    }
}

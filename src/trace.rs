//! The TCP segments on the loopback interface, captured as they pass, so
//! the three-way handshake and the four-way close can be read off.
//!
//! A packet socket (AF_PACKET, root only) bound to `lo` sees every frame
//! twice: once going out and once coming in. It is kept cheap, because a
//! bulk transfer (`send c zeros 1G`) puts tens of thousands of segments a
//! second on `lo`:
//!
//! - PACKET_IGNORE_OUTGOING: the kernel does not even clone outgoing
//!   frames for us; the incoming copy of each is the one read;
//! - a classic BPF filter ([`filter`]) runs in the kernel and keeps only
//!   TCP segments that are SYN, FIN or RST, or smaller than 32 KiB: the
//!   full-size data segments of a bulk transfer (64 KiB on `lo`) are never
//!   queued, and `states` tells their bytes from the sequence numbers;
//! - the filter keeps only the headers ([`SNAP`] bytes) of what it passes,
//!   and the kernel writes them into a ring mapped into this process
//!   (PACKET_RX_RING): no socket buffer, no call per segment; a thread
//!   reads the ring every 10 ms, and `states` reads it first itself;
//! - past the first segments of a burst (a bulk transfer), a connection's
//!   segments are counted on the last one kept ([`Segment::more`]).
//!
//! So a lesson's handshake, its small sends and its close are all there,
//! and a 1 GiB transfer adds a few rows rather than flooding [`KEEP`].
//! Without the privilege the capture does not start and the `states` view
//! falls back to states sampled after each command.

use socket2::{Domain, SockAddr, Socket, Type};
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Segments kept (the oldest go first).
pub const KEEP: usize = 20_000;
/// Bytes of each frame read: Ethernet + IPv6 + TCP with options fit.
const SNAP: usize = 160;

pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const FIN: u8 = 0x01;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const URG: u8 = 0x20;

/// One TCP segment seen on `lo`.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub at: Instant,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    /// Payload bytes (from the IP length, not from what was read).
    pub len: u32,
    /// How many more segments of this connection followed this one in a
    /// burst (a bulk transfer) and were counted here instead of kept.
    pub more: u32,
    /// Where `seq` is in its direction's stream, unwrapped to 64 bits (the
    /// capture follows the sequence and acknowledgment numbers it sees), so
    /// that the bytes of segments it never kept can be counted, past 4 GiB
    /// too. Starts at the first `seq` seen.
    pub pos: u64,
}

impl Segment {
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }

    /// `SYN,ACK`
    pub fn flag_names(&self) -> String {
        let mut v = Vec::new();
        for (bit, name) in [
            (SYN, "SYN"),
            (FIN, "FIN"),
            (RST, "RST"),
            (PSH, "PSH"),
            (URG, "URG"),
            (ACK, "ACK"),
        ] {
            if self.has(bit) {
                v.push(name);
            }
        }
        v.join(",")
    }
}

/// Parses the TCP segment in an Ethernet frame (loopback frames have an
/// all-zero Ethernet header).
pub fn parse_frame(frame: &[u8], at: Instant) -> Option<Segment> {
    let p = etherparse::LaxSlicedPacket::from_ethernet(frame).ok()?;
    let (src_ip, dst_ip, ip_payload_len) = match p.net.as_ref()? {
        etherparse::LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            let len = u32::from(h.total_len()).saturating_sub(u32::from(h.ihl()) * 4);
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                len,
            )
        }
        etherparse::LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            let ext: u32 = v6.extensions().slice().len() as u32;
            let len = u32::from(h.payload_length()).saturating_sub(ext);
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                len,
            )
        }
        _ => return None,
    };
    let etherparse::TransportSlice::Tcp(tcp) = p.transport.as_ref()? else {
        return None;
    };
    let mut flags = 0;
    for (on, bit) in [
        (tcp.syn(), SYN),
        (tcp.ack(), ACK),
        (tcp.fin(), FIN),
        (tcp.rst(), RST),
        (tcp.psh(), PSH),
        (tcp.urg(), URG),
    ] {
        if on {
            flags |= bit;
        }
    }
    let header = u32::from(tcp.data_offset()) * 4;
    Some(Segment {
        at,
        src: SocketAddr::new(src_ip, tcp.source_port()),
        dst: SocketAddr::new(dst_ip, tcp.destination_port()),
        flags,
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        len: ip_payload_len.saturating_sub(header),
        more: 0,
        pos: u64::from(tcp.sequence_number()),
    })
}

/// The last segment of a send is kept when smaller than this (IP length).
pub const BULK: u32 = 32 * 1024;
/// A connection's segments more than this many in a burst (each less than
/// [`BURST_GAP`] after the one before) are counted, not kept one by one.
pub const BURST_KEEP: u32 = 24;
const BURST_GAP: Duration = Duration::from_millis(50);

/// PACKET_IGNORE_OUTGOING (linux/if_packet.h; Linux 4.20).
pub(crate) const PACKET_IGNORE_OUTGOING: libc::c_int = 23;

/// One classic BPF instruction.
const fn op(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

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

/// The filter: frames of packet type `want` holding an IPv4 or IPv6 TCP
/// segment that is
///
/// - SYN, FIN or RST (the states), or
/// - a pure ACK (an IP length of at most 80 bytes: headers with options), or
/// - the last segment of a send (PSH) under [`BULK`] bytes;
///
/// of those, the first [`SNAP`] bytes. So a bulk transfer's data segments
/// (64 KiB ones, and the pieces between them) never leave the kernel;
/// `states` counts their bytes from the sequence numbers. Offsets are of
/// an Ethernet frame (the loopback's header is 14 zero bytes and the type).
pub fn filter(want: u8) -> Vec<libc::sock_filter> {
    let snap = SNAP as u32;
    vec![
        /* 0 */ op(LD_W_ABS, 0, 0, AD_PKTTYPE),
        /* 1 */ op(JEQ_K, 0, 25, u32::from(want)), // else drop
        /* 2 */ op(LD_H_ABS, 0, 0, 12), // ethertype
        /* 3 */ op(JEQ_K, 0, 12, 0x0800), // IPv4, else 16
        /* 4 */ op(LD_B_ABS, 0, 0, 14 + 9), // protocol
        /* 5 */ op(JEQ_K, 0, 21, 6), // TCP, else drop
        /* 6 */ op(LD_H_ABS, 0, 0, 14 + 6), // fragment offset
        /* 7 */ op(JSET_K, 19, 0, 0x1fff), // a fragment: drop
        /* 8 */ op(LDX_B_MSH, 0, 0, 14), // X = IP header length
        /* 9 */ op(LD_B_IND, 0, 0, 14 + 13), // TCP flags
        /* 10 */ op(JSET_K, 15, 0, 0x07), // FIN|SYN|RST: keep
        /* 11 */ op(JSET_K, 0, 2, 0x08), // PSH, else 14
        /* 12 */ op(LD_H_ABS, 0, 0, 14 + 2), // IP total length
        /* 13 */ op(JGE_K, 13, 12, BULK), // bulk: drop, else keep
        /* 14 */ op(LD_H_ABS, 0, 0, 14 + 2), // IP total length
        /* 15 */ op(JGT_K, 11, 10, 80), // data: drop; a pure ACK: keep
        /* 16 */ op(JEQ_K, 0, 10, 0x86dd), // IPv6, else drop
        /* 17 */ op(LD_B_ABS, 0, 0, 14 + 6), // next header
        /* 18 */ op(JEQ_K, 0, 8, 6), // TCP, else drop
        /* 19 */ op(LD_B_ABS, 0, 0, 14 + 40 + 13), // TCP flags
        /* 20 */ op(JSET_K, 5, 0, 0x07), // FIN|SYN|RST: keep
        /* 21 */ op(JSET_K, 0, 2, 0x08), // PSH, else 24
        /* 22 */ op(LD_H_ABS, 0, 0, 14 + 4), // payload length
        /* 23 */ op(JGE_K, 3, 2, BULK), // bulk: drop, else keep
        /* 24 */ op(LD_H_ABS, 0, 0, 14 + 4), // payload length
        /* 25 */ op(JGT_K, 1, 0, 60), // data: drop; a pure ACK: keep
        /* 26 */ op(RET_K, 0, 0, snap),
        /* 27 */ op(RET_K, 0, 0, 0),
    ]
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

/// The ports whose segments are kept: the ports of the shell's own sockets
/// (other programs on `lo` must not push them out of the buffer). One bit
/// per port, so it is read without a lock.
pub struct Ports([std::sync::atomic::AtomicU64; 1024]);

impl Ports {
    fn new() -> Ports {
        Ports(std::array::from_fn(|_| {
            std::sync::atomic::AtomicU64::new(0)
        }))
    }

    pub fn watch(&self, port: u16) {
        let p = usize::from(port);
        self.0[p / 64].fetch_or(1 << (p % 64), Ordering::Relaxed);
    }

    pub fn watched(&self, port: u16) -> bool {
        let p = usize::from(port);
        self.0[p / 64].load(Ordering::Relaxed) & (1 << (p % 64)) != 0
    }
}

/// A running capture.
pub struct Trace {
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// What the capture thread and `states` share: the packet socket and its
/// ring (either may read it) and what was read from it.
struct Shared {
    // The ring is unmapped before the socket closes (field order).
    ring: Ring,
    sock: Socket,
    /// The packet type of the copy of each frame that is read.
    want: u8,
    ports: Ports,
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    segments: VecDeque<Segment>,
    keeper: Keeper,
    /// The ring's next frame to read.
    next: usize,
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
    /// kernel's time, and its first bytes.
    fn frame(&self, k: usize) -> Option<(u8, libc::timespec, &[u8])> {
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
/// link `index` (the capture on `lo`, and the lab switch's ports).
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

/// The packet socket bound to `lo`, its ring, and the packet type of the
/// copy of each frame it reads.
fn open_lo() -> std::io::Result<(Socket, Ring, u8)> {
    // Protocol 0: no frames until bind, which hooks it to `lo` once.
    // (Made with ETH_P_ALL, it would be hooked to every interface first and
    // bind would unhook it, which waits for an RCU grace period.)
    let sock = Socket::new(Domain::PACKET, Type::RAW, None)?;
    let name = std::ffi::CString::new("lo").map_err(std::io::Error::other)?;
    // SAFETY: a NUL-terminated name.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(std::io::Error::last_os_error());
    }
    let addr = link_addr(index)?;
    // The incoming copy of each frame when the kernel can skip the
    // outgoing ones for us (no clone on the sending path), else the
    // outgoing copy.
    let want = if set_int(&sock, libc::SOL_PACKET, PACKET_IGNORE_OUTGOING, 1) {
        libc::PACKET_HOST
    } else {
        libc::PACKET_OUTGOING
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

impl Trace {
    /// Starts capturing on `lo`; Err when not permitted (not root).
    pub fn start() -> std::io::Result<Trace> {
        let (sock, ring, want) = open_lo()?;
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
                .name("trace".into())
                .spawn(move || capture(&shared, &stop))?
        };
        Ok(Trace {
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// Keeps the segments to and from `port` from now on.
    pub fn watch(&self, port: u16) {
        if port != 0 {
            self.shared.ports.watch(port);
        }
    }

    /// The segments that `pred` selects, including those still queued.
    pub fn between(&self, pred: &dyn Fn(&Segment) -> bool) -> Vec<Segment> {
        self.shared.drain();
        self.shared
            .kept
            .lock()
            .map(|k| k.segments.iter().filter(|x| pred(x)).cloned().collect())
            .unwrap_or_default()
    }
}

/// A connection's burst so far.
struct Burst {
    kept: u32,
    last: Instant,
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

/// Keeps a segment, or counts it on the connection's last kept one when it
/// is deep in a burst of plain segments (no SYN, FIN or RST).
#[derive(Default)]
pub(crate) struct Keeper {
    bursts: std::collections::HashMap<(SocketAddr, SocketAddr), Burst>,
    /// By direction (from, to).
    streams: std::collections::HashMap<(SocketAddr, SocketAddr), Stream>,
}

impl Keeper {
    fn key(s: &Segment) -> (SocketAddr, SocketAddr) {
        if s.src <= s.dst {
            (s.src, s.dst)
        } else {
            (s.dst, s.src)
        }
    }

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

    fn keep(&mut self, mut s: Segment, segs: &mut VecDeque<Segment>) {
        self.follow(&mut s);
        let key = Self::key(&s);
        if s.has(SYN) || s.has(FIN) || s.has(RST) {
            self.bursts.remove(&key);
        } else {
            let b = self.bursts.entry(key).or_insert(Burst {
                kept: 0,
                last: s.at,
            });
            if s.at.saturating_duration_since(b.last) >= BURST_GAP {
                b.kept = 0;
            }
            b.last = s.at;
            if b.kept >= BURST_KEEP
                && let Some(prev) = segs
                    .iter_mut()
                    .rev()
                    .take(4096)
                    .find(|p| Self::key(p) == key)
            {
                prev.more = prev.more.saturating_add(1);
                return;
            }
            b.kept += 1;
        }
        if self.bursts.len() > 4096 {
            self.bursts.clear();
        }
        if s.has(RST) {
            self.streams.remove(&(s.src, s.dst));
            self.streams.remove(&(s.dst, s.src));
        }
        if segs.len() >= KEEP {
            segs.pop_front();
        }
        segs.push_back(s);
    }
}

impl Shared {
    /// Reads every frame the kernel has put in the ring.
    fn drain(&self) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        let kept = &mut *kept;
        // To turn the kernel's wall-clock times into Instants.
        let (now, wall) = (Instant::now(), std::time::SystemTime::now());
        while let Some((pkttype, ts, bytes)) = self.ring.frame(kept.next) {
            // The filter checked the type already.
            if pkttype == self.want {
                let at = u64::try_from(ts.tv_sec)
                    .ok()
                    .zip(u32::try_from(ts.tv_nsec).ok())
                    .map(|(s, n)| std::time::UNIX_EPOCH + Duration::new(s, n))
                    .and_then(|t| wall.duration_since(t).ok())
                    .and_then(|ago| now.checked_sub(ago))
                    .unwrap_or(now);
                if let Some(seg) = parse_frame(bytes, at)
                    && (self.ports.watched(seg.src.port()) || self.ports.watched(seg.dst.port()))
                {
                    kept.keeper.keep(seg, &mut kept.segments);
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

impl Drop for Trace {
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

/// How long ago, for timelines relative to a start.
pub fn since(start: Instant, t: Instant) -> Duration {
    t.saturating_duration_since(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet + IPv4 + TCP SYN from 127.0.0.1:40000 to 127.0.0.1:9900.
    fn syn_frame() -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12] = 0x08; // IPv4
        let mut ip = vec![
            0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ];
        let mut tcp = vec![0u8; 20];
        tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&9900u16.to_be_bytes());
        tcp[4..8].copy_from_slice(&7u32.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = SYN;
        f.append(&mut ip);
        f.append(&mut tcp);
        f
    }

    #[test]
    fn a_syn_parses() {
        let s = parse_frame(&syn_frame(), Instant::now()).expect("a segment");
        assert_eq!(s.src, "127.0.0.1:40000".parse().expect("addr"));
        assert_eq!(s.dst, "127.0.0.1:9900".parse().expect("addr"));
        assert_eq!(s.flag_names(), "SYN");
        assert_eq!((s.seq, s.len), (7, 0));
    }

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

    /// A TCP segment from 127.0.0.1:40000 to :9900 with `flags` and `len`
    /// payload bytes (only the headers are built; lengths say the rest).
    fn frame4(flags: u8, len: u16) -> Vec<u8> {
        let mut f = syn_frame();
        f[16..18].copy_from_slice(&(40 + len).to_be_bytes());
        f[14 + 20 + 13] = flags;
        f
    }

    fn frame6(flags: u8, len: u16) -> Vec<u8> {
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
        let prog = filter(libc::PACKET_HOST);
        let snap = SNAP as u32;
        for frame in [frame4 as fn(u8, u16) -> Vec<u8>, frame6] {
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
            // The other copy of each frame is not read.
            assert_eq!(run(&prog, &frame(SYN, 0), libc::PACKET_OUTGOING), 0);
        }
        // Not TCP.
        let mut udp = frame4(0, 10);
        udp[23] = 17;
        assert_eq!(run(&prog, &udp, 0), 0);
    }

    #[test]
    fn a_burst_is_counted_after_its_first_segments() {
        let mut k = Keeper::default();
        let mut segs = VecDeque::new();
        let t = Instant::now();
        let mut seg = parse_frame(&frame4(ACK, 0), t).expect("segment");
        for n in 0..1000u32 {
            seg.at = t + Duration::from_micros(u64::from(n));
            k.keep(seg.clone(), &mut segs);
        }
        assert_eq!(segs.len(), BURST_KEEP as usize);
        assert_eq!(segs.back().map(|s| s.more), Some(1000 - BURST_KEEP));
        // A FIN is always kept, and after a pause segments are kept again.
        k.keep(
            parse_frame(&frame4(FIN | ACK, 0), t).expect("fin"),
            &mut segs,
        );
        seg.at = t + Duration::from_secs(1);
        k.keep(seg, &mut segs);
        assert_eq!(segs.len(), BURST_KEEP as usize + 2);
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
    fn ports_are_watched_one_by_one() {
        let p = Ports::new();
        p.watch(9900);
        p.watch(65535);
        assert!(p.watched(9900) && p.watched(65535));
        assert!(!p.watched(9901) && !p.watched(0));
    }

    #[test]
    fn garbage_does_not_parse() {
        assert!(parse_frame(&[0u8; 10], Instant::now()).is_none());
        assert!(parse_frame(&[0xffu8; 100], Instant::now()).is_none());
    }
}

//! The TCP segments on the loopback interface, captured as they pass, so
//! the three-way handshake and the four-way close can be read off.
//!
//! A packet socket (AF_PACKET, root only) bound to `lo` sees every frame
//! twice: once going out and once coming in; only the outgoing copy is kept.
//! Only the headers are read (the first bytes of each frame), so a bulk
//! transfer costs one small read per segment. Memory is bounded: the last
//! [`KEEP`] segments are kept. Without the privilege the capture does not
//! start and the `states` view falls back to states sampled after each
//! command.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
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
    })
}

/// The ports whose segments are kept: the ports of the shell's own sockets
/// (other programs on `lo` must not push them out of the buffer). One bit
/// per port, so the capture thread reads it without a lock.
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
    segments: Arc<Mutex<VecDeque<Segment>>>,
    ports: Arc<Ports>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The packet socket bound to `lo`.
fn open_lo() -> std::io::Result<Socket> {
    let proto = Protocol::from(i32::from((libc::ETH_P_ALL as u16).to_be()));
    let sock = Socket::new(Domain::PACKET, Type::RAW, Some(proto))?;
    let name = std::ffi::CString::new("lo").map_err(std::io::Error::other)?;
    // SAFETY: a NUL-terminated name.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: sockaddr_ll fits in sockaddr_storage; every field is set.
    let ((), addr) = unsafe {
        SockAddr::try_init(|storage, len| {
            let ll = storage.cast::<libc::sockaddr_ll>();
            std::ptr::write_bytes(ll, 0, 1);
            (*ll).sll_family = libc::AF_PACKET as u16;
            (*ll).sll_protocol = (libc::ETH_P_ALL as u16).to_be();
            (*ll).sll_ifindex = index as i32;
            *len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            Ok(())
        })
    }?;
    // The kernel keeps only the first SNAP bytes of each frame (a classic
    // BPF program of one instruction: "accept SNAP bytes"), so a burst of
    // 64 KiB loopback frames costs the buffer little and nothing is lost.
    sock.attach_filter(&[socket2::SockFilter::new(0x06, 0, 0, SNAP as u32)])?;
    sock.bind(&addr)?;
    sock.set_nonblocking(true)?;
    // Out of the learner's way: their first socket is fd 3, as in a fresh
    // Python process.
    Ok(Socket::from(crate::table::move_high(
        std::os::fd::OwnedFd::from(sock),
    )))
}

/// The packet type of a sockaddr_ll (PACKET_OUTGOING = 4).
fn pkttype(a: &SockAddr) -> u8 {
    if usize::try_from(a.len()).unwrap_or(0) < std::mem::size_of::<libc::sockaddr_ll>() {
        return 0;
    }
    // SAFETY: the address is a sockaddr_ll of full length (checked above).
    unsafe { (*a.as_ptr().cast::<libc::sockaddr_ll>()).sll_pkttype }
}

impl Trace {
    /// Starts capturing on `lo`; Err when not permitted (not root).
    pub fn start() -> std::io::Result<Trace> {
        let sock = open_lo()?;
        // Room for bursts of other programs' traffic on lo (root may go
        // past net.core.rmem_max with SO_RCVBUFFORCE).
        let size: libc::c_int = 8 << 20;
        // SAFETY: an int option on a socket we own.
        let forced = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if forced != 0 {
            let _ = sock.set_recv_buffer_size(4 << 20);
        }
        let segments: Arc<Mutex<VecDeque<Segment>>> = Arc::default();
        let ports = Arc::new(Ports::new());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let segments = Arc::clone(&segments);
            let ports = Arc::clone(&ports);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("trace".into())
                .spawn(move || capture(&sock, &segments, &ports, &stop))?
        };
        Ok(Trace {
            segments,
            ports,
            stop,
            thread: Some(thread),
        })
    }

    /// Keeps the segments to and from `port` from now on.
    pub fn watch(&self, port: u16) {
        if port != 0 {
            self.ports.watch(port);
        }
    }

    /// The segments between any two of `addrs` (either way).
    pub fn between(&self, pred: &dyn Fn(&Segment) -> bool) -> Vec<Segment> {
        self.segments
            .lock()
            .map(|s| s.iter().filter(|x| pred(x)).cloned().collect())
            .unwrap_or_default()
    }
}

fn capture(sock: &Socket, segments: &Mutex<VecDeque<Segment>>, ports: &Ports, stop: &AtomicBool) {
    let mut buf: Vec<u8> = Vec::with_capacity(SNAP);
    while !stop.load(Ordering::Relaxed) {
        let mut p = libc::pollfd {
            fd: sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut p, 1, 50) };
        if rc <= 0 {
            continue;
        }
        // Drain what is queued.
        loop {
            buf.clear();
            match sock.recv_from(buf.spare_capacity_mut()) {
                Ok((n, from)) => {
                    // SAFETY: the kernel wrote min(n, SNAP) bytes.
                    unsafe { buf.set_len(n.min(SNAP)) };
                    if pkttype(&from) != libc::PACKET_OUTGOING {
                        continue;
                    }
                    if let Some(seg) = parse_frame(&buf, Instant::now())
                        && (ports.watched(seg.src.port()) || ports.watched(seg.dst.port()))
                        && let Ok(mut s) = segments.lock()
                    {
                        if s.len() >= KEEP {
                            s.pop_front();
                        }
                        s.push_back(seg);
                    }
                }
                Err(_) => break,
            }
        }
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

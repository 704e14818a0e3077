//! Frames to packets: the TCP segment, the UDP datagram or the ICMP "port
//! unreachable" in one Ethernet frame (a loopback frame has an all-zero
//! Ethernet header), with the frame's first bytes kept for the pcap file.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;
pub const URG: u8 = 0x20;

/// Nanoseconds since the Unix epoch (CLOCK_REALTIME): the kernel stamps
/// captured frames with it, and the shell (or a watched program) stamps
/// its calls with it, so the two can be put in one order.
pub type Nanos = u64;

/// The wall clock now, in [`Nanos`].
pub fn now_ns() -> Nanos {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The wall-clock time of an [`std::time::Instant`] (taken now: the two
/// clocks are read together).
pub fn nanos_at(at: std::time::Instant) -> Nanos {
    let (now, wall) = (std::time::Instant::now(), now_ns());
    match now.checked_duration_since(at) {
        Some(ago) => wall.saturating_sub(u64::try_from(ago.as_nanos()).unwrap_or(u64::MAX)),
        None => wall.saturating_add(
            u64::try_from(at.saturating_duration_since(now).as_nanos()).unwrap_or(u64::MAX),
        ),
    }
}

/// The bytes of a frame that were read (the first ones), and its length on
/// the wire.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Frame {
    pub bytes: Box<[u8]>,
    pub len: u32,
}

/// The options of a TCP header that a learner asks about (those of a SYN,
/// and the timestamps and SACK blocks of any segment).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TcpOptions {
    /// Maximum segment size (SYN only).
    pub mss: Option<u16>,
    /// Window scale shift (SYN only): later windows are multiplied by
    /// 2^shift.
    pub wscale: Option<u8>,
    /// SACK permitted (SYN only).
    pub sack_perm: bool,
    /// Timestamps: (TSval, TSecr).
    pub ts: Option<(u32, u32)>,
    /// Selective acknowledgement blocks (left, right edges).
    pub sack: Vec<(u32, u32)>,
}

impl TcpOptions {
    /// Reads the options of a TCP header (RFC 9293 3.1, 7323, 2018);
    /// stops at what it cannot read.
    pub fn parse(mut b: &[u8]) -> TcpOptions {
        let mut o = TcpOptions::default();
        while let Some(&kind) = b.first() {
            match kind {
                0 => break,
                1 => {
                    b = &b[1..];
                    continue;
                }
                _ => {}
            }
            let Some(&len) = b.get(1) else { break };
            let len = usize::from(len);
            if len < 2 || len > b.len() {
                break;
            }
            let v = &b[2..len];
            match (kind, v.len()) {
                (2, 2) => o.mss = Some(u16::from_be_bytes([v[0], v[1]])),
                (3, 1) => o.wscale = Some(v[0]),
                (4, 0) => o.sack_perm = true,
                (5, n) if n % 8 == 0 => {
                    o.sack = v
                        .chunks_exact(8)
                        .map(|c| {
                            (
                                u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                                u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
                            )
                        })
                        .collect();
                }
                (8, 8) => {
                    o.ts = Some((
                        u32::from_be_bytes([v[0], v[1], v[2], v[3]]),
                        u32::from_be_bytes([v[4], v[5], v[6], v[7]]),
                    ));
                }
                _ => {}
            }
            b = &b[len..];
        }
        o
    }
}

/// One TCP segment.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub t: Nanos,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    /// Payload bytes (from the IP length, not from what was read).
    pub len: u32,
    /// The window field as sent (unscaled).
    pub window: u16,
    pub opts: TcpOptions,
    /// How many more segments of this connection followed this one in a
    /// burst (a bulk transfer) and were counted here instead of kept.
    pub more: u32,
    /// Where `seq` is in its direction's stream, unwrapped to 64 bits (the
    /// capture follows the sequence and acknowledgment numbers it sees), so
    /// that the bytes of segments it never kept can be counted, past 4 GiB
    /// too. Starts at the first `seq` seen.
    pub pos: u64,
    pub frame: Frame,
}

impl Segment {
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }

    /// `SYN,ACK`
    pub fn flag_names(&self) -> String {
        flag_names(self.flags)
    }
}

/// `SYN,ACK` for a flags byte, in the order tcpdump and textbooks use.
pub fn flag_names(flags: u8) -> String {
    let mut v = Vec::new();
    for (bit, name) in [
        (SYN, "SYN"),
        (FIN, "FIN"),
        (RST, "RST"),
        (PSH, "PSH"),
        (URG, "URG"),
        (ACK, "ACK"),
    ] {
        if flags & bit != 0 {
            v.push(name);
        }
    }
    v.join(",")
}

/// One UDP datagram.
#[derive(Clone, Debug, PartialEq)]
pub struct Datagram {
    pub t: Nanos,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// Payload bytes (from the UDP length).
    pub len: u32,
    /// Datagrams of the same flow that followed in a burst, counted here.
    pub more: u32,
    pub frame: Frame,
}

/// An ICMP (or ICMPv6) "destination unreachable": the kernel's answer to a
/// datagram that nobody receives, quoting the start of that datagram.
#[derive(Clone, Debug, PartialEq)]
pub struct Unreachable {
    pub t: Nanos,
    /// Who sent the ICMP message, and to whom.
    pub from: IpAddr,
    pub to: IpAddr,
    /// The code: 3 (ICMP) or 4 (ICMPv6) is "port unreachable".
    pub code: u8,
    pub v6: bool,
    /// The quoted datagram's protocol (17 for UDP) and its ends.
    pub proto: u8,
    pub orig_src: SocketAddr,
    pub orig_dst: SocketAddr,
    pub frame: Frame,
}

impl Unreachable {
    /// "port unreachable", as the RFCs name the code.
    pub fn what(&self) -> &'static str {
        match (self.v6, self.code) {
            (false, 3) | (true, 4) => "port unreachable",
            (false, 0) | (true, 3) => "host unreachable",
            (false, 1) | (true, 0) => "network unreachable",
            (false, 2) => "protocol unreachable",
            (true, 1) => "administratively prohibited",
            _ => "destination unreachable",
        }
    }
}

/// What one frame held.
#[derive(Clone, Debug, PartialEq)]
pub enum Packet {
    Tcp(Segment),
    Udp(Datagram),
    Unreachable(Unreachable),
}

impl Packet {
    pub fn t(&self) -> Nanos {
        match self {
            Packet::Tcp(s) => s.t,
            Packet::Udp(d) => d.t,
            Packet::Unreachable(u) => u.t,
        }
    }

    pub fn frame(&self) -> &Frame {
        match self {
            Packet::Tcp(s) => &s.frame,
            Packet::Udp(d) => &d.frame,
            Packet::Unreachable(u) => &u.frame,
        }
    }

    /// The ports it concerns (for an ICMP error, those of the datagram it
    /// quotes).
    pub fn ports(&self) -> (u16, u16) {
        match self {
            Packet::Tcp(s) => (s.src.port(), s.dst.port()),
            Packet::Udp(d) => (d.src.port(), d.dst.port()),
            Packet::Unreachable(u) => (u.orig_src.port(), u.orig_dst.port()),
        }
    }

    pub fn frame_mut(&mut self) -> &mut Frame {
        match self {
            Packet::Tcp(s) => &mut s.frame,
            Packet::Udp(d) => &mut d.frame,
            Packet::Unreachable(u) => &mut u.frame,
        }
    }

    pub fn as_tcp(&self) -> Option<&Segment> {
        match self {
            Packet::Tcp(s) => Some(s),
            _ => None,
        }
    }
}

/// IP protocol numbers.
const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;
const ICMP6: u8 = 58;

/// Parses the packet in an Ethernet frame; `len` is the frame's length on
/// the wire (`bytes` may be only its start), `t` when it passed. The
/// packet keeps a copy of the bytes.
pub fn parse_frame(bytes: &[u8], len: u32, t: Nanos) -> Option<Packet> {
    let mut p = parse_headers(bytes, len, t)?;
    *p.frame_mut() = Frame {
        bytes: bytes.into(),
        len,
    };
    Some(p)
}

/// As [`parse_frame`], without the copy of the bytes (the capture makes it
/// only for the packets it keeps: most of a bulk transfer's are counted).
pub fn parse_headers(bytes: &[u8], len: u32, t: Nanos) -> Option<Packet> {
    let p = etherparse::LaxSlicedPacket::from_ethernet(bytes).ok()?;
    let net = p.net.as_ref()?;
    let (src_ip, dst_ip, ip_payload_len) = match net {
        etherparse::LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            let l = u32::from(h.total_len()).saturating_sub(u32::from(h.ihl()) * 4);
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                l,
            )
        }
        etherparse::LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            let ext: u32 = v6.extensions().slice().len() as u32;
            let l = u32::from(h.payload_length()).saturating_sub(ext);
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                l,
            )
        }
        etherparse::LaxNetSlice::Arp(_) => return None,
    };
    let payload = net.ip_payload_ref()?;
    if payload.fragmented {
        return None;
    }
    let frame = Frame {
        bytes: Box::default(),
        len,
    };
    let body = payload.payload;
    match payload.ip_number.0 {
        TCP => {
            let etherparse::TransportSlice::Tcp(tcp) = p.transport.as_ref()? else {
                return None;
            };
            let header = u32::from(tcp.data_offset()) * 4;
            Some(Packet::Tcp(Segment {
                t,
                src: SocketAddr::new(src_ip, tcp.source_port()),
                dst: SocketAddr::new(dst_ip, tcp.destination_port()),
                flags: body.get(13).copied().unwrap_or(0) & 0x3f,
                seq: tcp.sequence_number(),
                ack: tcp.acknowledgment_number(),
                len: ip_payload_len.saturating_sub(header),
                window: tcp.window_size(),
                opts: TcpOptions::parse(tcp.options()),
                more: 0,
                pos: u64::from(tcp.sequence_number()),
                frame,
            }))
        }
        UDP => {
            let h = body.get(..8)?;
            Some(Packet::Udp(Datagram {
                t,
                src: SocketAddr::new(src_ip, u16::from_be_bytes([h[0], h[1]])),
                dst: SocketAddr::new(dst_ip, u16::from_be_bytes([h[2], h[3]])),
                len: u32::from(u16::from_be_bytes([h[4], h[5]])).saturating_sub(8),
                more: 0,
                frame,
            }))
        }
        ICMP | ICMP6 => {
            let v6 = payload.ip_number.0 == ICMP6;
            // Destination unreachable: type 3 (ICMP), 1 (ICMPv6); then the
            // code, a checksum, 4 unused bytes and the quoted datagram.
            let (&kind, &code) = (body.first()?, body.get(1)?);
            if kind != if v6 { 1 } else { 3 } {
                return None;
            }
            let (proto, orig_src, orig_dst) = quoted(body.get(8..)?)?;
            Some(Packet::Unreachable(Unreachable {
                t,
                from: src_ip,
                to: dst_ip,
                code,
                v6,
                proto,
                orig_src,
                orig_dst,
                frame,
            }))
        }
        _ => None,
    }
}

/// The protocol and ends of the datagram an ICMP error quotes: its IP
/// header and the first 8 bytes after it (the ports come first in both
/// UDP and TCP).
fn quoted(b: &[u8]) -> Option<(u8, SocketAddr, SocketAddr)> {
    let ports = |at: usize| -> Option<(u16, u16)> {
        let p = b.get(at..at + 4)?;
        Some((
            u16::from_be_bytes([p[0], p[1]]),
            u16::from_be_bytes([p[2], p[3]]),
        ))
    };
    match b.first()? >> 4 {
        4 => {
            let ihl = usize::from(b[0] & 0x0f) * 4;
            let h = b.get(..20)?;
            let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
            let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
            let (sp, dp) = ports(ihl)?;
            Some((
                h[9],
                SocketAddr::new(src.into(), sp),
                SocketAddr::new(dst.into(), dp),
            ))
        }
        6 => {
            let h = b.get(..40)?;
            let addr = |k: usize| {
                let mut a = [0u8; 16];
                a.copy_from_slice(&h[k..k + 16]);
                Ipv6Addr::from(a)
            };
            let (sp, dp) = ports(40)?;
            Some((
                h[6],
                SocketAddr::new(addr(8).into(), sp),
                SocketAddr::new(addr(24).into(), dp),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An Ethernet + IPv4 + TCP header from 127.0.0.1:40000 to :9900 with
    /// `flags`, `len` payload bytes (only the headers are built; lengths
    /// say the rest) and `opts` as the TCP options (a multiple of 4).
    pub(crate) fn frame4(flags: u8, len: u16, opts: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12] = 0x08; // IPv4
        let hl = 20 + opts.len() as u16;
        let total = 20 + hl + len;
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        let mut tcp = vec![0u8; 20];
        tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&9900u16.to_be_bytes());
        tcp[4..8].copy_from_slice(&7u32.to_be_bytes());
        tcp[12] = ((hl / 4) as u8) << 4;
        tcp[13] = flags;
        tcp[14..16].copy_from_slice(&512u16.to_be_bytes());
        f.append(&mut ip);
        f.append(&mut tcp);
        f.extend_from_slice(opts);
        f
    }

    #[test]
    fn a_syn_parses_with_its_options() {
        // MSS 65495, SACK permitted, timestamps, NOP, window scale 7: what
        // Linux puts in a SYN on lo.
        let opts = [
            2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        let f = frame4(SYN, 0, &opts);
        let Some(Packet::Tcp(s)) = parse_frame(&f, f.len() as u32, 5) else {
            panic!("a segment");
        };
        assert_eq!(s.src, "127.0.0.1:40000".parse().expect("addr"));
        assert_eq!(s.dst, "127.0.0.1:9900".parse().expect("addr"));
        assert_eq!(s.flag_names(), "SYN");
        assert_eq!((s.seq, s.len, s.window, s.t), (7, 0, 512, 5));
        assert_eq!(s.opts.mss, Some(65495));
        assert_eq!(s.opts.wscale, Some(7));
        assert!(s.opts.sack_perm);
        assert_eq!(s.opts.ts, Some((1, 0)));
        assert_eq!(s.frame.len as usize, f.len());
    }

    #[test]
    fn bad_options_stop_the_reading_not_the_parse() {
        let o = TcpOptions::parse(&[2, 4, 1, 0, 3, 0, 9, 9]);
        assert_eq!(o.mss, Some(256));
        assert_eq!(o.wscale, None);
        let o = TcpOptions::parse(&[5, 10, 0, 0, 0, 1, 0, 0, 0, 9]);
        assert_eq!(o.sack, vec![(1, 9)]);
    }

    #[test]
    fn a_port_unreachable_names_the_datagram_it_answers() {
        // 127.0.0.1:5000 -> 127.0.0.1:9999 (UDP) answered by ICMP 3/3.
        let mut inner = vec![
            0x45, 0, 0, 35, 0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ];
        inner.extend_from_slice(&5000u16.to_be_bytes());
        inner.extend_from_slice(&9999u16.to_be_bytes());
        inner.extend_from_slice(&[0, 15, 0, 0]);
        let mut f = vec![0u8; 14];
        f[12] = 0x08;
        let total = (20 + 8 + inner.len()) as u16;
        let mut ip = vec![
            0x45, 0xc0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&[3, 3, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&inner);
        let Some(Packet::Unreachable(u)) = parse_frame(&f, f.len() as u32, 1) else {
            panic!("an ICMP error: {:?}", parse_frame(&f, f.len() as u32, 1));
        };
        assert_eq!(u.what(), "port unreachable");
        assert_eq!(u.proto, 17);
        assert_eq!(u.orig_src, "127.0.0.1:5000".parse().expect("addr"));
        assert_eq!(u.orig_dst, "127.0.0.1:9999".parse().expect("addr"));
    }

    #[test]
    fn garbage_does_not_parse() {
        assert!(parse_frame(&[0u8; 10], 10, 0).is_none());
        assert!(parse_frame(&[0xffu8; 100], 100, 0).is_none());
        let mut f = frame4(ACK, 0, &[]);
        f.truncate(30);
        assert!(parse_frame(&f, 60, 0).is_none());
    }
}

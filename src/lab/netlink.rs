//! A small NETLINK_ROUTE client: the five requests the lab needs (make a
//! veth pair across two namespaces, bring a link up, give it an IPv4
//! address, a permanent neighbour entry) and an ethtool call, all
//! synchronous.
//!
//! Written by hand because the crates that cover rtnetlink
//! (rtnetlink, netlink-packet-route) are built around tokio, and these
//! requests are a few hundred bytes of fixed structs and attributes. A
//! netlink socket acts on the namespace it was made in, so each [`Rtnl`]
//! is opened by a thread inside the namespace it configures (see
//! [`super::ns::within`]).

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

// linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/veth.h,
// linux/if_addr.h, linux/neighbour.h: stable kernel ABI.
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWNEIGH: u16 = 28;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;
const NUD_PERMANENT: u16 = 0x80;
const IFF_UP: u32 = 0x1;
/// sizeof(struct ifinfomsg), sizeof(struct ifaddrmsg), sizeof(struct ndmsg).
const IFINFOMSG: usize = 16;

/// A netlink message being built: header, fixed struct, attributes.
struct Msg {
    buf: Vec<u8>,
    /// Offsets of the nested attributes still open.
    open: Vec<usize>,
}

fn align(n: usize) -> usize {
    (n + 3) & !3
}

impl Msg {
    fn new(kind: u16, flags: u16) -> Msg {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set in finish
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // seq, set on send
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel's
        Msg {
            buf,
            open: Vec::new(),
        }
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Msg {
        self.buf.extend_from_slice(b);
        self.buf.resize(align(self.buf.len()), 0);
        self
    }

    /// struct ifinfomsg.
    fn ifinfo(&mut self, index: i32, flags: u32, change: u32) -> &mut Msg {
        let mut b = [0u8; IFINFOMSG];
        b[0] = libc::AF_UNSPEC as u8;
        b[4..8].copy_from_slice(&index.to_ne_bytes());
        b[8..12].copy_from_slice(&flags.to_ne_bytes());
        b[12..16].copy_from_slice(&change.to_ne_bytes());
        self.bytes(&b)
    }

    fn attr(&mut self, kind: u16, data: &[u8]) -> &mut Msg {
        let len = u16::try_from(4 + data.len()).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.bytes(data)
    }

    fn attr_str(&mut self, kind: u16, s: &str) -> &mut Msg {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(kind, &v)
    }

    fn begin(&mut self, kind: u16) -> &mut Msg {
        self.open.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self
    }

    fn end(&mut self) -> &mut Msg {
        if let Some(at) = self.open.pop() {
            let len = u16::try_from(self.buf.len() - at).unwrap_or(u16::MAX);
            self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }
}

/// How long a netlink request may wait for the kernel's answer.
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// A NETLINK_ROUTE socket in the namespace of the thread that opened it.
pub struct Rtnl {
    fd: OwnedFd,
    seq: u32,
}

impl Rtnl {
    pub fn open() -> io::Result<Rtnl> {
        // SAFETY: plain socket(2); the descriptor is ours.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fresh descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // The kernel answers at once; should it ever not, `lab up` fails
        // after a while rather than hanging the shell for good.
        let tv = libc::timeval {
            tv_sec: ANSWER_WITHIN.as_secs() as libc::time_t,
            tv_usec: 0,
        };
        // SAFETY: SO_RCVTIMEO takes a timeval of its size.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Rtnl { fd, seq: 0 })
    }

    /// Sends one request and waits for its acknowledgment (or error).
    fn call(&mut self, m: &mut Msg) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let len = u32::try_from(m.buf.len()).map_err(io::Error::other)?;
        m.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        m.buf[8..12].copy_from_slice(&self.seq.to_ne_bytes());
        // SAFETY: sending a buffer of its length to the kernel (the
        // socket is unbound: the kernel is the only peer).
        let n = unsafe { libc::send(self.fd.as_raw_fd(), m.buf.as_ptr().cast(), m.buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = vec![0u8; 8192];
        // Bounded: the kernel answers each request with one message.
        for _ in 0..16 {
            // SAFETY: receiving into a buffer of its length.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::WouldBlock {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "the kernel did not answer a netlink request within {} s",
                            ANSWER_WITHIN.as_secs()
                        ),
                    ));
                }
                return Err(e);
            }
            let got = &buf[..n as usize];
            let mut at = 0;
            while at + 16 <= got.len() {
                let mlen =
                    u32::from_ne_bytes(got[at..at + 4].try_into().unwrap_or([0; 4])) as usize;
                let kind = u16::from_ne_bytes([got[at + 4], got[at + 5]]);
                let seq = u32::from_ne_bytes(got[at + 8..at + 12].try_into().unwrap_or([0; 4]));
                if mlen < 16 || at + mlen > got.len() {
                    break;
                }
                if kind == NLMSG_ERROR && seq == self.seq && mlen >= 20 {
                    let code =
                        i32::from_ne_bytes(got[at + 16..at + 20].try_into().unwrap_or([0; 4]));
                    return if code == 0 {
                        Ok(())
                    } else {
                        Err(io::Error::from_raw_os_error(-code))
                    };
                }
                at += align(mlen);
            }
        }
        Err(io::Error::other(
            "the kernel did not answer a netlink request",
        ))
    }

    /// A veth pair: `name` here, `peer` (with MAC `peer_mac`) in the
    /// namespace `peer_ns`.
    pub fn add_veth(
        &mut self,
        name: &str,
        peer: &str,
        peer_mac: [u8; 6],
        peer_ns: BorrowedFd<'_>,
    ) -> io::Result<()> {
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        m.ifinfo(0, 0, 0).attr_str(IFLA_IFNAME, name);
        m.begin(IFLA_LINKINFO).attr_str(IFLA_INFO_KIND, "veth");
        m.begin(IFLA_INFO_DATA)
            .begin(VETH_INFO_PEER)
            .ifinfo(0, 0, 0);
        m.attr_str(IFLA_IFNAME, peer)
            .attr(IFLA_ADDRESS, &peer_mac)
            .attr(IFLA_NET_NS_FD, &peer_ns.as_raw_fd().to_ne_bytes());
        m.end().end().end();
        self.call(&mut m)
    }

    /// Brings link `index` up.
    pub fn link_up(&mut self, index: u32) -> io::Result<()> {
        let idx = i32::try_from(index).map_err(io::Error::other)?;
        let mut m = Msg::new(RTM_NEWLINK, 0);
        m.ifinfo(idx, IFF_UP, IFF_UP);
        self.call(&mut m)
    }

    /// Gives link `index` the address `ip/prefix` (the kernel adds the
    /// route to its subnet, and no other).
    pub fn add_addr(&mut self, index: u32, ip: Ipv4Addr, prefix: u8) -> io::Result<()> {
        let mut m = Msg::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
        let mut head = [0u8; 8];
        head[0] = libc::AF_INET as u8;
        head[1] = prefix;
        head[3] = 0; // RT_SCOPE_UNIVERSE
        head[4..8].copy_from_slice(&index.to_ne_bytes());
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        let bcast = Ipv4Addr::from(u32::from(ip) | !mask);
        m.bytes(&head)
            .attr(IFA_LOCAL, &ip.octets())
            .attr(IFA_ADDRESS, &ip.octets())
            .attr(IFA_BROADCAST, &bcast.octets());
        self.call(&mut m)
    }

    /// A permanent neighbour entry: `ip` is at `mac` on link `index` (so
    /// no ARP is needed, and lost packets are only ever the learner's).
    pub fn add_neigh(&mut self, index: u32, ip: Ipv4Addr, mac: [u8; 6]) -> io::Result<()> {
        let mut m = Msg::new(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL);
        let idx = i32::try_from(index).map_err(io::Error::other)?;
        let mut head = [0u8; 12];
        head[0] = libc::AF_INET as u8;
        head[4..8].copy_from_slice(&idx.to_ne_bytes());
        head[8..10].copy_from_slice(&NUD_PERMANENT.to_ne_bytes());
        m.bytes(&head)
            .attr(NDA_DST, &ip.octets())
            .attr(NDA_LLADDR, &mac);
        self.call(&mut m)
    }
}

/// The index of link `name` in the calling thread's namespace.
pub fn index_of(name: &str) -> io::Result<u32> {
    let c = std::ffi::CString::new(name).map_err(io::Error::other)?;
    // SAFETY: a NUL-terminated name.
    match unsafe { libc::if_nametoindex(c.as_ptr()) } {
        0 => Err(io::Error::last_os_error()),
        n => Ok(n),
    }
}

/// Waits, at most `limit`, until link `name` (in the calling thread's
/// namespace) is running. A veth brought up has no queueing discipline
/// until the kernel's link watch attaches one, a moment later (longer on
/// a busy machine); a frame sent before that is dropped without a word,
/// so a lab must not be handed over until every link runs.
pub fn wait_running(name: &str, limit: std::time::Duration) -> io::Result<()> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    let start = std::time::Instant::now();
    loop {
        // SAFETY: ifreq is plain data; the name fits (IFNAMSIZ - 1 at most).
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (k, b) in name.bytes().take(libc::IFNAMSIZ - 1).enumerate() {
            req.ifr_name[k] = b as libc::c_char;
        }
        // SAFETY: SIOCGIFFLAGS with a valid ifreq.
        if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: SIOCGIFFLAGS filled in the flags.
        let flags = i32::from(unsafe { req.ifr_ifru.ifru_flags });
        if flags & libc::IFF_RUNNING != 0 {
            return Ok(());
        }
        if start.elapsed() >= limit {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("link {name} did not start running in {} s", limit.as_secs()),
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

// linux/ethtool.h: the legacy one-feature ioctls.
const ETHTOOL_STXCSUM: u32 = 0x17;
const ETHTOOL_SSG: u32 = 0x19;
const ETHTOOL_STSO: u32 = 0x1f;
const ETHTOOL_SGSO: u32 = 0x24;

/// Turns off checksum offload and segmentation offload on link `name` (in
/// the calling thread's namespace): each frame then leaves whole, at most
/// one MTU, with its checksums computed, as the switch must forward it.
pub fn plain_frames(name: &str) -> io::Result<()> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    for cmd in [ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SSG, ETHTOOL_STXCSUM] {
        let mut value = [cmd, 0u32];
        // SAFETY: ifreq is plain data; the name fits (checked by the
        // caller's naming) and ifr_data points at `value`, alive here.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (k, b) in name.bytes().take(libc::IFNAMSIZ - 1).enumerate() {
            req.ifr_name[k] = b as libc::c_char;
        }
        req.ifr_ifru.ifru_data = value.as_mut_ptr().cast();
        // SAFETY: SIOCETHTOOL with a valid ifreq.
        let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCETHTOOL, &mut req) };
        if rc != 0 {
            let e = io::Error::last_os_error();
            // A feature the device cannot change is already off.
            if !matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EINVAL)) {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Writes a sysctl of the calling thread's network namespace (its files
/// under /proc/sys/net are the namespace's of whoever opens them).
pub fn sysctl(path: &str, value: &str) -> io::Result<()> {
    std::fs::write(format!("/proc/sys/net/{path}"), value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_waits_for_the_kernel_a_bounded_time() {
        let r = Rtnl::open().expect("a netlink socket");
        let mut tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        };
        let mut len = std::mem::size_of::<libc::timeval>() as libc::socklen_t;
        // SAFETY: SO_RCVTIMEO fills a timeval of its size.
        let rc = unsafe {
            libc::getsockopt(
                r.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&mut tv as *mut libc::timeval).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0);
        assert!(tv.tv_sec > 0, "a netlink recv without a deadline");
    }
}

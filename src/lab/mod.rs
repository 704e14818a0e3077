//! The lab: hosts in network namespaces on a switch whose links lose,
//! delay, reorder and duplicate packets (`lab up a b`, `on a STATEMENT`,
//! `lab net b loss 30%`).
//!
//! In: host names from `lab up`, fault settings from `lab net`, and the
//! executor's requests to enter a host for one statement. Out: the hosts
//! (names, addresses) for name resolution and `sockets`, the guard that
//! keeps the executing thread inside a host ([`ns::Inside`]), each link's
//! counts, and the TCP segments the switch saw, for `states`.
//!
//! The shape, and why nothing is ever left behind:
//!
//! - every host is an anonymous network namespace (plus a UTS namespace
//!   for its host name) held by a descriptor in sockplay ([`ns`]); the
//!   switch has one of its own, so the machine's own namespace is never
//!   touched and nothing is named in /run/netns;
//! - each host's link is a veth pair, `eth0` in the host and `sw-HOST` in
//!   the switch's namespace, made with netlink ([`netlink`]); each host
//!   has 10.99.0.N/24, a permanent neighbour entry for every other host,
//!   and no other route: the subnet exists only inside the lab;
//! - sockplay's own thread is the switch ([`switch`]): it forwards frames
//!   between the `sw-*` ports and applies `lab net`'s faults on the way.
//!
//! A namespace goes when its last reference goes: the descriptor here,
//! the sockets made in it, a thread inside it. `lab down` closes the
//! sockets and stops the peers and jobs of the lab's hosts, then drops the
//! switch and the descriptors; the veth pairs die with their namespaces.
//! If sockplay ends any other way (quit, the end of a script, a signal,
//! even SIGKILL) the kernel closes the descriptors, with the same result.
//! No `ip`/`tc` program is run: nothing outside sockplay holds a
//! reference.

pub mod netlink;
pub mod ns;
pub mod switch;

pub use switch::{Counts, Mark, Net};

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::AsFd;

/// The lab's subnet: 10.99.0.0/24 (host k is 10.99.0.k+1).
pub const SUBNET: [u8; 3] = [10, 99, 0];
pub const PREFIX: u8 = 24;
/// Hosts in a lab at most.
pub const MAX_HOSTS: usize = 32;
/// Longest host name: `sw-NAME` must fit a link name (15 bytes).
pub const MAX_NAME: usize = 12;

/// Names that cannot name a host besides `lab`'s own words (spec's
/// LAB_WORDS and NET_WORDS): they mean something already.
pub const RESERVED: &[&str] = &["all", "localhost", "switch"];

/// Whether `name` is one of `lab`'s words or a reserved name.
fn reserved(name: &str) -> bool {
    crate::spec::LAB_WORDS
        .iter()
        .chain(crate::spec::NET_WORDS)
        .chain(RESERVED)
        .any(|w| *w == name)
}

/// One host of the lab.
#[derive(Debug)]
pub struct Host {
    pub name: String,
    pub ip: Ipv4Addr,
    pub mac: [u8; 6],
    ns: ns::Ns,
}

impl Host {
    /// `02:00:0a:63:00:02` for 10.99.0.2: locally administered, and the
    /// address can be read off it.
    pub fn mac_text(&self) -> String {
        self.mac
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// The descriptor that holds its network namespace (for `nsenter
    /// --net=/proc/PID/fd/N`).
    pub fn net_fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.ns.net.as_raw_fd()
    }

    /// The inode of its network namespace (as `ip netns identify` and
    /// /proc/PID/fd/N show it).
    pub fn ns_inode(&self) -> Option<u64> {
        self.ns.net_inode()
    }
}

/// A lab that is up.
pub struct Lab {
    // Dropped first: the thread stops and its port sockets close before
    // the namespaces' descriptors go.
    switch: switch::Switch,
    hosts: Vec<Host>,
    switch_ns: ns::Ns,
}

/// Why `lab up` failed: the step, and the kernel's error.
#[derive(Debug)]
pub struct UpError {
    pub step: String,
    pub error: io::Error,
}

impl UpError {
    fn at(step: impl Into<String>) -> impl FnOnce(io::Error) -> UpError {
        let step = step.into();
        move |error| UpError { step, error }
    }
}

/// Whether `name` may name a host; why not otherwise.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) || !ok_chars {
        return Err(
            "a host name is lower-case letters, digits and -, starting with a letter (a, b, server1)"
                .into(),
        );
    }
    if name.len() > MAX_NAME {
        return Err(format!(
            "a host name has at most {MAX_NAME} characters (its link is named sw-NAME)"
        ));
    }
    if reserved(name) {
        return Err(format!(
            "`{name}` is a word of the lab's own; name the host otherwise"
        ));
    }
    Ok(())
}

fn mac_of(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x00, o[0], o[1], o[2], o[3]]
}

impl Lab {
    /// Makes the switch, one namespace per host with its link and address,
    /// and starts forwarding. On any failure everything made so far is
    /// dropped (and so is gone) before the error returns.
    pub fn up(names: &[String]) -> Result<Lab, UpError> {
        let switch_ns = ns::create("switch").map_err(UpError::at("a namespace for the switch"))?;
        // No IPv6 on the switch's ports: they stay silent.
        let _ = ns::within(&switch_ns, || {
            netlink::sysctl("ipv6/conf/default/disable_ipv6", "1")
        });
        let mut hosts = Vec::with_capacity(names.len());
        for (k, name) in names.iter().enumerate() {
            let ns =
                ns::create(name).map_err(UpError::at(format!("a namespace for host {name}")))?;
            // The lab speaks IPv4: eth0 gets no IPv6 link-local address
            // (whose announcements would cross the switch). `lo` keeps ::1.
            let _ = ns::within(&ns, || {
                netlink::sysctl("ipv6/conf/default/disable_ipv6", "1")
            });
            let ip = Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], (k + 1) as u8);
            hosts.push(Host {
                name: name.clone(),
                ip,
                mac: mac_of(ip),
                ns,
            });
        }
        let links: Vec<(String, [u8; 6], std::os::fd::BorrowedFd<'_>)> = hosts
            .iter()
            .map(|h| (h.name.clone(), h.mac, h.ns.net.as_fd()))
            .collect();
        let ports = ns::within(&switch_ns, || {
            let mut rtnl = netlink::Rtnl::open()?;
            let mut ports = Vec::new();
            for (name, mac, host_ns) in &links {
                let port = format!("sw-{name}");
                rtnl.add_veth(&port, "eth0", *mac, *host_ns)
                    .map_err(|e| io::Error::new(e.kind(), format!("the link of {name}: {e}")))?;
                let index = netlink::index_of(&port)?;
                rtnl.link_up(index)?;
                ports.push(switch::Port {
                    host: name.clone(),
                    mac: *mac,
                    sock: switch::open_port(index)?,
                });
            }
            Ok(ports)
        })
        .map_err(UpError::at("the links (veth pairs) to the switch"))?;
        drop(links);
        let neighbours: Vec<(Ipv4Addr, [u8; 6])> = hosts.iter().map(|h| (h.ip, h.mac)).collect();
        for h in &hosts {
            let ip = h.ip;
            let others: Vec<_> = neighbours
                .iter()
                .filter(|(i, _)| *i != ip)
                .copied()
                .collect();
            ns::within(&h.ns, || {
                let mut rtnl = netlink::Rtnl::open()?;
                rtnl.link_up(netlink::index_of("lo")?)?;
                let eth0 = netlink::index_of("eth0")?;
                netlink::plain_frames("eth0")?;
                rtnl.link_up(eth0)?;
                rtnl.add_addr(eth0, ip, PREFIX)?;
                for (oip, omac) in &others {
                    rtnl.add_neigh(eth0, *oip, *omac)?;
                }
                Ok(())
            })
            .map_err(UpError::at(format!("host {}'s address and link", h.name)))?;
        }
        // Every link running, on both sides, before the first frame.
        let limit = std::time::Duration::from_secs(5);
        ns::within(&switch_ns, || {
            for p in &ports {
                netlink::wait_running(&format!("sw-{}", p.host), limit)?;
            }
            Ok(())
        })
        .map_err(UpError::at("the links (veth pairs) to the switch"))?;
        for h in &hosts {
            ns::within(&h.ns, || netlink::wait_running("eth0", limit))
                .map_err(UpError::at(format!("host {}'s address and link", h.name)))?;
        }
        let switch = switch::Switch::start(ports).map_err(UpError::at("the switch's thread"))?;
        Ok(Lab {
            switch,
            hosts,
            switch_ns,
        })
    }

    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// A host by name: its index and itself.
    pub fn host(&self, name: &str) -> Option<(usize, &Host)> {
        self.hosts.iter().enumerate().find(|(_, h)| h.name == name)
    }

    /// The host with this address.
    pub fn by_ip(&self, ip: Ipv4Addr) -> Option<&Host> {
        self.hosts.iter().find(|h| h.ip == ip)
    }

    /// Moves the calling thread into host `k` until the guard drops.
    pub fn enter(&self, k: usize) -> io::Result<ns::Inside> {
        let h = self
            .hosts
            .get(k)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
        ns::enter(&h.ns)
    }

    pub fn set_net(&self, k: usize, net: Net) {
        self.switch.set_net(k, net);
    }

    pub fn net(&self, k: usize) -> Net {
        self.switch.net(k)
    }

    pub fn counts(&self, k: usize) -> Counts {
        self.switch.counts(k)
    }

    /// Until the switch has read every frame sent so far.
    pub fn sync(&self) {
        self.switch.sync();
    }

    /// The TCP segments the switch saw that `pred` selects, with marks.
    pub fn segments(
        &self,
        pred: &dyn Fn(&crate::wire::Segment) -> bool,
    ) -> Vec<(crate::wire::Segment, Option<Mark>)> {
        self.switch.sync();
        self.switch.segments(pred)
    }

    /// The inodes of every namespace of the lab (the switch's first).
    pub fn ns_inodes(&self) -> Vec<u64> {
        std::iter::once(self.switch_ns.net_inode())
            .chain(self.hosts.iter().map(Host::ns_inode))
            .flatten()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_checked() {
        assert!(check_name("a").is_ok());
        assert!(check_name("server-1").is_ok());
        assert!(check_name("Server").is_err());
        assert!(check_name("1a").is_err());
        assert!(check_name("a_b").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("abcdefghijklm").is_err());
        assert!(check_name("abcdefghijkl").is_ok());
        assert!(check_name("loss").is_err());
        assert!(check_name("localhost").is_err());
        for w in ["up", "down", "net", "clear", "delay", "rate", "switch"] {
            assert!(check_name(w).is_err(), "{w}");
        }
    }

    #[test]
    fn the_mac_carries_the_address() {
        assert_eq!(mac_of(Ipv4Addr::new(10, 99, 0, 2)), [2, 0, 10, 99, 0, 2]);
    }
}

#[cfg(test)]
mod live {
    use super::*;
    use std::net::UdpSocket;
    use std::time::Duration;

    /// A lab, or None (printed) where namespaces cannot be made.
    fn lab(names: &[&str]) -> Option<Lab> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        match Lab::up(&names) {
            Ok(l) => Some(l),
            Err(e) if e.error.raw_os_error() == Some(libc::EPERM) => {
                eprintln!("skipped: {}: {}", e.step, e.error);
                None
            }
            Err(e) => panic!("lab up: {}: {}", e.step, e.error),
        }
    }

    #[test]
    fn a_datagram_crosses_the_switch_with_its_senders_address() {
        let Some(lab) = lab(&["a", "b"]) else { return };
        let rx = {
            let _in = lab.enter(1).expect("enter b");
            UdpSocket::bind("0.0.0.0:9999").expect("bind in b")
        };
        let tx = {
            let _in = lab.enter(0).expect("enter a");
            UdpSocket::bind("0.0.0.0:0").expect("bind in a")
        };
        rx.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        tx.send_to(b"hi", "10.99.0.2:9999").expect("send");
        let mut buf = [0u8; 16];
        let (n, from) = rx.recv_from(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"hi");
        assert_eq!(
            from.ip(),
            "10.99.0.1".parse::<std::net::IpAddr>().expect("ip")
        );
        assert_eq!(lab.counts(0).sent, 1);
        // A host has no route but its subnet's: nothing leaves the lab.
        // (Read from the routing table, not tried: a test sends to no
        // address outside the lab.)
        let _in = lab.enter(0).expect("enter a");
        let routes = std::fs::read_to_string("/proc/thread-self/net/route").expect("routes");
        let dests: Vec<&str> = routes
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().nth(1))
            .collect();
        // 10.99.0.0 in the table's little-endian hex.
        assert_eq!(dests, ["0000630A"], "{routes}");
    }
}

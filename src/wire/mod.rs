//! The wire view: what passes between the sockets, read off the network
//! interface, and what it means.
//!
//! In: frames captured on an interface ([`capture`]; `lo` for the shell,
//! any interface of a network namespace for a lab), and the calls each end
//! made ([`calls`]: the shell records its own; a watched program's can be
//! recorded the same way, since an end is known by its address). Out:
//! packets ([`packet`]: TCP segments with their options, UDP datagrams,
//! ICMP "port unreachable"), each connection read as tcpdump and Wireshark
//! read it ([`analysis`]: relative numbers, scaled windows, states,
//! retransmissions and duplicate ACKs, why a reset came), a pcap file that
//! Wireshark opens ([`pcap`]), and a sequence diagram, as text for the
//! terminal and as SVG for slides ([`ladder`], [`svg`]). The executor asks
//! for these (`states`, `states save`, `diagram`); the renderer lays the
//! diagram out in colour. [`userns`] gives a shell without root a network
//! namespace of its own (`sockplay --lab`), where the capture is allowed.

pub mod analysis;
pub mod calls;
pub mod capture;
pub mod ladder;
pub mod packet;
pub mod pcap;
pub mod svg;
pub mod userns;

pub use analysis::{Analysis, analyze};
pub use calls::{Call, CallKind, Calls};
pub use capture::Capture;
pub use packet::{Nanos, Packet, Segment, now_ns};

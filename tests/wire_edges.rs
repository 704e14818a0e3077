//! The wire view at its edges, through the real binary: a UDP socket that
//! talked to two ports (its diagram draws the latest, with only the calls
//! that went there, each before the datagram it sent), a UDP peer that is
//! named by no UDP socket, `states` on an 80-column terminal, and the SVG's
//! text inside its picture.
//!
//! The capture needs root, or `--lab`: otherwise each test says `skipped`.
//! Ports are the kernel's; every run is bounded (30 s).

mod common;

use common::Scratch;
use common::wire::{run, section};

/// A UDP socket sends to a closed port, then to another: `diagram u` draws
/// the second conversation, its `sendto` before the datagram it sent, and
/// neither the first sendto nor its failure; the peer, a port where only
/// a TCP socket of the shell is bound, is named by its address, not by
/// that TCP socket.
#[test]
fn a_udp_diagram_draws_its_latest_peer_with_its_own_calls() {
    let scratch = Scratch::new("wire-udp-two");
    let Some(out) = run(
        &scratch,
        "p = socket udp
bind p 127.0.0.1 0
a = getsockname p
close p
t = socket tcp
bind t 127.0.0.1 0
b = getsockname t
u = socket udp
connect u a
send u b\"first\"
send u b\"again\"
sendto u b\"second\" b
sleep 0.2
diagram u
states u",
    ) else {
        return;
    };
    let d = section(&out, "diagram u");
    let text = d.join("\n");
    assert!(
        !text.contains("ConnectionRefused"),
        "another peer's failure:\n{text}"
    );
    let calls = d
        .iter()
        .filter(|l| l.trim_start().starts_with("sendto"))
        .count();
    assert_eq!(calls, 1, "only the sendto to this peer:\n{text}");
    let call = d
        .iter()
        .position(|l| l.trim_start().starts_with("sendto"))
        .expect("sendto");
    let arrow = d
        .iter()
        .position(|l| l.contains("UDP len=6"))
        .expect("the datagram");
    assert!(call < arrow, "the call comes before its datagram:\n{text}");
    // The peer: its address, not the TCP socket t bound to that port.
    assert!(!d[0].split_whitespace().any(|w| w == "t"), "{text}");
    let st = section(&out, "states u").join("\n");
    assert!(!st.contains("u -> t"), "{st}");
}

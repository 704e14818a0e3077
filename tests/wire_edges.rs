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

/// Two UDP sockets of the shell answer each other: `diagram u` writes each
/// sendto on the side of the socket that made it, v's too (only u's calls
/// were drawn), each before its datagram.
#[test]
fn a_udp_diagram_draws_both_ends_calls() {
    let scratch = Scratch::new("wire-udp-both");
    let Some(out) = run(
        &scratch,
        "u = socket udp
bind u 127.0.0.1 0
v = socket udp
bind v 127.0.0.1 0
sendto v b\"hi\" u
data, addr = recvfrom u 100
sendto u b\"HELLO\" addr
recvfrom v 100
sleep 0.2
diagram u",
    ) else {
        return;
    };
    let d = section(&out, "diagram u");
    let text = d.join("\n");
    // The lifelines' columns, from the header's names.
    let col = |name: &str| d[0].find(&format!(" {name} ")).or_else(|| d[0].rfind(name));
    let (Some(_), Some(vcol)) = (col("u"), col("v")) else {
        panic!("no u and v columns:\n{text}");
    };
    let calls: Vec<(usize, usize)> = d
        .iter()
        .enumerate()
        .filter_map(|(k, l)| l.find("sendto").map(|at| (k, at)))
        .collect();
    assert_eq!(calls.len(), 2, "a sendto on each side:\n{text}");
    let row = |w: &str| d.iter().position(|l| l.contains(w)).expect(w);
    // v's sendto is right of the middle, before its datagram (len=2); u's
    // on the left, before its own (len=5).
    assert!(calls[0].1 > vcol / 2, "v's sendto on v's side:\n{text}");
    assert!(calls[0].0 < row("UDP len=2"), "{text}");
    assert!(calls[1].1 < vcol / 2, "u's sendto on u's side:\n{text}");
    assert!(
        row("UDP len=2") < calls[1].0 && calls[1].0 < row("UDP len=5"),
        "{text}"
    );
}

/// `states` on an 80-column terminal with names longer than `k` and `c`:
/// every line fits (the states an arrow moves the ends to wrap in their
/// column), and nothing is lost.
#[test]
fn states_with_long_names_fit_80_columns() {
    let scratch = Scratch::new("wire-states-80");
    let Some(out) = run(
        &scratch,
        "s = socket tcp
bind s 127.0.0.1 0
listen s
client_connection = socket tcp
connect client_connection s
server_side = accept s
send client_connection b\"hello\"
recv server_side
close client_connection
close server_side
states client_connection",
    ) else {
        return;
    };
    let lines = section(&out, "states client_connection");
    for l in &lines {
        // The note under the table is words, wrapped by the terminal.
        if !l.trim_start().starts_with('#') {
            assert!(
                l.chars().count() <= 80,
                "{l:?} is over 80 columns:\n{}",
                lines.join("\n")
            );
        }
    }
    let all: String = lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
    for want in [
        "client_connection SYN_SENT, server_side SYN_RECV",
        "client_connection FIN_WAIT1, server_side CLOSE_WAIT",
        "handshake 1/3",
        "close 4/4",
    ] {
        assert!(all.contains(want), "{want:?} in:\n{}", lines.join("\n"));
    }
}

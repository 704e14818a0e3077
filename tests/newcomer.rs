//! What a newcomer trips over in the first minutes, through the real
//! binary (`sockplay -c ...` in a scratch directory, no colour): advice
//! that names the right socket, hints in the documented form, tables whose
//! columns cannot contradict each other, a reset connection called dead,
//! `reset`, and `help` that fits the terminal. (What is about typing is in
//! tests/pty_newcomer.rs.)

mod common;

use common::{Run, Scratch, run_in};

/// `sockplay -c CMDS` in a scratch directory.
fn run(tag: &str, cmds: &str) -> Run {
    let scratch = Scratch::new(&format!("newcomer-{tag}"));
    run_in(scratch.path(), &["-c", cmds], None)
}

#[track_caller]
fn has(run: &Run, needle: &str) {
    assert!(
        run.output.contains(needle),
        "expected {needle:?} in the output:\n{}",
        run.output
    );
}

#[track_caller]
fn lacks(run: &Run, needle: &str) {
    assert!(
        !run.output.contains(needle),
        "did not expect {needle:?} in the output:\n{}",
        run.output
    );
}

/// A listener, a client and the accepted connection: s, then `client`
/// connected to it, then c.
fn pair(client: &str) -> String {
    format!("s = socket tcp; bind s 127.0.0.1 0; listen s; {client}connect k s; c = accept s; ")
}

/// The "why" box, its lines joined (it wraps at 80 columns).
fn why_box(run: &Run) -> String {
    run.output
        .lines()
        .filter(|l| l.trim_start().starts_with('│'))
        .map(|l| l.trim_start().trim_start_matches('│').trim())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn sticky_packets_advice_frames_on_the_sending_socket() {
    let r = run(
        "sticky-named",
        &(pair("k = socket tcp; ") + "send k b\"one\"; send k b\"two\"; data = recv c 1024"),
    );
    assert_eq!(r.status, Some(0), "{}", r.output);
    has(&r, "why: sticky packets");
    let why = why_box(&r);
    // k sent the merged sends: k frames, c (which received) reads frames.
    assert!(
        why.contains("send with sendmsg k DATA framed, read with recvmsg c framed"),
        "{why}"
    );
    assert!(why.contains("sendmsg k DATA marker"), "{why}");
    assert!(!why.contains("sendmsg c"), "{why}");
}

#[test]
fn sticky_packets_advice_names_an_unnamed_sender_by_its_fd() {
    // The client has no name: fd 4 (s is 3).
    let cmds = "s = socket tcp; bind s 127.0.0.1 0; listen s; socket tcp; connect 4 s; \
                c = accept s; send 4 b\"one\"; send 4 b\"two\"; recv c";
    let r = run("sticky-fd", cmds);
    assert_eq!(r.status, Some(0), "{}", r.output);
    let why = why_box(&r);
    assert!(why.contains("send with sendmsg 4 DATA framed"), "{why}");
}

#[test]
fn sticky_packets_advice_says_the_sending_socket_when_it_is_gone() {
    let r = run(
        "sticky-gone",
        &(pair("k = socket tcp; ") + "send k b\"one\"; send k b\"two\"; close k; recv c"),
    );
    assert_eq!(r.status, Some(0), "{}", r.output);
    let why = why_box(&r);
    assert!(
        why.contains("sendmsg SOCK DATA framed on the sending socket, read with recvmsg c framed"),
        "{why}"
    );
    lacks(&r, "sendmsg c DATA");
}

//! `interactive` in a real pseudo-terminal (rexpect), against a peer: the
//! lines typed reach the peer with their line end, what the peer sends is
//! shown escaped as it arrives (its escape sequences never reach the
//! terminal raw), and Ctrl-D, Ctrl-] then Enter, and Ctrl-C each lead back
//! to the prompt with the socket still open; the peer's close does too.
//!
//! Sealed like tests/pty.rs (`--no-rc`, history and config in a scratch
//! directory, TERM=xterm, no colour). The peer is a thread of the test on
//! 127.0.0.1, port chosen by the kernel; every wait has a timeout.

mod common;

use common::Scratch;
use common::pty::{PROMPT, expect, leave, run, send, send_line, spawn, wait_prompt};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

/// A peer that greets with an escape sequence and a `\r\n`, answers each
/// line upper-cased, and closes on `bye`. What it received goes to the
/// channel, line by line (with their line ends).
fn peer() -> (u16, mpsc::Receiver<Vec<u8>>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut c, _)) = l.accept() else { return };
        let _ = c.set_read_timeout(Some(Duration::from_secs(30)));
        if c.write_all(b"hello \x1b[31mred\x07\r\n").is_err() {
            return;
        }
        let mut r = BufReader::new(c.try_clone().expect("clone"));
        loop {
            let mut line = Vec::new();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let _ = tx.send(line.clone());
            if line.starts_with(b"bye") {
                return;
            }
            if c.write_all(&line.to_ascii_uppercase()).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

#[test]
fn the_keyboard_talks_to_a_peer_and_each_way_out_keeps_the_socket() {
    let scratch = Scratch::new("pty-interactive");
    let (port, got) = peer();
    let mut p = spawn(scratch.path());
    run(&mut p, "k = socket tcp", "k = <socket fd=");
    run(
        &mut p,
        &format!("connect k 127.0.0.1 {port}"),
        "(ESTABLISHED)",
    );

    send_line(&mut p, "interactive k");
    expect(&mut p, "Ctrl-D at the start of a line");
    // The greeting, escaped: ESC and BEL as text, the \r shown.
    expect(&mut p, "< hello \\x1b[31mred\\x07\\r");

    send_line(&mut p, "hello there");
    expect(&mut p, "< HELLO THERE");
    let line = got
        .recv_timeout(Duration::from_secs(10))
        .expect("peer line");
    assert_eq!(line, b"hello there\n");

    // Ctrl-D at the start of a line: back to the prompt, k open.
    p.send_control('d').expect("Ctrl-D");
    expect(&mut p, "Ctrl-D: back to the prompt; k stays open");
    wait_prompt(&mut p);
    run(&mut p, "sockets", "ESTABLISHED");

    // With crlf, and telnet's escape: Ctrl-] then Enter.
    send_line(&mut p, "interactive k crlf");
    expect(&mut p, "sent with \\r\\n");
    send_line(&mut p, "get / http/1.0");
    expect(&mut p, "< GET / HTTP/1.0\\r");
    let line = got
        .recv_timeout(Duration::from_secs(10))
        .expect("peer line");
    assert_eq!(line, b"get / http/1.0\r\n");
    send(&mut p, "\x1d");
    send_line(&mut p, "");
    expect(&mut p, "Ctrl-]: back to the prompt; k stays open");
    wait_prompt(&mut p);

    // Ctrl-C leaves too (and does not end the shell).
    send_line(&mut p, "interactive k");
    expect(&mut p, "Ctrl-D at the start of a line");
    p.send_control('c').expect("Ctrl-C");
    expect(&mut p, "Ctrl-C: back to the prompt; k stays open");
    wait_prompt(&mut p);

    // The peer closes after `bye`: interactive says so and returns.
    send_line(&mut p, "interactive k");
    expect(&mut p, "Ctrl-D at the start of a line");
    send_line(&mut p, "bye");
    expect(
        &mut p,
        "the peer closed its side (recv returned b''): back to the prompt",
    );
    expect(&mut p, PROMPT);
    let line = got
        .recv_timeout(Duration::from_secs(10))
        .expect("peer line");
    assert_eq!(line, b"bye\n");
    run(&mut p, "sockets", "CLOSE_WAIT");
    leave(&mut p);
}

/// The text on the screen's current line when `needle` is printed: what
/// came since the last line break or carriage return (a progress line is
/// redrawn after `\r`).
fn line_before(before: &str) -> &str {
    before.rsplit(['\n', '\r']).next().unwrap_or("")
}

/// A Ctrl-C in `interactive` after half a line was typed: the terminal
/// echoes `^C` after it, and the report starts a line of its own; a
/// receive that timed out while its progress line was shown puts the error
/// on a line of its own too, not after the progress.
#[test]
fn reports_after_a_typed_half_line_or_a_progress_line_start_their_own_line() {
    let scratch = Scratch::new("pty-interactive-lines");
    // A peer that sends a byte every 50 ms and never a newline.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let Ok((mut c, _)) = l.accept() else { return };
        for _ in 0..400 {
            if c.write_all(b"x").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let mut p = spawn(scratch.path());
    run(&mut p, "k = socket tcp", "k = <socket fd=");
    run(
        &mut p,
        &format!("connect k 127.0.0.1 {port}"),
        "(ESTABLISHED)",
    );
    send_line(&mut p, "recvline k timeout 1");
    expect(&mut p, "so far");
    let before = expect(&mut p, "TimeoutError: timed out");
    assert_eq!(line_before(&before).trim(), "", "{before:?}");
    wait_prompt(&mut p);

    send_line(&mut p, "interactive k");
    expect(&mut p, "Ctrl-D at the start of a line");
    send(&mut p, "half a line");
    std::thread::sleep(Duration::from_millis(200));
    p.send_control('c').expect("Ctrl-C");
    let before = expect(&mut p, "Ctrl-C: back to the prompt; k stays open");
    assert_eq!(line_before(&before).trim(), "", "{before:?}");
    wait_prompt(&mut p);
    leave(&mut p);
}

//! Ctrl-C during each call that waits, in a real pseudo-terminal
//! (rexpect): the call ends with KeyboardInterrupt, the shell gives its
//! prompt back, and the next command on the same socket works.
//!
//! Here: connect (to a listener whose accept queue is full, TCP and UNIX),
//! recv, recvfrom, sendall on a full buffer, recvmsg, select, poll and
//! sleep. Elsewhere: accept (tests/pty.rs), send on a full buffer and
//! `wait` on a job (tests/pty_jobs.rs).
//!
//! Sealed like tests/pty.rs: `--no-rc`, history and config inside a
//! scratch directory, TERM=xterm, no colour, escape sequences stripped.
//! Every expectation has a timeout; a session still alive when a test ends
//! is killed when it is dropped. Only 127.0.0.1, ports the kernel picks,
//! and UNIX paths in the scratch directory.

mod common;

use common::Scratch;
use common::pty::{PROMPT, expect, leave, run, send_line, spawn, spawn_with};
use rexpect::session::PtySession;

/// Types `line`, waits until it says it waits (`waiting`), presses
/// Ctrl-C, and checks the interruption and the prompt after it.
fn interrupt(p: &mut PtySession, line: &str, waiting: &str) {
    send_line(p, line);
    expect(p, waiting);
    expect(p, "Ctrl-C to interrupt");
    p.send_control('c').expect("send Ctrl-C");
    expect(p, "KeyboardInterrupt");
    expect(p, "hint: ");
    expect(p, PROMPT);
}

/// Types `line` and returns all it printed before the next prompt.
fn output(p: &mut PtySession, line: &str) -> String {
    send_line(p, line);
    expect(p, PROMPT)
}

/// Ctrl-C during a call that prints nothing while it waits (sleep): the
/// key is pressed again every 100 ms (at most 50 times) until the call
/// reports the interruption, since a key pressed before the call began
/// is no interruption of it.
fn interrupt_quiet(p: &mut PtySession, line: &str) {
    send_line(p, line);
    // The line is accepted (the editor moves to the next line).
    expect(p, "\r\n");
    let mut seen = String::new();
    for _ in 0..50 {
        p.send_control('c').expect("send Ctrl-C");
        let until = std::time::Instant::now() + std::time::Duration::from_millis(100);
        while std::time::Instant::now() < until {
            match p.try_read() {
                Some(ch) => seen.push(ch),
                None => std::thread::sleep(std::time::Duration::from_millis(5)),
            }
        }
        if seen.contains("KeyboardInterrupt") {
            break;
        }
    }
    assert!(
        seen.contains("KeyboardInterrupt"),
        "{line}: no KeyboardInterrupt after 50 Ctrl-C: {seen:?}"
    );
    let after = &seen[seen.find("KeyboardInterrupt").unwrap_or(0)..];
    if !after.contains(PROMPT) {
        expect(p, PROMPT);
    }
}

/// A listener `s`, a client `k` connected to it and the accepted `c`.
fn connected_pair(p: &mut PtySession) {
    run(p, "s = socket tcp", "s = <socket fd=");
    run(p, "bind s 127.0.0.1 0", "chosen by the kernel");
    run(p, "listen s 5", "(LISTEN)");
    run(p, "k = socket tcp", "k = <socket fd=");
    run(p, "connect k s", "(ESTABLISHED)");
    run(p, "c, addr = accept s", "c = <socket fd=");
}

#[test]
fn ctrl_c_during_a_connect_to_a_full_accept_queue() {
    let scratch = Scratch::new("pty-fault-connect");
    // Connecting again waits for the client's kernel to send its SYN again
    // (1 s after the first, then 3 s, 7 s...): room for two of those.
    let mut p = spawn_with(scratch.path(), 15_000);
    run(&mut p, "s = socket tcp", "s = <socket fd=");
    run(&mut p, "bind s 127.0.0.1 0", "chosen by the kernel");
    // Backlog 0: one connection fills the queue; the next SYN is dropped.
    run(&mut p, "listen s 0", "(LISTEN)");
    run(&mut p, "k1 = socket tcp", "k1 = <socket fd=");
    run(&mut p, "connect k1 s", "(ESTABLISHED)");
    run(&mut p, "k2 = socket tcp", "k2 = <socket fd=");
    interrupt(&mut p, "connect k2 s", "SYN sent, state SYN_SENT");

    // The same socket: it has its address and is still connecting (the
    // kernel goes on with the handshake); the table shows it.
    run(&mut p, "getsockname k2", "-> ('127.0.0.1', ");
    let table = output(&mut p, "sockets");
    assert!(
        table.contains("k2") && (table.contains("SYN_SENT") || table.contains("ESTABLISHED")),
        "k2 is still connecting (or connected): {table:?}"
    );
    // The listener serves the queued client, which makes room; connecting
    // k2 again waits for the handshake to finish, as Python's blocking
    // connect would, and k2 works.
    run(&mut p, "c, addr = accept s", "c = <socket fd=");
    run(&mut p, "connect k2 s", "connected k2 from 127.0.0.1:");
    run(&mut p, "c2, addr2 = accept s", "c2 = <socket fd=");
    run(&mut p, "send k2 b\"late\"", "sent 4 bytes");
    run(&mut p, "recv c2", "-> b'late'");
    leave(&mut p);
}

#[test]
fn ctrl_c_during_a_unix_connect_to_a_full_accept_queue() {
    let scratch = Scratch::new("pty-fault-uconnect");
    let mut p = spawn(scratch.path());
    run(&mut p, "u = socket unix", "u = <socket fd=");
    run(&mut p, "bind u ./q.sock", "bound u to ./q.sock");
    run(&mut p, "listen u 0", "backlog 0");
    run(&mut p, "k1 = socket unix", "k1 = <socket fd=");
    run(&mut p, "connect k1 u", "connected k1 to ./q.sock");
    run(&mut p, "k2 = socket unix", "k2 = <socket fd=");
    interrupt(
        &mut p,
        "connect k2 u",
        "the listener's accept queue is full",
    );
    // Room after an accept: the same socket connects.
    run(&mut p, "c, addr = accept u", "c = <socket fd=");
    run(&mut p, "connect k2 u", "connected k2 to ./q.sock");
    run(&mut p, "send k2 b\"hi\"", "sent 2 bytes");
    leave(&mut p);
}

#[test]
fn ctrl_c_during_recv_and_recvmsg() {
    let scratch = Scratch::new("pty-fault-recv");
    let mut p = spawn(scratch.path());
    connected_pair(&mut p);
    interrupt(&mut p, "recv c", "waits for data from 127.0.0.1:");
    run(&mut p, "send k b\"x\"", "sent 1 byte");
    run(&mut p, "recv c", "-> b'x'");
    // A framed message: the length prefix is there, the body is not.
    run(&mut p, "send k x\"00 00 00 05\" + b\"ab\"", "sent 6 bytes");
    // It waits for the body with what came of it so far; after Ctrl-C
    // those bytes are held for the next receive.
    interrupt(
        &mut p,
        "recvmsg c framed",
        "waits for 5 bytes - 2 bytes so far",
    );
    run(&mut p, "send k b\"cde\"", "sent 3 bytes");
    run(&mut p, "recv c", "-> b'ab' + b'cde'");
    leave(&mut p);
}

#[test]
fn ctrl_c_during_recvfrom() {
    let scratch = Scratch::new("pty-fault-recvfrom");
    let mut p = spawn(scratch.path());
    run(&mut p, "u = socket udp", "u = <socket fd=");
    run(&mut p, "bind u 127.0.0.1 0", "chosen by the kernel");
    interrupt(
        &mut p,
        "d, a = recvfrom u",
        "waits for a datagram on 127.0.0.1:",
    );
    run(
        &mut p,
        "sendto u b\"dgram\" u",
        "sent 5 bytes to 127.0.0.1:",
    );
    run(&mut p, "d, a = recvfrom u", "d = b'dgram'");
    leave(&mut p);
}

#[test]
fn ctrl_c_during_sendall_on_a_full_buffer() {
    let scratch = Scratch::new("pty-fault-sendall");
    let mut p = spawn(scratch.path());
    connected_pair(&mut p);
    // c never reads: once both buffers are full the sendall waits.
    interrupt(
        &mut p,
        "sendall k b\"a\" * 50000000",
        "waits for buffer space",
    );
    let table = output(&mut p, "sockets");
    assert!(table.contains("ESTABLISHED"), "still connected: {table:?}");
    run(&mut p, "recv c 5", "-> b'aaaaa'");
    run(&mut p, "setblocking k false", "non-blocking");
    run(&mut p, "send k b\"b\"", "sent 1 byte");
    leave(&mut p);
}

#[test]
fn ctrl_c_during_select_poll_and_sleep() {
    let scratch = Scratch::new("pty-fault-select");
    let mut p = spawn(scratch.path());
    connected_pair(&mut p);
    interrupt(&mut p, "r, w, x = select read c", "select");
    interrupt(&mut p, "poll in c", "poll");
    // sleep says nothing while it sleeps.
    interrupt_quiet(&mut p, "sleep 600");
    // The sockets are as they were: data makes c readable at once.
    run(&mut p, "send k b\"ready\"", "sent 5 bytes");
    run(&mut p, "r, w, x = select read c 0", "r = [");
    run(&mut p, "recv c", "-> b'ready'");
    leave(&mut p);
}

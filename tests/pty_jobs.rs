//! Background jobs and blocking calls in the interactive shell, in a real
//! pseudo-terminal (rexpect): a job's report appears above the prompt
//! while the user is typing and the typed text survives; Ctrl-C during
//! `wait` stops the waiting, not the job; Ctrl-C during a blocking send
//! interrupts it and the shell goes on.
//!
//! Sealed like tests/pty.rs: `--no-rc`, history and config inside a
//! scratch directory, TERM=xterm, no colour, escape sequences stripped.
//! Every expectation has a timeout; a session still alive when a test ends
//! is killed when it is dropped. Only 127.0.0.1 and ports the kernel picks.

mod common;

use common::Scratch;
use common::pty::{PROMPT, expect, leave, run, send, send_line, spawn};
use rexpect::session::PtySession;

/// A listener `s` on 127.0.0.1 with a port the kernel picks; returns the port.
fn listener(p: &mut PtySession) -> u16 {
    run(p, "s = socket tcp", "s = <socket fd=");
    send_line(p, "bind s 127.0.0.1 0");
    let (_, bound) = p
        .exp_regex(r"bound s to 127\.0\.0\.1:\d+")
        .expect("bind says the address");
    expect(p, PROMPT);
    let port = bound.rsplit(':').next().unwrap_or_default();
    let port = port.parse().unwrap_or_else(|_| panic!("a port: {bound:?}"));
    run(p, "listen s 5", "(LISTEN)");
    port
}

/// `s` listening, `k` connected to it, `c` accepted.
fn connected_pair(p: &mut PtySession) {
    listener(p);
    run(p, "k = socket tcp", "k = <socket fd=");
    run(p, "connect k s", "(ESTABLISHED)");
    run(p, "c = accept s", "accepted a connection");
}

#[test]
fn a_jobs_report_appears_while_typing_and_the_line_survives() {
    let scratch = Scratch::new("pty-job-report");
    let mut p = spawn(scratch.path());
    let port = listener(&mut p);
    run(&mut p, "c = accept s &", "[1] c = accept s");

    // Half a line, no Enter. (Its echo is split by cursor moves and the
    // hint: wait for its last word.)
    send(&mut p, "echo \"half");
    expect(&mut p, "half");

    // A client from outside the shell: the job's accept returns.
    let client =
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the listener");
    let local = client.local_addr().expect("client address").port();
    expect(&mut p, "[1] done after");
    let report = expect(&mut p, "c = <socket fd=");
    assert!(
        report.contains(&format!("accepted a connection from 127.0.0.1:{local}")),
        "the report names the client: {report:?}"
    );

    // The rest of the line: what was typed before the report is intact.
    send_line(&mut p, " way\"");
    p.exp_regex(r"\n  half way\r?\n")
        .expect("echo prints the whole line typed around the report");
    expect(&mut p, PROMPT);

    // c is bound and is the client's connection.
    run(&mut p, "send c b\"hi\"", "sent 2 bytes");
    let mut buf = [0u8; 2];
    std::io::Read::read_exact(&mut &client, &mut buf).expect("the client gets the bytes");
    assert_eq!(&buf, b"hi");
    leave(&mut p);
}

#[test]
fn ctrl_c_during_wait_stops_waiting_not_the_job() {
    let scratch = Scratch::new("pty-wait-ctrl-c");
    let mut p = spawn(scratch.path());
    connected_pair(&mut p);
    run(&mut p, "r = recv c &", "[1] r = recv c");

    send_line(&mut p, "wait");
    expect(&mut p, "wait waits for job [1]");
    expect(&mut p, "Ctrl-C to interrupt");
    p.send_control('c').expect("send Ctrl-C");
    expect(&mut p, "KeyboardInterrupt");
    expect(&mut p, "the jobs go on");
    expect(&mut p, PROMPT);

    // The job still runs, and still waits for data.
    let listed = run(&mut p, "jobs", "receive queue empty");
    assert!(
        listed.contains("[1] r = recv c  running"),
        "jobs lists the job as running: {listed:?}"
    );
    // Data arrives: the job ends and reports above the prompt. The job's
    // thread may print its report before or after the send's own line.
    send_line(&mut p, "send k b\"late\"");
    p.exp_regex(r"(?s)sent 4 bytes.*\[1\] done after.*r = b'late'|\[1\] done after.*r = b'late'.*sent 4 bytes")
        .expect("the send's line and the job's report, in either order");
    expect(&mut p, PROMPT);
    run(&mut p, "r", "-> b'late'");
    leave(&mut p);
}

#[test]
fn ctrl_c_interrupts_a_blocking_send_and_the_shell_goes_on() {
    let scratch = Scratch::new("pty-send-ctrl-c");
    let mut p = spawn(scratch.path());
    connected_pair(&mut p);

    // c never reads: once both buffers are full the send waits.
    send_line(&mut p, "send k b\"a\" * 50000000");
    expect(&mut p, "send(fd ");
    expect(&mut p, "waits for buffer space");
    // Progress lines may follow; they are not checked.
    p.send_control('c').expect("send Ctrl-C");
    expect(&mut p, "KeyboardInterrupt");
    expect(&mut p, "of 50000000 bytes had been handed to the kernel");
    expect(&mut p, PROMPT);

    // The shell and the connection are fine: c reads what was sent.
    let table = run(&mut p, "sockets", "RW-");
    assert!(table.contains("ESTABLISHED"), "still connected: {table:?}");
    run(&mut p, "recv c 5", "-> b'aaaaa'");
    run(&mut p, "htons 1", "-> 256");
    leave(&mut p);
}

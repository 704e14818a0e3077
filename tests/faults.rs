//! Faults: what sockplay does when things go wrong around it, each on real
//! sockets, with a real peer where one is needed.
//!
//! - a python3 peer killed with SIGKILL while sockplay sends (a large
//!   sendall) or receives (a recv, and a recv waitall with bytes in hand):
//!   the error in Python's words, the bytes Python would return, the shell
//!   alive and the next commands working;
//! - descriptor exhaustion under `ulimit -n 64`: EMFILE with a hint that
//!   says the numbers, for socket and accept (the connection stays queued),
//!   and closing one socket frees one number;
//! - a 1 MiB line, through a script file and through the pipe;
//! - invalid UTF-8 and terminal escape sequences in a script file and on
//!   stdin (a peer's hostile bytes are in tests/interop.rs);
//! - 10,000 connections queued and accepted (ulimit -n raised in the
//!   test's shell when the hard limit allows, else skipped);
//! - a connect that waits because the listener's accept queue is full
//!   (TCP: SYN_SENT, the SYN dropped; UNIX: the queue full), ending in
//!   TimeoutError, and the shell fine after.
//!
//! The RST of SO_LINGER 0 is a transcript (tests/transcripts/
//! conn_reset_linger.sp); Ctrl-C during each blocking call is in
//! tests/pty_faults.rs.
//!
//! Only 127.0.0.1 and UNIX paths in scratch directories, ports chosen by
//! the kernel. Every wait has a deadline (only there to end a hung test:
//! nothing asserts how long a step took), every child is killed and reaped
//! when its test ends, and each step waits for the output of the step
//! before it rather than sleeping. A missing python3 prints `skipped: ...`
//! (or fails with SOCKPLAY_REQUIRE_PEERS=1).

mod common;

use common::Scratch;
use common::proc::{Proc, assert_has, assert_no_raw, port_after, python_command, tail_of};
use std::process::Command;
use std::time::Duration;

/// How long any one step may take before the test is declared hung.
const LIMIT: Duration = Duration::from_secs(30);

/// sockplay reading commands from a pipe as they arrive, `--keep-going`
/// (a failing command does not end it); `ulimit` sets `ulimit -n` first
/// (through `sh -c`).
fn shell(scratch: &Scratch, ulimit: Option<u64>) -> Proc {
    let mut cmd = match ulimit {
        Some(n) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!(
                    "ulimit -n {n} && exec \"$0\" --color never --keep-going"
                ))
                .arg(common::BIN);
            c
        }
        None => {
            let mut c = Command::new(common::BIN);
            c.args(["--color", "never", "--keep-going"]);
            c
        }
    };
    common::seal(&mut cmd, scratch.path());
    Proc::spawn_merged("sockplay", &mut cmd, LIMIT)
}

/// python3 running `program` in the scratch directory, unbuffered.
fn python(scratch: &Scratch, name: &str, program: &str, args: &[&str]) -> Proc {
    let mut cmd = python_command(scratch.path(), name, program, args);
    Proc::spawn_merged(name, &mut cmd, LIMIT)
}

/// Runs a marker `echo` and waits for it: every line before it has run.
fn sync(sh: &mut Proc, tag: &str) -> String {
    sh.sync(&format!("--- {tag} ---"))
}

/// Nothing panicked and no raw control byte reached the terminal.
fn assert_clean(out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    assert!(!text.contains("panicked"), "a panic:\n{text}");
    assert_no_raw(out, &[0x1b, 0x07, 0x00]);
}

// ---------------------------------------------------------------------
// A peer killed with SIGKILL mid-transfer.

/// Accepts one connection, reads 10 bytes, then reads nothing more.
const SLOW_SERVER: &str = r#"
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print("port", s.getsockname()[1])
c, a = s.accept()
c.recv(10)
print("accepted")
sys.stdin.read()
"#;

#[test]
fn peer_killed_during_a_large_sendall() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("fault-kill-send");
    let mut server = python(&scratch, "server.py", SLOW_SERVER, &[]);
    let text = server.wait_for("\n");
    let port = port_after(&text, "port ");
    let mut sh = shell(&scratch, None);
    sh.lines(&[
        "k = socket tcp",
        &format!("connect k 127.0.0.1 {port}"),
        // 50 MB: far more than both kernels' buffers hold.
        "sendall k b\"x\" * 50000000",
    ]);
    server.wait_for("accepted");
    // The send waits for buffer space: now the peer dies.
    let at = sh.wait_for("waits for buffer space");
    let at = at.len();
    server.kill();
    let after = sh.wait_from(at, "hint:");
    // The peer died with unread data: its kernel answered with RST. What
    // the send sees first is ECONNRESET, or EPIPE if the RST came between
    // two sends; Python says either in these words.
    assert!(
        after.contains("ConnectionResetError: [Errno 104] Connection reset by peer (ECONNRESET)")
            || after.contains("BrokenPipeError: [Errno 32] Broken pipe (EPIPE)"),
        "the sendall fails as Python's would:\n{after}"
    );
    // The shell goes on: the socket is dead, the next ones work.
    sh.lines(&[
        "sockets",
        "send k b\"again\"",
        "recv k",
        "k2 = socket tcp",
        "getsockname k2",
    ]);
    let out = sync(&mut sh, "after the kill");
    let (status, all, _) = sh.end();
    assert_has(
        "sockplay",
        &out,
        &[
            "CLOSED",
            "BrokenPipeError: [Errno 32] Broken pipe (EPIPE)",
            "-> b''",
            "k2 = <socket fd=4 AF_INET SOCK_STREAM>",
            "-> ('0.0.0.0', 0)",
        ],
    );
    assert_eq!(status, Some(1), "a command failed (--keep-going):\n{all}");
    assert_clean(all.as_bytes());
}

/// Connects, sends 100 bytes, then neither reads nor sends.
const QUIET_CLIENT: &str = r#"
import socket, sys
k = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
k.sendall(b"y" * int(sys.argv[2]))
print("sent")
sys.stdin.read()
"#;

/// QUIET_CLIENT connected to `port`, once it has sent its `bytes`.
fn quiet_client(scratch: &Scratch, port: u16, bytes: usize) -> Proc {
    let args = [port.to_string(), bytes.to_string()];
    let mut client = python(scratch, "client.py", QUIET_CLIENT, &[&args[0], &args[1]]);
    client.wait_for("sent");
    client
}

#[test]
fn peer_killed_while_a_recv_waits() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("fault-kill-recv");
    let mut sh = shell(&scratch, None);
    let port = sh.listen_tcp(5);
    let mut client = quiet_client(&scratch, port, 0);
    // Bytes the client never reads: its kernel resets the connection when
    // the process dies.
    sh.lines(&["c, addr = accept s", "send c b\"unread\"", "recv c"]);
    let at = sh.wait_for("waits for data").len();
    client.kill();
    let after = sh.wait_from(at, "hint:");
    assert_has(
        "sockplay",
        &after,
        &["ConnectionResetError: [Errno 104] Connection reset by peer (ECONNRESET)"],
    );
    sh.lines(&["recv c", "send c b\"x\"", "sockets", "getsockname s"]);
    let out = sync(&mut sh, "after the kill");
    assert_has(
        "sockplay",
        &out,
        &[
            "-> b''",
            "BrokenPipeError: [Errno 32] Broken pipe (EPIPE)",
            "CLOSED",
            "LISTEN",
            &format!("-> ('127.0.0.1', {port})"),
        ],
    );
    let (status, all, _) = sh.end();
    assert_eq!(status, Some(1), "{all}");
    assert_clean(all.as_bytes());
}

#[test]
fn peer_killed_during_a_recv_waitall_keeps_the_bytes_that_came() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("fault-kill-waitall");
    let mut sh = shell(&scratch, None);
    let port = sh.listen_tcp(5);
    let mut client = quiet_client(&scratch, port, 100);
    sh.lines(&[
        "c, addr = accept s",
        "send c b\"unread\"",
        // 100 bytes are there; waitall waits for 900 more.
        "d = recv c 1000 waitall",
    ]);
    let at = sh.wait_for("waits for data").len();
    client.kill();
    // As Python's c.recv(1000, MSG_WAITALL): the 100 bytes, then the
    // reset on the next recv, then b''.
    sh.lines(&["recv c", "recv c", "echo \"--- after the kill ---\""]);
    let tail = sh.wait_from(at, "  --- after the kill ---\n");
    let got = format!("d = b'{}'  (100 bytes)", "y".repeat(100));
    assert_has("sockplay", &tail, &[&got]);
    let reset = tail
        .find("ConnectionResetError: [Errno 104] Connection reset by peer (ECONNRESET)")
        .unwrap_or_else(|| panic!("the next recv raises the reset:\n{tail}"));
    assert!(
        tail.find(&got) < Some(reset),
        "the bytes come first:\n{tail}"
    );
    assert!(
        tail[reset..].contains("-> b''"),
        "then end of stream:\n{tail}"
    );
    let (status, all, _) = sh.end();
    assert_eq!(status, Some(1), "{all}");
    assert_clean(all.as_bytes());
}

// ---------------------------------------------------------------------
// Descriptor exhaustion.

#[test]
fn emfile_under_ulimit_64_is_explained_and_closing_one_frees_one() {
    let scratch = Scratch::new("fault-emfile");
    let mut sh = shell(&scratch, Some(64));
    sh.listen_tcp(5);
    sh.lines(&["k = socket tcp", "connect k s"]);
    // Far more sockets than the limit leaves.
    for n in 1..=70 {
        sh.line(&format!("f{n} = socket udp"));
    }
    let out = sync(&mut sh, "full");
    assert_has(
        "sockplay",
        &out,
        &[
            "OSError: [Errno 24] Too many open files (EMFILE)",
            "hint: this process may have 64 descriptors open (ulimit -n 64) and all are in use",
            "close a socket and the next call gets its number",
        ],
    );
    // The learner's numbering is Python's: s is fd 3 even under this limit.
    let before = sh.out.text();
    assert_has(
        "sockplay",
        &before,
        &["s = <socket fd=3 AF_INET SOCK_STREAM>"],
    );

    // accept fails too, and the connection waits in the queue.
    sh.lines(&["c, addr = accept s", "sockets"]);
    let out = sync(&mut sh, "accept");
    assert_has(
        "sockplay",
        &out,
        &[
            "OSError: [Errno 24] Too many open files (EMFILE)",
            "the connection stays in the accept queue until an accept succeeds",
            "LISTEN       1/5",
        ],
    );

    // Closing one socket frees its number: the accept gets it; the next
    // socket fails again; closing another lets a socket be made.
    sh.lines(&[
        "n = fileno f1",
        "close f1",
        "c, addr = accept s",
        "fileno c",
        "g = socket udp",
        "close f2",
        "g = socket udp",
        "send k b\"still here\"",
        "recv c",
        "gethostbyname localhost",
        // The resolver opens files of its own: room for two.
        "close f3",
        "close f4",
        "gethostbyname localhost",
    ]);
    let out = sync(&mut sh, "freed");
    let fd_of_f1: u32 = port_after(&out, "\n  n = ").into();
    assert_has(
        "sockplay",
        &out,
        &[
            "accepted a connection from 127.0.0.1:",
            &format!("as a new socket, fd {fd_of_f1}"),
            &format!("-> {fd_of_f1}"),
            "g = <socket fd=",
            "-> b'still here'",
            // Python raises the resolver's EMFILE as an OSError.
            "-> '127.0.0.1'",
        ],
    );
    assert_eq!(
        out.matches("Too many open files (EMFILE)").count(),
        2,
        "one socket and one gethostbyname fail before a close:\n{out}"
    );
    let (status, all, _) = sh.end();
    assert_eq!(status, Some(1), "{all}");
    assert_clean(all.as_bytes());
}

// ---------------------------------------------------------------------
// A 1 MiB line.

/// Lines of about 1 MiB: a value, an echo, a name nobody bound, a command
/// word nobody knows, data sent and received.
fn huge_lines() -> String {
    let mib = 1 << 20;
    let a = "a".repeat(mib);
    let x = "x".repeat(mib);
    [
        format!("v = \"{a}\""),
        format!("echo \"{a}\""),
        x.clone(),
        format!("{x} 1"),
        "u = socket udp".into(),
        "bind u 127.0.0.1 0".into(),
        format!("sendto u b\"{}\" u", "b".repeat(60_000)),
        "d, a = recvfrom u 65536".into(),
        "echo \"--- done ---\"".into(),
        String::new(),
    ]
    .join("\n")
}

fn check_huge(out: &str, status: Option<i32>) {
    assert_eq!(status, Some(1), "it ended by itself, one error reported");
    let mib = 1 << 20;
    assert!(
        out.contains(&format!("v = '{}", "a".repeat(200)))
            && out.contains("(1048576 characters, the first part shown)"),
        "the value is bound, and shown cut"
    );
    assert!(
        out.contains(&format!("\n  {}\n", "a".repeat(mib))),
        "echo prints it whole"
    );
    // The word alone and the word with an argument: both unknown commands.
    assert_eq!(
        out.matches(&format!("error: unknown command `{}", "x".repeat(100)))
            .count(),
        2,
        "two unknown commands"
    );
    assert!(
        out.contains("sent 60000 bytes to 127.0.0.1:"),
        "the datagram"
    );
    assert!(
        out.contains("(60000 bytes, the first 1024 shown"),
        "received whole"
    );
    assert!(out.contains("\n  --- done ---\n"), "the end ran");
    assert_clean(out.as_bytes());
}

#[test]
fn a_1_mib_line_in_a_script_file_and_through_the_pipe() {
    let scratch = Scratch::new("fault-huge");
    let text = huge_lines();
    std::fs::write(scratch.path().join("huge.sp"), &text).expect("write the script");
    let run = common::run_in(scratch.path(), &["--keep-going", "huge.sp"], None);
    check_huge(&run.output, run.status);

    let run = common::run_in(scratch.path(), &["--keep-going"], Some(&text));
    check_huge(&run.output, run.status);

    // The last line without a newline at the end of input runs too.
    let last = format!("echo \"{}\"", "z".repeat(1 << 20));
    let run = common::run_in(scratch.path(), &[], Some(&last));
    assert_eq!(run.status, Some(0), "{}", tail_of(&run.output, 2000));
    assert!(
        run.output
            .contains(&format!("\n  {}\n", "z".repeat(1 << 20)))
    );
}

// ---------------------------------------------------------------------
// Invalid UTF-8 and terminal escapes in the commands themselves.

/// A script with invalid UTF-8 and raw control bytes, in good and bad
/// lines, in strings and in comments.
const HOSTILE_SCRIPT: &[u8] = b"echo \"caf\xc3\xa9 \xff\xfe end\"\n\
echo \"caf\xc3\xa9\"\n\
s = socket tcp\xff\n\
\x1b[2J\x1b]0;pwned\x07echo \"hi\"\n\
echo \"\x1b[31mred\x07\"\n\
# a comment \x9b\x07 \x1b[5m\n\
send \x80\n\
x = b\"\xff\"\n\
y = \"\x1b[2J\"\n\
y\n\
vars\n\
u = socket udp\n\
bind u 127.0.0.1 0\n\
sendto u \"\x1b]0;t\x07\" u\n\
d, a = recvfrom u\n\
echo \"--- end ---\"\n";

fn check_hostile(out: &[u8], status: Option<i32>) {
    let text = String::from_utf8_lossy(out);
    assert_eq!(status, Some(1), "it ran to the end:\n{text}");
    assert_clean(out);
    // A line that is not UTF-8 is an error at its byte (nothing of it
    // runs as U+FFFD); UTF-8 text passes.
    assert!(!text.contains('\u{fffd}'), "{text}");
    assert_has(
        "sockplay",
        &text,
        &[
            "can't decode byte 0xff in position 12: invalid start byte",
            "echo \"caf\u{e9} \\xff\\xfe end\"",
            "  caf\u{e9}\n",
            "can't decode byte 0x80 in position 5",
            // The parse error quotes the token escaped.
            r"found `\x1b[2J\x1b]0`",
            r"\x1b[31mred\x07",
            r"y = '\x1b[2J'",
            // The datagram went out as UTF-8 and came back as bytes.
            r"d = b'\x1b]0;t\x07'",
            "\n  --- end ---\n",
        ],
    );
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn invalid_utf8_and_escapes_in_a_script_file_and_on_stdin() {
    let scratch = Scratch::new("fault-hostile-script");
    std::fs::write(scratch.path().join("bad.sp"), HOSTILE_SCRIPT).expect("write");
    let run = common::run_in(scratch.path(), &["--keep-going", "bad.sp"], None);
    check_hostile(run.output.as_bytes(), run.status);

    // The same bytes on stdin (common::run_in takes text: write them raw).
    let mut sh = shell(&scratch, None);
    sh.write(HOSTILE_SCRIPT);
    sh.wait_for("  --- end ---\n");
    let (status, out) = sh.end_bytes();
    check_hostile(&out, status);
}

// ---------------------------------------------------------------------
// 10,000 connections.

/// Opens the number of connections each line of stdin asks for (blocking
/// connects, with a timeout), says how many it holds, and at the end of
/// its input resets them all (SO_LINGER 0: no TIME_WAIT left behind).
const MANY_CLIENTS: &str = r#"
import socket, struct, sys
port = int(sys.argv[1])
socks = []
for line in sys.stdin:
    for _ in range(int(line)):
        k = socket.socket()
        k.settimeout(20)
        k.connect(("127.0.0.1", port))
        socks.append(k)
    print("holding", len(socks))
for k in socks:
    k.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    k.close()
print("reset", len(socks))
"#;

/// The hard limit of open descriptors (None when unknown).
fn hard_nofile() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct it is given.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0).then_some(lim.rlim_max)
}

#[test]
fn ten_thousand_connections_queued_and_accepted() {
    const N: usize = 10_000;
    const BATCH: usize = 1_000;
    if !common::have_peer("python3") {
        return;
    }
    // Both processes hold N descriptors, and a few of their own.
    let need = N as u64 + 256;
    match hard_nofile() {
        Some(h) if h >= need => {}
        h => {
            eprintln!("skipped: {N} connections need ulimit -n {need}; the hard limit is {h:?}");
            return;
        }
    }
    let scratch = Scratch::new("fault-10k");
    let mut sh = shell(&scratch, Some(need));
    // The kernel caps the backlog at net.core.somaxconn; a batch is less.
    let port = sh.listen_tcp(4096);
    let path = scratch.path().join("clients.py");
    std::fs::write(&path, MANY_CLIENTS).expect("write the clients");
    let mut clients = Proc::spawn_merged(
        "clients.py",
        Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -n {need} && exec python3 -u \"$0\" {port}"))
            .arg(&path)
            .current_dir(scratch.path()),
        LIMIT,
    );
    // In batches: the clients connect (the connections wait in the accept
    // queue), then sockplay runs a generated script of as many accepts.
    let accepts = "c, addr = accept s\n".repeat(BATCH);
    for b in 1..=N / BATCH {
        let at = clients.mark();
        clients.line(&BATCH.to_string());
        clients.wait_from(at, &format!("holding {}\n", b * BATCH));
        let at = sh.mark();
        sh.write(accepts.as_bytes());
        sh.line(&format!("echo \"--- batch {b} ---\""));
        let out = sh.wait_from(at, &format!("  --- batch {b} ---\n"));
        assert_eq!(
            out.matches("accepted a connection from 127.0.0.1:").count(),
            BATCH,
            "batch {b}: every accept took a connection:\n{}",
            tail_of(&out, 3000)
        );
        assert!(
            !out.contains("Error"),
            "batch {b}:\n{}",
            tail_of(&out, 3000)
        );
    }
    // The table holds them all, the queue is empty.
    sh.lines(&["sockets", "c", "fileno c"]);
    let table = sync(&mut sh, "table");
    assert_eq!(table.matches(" ESTABLISHED ").count(), N, "one row each");
    assert!(
        table.contains(&format!("127.0.0.1:{port}")),
        "{}",
        tail_of(&table, 500)
    );
    assert!(table.contains("LISTEN       0/4096"), "the queue is empty");

    // The clients reset every connection; sockplay's ends see it.
    let at = clients.mark();
    drop(clients.stdin.take());
    clients.wait_from(at, &format!("reset {N}\n"));
    sh.lines(&["recv c", "sockets"]);
    let after = sync(&mut sh, "reset");
    assert!(
        after.contains("ConnectionResetError: [Errno 104] Connection reset by peer (ECONNRESET)"),
        "{}",
        tail_of(&after, 2000)
    );
    let (status, all, _) = sh.end();
    assert_eq!(status, Some(1), "{}", tail_of(&all, 2000));
    assert_eq!(
        all.matches("accepted a connection from 127.0.0.1:").count(),
        N
    );
    assert!(!all.contains("panicked"));
    let (status, _, _) = clients.end();
    assert_eq!(status, Some(0));
}

// ---------------------------------------------------------------------
// A connect that waits on a full accept queue.

#[test]
fn a_connect_waits_while_the_accept_queue_is_full_then_times_out() {
    let scratch = Scratch::new("fault-full-queue");
    let mut sh = shell(&scratch, None);
    // Backlog 0: the queue holds one connection; the next SYN is dropped.
    let port = sh.listen_tcp(0);
    sh.lines(&[
        "k1 = socket tcp",
        "connect k1 s",
        "k2 = socket tcp",
        "settimeout k2 1",
        "connect k2 s",
    ]);
    let out = sync(&mut sh, "tcp");
    assert_has(
        "sockplay",
        &out,
        &[
            "connected k1 from 127.0.0.1:",
            &format!("waits for the handshake with 127.0.0.1:{port} - SYN sent, state SYN_SENT"),
            "TimeoutError: timed out",
            "hint: the socket's timeout passed",
        ],
    );
    // The shell is fine: the table says it, the queued client is accepted,
    // the listener and both clients still work.
    sh.lines(&[
        "sockets",
        "c, addr = accept s",
        "send k1 b\"first\"",
        "recv c",
        "close k2",
        "getsockname s",
    ]);
    let out = sync(&mut sh, "after");
    assert_has(
        "sockplay",
        &out,
        &[
            "SYN_SENT",
            "LISTEN       1/0",
            "accepted a connection from 127.0.0.1:",
            "-> b'first'",
            "closed k2",
            &format!("-> ('127.0.0.1', {port})"),
        ],
    );

    // The same with AF_UNIX: a full queue is reported at once by the
    // kernel, and the shell retries until the timeout.
    sh.lines(&[
        "u = socket unix",
        "bind u ./q.sock",
        "listen u 0",
        "k4 = socket unix",
        "connect k4 u",
        "k5 = socket unix",
        "settimeout k5 0.5",
        "connect k5 u",
    ]);
    let out = sync(&mut sh, "unix");
    assert_has(
        "sockplay",
        &out,
        &[
            "connected k4 to ./q.sock",
            "waits for the handshake with ./q.sock - the listener's accept queue is full",
            "TimeoutError: timed out",
        ],
    );
    // Room again after an accept: the same socket connects.
    sh.lines(&["c4, a4 = accept u", "connect k5 u", "send k5 b\"in\""]);
    let out = sync(&mut sh, "unix after");
    assert_has(
        "sockplay",
        &out,
        &["connected k5 to ./q.sock", "sent 2 bytes"],
    );
    let (status, all, _) = sh.end();
    assert_eq!(status, Some(1), "{all}");
    assert_clean(all.as_bytes());
}

#[test]
fn the_capture_starts_once_descriptors_are_free_again() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: the capture of segments needs root");
        return;
    }
    let scratch = Scratch::new("fault-emfile-capture");
    let mut sh = shell(&scratch, Some(64));
    // No descriptor left when the first TCP socket (and with it the
    // capture) is made.
    for n in 1..=70 {
        sh.line(&format!("f{n} = socket udp"));
    }
    sh.lines(&["s = socket tcp", "close f1", "close f2", "close f3"]);
    let out = sync(&mut sh, "full");
    assert_has("sockplay", &out, &["Too many open files (EMFILE)"]);
    sh.lines(&[
        "s = socket tcp",
        "bind s 127.0.0.1 0",
        "listen s 1",
        "k = socket tcp",
        "connect k s",
    ]);
    // The capture thread files the segments a moment after they pass (a
    // `states` at once may find none yet under load: see the report), so
    // look again, a bounded number of times.
    let mut out = String::new();
    for k in 0..40 {
        sh.lines(&["sleep 0.05", "states"]);
        out = sync(&mut sh, &format!("states {k}"));
        assert!(!out.contains("no capture"), "{out}");
        if out.contains("handshake 1/3: connect sends SYN") {
            break;
        }
    }
    assert_has("sockplay", &out, &["handshake 1/3: connect sends SYN"]);
    let (status, all, _) = sh.end();
    assert_eq!(status, Some(1), "{}", tail_of(&all, 2000));
}

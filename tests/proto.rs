//! Debugging a protocol by hand, against real peers: `recvline`,
//! `recvuntil`, `recvn` and `recvall` against `python3 -m http.server` and
//! the built-in chat peer (timeouts included), and the one timeout budget
//! per call against a peer that trickles a byte at a time.
//!
//! Only 127.0.0.1, ports chosen by the kernel (http.server is given port 0
//! and says which it got), every wait bounded, every child killed when its
//! test ends (`Proc`'s Drop).

mod common;

use common::Scratch;
use common::proc::{Proc, assert_has, port_after, python_command};
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

/// sockplay reading its commands from a pipe as they arrive, going on
/// after a failing command (the tests expect some errors).
fn sockplay(scratch: &Scratch) -> Proc {
    common::proc::sockplay(scratch.path(), &["--keep-going"], LIMIT)
}

#[test]
fn an_http_exchange_read_by_line_by_delimiter_and_to_the_end() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("proto-http");
    let www = scratch.path().join("www");
    std::fs::create_dir_all(&www).expect("www");
    std::fs::write(www.join("hello.txt"), b"hello world\nsecond\n").expect("file");
    // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
    let mut server = Proc::spawn(
        "http.server",
        Command::new("python3")
            .args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1"])
            .arg("--directory")
            .arg(&www)
            .current_dir(scratch.path()),
        LIMIT,
    );
    let port = port_after(&server.wait_for("(http://"), "127.0.0.1 port ");

    let mut shell = sockplay(&scratch);
    shell.lines(&[
        "k = socket tcp",
        &format!("connect k 127.0.0.1 {port}"),
        // The server says nothing before the request: the budget runs out.
        "recvline k timeout 0.3",
        "sendall k b\"GET /hello.txt HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n\"",
        "st = recvline k timeout 10",
        "headers = recvuntil k b\"\\r\\n\\r\\n\" drop timeout 10",
        "first = recvn k 6 timeout 10",
        "line = recvline k drop timeout 10",
        "rest = recvall k timeout 10",
        "recvline k timeout 10",
        "close k",
    ]);
    let text = shell.sync("done");
    assert_has(
        "sockplay",
        &text,
        &[
            "TimeoutError: timed out",
            "recvline had 300.0 ms in all",
            "st = b'HTTP/1.0 200 OK\\r\\n'",
            "Content-Length: 19",
            "first = b'hello '  (6 bytes)",
            "line = b'world'  (5 bytes)",
            "rest = b'second\\n'  (7 bytes)",
            "recvall: 7 bytes up to the end of the stream",
            "EOFError: the peer has closed its side of the connection: no b'\\n' will come",
        ],
    );
    // The headers: everything up to the blank line, the blank line dropped.
    let headers = text
        .lines()
        .find(|l| l.contains("headers = b'"))
        .expect("headers line");
    assert!(headers.contains("Content-type: text/plain"), "{headers}");
    assert!(!headers.contains("\\r\\n\\r\\n'"), "{headers}");
    // The server's log says what it was asked.
    server.wait_err("\"GET /hello.txt HTTP/1.0\" 200");
    let (status, _, _) = shell.end();
    assert_eq!(status, Some(1), "the timeout and the EOFError were errors");
}

#[test]
fn chat_lines_with_recvline_and_recvuntil_and_their_timeouts() {
    let scratch = Scratch::new("proto-chat");
    let mut shell = sockplay(&scratch);
    shell.lines(&[
        "a = serve chat",
        "k1 = socket tcp",
        "connect k1 a",
        "hello1 = recvline k1 timeout 10",
        "k2 = socket tcp",
        "connect k2 a",
        "hello2 = recvline k2 timeout 10",
        "joined = recvline k1 timeout 10",
        // Two lines in one send: recvline takes the first, and holds the
        // second (sockets shows it), recvuntil stops inside it.
        "send k1 b\"hello\\nsecond line\\n\"",
        "l1 = recvline k2 timeout 10",
        "l2 = recvuntil k2 b\"line\" timeout 10",
        "sockets",
        "l3 = recvline k2 timeout 10",
        // Nothing for k1: the budget runs out, and nothing is lost.
        "recvline k1 timeout 0.3",
        // chat relays whole lines only: half a line reaches nobody yet.
        "send k2 b\"partial\"",
        "recvline k1 timeout 0.3",
        "send k2 b\" done\\n\"",
        "l4 = recvline k1 timeout 10",
    ]);
    let text = shell.sync("done");
    assert_has(
        "sockplay",
        &text,
        &[
            "hello1 = b'<announce> you are <user1>; already connected: nobody.\\n'",
            "hello2 = b'<announce> you are <user2>; already connected: <user1>.\\n'",
            "joined = b'<announce> <user2> is connected.\\n'",
            "l1 = b'<user1> hello\\n'",
            "l2 = b'<user1> second line'",
            "l3 = b'\\n'",
            "l4 = b'<user2> partial done\\n'",
            "TimeoutError: timed out",
        ],
    );
    // The held byte of the second line, in RECV-Q, before l3 took it.
    let table = &text[text.find("l2 = ").expect("l2")..text.find("l3 = ").expect("l3")];
    assert!(
        table.lines().any(|l| l.contains(" k2 ") && l.contains(" 1+0 ")),
        "k2's RECV-Q shows 1 held byte:\n{table}"
    );
    assert_eq!(text.matches("TimeoutError: timed out").count(), 2, "{text}");
    let (status, _, _) = shell.end();
    assert_eq!(status, Some(1), "the timeouts were errors");
}

/// A peer that sends a byte every 50 ms, never a newline, for 10 s: with a
/// budget per read (pwntools) `recvline timeout 1` would go on until the
/// peer closes and end with EOFError; with one budget for the call it ends
/// with TimeoutError long before, and every byte that came is held.
#[test]
fn the_timeout_is_one_budget_across_every_read() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("proto-trickle");
    let program = "import socket, time\n\
        s = socket.socket()\n\
        s.bind(('127.0.0.1', 0))\n\
        s.listen()\n\
        print('port', s.getsockname()[1], 'ready', flush=True)\n\
        c, _ = s.accept()\n\
        for i in range(200):\n\
        \x20   c.send(b'x')\n\
        \x20   time.sleep(0.05)\n\
        c.close()\n";
    let mut peer = Proc::spawn(
        "trickle",
        &mut python_command(scratch.path(), "trickle.py", program, &[]),
        LIMIT,
    );
    let port = port_after(&peer.wait_for(" ready"), "port ");
    let mut shell = sockplay(&scratch);
    shell.lines(&[
        "k = socket tcp",
        &format!("connect k 127.0.0.1 {port}"),
        "recvline k timeout 1",
        "sockets",
    ]);
    let text = shell.sync("after");
    assert_has("sockplay", &text, &["TimeoutError: timed out", "recvline had 1.00 s in all"]);
    assert!(!text.contains("EOFError"), "{text}");
    let row = text
        .lines()
        .find(|l| {
            l.trim_start().starts_with(|c: char| c.is_ascii_digit())
                && l.contains(" k ")
                && l.contains("ESTABLISHED")
        })
        .expect("k's row");
    let held: usize = row
        .split_whitespace()
        .find_map(|w| w.split_once('+').and_then(|(h, _)| h.parse().ok()))
        .unwrap_or_else(|| panic!("no held+kernel RECV-Q in {row}"));
    assert!(held >= 1, "{row}");
    // The held bytes come first in the next receive.
    shell.line("recv k 1");
    shell.wait_for("-> b'x'  (1 byte)");
    shell.line("close k");
    let (status, _, _) = shell.end();
    assert_eq!(status, Some(1), "the timeout was an error");
}

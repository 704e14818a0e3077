//! The built-in peers (`serve`) against real clients: curl, and sockets of
//! this test that misbehave on purpose (a flood without reading, a request
//! head that never ends, a reader that stops reading), while another
//! client must still be served.
//!
//! sockplay reads its commands from a pipe as they arrive and its output is
//! read as it is written, so the test learns the port the kernel chose
//! (`peer 1: http server on 127.0.0.1:PORT`). Only 127.0.0.1 is used;
//! every wait has a deadline, every loop a bound, and every child is
//! killed when its test ends (`common::proc::Proc`, `common::Reap`).

mod common;

use common::proc::{Proc, port_after};
use common::{Reap, Scratch};
use socket2::{Domain, Socket, Type};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long any one step may take.
const LIMIT: Duration = Duration::from_secs(15);

/// sockplay reading commands from a pipe, `--keep-going`; its stdout and
/// stderr on one pipe, so errors stay in order.
fn sockplay(scratch: &Scratch) -> Proc {
    common::proc::sockplay(scratch.path(), &["--keep-going"], LIMIT)
}

/// Runs one command and waits for the prompt of a marker command after
/// it (`echo` prints its text once everything before it is done).
fn run(shell: &mut Proc, cmd: &str) -> String {
    static MARK: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = MARK.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let from = shell.mark();
    shell.line(cmd);
    shell.line(&format!("echo \"done-{n}\""));
    let text = shell.wait_from(from, &format!("\n  done-{n}\n"));
    text.split(&format!("sockplay> echo \"done-{n}\""))
        .next()
        .unwrap_or("")
        .to_string()
}

/// `serve ...`; returns the port of the new peer.
fn serve(shell: &mut Proc, cmd: &str) -> u16 {
    let out = run(shell, cmd);
    port_after(&out, " server on 127.0.0.1:")
}

/// Clients now and connections served, from peer `n`'s row of `peers`.
fn clients_served(table: &str, n: u32) -> (u64, u64) {
    for line in table.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 6 && f[0] == n.to_string() {
            let num = |s: &str| {
                s.parse::<u64>()
                    .unwrap_or_else(|_| panic!("{s:?} in:\n{table}"))
            };
            return (num(f[4]), num(f[5]));
        }
    }
    panic!("no row for peer {n} in:\n{table}")
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A client of the peer on `port` with a 4 KiB receive buffer (set before
/// connect, so the window is small from the start): what it does not read
/// backs up in the peer at once.
fn small_reader(port: u16) -> Socket {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    s.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    s.connect(&addr(port).into()).expect("connect");
    s
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr(port), LIMIT).expect("connect to the peer");
    s.set_read_timeout(Some(LIMIT)).expect("read timeout");
    s.set_write_timeout(Some(LIMIT)).expect("write timeout");
    s
}

/// curl's output (headers included with -i) and status.
fn curl(args: &[&str]) -> (Vec<u8>, Option<i32>) {
    let mut child = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map(Reap)
        .expect("spawn curl");
    let mut out = Vec::new();
    if let Some(mut o) = child.0.stdout.take() {
        let _ = o.read_to_end(&mut out);
    }
    let status = common::wait_bounded(&mut child.0, LIMIT);
    (out, status)
}

fn www(scratch: &Scratch) -> std::path::PathBuf {
    let dir = scratch.path().join("www");
    std::fs::create_dir_all(dir.join("sub")).expect("www");
    std::fs::write(dir.join("hello.txt"), "hello from a file\n").expect("hello.txt");
    std::fs::write(scratch.path().join("secret.txt"), "not for you\n").expect("secret");
    dir
}

#[test]
fn curl_gets_status_headers_and_body_exactly() {
    if !common::have_peer("curl") {
        return;
    }
    let scratch = Scratch::new("serve-curl");
    let dir = www(&scratch);
    let mut shell = sockplay(&scratch);
    let port = serve(
        &mut shell,
        &format!("serve http 127.0.0.1 0 \"{}\"", dir.display()),
    );
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");

    let (out, status) = curl(&["-i", &url("/hello.txt")]);
    assert_eq!(status, Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out),
        "HTTP/1.1 200 OK\r\n\
         Server: sockplay\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Length: 18\r\n\
         Connection: close\r\n\
         \r\n\
         hello from a file\n"
    );

    let (out, _) = curl(&["-i", &url("/missing")]);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "HTTP/1.1 404 Not Found\r\n\
         Server: sockplay\r\n\
         Content-Type: text/html; charset=utf-8\r\n\
         Content-Length: 23\r\n\
         Connection: close\r\n\
         \r\n\
         <h1>404 Not Found</h1>\n"
    );

    // HEAD: the same headers, no body.
    let (out, _) = curl(&["-I", &url("/hello.txt")]);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "HTTP/1.1 200 OK\r\n\
         Server: sockplay\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Length: 18\r\n\
         Connection: close\r\n\
         \r\n"
    );

    // Out of the directory: refused, even spelled with %2e.
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/sub/../../secret.txt",
    ] {
        let (out, _) = curl(&["-i", "--path-as-is", &url(path)]);
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.starts_with("HTTP/1.1 403 Forbidden\r\n"),
            "{path}: {text}"
        );
        assert!(!text.contains("not for you"), "{path}: {text}");
    }

    // A directory without its slash is redirected; with it, listed.
    let (out, _) = curl(&["-i", &url("/sub")]);
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("HTTP/1.1 301 Moved Permanently\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nLocation: /sub/\r\n"), "{text}");
    let (out, _) = curl(&[&url("/")]);
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("<a href=\"hello.txt\">hello.txt</a>"),
        "{text}"
    );

    let (out, _) = curl(&["-i", "-X", "DELETE", &url("/hello.txt")]);
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nAllow: GET, HEAD\r\n"), "{text}");

    let log = run(&mut shell, "peers log 1");
    for want in [
        r"client 1 -> b'GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1:",
        "client 1 GET /hello.txt -> 200 OK (text/plain; charset=utf-8, 18 bytes)",
        "client 1 closed: answered, then closed (Connection: close)",
        "GET /missing -> 404 Not Found",
        "GET /../secret.txt -> 403 Forbidden",
    ] {
        assert!(log.contains(want), "{want:?} in:\n{log}");
    }
    shell.end_ok();
}

#[test]
fn hostile_http_clients_do_not_stop_another_one() {
    if !common::have_peer("curl") {
        return;
    }
    let scratch = Scratch::new("serve-hostile");
    let dir = www(&scratch);
    let mut shell = sockplay(&scratch);
    let port = serve(
        &mut shell,
        &format!("serve http 127.0.0.1 0 \"{}\"", dir.display()),
    );

    // 1: a request head that never ends, and then silence.
    let mut stall = connect(port);
    stall
        .write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n")
        .expect("a partial head");

    // 2: 10 MB of head without a blank line, never reading. The peer
    // answers 431 after 64 KiB and cuts it off; its writes then fail.
    let flood = std::thread::spawn(move || {
        let mut s = connect(port);
        let chunk = vec![b'X'; 64 * 1024];
        let mut sent = 0usize;
        let end = Instant::now() + LIMIT;
        while sent < 10_000_000 && Instant::now() < end {
            match s.write(&chunk) {
                Ok(n) => sent += n,
                Err(e) => return (sent, Some(e.kind())),
            }
        }
        (sent, None)
    });

    // Meanwhile, a well-behaved client is served in full.
    for _ in 0..3 {
        let (out, status) = curl(&[&format!("http://127.0.0.1:{port}/hello.txt")]);
        assert_eq!(status, Some(0));
        assert_eq!(out, b"hello from a file\n");
    }

    let (sent, err) = flood.join().expect("the flooding thread");
    assert!(
        err.is_some() && sent < 10_000_000,
        "the flood was not cut off: {sent} bytes sent, {err:?}"
    );

    let log = run(&mut shell, "peers log 1");
    assert!(
        log.contains("a request head -> 431 Request Header Fields Too Large"),
        "{log}"
    );
    assert!(
        log.contains("it went on sending, so it was cut off"),
        "{log}"
    );

    // The staller is still there, still waiting; the shell ends anyway.
    let mut b = [0u8; 1];
    stall
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    assert!(
        matches!(stall.read(&mut b), Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut))
    );
    shell.end_ok();
    // Stopping the peer closed it.
    stall.set_read_timeout(Some(LIMIT)).expect("timeout");
    assert!(matches!(stall.read(&mut b), Ok(0) | Err(_)));
}

#[test]
fn a_slow_http_reader_does_not_block_another_download() {
    if !common::have_peer("curl") {
        return;
    }
    let scratch = Scratch::new("serve-slow-http");
    let dir = www(&scratch);
    let big: Vec<u8> = (0..8 * 1024 * 1024u32).map(|k| (k % 251) as u8).collect();
    std::fs::write(dir.join("big.bin"), &big).expect("big file");
    let mut shell = sockplay(&scratch);
    let port = serve(&mut shell, &format!("serve http \"{}\"", dir.display()));

    let mut slow = connect(port);
    slow.write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("request");
    let mut first = [0u8; 1024];
    slow.read_exact(&mut first).expect("the first KiB");
    assert!(first.starts_with(b"HTTP/1.1 200 OK\r\n"));

    // The slow client reads nothing more; another gets all 8 MiB.
    let target = scratch.path().join("got.bin");
    let (_, status) = curl(&[
        "-o",
        &target.display().to_string(),
        &format!("http://127.0.0.1:{port}/big.bin"),
    ]);
    assert_eq!(status, Some(0));
    assert!(
        std::fs::read(&target).expect("download") == big,
        "the download differs"
    );

    let rows = run(&mut shell, "peers");
    assert_eq!(
        clients_served(&rows, 1),
        (1, 2),
        "the slow one is still connected:\n{rows}"
    );
    drop(slow);
    shell.end_ok();
}

#[test]
fn echo_stops_reading_a_flood_and_still_serves_others() {
    let scratch = Scratch::new("serve-echo-flood");
    let mut shell = sockplay(&scratch);
    let port = serve(&mut shell, "serve echo");

    // Sends 10 MB and never reads the echo. Its receive buffer is small, so
    // the echo backs up in the peer, which then stops reading from it.
    let flood = small_reader(port);
    flood.set_nonblocking(true).expect("non-blocking");
    let chunk = vec![b'e'; 64 * 1024];
    let mut sent = 0usize;
    let mut stalled_since: Option<Instant> = None;
    let end = Instant::now() + LIMIT;
    while sent < 10_000_000 && Instant::now() < end {
        match flood.send(&chunk) {
            Ok(n) => {
                sent += n;
                stalled_since = None;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                // Blocked for half a second: flow control holds it.
                let since = *stalled_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_millis(500) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("the flood failed: {e}"),
        }
    }
    assert!(
        sent < 10_000_000,
        "the echo peer took all 10 MB without them being read"
    );

    // Another client gets its echo at once.
    let mut other = connect(port);
    other.write_all(b"ping\n").expect("send");
    let mut got = [0u8; 5];
    other.read_exact(&mut got).expect("the echo");
    assert_eq!(&got, b"ping\n");

    let log = run(&mut shell, "peers log 1");
    assert!(
        log.contains(
            "client 1 1 MiB of echo waits for it to read: not reading from it until it does"
        ),
        "{log}"
    );
    assert!(log.contains(r"client 2 -> b'ping\n'  (5 bytes)"), "{log}");
    shell.end_ok();
}

#[test]
fn chat_disconnects_a_client_that_does_not_read() {
    let scratch = Scratch::new("serve-chat-slow");
    let mut shell = sockplay(&scratch);
    let port = serve(&mut shell, "serve chat");

    // user1 never reads, and asks for a small receive buffer.
    let slow = small_reader(port);
    std::thread::sleep(Duration::from_millis(50));

    // user2 reads everything, in a thread.
    let mut reader = connect(port);
    std::thread::sleep(Duration::from_millis(50));
    let lines = 512usize;
    let reading = std::thread::spawn(move || {
        // Counts the lines from user3 as they come (the tag at the start
        // of each line), without keeping the 8 MiB.
        let want = b"<user3> ";
        let mut seen = 0usize;
        let mut at_line_start = true;
        let mut head: Vec<u8> = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        let end = Instant::now() + LIMIT;
        while seen < lines && Instant::now() < end {
            let n = match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            for &b in &buf[..n] {
                if at_line_start {
                    head.push(b);
                    if head.len() == want.len() {
                        seen += usize::from(head == want);
                        head.clear();
                        at_line_start = false;
                    }
                }
                if b == b'\n' {
                    at_line_start = true;
                    head.clear();
                }
            }
        }
        seen
    });

    // user3 writes 512 lines of 16 KiB: 8 MiB for user1, who reads none.
    // The chat holds user3 back while user1 is behind, until it gives up
    // on user1; user2, who reads, gets every line.
    let mut writer = connect(port);
    let mut line = vec![b'z'; 16 * 1024 - 1];
    line.push(b'\n');
    for _ in 0..lines {
        writer
            .write_all(&line)
            .expect("the writer is never held up");
    }
    let relayed = reading.join().expect("the reading thread");
    let log = run(&mut shell, "peers log 1");
    let events: Vec<&str> = log.lines().filter(|l| !l.contains(" -> b'")).collect();
    let events = events.join("\n");
    assert_eq!(relayed, lines, "user2 got every line of user3:\n{events}");

    assert!(
        log.contains("client 1 took nothing for 1 s while"),
        "{events}"
    );
    assert!(
        log.contains("client 1 closed: disconnected: it did not read what the others wrote"),
        "{events}"
    );
    // user1 was disconnected, user2's thread has closed its socket: only
    // user3 is left.
    let rows = run(&mut shell, "peers");
    assert_eq!(clients_served(&rows, 1), (1, 3), "{rows}");
    drop(slow);
    drop(writer);
    shell.end_ok();
}

#[test]
fn stop_closes_the_clients_and_mistakes_are_explained() {
    let scratch = Scratch::new("serve-stop");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port to take");
    let taken_port = taken.local_addr().expect("its port").port();
    let mut shell = sockplay(&scratch);
    let port = serve(&mut shell, "serve echo");
    let mut client = connect(port);
    client.write_all(b"x").expect("send");
    let mut b = [0u8; 1];
    client.read_exact(&mut b).expect("echo");

    let out = run(&mut shell, "stop 1");
    assert!(
        out.contains("closed its listening socket and 1 client connection"),
        "{out}"
    );
    assert_eq!(client.read(&mut b).expect("EOF after stop"), 0);
    assert!(
        TcpStream::connect_timeout(&addr(port), LIMIT).is_err(),
        "nothing listens after stop"
    );

    for (cmd, want) in [
        ("stop 1", "peer 1 is stopped already"),
        ("stop 7", "there is no peer 7"),
        (
            &format!("serve echo 127.0.0.1 {taken_port}") as &str,
            "OSError: [Errno 98] Address already in use (EADDRINUSE)",
        ),
        (
            "serve echo 127.0.0.1 0 ./www",
            "only the http peer serves a directory",
        ),
        ("serve http ./nowhere", "FileNotFoundError"),
        ("peers log 9", "there is no peer 9"),
    ] {
        let out = run(&mut shell, cmd);
        assert!(out.contains(want), "{cmd}: {want:?} in:\n{out}");
    }
    serve(&mut shell, "serve daytime");
    let out = run(&mut shell, "peers log");
    assert!(out.contains("which peer? peers log N"), "{out}");
    let out = run(&mut shell, "stop all");
    assert!(
        out.contains("stopped peer 2 (daytime on 127.0.0.1:"),
        "{out}"
    );
    let (status, text, _) = shell.end();
    // --keep-going: the errors above make the status 1.
    assert_eq!(status, Some(1), "{text}");
    drop(taken);
}

/// `serve echo udp`: every datagram goes back to its sender; a sender that
/// floods it and never reads holds up nobody; nc -u gets its echo too.
#[test]
fn udp_echo_answers_each_sender_even_during_a_flood() {
    let scratch = Scratch::new("serve-echo-udp");
    let mut shell = sockplay(&scratch);
    let out = run(&mut shell, "serve echo udp");
    let port = port_after(&out, " server (UDP) on 127.0.0.1:");

    // 3,000 datagrams of 1,000 bytes, never reading the echoes.
    let flood = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind the flood");
    let chunk = vec![b'f'; 1000];
    for _ in 0..3000 {
        // A full send buffer may refuse one; UDP may drop any.
        let _ = flood.send_to(&chunk, addr(port));
    }

    // Another sender gets its echo. Its datagram may be dropped while the
    // flood fills the peer's queue, so it asks again, at most 10 times.
    let other = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    other
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut got = Vec::new();
    for _ in 0..10 {
        other.send_to(b"ping", addr(port)).expect("sendto");
        let mut buf = [0u8; 64];
        if let Ok((n, from)) = other.recv_from(&mut buf) {
            assert_eq!(from, addr(port), "the echo comes from the peer's address");
            got = buf[..n].to_vec();
            break;
        }
    }
    assert_eq!(got, b"ping", "the second sender got its echo");

    if common::have_peer("nc") {
        // openbsd nc: -u datagrams, -w1 ends a second after the last answer.
        let out = Command::new("nc")
            .args(["-u", "-w1", "127.0.0.1", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .and_then(|mut c| {
                if let Some(mut i) = c.stdin.take() {
                    i.write_all(b"hello from nc\n")?;
                }
                c.wait_with_output()
            })
            .expect("run nc -u");
        assert_eq!(out.stdout, b"hello from nc\n", "nc -u got the echo");
    }

    let table = run(&mut shell, "peers");
    assert!(table.contains("echo/udp"), "{table}");
    let log = run(&mut shell, "peers log 1");
    assert!(log.contains("sender 1 is 127.0.0.1:"), "{log}");
    assert!(log.contains("-> b'ping'  (4 bytes)"), "{log}");
    if common::have_peer("nc") {
        assert!(log.contains(r"-> b'hello from nc\n'  (14 bytes)"), "{log}");
    }
    let stop = run(&mut shell, "stop 1");
    assert!(stop.contains("closed its socket"), "{stop}");
    shell.end_ok();
}

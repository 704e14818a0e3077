//! Attacks on the built-in peers (issue 12), each kept as a test: idle
//! connections and a slow-loris holding every slot, a request head that is
//! too large in one read, peers made to answer each other forever. Only
//! 127.0.0.1; every wait has a deadline, every loop a bound; children are
//! killed when a test ends.

mod common;

use common::Scratch;
use common::proc::{Proc, port_after};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long any one step may take (generous: the machine may be loaded).
const LIMIT: Duration = Duration::from_secs(20);

fn sockplay(scratch: &Scratch) -> Proc {
    common::proc::sockplay(scratch.path(), &["--keep-going"], LIMIT)
}

/// `serve ...`; the port of the new peer.
fn serve(shell: &mut Proc, cmd: &str) -> u16 {
    let at = shell.mark();
    shell.line(cmd);
    let out = shell.wait_from(at, " on 127.0.0.1:");
    let out = format!("{out}{}", shell.sync("served"));
    port_after(&out, " on 127.0.0.1:")
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr(port), LIMIT).expect("connect");
    s.set_read_timeout(Some(LIMIT)).expect("timeout");
    s
}

/// Reads until `needle` appears or the stream ends (bounded by the read
/// timeout); returns what came.
fn read_until(s: &mut TcpStream, needle: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = Instant::now() + LIMIT;
    while Instant::now() < end && !got.windows(needle.len()).any(|w| w == needle) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

/// 64 clients that connect and say nothing, and `loris` more that send
/// one byte a second (a request head that never ends); they live until
/// the returned guard is dropped.
struct Hogs {
    idle: Vec<TcpStream>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for Hogs {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        self.idle.clear();
    }
}

fn hogs(port: u16, idle: usize, loris: usize) -> Hogs {
    let idle: Vec<TcpStream> = (0..idle).map(|_| connect(port)).collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let threads = (0..loris)
        .map(|_| {
            let stop = std::sync::Arc::clone(&stop);
            let mut s = connect(port);
            std::thread::spawn(move || {
                // Bounded: at most 60 bytes, one a second.
                for k in 0..60 {
                    if stop.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                    let b = [b"GET / HTTP/1.1\r\nX: "[k.min(18)]];
                    if s.write_all(&b).is_err() {
                        break;
                    }
                    for _ in 0..10 {
                        if stop.load(std::sync::atomic::Ordering::SeqCst) {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            })
        })
        .collect();
    // Let the peer take them all before the real client comes.
    std::thread::sleep(Duration::from_millis(500));
    Hogs {
        idle,
        stop,
        threads,
    }
}

#[test]
fn http_serves_a_new_client_while_idle_ones_and_a_slow_loris_hold_every_slot() {
    let scratch = Scratch::new("hp-http-slots");
    let mut sh = sockplay(&scratch);
    let port = serve(&mut sh, "a = serve http");
    let _hogs = hogs(port, 64, 4);
    let started = Instant::now();
    let mut c = connect(port);
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("request");
    let got = read_until(&mut c, b"</html>");
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\n"),
        "after {:?}: {text:?}\n{}",
        started.elapsed(),
        sh.sync("log")
    );
    // The peer says which client made room.
    let log = {
        let at = sh.mark();
        sh.line("peers log 1");
        sh.sync("logged");
        String::from_utf8_lossy(&sh.out.seen[at..]).into_owned()
    };
    assert!(log.contains("closed to make room"), "{log}");
}

#[test]
fn a_request_head_too_large_is_431_even_when_its_end_came_in_the_same_read() {
    let scratch = Scratch::new("hp-http-431");
    let mut sh = sockplay(&scratch);
    let port = serve(&mut sh, "a = serve http");
    let mut head = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    while head.len() < 70_000 {
        head.extend_from_slice(
            b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        );
    }
    head.extend_from_slice(b"\r\n");
    let mut c = connect(port);
    c.write_all(&head).expect("head");
    let got = read_until(&mut c, b"\r\n\r\n");
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("HTTP/1.1 431 "),
        "{text:?}\n{}",
        sh.sync("log")
    );
}

#[test]
fn a_request_head_that_never_ends_is_cut_at_its_deadline() {
    use sockplay::peers::Peers;
    use sockplay::syntax::ast::PeerKind;
    let mut peers = Peers::default();
    peers.limits.head_deadline = Duration::from_millis(800);
    let any: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let started = peers
        .start(PeerKind::Http, false, &any.into(), None)
        .expect("start");
    let port = started.addr.as_socket().map(|a| a.port()).expect("port");
    let mut c = connect(port);
    c.write_all(b"GET / HT").expect("part of a head");
    let t0 = Instant::now();
    let got = read_until(&mut c, b"\r\n\r\n");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408 "), "{text:?}");
    assert!(
        t0.elapsed() < LIMIT,
        "answered only after {:?}",
        t0.elapsed()
    );
    peers.stop_all();
}

#[test]
fn echo_and_chat_serve_a_new_client_while_idle_ones_hold_every_slot() {
    let scratch = Scratch::new("hp-slots");
    let mut sh = sockplay(&scratch);
    let echo = serve(&mut sh, "e = serve echo");
    let chat = serve(&mut sh, "c = serve chat");
    let _h1 = hogs(echo, 64, 0);
    let _h2 = hogs(chat, 64, 0);
    let mut c = connect(echo);
    c.write_all(b"ping\n").expect("send");
    let got = read_until(&mut c, b"ping\n");
    assert_eq!(got, b"ping\n", "{}", sh.sync("echo"));
    let mut c = connect(chat);
    let got = read_until(&mut c, b"already connected");
    assert!(
        String::from_utf8_lossy(&got).contains("you are <user"),
        "{:?}\n{}",
        String::from_utf8_lossy(&got),
        sh.sync("chat")
    );
}

/// Sends `sig` to the child and waits (bounded) for it to end.
fn signal_and_wait(sh: &mut Proc, sig: i32) -> std::process::ExitStatus {
    let pid = i32::try_from(sh.child.id()).expect("pid");
    // SAFETY: kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
    let end = Instant::now() + LIMIT;
    loop {
        if let Ok(Some(st)) = sh.child.try_wait() {
            return st;
        }
        assert!(
            Instant::now() < end,
            "sockplay did not end after signal {sig}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_signal_that_ends_the_shell_removes_the_peers_socket_files() {
    for sig in [libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGINT] {
        let scratch = Scratch::new("hp-signal");
        let mut sh = sockplay(&scratch);
        let at = sh.mark();
        sh.lines(&["a = serve echo ./p.sock", "b = serve echo udp ./q.sock"]);
        sh.wait_from(at, "(UNIX datagrams) on ./q.sock");
        sh.sync("started");
        assert!(scratch.path().join("p.sock").exists());
        let st = signal_and_wait(&mut sh, sig);
        assert!(!st.success() || sig == libc::SIGINT, "signal {sig}: {st:?}");
        for f in ["p.sock", "q.sock"] {
            assert!(
                !scratch.path().join(f).exists(),
                "signal {sig} left {f} behind:\n{}",
                sh.out.text()
            );
        }
        // The next serve on the same path works.
        let mut again = sockplay(&scratch);
        let at = again.mark();
        again.line("a = serve echo ./p.sock");
        again.wait_from(at, "echo server on ./p.sock");
    }
}

#[test]
fn a_signal_during_recvfile_leaves_no_temporary_file() {
    let scratch = Scratch::new("hp-signal-recvfile");
    let mut sh = sockplay(&scratch);
    let at = sh.mark();
    sh.lines(&[
        "s = socket tcp",
        "bind s 127.0.0.1 0",
        "listen s",
        "k = socket tcp",
        "connect k s",
        "c, addr = accept s",
        "send k b\"some\"",
        "recvfile c out.bin",
    ]);
    sh.wait_from(at, "sockplay> recvfile c out.bin");
    // It has taken the 4 bytes into its temporary file, and waits.
    let end = Instant::now() + LIMIT;
    while !std::fs::read_dir(scratch.path())
        .expect("ls")
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().ends_with(".part"))
    {
        assert!(Instant::now() < end, "no temporary file");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let st = signal_and_wait(&mut sh, libc::SIGTERM);
    assert!(!st.success());
    let left: Vec<String> = std::fs::read_dir(scratch.path())
        .expect("ls")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("sockplay") || n == "out.bin")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Sends one UDP datagram to 127.0.0.1:`dst` whose source port is `src`
/// (a raw socket: root only). False when it cannot (not root).
fn spoofed_datagram(dir: &std::path::Path, src: u16, dst: u16) -> bool {
    const SPOOF: &str = r#"
import socket, struct, sys
src, dst = int(sys.argv[1]), int(sys.argv[2])
payload = b"loop?"
udp = struct.pack("!HHHH", src, dst, 8 + len(payload), 0) + payload
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
except PermissionError:
    print("no raw sockets")
    sys.exit(3)
s.sendto(udp, ("127.0.0.1", 0))
print("sent")
"#;
    if !common::have_peer("python3") {
        return false;
    }
    let out = common::proc::python_command(
        dir,
        "spoof.py",
        SPOOF,
        &[&src.to_string(), &dst.to_string()],
    )
    .output()
    .expect("python3");
    if out.status.code() == Some(3) {
        eprintln!("skipped: raw sockets need root");
        return false;
    }
    assert!(out.status.success(), "{out:?}");
    true
}

/// BYTES-IN of every peer, from `peers`.
fn bytes_in(sh: &mut Proc) -> Vec<u64> {
    let at = sh.mark();
    sh.line("peers");
    sh.sync("listed");
    let text = String::from_utf8_lossy(&sh.out.seen[at..]).into_owned();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 8 && f[0].parse::<u32>().is_ok()).then(|| f[6].parse().unwrap_or(0))
        })
        .collect()
}

#[test]
fn two_udp_echo_peers_never_answer_each_other_in_a_loop() {
    let scratch = Scratch::new("hp-loop");
    let mut sh = sockplay(&scratch);
    let a = serve(&mut sh, "a = serve echo udp");
    let b = serve(&mut sh, "b = serve echo udp");
    // One datagram to b that seems to come from a.
    if !spoofed_datagram(scratch.path(), a, b) {
        return;
    }
    std::thread::sleep(Duration::from_millis(1500));
    let first = bytes_in(&mut sh);
    std::thread::sleep(Duration::from_millis(1000));
    let then = bytes_in(&mut sh);
    assert_eq!(first, then, "the peers still answer each other");
    assert!(
        then.iter().sum::<u64>() <= 10,
        "more than the datagram went round: {then:?}"
    );
    let at = sh.mark();
    sh.line("peers log 2");
    sh.sync("logged");
    let log = String::from_utf8_lossy(&sh.out.seen[at..]).into_owned();
    assert!(log.contains("not answered"), "{log}");
}

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
        table
            .lines()
            .any(|l| l.contains(" k2 ") && l.contains(" 1+0 ")),
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
    assert_has(
        "sockplay",
        &text,
        &["TimeoutError: timed out", "recvline had 1.00 s in all"],
    );
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

/// One chunk of a traffic log: direction (`>` or `<`), the socket's name,
/// and its bytes read back from the text or hexdump view.
struct Chunk {
    dir: char,
    name: String,
    bytes: Vec<u8>,
}

/// Reads a traffic log back: each header line gives the direction, the
/// socket and the length; the bytes follow, as text (`\r`, `\t`, `\\`,
/// `\xNN` escapes, a newline of the data ending a line) or as a hexdump
/// ended by `--`.
fn read_log(text: &str, hex: bool) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let b = text.as_bytes();
    let mut at = 0;
    while at < b.len() {
        let end = text[at..].find('\n').map_or(b.len(), |k| at + k);
        let line = &text[at..end];
        at = end + 1;
        if line.starts_with('#') {
            continue;
        }
        let dir = line.chars().next().expect("a header");
        assert!(dir == '>' || dir == '<', "a header line: {line:?}");
        // `> 2025/06/01 12:34:56.123456  k (fd 4) to ...  length=6 ...`
        let after_time = &line[line.find("  ").expect("two blanks") + 2..];
        let name = after_time.split(" (fd").next().expect("name").to_string();
        let length: usize = line
            .split("length=")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .expect("length=");
        let mut bytes = Vec::new();
        if hex {
            loop {
                let end = text[at..].find('\n').map_or(b.len(), |k| at + k);
                let l = &text[at..end];
                at = end + 1;
                if l == "--" {
                    break;
                }
                // `00000000  61 62 63  ...  |abc|`
                let body = l.get(10..58).unwrap_or("");
                bytes.extend(
                    body.split_whitespace()
                        .map(|h| u8::from_str_radix(h, 16).expect("hex byte")),
                );
            }
        } else {
            while bytes.len() < length {
                let c = b[at];
                if c == b'\\' {
                    match b[at + 1] {
                        b'r' => bytes.push(b'\r'),
                        b't' => bytes.push(b'\t'),
                        b'\\' => bytes.push(b'\\'),
                        b'x' => {
                            let h = std::str::from_utf8(&b[at + 2..at + 4]).expect("hex");
                            bytes.push(u8::from_str_radix(h, 16).expect("hex"));
                            at += 2;
                        }
                        other => panic!("unknown escape \\{}", other as char),
                    }
                    at += 2;
                } else {
                    bytes.push(c);
                    at += 1;
                }
            }
            // The line break that ends the chunk (the data's own, or one
            // added after it).
            if bytes.last() != Some(&b'\n') {
                assert_eq!(b.get(at), Some(&b'\n'), "a chunk ends its line");
                at += 1;
            }
        }
        assert_eq!(bytes.len(), length, "{line}");
        chunks.push(Chunk { dir, name, bytes });
    }
    chunks
}

/// Every byte each socket sent (`>`) or received (`<`), in order.
fn stream_of(chunks: &[Chunk], dir: char, name: &str) -> Vec<u8> {
    chunks
        .iter()
        .filter(|c| c.dir == dir && c.name == name)
        .flat_map(|c| c.bytes.iter().copied())
        .collect()
}

#[test]
fn the_log_holds_every_byte_sent_and_received() {
    let scratch = Scratch::new("proto-log");
    let every_byte: String = (0..=255u8).map(|b| format!("\\x{b:02x}")).collect();
    for (file, hex) in [("traffic.log", false), ("traffic-hex.log", true)] {
        let mut shell = sockplay(&scratch);
        shell.lines(&[
            &format!("log {file}{}", if hex { " hex" } else { "" }),
            "s = socket tcp",
            "bind s 127.0.0.1 0",
            "listen s",
            "k = socket tcp",
            "connect k s",
            "c = accept s",
            "send k b\"GET / HTTP/1.0\\r\\n\\r\\n\"",
            &format!("sendall k b\"{every_byte}\""),
            "send k \"中文 back\\\\slash \\\\x41 no newline\"",
            // A peek takes nothing: it is not in the log.
            "recv c 4 peek",
            "line = recvline c",
            "rest = recvn c 291",
            "send c b\"answer\\n\" * 3",
            "recv k 5",
            "recvall k timeout 0.2",
            "a = serve echo",
            "e = socket tcp",
            "connect e a",
            "sendall e b\"echo me\\x00\\xff\"",
            "recvn e 9 timeout 10",
            "u = socket udp",
            "bind u 127.0.0.1 0",
            "sendto u b\"one datagram\\r\\n\" u",
            "recvfrom u",
            "log off",
            // After log off nothing more is written.
            "send k b\"unlogged\"",
        ]);
        shell.sync("done");
        shell.end();
        let text = std::fs::read_to_string(scratch.path().join(file)).expect("the log");
        let chunks = read_log(&text, hex);
        let mut sent_by_k = b"GET / HTTP/1.0\r\n\r\n".to_vec();
        sent_by_k.extend(0..=255u8);
        sent_by_k.extend("中文 back\\slash \\x41 no newline".as_bytes());
        assert_eq!(
            stream_of(&chunks, '>', "k"),
            sent_by_k,
            "k's sends ({file})"
        );
        assert_eq!(
            stream_of(&chunks, '<', "c"),
            sent_by_k,
            "c's receives ({file})"
        );
        assert_eq!(
            stream_of(&chunks, '>', "c"),
            b"answer\n".repeat(3),
            "{file}"
        );
        assert_eq!(
            stream_of(&chunks, '<', "k"),
            b"answer\n".repeat(3),
            "{file}"
        );
        assert_eq!(stream_of(&chunks, '>', "e"), b"echo me\x00\xff", "{file}");
        assert_eq!(stream_of(&chunks, '<', "e"), b"echo me\x00\xff", "{file}");
        assert_eq!(stream_of(&chunks, '>', "u"), b"one datagram\r\n", "{file}");
        assert_eq!(stream_of(&chunks, '<', "u"), b"one datagram\r\n", "{file}");
        assert!(!text.contains("unlogged"), "{text}");
        assert!(
            text.ends_with('\n')
                && text
                    .lines()
                    .last()
                    .is_some_and(|l| l.starts_with("# log off"))
        );
        // The log is plain ASCII: nothing from the network reaches a
        // terminal that shows it raw.
        assert!(
            text.bytes()
                .all(|b| b == b'\n' || (0x20..0x7f).contains(&b)),
            "{file}"
        );
    }
}

#[test]
fn the_log_never_writes_over_a_file_or_through_a_link() {
    let scratch = Scratch::new("proto-log-new");
    std::fs::write(scratch.path().join("old.log"), b"keep me").expect("old file");
    let target = scratch.path().join("elsewhere.txt");
    std::os::unix::fs::symlink(&target, scratch.path().join("link.log")).expect("symlink");
    let run = common::run_in(
        scratch.path(),
        &["--keep-going", "-c", "log old.log\nlog link.log\nlog"],
        None,
    );
    assert_eq!(run.status, Some(1), "{}", run.output);
    // The shell's one set of file rules (src/files.rs): an existing file
    // is not replaced, a link not written through.
    assert!(run.output.contains("FileExistsError"), "{}", run.output);
    assert!(
        run.output.contains("a script never replaces a file"),
        "{}",
        run.output
    );
    assert!(
        run.output
            .contains("will not write through a symbolic link: 'link.log'"),
        "{}",
        run.output
    );
    assert!(run.output.contains("no traffic log"), "{}", run.output);
    assert_eq!(
        std::fs::read(scratch.path().join("old.log")).expect("old"),
        b"keep me"
    );
    assert!(!target.exists(), "the link was not followed");
}

/// A Python program receives a TCP socket of the shell over a UNIX socket
/// (SCM_RIGHTS, socket.recv_fds) and writes through it: the other end, in
/// the shell, reads what Python wrote. Then Python passes one end of its
/// own socket pair back, and the shell talks to Python over it.
#[test]
fn a_descriptor_passed_to_python_and_one_passed_back() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("proto-fds");
    let program = "import socket\n\
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n\
        srv.bind('./fd.sock')\n\
        srv.listen()\n\
        print('ready', flush=True)\n\
        c, _ = srv.accept()\n\
        msg, fds, flags, addr = socket.recv_fds(c, 1024, 4)\n\
        print('got', msg, len(fds), flush=True)\n\
        s = socket.socket(fileno=fds[0])\n\
        print('passed', s.family.name, s.type.name, flush=True)\n\
        s.sendall(b'written by python through the passed fd\\n')\n\
        a, b = socket.socketpair()\n\
        socket.send_fds(c, [b'for you'], [b.fileno()])\n\
        b.close()\n\
        a.sendall(b'from python over its socketpair\\n')\n\
        print('answer', a.recv(100), 'end', flush=True)\n";
    let mut py = Proc::spawn(
        "fd-python",
        &mut python_command(scratch.path(), "fds.py", program, &[]),
        LIMIT,
    );
    py.wait_for("ready");
    let mut shell = sockplay(&scratch);
    shell.lines(&[
        "s = socket tcp",
        "bind s 127.0.0.1 0",
        "listen s",
        "k = socket tcp",
        "connect k s",
        "c = accept s",
        "u = socket unix",
        "connect u ./fd.sock",
        "sendmsg u b\"take this\" fds k",
        "line = recvline c timeout 10",
        "data, fds = recvmsg u fds",
        "l2 = recvline . timeout 10",
        "send . b\"thanks\\n\"",
    ]);
    let text = shell.sync("done");
    py.wait_for("' end");
    assert_has(
        "python",
        &py.out.text(),
        &[
            "got b'take this' 1",
            "passed AF_INET SOCK_STREAM",
            "answer b'thanks\\n'",
        ],
    );
    assert_has(
        "sockplay",
        &text,
        &[
            "sendmsg: 9 bytes and 1 descriptor (k (fd 4)) with SCM_RIGHTS",
            "line = b'written by python through the passed fd\\n'",
            "recvmsg: 7 bytes from ./fd.sock and 1 descriptor (SCM_RIGHTS)",
            "data = b'for you'",
            "AF_UNIX SOCK_STREAM>: a socket from the other process, now in the table",
            "l2 = b'from python over its socketpair\\n'",
        ],
    );
    shell.end_ok();
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// As root, a raw ICMP socket pings 127.0.0.1: the echo request goes out
/// behind an IP header the kernel writes, and the packets read back start
/// with their IP header, which sockplay reads out.
#[test]
fn a_raw_socket_pings_loopback_as_root() {
    if !is_root() {
        eprintln!("skipped: raw sockets need root");
        return;
    }
    let scratch = Scratch::new("proto-raw");
    // A raw ICMP socket sees every ICMP packet of the machine (other
    // tests' port-unreachables too): a few reads, the reply among them.
    let run = common::run_in(
        scratch.path(),
        &[
            "--keep-going",
            "-c",
            "r = socket raw icmp\n\
             settimeout r 0.5\n\
             sendto r x\"08 00 f7 ff 00 00 00 00\" 127.0.0.1 0\n\
             data, addr = recvfrom r\n\
             data, addr = recvfrom r\n\
             data, addr = recvfrom r\n\
             data, addr = recvfrom r\n\
             sockets",
        ],
        None,
    );
    assert_has(
        "sockplay",
        &run.output,
        &[
            "r = <socket fd=3 AF_INET SOCK_RAW>",
            "sent 8 bytes to 127.0.0.1:0",
            "the first 20 bytes are the IP header: from 127.0.0.1 to 127.0.0.1",
            "ICMP (1)",
            "then ICMP type 0: echo reply",
            "RAW/ICMP",
        ],
    );
}

/// Without root, a raw socket is refused with Python's PermissionError and
/// a hint (the shell runs as nobody, through setpriv).
#[test]
fn a_raw_socket_without_root_is_a_permission_error() {
    if !is_root() || !common::have_peer("setpriv") {
        eprintln!("skipped: needs root to become nobody");
        return;
    }
    let scratch = Scratch::new("proto-raw-nobody");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(common::BIN)
        .args(["--color", "never", "-c", "r = socket raw icmp"])
        .current_dir(std::env::temp_dir())
        .env("SOCKPLAY_CONFIG_DIR", scratch.path().join(".config"))
        .env("SOCKPLAY_HISTORY", scratch.path().join(".history"))
        .output()
        .expect("setpriv");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_has(
        "sockplay as nobody",
        &text,
        &[
            "PermissionError: [Errno 1] Operation not permitted (EPERM)",
            "raw sockets need root (or the CAP_NET_RAW capability)",
        ],
    );
}

/// `c10k` on 2,000 connections: select cannot take them, poll and epoll
/// wait on all of them, and the helper process is gone when it ends.
#[test]
fn epoll_poll_and_select_on_many_sockets() {
    let scratch = Scratch::new("proto-c10k");
    let run = common::run_in(scratch.path(), &["-c", "c10k 2000\nsockets"], None);
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert_has(
        "sockplay",
        &run.output,
        &[
            "2000 TCP connections open",
            "watching 2001 sockets",
            "ValueError: filedescriptor out of range in select(): fd_set holds fds 0 to 1023 (FD_SETSIZE)",
            "poll on 2001 sockets: ",
            "epoll on 2001 sockets: ",
            "closed the 2000 connections and the helper",
            "no sockets open",
        ],
    );
    let at = run
        .output
        .find("a helper process (pid ")
        .expect("the helper's pid")
        + 22;
    let pid: u32 = run.output[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("a pid");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || !stat.contains("sockplay"),
        "the helper {pid} is still there: {stat}"
    );
}

/// A hard limit too low for the connections asked: c10k says so, and
/// measures as many as fit.
#[test]
fn c10k_says_when_the_hard_limit_is_too_low() {
    use std::os::unix::process::CommandExt;
    let scratch = Scratch::new("proto-c10k-limit");
    let mut cmd = common::command(scratch.path(), &["-c", "c10k 2000"]);
    // SAFETY: setrlimit only, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 700,
                rlim_max: 700,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().expect("sockplay");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_has(
        "sockplay",
        &text,
        &[
            "this process may open 700",
            "the hard limit on descriptors is 700: 2000 connections need about",
            "TCP connections open",
            "poll on ",
        ],
    );
    assert!(!text.contains("2000 TCP connections open"), "{text}");
}

/// epoll by hand on a few sockets: add, wait (with the reason each is
/// ready), mod, del, close, and the errors a learner meets.
#[test]
fn epoll_by_hand() {
    let scratch = Scratch::new("proto-epoll");
    let mut shell = sockplay(&scratch);
    shell.lines(&[
        "s = socket tcp",
        "bind s 127.0.0.1 0",
        "listen s",
        "k = socket tcp",
        "connect k s",
        "c = accept s",
        "ep = epoll",
        "epoll ep add c in",
        "epoll ep add c in",
        "epoll ep add k EPOLLOUT|EPOLLET",
        "ev = epoll ep wait 0",
        "send k b\"abc\"",
        "ev = epoll ep wait 5",
        "epoll ep mod k in",
        "epoll ep del c",
        "epoll ep del c",
        "recvuntil c b\"b\"",
        "ev = epoll ep wait 0.1",
        // Python's ep.close() is epoll ep close: close is for sockets.
        "close ep",
        "epoll ep close",
        "epoll ep wait",
        "epoll k wait",
    ]);
    let text = shell.sync("done");
    assert_has(
        "sockplay",
        &text,
        &[
            "ep = <select.epoll fd=",
            "ep now watches c for EPOLLIN (1 socket watched)",
            "FileExistsError: [Errno 17] File exists (EEXIST)",
            "c is watched already: epoll ep mod c ... changes its events",
            "ep now watches k for EPOLLOUT|EPOLLET",
            "edge-triggered (et)",
            "(k): EPOLLOUT - ",
            "(c): EPOLLIN - 3 bytes queued: recv will not block",
            "ep no longer watches c",
            "FileNotFoundError: [Errno 2] No such file or directory (ENOENT)",
            "nothing ready: ep.poll timed out and returns []",
            "an epoll has its own words: epoll ep close",
            "closed the epoll ep",
            "this epoll was closed",
            "TypeError: 'k' is a socket, not an epoll",
        ],
    );
    let (status, _, _) = shell.end();
    assert_eq!(status, Some(1));
}

/// The budget counts between reads too, not only while waiting: data that
/// is all there already (a UNIX socket pair, 100 KB queued before the
/// call) with the delimiter at its end is more than one read (64 KiB), and
/// a budget that has run out after the first read ends the call with
/// TimeoutError, the bytes read held, instead of reading on as long as the
/// peer keeps data coming (a flooding peer kept recvall going for 256 MiB).
#[test]
fn the_budget_counts_between_reads_that_never_wait() {
    let scratch = Scratch::new("proto-budget-reads");
    let mut shell = sockplay(&scratch);
    shell.lines(&[
        "a, b = socketpair",
        "sendall a b\"x\" * 100000 + b\"END\"",
        "recvuntil b b\"END\" timeout 0.000001",
        "sockets",
    ]);
    let text = shell.sync("after");
    assert_has(
        "sockplay",
        &text,
        &[
            "TimeoutError: timed out",
            "the 65536 bytes received are held",
        ],
    );
    assert!(!text.contains("up to and including"), "{text}");
    // Nothing is lost: the rest comes by the next receives.
    shell.line("got = recvuntil b b\"END\" timeout 10");
    shell.wait_for("recvuntil: 100003 bytes up to and including b'END'");
    let (status, _, _) = shell.end();
    assert_eq!(status, Some(1), "the timeout was an error");
}

/// The disk fills (here: a file size limit, `ulimit -f`, with SIGXFSZ
/// ignored so that the write fails with EFBIG): the log stops, and the
/// command whose bytes could not be written says so at once, not only a
/// later `log off`.
#[test]
fn a_log_that_cannot_be_written_says_so_at_once() {
    let scratch = Scratch::new("proto-log-full");
    let script = "log t.log\n\
                  a, b = socketpair\n\
                  sendall a b\"x\" * 6000\n\
                  echo \"sent\"\n\
                  send a b\"more\"\n\
                  log off";
    let out_path = scratch.path().join(".out");
    let out = std::fs::File::create(&out_path).expect("out");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 4; exec \"$0\" --color never --keep-going -c \"$1\"")
        .arg(common::BIN)
        .arg(script)
        .current_dir(scratch.path())
        .env("SOCKPLAY_CONFIG_DIR", scratch.path().join(".config"))
        .env("SOCKPLAY_HISTORY", scratch.path().join(".history"))
        .stdout(out.try_clone().expect("clone"))
        .stderr(out)
        .spawn()
        .expect("sh");
    let status = common::wait_bounded(&mut child, LIMIT);
    let text = std::fs::read_to_string(&out_path).expect("output");
    assert!(status.is_some(), "{text}");
    let sendall = &text[text.find("sockplay> sendall").expect("sendall")
        ..text.find("sockplay> echo").expect("echo")];
    assert!(
        sendall.contains("writing the log t.log failed") && sendall.contains("it stopped"),
        "{text}"
    );
    // Said once.
    assert_eq!(
        text.matches("writing the log t.log failed").count(),
        1,
        "{text}"
    );
}

/// SCM_RIGHTS carries at most 253 descriptors a message (the kernel's
/// SCM_MAX_FD): a longer list is a ValueError pointing at the first that
/// does not fit, said before anything is sent, rather than the kernel's
/// bare EINVAL.
#[test]
fn more_descriptors_than_one_message_carries_are_refused_by_name() {
    let scratch = Scratch::new("proto-many-fds");
    let mut script = String::from("a, b = socketpair\n");
    for k in 1..=254 {
        script.push_str(&format!("x{k} = socket udp\n"));
    }
    let names: Vec<String> = (1..=254).map(|k| format!("x{k}")).collect();
    script.push_str(&format!("sendmsg a \"hi\" fds {}\n", names.join(" ")));
    script.push_str(&format!(
        "sendmsg a \"hi\" fds {}\n",
        names[..253].join(" ")
    ));
    script.push_str("data, fds = recvmsg b fds 253\n");
    let run = common::run_in(scratch.path(), &["--keep-going", "-c", &script], None);
    let out = &run.output;
    assert!(
        out.contains("ValueError: at most 253 descriptors go in one message"),
        "{}",
        proc_tail(out)
    );
    assert!(!out.contains("EINVAL"), "{}", proc_tail(out));
    assert!(out.contains("^^^^"), "{}", proc_tail(out));
    assert!(
        out.contains("and 253 descriptors (SCM_RIGHTS)"),
        "{}",
        proc_tail(out)
    );
}

fn proc_tail(out: &str) -> &str {
    common::proc::tail_of(out, 3000)
}

/// epoll watches the open socket, not its number: a socket closed while
/// another descriptor (dup) keeps it open is still reported, under the
/// number it was added with, even after a new socket took that number.
/// The report names the closed socket and why, never the newcomer.
#[test]
fn epoll_reports_a_closed_descriptor_whose_socket_lives_on() {
    let scratch = Scratch::new("proto-epoll-dup");
    let run = common::run_in(
        scratch.path(),
        &[
            "--keep-going",
            "-c",
            "a, b = socketpair\n\
             a2 = dup a\n\
             ep = epoll\n\
             epoll ep add a in\n\
             close a\n\
             n = socket udp\n\
             send b \"x\"\n\
             ev = epoll ep wait 1\n\
             epoll ep\n\
             close a2\n\
             epoll ep",
        ],
        None,
    );
    let out = &run.output;
    let wait = &out[out.find("sockplay> ev = epoll").expect("wait")..];
    let wait = &wait[..wait.find("sockplay> epoll ep\n").expect("show")];
    assert!(!wait.contains("(n)"), "{out}");
    assert!(wait.contains("fd 3 (a, closed): EPOLLIN"), "{out}");
    assert!(wait.contains("still open as a2 (fd 5)"), "{out}");
    assert!(wait.contains("ev = [(3, 1)]"), "{out}");
    let show = &out[out.find("sockplay> epoll ep\n").expect("show")..];
    let (first, second) = show.split_at(show.find("sockplay> close a2").expect("close"));
    assert!(
        first.contains("a (closed; its socket is still open as a2 (fd 5), so still watched)"),
        "{out}"
    );
    assert!(second.contains("(closed: the kernel dropped it)"), "{out}");
}

/// A peer that resets the connection in the middle of a line: recvline
/// fails with ConnectionResetError, and says that the bytes that came
/// before the reset are held (recv returns them), as a timeout does.
#[test]
fn a_reset_in_the_middle_of_a_line_says_what_is_held() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("proto-reset-mid");
    let program = "import socket, struct, time\n\
        s = socket.socket()\n\
        s.bind(('127.0.0.1', 0))\n\
        s.listen()\n\
        print('port', s.getsockname()[1], 'ready', flush=True)\n\
        c, _ = s.accept()\n\
        c.sendall(b'partial line')\n\
        time.sleep(0.5)\n\
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))\n\
        c.close()\n";
    let mut peer = Proc::spawn(
        "reset",
        &mut python_command(scratch.path(), "reset.py", program, &[]),
        LIMIT,
    );
    let port = port_after(&peer.wait_for(" ready"), "port ");
    let mut shell = sockplay(&scratch);
    shell.lines(&[
        "k = socket tcp",
        &format!("connect k 127.0.0.1 {port}"),
        "recvline k timeout 10",
        "recv k",
    ]);
    let text = shell.sync("after");
    assert_has(
        "sockplay",
        &text,
        &[
            "ConnectionResetError",
            "the 12 bytes received before it are held",
            "-> b'partial line'",
        ],
    );
    let (status, _, _) = shell.end();
    assert_eq!(status, Some(1));
}

/// A timeout too large for the clock (1e19 s) is Python's OverflowError,
/// pointing at the number, for every call that takes one: recvline's
/// budget, settimeout (a recv after it panicked), epoll's wait and
/// select's. They panicked ("overflow when adding duration to instant").
#[test]
fn a_timeout_too_large_for_the_clock_is_an_overflow_error() {
    let scratch = Scratch::new("proto-huge-timeout");
    let run = common::run_in(
        scratch.path(),
        &[
            "--keep-going",
            "-c",
            "a, b = socketpair\n\
             recvline a timeout 1e19\n\
             settimeout a 1e19\n\
             ep = epoll\n\
             epoll ep wait 1e19\n\
             select a 1e19\n\
             echo \"alive\"",
        ],
        None,
    );
    let out = &run.output;
    assert!(!out.contains("panicked"), "{out}");
    assert!(out.contains("  alive"), "{out}");
    assert_eq!(out.matches("OverflowError").count(), 4, "{out}");
}

//! sockplay against real peers: the course's Python client and server
//! (../shared/seeds/, `tcp_client.py` / `tcp_server.py`: socket(),
//! connect((host, port)), send(data.encode()), recv(1024), close()) and
//! OpenBSD netcat.
//!
//! Ports are always chosen by the kernel (port 0) and learned from the
//! other side's output, read as it comes; only 127.0.0.1 is used. Every
//! wait has a deadline and every child is killed when its test ends, even
//! when an assertion fails (see `Reap`). A missing peer program prints
//! `skipped: ...` (or fails with SOCKPLAY_REQUIRE_PEERS=1).

mod common;

use common::Scratch;
use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long any one step may take.
const LIMIT: Duration = Duration::from_secs(10);

/// A child killed and reaped when dropped.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The output of a child (stdout and stderr together), read by threads as
/// it is written, so a test can wait for a line while the child runs.
struct Watch {
    rx: Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

impl Watch {
    fn new(child: &mut Child) -> Watch {
        let (tx, rx) = mpsc::channel();
        let out: Option<Box<dyn Read + Send>> = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let err: Option<Box<dyn Read + Send>> = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        for mut r in [out, err].into_iter().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = r.read(&mut buf) {
                    if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            });
        }
        Watch {
            rx,
            seen: Vec::new(),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    /// Waits until the output contains `needle`; panics after `LIMIT`.
    fn wait_for(&mut self, needle: &str) -> String {
        let end = Instant::now() + LIMIT;
        loop {
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            let left = end.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(chunk) => self.seen.extend(chunk),
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no {needle:?} within {LIMIT:?}; the output so far:\n{text}")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the output ended without {needle:?}:\n{text}")
                }
            }
        }
    }

    /// Reads until both streams end (or `LIMIT`); returns all the bytes.
    fn finish(&mut self) -> Vec<u8> {
        let end = Instant::now() + LIMIT;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(chunk) => self.seen.extend(chunk),
                Err(_) => return self.seen.clone(),
            }
        }
    }
}

/// The port in `<marker>127.0.0.1:PORT`.
fn port_after(text: &str, marker: &str) -> u16 {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in:\n{text}"));
    let digits: String = text[at + marker.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no port after {marker:?} in:\n{text}"))
}

/// sockplay reading its commands from a pipe, one line at a time.
struct Shell {
    child: Reap,
    stdin: Option<ChildStdin>,
    out: Watch,
}

impl Shell {
    fn start(scratch: &Scratch) -> Shell {
        let mut child = Command::new(common::BIN)
            .args(["--color", "never"])
            .current_dir(scratch.path())
            .env("SOCKPLAY_CONFIG_DIR", scratch.path().join(".config"))
            .env("SOCKPLAY_HISTORY", scratch.path().join(".history"))
            .env_remove("NO_COLOR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sockplay");
        let stdin = child.stdin.take();
        let out = Watch::new(&mut child);
        Shell {
            child: Reap(child),
            stdin,
            out,
        }
    }

    fn line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{line}").expect("write a line to sockplay");
        stdin.flush().expect("flush");
    }

    /// A listening TCP socket `s` on 127.0.0.1, port chosen by the kernel;
    /// returns the port.
    fn listen(&mut self) -> u16 {
        self.line("s = socket inet stream");
        self.line("setsockopt s SOL_SOCKET SO_REUSEADDR 1");
        self.line("bind s 127.0.0.1 0");
        self.line("listen s 5");
        let text = self.out.wait_for("(LISTEN)");
        port_after(&text, "bound s to 127.0.0.1:")
    }

    /// Closes stdin (end of the script) and returns the whole transcript
    /// as bytes and the exit status.
    fn end(mut self) -> (Vec<u8>, Option<i32>) {
        drop(self.stdin.take());
        let status = common::wait_bounded(&mut self.child.0, LIMIT);
        (self.out.finish(), status)
    }
}

fn python(scratch: &Scratch, name: &str, program: &str, args: &[&str]) -> (Reap, Watch) {
    let path = scratch.path().join(name);
    std::fs::write(&path, program).expect("write the python program");
    let mut child = Command::new("python3")
        .arg("-u")
        .arg(&path)
        .args(args)
        .current_dir(scratch.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python3");
    let out = Watch::new(&mut child);
    (Reap(child), out)
}

/// tcp_client.py from the course, with a timeout so it cannot hang.
const TCP_CLIENT: &str = r#"
import sys
from socket import *

# 创建套接字
sockfd = socket(AF_INET, SOCK_STREAM)
sockfd.settimeout(10)

# 发起连接
server_addr = ('127.0.0.1', int(sys.argv[1]))
sockfd.connect(server_addr)

# 消息发送接收
data = "hello 你好"
sockfd.send(data.encode())
data = sockfd.recv(1024)
print("received:", repr(data))

# 关闭套接字
sockfd.close()
"#;

/// tcp_server.py from the course: one client, one message, one answer; it
/// prints the port the kernel chose.
const TCP_SERVER: &str = r#"
from socket import *

# 创建套接字
sockfd = socket(AF_INET, SOCK_STREAM)
sockfd.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
sockfd.settimeout(10)

# 绑定地址
sockfd.bind(('127.0.0.1', 0))

# 设置监听
sockfd.listen(5)
print("listening on port", sockfd.getsockname()[1])

# 等待接受连接
connfd, addr = sockfd.accept()
connfd.settimeout(10)
print("Connect from", addr)

# 收发消息
data = connfd.recv(1024)
print("Receive:", repr(data))
n = connfd.send(b'Receive your message')
print("sent %d bytes" % n)

# 关闭套接字
connfd.close()
sockfd.close()
"#;

#[test]
fn python_client_to_a_sockplay_server() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("peer-py-client");
    let mut shell = Shell::start(&scratch);
    let port = shell.listen();

    // The rest of the server, queued: sockplay reads it as it goes.
    for line in [
        "c, addr = accept s",
        "data = recv c 1024",
        "n = send c b\"Receive your message\"",
        "recv c",
        "close c",
        "close s",
    ] {
        shell.line(line);
    }

    let (mut client, mut client_out) =
        python(&scratch, "tcp_client.py", TCP_CLIENT, &[&port.to_string()]);
    let status = common::wait_bounded(&mut client.0, LIMIT);
    let client_text = String::from_utf8_lossy(&client_out.finish()).into_owned();
    assert_eq!(status, Some(0), "the client ran:\n{client_text}");
    assert!(
        client_text.contains("received: b'Receive your message'"),
        "the client got sockplay's answer:\n{client_text}"
    );

    let (out, status) = shell.end();
    let text = String::from_utf8_lossy(&out).into_owned();
    assert_eq!(status, Some(0), "sockplay ran the script:\n{text}");
    for want in [
        "addr = ('127.0.0.1', ",
        // The client's bytes, shown as Python shows them.
        r"data = b'hello \xe4\xbd\xa0\xe5\xa5\xbd'  (12 bytes)",
        "n = 20",
        // The client closed after reading the answer.
        "-> b''",
    ] {
        assert!(text.contains(want), "{want:?} in the transcript:\n{text}");
    }
}

#[test]
fn sockplay_client_to_a_python_server() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("peer-py-server");
    let (mut server, mut server_out) = python(&scratch, "tcp_server.py", TCP_SERVER, &[]);
    let text = server_out.wait_for("\n");
    let port = port_after(&text, "listening on port ");

    let script = format!(
        "k = socket inet stream\n\
         connect k 127.0.0.1 {port}\n\
         send k \"hello 你好\"\n\
         data = recv k 1024\n\
         recv k\n\
         close k\n"
    );
    let run = common::run_in(scratch.path(), &["-c", &script], None);
    assert_eq!(
        run.status,
        Some(0),
        "sockplay ran the script:\n{}",
        run.output
    );
    let connected = format!("to 127.0.0.1:{port} (ESTABLISHED)");
    for want in [
        connected.as_str(),
        "sent 12 bytes",
        "data = b'Receive your message'  (20 bytes)",
        "-> b''",
    ] {
        assert!(
            run.output.contains(want),
            "{want:?} in the transcript:\n{}",
            run.output
        );
    }

    let status = common::wait_bounded(&mut server.0, LIMIT);
    let server_text = String::from_utf8_lossy(&server_out.finish()).into_owned();
    assert_eq!(status, Some(0), "the server ran:\n{server_text}");
    assert!(
        server_text.contains(r"Receive: b'hello \xe4\xbd\xa0\xe5\xa5\xbd'"),
        "the server got sockplay's bytes:\n{server_text}"
    );
    assert!(server_text.contains("sent 20 bytes"), "{server_text}");
}

#[test]
fn netcat_escape_sequences_are_shown_escaped() {
    if !common::have_peer("nc") {
        return;
    }
    let scratch = Scratch::new("peer-nc");
    let mut shell = Shell::start(&scratch);
    let port = shell.listen();
    for line in [
        "c, addr = accept s",
        "data = recv c 1024",
        "recv c",
        "close c",
        "close s",
    ] {
        shell.line(line);
    }

    // -q1: after the end of its stdin, nc waits a second and quits.
    let mut nc = Command::new("nc")
        .args(["-q1", "127.0.0.1", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Reap)
        .expect("spawn nc");
    let mut nc_in = nc.0.stdin.take().expect("nc stdin");
    nc_in
        .write_all(b"plain \x1b[31mred\x1b[0m\x07 end\n")
        .expect("write to nc");
    drop(nc_in);

    let (out, status) = shell.end();
    let text = String::from_utf8_lossy(&out).into_owned();
    assert_eq!(status, Some(0), "sockplay ran the script:\n{text}");
    assert!(
        text.contains(r"data = b'plain \x1b[31mred\x1b[0m\x07 end\n'  (24 bytes)"),
        "the bytes shown as Python shows them:\n{text}"
    );
    assert!(text.contains("-> b''"), "nc closed:\n{text}");
    // Nothing the peer sent reaches the terminal raw.
    for raw in [0x1b_u8, 0x07] {
        assert!(
            !out.contains(&raw),
            "raw byte {raw:#04x} in sockplay's output:\n{text:?}"
        );
    }
    assert_eq!(common::wait_bounded(&mut nc.0, LIMIT), Some(0));
}

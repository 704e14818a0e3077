//! sockplay against real peers: the course's Python client and server
//! (../shared/seeds/, `tcp_client.py` / `tcp_server.py`: socket(),
//! connect((host, port)), send(data.encode()), recv(1024), close()) and
//! OpenBSD netcat.
//!
//! Ports are always chosen by the kernel (port 0) and learned from the
//! other side's output, read as it comes; only 127.0.0.1 is used. Every
//! wait has a deadline and every child is killed when its test ends, even
//! when an assertion fails (see `common::proc::Proc`). A missing peer
//! program prints `skipped: ...` (or fails with SOCKPLAY_REQUIRE_PEERS=1).

mod common;

use common::Scratch;
use common::proc::{Proc, assert_no_raw, port_after, python_command};
use std::process::Command;
use std::time::Duration;

/// How long any one step may take.
const LIMIT: Duration = Duration::from_secs(10);

/// sockplay reading its commands from a pipe, one line at a time.
fn sockplay(scratch: &Scratch) -> Proc {
    common::proc::sockplay(scratch.path(), &[], LIMIT)
}

/// A listening TCP socket `s` on 127.0.0.1, port chosen by the kernel;
/// returns the port.
fn listen(shell: &mut Proc) -> u16 {
    shell.line("s = socket inet stream");
    shell.line("setsockopt s SOL_SOCKET SO_REUSEADDR 1");
    shell.line("bind s 127.0.0.1 0");
    shell.line("listen s 5");
    let text = shell.wait_for("(LISTEN)");
    port_after(&text, "bound s to 127.0.0.1:")
}

/// python3 running `program` in the scratch directory, unbuffered, its
/// stdout and stderr read together as they are written.
fn python(scratch: &Scratch, name: &str, program: &str, args: &[&str]) -> Proc {
    let mut cmd = python_command(scratch.path(), name, program, args);
    Proc::spawn_merged(name, &mut cmd, LIMIT)
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
    let mut shell = sockplay(&scratch);
    let port = listen(&mut shell);

    // The rest of the server, queued: sockplay reads it as it goes.
    shell.lines(&[
        "c, addr = accept s",
        "data = recv c 1024",
        "n = send c b\"Receive your message\"",
        "recv c",
        "close c",
        "close s",
    ]);

    let mut client = python(&scratch, "tcp_client.py", TCP_CLIENT, &[&port.to_string()]);
    let (status, client_text, _) = client.end();
    assert_eq!(status, Some(0), "the client ran:\n{client_text}");
    assert!(
        client_text.contains("received: b'Receive your message'"),
        "the client got sockplay's answer:\n{client_text}"
    );

    let text = shell.end_ok();
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
    let mut server = python(&scratch, "tcp_server.py", TCP_SERVER, &[]);
    let text = server.wait_for("\n");
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

    let (status, server_text, _) = server.end();
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
    let mut shell = sockplay(&scratch);
    let port = listen(&mut shell);
    shell.lines(&[
        "c, addr = accept s",
        "data = recv c 1024",
        "recv c",
        "close c",
        "close s",
    ]);

    // -q1: after the end of its stdin, nc waits a second and quits.
    let mut nc = Proc::spawn(
        "nc",
        Command::new("nc").args(["-q1", "127.0.0.1", &port.to_string()]),
        LIMIT,
    );
    nc.write(b"plain \x1b[31mred\x1b[0m\x07 end\n");
    nc.close_stdin();

    let text = shell.end_ok();
    assert!(
        text.contains(r"data = b'plain \x1b[31mred\x1b[0m\x07 end\n'  (24 bytes)"),
        "the bytes shown as Python shows them:\n{text}"
    );
    assert!(text.contains("-> b''"), "nc closed:\n{text}");
    // Nothing the peer sent reaches the terminal raw.
    assert_no_raw(&shell.out.seen, &[0x1b, 0x07]);
    nc.end_ok();
}

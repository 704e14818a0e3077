//! sockplay against the programs people really use, each with a real
//! program at the other end and the bytes checked both ways:
//!
//! - python3 running the course's own programs (../shared/seeds/), copied
//!   here unchanged but for the host (127.0.0.1) and the port (0, printed
//!   by a server; given on the command line to a client): the TCP server
//!   and client (`##` ends, `Receive your message` answers), the UDP server
//!   and client (the server's `recvfrom(5)` cuts a longer datagram), and
//!   the AF_UNIX stream server and client (`./sock` in a scratch
//!   directory). A course program that loops on `input()` is fed on stdin;
//! - nc and socat as client and as server, over TCP, and socat over UDP;
//! - curl against an HTTP server typed by hand (accept, recv, sendall,
//!   close), as the course's HTTP server does it;
//! - telnet, whose lines end in `\r\n`;
//! - a hostile client: escape sequences, invalid UTF-8, NUL, BEL.
//!
//! Only 127.0.0.1 and UNIX paths in a scratch directory; every port is
//! chosen by the kernel and learned from the output of the side that bound
//! it. Every wait has a deadline (reader threads and `recv_timeout`), every
//! child is killed and reaped when its test ends, even on a failed
//! assertion (`Proc`'s Drop), and there are no fixed sleeps: each step
//! waits for the output that shows the step before it is done (the course's
//! UNIX server prints nothing when it listens: a bounded poll connects). A missing peer program
//! prints `skipped: ...` (or fails with SOCKPLAY_REQUIRE_PEERS=1).

mod common;

use common::Scratch;
use common::proc::{Proc, assert_has, assert_no_raw, port_after, python_command};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long any one step may take.
const LIMIT: Duration = Duration::from_secs(15);

/// sockplay reading its commands from a pipe, one line at a time, as they
/// arrive; its stdout and stderr go to one pipe, so they stay in order.
fn sockplay(scratch: &Scratch) -> Proc {
    common::proc::sockplay(scratch.path(), &[], LIMIT)
}

/// python3 running `program` (written to `name` in the scratch directory,
/// which is its working directory), unbuffered, its stdio in UTF-8.
fn python(scratch: &Scratch, name: &str, program: &str, args: &[&str]) -> Proc {
    let mut cmd = python_command(scratch.path(), name, program, args);
    Proc::spawn(name, &mut cmd, LIMIT)
}

/// A UDP socket `u` in sockplay bound to 127.0.0.1, port chosen by the
/// kernel; returns the port.
fn bind_udp(shell: &mut Proc) -> u16 {
    shell.lines(&["u = socket udp", "bind u 127.0.0.1 0"]);
    port_after(
        &shell.wait_for("chosen by the kernel"),
        "bound u to 127.0.0.1:",
    )
}

/// Waits until a UNIX stream socket at `path` accepts connections: a
/// connection that closes at once (the course's server reads b'' from it,
/// prints nothing and goes back to accept).
fn wait_unix_listening(path: &Path, server: &mut Proc) {
    let end = Instant::now() + LIMIT;
    loop {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return;
        }
        if let Ok(Some(st)) = server.child.try_wait() {
            let (_, out, err) = server.end();
            panic!("the server ended ({st}) before listening:\n{out}{err}");
        }
        assert!(Instant::now() < end, "nothing listens on {path:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------
// The course's programs (../shared/seeds/), changed only in host and port.

/// tcp_server.py: one client, a message per recv, `##` ends. Changed: the
/// host 127.0.0.1 and port 0, and the port printed.
const COURSE_TCP_SERVER: &str = r###"
# tcp_server.py
from socket import * 

# 创建套接字
sockfd = socket(AF_INET,SOCK_STREAM)

# 绑定地址
sockfd.bind(('127.0.0.1',0))

# 设置监听
sockfd.listen(5)
print("port", sockfd.getsockname()[1])

# 等待接受连接
print("Waiting for connect...")
connfd,addr = sockfd.accept()
print("Connect from",addr)

while True:
    # 收发消息
    data = connfd.recv(1024).decode()
    if data == "##":
        break
    print(data)
    n = connfd.send(b'Receive your message')
    print("发送了%d字节" % n)

# 关闭套接字
connfd.close()
sockfd.close()
"###;

/// tcp_client.py: a line of input per message, `##` ends. Changed: the
/// server's address is 127.0.0.1 and the port given on the command line.
const COURSE_TCP_CLIENT: &str = r#"
# tcp_client.py
from socket import *
import sys

# 创建套接字
sockfd = socket(AF_INET,SOCK_STREAM)

# 发起连接
server_addr = ('127.0.0.1',int(sys.argv[1]))
sockfd.connect(server_addr)

while True:
    # 消息发送接收
    data = input("发送>>")
    sockfd.send(data.encode())
    if data == '##':
        break
    data = sockfd.recv(1024)
    print("接受到:",data.decode())

# 关闭套接字
sockfd.close()
"#;

/// The course's UDP server: `recvfrom(5)`, so a longer datagram is cut.
/// Changed: host 127.0.0.1 and port 0, and the port printed.
const COURSE_UDP_SERVER: &str = r#"
from socket import *

#创建数据报套接字
sockfd = socket(AF_INET,SOCK_DGRAM)

#绑定服务端地址
server_addr = ('127.0.0.1',0)
sockfd.bind(server_addr)
print("port", sockfd.getsockname()[1])

#消息收发
while True:
    data,addr = sockfd.recvfrom(5)
    print("Receive from %s:%s"%\
        (addr,data.decode()))
    sockfd.sendto('收到你的消息'.encode(),addr)

sockfd.close()
"#;

/// The course's UDP client, host and port on the command line (unchanged);
/// an empty line ends it.
const COURSE_UDP_CLIENT: &str = r#"
from socket import * 
import sys 

if len(sys.argv) < 3:
    print('''
        argv is error!
        run as 
        python3 udp_client.py 127.0.0.1 9999
        ''')
    raise 

#从命令行输入IP,端口
HOST = sys.argv[1]
PORT = int(sys.argv[2])
ADDR = (HOST,PORT)

#创建套接字
sockfd = socket(AF_INET,SOCK_DGRAM)

#消息收发
while True:
    data = input("消息:")
    if not data:
        break
    sockfd.sendto(data.encode(),ADDR)
    data,addr = sockfd.recvfrom(1024)
    print("从服务器收到:",data.decode())
sockfd.close()
"#;

/// The course's AF_UNIX stream server (unchanged: `./sock` is in the
/// scratch directory, its working directory). It prints each recv and
/// serves one client after another.
const COURSE_UNIX_SERVER: &str = r#"
from socket import *
import os
sock_file = './sock' # 使用哪个文件作为套接字文件
if os.path.exists(sock_file):# 判断文件是否已经存在
    os.unlink(sock_file)
sockfd = socket(AF_UNIX,SOCK_STREAM) # 创建本地套接字
sockfd.bind(sock_file) # 绑定
sockfd.listen(5) # 监听
while True:
    c,addr = sockfd.accept() # 建立连接
    while True:
        data = c.recv(1024)
        if not data:
            break
        print(data.decode())
    c.close()
sockfd.close()
"#;

/// The course's AF_UNIX stream client (unchanged); an empty line ends it.
const COURSE_UNIX_CLIENT: &str = r#"
from socket import *
sock_file = "./sock" # 确保通信两端用相同的套接字文件
sockfd = socket(AF_UNIX,SOCK_STREAM) # 创建套接字
sockfd.connect(sock_file) # 链接
while True:
    msg = input("Msg>>")
    if msg:
        sockfd.send(msg.encode())
    else:
        break
sockfd.close()
"#;

// ---------------------------------------------------------------------
// 1. The course's programs against sockplay.

#[test]
fn course_tcp_client_against_a_sockplay_server() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("interop-tcp-client");
    let mut shell = sockplay(&scratch);
    let port = shell.listen_tcp(5);
    // The server's side, queued: each call waits for the client in turn.
    shell.lines(&[
        "c, addr = accept s",
        "data = recv c 1024",
        "n = send c b\"Receive your message\"",
        "data = recv c 1024",
        "n = send c b\"Receive your message\"",
        "data = recv c 1024",
        "recv c",
        "close c",
        "close s",
    ]);

    // The client waits for each answer before it reads the next line, so
    // the whole input can be given at once.
    let mut client = python(
        &scratch,
        "tcp_client.py",
        COURSE_TCP_CLIENT,
        &[&port.to_string()],
    );
    client.write("hello\n你好 sockplay\n##\n".as_bytes());
    let out = client.end_ok();
    assert_eq!(
        out,
        "发送>>接受到: Receive your message\n\
         发送>>接受到: Receive your message\n\
         发送>>",
        "the client got sockplay's answers"
    );

    let text = shell.end_ok();
    assert_has(
        "sockplay",
        &text,
        &[
            "addr = ('127.0.0.1', ",
            "data = b'hello'  (5 bytes)",
            r"data = b'\xe4\xbd\xa0\xe5\xa5\xbd sockplay'  (15 bytes)",
            "data = b'##'  (2 bytes)",
            "n = 20",
            // The client closed after `##`.
            "-> b''  (0 bytes)",
        ],
    );
    assert_eq!(text.matches("sent 20 bytes").count(), 2, "{text}");
}

/// Runs the course's TCP server in python3, and sockplay as its client
/// with the lines `client` makes for the server's port (the client's
/// socket is named `sock`); checks that the server got the client's bytes
/// ("hello", "你好", then "##") and returns sockplay's output.
fn client_against_the_course_tcp_server(
    tag: &str,
    sock: &str,
    client: impl Fn(u16) -> Vec<String>,
) -> String {
    let scratch = Scratch::new(tag);
    let mut server = python(&scratch, "tcp_server.py", COURSE_TCP_SERVER, &[]);
    let port = port_after(&server.wait_for("Waiting for connect..."), "port ");

    let mut shell = sockplay(&scratch);
    let lines = client(port);
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    shell.lines(&lines);
    let connected = shell.wait_for(&format!(" to 127.0.0.1:{port} (ESTABLISHED)"));
    let client_port = port_after(&connected, &format!("connected {sock} from 127.0.0.1:"));

    let out = server.end_ok();
    assert_eq!(
        out,
        format!(
            "port {port}\n\
             Waiting for connect...\n\
             Connect from ('127.0.0.1', {client_port})\n\
             hello\n\
             发送了20字节\n\
             你好\n\
             发送了20字节\n"
        ),
        "the server got sockplay's bytes"
    );
    let text = shell.end_ok();
    assert_has(
        "sockplay",
        &text,
        &[
            "sent 5 bytes",
            "sent 6 bytes",
            "sent 2 bytes",
            // `##`: the server closed.
            "-> b''  (0 bytes)",
        ],
    );
    text
}

#[test]
fn sockplay_client_against_the_course_tcp_server() {
    if !common::have_peer("python3") {
        return;
    }
    let text = client_against_the_course_tcp_server("interop-tcp-server", "k", |port| {
        [
            "k = socket tcp",
            &format!("connect k 127.0.0.1 {port}"),
            "send k \"hello\"",
            "data = recv k 1024",
            "send k \"你好\"",
            "data = recv k 1024",
            "send k \"##\"",
            "recv k",
            "close k",
        ]
        .map(String::from)
        .to_vec()
    });
    assert_eq!(
        text.matches("data = b'Receive your message'  (20 bytes)")
            .count(),
        2,
        "sockplay got both answers:\n{text}"
    );
}

/// The course's client, typed into sockplay as its own Python lines (the
/// loop unrolled), against the course's server in python3.
#[test]
fn the_course_client_lines_typed_in_python_against_the_course_tcp_server() {
    if !common::have_peer("python3") {
        return;
    }
    let text = client_against_the_course_tcp_server("interop-tcp-server-python", "sk", |port| {
        [
            "import socket",
            "sk = socket.socket()",
            &format!("sk.connect(('127.0.0.1', {port}))"),
            "sk.send('hello'.encode('utf-8'))",
            "msg = sk.recv(1024).decode('utf-8')",
            "sk.send('你好'.encode('utf-8'))",
            "msg = sk.recv(1024).decode('utf-8')",
            "sk.send(b'##')",
            "sk.recv(1024)",
            "sk.close()",
        ]
        .map(String::from)
        .to_vec()
    });
    assert_eq!(
        text.matches("msg = 'Receive your message'").count(),
        2,
        "both answers were bound as str:\n{text}"
    );
    assert_has(
        "sockplay",
        &text,
        &["socket: built in, nothing to import", "closed sk"],
    );
}

#[test]
fn course_udp_client_against_a_sockplay_server_reading_5_bytes() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("interop-udp-client");
    let mut shell = sockplay(&scratch);
    let port = bind_udp(&mut shell);
    // The course server's loop, twice, with its recvfrom(5).
    shell.lines(&[
        "data, addr = recvfrom u 5",
        "sendto u \"收到你的消息\" addr",
        "data, addr = recvfrom u 5",
        "sendto u \"收到你的消息\" addr",
    ]);

    let mut client = python(
        &scratch,
        "udp_client.py",
        COURSE_UDP_CLIENT,
        &["127.0.0.1", &port.to_string()],
    );
    // The client waits for each answer before the next line; the empty
    // line ends it.
    client.write(b"hello world\nhi\n\n");
    let out = client.end_ok();
    assert_eq!(
        out,
        "消息:从服务器收到: 收到你的消息\n\
         消息:从服务器收到: 收到你的消息\n\
         消息:",
        "the client got sockplay's datagrams"
    );

    let text = shell.end_ok();
    let client_port = port_after(&text, "addr = ('127.0.0.1', ");
    assert_has(
        "sockplay",
        &text,
        &[
            // 11 bytes sent, 5 kept: what the course's server sees too.
            "data = b'hello'  (5 bytes)",
            "datagram of 11 bytes truncated to 5: 6 bytes lost",
            "data = b'hi'  (2 bytes)",
            &format!("sent 18 bytes to 127.0.0.1:{client_port}"),
        ],
    );
    assert_eq!(text.matches("truncated").count(), 1, "{text}");
}

#[test]
fn sockplay_client_against_the_course_udp_server_reading_5_bytes() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("interop-udp-server");
    let mut server = python(&scratch, "udp_server.py", COURSE_UDP_SERVER, &[]);
    let port = port_after(&server.wait_for("\n"), "port ");

    let mut shell = sockplay(&scratch);
    let my_port = bind_udp(&mut shell);
    let answer = r"data = b'\xe6\x94\xb6\xe5\x88\xb0\xe4\xbd\xa0\xe7\x9a\x84\xe6\xb6\x88\xe6\x81\xaf'  (18 bytes)";
    let from_server = format!("addr = ('127.0.0.1', {port})");

    let at = shell.mark();
    shell.lines(&[
        &format!("sendto u b\"hi\" 127.0.0.1 {port}"),
        "data, addr = recvfrom u 1024",
    ]);
    // The address comes after the data.
    let text = shell.wait_from(at, &from_server);
    assert_has("sockplay", &text, &["sent 2 bytes", answer]);
    server.wait_for(&format!("Receive from ('127.0.0.1', {my_port}):hi\n"));

    let at = shell.mark();
    shell.lines(&[
        &format!("sendto u b\"hello world\" 127.0.0.1 {port}"),
        "data, addr = recvfrom u 1024",
    ]);
    let text = shell.wait_from(at, &from_server);
    assert_has("sockplay", &text, &["sent 11 bytes", answer]);
    // The course's recvfrom(5) kept 5 of the 11 bytes.
    let out = server.wait_for(&format!("Receive from ('127.0.0.1', {my_port}):hello\n"));
    assert_eq!(
        out,
        format!(
            "port {port}\n\
             Receive from ('127.0.0.1', {my_port}):hi\n\
             Receive from ('127.0.0.1', {my_port}):hello\n"
        )
    );

    shell.line("close u");
    let text = shell.end_ok();
    assert_eq!(text.matches(answer).count(), 2, "{text}");
    assert_eq!(text.matches(&from_server).count(), 2, "{text}");
    // The server loops forever: `server` is killed when dropped.
}

#[test]
fn course_unix_client_against_a_sockplay_server() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("interop-unix-client");
    let mut shell = sockplay(&scratch);
    shell.lines(&["s = socket unix", "bind s ./sock", "listen s 5"]);
    shell.wait_for("s is listening on ./sock");
    shell.lines(&["c, addr = accept s", "data = recv c 1024"]);

    let mut client = python(&scratch, "unix_client.py", COURSE_UNIX_CLIENT, &[]);
    // One line at a time: the client sends without waiting for an answer,
    // so each line goes only once sockplay has received the one before.
    client.write(b"hello\n");
    let text = shell.wait_for("data = b'hello'  (5 bytes)");
    // The client never bound a path: Python's accept gives '' too.
    assert_has("sockplay", &text, &["addr = ''"]);

    let at = shell.mark();
    shell.line("data = recv c 1024");
    client.write("你好 unix\n".as_bytes());
    shell.wait_from(at, r"data = b'\xe4\xbd\xa0\xe5\xa5\xbd unix'  (11 bytes)");

    // The empty line: the client closes.
    let at = shell.mark();
    shell.line("recv c");
    client.write(b"\n");
    shell.wait_from(at, "-> b''  (0 bytes)");
    let out = client.end_ok();
    assert_eq!(out, "Msg>>Msg>>Msg>>");

    shell.lines(&["close c", "close s"]);
    shell.end_ok();
}

#[test]
fn sockplay_client_against_the_course_unix_server() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("interop-unix-server");
    let mut server = python(&scratch, "unix_server.py", COURSE_UNIX_SERVER, &[]);
    wait_unix_listening(&scratch.path().join("sock"), &mut server);

    let mut shell = sockplay(&scratch);
    shell.lines(&[
        "k = socket unix",
        "connect k ./sock",
        "send k \"hello\"",
        "sendall k b\"from sockplay\"",
    ]);
    shell.wait_for("connected k to ./sock");
    // The server prints each recv: the two sends may come as one.
    server.wait_for("from sockplay\n");
    let at = shell.mark();
    shell.line("send k \"你好 unix\"");
    shell.wait_from(at, "sent 11 bytes");
    let out = server.wait_for("你好 unix\n");
    assert!(
        out == "hello\nfrom sockplay\n你好 unix\n" || out == "hellofrom sockplay\n你好 unix\n",
        "the server got sockplay's bytes:\n{out}"
    );
    shell.line("close k");

    let text = shell.end_ok();
    assert_has(
        "sockplay",
        &text,
        &["sent 5 bytes", "sent all 13 bytes", "closed k"],
    );
    // The server goes back to accept: `server` is killed when dropped.
}

// ---------------------------------------------------------------------
// 2. nc and socat.

#[test]
fn nc_client_against_a_sockplay_server() {
    if !common::have_peer("nc") {
        return;
    }
    let scratch = Scratch::new("interop-nc-client");
    let mut shell = sockplay(&scratch);
    let port = shell.listen_tcp(5);
    shell.lines(&["c, addr = accept s", "data = recv c 1024"]);

    // -N: at the end of its stdin nc shuts down its sending side.
    let mut nc = Proc::spawn(
        "nc",
        Command::new("nc").args(["-N", "127.0.0.1", &port.to_string()]),
        LIMIT,
    );
    nc.write(b"hello from nc\n");
    shell.wait_for(r"data = b'hello from nc\n'  (14 bytes)");
    shell.line("sendall c b\"hi from sockplay\\r\\n\"");
    nc.wait_for("hi from sockplay\r\n");

    let at = shell.mark();
    shell.line("recv c");
    nc.close_stdin();
    shell.wait_from(at, "-> b''  (0 bytes)");
    shell.line("close c");
    let out = nc.end_ok();
    assert_eq!(out, "hi from sockplay\r\n");

    let text = shell.end_ok();
    assert_has("sockplay", &text, &["sent all 18 bytes"]);
}

#[test]
fn sockplay_client_against_an_nc_server() {
    if !common::have_peer("nc") {
        return;
    }
    let scratch = Scratch::new("interop-nc-server");
    // nc -v says where it listens once it does (-n: numerically):
    // "Listening on 127.0.0.1 PORT".
    let mut nc = Proc::spawn(
        "nc",
        Command::new("nc").args(["-n", "-v", "-l", "127.0.0.1", "0"]),
        LIMIT,
    );
    let port = port_after(&nc.wait_err("\n"), "Listening on 127.0.0.1 ");

    let mut shell = sockplay(&scratch);
    shell.lines(&[
        "k = socket tcp",
        &format!("connect k 127.0.0.1:{port}"),
        "sendall k b\"hello nc\\x00\\xff\\n\"",
        "data = recv k 1024",
    ]);
    nc.wait_for("\n");
    nc.write("hi from nc 你好\n".as_bytes());
    shell.wait_for(r"data = b'hi from nc \xe4\xbd\xa0\xe5\xa5\xbd\n'  (18 bytes)");

    let at = shell.mark();
    shell.line("close k");
    shell.wait_from(at, "closed k");
    let status = common::wait_bounded(&mut nc.child, LIMIT);
    let out = nc.out.finish();
    assert_eq!(out, b"hello nc\x00\xff\n", "nc got sockplay's bytes");
    assert_eq!(status, Some(0), "nc ended when sockplay closed");

    let text = shell.end_ok();
    assert_has("sockplay", &text, &["sent all 11 bytes"]);
}

#[test]
fn socat_client_against_a_sockplay_server() {
    if !common::have_peer("socat") {
        return;
    }
    let scratch = Scratch::new("interop-socat-client");
    let mut shell = sockplay(&scratch);
    let port = shell.listen_tcp(5);
    shell.lines(&["c, addr = accept s", "data = recv c 1024"]);

    let mut socat = Proc::spawn(
        "socat",
        Command::new("socat").args(["-", &format!("TCP:127.0.0.1:{port}")]),
        LIMIT,
    );
    socat.write(b"hello from socat\n");
    let text = shell.wait_for(r"data = b'hello from socat\n'  (17 bytes)");
    // The client's address as socat's side sees it is the peer here.
    let client_port = port_after(&text, "addr = ('127.0.0.1', ");
    assert_has(
        "sockplay",
        &text,
        &[&format!(
            "accepted a connection from 127.0.0.1:{client_port}"
        )],
    );
    shell.line("sendall c b\"hi from sockplay\\n\"");
    // socat gives up the other way 0.5 s after its stdin ends: close it
    // only once the answer is there.
    socat.wait_for("hi from sockplay\n");

    let at = shell.mark();
    shell.line("recv c");
    socat.close_stdin();
    shell.wait_from(at, "-> b''  (0 bytes)");
    shell.line("close c");
    let out = socat.end_ok();
    assert_eq!(out, "hi from sockplay\n");

    shell.end_ok();
}

#[test]
fn sockplay_client_against_a_socat_server() {
    if !common::have_peer("socat") {
        return;
    }
    let scratch = Scratch::new("interop-socat-server");
    // -d -d: socat says where it listens, "listening on AF=2 127.0.0.1:PORT".
    let mut socat = Proc::spawn(
        "socat",
        Command::new("socat").args(["-d", "-d", "TCP-LISTEN:0,bind=127.0.0.1", "-"]),
        LIMIT,
    );
    let port = port_after(&socat.wait_err("listening on"), "AF=2 127.0.0.1:");

    let mut shell = sockplay(&scratch);
    shell.lines(&[
        "k = socket tcp",
        &format!("connect k 127.0.0.1 {port}"),
        "send k b\"hello socat\\r\\n\"",
        "data = recv k 1024",
    ]);
    socat.wait_for("hello socat\r\n");
    socat.write(b"hi from socat\n");
    shell.wait_for(r"data = b'hi from socat\n'  (14 bytes)");

    // sockplay closes: socat sees the end and stops.
    let at = shell.mark();
    shell.line("close k");
    shell.wait_from(at, "closed k");
    let out = socat.end_ok();
    assert_eq!(out, "hello socat\r\n", "socat got sockplay's bytes");

    let text = shell.end_ok();
    assert_has("sockplay", &text, &["sent 13 bytes"]);
}

#[test]
fn socat_udp_client_against_a_sockplay_udp_server() {
    if !common::have_peer("socat") {
        return;
    }
    let scratch = Scratch::new("interop-socat-udp");
    let mut shell = sockplay(&scratch);
    let port = bind_udp(&mut shell);
    shell.lines(&[
        "data, addr = recvfrom u 1024",
        "sendto u b\"pong\\n\" addr",
        "data, addr = recvfrom u 1024",
        "sendto u b\"pong again\\n\" addr",
    ]);

    // socat sends each read of its stdin as one datagram.
    let mut socat = Proc::spawn(
        "socat",
        Command::new("socat").args(["-", &format!("UDP:127.0.0.1:{port}")]),
        LIMIT,
    );
    socat.write(b"ping from socat\n");
    shell.wait_for(r"data = b'ping from socat\n'  (16 bytes)");
    socat.wait_for("pong\n");
    socat.write(b"second\n");
    shell.wait_for(r"data = b'second\n'  (7 bytes)");
    socat.wait_for("pong again\n");
    let out = socat.end_ok();
    assert_eq!(out, "pong\npong again\n", "socat got sockplay's datagrams");

    let text = shell.end_ok();
    let client_port = port_after(&text, "addr = ('127.0.0.1', ");
    assert_has(
        "sockplay",
        &text,
        &[
            &format!("sent 5 bytes to 127.0.0.1:{client_port}"),
            &format!("sent 11 bytes to 127.0.0.1:{client_port}"),
        ],
    );
    assert!(!text.contains("truncated"), "{text}");
}

// ---------------------------------------------------------------------
// 3. curl against an HTTP server typed by hand.

#[test]
fn curl_against_an_http_server_typed_in_sockplay() {
    if !common::have_peer("curl") {
        return;
    }
    let scratch = Scratch::new("interop-curl");
    let mut shell = sockplay(&scratch);
    let port = shell.listen_tcp(5);
    // The course's HTTP server: read the request, send the status line,
    // the headers, a blank line and the body, close.
    shell.lines(&[
        "c, addr = accept s",
        "request = recv c 4096",
        "sendall c b\"HTTP/1.1 200 OK\\r\\nContent-Type: text/html\\r\\n\\r\\n<h1>hi</h1>\"",
        "close c",
        "close s",
    ]);

    let mut curl = Proc::spawn(
        "curl",
        Command::new("curl").args([
            "-sS",
            "-i",
            "--max-time",
            "10",
            &format!("http://127.0.0.1:{port}/index.html"),
        ]),
        LIMIT,
    );
    let out = curl.end_ok();
    assert_eq!(
        out, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<h1>hi</h1>",
        "curl's status line, headers and body"
    );

    let text = shell.end_ok();
    let request = format!(r"request = b'GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    assert_has(
        "sockplay",
        &text,
        &[&request, r"Accept: */*\r\n\r\n'", "sent all 55 bytes"],
    );
}

// ---------------------------------------------------------------------
// 4. telnet.

#[test]
fn telnet_lines_end_in_crlf() {
    if !common::have_peer("telnet") {
        return;
    }
    let scratch = Scratch::new("interop-telnet");
    let mut shell = sockplay(&scratch);
    let port = shell.listen_tcp(5);
    shell.lines(&[
        "c, addr = accept s",
        "sendall c b\"Receive your message\\r\\n\"",
        "data = recv c 1024",
    ]);

    let mut telnet = Proc::spawn(
        "telnet",
        Command::new("telnet").args(["127.0.0.1", &port.to_string()]),
        LIMIT,
    );
    // Connected once sockplay's greeting is on telnet's stdout.
    telnet.wait_for("Receive your message");
    telnet.write(b"hello\n");
    shell.wait_for(r"data = b'hello\r\n'  (7 bytes)");

    // The end of telnet's stdin ends telnet, which closes.
    let at = shell.mark();
    shell.line("recv c");
    telnet.close_stdin();
    shell.wait_from(at, "-> b''  (0 bytes)");
    shell.line("close c");
    let out = telnet.end_ok();
    assert_has(
        "telnet",
        &out,
        // telnet prints a received \r\n as \n.
        &["Connected to ", "\nReceive your message\n"],
    );

    let text = shell.end_ok();
    assert_has("sockplay", &text, &["sent all 22 bytes"]);
}

// ---------------------------------------------------------------------
// 5. A hostile peer.

/// A client that sends escape sequences (clear screen, set the window
/// title, BEL), invalid UTF-8 and a NUL, then checks sockplay's echo.
const HOSTILE_CLIENT: &str = r#"
import socket, sys
k = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
evil = b"\x1b[2J\x1b]0;pwned\x07 bad \xff\xfe \xc3\x28 nul\x00 end\r\n"
k.sendall(evil)
back = b""
while len(back) < len(evil):
    chunk = k.recv(1024)
    if not chunk:
        break
    back += chunk
print("echo ok" if back == evil else "echo differs: %r" % back)
k.close()
"#;

#[test]
fn hostile_client_bytes_are_shown_escaped() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("interop-hostile");
    let mut shell = sockplay(&scratch);
    let port = shell.listen_tcp(5);
    shell.lines(&[
        "c, addr = accept s",
        // The same bytes in every view, then sent back as they came.
        "data = recv c 1024 peek",
        "recv c 1024 peek text",
        "recv c 1024 hex",
        "data",
        "vars",
        "echo data",
        "sendall c data",
        "recv c",
        "close c",
    ]);
    let mut client = python(&scratch, "hostile.py", HOSTILE_CLIENT, &[&port.to_string()]);
    let out = client.end_ok();
    assert_eq!(out, "echo ok\n", "sockplay sent the bytes back unchanged");

    let text = shell.end_ok();
    let repr = r"b'\x1b[2J\x1b]0;pwned\x07 bad \xff\xfe \xc3( nul\x00 end\r\n'";
    assert_has(
        "sockplay",
        &text,
        &[
            &format!("data = {repr}  (35 bytes)"),
            &format!("-> {repr}  (35 bytes)"),
            &format!("\n  {repr}\n"),
            // text: escaped too
            r"| \x1b[2J\x1b]0;pwned\x07 bad \xff\xfe \xc3( nul\x00 end\r",
            // hex
            "1b 5b 32 4a 1b 5d 30 3b  70 77 6e 65 64 07 20 62  |.[2J.]0;pwned. b|",
            "61 64 20 ff fe 20 c3 28  20 6e 75 6c 00 20 65 6e  |ad .. .( nul. en|",
            "sent all 35 bytes",
        ],
    );
    // vars shows the value as well.
    assert!(text.matches(repr).count() >= 4, "{text}");
    // Nothing the peer sent reaches the terminal raw: no ESC, BEL or NUL,
    // and no byte that is never in UTF-8.
    assert_no_raw(&shell.out.seen, &[0x1b, 0x07, 0x00, 0xff, 0xfe]);
}

/// AF_UNIX clients whose own addresses are hostile: a path with an escape
/// sequence, invalid UTF-8 and BEL, and an abstract name with ESC and NUL.
/// They stay connected until their stdin ends.
const HOSTILE_UNIX_CLIENTS: &str = r#"
import socket, sys
k = socket.socket(socket.AF_UNIX)
k.bind(b"./c\x1b[31m\xff\x07")
k.connect("./sock")
k2 = socket.socket(socket.AF_UNIX)
k2.bind(b"\x00ab\x1b[2J\x00z")
k2.connect("./sock")
print("connected")
sys.stdin.read()
"#;

#[test]
fn hostile_unix_client_addresses_are_shown_escaped() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("interop-hostile-unix");
    let mut shell = sockplay(&scratch);
    shell.lines(&["s = socket unix", "bind s ./sock", "listen s 5"]);
    shell.wait_for("s is listening on ./sock");
    let mut clients = python(&scratch, "clients.py", HOSTILE_UNIX_CLIENTS, &[]);
    clients.wait_for("connected\n");
    shell.lines(&[
        "c, addr = accept s",
        "c2, a2 = accept s",
        "getpeername c2",
        "sockets",
        "vars",
        "info c",
    ]);
    let at = shell.mark();
    shell.line("echo \"end\"");
    shell.wait_from(at, "\n  end\n");
    clients.end_ok();

    let text = shell.end_ok();
    assert_has(
        "sockplay",
        &text,
        &[
            // As Python gives them: an abstract name is bytes.
            r"a2 = b'\x00ab\x1b[2J\x00z'",
            r"-> b'\x00ab\x1b[2J\x00z'",
            r"accepted a connection from @ab\x1b[2J\x00z as a new socket",
            r"addr = './c\x1b[31m",
            r"accepted a connection from ./c\x1b[31m",
            r"raddr=./c\x1b[31m",
        ],
    );
    // (How the invalid UTF-8 byte of the path is shown is left out: see
    // the report; Python writes it '\udcff'.)
    assert_no_raw(&shell.out.seen, &[0x1b, 0x07, 0x00, 0xff]);
}

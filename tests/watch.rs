//! `sockplay watch` and `run`: the course's own programs (every example of
//! ../shared/seeds/, kept in tests/fixtures/seeds/ as the notes give them)
//! run watched against a peer (the course's other end in python3, the
//! shell, nc, curl), and what a learner would check: the program's output,
//! the calls sockplay traced (file:line, the line, the shell's words), and
//! the exit status.
//!
//! A program is adapted only in its address (127.0.0.1) and its port (a
//! free one the kernel chose, written into the text here); [`adapt`] fails
//! the test if the text it replaces is not in the program, so a fixture
//! cannot drift from the notes unnoticed. Every wait has a deadline, every
//! child is killed when its test ends (Proc's Drop).

mod common;

use common::Scratch;
use common::proc::{Proc, assert_has, python_command};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// How long any one step may take (a loaded machine runs python3 slowly).
const LIMIT: Duration = Duration::from_secs(20);

/// A program of the course, as the notes give it.
fn seed(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seeds")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `text` with each `from` replaced by `to`; each must be there.
fn adapt(text: &str, pairs: &[(&str, &str)]) -> String {
    let mut t = text.to_string();
    for (from, to) in pairs {
        assert!(t.contains(from), "{from:?} is not in the program:\n{t}");
        t = t.replace(from, to);
    }
    t
}

/// A port no socket holds now (the kernel's choice; the program binds it
/// a moment later, as the course's programs bind a fixed port).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let u = std::net::UdpSocket::bind("127.0.0.1:0");
    let port = l.local_addr().expect("addr").port();
    drop(u);
    port
}

fn free_udp_port() -> u16 {
    let u = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    u.local_addr().expect("addr").port()
}

/// `sockplay watch [flags] python3 NAME ARGS` in the scratch directory
/// (the program written there first); stdout and stderr merged.
fn watch(scratch: &Scratch, name: &str, program: &str, flags: &[&str], args: &[&str]) -> Proc {
    std::fs::write(scratch.path().join(name), program).expect("write program");
    let mut v: Vec<&str> = vec!["watch"];
    v.extend(flags);
    v.push("python3");
    v.push(name);
    v.extend(args);
    let mut cmd = common::command(scratch.path(), &v);
    Proc::spawn_merged(&format!("sockplay watch {name}"), &mut cmd, LIMIT)
}

/// A peer: python3 running `program` unwatched.
fn python(scratch: &Scratch, name: &str, program: &str, args: &[&str]) -> Proc {
    let mut cmd = python_command(scratch.path(), name, program, args);
    Proc::spawn_merged(name, &mut cmd, LIMIT)
}

/// sockplay running a script from its stdin (the shell as a peer, or
/// `run ... &` in a script).
fn shell(scratch: &Scratch) -> Proc {
    common::proc::sockplay(scratch.path(), &[], LIMIT)
}

/// SIGINT to a process (as Ctrl-C would).
fn interrupt(p: &Proc) {
    // SAFETY: kill(2) on a child of this test, not yet reaped.
    unsafe {
        libc::kill(p.child.id() as i32, libc::SIGINT);
    }
}

// ---------------------------------------------------------------------
// Note 000: the TCP server and client, the UDP server and client, the
// options program.

#[test]
fn the_course_tcp_server_watched_against_its_client() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("watch-000-tcp");
    let port = free_port();
    let p = port.to_string();
    let server_text = adapt(
        &seed("000_tcp_server.py"),
        &[("('0.0.0.0',9900)", &format!("('127.0.0.1',{p})"))],
    );
    let mut server = watch(&scratch, "tcp_server.py", &server_text, &[], &[]);
    server.wait_for("waits for a client");
    let client_text = adapt(
        &seed("000_tcp_client.py"),
        &[("('192.168.207.129',9900)", &format!("('127.0.0.1',{p})"))],
    );
    let mut client = python(&scratch, "tcp_client.py", &client_text, &[]);
    client.write("hello\n你好\n##\n".as_bytes());
    let c = client.end_ok();
    assert_eq!(
        c, "发送>>接受到: Receive your message\n发送>>接受到: Receive your message\n发送>>",
        "the client talked to the watched server"
    );
    let out = server.end_ok();
    assert_has(
        "watch",
        &out,
        &[
            // Each call: file:line, the program's line, the shell's words.
            "tcp_server.py:5  sockfd = socket(AF_INET,SOCK_STREAM)",
            "sockfd = <socket fd=3 AF_INET SOCK_STREAM>",
            &format!("bound sockfd to 127.0.0.1:{p}"),
            &format!("sockfd is listening on 127.0.0.1:{p}, backlog 5 (LISTEN)"),
            "Waiting for connect...",
            "tcp_server.py:15  connfd,addr = sockfd.accept()",
            &format!("accept(fd 3) waits for a client on 127.0.0.1:{p} - accept queue 0/5"),
            "accepted a connection from 127.0.0.1:",
            "connfd = <socket fd=4 AF_INET SOCK_STREAM",
            "tcp_server.py:20  data = connfd.recv(1024).decode()",
            "-> b'hello'  (5 bytes)",
            r"-> b'\xe4\xbd\xa0\xe5\xa5\xbd'  (6 bytes)",
            "-> b'##'  (2 bytes)",
            "tcp_server.py:24  n = connfd.send(b'Receive your message')",
            "sent 20 bytes: b'Receive your message'",
            // The program's own prints, in order with its calls.
            "hello\n",
            "发送了20字节",
            "closed connfd (fd 4 is free again)",
            "closed sockfd (fd 3 is free again)",
            "tcp_server.py exited with status 0",
        ],
    );
    // In order: the accept waits before it returns, the print after.
    let w = out.find("waits for a client").unwrap_or(usize::MAX);
    let a = out.find("accepted a connection").unwrap_or(0);
    let printed = out.find("Connect from ('127.0.0.1'").unwrap_or(0);
    assert!(w < a && a < printed, "out of order:\n{out}");
}

#[test]
fn the_course_tcp_client_watched_against_the_shell() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("watch-000-client");
    let mut sp = shell(&scratch);
    let port = sp.listen_tcp(5);
    sp.lines(&[
        "c, addr = accept s",
        "recv c",
        "send c b\"Receive your message\"",
        "recv c",
    ]);
    let text = adapt(
        &seed("000_tcp_client.py"),
        &[("('192.168.207.129',9900)", &format!("('127.0.0.1',{port})"))],
    );
    let mut client = watch(&scratch, "tcp_client.py", &text, &[], &[]);
    client.write(b"hi\n##\n");
    let (status, out, _) = client.end();
    assert_eq!(status, Some(0), "{out}");
    assert_has(
        "watch",
        &out,
        &[
            "tcp_client.py:9  sockfd.connect(server_addr)",
            "connected sockfd from 127.0.0.1:",
            &format!("to 127.0.0.1:{port} (ESTABLISHED)"),
            "tcp_client.py:14  sockfd.send(data.encode())",
            "sent 2 bytes: b'hi'",
            "tcp_client.py:17  data = sockfd.recv(1024)",
            "-> b'Receive your message'  (20 bytes)",
            "接受到: Receive your message",
            "sent 2 bytes: b'##'",
            "closed sockfd (fd 3 is free again)",
        ],
    );
    let shell_out = sp.end_ok();
    assert_has("the shell", &shell_out, &["-> b'hi'", "-> b'##'"]);
}

#[test]
fn the_course_udp_server_and_client_run_in_a_script_cut_a_datagram() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("watch-000-udp");
    let port = free_udp_port();
    let p = port.to_string();
    let server = adapt(
        &seed("000_udp_server.py"),
        &[("('0.0.0.0',9999)", &format!("('127.0.0.1',{p})"))],
    );
    std::fs::write(scratch.path().join("udp_server.py"), server).expect("write");
    std::fs::write(
        scratch.path().join("udp_client.py"),
        seed("000_udp_client.py"),
    )
    .expect("write");
    let script = format!(
        "run python3 udp_server.py &\n\
         run python3 udp_client.py 127.0.0.1 {p} &\n\
         input %2 \"hi\"\n\
         input %2 \"hello world\"\n\
         input %2 \"\"\n\
         wait %2\n\
         kill %1\n"
    );
    std::fs::write(scratch.path().join("udp.sp"), script).expect("write");
    let run = common::run_in(scratch.path(), &["--allow-run", "udp.sp"], None);
    let out = &run.output;
    assert_eq!(run.status, Some(0), "{out}");
    assert_has(
        "the script",
        out,
        &[
            "[1] udp_server.py:12  data,addr = sockfd.recvfrom(5)",
            &format!("recvfrom(fd 3) waits for a datagram on 127.0.0.1:{p}"),
            "[2] udp_client.py:22  data = input(\"消息:\")",
            "input() waits for a line on its standard input",
            "typed b'hi\\n' for [2] udp_client.py",
            "[2] udp_client.py:25  sockfd.sendto(data.encode(),ADDR)",
            &format!("sent 2 bytes to 127.0.0.1:{p}: b'hi'"),
            "-> (b'hi', ('127.0.0.1', ",
            "[1] | Receive from ('127.0.0.1', ",
            // recvfrom(5) of an 11-byte datagram: the rest is gone.
            "-> (b'hello', ('127.0.0.1', ",
            "datagram of 11 bytes truncated to 5: 6 bytes lost",
            "why: a datagram cut short",
            "[2] | 从服务器收到: 收到你的消息",
            "udp_client.py exited with status 0",
            "[1] cancelled (killed): run python3 udp_server.py",
        ],
    );
    // The server's lines come in order after the line that caused them.
    let typed = out.find("typed b'hello world").unwrap_or(usize::MAX);
    let cut = out.find("truncated to 5").unwrap_or(0);
    assert!(typed < cut, "{out}");
}

#[test]
fn the_course_options_program_watched() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("watch-000-options");
    let port = free_port();
    let text = adapt(
        &seed("000_options.py"),
        &[("('127.0.0.1',9998)", &format!("('127.0.0.1',{port})"))],
    );
    let mut w = watch(&scratch, "options.py", &text, &[], &[]);
    w.wait_for("waits for a client");
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    std::io::Write::write_all(&mut c, b"i").expect("send");
    w.wait_for("-> b'i'");
    drop(c);
    // It accepts forever: Ctrl-C ends it, as it ends it in a terminal.
    w.wait_for("waits for a client on");
    interrupt(&w);
    let (status, out, _) = w.end();
    assert_eq!(status, Some(130), "{out}");
    assert_has(
        "watch",
        &out,
        &[
            "options.py:6  s.setsockopt(SOL_SOCKET,SO_REUSEADDR,1)",
            "s: SO_REUSEADDR = 1",
            "options.py:9  print(s.getsockopt(SOL_SOCKET,SO_REUSEADDR))",
            // What it printed: the option, then (Python 3.11) the family
            // and the type as numbers.
            "  -> 1\n1\n2\n1\n",
            &format!("-> ('127.0.0.1', {port})"),
            "options.py:22  print(s.fileno())",
            "  -> 3\n3\n",
            "options.py:27  c,addr = s.accept()",
            "options.py:28  print(\"Connect from\",c.getpeername())",
            "KeyboardInterrupt",
            "ended by signal 2, SIGINT (Ctrl-C) (status 130)",
        ],
    );
}

// ---------------------------------------------------------------------
// Note 002: the threaded server and its client; the UDP server and client.

#[test]
fn the_threaded_server_names_its_threads() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("watch-002-threads");
    let port = free_port();
    let p = port.to_string();
    let server = adapt(
        &seed("002_server.py"),
        &[("('127.0.0.1', 9999)", &format!("('127.0.0.1', {p})"))],
    );
    let mut w = watch(&scratch, "server.py", &server, &[], &[]);
    w.wait_for("waits for a client");
    let client_text = adapt(
        &seed("002_client.py"),
        &[("('127.0.0.1', 9999)", &format!("('127.0.0.1', {p})"))],
    );
    let mut client = python(&scratch, "client.py", &client_text, &[]);
    let c = client.end_ok();
    assert_eq!(c, "Welcome!\nHello, Lambda!\nHello, Bond!\nHello, alpha!\n");
    w.wait_for("Connection from 127.0.0.1:");
    interrupt(&w);
    let (status, out, _) = w.end();
    assert_eq!(status, Some(130), "{out}");
    assert_has(
        "watch",
        &out,
        &[
            "server.py:26  sock, addr = s.accept()",
            // The handler's calls name their thread; so does the main
            // thread's, once there are two.
            "server.py:14 (Thread-1 (tcplink))  sock.send(b'Welcome!')",
            "sent 8 bytes: b'Welcome!'",
            "server.py:16 (Thread-1 (tcplink))  data = sock.recv(1024)",
            "-> b'Lambda'  (6 bytes)",
            "sent 14 bytes: b'Hello, Lambda!'",
            "-> b'exit'  (4 bytes)",
            "server.py:21 (Thread-1 (tcplink))  sock.close()",
            "server.py:26 (MainThread)  sock, addr = s.accept()",
        ],
    );
}

#[test]
fn the_udp_server_and_client_of_note_002() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("watch-002-udp");
    let port = free_udp_port();
    let p = port.to_string();
    let server = adapt(
        &seed("002_udpserver.py"),
        &[("('127.0.0.1', 9999)", &format!("('127.0.0.1', {p})"))],
    );
    let client = adapt(
        &seed("002_udpclient.py"),
        &[("('127.0.0.1', 9999)", &format!("('127.0.0.1', {p})"))],
    );
    std::fs::write(scratch.path().join("udpserver.py"), server).expect("write");
    std::fs::write(scratch.path().join("udpclient.py"), client).expect("write");
    std::fs::write(
        scratch.path().join("u.sp"),
        "run python3 udpserver.py &\nrun python3 udpclient.py\nkill %1\n",
    )
    .expect("write");
    let run = common::run_in(scratch.path(), &["--allow-run", "u.sp"], None);
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert_has(
        "the script",
        &run.output,
        &[
            "[1] | Bind UDP on 9",
            "udpclient.py:7  sock.sendto(data, ('127.0.0.1', ",
            "sent 7 bytes to 127.0.0.1:",
            "udpclient.py:8  print (sock.recv(1024).decode('utf-8'))",
            "-> b'Hello, Michael!'",
            "Hello, Michael!",
            "Hello, Sarah!",
            "udpclient.py exited with status 0",
            "[1] udpserver.py:9  data, addr = sock.recvfrom(1024)",
            "[1] | Received from 127.0.0.1:",
        ],
    );
}

// ---------------------------------------------------------------------
// Note 003: AF_UNIX, the TCP server for clients in turn, the HTTP server,
// the options program, the name functions.

#[test]
fn the_unix_server_and_client_in_a_scratch_directory() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("watch-003-unix");
    std::fs::write(
        scratch.path().join("unix_server.py"),
        seed("003_unix_server.py"),
    )
    .expect("w");
    std::fs::write(
        scratch.path().join("unix_client.py"),
        seed("003_unix_client.py"),
    )
    .expect("w");
    std::fs::write(
        scratch.path().join("x.sp"),
        "run python3 unix_server.py &\nrun python3 unix_client.py &\ninput %2 \"hello\"\ninput %2 \"\"\nwait %2\nsockets\nkill %1\n",
    )
    .expect("w");
    let run = common::run_in(scratch.path(), &["--allow-run", "x.sp"], None);
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert_has(
        "the script",
        &run.output,
        &[
            "[1] unix_server.py:6  sockfd = socket(AF_UNIX,SOCK_STREAM) # 创建本地套接字",
            "bound sockfd to ./sock",
            "bind created the socket file ./sock",
            "[2] unix_client.py:4  sockfd.connect(sock_file) # 链接",
            "connected sockfd to ./sock",
            "sent 5 bytes: b'hello'",
            "[1] | hello",
            "accepted a connection from an unnamed client socket",
            "b'' is end of stream",
            "unix_client.py exited with status 0",
            "UNIX",
            "[1] unix_server.py",
        ],
    );
}

#[test]
fn the_tcp_server_serves_two_clients_in_turn() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("watch-003-tcp");
    let port = free_port();
    let p = port.to_string();
    let server = adapt(
        &seed("003_tcp_server.py"),
        &[("('127.0.0.1',9999)", &format!("('127.0.0.1',{p})"))],
    );
    let client_text = adapt(
        &seed("003_tcp_client.py"),
        &[("('127.0.0.1',9999)", &format!("('127.0.0.1',{p})"))],
    );
    let mut w = watch(&scratch, "tcp_server.py", &server, &[], &[]);
    w.wait_for("waits for a client");
    for (k, msg) in ["first", "second"].iter().enumerate() {
        let mut c = python(&scratch, &format!("tcp_client{k}.py"), &client_text, &[]);
        c.write(format!("{msg}\n\n").as_bytes());
        assert_eq!(c.end_ok(), "Msg>>Receive your message\nMsg>>");
    }
    w.wait_for("Receive: second");
    interrupt(&w);
    let (status, out, _) = w.end();
    assert_eq!(status, Some(130), "{out}");
    assert_has(
        "watch",
        &out,
        &[
            "tcp_server.py:10  data = connfd.recv(1024)",
            "-> b'first'  (5 bytes)",
            "Receive: first",
            "send 20 bytes",
            "-> b''  (0 bytes)",
            "tcp_server.py:16  connfd.close() # 关闭套接字",
            "-> b'second'  (6 bytes)",
        ],
    );
    assert_eq!(out.matches("accepted a connection").count(), 2, "{out}");
}

#[test]
fn the_http_server_answers_curl() {
    if !common::have_peer("python3") || !common::have_peer("curl") {
        return;
    }
    let scratch = Scratch::new("watch-003-http");
    std::fs::write(scratch.path().join("index.html"), "<h1>course page</h1>\n").expect("w");
    let port = free_port();
    let server = adapt(
        &seed("003_http_server.py"),
        &[("('0.0.0.0',8000)", &format!("('127.0.0.1',{port})"))],
    );
    let mut w = watch(&scratch, "http_server.py", &server, &[], &[]);
    w.wait_for("waits for a client");
    // The course's server never closes the connection: curl waits for
    // more until its time is up, with the page in hand.
    let page = Command::new("curl")
        .args(["-s", "--max-time", "2", "--http0.9"])
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .expect("curl");
    assert_eq!(
        String::from_utf8_lossy(&page.stdout),
        "<h1>course page</h1>\n"
    );
    w.wait_for("waits for a client on");
    interrupt(&w);
    let (_, out, _) = w.end();
    assert_has(
        "watch",
        &out,
        &[
            "http_server.py:23  sockfd.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)",
            "http_server.py:4  request = connfd.recv(4096) # 接收请求",
            "-> b'GET / HTTP/1.1\\r\\nHost: 127.0.0.1:",
            "http_server.py:21  connfd.send(response.encode()) # 发送给浏览器",
            "sent 64 bytes: b'HTTP/1.1 200 OK\\r\\nContent-Type:text/html\\r\\n\\r\\n<h1>c'...",
        ],
    );
}

#[test]
fn the_options_program_of_note_003() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("watch-003-options");
    let port = free_port();
    let text = adapt(
        &seed("003_options.py"),
        &[(
            "(\"192.168.191.3\",8888)",
            &format!("(\"127.0.0.1\",{port})"),
        )],
    );
    let mut w = watch(&scratch, "options.py", &text, &[], &[]);
    w.wait_for("waits for a client");
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    std::io::Write::write_all(&mut c, b"i").expect("send");
    let (status, out, _) = w.end();
    drop(c);
    assert_eq!(status, Some(0), "{out}");
    assert_has(
        "watch",
        &out,
        &[
            "options.py:5  print(s.fileno()) # 376",
            "  -> 3\n",
            "s: SO_REUSEADDR = 1",
            "options.py:10  s.listen()",
            "backlog 128",
            "options.py:11  c,addr = s.accept() # addr也是链接客户端的地址",
            "c = <socket fd=4 AF_INET SOCK_STREAM",
            "-> b'i'  (1 byte)",
            "b'i'\n",
            "closed c (fd 4 is free again)",
            "options.py exited with status 0",
        ],
    );
}

#[test]
fn the_name_functions_show_what_python_returns() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("watch-003-names");
    let text = adapt(
        &seed("003_names.py"),
        &[("\"www.baidu.com\"", "\"127.0.0.1\"")],
    );
    let mut w = watch(&scratch, "names.py", &text, &[], &[]);
    let (status, out, _) = w.end();
    assert_eq!(status, Some(0), "{out}");
    assert_has(
        "watch",
        &out,
        &[
            "names.py:3  print(socket.gethostbyname('localhost'))",
            "-> '127.0.0.1'",
            "names.py:4  print(socket.gethostbyaddr(\"127.0.0.1\"))",
            "names.py:5  print(socket.inet_aton(\"192.168.1.2\"))",
            r"-> b'\xc0\xa8\x01\x02'",
            "-> '192.168.1.2'",
            "names.py:7  print(socket.getservbyname('mysql'))",
            "-> 3306",
            "-> 80",
            "-> 22",
        ],
    );
}

// ---------------------------------------------------------------------
// Note 004: server and client, the chat in its three forms, UDP chat, the
// JSON chat with colours.

#[test]
fn the_first_server_and_client_of_note_004() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("watch-004-first");
    let port = free_port();
    let p = port.to_string();
    let pairs = [("('127.0.0.1',9000)", format!("('127.0.0.1',{p})"))];
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let mut w = watch(
        &scratch,
        "server.py",
        &adapt(&seed("004_server.py"), &pairs),
        &[],
        &[],
    );
    w.wait_for("waits for a client");
    let mut c = watch(
        &scratch,
        "client.py",
        &adapt(&seed("004_client.py"), &pairs),
        &[],
        &[],
    );
    let (cs, cout, _) = c.end();
    let (ss, sout, _) = w.end();
    assert_eq!((cs, ss), (Some(0), Some(0)), "{cout}\n{sout}");
    assert_has(
        "server",
        &sout,
        &[
            "server.py:8  conn.send(b'hello')",
            "sent 5 bytes: b'hello'",
            "-> b'byebye'",
            "b'byebye'\n",
        ],
    );
    assert_has(
        "client",
        &cout,
        &[
            "client.py:6  msg = sk.recv(1024)",
            "-> b'hello'",
            "client.py:8  sk.send(b'byebye')",
        ],
    );
}

/// The chat of note 004 (4.1): both ends loop on input() forever; the
/// client ends when its input does (EOFError), and so does the server.
#[test]
fn the_chat_of_note_004_ends_when_its_input_does() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("watch-004-chat");
    let port = free_port();
    let p = format!("('127.0.0.1',{port})");
    let server = adapt(&seed("004_chat_server.py"), &[("('127.0.0.1',9000)", &p)]);
    let client = adapt(&seed("004_chat_client.py"), &[("('127.0.0.1',9000)", &p)]);
    std::fs::write(scratch.path().join("server.py"), server).expect("w");
    std::fs::write(scratch.path().join("client.py"), client).expect("w");
    std::fs::write(
        scratch.path().join("chat.sp"),
        "run python3 server.py &\nrun python3 client.py &\ninput %2 \"hi server\"\ninput %1 \"hi client\"\ninput %2 eof\nwait %2\nkill %1\n",
    )
    .expect("w");
    let run = common::run_in(scratch.path(), &["--allow-run", "chat.sp"], None);
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert_has(
        "the script",
        &run.output,
        &[
            "[1] | ********************",
            "[2] client.py:8  sk.send(inp.encode('utf-8'))",
            "sent 9 bytes: b'hi server'",
            "[1] | hi server",
            "[1] server.py:13  inp = input('>>>')",
            "typed b'hi client\\n' for [1] server.py",
            "[1] server.py:14  conn.send(inp.encode('utf-8'))",
            "[2] | hi client",
            "closed the input of [2] client.py",
            "EOFError",
            "[2] failed after",
            "client.py exited with status 1",
        ],
    );
}

#[test]
fn the_chat_with_q_to_leave_and_the_server_that_waits_for_the_next() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("watch-004-chat-q");
    let port = free_port();
    let p = format!("('127.0.0.1', {port})");
    let server = adapt(
        &seed("004_chat_loop_server.py"),
        &[("('127.0.0.1', 9000)", &p)],
    );
    let client = adapt(
        &seed("004_chat_exit_client.py"),
        &[("('127.0.0.1', 9000)", &p)],
    );
    std::fs::write(scratch.path().join("server.py"), server).expect("w");
    std::fs::write(scratch.path().join("client.py"), client).expect("w");
    std::fs::write(
        scratch.path().join("q.sp"),
        "run python3 server.py &\n\
         run python3 client.py &\ninput %2 \"one\"\ninput %1 \"ok\"\ninput %2 \"q\"\nwait %2\n\
         run python3 client.py &\ninput %3 \"two\"\ninput %1 \"Q\"\nwait %3\n\
         jobs\nkill %1\n",
    )
    .expect("w");
    let run = common::run_in(scratch.path(), &["--allow-run", "q.sp"], None);
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert_has(
        "the script",
        &run.output,
        &[
            "[1] | one",
            "[2] | ok",
            "sent 1 byte: b'q'",
            "[2] done after",
            // The server goes back to accept for the next client.
            "[1] server.py:10  conn, addr = sk.accept()",
            "[1] | two",
            "[3] done after",
            "[1] run python3 server.py  running: pid ",
        ],
    );
    assert_eq!(
        run.output.matches("accepted a connection").count(),
        2,
        "{}",
        run.output
    );
    // The server that leaves after one client (4.2), watched on its own,
    // on a port of its own (the first one is in TIME_WAIT now).
    let port = free_port();
    let p = format!("('127.0.0.1', {port})");
    let exit_server = adapt(
        &seed("004_chat_exit_server.py"),
        &[("('127.0.0.1', 9000)", &p)],
    );
    let client = adapt(
        &seed("004_chat_exit_client.py"),
        &[("('127.0.0.1', 9000)", &p)],
    );
    let mut w = watch(&scratch, "exit_server.py", &exit_server, &[], &[]);
    w.wait_for("waits for a client");
    let mut c = python(&scratch, "client2.py", &client, &[]);
    c.write(b"q\n");
    c.end_ok();
    let (status, out, _) = w.end();
    assert_eq!(status, Some(0), "{out}");
    assert_has(
        "watch",
        &out,
        &[
            "exit_server.py:11  msg = conn.recv(1024).decode('utf-8')",
            "-> b'q'",
            "exit_server.py exited with status 0",
        ],
    );
}

#[test]
fn the_udp_chat_of_note_004() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("watch-004-udp-chat");
    let port = free_udp_port();
    let server = adapt(
        &seed("004_udp_chat_server.py"),
        &[("('127.0.01',9000)", &format!("('127.0.0.1',{port})"))],
    );
    let client = adapt(
        &seed("004_udp_chat_client.py"),
        &[("('127.0.0.1',9000)", &format!("('127.0.0.1',{port})"))],
    );
    std::fs::write(scratch.path().join("server.py"), server).expect("w");
    std::fs::write(scratch.path().join("client.py"), client).expect("w");
    std::fs::write(
        scratch.path().join("uc.sp"),
        "run python3 server.py &\nrun python3 client.py &\ninput %2 \"hello\"\ninput %1 \"world\"\nkill %2\nkill %1\n",
    )
    .expect("w");
    let run = common::run_in(scratch.path(), &["--allow-run", "uc.sp"], None);
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert_has(
        "the script",
        &run.output,
        &[
            "[2] client.py:7  sk.sendto(inp, ('127.0.0.1',",
            "[1] server.py:12  msg,client_addr = sk.recvfrom(1024)",
            "-> (b'hello', ('127.0.0.1', ",
            "[1] | hello",
            "[2] | world",
        ],
    );
}

/// The JSON chat's server prints in colour (\033[31m): in the background
/// its lines are shown escaped, never as raw escapes.
#[test]
fn the_json_chat_s_colours_are_shown_escaped() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("watch-004-json");
    let port = free_port();
    let p = format!("('127.0.0.1', {port})");
    let server = adapt(
        &seed("004_json_chat_server.py"),
        &[("('127.0.0.1', 9000)", &p)],
    );
    let client = adapt(
        &seed("004_json_chat_client.py"),
        &[("('127.0.0.1', 9000)", &p)],
    );
    std::fs::write(scratch.path().join("server.py"), server).expect("w");
    std::fs::write(scratch.path().join("client.py"), client).expect("w");
    std::fs::write(
        scratch.path().join("j.sp"),
        "run python3 server.py &\nrun python3 client.py &\ninput %2 \"hi\"\ninput %1 \"hey\"\ninput %2 \"q\"\nwait %2\nkill %1\n",
    )
    .expect("w");
    let run = common::run_in(scratch.path(), &["--allow-run", "j.sp"], None);
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(
        !run.output.contains('\x1b'),
        "a raw escape: {:?}",
        run.output
    );
    assert_has(
        "the script",
        &run.output,
        &[
            "sent 28 bytes: b'{\"msg\": \"hi\", \"id\": \"12345\"}'",
            r"[1] | \x1b[31malex: hi\x1b[0m",
            "[2] | hey",
            "[2] | 你已经断开和server的聊天！",
            "[1] | alex已经下线",
        ],
    );
}

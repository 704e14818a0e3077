//! `watch` and `run` beyond the course's examples: small programs in the
//! course's style for socketserver, selectors, create_connection and
//! makefile; threads; BrokenPipe and a reset explained; a timeout; sends
//! merged across the shell and a program; the sockets of a program in the
//! table; a program that is not Python (nc); a program that writes garbage
//! on the report channel; levels; a program that does not exist.
//!
//! Ports are the kernel's (port 0, read back from the program's own words
//! or from the shell's); everything in a scratch directory; every wait
//! bounded.

mod common;

use common::Scratch;
use common::proc::{Proc, assert_has};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

fn watch(scratch: &Scratch, name: &str, program: &str, flags: &[&str]) -> Proc {
    std::fs::write(scratch.path().join(name), program).expect("write program");
    let mut v: Vec<&str> = vec!["watch"];
    v.extend(flags);
    v.push("python3");
    v.push(name);
    let mut cmd = common::command(scratch.path(), &v);
    Proc::spawn_merged(&format!("sockplay watch {name}"), &mut cmd, LIMIT)
}

/// Runs a script of the shell (files written to the scratch directory
/// first) and returns its output; it must end with status 0.
fn script(tag: &str, files: &[(&str, &str)], text: &str) -> String {
    let scratch = Scratch::new(tag);
    for (name, body) in files {
        std::fs::write(scratch.path().join(name), body).expect("write");
    }
    std::fs::write(scratch.path().join("s.sp"), text).expect("write");
    let run = common::run_in(scratch.path(), &["--allow-run", "s.sp"], None);
    assert_eq!(run.status, Some(0), "{}", run.output);
    run.output
}

/// socketserver.ThreadingTCPServer, the way the course writes a server
/// that serves clients at once; its client made with create_connection and
/// makefile.
const SOCKETSERVER: &str = r#"import socketserver

class Upper(socketserver.BaseRequestHandler):
    def handle(self):
        data = self.request.recv(1024)
        self.request.sendall(data.upper())

server = socketserver.ThreadingTCPServer(('127.0.0.1', 0), Upper)
print("port", server.server_address[1])
server.serve_forever()
"#;

const MAKEFILE_CLIENT: &str = r#"import socket, sys

sock = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
f = sock.makefile('rwb')
f.write(b'hello\n')
f.flush()
print(f.readline())
sock.close()
"#;

#[test]
fn socketserver_watched_and_its_create_connection_client() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("cases-ss");
    let mut w = watch(&scratch, "server.py", SOCKETSERVER, &[]);
    let text = w.wait_for("port ");
    let port = common::proc::port_after(&text, "port ");
    // The client, watched too, the server's port on its command line.
    std::fs::write(scratch.path().join("client.py"), MAKEFILE_CLIENT).expect("write");
    let mut cmd = common::command(
        scratch.path(),
        &["watch", "python3", "client.py", &port.to_string()],
    );
    let mut c = Proc::spawn_merged("client", &mut cmd, LIMIT);
    // The command holds a copy of the output pipe until it goes.
    drop(cmd);
    let (status, cout, _) = c.end();
    assert_eq!(status, Some(0), "{cout}");
    assert_has(
        "the client",
        &cout,
        &[
            // create_connection: its socket and connect, under the line
            // that called it.
            "client.py:3  sock = socket.create_connection(('127.0.0.1', int(sys.argv[1])))",
            "sock = <socket fd=3 AF_INET SOCK_STREAM>",
            "connected sock from 127.0.0.1:",
            &format!("to 127.0.0.1:{port} (ESTABLISHED)"),
            // makefile: the file's writes and reads are sends and recvs.
            "client.py:6  f.flush()",
            "sent 6 bytes: b'hello\\n'",
            "client.py:7  print(f.readline())",
            "-> 6",
            "into the buffer: b'HELLO\\n'",
            "b'HELLO\\n'\n",
        ],
    );
    w.wait_for("closed fd 4");
    // SIGINT to sockplay: not at a terminal, it passes it to the program.
    // SAFETY: kill(2) on our child.
    unsafe {
        libc::kill(w.child.id() as i32, libc::SIGINT);
    }
    let (status, out, _) = w.end();
    assert_eq!(status, Some(130), "{out}");
    assert_has(
        "the server",
        &out,
        &[
            "server.py:8  server = socketserver.ThreadingTCPServer(('127.0.0.1', 0), Upper)",
            "(port ",
            "server.py:10  server.serve_forever()",
            // The library's poll, and why the socket is ready.
            "poll waits for one of: fd 3 readable - up to 500.0 ms",
            "a connection is waiting in the accept queue: accept will not block",
            "accepted a connection from 127.0.0.1:",
            // The handler runs in its thread.
            "server.py:5 (Thread-1 (process_request_thread))  data = self.request.recv(1024)",
            "-> b'hello\\n'",
            "server.py:6 (Thread-1 (process_request_thread))  self.request.sendall(data.upper())",
            "sent all 6 bytes: b'HELLO\\n'",
            // The library's own calls, at the library's line.
            "socketserver.py:",
            "shut down writing",
        ],
    );
    // The poll the library makes every half second is said once, not at
    // every turn.
    assert!(out.matches("poll waits for").count() <= 3, "{out}");
}

/// A selectors server in the course's style, and a client from the shell.
const SELECTORS: &str = r#"import selectors, socket

sel = selectors.DefaultSelector()
lsock = socket.socket()
lsock.bind(('127.0.0.1', 0))
lsock.listen()
print("port", lsock.getsockname()[1])
lsock.setblocking(False)
sel.register(lsock, selectors.EVENT_READ)
served = 0
while served < 1:
    for key, mask in sel.select():
        if key.fileobj is lsock:
            conn, addr = lsock.accept()
            conn.setblocking(False)
            sel.register(conn, selectors.EVENT_READ)
        else:
            data = key.fileobj.recv(1024)
            if data:
                key.fileobj.send(data)
            else:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                served += 1
lsock.close()
"#;

#[test]
fn a_selectors_server_driven_from_the_shell() {
    if !common::have_peer("python3") {
        return;
    }
    let out = script(
        "cases-selectors",
        &[("sel.py", SELECTORS)],
        "run python3 sel.py &\nk = socket tcp\nconnect k %1\nsend k \"ping\"\nrecv k\nclose k\nwait\n",
    );
    assert_has(
        "the script",
        &out,
        &[
            "[1] sel.py:8  lsock.setblocking(False)",
            "lsock is now non-blocking",
            // The program's own sel.select(): epoll underneath, said as a
            // wait on the sockets it watches.
            "[1] sel.py:12  for key, mask in sel.select():",
            "epoll waits for one of: lsock readable - no timeout",
            "fd 4 (lsock): POLLIN - a connection is waiting in the accept queue",
            "fd 5 (conn): POLLIN - 4 bytes queued: recv will not block",
            "[1] sel.py:14  conn, addr = lsock.accept()",
            "[1] sel.py:18  data = key.fileobj.recv(1024)",
            "-> b'ping'  (4 bytes)",
            "sent 4 bytes: b'ping'",
            "-> b'ping'  (4 bytes)",
            "[1] done after",
            "sel.py exited with status 0",
        ],
    );
}

/// The classic moment: the client left, the server sends twice; the
/// second send raises BrokenPipeError, explained. Then a reset.
const BROKEN_PIPE: &str = r#"import socket, time
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen()
print("port", s.getsockname()[1])
c, addr = s.accept()
c.recv(1024)
time.sleep(0.3)
c.send(b'first')
time.sleep(0.3)
c.send(b'second')
"#;

#[test]
fn broken_pipe_in_a_watched_program_is_explained() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("cases-epipe");
    let mut w = watch(&scratch, "bp.py", BROKEN_PIPE, &[]);
    let text = w.wait_for("port ");
    let port = common::proc::port_after(&text, "port ");
    {
        let mut k = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        std::io::Write::write_all(&mut k, b"bye").expect("send");
        // Leaves at once.
    }
    let (status, out, _) = w.end();
    assert_eq!(status, Some(1), "{out}");
    assert_has(
        "watch",
        &out,
        &[
            "bp.py:9  c.send(b'first')",
            "sent 5 bytes: b'first'",
            "bp.py:11  c.send(b'second')",
            "BrokenPipeError: [Errno 32] Broken pipe (EPIPE)",
            "hint: the peer has closed the connection",
            "why: BrokenPipeError",
            // Python's own traceback, without sockplay's frames.
            "Traceback (most recent call last):",
            "line 11, in <module>",
        ],
    );
    assert!(!out.contains("sitecustomize"), "{out}");
}

const RESET: &str = r#"import socket, struct
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen()
k = socket.socket()
k.connect(s.getsockname())
c, addr = s.accept()
k.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
k.close()
try:
    c.recv(1024)
except ConnectionResetError as e:
    print("caught", e.errno)
"#;

#[test]
fn a_reset_in_a_watched_program_is_explained() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("cases-reset");
    let mut w = watch(&scratch, "reset.py", RESET, &[]);
    let (status, out, _) = w.end();
    assert_eq!(status, Some(0), "{out}");
    assert_has(
        "watch",
        &out,
        &[
            "reset.py:8  k.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))",
            "k: SO_LINGER = b'\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00'",
            "SO_LINGER is on with 0 seconds: close sent RST",
            "reset.py:11  c.recv(1024)",
            "ConnectionResetError: [Errno 104] Connection reset by peer (ECONNRESET)",
            "why: ConnectionResetError",
            "caught 104",
        ],
    );
}

const TIMEOUT: &str = r#"import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('127.0.0.1', 0))
u.settimeout(0.3)
try:
    u.recvfrom(1024)
except socket.timeout:
    print("no datagram")
"#;

#[test]
fn a_timeout_says_what_it_waited_for() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("cases-timeout");
    let mut w = watch(&scratch, "t.py", TIMEOUT, &[]);
    let (status, out, _) = w.end();
    assert_eq!(status, Some(0), "{out}");
    assert_has(
        "watch",
        &out,
        &[
            "t.py:4  u.settimeout(0.3)",
            "u now has a timeout of 0.3 s",
            "t.py:6  u.recvfrom(1024)",
            "recvfrom(fd 3) waits for a datagram on 127.0.0.1:",
            "TimeoutError: timed out",
            "no datagram",
        ],
    );
}

/// recv(5) of sends from the shell: the program's recv names the shell's
/// sends, and the shell's recv names the program's.
const STICKY: &str = r#"import socket, time
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen()
c, a = s.accept()
time.sleep(0.2)
data = c.recv(1024)
c.send(b'one')
c.send(b'two')
c.recv(1)
"#;

#[test]
fn sends_merged_across_the_shell_and_a_program_are_named() {
    if !common::have_peer("python3") {
        return;
    }
    let out = script(
        "cases-sticky",
        &[("sticky.py", STICKY)],
        // The sends on one line: the program is still busy (its sleep)
        // when both arrive.
        // `info c`: c is the program's, not the shell's.
        "run python3 sticky.py &\nk = socket tcp\nconnect k %1; send k \"hel\"; send k \"lo\"\nrecv k\nsockets\ninfo c\nexpect error NameError\nsend k \"!\"\nwait\n",
    );
    assert_has(
        "the script",
        &out,
        &[
            // The program's recv took the shell's two sends.
            "[1] sticky.py:7  data = c.recv(1024)",
            "-> b'hel' + b'lo'  (5 bytes)",
            "2 sends merged into one recv (sends #1, #2)",
            // The shell's recv took the program's two sends.
            "-> b'one' + b'two'  (6 bytes)",
            // The table: the shell's socket and the program's.
            "OWNER",
            "this shell",
            "[1] sticky.py",
            "LISTEN",
            "hint: c is a socket of [1] sticky.py, not of this shell",
        ],
    );
}

#[test]
fn a_program_that_is_not_python_has_its_sockets_in_the_table() {
    if !common::have_peer("nc") {
        return;
    }
    let out = script(
        "cases-nc",
        &[],
        "k = socket tcp\nbind k 127.0.0.1 0\nlisten k\nrun nc -l 127.0.0.1 0 &\n\
         s = socket tcp\nbind s 127.0.0.1 0\nlisten s\nc = socket tcp\nconnect c s\n\
         jobs\nsockets\nkill %1\nsockets\n",
    );
    assert_has(
        "the script",
        &out,
        &[
            "[1] run nc -l 127.0.0.1 0",
            // Traced with ptrace: its calls, in the shell's words.
            "[1] nc  listen(fd 3)",
            "fd 3 is listening on 127.0.0.1:",
            "LISTEN",
            "[1] nc",
            "[1] cancelled (killed): run nc -l 127.0.0.1 0",
        ],
    );
    // After the kill, the table is the shell's again.
    let last = out.rsplit("sockplay> sockets").next().unwrap_or("");
    assert!(!last.contains("[1] nc"), "{out}");
}

/// A program that writes its own bytes on the report channel (found by
/// its number in SOCKPLAY_WATCH): sockplay says so once, and goes on.
const GARBAGE: &str = r#"import os, socket, time
fd = int(os.environ["SOCKPLAY_WATCH"].split(":")[0])
msg = b"Q\tnot a report\n\x1b[2J\x07xx"
os.write(fd, len(msg).to_bytes(4, "little") + msg)
bad = b"R\tx\ty\tz\n"
os.write(fd, len(bad).to_bytes(4, "little") + bad)
s = socket.socket()
s.close()
time.sleep(0.05)
os.write(fd, (2**31).to_bytes(4, "little"))
t = socket.socket()
print("still here")
"#;

#[test]
fn garbage_on_the_report_channel_is_refused_not_fatal() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("cases-garbage");
    let mut w = watch(&scratch, "g.py", GARBAGE, &[]);
    let (status, out, _) = w.end();
    assert_eq!(status, Some(0), "{out}");
    assert_has(
        "watch",
        &out,
        &[
            "a report from the program did not parse (unknown report `Q`)",
            "g.py:7  s = socket.socket()",
            "closed s (fd 3 is free again)",
            "its calls are not shown from here on",
            "still here",
            "g.py exited with status 0",
        ],
    );
    // After the broken frame, nothing more is read from the channel.
    assert!(!out.contains("g.py:11"), "{out}");
    assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
}

#[test]
fn levels_quiet_and_verbose() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("cases-levels");
    let prog = "import socket, time\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nu.bind(('127.0.0.1', 0))\nu.sendto(b'x', u.getsockname())\ntime.sleep(0.05)\nprint(u.recvfrom(10))\n";
    let mut q = watch(&scratch, "lv.py", prog, &["-q"]);
    let (_, quiet, _) = q.end();
    let mut v = watch(&scratch, "lv.py", prog, &["-v"]);
    let (_, verbose, _) = v.end();
    let mut n = watch(&scratch, "lv.py", prog, &[]);
    let (_, normal, _) = n.end();
    for out in [&quiet, &verbose, &normal] {
        assert_has(
            "watch",
            out,
            &[
                "lv.py:4  u.sendto(b'x', u.getsockname())",
                "-> (b'x', ('127.0.0.1', ",
            ],
        );
    }
    assert!(
        !quiet.contains("no wait:") && normal.contains("no wait:"),
        "{quiet}\n{normal}"
    );
    assert!(
        verbose.contains("sleep(0.05) waits for the clock"),
        "{verbose}"
    );
    assert!(!normal.contains("sleep(0.05)"), "{normal}");
}

#[test]
fn a_program_that_does_not_exist() {
    let scratch = Scratch::new("cases-missing");
    let run = common::run_in(scratch.path(), &["watch", "no-such-program-here"], None);
    assert_eq!(run.status, Some(127), "{}", run.output);
    assert!(
        run.output.contains(
            "FileNotFoundError: [Errno 2] No such file or directory: 'no-such-program-here'"
        ),
        "{}",
        run.output
    );
    let run = common::run_in(
        scratch.path(),
        &["--allow-run", "-c", "run no-such-program-here"],
        None,
    );
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert!(
        run.output
            .contains("there is no program `no-such-program-here` on PATH"),
        "{}",
        run.output
    );
}

/// A fork: the child's calls come with its pid.
const FORK: &str = r#"import os, socket
a, b = socket.socketpair()
pid = os.fork()
if pid == 0:
    a.send(b'from the child')
    os._exit(0)
os.waitpid(pid, 0)
print(b.recv(100))
"#;

#[test]
fn a_forked_child_s_calls_name_its_pid() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("cases-fork");
    let mut w = watch(&scratch, "f.py", FORK, &[]);
    let (status, out, _) = w.end();
    assert_eq!(status, Some(0), "{out}");
    assert_has(
        "watch",
        &out,
        &[
            "f.py:2  a, b = socket.socketpair()",
            "socketpair: fd 3 and fd 4, connected to each other",
            "f.py:5  a.send(b'from the child')",
            "sent 14 bytes: b'from the child'",
            "-> b'from the child'",
        ],
    );
    assert!(out.contains("pid ") && out.contains(" f.py:5"), "{out}");
}

/// A session that ran a program exports as Python that runs it too (with
/// subprocess, in a thread for `run ... &`), and connects where it
/// listened, trying until it listens.
#[test]
fn a_session_with_a_program_exports_as_python_that_runs() {
    if !common::have_peer("python3") {
        return;
    }
    // The port: a free one, chosen by the kernel now (the exported program
    // connects to the port the session's program had).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let server = format!(
        "from socket import *\ns = socket(AF_INET, SOCK_STREAM)\ns.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)\ns.bind(('127.0.0.1', {port}))\ns.listen(5)\nc, addr = s.accept()\nprint('got', c.recv(1024))\nc.close()\ns.close()\n"
    );
    let scratch = Scratch::new("cases-export");
    std::fs::write(scratch.path().join("server.py"), &server).expect("write");
    std::fs::write(
        scratch.path().join("s.sp"),
        "run python3 server.py &\nk = socket tcp\nconnect k %1\nsend k b\"hi\"\nwait\nclose k\nexport talk.py\n",
    )
    .expect("write");
    let run = common::run_in(scratch.path(), &["--allow-run", "s.sp"], None);
    assert_eq!(run.status, Some(0), "{}", run.output);
    let py = std::fs::read_to_string(scratch.path().join("talk.py")).expect("talk.py");
    assert_has(
        "talk.py",
        &py,
        &[
            "import subprocess",
            "subprocess.run(['python3', 'server.py'])",
            &format!("k.connect(('127.0.0.1', {port}))"),
            "except ConnectionRefusedError:",
        ],
    );
    let mut p = Proc::spawn_merged(
        "python3 talk.py",
        std::process::Command::new("python3")
            .arg("talk.py")
            .current_dir(scratch.path()),
        LIMIT,
    );
    let (status, out, _) = p.end();
    assert_eq!(status, Some(0), "{out}");
    assert_has("python3 talk.py", &out, &["got b'hi'"]);
}

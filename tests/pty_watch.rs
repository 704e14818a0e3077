//! `run` in the interactive shell, in a real terminal: a foreground
//! program reads the terminal (`input()`), Ctrl-C goes to it and the shell
//! lives on; a background program's lines come above the prompt and
//! `input %1` feeds it; `sockplay watch` returns the program's status.

mod common;

use common::Scratch;
use common::pty::{TIMEOUT_MS, expect, run, send_line, spawn_with, wait_prompt};

/// A client in the course's style: reads lines, sends each, prints the
/// answer; waits in input() between them.
const ECHO_CLIENT: &str = r#"import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
while True:
    line = input('Msg>>')
    s.send(line.encode())
    print('got', s.recv(1024).decode())
"#;

#[test]
fn ctrl_c_ends_a_foreground_program_and_the_shell_lives() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("pty-watch-ctrl-c");
    std::fs::write(scratch.path().join("client.py"), ECHO_CLIENT).expect("write");
    let mut p = spawn_with(scratch.path(), TIMEOUT_MS * 3);
    let a = run(&mut p, "a = serve echo", "a = ('127.0.0.1', ");
    let port: String = a
        .rsplit("echo server on 127.0.0.1:")
        .next()
        .unwrap_or("")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(!port.is_empty(), "{a}");
    send_line(&mut p, &format!("run python3 client.py {port}"));
    // The program has the terminal: its prompt, and what we type goes to
    // its input().
    expect(&mut p, "client.py:2  s = socket.create_connection(");
    expect(&mut p, "Msg>>");
    send_line(&mut p, "hello");
    expect(&mut p, "client.py:5  s.send(line.encode())");
    expect(&mut p, "sent 5 bytes: b'hello'");
    expect(&mut p, "got hello");
    expect(&mut p, "Msg>>");
    // Ctrl-C: the program's KeyboardInterrupt, not the shell's end.
    p.send_control('c').expect("send Ctrl-C");
    expect(&mut p, "KeyboardInterrupt");
    expect(
        &mut p,
        "client.py ended by signal 2, SIGINT (Ctrl-C) (status 130)",
    );
    wait_prompt(&mut p);
    // The shell is alive and its peer too.
    run(&mut p, "peers", "echo");
    run(&mut p, "jobs", "no jobs");
    p.send_control('d').expect("Ctrl-D");
    p.exp_eof().expect("the shell ends");
}

/// A server in the course's style that asks for each answer (input()).
const ASKING_SERVER: &str = r#"import socket
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen()
c, a = s.accept()
print('asked:', c.recv(100).decode())
c.send(input('answer>>').encode())
c.close()
"#;

#[test]
fn a_background_program_is_fed_and_shows_above_the_prompt() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("pty-watch-bg");
    std::fs::write(scratch.path().join("server.py"), ASKING_SERVER).expect("write");
    let mut p = spawn_with(scratch.path(), TIMEOUT_MS * 3);
    send_line(&mut p, "run python3 server.py &");
    expect(&mut p, "[1] server.py:5  c, a = s.accept()");
    wait_prompt(&mut p);
    run(&mut p, "k = socket tcp; connect k %1", "(ESTABLISHED)");
    send_line(&mut p, "send k b\"question\"");
    expect(&mut p, "[1] | asked: question");
    expect(&mut p, "[1] | answer>>");
    expect(&mut p, "input() waits for a line on its standard input");
    wait_prompt(&mut p);
    send_line(&mut p, "input %1 \"42\"");
    expect(&mut p, "its input() returns '42'");
    expect(
        &mut p,
        "[1] server.py:7  c.send(input('answer>>').encode())",
    );
    // The program ends: its job's report comes by itself.
    expect(&mut p, "server.py exited with status 0");
    wait_prompt(&mut p);
    run(&mut p, "recv k", "-> b'42'");
    p.send_control('d').expect("Ctrl-D");
    p.exp_eof().expect("the shell ends");
}

#[test]
fn watch_returns_the_program_s_status_and_ctrl_c_reaches_it() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("pty-watch-cli");
    std::fs::write(
        scratch.path().join("wait.py"),
        "import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\ns.accept()\n",
    )
    .expect("write");
    let cmd = common::pty::command(
        scratch.path(),
        &scratch.path().join("history"),
        &scratch.path().join("config"),
        &["watch", "wait.py"],
    );
    let mut p = common::pty::start(cmd, TIMEOUT_MS * 3);
    // Its first socket is fd 3, whatever the terminal's program left open.
    expect(&mut p, "accept(fd 3) waits for a client on 127.0.0.1:");
    p.send_control('c').expect("send Ctrl-C");
    expect(&mut p, "KeyboardInterrupt");
    expect(
        &mut p,
        "wait.py ended by signal 2, SIGINT (Ctrl-C) (status 130)",
    );
    let _ = p.exp_eof();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match p.process().status() {
            Some(rexpect::process::WaitStatus::Exited(_, code)) => {
                assert_eq!(code, 130);
                break;
            }
            Some(rexpect::process::WaitStatus::StillAlive) | None => {
                assert!(
                    std::time::Instant::now() < end,
                    "sockplay watch did not end"
                );
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => panic!("sockplay watch ended with {other:?}"),
        }
    }
}

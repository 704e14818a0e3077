//! A program that is not Python, traced with ptrace: `sockplay watch nc`
//! shows nc's socket calls in the shell's words, returns its exit status,
//! and Ctrl-C reaches it.

mod common;

use common::Scratch;
use common::pty::{TIMEOUT_MS, expect, send_line, spawn_with, wait_prompt};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A port that was free a moment ago (the kernel's choice).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Runs sockplay with `args` until it ends (killed after `limit`): its
/// exit code and its output.
fn run_until(mut cmd: Command, limit: Duration, during: impl FnOnce()) -> (Option<i32>, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sockplay");
    let mut out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    during();
    let until = Instant::now() + limit;
    let code = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st.code();
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (code, reader.join().unwrap_or_default())
}

fn sockplay(args: &[&str]) -> Command {
    let mut c = Command::new(common::BIN);
    c.args(["--color", "never"]).args(args);
    c
}

#[test]
fn watch_nc_listener_shows_its_calls_and_the_bytes() {
    if !common::have_peer("nc") {
        return;
    }
    let port = free_port();
    let p = port.to_string();
    let (code, out) = run_until(
        sockplay(&["watch", "nc", "-l", "127.0.0.1", &p]),
        Duration::from_secs(30),
        || {
            // nc listens soon; the client tries for a while (bounded).
            let until = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                    s.write_all(b"ping from the test\n").expect("send");
                    break;
                }
                assert!(Instant::now() < until, "nc never listened");
                std::thread::sleep(Duration::from_millis(50));
            }
        },
    );
    assert_eq!(code, Some(0), "{out}");
    for want in [
        "nc  socket()",
        "-> <socket fd=3 AF_INET SOCK_STREAM>",
        "fd 3: SO_REUSEADDR = 1",
        &format!("bound fd 3 to 127.0.0.1:{port}"),
        &format!("fd 3 is listening on 127.0.0.1:{port}, backlog 1 (LISTEN)"),
        "nc  accept4(fd 3)",
        &format!("accept(fd 3) waits for a client on 127.0.0.1:{port}"),
        "accepted a connection from 127.0.0.1:",
        "as a new socket, fd 4",
        "nc  read(fd 4)",
        "-> b'ping from the test\\n'  (19 bytes)",
        "closed fd 4 (fd 4 is free again)",
        "nc exited with status 0",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    // The wait is said before the call returns, and what nc printed comes
    // after the read that got it.
    let wait = out.find("waits for a client").unwrap_or(usize::MAX);
    let accepted = out.find("accepted a connection").unwrap_or(0);
    assert!(wait < accepted, "{out}");
    let got = out.find("-> b'ping").unwrap_or(usize::MAX);
    let printed = out.find("\nping from the test\n").unwrap_or(0);
    assert!(got < printed, "{out}");
}

#[test]
fn a_traced_program_returns_its_exit_status() {
    let (code, out) = run_until(
        sockplay(&["watch", "sh", "-c", "exit 3"]),
        Duration::from_secs(20),
        || {},
    );
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("sh exited with status 3"), "{out}");
}

/// Files exec cannot run (not a program; a script whose interpreter is
/// missing) are refused as untraced ones are, at once: traced, the child's
/// report of its exec error was refused by the seccomp filter and sockplay
/// waited for ever.
#[test]
fn a_file_exec_cannot_run_is_refused_not_waited_for() {
    let scratch = Scratch::new("watch-ptrace-bad-exec");
    let make = |name: &str, text: &str| {
        use std::os::unix::fs::PermissionsExt;
        let p = scratch.path().join(name);
        std::fs::write(&p, text).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        p.to_string_lossy().into_owned()
    };
    let no_interp = make("bad.sh", "#!/nonexistent/interpreter\necho hi\n");
    let (code, out) = run_until(
        sockplay(&["watch", &no_interp]),
        Duration::from_secs(20),
        || {},
    );
    // 127, as a shell says of a program it cannot find (the error itself
    // is on stderr).
    assert_eq!(code, Some(127), "{out}");
    let script = make("good.sh", "#!/bin/sh\necho hi; exit 4\n");
    let (code, out) = run_until(
        sockplay(&["watch", &script]),
        Duration::from_secs(20),
        || {},
    );
    assert_eq!(code, Some(4), "{out}");
    assert!(out.contains("hi"), "{out}");
}

#[test]
fn ctrl_c_reaches_a_traced_program() {
    if !common::have_peer("nc") {
        return;
    }
    let scratch = Scratch::new("watch-ptrace-ctrl-c");
    let mut p = spawn_with(scratch.path(), TIMEOUT_MS * 3);
    let port = free_port();
    send_line(&mut p, &format!("run nc -l 127.0.0.1 {port}"));
    expect(&mut p, "accept(fd 3) waits for a client");
    p.send_control('c').expect("send Ctrl-C");
    expect(&mut p, "nc ended by signal 2, SIGINT (Ctrl-C) (status 130)");
    wait_prompt(&mut p);
    p.send_control('d').expect("Ctrl-D");
    p.exp_eof().expect("the shell ends");
}

/// sockplay reading its commands from a pipe, fed as its output asks:
/// the test learns the port the kernel picked for the shell's listener
/// before it types the `run` that uses it.
struct Piped {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
    seen: String,
}

impl Piped {
    fn start(dir: &std::path::Path) -> Piped {
        let mut child = common::command(dir, &["--allow-run"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sockplay");
        let (tx, rx) = std::sync::mpsc::channel();
        for r in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(r).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Piped {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            seen: String::new(),
        }
    }

    fn type_line(&mut self, line: &str) {
        let s = self.stdin.as_mut().expect("stdin open");
        s.write_all(format!("{line}\n").as_bytes()).expect("type");
        s.flush().expect("flush");
    }

    /// Reads output until a line holds `needle` (bounded): that line.
    fn wait_for(&mut self, needle: &str) -> String {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push_str(&l);
                    self.seen.push('\n');
                    if l.contains(needle) {
                        return l;
                    }
                }
                Err(_) => panic!("no {needle:?} in:\n{}", self.seen),
            }
        }
    }

    /// Closes its input and reads to its end (bounded): its exit code.
    fn finish(&mut self) -> Option<i32> {
        self.stdin = None;
        let code = common::wait_bounded(&mut self.child, Duration::from_secs(30));
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push_str(&l);
            self.seen.push('\n');
        }
        code
    }
}

#[test]
fn run_nc_in_the_background_against_the_shell_s_listener() {
    if !common::have_peer("nc") {
        return;
    }
    let scratch = Scratch::new("watch-ptrace-run-nc");
    let mut p = Piped::start(scratch.path());
    p.type_line("s = socket tcp");
    p.type_line("bind s 127.0.0.1 0");
    let bound = p.wait_for("bound s to 127.0.0.1:");
    let port: u16 = bound
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no port in {bound:?}"));
    p.type_line("listen s");
    p.type_line(&format!("run nc 127.0.0.1 {port} &"));
    p.type_line("c = accept s");
    p.wait_for("c = <socket fd=");
    p.type_line("send c b\"hi\\n\"");
    // nc's read of it, in the job's lines.
    p.wait_for("-> b'hi\\n'  (3 bytes)");
    p.type_line("input %1 \"back\"");
    p.type_line("recv c");
    p.wait_for("-> b'back\\n'  (5 bytes)");
    p.type_line("sockets");
    let row = p.wait_for("[1] nc");
    p.type_line("kill %1");
    let code = p.finish();
    let out = p.seen.clone();
    assert_eq!(code, Some(0), "{out}");
    // nc's socket in the table: connected to the shell's listener, its
    // owner the job.
    assert!(
        row.contains(&format!("127.0.0.1:{port}")) && row.contains("ESTABLISHED"),
        "{row:?} in:\n{out}"
    );
    for want in [
        "[1] nc  socket()",
        "-> <socket fd=3 AF_INET SOCK_STREAM>",
        "[1] nc  connect(fd 3)",
        "accepted a connection from 127.0.0.1:",
        "[1] nc  read(fd 3)",
        "[1] | hi",
        "typed b'back\\n' for [1] nc: its next read of its stdin gets it",
        "[1] nc  write(fd 3)",
        "sent 5 bytes: b'back\\n'",
        "[1] cancelled (killed): run nc 127.0.0.1",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    // What nc wrote came from its stdin, after its read of the shell's
    // bytes.
    let read = out.find("[1] nc  read(fd 3)").unwrap_or(usize::MAX);
    let wrote = out.find("[1] nc  write(fd 3)").unwrap_or(0);
    assert!(read < wrote, "{out}");
}

/// The seccomp filter is in the traced program (one more filter than the
/// test has): only its socket calls stop it (the other tests show that
/// those are still seen).
#[test]
fn a_traced_program_has_the_seccomp_filter() {
    let count = |s: &str| -> Option<i64> {
        s.lines()
            .find_map(|l| l.strip_prefix("Seccomp_filters:"))
            .and_then(|v| v.trim().parse().ok())
    };
    let ours = std::fs::read_to_string("/proc/self/status").expect("status");
    let Some(ours) = count(&ours) else {
        return; // Linux before 5.9 does not count filters.
    };
    let (code, out) = run_until(
        sockplay(&[
            "watch",
            "sh",
            "-c",
            "grep Seccomp_filters /proc/self/status",
        ]),
        Duration::from_secs(20),
        || {},
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("Seccomp_filters:\t{}", ours + 1)),
        "{out}"
    );
    assert!(out.contains("sh exited with status 0"), "{out}");
}

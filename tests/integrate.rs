//! Where the features that landed side by side meet, through the real
//! binary: a program run from the shell (`run ... &`) in the wire view
//! (`diagram` draws its calls beside the shell's), a descriptor passed to
//! it over AF_UNIX (SCM_RIGHTS) and used there, the advice on sticky
//! packets naming the shell's sending socket when the program's recv
//! merged its sends, a program run on a lab host (`on a run ... &`), and
//! the session-wide commands (`reset`, `log`, `export`) with programs.
//!
//! Ports are the kernel's (port 0) or read back from what was said; files
//! in a scratch directory; every run bounded (30 s). The capture behind
//! `diagram` needs root or `--lab`: without either, those tests say
//! `skipped`.

mod common;

use common::Scratch;
use common::proc::assert_has;
use common::wire::{capture_args, root, section};

/// Runs the script `text` with `files` written beside it first (and
/// `flags` before it); returns its output, after checking it ended with
/// status 0.
fn script(scratch: &Scratch, flags: &[&str], files: &[(&str, &str)], text: &str) -> String {
    for (name, body) in files {
        std::fs::write(scratch.path().join(name), body).expect("write");
    }
    std::fs::write(scratch.path().join("s.sp"), text).expect("write");
    let mut args: Vec<&str> = flags.to_vec();
    args.extend(["--allow-run", "s.sp"]);
    let run = common::run_in(scratch.path(), &args, None);
    assert_eq!(run.status, Some(0), "{}", run.output);
    run.output
}

/// A box or a wrapped note as one line of words (`│ ` margins dropped).
fn flat(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.trim().trim_start_matches(['│', '|']).trim())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The course's TCP server (note 003), as the notes give it but for its
/// port: the kernel's.
fn course_server() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seeds/003_tcp_server.py");
    let text = std::fs::read_to_string(&path).expect("the course's server");
    assert!(text.contains("('127.0.0.1',9999)"), "{text}");
    text.replace("('127.0.0.1',9999)", "('127.0.0.1',0)")
}

/// The diagram's calls on one side: the words beside the left lifeline
/// (side 0) or after the right one (side 1).
fn calls_on(diagram: &[&str], side: usize) -> Vec<String> {
    let mut out = Vec::new();
    for l in diagram {
        let bars: Vec<usize> = l
            .char_indices()
            .filter(|(_, c)| *c == '|' || *c == '│')
            .map(|(k, _)| k)
            .collect();
        if bars.len() != 2 {
            continue;
        }
        let between = &l[bars[0]..bars[1]];
        if between.chars().any(|c| !matches!(c, '|' | '│' | ' ')) {
            continue;
        }
        let text = if side == 0 {
            l[..bars[0]].trim()
        } else {
            l[bars[1]..].trim_start_matches(['|', '│']).trim()
        };
        if !text.is_empty() {
            out.push(text.to_string());
        }
    }
    out
}

/// Issue 10, part 6: the course's server run with `run ... &`, the shell
/// as its client: `diagram k` draws both ends' calls beside the segments,
/// the program's end named by the program's own name for its socket.
#[test]
fn a_program_s_calls_are_drawn_beside_the_shell_s() {
    if !common::have_peer("python3") {
        return;
    }
    let Some(flags) = capture_args() else { return };
    let scratch = Scratch::new("meet-diagram");
    let out = script(
        &scratch,
        &flags,
        &[("tcp_server.py", &course_server())],
        "run python3 tcp_server.py &\nk = socket tcp\nconnect k %1\nsend k \"hello\"\nrecv k\nclose k\ndiagram k\nkill %1\n",
    );
    let d = section(&out, "diagram k");
    assert!(
        d[0].contains('k') && d[0].contains("[1] connfd"),
        "the columns are k and the program's connfd:\n{}",
        d.join("\n")
    );
    let left = calls_on(&d, 0);
    let right = calls_on(&d, 1);
    for want in [
        "connect",
        "connect returned",
        "send #1",
        "recv took #1",
        "close",
    ] {
        assert!(
            left.iter().any(|c| c == want),
            "{want:?} not on k's side {left:?}:\n{}",
            d.join("\n")
        );
    }
    for want in [
        "accept returned",
        "recv took #1",
        "send #1",
        "recv -> b''",
        "close",
    ] {
        assert!(
            right.iter().any(|c| c == want),
            "{want:?} not on connfd's side {right:?}:\n{}",
            d.join("\n")
        );
    }
    // In order: the program's recv came after k's send, its send before
    // k's recv, its close after k's.
    let at = |side: &[String], w: &str| side.iter().position(|c| c == w);
    let row = |w: &str, right_side: bool| {
        d.iter()
            .position(|l| {
                let t = calls_on(&[l], usize::from(right_side));
                t.first().is_some_and(|c| c == w)
            })
            .unwrap_or_else(|| panic!("{w} in\n{}", d.join("\n")))
    };
    assert!(at(&right, "accept returned") < at(&right, "recv took #1"));
    assert!(row("send #1", false) < row("recv took #1", true));
    assert!(row("send #1", true) < row("recv took #1", false));
    assert!(row("close", false) < row("recv -> b''", true));
}

/// `sockplay watch` alone draws no diagram, and says how to get one.
#[test]
fn watch_alone_says_where_the_diagram_is() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("meet-watch-alone");
    std::fs::write(
        scratch.path().join("both.py"),
        "import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\nk = socket.create_connection(s.getsockname())\nc, a = s.accept()\nk.close()\nc.close()\ns.close()\n",
    )
    .expect("write");
    let run = common::run_in(scratch.path(), &["watch", "python3", "both.py"], None);
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert_has(
        "sockplay watch",
        &run.output,
        &[
            "both.py exited with status 0",
            "sequence diagram (`states`, `diagram`) are the shell's",
            "`run python3 both.py &`",
        ],
    );
}

/// Issue 13: a descriptor passed over AF_UNIX (SCM_RIGHTS) to a program run
/// from the shell; the program receives it with socket.recv_fds, makes a
/// socket object of it and talks on it; the shell's other end hears it.
const RECV_FDS: &str = r#"import socket, os
path = 'pass.sock'
if os.path.exists(path):
    os.unlink(path)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen()
u, _ = srv.accept()
msg, fds, flags, addr = socket.recv_fds(u, 1024, 4)
print("got", msg, len(fds))
conn = socket.socket(fileno=fds[0])
conn.sendall(b"hello from the program")
data = conn.recv(1024)
print("read", data)
conn.close()
"#;

#[test]
fn a_socket_passed_to_a_program_is_traced_and_used_there() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("meet-scm-rights");
    let out = script(
        &scratch,
        &[],
        &[("take.py", RECV_FDS)],
        "run python3 take.py &\ns = socket tcp\nbind s 127.0.0.1 0\nlisten s\nk = socket tcp\nconnect k s\nc = accept s\nu = socket unix\nconnect u pass.sock\nsendmsg u \"take it\" fds c\nsockets\nclose c\nrecv k\nsend k \"hi\"\nwait\nrecv k\n",
    );
    let passed = flat(&section(&out, "sendmsg u \"take it\" fds c"));
    assert_has(
        "sendmsg",
        &passed,
        &[
            "sendmsg: 7 bytes and 1 descriptor (c (fd 5)) with SCM_RIGHTS",
            // The program's side of it, as it happened.
            "[1] take.py:9  msg, fds, flags, addr = socket.recv_fds(u, 1024, 4)",
            "recvmsg: 7 bytes and 1 descriptor (SCM_RIGHTS)",
            "-> (b'take it', [5], 0, None)",
            "fd 5 is a TCP socket",
            "conn = <socket fd=5 AF_INET SOCK_STREAM",
            "ESTABLISHED>",
            "sent all 22 bytes: b'hello from the program'",
            // Passed blocking (c's mode), it waits as Python's recv does.
            "recv(fd 5) waits for data from",
        ],
    );
    assert!(!passed.contains("BlockingIOError"), "{passed}");
    let table = section(&out, "sockets").join("\n");
    assert!(
        table
            .lines()
            .any(|l| l.contains("conn") && l.contains("ESTABLISHED") && l.contains("[1] take.py")),
        "the received socket is the program's too:\n{table}"
    );
    assert_has(
        "close c",
        &flat(&section(&out, "close c")),
        &["the socket itself stays open: conn (fd 5) of [1] take.py still refers to it"],
    );
    assert_has(
        "recv k",
        &section(&out, "recv k").join("\n"),
        &["-> b'hello from the program'"],
    );
    assert_has(
        "send k",
        &flat(&section(&out, "send k \"hi\"")),
        &["-> b'hi'", "read b'hi'"],
    );
    assert_has(
        "wait",
        &flat(&section(&out, "wait")),
        &["take.py exited with status 0"],
    );
    // The program's close was the last descriptor: the shell's k hears the
    // end of the stream.
    let end: Vec<&str> = out
        .lines()
        .rev()
        .take_while(|l| *l != "sockplay> recv k")
        .collect();
    assert!(
        end.iter().any(|l| l.contains("-> b''")),
        "{}",
        end.join("\n")
    );
}

/// The program receives two sends of the shell in one recv: the advice on
/// sticky packets names the shell's sending socket (`k`) and the
/// program's receiving one (`c`), each in its own words.
#[test]
fn the_sticky_advice_names_the_shell_s_sender() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("meet-sticky");
    let program = "import socket, time\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\nc, a = s.accept()\ntime.sleep(0.2)\ndata = c.recv(1024)\n";
    let out = script(
        &scratch,
        &[],
        &[("sticky.py", program)],
        "run python3 sticky.py &\nk = socket tcp\nconnect k %1; send k \"hel\"; send k \"lo\"\nwait\n",
    );
    let said = flat(&out.lines().collect::<Vec<_>>());
    assert_has(
        "the program's recv",
        &said,
        &[
            "2 sends merged into one recv (sends #1, #2)",
            "why: sticky packets",
            "send with sendmsg k DATA framed",
            "head = c.recv(4)",
            "sendmsg k DATA marker b\"\\n\"",
            "c.makefile('rb').readline()",
        ],
    );
    assert!(!said.contains("sendmsg SOCK"), "{said}");
}

/// Issue 11 with issue 9: `on a run PROGRAM &` runs the program inside
/// host a (its sockets there, its rows `a` in `sockets`): the course's own
/// server, unmodified (it binds 0.0.0.0:9900, a port of host a's own), is
/// reached from host b by `connect k a 9900`; the diagram draws its calls;
/// `lab down` kills it and whatever it left in the lab (a child that left
/// its process group), so no namespace outlives the lab.
#[test]
fn a_program_runs_on_a_lab_host_and_goes_with_the_lab() {
    if !root() {
        eprintln!("skipped: the lab needs root (or a user namespace, tested in tests/lab.rs)");
        return;
    }
    if !common::have_peer("python3") {
        return;
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seeds/000_tcp_server.py");
    let server = std::fs::read_to_string(&path).expect("the course's server");
    // Each of its processes waits in accept (a wait on something outside:
    // the script goes on at once).
    let stray = "import os, socket\nprint('host', socket.gethostname())\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\npid = os.fork()\nif pid == 0:\n    os.setsid()\n    s.accept()\n    os._exit(0)\nprint('child', pid)\ns.accept()\n";
    let scratch = Scratch::new("meet-lab-run");
    let out = script(
        &scratch,
        &[],
        &[("tcp_server.py", &server), ("stray.py", stray)],
        "lab up a b\non a run python3 tcp_server.py &\non a run python3 stray.py &\non b k = socket tcp\nconnect k a 9900\nsend k \"hello\"\nrecv k\nsockets\ndiagram k\nlab down\njobs\n",
    );
    assert_has(
        "the server on a",
        &out,
        &[
            "sockfd is listening on 0.0.0.0:9900",
            "connected k from 10.99.0.2:",
            "accepted a connection from 10.99.0.2:",
            "[1] | Connect from ('10.99.0.2',",
            "-> b'Receive your message'",
            "[2] | host a",
        ],
    );
    let table = section(&out, "sockets").join("\n");
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no {name} in\n{table}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert!(table.contains("HOST"), "{table}");
    assert_eq!(row("k")[2], "b", "{table}");
    assert_eq!(row("sockfd")[2], "a", "{table}");
    assert_eq!(row("connfd")[2], "a", "{table}");
    let d = section(&out, "diagram k");
    assert!(d[0].contains("[1] connfd"), "{}", d.join("\n"));
    let right = calls_on(&d, 1);
    assert!(
        right.iter().any(|c| c == "accept returned") && right.iter().any(|c| c == "recv took #1"),
        "{right:?}:\n{}",
        d.join("\n")
    );
    let down = flat(&section(&out, "lab down"));
    assert_has(
        "lab down",
        &down,
        &[
            "cancelled (the lab went down): run python3 tcp_server.py",
            "killed what programs left running in the lab (pid",
            "hosts a, b, their links and the switch are gone",
        ],
    );
    let child: i32 = common::proc::port_after(&out, "[2] | child ").into();
    // The child that left its process group is gone (or a zombie waiting
    // for init to reap it: it holds no namespace then).
    let state = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
    let st = state
        .rfind(')')
        .and_then(|k| state[k + 1..].split_whitespace().next())
        .unwrap_or("gone");
    assert!(
        st == "gone" || st == "Z" || st == "X",
        "pid {child} is still {st} after lab down"
    );
}

/// The session-wide commands reach a program run in the background: `log`
/// has its bytes (named `[1] c`, stamped when it made the call; a peek is
/// not logged, a sendfile is counted), a `set` typed after it started
/// applies to it, and `reset` ends it, its forked child too, and forgets
/// its connections (states starts afresh).
#[test]
fn log_set_and_reset_reach_a_running_program() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("meet-log-reset");
    // It forks a child that sleeps and ignores SIGTERM (a forking
    // server's worker): reset must end it too. Both write their pids.
    let program = "import os, signal, socket, time\n\
        if os.fork() == 0:\n    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n    open('child.pid', 'w').write(str(os.getpid()))\n    time.sleep(60)\n    os._exit(0)\n\
        open('main.pid', 'w').write(str(os.getpid()))\n\
        s = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\nc, a = s.accept()\ntime.sleep(0.2)\n\
        c.recv(1024, socket.MSG_PEEK)\ndata = c.recv(1024)\nc.send(b'one')\nc.send(b'two')\nc.recv(1)\n\
        c.sendfile(open('three.txt', 'rb'))\nc.recv(1)\n";
    // After reset: whether either process still runs (a zombie has ended:
    // the child's new parent, pid 1 here, may not have reaped it yet).
    let alive = "run sh -c 'for f in main.pid child.pid; do st=$(cut -d\" \" -f3 /proc/$(cat $f)/stat 2>/dev/null); if [ -n \"$st\" ] && [ \"$st\" != Z ]; then echo \"$f ALIVE $st\"; else echo \"$f gone\"; fi; done'";
    let out = script(
        &scratch,
        &[],
        &[("sticky.py", program), ("three.txt", "three")],
        &format!(
            "run python3 sticky.py &\nset explain off\nlog traffic.log\nk = socket tcp\n\
             connect k %1; send k \"hel\"; send k \"lo\"\nrecv k\nsend k \"x\"\nrecv k\n\
             reset\nlog off\nstates\n{alive}\n"
        ),
    );
    // The program's recv merged the sends, and explain is off for it too.
    assert_has(
        "the program",
        &out,
        &["2 sends merged into one recv (sends #1, #2)"],
    );
    assert!(!out.contains("why: sticky"), "{out}");
    let log = std::fs::read_to_string(scratch.path().join("traffic.log")).expect("the log");
    let lines: Vec<&str> = log.lines().collect();
    let chunk = |mark: &str, who: &str, body: &str| {
        lines
            .windows(2)
            .any(|w| w[0].starts_with(mark) && w[0].contains(who) && w[1] == body)
    };
    assert!(chunk("> ", "k (fd 3) to 127.0.0.1:", "hel"), "{log}");
    assert!(
        chunk("< ", "[1] c (fd 4) from 127.0.0.1:", "hello"),
        "the program's recv is in the log:\n{log}"
    );
    // The peek took nothing: the program received "hello" once, then
    // "x" (its last recv was still waiting when the log went off).
    let program_recvs: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("< ") && l.contains("[1] c (fd 4)"))
        .collect();
    assert_eq!(program_recvs.len(), 2, "{log}");
    assert!(program_recvs[0].ends_with("length=5 from=0 to=4"), "{log}");
    assert!(chunk("> ", "[1] c (fd 4) to 127.0.0.1:", "one"), "{log}");
    assert!(chunk("> ", "[1] c (fd 4) to 127.0.0.1:", "two"), "{log}");
    assert!(chunk("< ", "k (fd 3)", "onetwo"), "{log}");
    // The sendfile: counted (offsets 6..10 of what c sent), not shown.
    assert!(
        lines.iter().any(|l| l.starts_with("> ")
            && l.contains("[1] c (fd 4)")
            && l.ends_with(
                "length=5 from=6 to=10  [sendfile: not copied through sockplay, so not shown]"
            )),
        "{log}"
    );
    assert!(chunk("< ", "k (fd 3)", "three"), "{log}");
    assert_has(
        "reset",
        &flat(&section(&out, "reset")),
        &[
            "[1] cancelled (reset): run python3 sticky.py",
            "states and diagram forget the connections before",
            "the traffic log goes on (`log off` ends it)",
        ],
    );
    let after = flat(&section(&out, alive));
    assert_has("after reset", &after, &["main.pid gone", "child.pid gone"]);
    if root() {
        assert_has(
            "states after reset",
            &flat(&section(&out, "states")),
            &["no connection to show"],
        );
    }
}

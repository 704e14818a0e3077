//! The interactive shell in a real pseudo-terminal (rexpect): the banner and
//! prompt, Tab completion, Ctrl-C during a blocking call and at the prompt,
//! Ctrl-D, the history file and the sockplayrc file.
//!
//! Every session is sealed from the user's own setup: `--no-rc` (except the
//! rc test), SOCKPLAY_HISTORY and SOCKPLAY_CONFIG_DIR inside a scratch
//! directory, TERM=xterm, no colour. Escape sequences are stripped by the
//! reader, so the expectations are plain text. Every expectation has a
//! timeout, and a session still alive when a test ends is killed (rexpect
//! kills the child when the session is dropped).
//!
//! The shell drops keys typed ahead of its prompt (see
//! `common::pty::wait_prompt`), so a test always waits for the prompt
//! before it types the next line.

mod common;

use common::Scratch;
use common::pty::{PROMPT, TIMEOUT_MS, expect, run, send, send_line, wait_prompt};
use rexpect::process::WaitStatus;
use rexpect::session::PtySession;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// Where a session keeps its files.
struct Home {
    scratch: Scratch,
}

impl Home {
    fn new(tag: &str) -> Home {
        Home {
            scratch: Scratch::new(&format!("pty-{tag}")),
        }
    }

    /// A directory that does not exist yet: the shell must create it.
    fn history(&self) -> PathBuf {
        self.scratch.path().join("data").join("history")
    }

    fn config_dir(&self) -> PathBuf {
        self.scratch.path().join("config")
    }

    /// `sockplay ARGS` with its files here.
    fn command(&self, args: &[&str]) -> Command {
        common::pty::command(
            self.scratch.path(),
            &self.history(),
            &self.config_dir(),
            args,
        )
    }

    /// Starts the shell in a PTY and waits for its first prompt.
    fn spawn(&self, with_rc: bool) -> PtySession {
        let args: &[&str] = if with_rc { &[] } else { &["--no-rc"] };
        common::pty::start_shell(self.command(args), TIMEOUT_MS)
    }
}

/// Waits (bounded) for the shell to exit; returns its exit code.
fn exit_code(p: &mut PtySession) -> i32 {
    let start = Instant::now();
    loop {
        match p.process().status() {
            Some(WaitStatus::Exited(_, code)) => return code,
            Some(WaitStatus::Signaled(_, sig, _)) => panic!("sockplay died of {sig:?}"),
            _ if start.elapsed() < Duration::from_millis(TIMEOUT_MS) => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => panic!("sockplay did not exit in time: {other:?}"),
        }
    }
}

/// Ctrl-D at an empty prompt, then EOF and the status.
fn leave(p: &mut PtySession) -> i32 {
    common::pty::leave(p);
    exit_code(p)
}

#[test]
fn banner_prompt_and_a_command() {
    let home = Home::new("banner");
    let mut p = home.spawn(false);
    run(&mut p, "inet_aton 192.168.1.2", r"-> b'\xc0\xa8\x01\x02'");
    run(&mut p, "s = socket tcp", "s = <socket fd=");
    let table = run(&mut p, "sockets", "blocking");
    assert!(
        table.contains("TCP"),
        "the table lists the socket: {table:?}"
    );
    assert_eq!(leave(&mut p), 0);
}

#[test]
fn tab_completes_command_words() {
    let home = Home::new("tab-words");
    let mut p = home.spawn(false);

    // `soc` is the prefix of `socket` and `sockets`: Tab fills in the common
    // part, `socket`; the rest of the line makes it `s = socket tcp`.
    send(&mut p, "s = soc\t");
    expect(&mut p, "s = socket");
    run(&mut p, " tcp", "s = <socket fd=");

    // A second Tab on an ambiguous word lists the candidates.
    send(&mut p, "soc\t");
    expect(&mut p, "socket");
    send(&mut p, "\t");
    let (_, list) = p
        .exp_regex(r"socket +socketpair +sockets")
        .expect("the second Tab lists socket, socketpair and sockets");
    assert!(list.starts_with("socket"));
    // The typed text is still there: finish it as `sockets`.
    run(&mut p, "s", "RECV-Q");

    // `getho` completes to `gethost`, then lists the four gethost* words.
    send(&mut p, "getho\t");
    expect(&mut p, "gethost");
    send(&mut p, "\t");
    let listed = expect(&mut p, "gethostname");
    for w in ["gethostbyaddr", "gethostbyname", "gethostbyname_ex"] {
        assert!(listed.contains(w), "{w} is listed: {listed:?}");
    }
    run(&mut p, "name", "-> '");

    // A unique prefix completes in place.
    send(&mut p, "getservbyn\t");
    expect(&mut p, "getservbyname");
    run(&mut p, " http", "-> 80");
    assert_eq!(leave(&mut p), 0);
}

#[test]
fn tab_completes_socket_names_and_options() {
    let home = Home::new("tab-names");
    let mut p = home.spawn(false);
    run(&mut p, "listener = socket tcp", "listener = <socket fd=");

    // The argument of `close` is a socket: its name completes.
    send(&mut p, "close li\t");
    expect(&mut p, "close listener");
    // An empty argument lists the sockets on a second Tab.
    send(&mut p, "\x15"); // Ctrl-U: kill the line
    send(&mut p, "getsockname \t\t");
    expect(&mut p, "listener");
    send(&mut p, "\x15");

    // Option names complete after the socket.
    send(&mut p, "setsockopt listener SO_REUSEA\t");
    expect(&mut p, "SO_REUSEADDR");
    run(&mut p, " 1", "SO_REUSEADDR = 1");

    // Socket shorthands complete after `socket`.
    send(&mut p, "u = socket ud\t");
    expect(&mut p, "socket udp");
    run(&mut p, "", "SOCK_DGRAM");

    run(&mut p, "close listener", "closed listener");
    assert_eq!(leave(&mut p), 0);
}

/// The course's Python lines typed into the shell: Tab completes a
/// socket's methods and the socket module's functions, and a blocking
/// `sk.accept()` is interrupted by Ctrl-C like the shell's own accept.
#[test]
fn python_lines_complete_and_run() {
    let home = Home::new("python-lines");
    let mut p = home.spawn(false);
    run(&mut p, "sk = socket.socket()", "sk = <socket fd=");

    // `sk.bi` Tab: the method, with its parenthesis.
    send(&mut p, "sk.bi\t");
    expect(&mut p, "sk.bind(");
    run(&mut p, "('127.0.0.1', 0))", "chosen by the kernel");
    run(&mut p, "sk.listen(5)", "(LISTEN)");

    // `socket.gethost` Tab Tab lists the four gethost* functions.
    send(&mut p, "socket.gethost\t\t");
    let listed = expect(&mut p, "gethostname");
    for w in ["gethostbyaddr", "gethostbyname", "gethostbyname_ex"] {
        assert!(listed.contains(w), "{w} is listed: {listed:?}");
    }
    send(&mut p, "\x15"); // Ctrl-U: kill the line
    run(
        &mut p,
        "socket.gethostbyname('localhost')",
        "-> '127.0.0.1'",
    );

    send_line(&mut p, "conn, addr = sk.accept()");
    expect(&mut p, "waits for a client");
    expect(&mut p, "Ctrl-C to interrupt");
    p.send_control('c').expect("send Ctrl-C");
    expect(&mut p, "KeyboardInterrupt");
    wait_prompt(&mut p);

    // A Python loop gets an error that says what to do, and the shell lives.
    send_line(&mut p, "while True:");
    let err = wait_prompt(&mut p);
    assert!(err.contains("one call a line"), "{err:?}");
    assert!(
        err.contains("\n    ^^^^^\r"),
        "the caret is under `while`: {err:?}"
    );
    run(&mut p, "sk.close()", "closed sk");
    assert_eq!(leave(&mut p), 0);
}

#[test]
fn ctrl_c_interrupts_a_blocking_accept() {
    let home = Home::new("ctrl-c-accept");
    let mut p = home.spawn(false);
    run(&mut p, "s = socket tcp", "s = <socket fd=");
    run(&mut p, "bind s 127.0.0.1 0", "chosen by the kernel");
    run(&mut p, "listen s 5", "(LISTEN)");

    send_line(&mut p, "c = accept s");
    expect(&mut p, "waits for a client");
    expect(&mut p, "Ctrl-C to interrupt");
    p.send_control('c').expect("send Ctrl-C");
    expect(&mut p, "KeyboardInterrupt");
    wait_prompt(&mut p);

    // The shell lives, the listener is intact and still listening.
    let table = run(&mut p, "sockets", "blocking");
    assert!(table.contains("LISTEN"), "s still listens: {table:?}");
    // `c` was never bound.
    send_line(&mut p, "vars");
    let vars = wait_prompt(&mut p);
    assert!(vars.contains("s = <socket"), "s is bound: {vars:?}");
    assert!(!vars.contains("c = "), "c is not bound: {vars:?}");

    // And the next accept works: a client from the same shell.
    run(&mut p, "k = socket tcp", "k = <socket fd=");
    run(&mut p, "connect k s", "(ESTABLISHED)");
    run(&mut p, "c = accept s", "accepted a connection");
    assert_eq!(leave(&mut p), 0);
}

#[test]
fn ctrl_c_at_the_prompt_clears_the_line() {
    let home = Home::new("ctrl-c-prompt");
    let mut p = home.spawn(false);
    // Half a line that would fail if it ran (`nosuch` is no socket). The
    // echo of typed keys is split by cursor moves; the redraw with the hint
    // for the next argument shows the whole line at once.
    send(&mut p, "bind nosuch ");
    expect(&mut p, "bind nosuch addr");
    p.send_control('c').expect("send Ctrl-C");
    let between = wait_prompt(&mut p);
    assert!(
        !between.contains("Error"),
        "the half line did not run: {between:?}"
    );
    // The new line starts empty: what is typed now runs alone.
    run(&mut p, "gethostname", "-> '");
    // Ctrl-C on an empty line does nothing either.
    p.send_control('c').expect("send Ctrl-C");
    wait_prompt(&mut p);
    run(&mut p, "htons 1", "-> 256");
    assert_eq!(leave(&mut p), 0);
    let history = std::fs::read_to_string(home.history()).expect("history file");
    assert!(
        !history.contains("nosuch"),
        "an interrupted line is not history: {history:?}"
    );
}

#[test]
fn ctrl_d_closes_the_sockets_and_exits_0() {
    let home = Home::new("ctrl-d");
    let mut p = home.spawn(false);
    run(&mut p, "s = socket tcp", "s = <socket fd=");
    run(&mut p, "u = socket udp", "u = <socket fd=");
    p.send_control('d').expect("send Ctrl-D");
    expect(&mut p, "closed 2 sockets");
    p.exp_eof().expect("the shell ends after Ctrl-D");
    assert_eq!(exit_code(&mut p), 0);
}

#[test]
fn quit_with_a_status() {
    let home = Home::new("quit");
    let mut p = home.spawn(false);
    run(&mut p, "s = socket tcp", "s = <socket fd=");
    send_line(&mut p, "quit 3");
    expect(&mut p, "closed 1 socket");
    p.exp_eof().expect("the shell ends after quit");
    assert_eq!(exit_code(&mut p), 3);
}

#[test]
fn history_is_saved_and_loaded() {
    let home = Home::new("history");
    let mut p = home.spawn(false);
    run(&mut p, "gethostname", "-> '");
    run(&mut p, "htons 80", "-> 20480");
    assert_eq!(leave(&mut p), 0);

    let text = std::fs::read_to_string(home.history()).expect("the history file was written");
    let lines: Vec<&str> = text.lines().collect();
    let g = lines.iter().position(|l| *l == "gethostname");
    let h = lines.iter().position(|l| *l == "htons 80");
    assert!(
        matches!((g, h), (Some(g), Some(h)) if g < h),
        "both lines, in order: {text:?}"
    );

    // A new session starts with that history: Up recalls the last line.
    let mut p = home.spawn(false);
    send(&mut p, "\x1b[A");
    expect(&mut p, "htons 80");
    run(&mut p, "", "-> 20480");
    assert_eq!(leave(&mut p), 0);
}

#[test]
fn the_rc_file_runs_at_start() {
    let home = Home::new("rc");
    std::fs::create_dir_all(home.config_dir()).expect("config dir");
    std::fs::write(
        home.config_dir().join("sockplayrc"),
        "# my settings\nset display hex\n",
    )
    .expect("write sockplayrc");
    let mut p = home.spawn(true);
    run(&mut p, "s = socket tcp", "s = <socket fd=");
    run(&mut p, "bind s 127.0.0.1 0", "chosen by the kernel");
    run(&mut p, "listen s", "(LISTEN)");
    run(&mut p, "k = socket tcp", "k = <socket fd=");
    run(&mut p, "connect k s", "(ESTABLISHED)");
    run(&mut p, "c = accept s", "accepted a connection");
    run(&mut p, "send k b\"hello\"", "sent 5 bytes");
    send_line(&mut p, "recv c");
    expect(&mut p, "hexdump");
    expect(&mut p, "68 65 6c 6c 6f");
    expect(&mut p, "|hello|");
    wait_prompt(&mut p);
    assert_eq!(leave(&mut p), 0);

    // --no-rc leaves the default display.
    let mut p = home.spawn(false);
    run(&mut p, "set", "display = repr");
    assert_eq!(leave(&mut p), 0);
}

#[test]
fn tab_completes_peer_kinds_and_ctrl_d_stops_the_peers() {
    let home = Home::new("tab-peers");
    let mut p = home.spawn(false);

    // `serve ` lists the kinds on a second Tab; `ch` completes to chat.
    send(&mut p, "serve \t\t");
    let listed = expect(&mut p, "http");
    for w in ["chat", "daytime", "discard", "echo"] {
        assert!(listed.contains(w), "{w} is listed: {listed:?}");
    }
    send(&mut p, "\x15");
    send(&mut p, "a = serve ec\t");
    expect(&mut p, "a = serve echo");
    run(&mut p, "", "a = ('127.0.0.1', ");
    run(&mut p, "k = socket tcp", "k = <socket fd=");
    run(&mut p, "connect k a", "(ESTABLISHED)");
    run(&mut p, "send k b\"hi\"", "sent 2 bytes");
    run(&mut p, "recv k", "-> b'hi'");

    // The peers stop with the shell.
    p.send_control('d').expect("send Ctrl-D");
    expect(&mut p, "# stopped 1 peer");
    p.exp_eof().expect("the shell ends after Ctrl-D");
    assert_eq!(exit_code(&mut p), 0);
}

#[test]
fn a_command_without_arguments_asks_for_them() {
    let home = Home::new("prompts");
    let mut p = home.spawn(false);
    run(&mut p, "s = socket tcp", "s = <socket fd=");
    send_line(&mut p, "bind");
    // The socket: Enter takes the last one used.
    expect(&mut p, "socket [s]: ");
    send_line(&mut p, "");
    expect(&mut p, "host [0.0.0.0]: ");
    send_line(&mut p, "127.0.0.1");
    expect(&mut p, "port [0]: ");
    send_line(&mut p, "");
    // The whole command is shown, then run.
    expect(&mut p, "-> bind s 127.0.0.1 0");
    expect(&mut p, "bound s to 127.0.0.1:");
    wait_prompt(&mut p);
    // Ctrl-C at a prompt cancels the command: nothing runs.
    send_line(&mut p, "listen");
    expect(&mut p, "socket [s]: ");
    p.send_control('c').expect("ctrl-c");
    wait_prompt(&mut p);
    let out = run(&mut p, "sockets", "blocking");
    assert!(out.contains("CLOSED"), "the listen ran after all: {out}");
    assert_eq!(leave(&mut p), 0);
}

impl Home {
    /// Starts `sockplay ARGS` (a script, not the shell) in a PTY.
    fn spawn_args(&self, args: &[&str]) -> PtySession {
        common::pty::start(self.command(args), TIMEOUT_MS)
    }
}

const STEPS: &str = "\
# Step one: a value
echo \"first output\"
expect \"first output\"
# Step two: another
echo \"second output\"
# Step three
echo \"third output\"
";

#[test]
fn step_mode_shows_each_step_and_waits_for_enter() {
    let home = Home::new("step");
    std::fs::write(home.scratch.path().join("steps.sp"), STEPS).expect("write script");
    let mut p = home.spawn_args(&["--step", "steps.sp"]);
    // The narration is the step's title; the command is shown, not run.
    expect(&mut p, "Step one: a value");
    expect(&mut p, "Enter runs it, q then Enter leaves");
    let shown = expect(&mut p, "echo \"first output\"");
    assert!(
        shown.contains(PROMPT),
        "the command follows a prompt: {shown:?}"
    );
    // Nothing ran yet: the output comes only after Enter.
    std::thread::sleep(Duration::from_millis(300));
    send_line(&mut p, "");
    let before = expect(&mut p, "first output");
    assert!(
        !before.contains("second"),
        "step two is not shown before step one ran: {before:?}"
    );
    // The expect after it runs without a key press.
    expect(&mut p, "output has \"first output\"");
    expect(&mut p, "Step two: another");
    expect(&mut p, "echo \"second output\"");
    // Keys pressed while a command is typed out are dropped: wait for the
    // end of it.
    std::thread::sleep(Duration::from_millis(100));
    send_line(&mut p, "");
    expect(&mut p, "  second output");
    // q then Enter leaves before step three runs, with status 0.
    expect(&mut p, "echo \"third output\"");
    std::thread::sleep(Duration::from_millis(100));
    send_line(&mut p, "q");
    expect(&mut p, "# left steps.sp before line 7");
    let rest = p.exp_eof().expect("sockplay ends after q");
    assert!(
        !rest.contains("  third output"),
        "step three did not run: {rest:?}"
    );
    assert_eq!(exit_code(&mut p), 0);
}

#[test]
fn a_bundled_lesson_steps_to_its_end() {
    let home = Home::new("step-lesson");
    let mut p = home.spawn_args(&["--lesson", "1", "--step"]);
    expect(&mut p, "Host names, addresses, ports and byte order");
    // Each command of the lesson is shown, then run on Enter.
    let text = sockplay::lessons::get(1).expect("lesson 1").text;
    let commands: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("expect"))
        .collect();
    assert!(
        commands.len() >= 10,
        "lesson 1 has {} steps",
        commands.len()
    );
    for c in &commands {
        expect(&mut p, &format!("{PROMPT}{c}"));
        // Keys pressed while a command is typed out are dropped: it is
        // shown in full now.
        std::thread::sleep(Duration::from_millis(50));
        send_line(&mut p, "");
    }
    expect(&mut p, "needs no htons");
    p.exp_eof().expect("the lesson ends");
    assert_eq!(exit_code(&mut p), 0);
}

#[test]
fn the_shell_defines_macros_and_checks_expects() {
    let home = Home::new("shell-macro");
    let mut p = home.spawn(false);
    send_line(&mut p, "macdef twice");
    expect(&mut p, "defining macro twice");
    expect(&mut p, "macro> ");
    send_line(&mut p, "echo $1");
    expect(&mut p, "macro> ");
    send_line(&mut p, "echo $1");
    expect(&mut p, "macro> ");
    send_line(&mut p, "");
    expect(&mut p, "macro twice defined (2 lines)");
    wait_prompt(&mut p);
    send_line(&mut p, "$twice \"hey\"");
    expect(&mut p, "hey");
    expect(&mut p, "hey");
    wait_prompt(&mut p);
    run(&mut p, "expect \"hey\"", "output has \"hey\"");
    send_line(&mut p, "expect \"nope\"");
    expect(&mut p, "expect failed");
    expect(&mut p, "expected: output containing \"nope\"");
    wait_prompt(&mut p);
    // The shell goes on after a failed expect.
    run(&mut p, "htons 1", "-> 256");
    assert_eq!(leave(&mut p), 0);
}

#[test]
fn tab_after_on_host_and_an_ideographic_space_keeps_the_shell_alive() {
    // An input method's blank (U+3000, three bytes) after `on HOST`: Tab
    // once panicked on slicing inside it (found in review).
    let home = Home::new("tab-on-blank");
    let mut p = home.spawn(false);
    send(&mut p, "on a\u{3000}s\t\t");
    std::thread::sleep(Duration::from_millis(300));
    send(&mut p, "\x15");
    // Still the shell: it answers the next line.
    run(&mut p, "inet_aton 10.0.0.1", r"-> b'\n\x00\x00\x01'");
    assert_eq!(leave(&mut p), 0);
}

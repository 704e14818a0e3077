//! What a newcomer types in the first minutes, in a real pseudo-terminal
//! (rexpect, see tests/common/pty.rs): a lesson left half-way leaves no
//! socket file behind, a word that is no command, `clear` and Ctrl-L, Tab
//! after `send `, `reset`.
//!
//! Every session is sealed from the user's own setup (`--no-rc`, history
//! and config in a scratch directory, TERM=xterm, no colour); escape
//! sequences are stripped by the reader, so the expectations are plain
//! text. The shell drops keys typed ahead of its prompt, so every line
//! waits for the prompt first.

mod common;

use common::Scratch;
use common::pty::{TIMEOUT_MS, expect, send_line, set_columns};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A scratch directory with an empty working directory inside it, for a
/// session whose history and config live outside that directory.
struct Home {
    scratch: Scratch,
}

impl Home {
    fn new(tag: &str) -> Home {
        let scratch = Scratch::new(&format!("newcomer-{tag}"));
        std::fs::create_dir(scratch.path().join("cwd")).expect("cwd");
        Home { scratch }
    }

    fn cwd(&self) -> PathBuf {
        self.scratch.path().join("cwd")
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        common::pty::command(
            &self.cwd(),
            &self.scratch.path().join("history"),
            &self.scratch.path().join("config"),
            args,
        )
    }

    /// The names in the working directory.
    fn left(&self) -> Vec<String> {
        list(&self.cwd())
    }
}

fn list(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Step mode: waits until `command` is shown in full, then presses Enter
/// (keys pressed while a command is typed out are dropped).
fn step(p: &mut rexpect::session::PtySession, command: &str) {
    expect(p, &format!("sockplay> {command}"));
    std::thread::sleep(Duration::from_millis(50));
    send_line(p, "");
}

#[test]
fn a_lesson_left_half_way_leaves_no_socket_file() {
    let home = Home::new("lesson8-q");
    let mut p = common::pty::start(home.command(&["--lesson", "8", "--step"]), TIMEOUT_MS);
    step(&mut p, "unlink ./lesson8.sock");
    step(&mut p, "s = socket unix");
    step(&mut p, "bind s ./lesson8.sock");
    expect(&mut p, "bind created the socket file ./lesson8.sock");
    // The file is real while the lesson runs...
    expect(&mut p, "sockplay> listen s 5");
    assert_eq!(home.left(), ["lesson8.sock"]);
    // ...and gone once the teacher leaves half-way.
    std::thread::sleep(Duration::from_millis(50));
    send_line(&mut p, "q");
    expect(&mut p, "# left lessons/08-unix.sp");
    expect(
        &mut p,
        "removed the socket file ./lesson8.sock that the lesson made",
    );
    p.exp_eof().expect("sockplay ends after q");
    assert!(home.left().is_empty(), "left behind: {:?}", home.left());
}

/// The shell in a PTY whose escape sequences are kept (to see the screen
/// being cleared), in `home`'s empty directory.
fn raw_shell(home: &Home) -> rexpect::session::PtySession {
    let mut cmd = home.command(&["--no-rc"]);
    cmd.env_remove("COLUMNS").env_remove("LINES");
    let opts = rexpect::session::Options::new()
        .timeout_ms(Some(TIMEOUT_MS))
        .strip_ansi_escape_codes(false);
    let mut p = rexpect::session::spawn_with_options(cmd, opts).expect("spawn sockplay");
    expect(&mut p, "Ctrl-D leaves.");
    expect(&mut p, "sockplay> ");
    p
}

#[test]
fn a_word_that_is_no_command_is_an_unknown_command_and_clear_clears() {
    let home = Home::new("clear");
    let mut p = common::pty::spawn_with(&home.cwd(), TIMEOUT_MS);
    // Not a NameError that says to quote it: a command with a typo.
    let out = common::pty::run(&mut p, "clera", "did you mean `clear`?");
    assert!(out.contains("unknown command `clera`"), "{out:?}");
    assert!(!out.contains("NameError"), "{out:?}");
    let out = common::pty::run(&mut p, "frobnicate", "(type `help` for the list)");
    assert!(out.contains("unknown command `frobnicate`"), "{out:?}");
    // A name bound is still shown by its name alone.
    common::pty::run(&mut p, "data = b\"hi\"", "data = b'hi'");
    common::pty::run(&mut p, "data", "-> b'hi'");
    // `help` says how to clear the screen.
    common::pty::run(&mut p, "help", "clear the screen (Ctrl-L too)");
    common::pty::leave(&mut p);
}

#[test]
fn clear_and_ctrl_l_clear_the_screen() {
    let home = Home::new("clear-raw");
    let mut p = raw_shell(&home);
    send_line(&mut p, "clear");
    // Cursor home, screen erased, then the prompt at the top.
    expect(&mut p, "\x1b[H\x1b[2J");
    expect(&mut p, "sockplay> ");
    // Ctrl-L with a line half typed: the screen is cleared and the line
    // kept.
    common::pty::send(&mut p, "echo \"still here\"");
    // The line is drawn a key at a time: give it a moment.
    std::thread::sleep(Duration::from_millis(200));
    p.send_control('l').expect("Ctrl-L");
    p.exp_regex(r"\x1b\[H\x1b\[2?J")
        .expect("Ctrl-L clears the screen");
    send_line(&mut p, "");
    expect(&mut p, "  still here");
    expect(&mut p, "sockplay> ");
    common::pty::leave(&mut p);
    assert!(home.left().is_empty(), "left behind: {:?}", home.left());
}

#[test]
fn reset_starts_again_without_leaving() {
    let home = Home::new("reset");
    let mut p = common::pty::spawn_with(&home.cwd(), TIMEOUT_MS);
    // The first socket's fd (rexpect's child inherits two descriptors,
    // so it is not 3 here): the same number comes again after reset.
    send_line(&mut p, "s = socket tcp");
    expect(&mut p, "s = <socket fd=");
    let fd = expect(&mut p, " AF_INET");
    common::pty::wait_prompt(&mut p);
    common::pty::run(&mut p, "bind s 127.0.0.1 0; listen s", "LISTEN");
    common::pty::run(&mut p, "c = accept s &", "[1] c = accept s");
    common::pty::run(&mut p, "a = serve echo", "a = ('127.0.0.1'");
    send_line(&mut p, "reset");
    expect(&mut p, "[1] cancelled (reset): c = accept s");
    expect(&mut p, &format!("closed 1 socket: s (fd {fd})"));
    expect(&mut p, "stopped 1 built-in peer: 1 (echo on 127.0.0.1:");
    expect(&mut p, "forgot 2 names: a, s");
    expect(&mut p, "a fresh start");
    common::pty::wait_prompt(&mut p);
    // Still the same shell: the first fd and peer 1 again, one name.
    common::pty::run(
        &mut p,
        "k = socket tcp",
        &format!("k = <socket fd={fd} AF_INET"),
    );
    common::pty::run(&mut p, "serve echo", "peer 1: echo server");
    common::pty::run(&mut p, "fileno s", "NameError: name 's' is not defined");
    common::pty::leave(&mut p);
}

#[test]
fn tab_after_send_lists_the_sockets_with_their_fds() {
    let home = Home::new("tab-send");
    let mut p = common::pty::spawn_with(&home.cwd(), TIMEOUT_MS);
    common::pty::run(&mut p, "s = socket tcp", "s = <socket");
    common::pty::run(&mut p, "k = socket tcp", "k = <socket");
    // A socket without a name: its fd is how to name it.
    send_line(&mut p, "socket udp");
    expect(&mut p, "<socket fd=");
    let fd = expect(&mut p, " AF_INET SOCK_DGRAM");
    common::pty::wait_prompt(&mut p);
    common::pty::send(&mut p, "send ");
    // The usage's hint shows once the blank is in.
    expect(&mut p, "# send bytes, once");
    // Tab twice: the first completes what all share (nothing), the second
    // lists them.
    common::pty::send(&mut p, "\t\t");
    let k_fd: i32 = fd.trim().parse::<i32>().expect("an fd") - 1;
    let s_fd = k_fd - 1;
    let list = expect(&mut p, "(the last socket used: fd ");
    assert!(list.contains(&format!("k  (fd {k_fd})")), "{list:?}");
    assert!(list.contains(&format!("s  (fd {s_fd})")), "{list:?}");
    assert!(
        list.contains(&format!("{}  (fd {}, no name)", fd.trim(), fd.trim())),
        "{list:?}"
    );
    // A bare `.` with no word of what it is, and names repeated as fds, are
    // gone.
    assert!(!list.contains(&format!("{s_fd}  ")), "{list:?}");
    // The line gets the name alone.
    common::pty::send(&mut p, "k\t b\"hi\"\r");
    // k is not connected: the error quotes the line as completed.
    expect(&mut p, "    send k b\"hi\"");
    common::pty::wait_prompt(&mut p);
    common::pty::leave(&mut p);
}

/// `help` (and `help peers`) fit the terminal: at 70 columns and at 100,
/// no line is wider, and a long usage (`select ...`) has its summary on
/// the next line.
#[test]
fn help_fits_the_terminal() {
    let home = Home::new("help-width");
    let mut p = common::pty::spawn_with(&home.cwd(), TIMEOUT_MS);
    for cols in [70usize, 100] {
        set_columns(&p, cols as u16);
        for (cmd, last) in [
            ("help", "(sk.bind(('127.0.0.1', 9000)))"),
            ("help peers", "kept)."),
        ] {
            send_line(&mut p, cmd);
            let out = expect(&mut p, last);
            common::pty::wait_prompt(&mut p);
            for line in out.lines().skip(1) {
                let line = line.trim_end_matches('\r');
                assert!(
                    line.chars().count() <= cols,
                    "{cols} columns, `{cmd}`: {line:?}"
                );
            }
            if cmd == "help" {
                let lines: Vec<&str> = out.lines().map(|l| l.trim_end_matches('\r')).collect();
                let k = lines
                    .iter()
                    .position(|l| l.trim().starts_with("select read s..."))
                    .expect("select's usage");
                assert!(
                    lines[k + 1]
                        .trim_start()
                        .starts_with("wait until one of several"),
                    "{:?}",
                    &lines[k..k + 2]
                );
            }
        }
    }
    common::pty::leave(&mut p);
}

/// A background accept that completes while the prompt shows gets the
/// number a script (and a Python program) gives it: the line editor's own
/// descriptors, opened for each line, do not push it up (it once came out
/// fd 7 or fd 5 depending on who was quicker). Five times in a row.
#[test]
fn a_job_accept_at_the_prompt_gets_the_next_fd() {
    let home = Home::new("job-fd");
    let mut p = common::pty::spawn_with(&home.cwd(), TIMEOUT_MS);
    send_line(&mut p, "s = socket tcp");
    expect(&mut p, "s = <socket fd=");
    let s_fd: i32 = expect(&mut p, " AF_INET").trim().parse().expect("s's fd");
    common::pty::wait_prompt(&mut p);
    common::pty::run(&mut p, "bind s 127.0.0.1 0; listen s", "LISTEN");
    for round in 0..5 {
        common::pty::run(&mut p, "c = accept s &", "accept queue 0/");
        common::pty::run(
            &mut p,
            "k = socket tcp",
            &format!("k = <socket fd={} AF_INET", s_fd + 1),
        );
        send_line(&mut p, "connect k s");
        let report = expect(&mut p, "c = <socket fd=");
        assert!(
            report.contains(&format!("as a new socket, fd {}", s_fd + 2)),
            "round {round}: {report:?}"
        );
        common::pty::wait_prompt(&mut p);
        common::pty::run(&mut p, "close c; close k", "closed k");
    }
    common::pty::leave(&mut p);
}

/// In an 80-column terminal: the socket table leaves out its least needed
/// columns (and says so) rather than wrap every row; a long note, warning
/// or hint wraps between words, under its first word; and what `expect`
/// reads is the whole line still (lesson 8's expects hold).
#[test]
fn an_80_column_terminal_gets_tables_and_notes_that_fit() {
    let home = Home::new("w80");
    let mut p = common::pty::spawn_with(&home.cwd(), TIMEOUT_MS);
    set_columns(&p, 80);
    let lesson = common::pty::run(&mut p, "lesson 8 check", "every command ran and");
    assert!(!lesson.contains("expect failed"), "{lesson}");
    common::pty::run(
        &mut p,
        "s = socket tcp; bind s 127.0.0.1 0; listen s; k = socket tcp; connect k s; c = accept s",
        "ESTABLISHED>",
    );
    send_line(&mut p, "close k");
    // The note ends with `shows it`.
    let note = expect(&mut p, "shows it") + "shows it";
    common::pty::wait_prompt(&mut p);
    send_line(&mut p, "sockets");
    let table = expect(&mut p, "left out to fit the terminal");
    common::pty::wait_prompt(&mut p);
    for line in table.lines().skip(1) {
        let line = line.trim_end_matches('\r');
        assert!(line.chars().count() <= 80, "too wide: {line:?}");
    }
    let head = table
        .lines()
        .find(|l| l.contains("  FD  NAME"))
        .expect("the table's heading");
    assert!(head.contains("STATE"), "{table}");
    assert!(!head.contains("READY"), "{table}");
    assert!(table.contains("# MODE, READY"), "{table}");
    // The note after `close k`: on several lines, no word cut, and the
    // same words as the whole note.
    let lines: Vec<&str> = note
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.is_empty())
        .collect();
    let k = lines
        .iter()
        .position(|l| l.starts_with("  # FIN sent"))
        .expect("the note");
    let mut words = String::new();
    for (j, l) in lines[k..].iter().enumerate() {
        assert!(l.chars().count() <= 80, "{l:?}");
        if j > 0 {
            assert!(l.starts_with("    ") && !l.starts_with("     "), "{l:?}");
        }
        words.push_str(l.trim());
        words.push(' ');
    }
    assert!(lines.len() - k >= 2, "wrapped: {lines:?}");
    assert!(
        words.contains("the connection lives on in the kernel (FIN_WAIT, then TIME_WAIT)"),
        "{words}"
    );
    common::pty::leave(&mut p);
}

/// Step mode waits for Enter on the terminal it opens: that descriptor is
/// the shell's own, so lesson 2's background accept, completing while a
/// step waits, numbers c right after s and k (it came out one higher).
#[test]
fn a_lesson_in_step_mode_numbers_c_after_s_and_k() {
    let home = Home::new("step-fd");
    let mut p = common::pty::start(home.command(&["--lesson", "2", "--step"]), TIMEOUT_MS);
    step(&mut p, "s = socket tcp");
    expect(&mut p, "s = <socket fd=");
    let s_fd: i32 = expect(&mut p, " AF_INET").trim().parse().expect("s's fd");
    for c in [
        "bind s 127.0.0.1 0",
        "listen s 5",
        "c, addr = accept s &",
        "k = socket tcp",
        "connect k s",
        "wait",
    ] {
        step(&mut p, c);
    }
    let report = expect(&mut p, "c = <socket fd=");
    assert!(
        report.contains(&format!("as a new socket, fd {}", s_fd + 2)),
        "{report:?}"
    );
    step(&mut p, "sockets");
    expect(&mut p, "sockplay> send k b\"hello\"");
    std::thread::sleep(Duration::from_millis(50));
    send_line(&mut p, "q");
    p.exp_eof().expect("sockplay ends after q");
}

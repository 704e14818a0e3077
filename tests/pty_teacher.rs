//! What a teacher sees running lessons and scripts on an 80-column
//! terminal, in a real pseudo-terminal (rexpect, see tests/common/pty.rs):
//! the screen is fitted to the terminal, what `expect` checks is not.

mod common;

use common::Scratch;
use common::pty::{TIMEOUT_MS, expect};
use rexpect::session::PtySession;
use std::process::Command;
use std::time::{Duration, Instant};

/// sockplay with `args` in `dir`, in a PTY whose window is `cols` wide
/// before sockplay starts (it measures the terminal once, at start).
fn in_terminal(dir: &std::path::Path, cols: u16, args: &[&str]) -> PtySession {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "stty cols {cols} rows 40 && exec \"$0\" --color never --no-rc \"$@\""
        ))
        .arg(common::BIN)
        .args(args)
        .current_dir(dir)
        .env("TERM", "xterm")
        .env("NO_COLOR", "1")
        .env("SOCKPLAY_HISTORY", dir.join("history"))
        .env("SOCKPLAY_CONFIG_DIR", dir.join("config"))
        .env_remove("COLUMNS")
        .env_remove("LINES");
    common::pty::start(cmd, TIMEOUT_MS)
}

fn exit_code(p: &mut PtySession) -> i32 {
    use rexpect::process::WaitStatus;
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

/// A table narrowed to fit 80 columns (`sockets` without MODE and READY,
/// `peers` without its byte counts) still passes the expects written
/// against the whole table: lessons 14 and 18 failed in front of a class
/// on an 80-column terminal, and passed in `--check` and in a pipe.
#[test]
fn expects_read_the_whole_table_on_a_narrow_terminal() {
    let dir = Scratch::new("teacher-narrow");
    std::fs::write(
        dir.path().join("t.sp"),
        "s = socket tcp\nbind s 127.0.0.1 0\nlisten s 5\nk = socket tcp\n\
         connect k s\nc = accept s\nsockets\n\
         expect /c +TCP +127\\.0\\.0\\.1:\\d+ +127\\.0\\.0\\.1:\\d+ +ESTABLISHED +0 +0 +blocking/\n\
         p = serve echo\nj = socket tcp\nconnect j p\nsend j b\"hi\"\nrecv j\nsleep 0.2\npeers\n\
         expect /echo .* running .* 2 +2 /\n\
         echo \"all-checked\"\n",
    )
    .expect("write t.sp");
    let mut p = in_terminal(dir.path(), 80, &["t.sp"]);
    // The screen is still fitted to the terminal...
    expect(&mut p, "left out to fit the terminal");
    let rest = expect(&mut p, "all-checked\r\n");
    let tail = p.exp_eof().expect("the script ends");
    let rest = rest + &tail;
    assert!(!rest.contains("expect failed"), "{rest}");
    assert_eq!(exit_code(&mut p), 0, "{rest}");
}

/// A socket's repr wider than the terminal (`c = <socket fd=5 AF_INET
/// SOCK_STREAM laddr=... raddr=... ESTABLISHED>`, 90 columns) is broken
/// before its addresses, not cut by the terminal inside the peer's port
/// (`raddr=127.0.0.1:4` / `9742`), whether a call returned it or a job's
/// report did. What a call did, in words (`c now has a timeout of 0.5 s:
/// ...`), is wrapped between words as notes are.
#[test]
fn a_socket_repr_is_broken_between_its_fields_at_80_columns() {
    let dir = Scratch::new("teacher-repr");
    std::fs::write(
        dir.path().join("t.sp"),
        "s = socket tcp\nbind s 127.0.0.1 0\nlisten s 5\nk = socket tcp\n\
         connect k s\nc = accept s\nexpect /c = <socket fd=5 AF_INET SOCK_STREAM laddr=\\S+ raddr=\\S+ ESTABLISHED>/\n\
         c2, a2 = accept s &\nk2 = socket tcp\nconnect k2 s\nwait\n\
         settimeout c 0.5\nexpect \"then raises TimeoutError\"\n\
         echo \"all-checked\"\n",
    )
    .expect("write t.sp");
    let mut p = in_terminal(dir.path(), 80, &["t.sp"]);
    let out = expect(&mut p, "all-checked\r\n");
    let tail = p.exp_eof().expect("the script ends");
    assert_eq!(exit_code(&mut p), 0, "{out}{tail}");
    for line in out.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with("sockplay> ") || line.contains("output matches /") {
            continue; // the command as typed, and the expect's own regex
        }
        assert!(line.chars().count() <= 80, "wider than 80: {line:?}");
    }
    for name in ["c", "c2"] {
        let head = format!("{name} = <socket fd=");
        let all: Vec<&str> = out.lines().collect();
        let k = all
            .iter()
            .position(|l| l.trim_start().starts_with(&head))
            .unwrap_or_else(|| panic!("{head} in {out}"));
        let lines = &all[k..k + 2];
        assert!(lines[0].contains(" laddr=127.0.0.1:"), "{lines:?}");
        let next = lines[1].trim_end_matches('\r');
        let col = lines[0].find('<').expect("<") + 1;
        assert!(
            next.len() > col
                && next[..col].trim().is_empty()
                && next[col..].starts_with("raddr=127.0.0.1:")
                && next.ends_with(" ESTABLISHED>"),
            "{lines:?}"
        );
    }
}

/// The first lines a learner sees fit 80 columns: the banner was one line
/// of 125 columns, cut by the terminal inside `completes`.
#[test]
fn the_banner_fits_80_columns() {
    let dir = Scratch::new("teacher-banner");
    let mut p = in_terminal(dir.path(), 80, &[]);
    let before = expect(&mut p, "Ctrl-D leaves.");
    let banner = format!("{before}Ctrl-D leaves.");
    for line in banner.lines() {
        let line = line.trim_end_matches('\r');
        assert!(line.chars().count() <= 80, "wider than 80: {line:?}");
    }
    assert!(banner.contains("Tab completes"), "{banner}");
    common::pty::wait_prompt(&mut p);
    p.send_control('d').expect("Ctrl-D");
    p.exp_eof().expect("the shell ends");
}

/// `help diagram` said `diagram save` never replaces a file; the shell asks
/// (`d.svg exists: replace it? [y/N]`), and only a script never does.
#[test]
fn help_diagram_says_the_shell_asks_before_replacing() {
    let dir = Scratch::new("teacher-help-diagram");
    let mut p = in_terminal(dir.path(), 80, &["-c", "help diagram"]);
    let out = p.exp_eof().expect("sockplay ends");
    let text = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(!text.contains("never replacing a file"), "{text}");
    assert!(
        text.contains("asks before it replaces a file; a script never replaces one"),
        "{text}"
    );
    // Wireshark's Flow Graph is what to use without sockplay, not Python.
    assert!(!text.contains("python: (Wireshark"), "{text}");
    assert!(
        text.contains("without sockplay: Wireshark: Statistics > Flow Graph"),
        "{text}"
    );
}

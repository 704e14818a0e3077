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

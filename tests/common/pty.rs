//! The interactive shell in a real pseudo-terminal (rexpect), sealed from
//! the user's own setup: history and config where the test says, TERM=xterm,
//! no colour, escape sequences stripped by the reader (the expectations
//! are plain text). Every expectation has a timeout; a session still alive
//! when a test ends is killed when it is dropped.

use rexpect::session::{Options, PtySession, spawn_with_options};
use std::path::Path;
use std::process::Command;

/// How long one expectation may wait.
pub const TIMEOUT_MS: u64 = 5_000;

pub const PROMPT: &str = "sockplay> ";

/// sockplay with `--color never` and `args`, in `dir`, TERM=xterm, no
/// colour, its history file and config directory at `history` and
/// `config`.
pub fn command(dir: &Path, history: &Path, config: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(super::BIN);
    cmd.args(["--color", "never"])
        .args(args)
        .current_dir(dir)
        .env("TERM", "xterm")
        .env("NO_COLOR", "1")
        .env("SOCKPLAY_HISTORY", history)
        .env("SOCKPLAY_CONFIG_DIR", config);
    cmd
}

/// Starts `cmd` in a PTY, each expectation waiting at most `timeout_ms`.
pub fn start(cmd: Command, timeout_ms: u64) -> PtySession {
    let opts = Options::new()
        .timeout_ms(Some(timeout_ms))
        .strip_ansi_escape_codes(true);
    spawn_with_options(cmd, opts).expect("spawn sockplay in a pty")
}

/// Starts the shell `cmd` (the terminal's own size: COLUMNS and LINES
/// unset) in a PTY and waits for its banner and first prompt.
pub fn start_shell(mut cmd: Command, timeout_ms: u64) -> PtySession {
    cmd.env_remove("COLUMNS").env_remove("LINES");
    let mut p = start(cmd, timeout_ms);
    expect(&mut p, "Ctrl-D leaves.");
    wait_prompt(&mut p);
    p
}

/// The shell with `--no-rc`, its history and config in `dir`, each
/// expectation waiting at most `timeout_ms`; waits for its first prompt.
pub fn spawn_with(dir: &Path, timeout_ms: u64) -> PtySession {
    let cmd = command(dir, &dir.join("history"), &dir.join("config"), &["--no-rc"]);
    start_shell(cmd, timeout_ms)
}

/// The same, each expectation waiting at most `TIMEOUT_MS`.
pub fn spawn(dir: &Path) -> PtySession {
    spawn_with(dir, TIMEOUT_MS)
}

/// Waits for `needle`; returns what came before it. Fails with what was seen.
pub fn expect(p: &mut PtySession, needle: &str) -> String {
    match p.exp_string(needle) {
        Ok(before) => before,
        Err(e) => panic!("expected {needle:?} on the screen: {e}"),
    }
}

/// Waits for the prompt; returns what came before it. Keys sent before the
/// prompt is drawn can be lost (rustyline drops its read-ahead buffer
/// between lines), so every line is typed only after this.
pub fn wait_prompt(p: &mut PtySession) -> String {
    expect(p, PROMPT)
}

/// Types keys without Enter.
pub fn send(p: &mut PtySession, text: &str) {
    p.send(text).expect("write to the pty");
    p.flush().expect("flush the pty");
}

/// Types `line` and Enter.
pub fn send_line(p: &mut PtySession, line: &str) {
    p.send_line(line).expect("write a line to the pty");
}

/// Types `line` and Enter, waits for `needle` and then the next prompt
/// (the shell drops keys typed before its prompt, so every line waits for
/// it). Returns the output up to the needle.
pub fn run(p: &mut PtySession, line: &str, needle: &str) -> String {
    send_line(p, line);
    let before = expect(p, needle);
    wait_prompt(p);
    before
}

/// Ctrl-D at an empty prompt; the shell ends.
pub fn leave(p: &mut PtySession) {
    p.send_control('d').expect("send Ctrl-D");
    p.exp_eof().expect("the shell ends after Ctrl-D");
}

/// Sets the PTY's size, as a terminal window resized to `cols` does.
pub fn set_columns(p: &PtySession, cols: u16) {
    use std::os::fd::AsRawFd;
    let master = p.process().get_file_handle().expect("the pty");
    let ws = libc::winsize {
        ws_row: 40,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads the winsize it is given.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    assert_eq!(rc, 0, "set the window size");
}

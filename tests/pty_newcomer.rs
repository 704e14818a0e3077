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
use common::pty::{TIMEOUT_MS, expect, send_line};
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

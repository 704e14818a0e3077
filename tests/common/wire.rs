//! The capture's side of the tests through the real binary: whether the
//! capture can run here (root, or `--lab`), a script run with it, and the
//! output of one statement.

use super::Scratch;

pub fn root() -> bool {
    // SAFETY: geteuid only reads the process's credentials.
    unsafe { libc::geteuid() == 0 }
}

/// The flags that let the capture run here: none as root, `--lab`
/// otherwise (None when neither works).
pub fn capture_args() -> Option<Vec<&'static str>> {
    if root() {
        return Some(Vec::new());
    }
    let scratch = Scratch::new("wire-lab-probe");
    let run = super::run_in(scratch.path(), &["--lab", "-c", "quit"], None);
    if run
        .output
        .contains("lab: this shell runs in a network of its own")
    {
        Some(vec!["--lab"])
    } else {
        eprintln!(
            "skipped: no capture here (not root, and --lab: {})",
            run.output.trim()
        );
        None
    }
}

/// Runs `script` (one statement a line) with `-c --keep-going` and the
/// capture; returns the output (stdout and stderr merged). None: skipped.
pub fn run(scratch: &Scratch, script: &str) -> Option<String> {
    let mut args = capture_args()?;
    args.extend(["--keep-going", "-c", script]);
    let run = super::run_in(scratch.path(), &args, None);
    assert!(run.status.is_some(), "killed after 30 s:\n{}", run.output);
    Some(run.output)
}

/// The output of statement `stmt`: the lines after its echo, up to the
/// next prompt.
pub fn section<'a>(out: &'a str, stmt: &str) -> Vec<&'a str> {
    let echo = format!("sockplay> {stmt}");
    let mut lines = out.lines().skip_while(|l| *l != echo);
    assert!(lines.next().is_some(), "no `{stmt}` in:\n{out}");
    lines.take_while(|l| !l.starts_with("sockplay> ")).collect()
}

/// The output of `stmt` as one line of words (a long note wraps).
pub fn flat(out: &str, stmt: &str) -> String {
    section(out, stmt)
        .iter()
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ")
}

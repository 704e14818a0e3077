//! Helpers shared by the integration tests: run the real binary with a
//! deadline, stdout and stderr merged in order, in a scratch directory.

#![allow(dead_code)]

pub mod proc;
pub mod pty;
pub mod screen;
pub mod wire;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_sockplay");

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("sockplay-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child killed and reaped when dropped, so that a failing test leaves
/// no process behind (a sockplay waiting in accept would run on).
pub struct Reap(pub Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for a child at most `limit`, killing it after.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return st.code(),
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Output of a run: stdout and stderr merged as written, and the status
/// (None when it had to be killed).
pub struct Run {
    pub output: String,
    pub status: Option<i32>,
}

/// Seals a command that runs sockplay from the user's own setup: it runs
/// in `dir`, which holds its config directory and history file, and
/// NO_COLOR is unset.
pub fn seal<'a>(cmd: &'a mut Command, dir: &Path) -> &'a mut Command {
    cmd.current_dir(dir)
        .env("SOCKPLAY_CONFIG_DIR", dir.join(".config"))
        .env("SOCKPLAY_HISTORY", dir.join(".history"))
        .env_remove("NO_COLOR")
}

/// sockplay with `--color never` and `args`, sealed in `dir` (`seal`).
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["--color", "never"]).args(args);
    seal(&mut cmd, dir);
    cmd
}

/// Runs sockplay with `args` in `dir`, no colour, no rc file, at most 30 s.
pub fn run_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let out_path = dir.join(".output");
    let f = File::create(&out_path).expect("output file");
    let mut cmd = command(dir, args);
    cmd.stdout(Stdio::from(f.try_clone().expect("clone")))
        .stderr(Stdio::from(f));
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().expect("spawn sockplay");
    if let Some(text) = stdin {
        use std::io::Write;
        let mut s = child.stdin.take().expect("stdin");
        s.write_all(text.as_bytes()).expect("write stdin");
    }
    let status = wait_bounded(&mut child, Duration::from_secs(30));
    let output =
        String::from_utf8_lossy(&std::fs::read(&out_path).unwrap_or_default()).into_owned();
    let _ = std::fs::remove_file(&out_path);
    Run { output, status }
}

/// True when a program is on PATH. With SOCKPLAY_REQUIRE_PEERS=1 a missing
/// peer fails the test instead of skipping it.
pub fn have_peer(program: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    if !found {
        if std::env::var("SOCKPLAY_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
            panic!("peer program `{program}` is missing and SOCKPLAY_REQUIRE_PEERS=1");
        }
        eprintln!("skipped: `{program}` is not installed");
    }
    found
}

/// `k` connected to `c` through listener `s`: the start of many scripts.
pub const PAIR: &str = "s = socket tcp\n\
                        bind s 127.0.0.1 0\n\
                        listen s\n\
                        k = socket tcp\n\
                        connect k s\n\
                        c, addr = accept s\n";

/// Runs `text` as the script file `t.sp` in `dir` (`sockplay ARGS t.sp`).
pub fn script(dir: &Path, args: &[&str], text: &str) -> Run {
    std::fs::write(dir.join("t.sp"), text).expect("write the script");
    let mut all: Vec<&str> = args.to_vec();
    all.push("t.sp");
    run_in(dir, &all, None)
}

/// Fails unless the run's output holds `want`.
pub fn has(run: &Run, want: &str) {
    assert!(
        run.output.contains(want),
        "{want:?} in the output:\n{}",
        run.output
    );
}

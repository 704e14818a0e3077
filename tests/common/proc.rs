//! Live children: sockplay reading its commands from a pipe as they
//! arrive, and the peer programs it talks to, their output read by threads
//! as it is written, so a test waits for the output that shows a step is
//! done instead of sleeping. Every wait has a deadline (the `limit` a test
//! gives), and a child is killed and reaped when its `Proc` is dropped,
//! even on a failed assertion.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How much of a long output a failure message shows (its end).
const SHOWN: usize = 3000;

/// The last `n` bytes of a text (on a char boundary), for messages.
pub fn tail_of(text: &str, n: usize) -> &str {
    let mut k = text.len().saturating_sub(n);
    while !text.is_char_boundary(k) {
        k += 1;
    }
    &text[k..]
}

/// The output of a child, read by a thread per pipe as it is written.
pub struct Stream {
    rx: Receiver<Vec<u8>>,
    /// Everything read so far.
    pub seen: Vec<u8>,
    limit: Duration,
}

impl Stream {
    /// Reads `readers` (none: a stream that has ended) into one stream;
    /// each wait on it lasts at most `limit`.
    pub fn new(readers: Vec<Box<dyn Read + Send>>, limit: Duration) -> Stream {
        let (tx, rx) = mpsc::channel();
        for mut r in readers {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 16];
                while let Ok(n) = r.read(&mut buf) {
                    if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            });
        }
        Stream {
            rx,
            seen: Vec::new(),
            limit,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    /// Waits until the output after byte `from` contains `needle`; returns
    /// the output from `from` on. Panics after the limit, or when the
    /// output ends without it.
    pub fn wait_from(&mut self, who: &str, from: usize, needle: &str) -> String {
        let end = Instant::now() + self.limit;
        // Only the new part (and a needle's length before it) is searched
        // each time, so a long output costs no more than reading it.
        let mut looked = from;
        loop {
            let start = looked.saturating_sub(needle.len()).max(from);
            let tail = String::from_utf8_lossy(&self.seen[start.min(self.seen.len())..]);
            if tail.contains(needle) {
                return String::from_utf8_lossy(&self.seen[from.min(self.seen.len())..])
                    .into_owned();
            }
            looked = self.seen.len();
            let left = end.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(chunk) => self.seen.extend(chunk),
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{who}: no {needle:?} within {:?}; the output so far ends:\n{}",
                    self.limit,
                    tail_of(&self.text(), SHOWN)
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{who}: the output ended without {needle:?}; it ends:\n{}",
                    tail_of(&self.text(), SHOWN)
                ),
            }
        }
    }

    /// Reads until the stream ends (or the limit); returns all its bytes.
    pub fn finish(&mut self) -> Vec<u8> {
        let end = Instant::now() + self.limit;
        while let Ok(chunk) = self
            .rx
            .recv_timeout(end.saturating_duration_since(Instant::now()))
        {
            self.seen.extend(chunk);
        }
        self.seen.clone()
    }
}

/// A child with its stdin piped and its output read as it comes; killed
/// and reaped when dropped.
pub struct Proc {
    pub name: String,
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    /// stdout, or stdout and stderr in the order written (`spawn_merged`).
    pub out: Stream,
    /// stderr (`spawn`); an ended, empty stream after `spawn_merged`.
    pub err: Stream,
    merged: bool,
    limit: Duration,
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Proc {
    /// Spawns `cmd` with stdin, stdout and stderr piped, stdout and stderr
    /// read apart; each wait lasts at most `limit`.
    pub fn spawn(name: &str, cmd: &mut Command, limit: Duration) -> Proc {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let stdin = child.stdin.take();
        let out = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let err = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        Proc {
            name: name.to_string(),
            child,
            stdin,
            out: Stream::new(out.into_iter().collect(), limit),
            err: Stream::new(err.into_iter().collect(), limit),
            merged: false,
            limit,
        }
    }

    /// Spawns `cmd` with stdin piped and stdout and stderr together on one
    /// pipe (so they stay in order), read as `out`.
    pub fn spawn_merged(name: &str, cmd: &mut Command, limit: Duration) -> Proc {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(writer.try_clone().expect("clone the pipe"))
            .stderr(writer)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        // The parent's copies of the write end are gone with `cmd`'s
        // Stdio, so the reader sees the end when the child exits.
        let stdin = child.stdin.take();
        Proc {
            name: name.to_string(),
            child,
            stdin,
            out: Stream::new(vec![Box::new(reader)], limit),
            err: Stream::new(Vec::new(), limit),
            merged: true,
            limit,
        }
    }

    /// Writes to the child's stdin.
    pub fn write(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(bytes).expect("write to the child's stdin");
        stdin.flush().expect("flush");
    }

    /// Writes one line (a command line, to sockplay).
    pub fn line(&mut self, line: &str) {
        self.write(format!("{line}\n").as_bytes());
    }

    /// Writes lines; sockplay runs them in turn as they arrive.
    pub fn lines(&mut self, lines: &[&str]) {
        for line in lines {
            self.line(line);
        }
    }

    /// Closes the child's stdin (the end of its input).
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// Where the output is now: `wait_from` looks after this point.
    pub fn mark(&self) -> usize {
        self.out.seen.len()
    }

    /// Waits until the output (stdout) after `from` contains `needle`;
    /// returns the output from `from` on.
    pub fn wait_from(&mut self, from: usize, needle: &str) -> String {
        let who = if self.merged {
            self.name.clone()
        } else {
            format!("{} (stdout)", self.name)
        };
        self.out.wait_from(&who, from, needle)
    }

    /// Waits until the output (stdout) contains `needle`; returns it all.
    pub fn wait_for(&mut self, needle: &str) -> String {
        self.wait_from(0, needle)
    }

    /// Waits until stderr (of `spawn`) contains `needle`; returns it all.
    pub fn wait_err(&mut self, needle: &str) -> String {
        let who = format!("{} (stderr)", self.name);
        self.err.wait_from(&who, 0, needle)
    }

    /// Runs a marker `echo "TEXT"` in sockplay and waits for its output:
    /// every line before it has run. Returns the output since the mark.
    pub fn sync(&mut self, text: &str) -> String {
        let at = self.mark();
        self.line(&format!("echo \"{text}\""));
        self.wait_from(at, &format!("  {text}\n"))
    }

    /// A listening TCP socket `s` on 127.0.0.1 in sockplay, port chosen by
    /// the kernel; returns the port.
    pub fn listen_tcp(&mut self, backlog: u32) -> u16 {
        let at = self.mark();
        self.lines(&[
            "s = socket tcp",
            "bind s 127.0.0.1 0",
            &format!("listen s {backlog}"),
        ]);
        let text = self.wait_from(at, "(LISTEN)");
        port_after(&text, "bound s to 127.0.0.1:")
    }

    /// SIGKILL, and the reaping.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Closes stdin, waits for the exit (at most the limit, then kills)
    /// and returns the status and all of stdout, as bytes.
    pub fn end_bytes(&mut self) -> (Option<i32>, Vec<u8>) {
        self.close_stdin();
        let status = super::wait_bounded(&mut self.child, self.limit);
        (status, self.out.finish())
    }

    /// As `end_bytes`, with stdout and stderr as text.
    pub fn end(&mut self) -> (Option<i32>, String, String) {
        let (status, out) = self.end_bytes();
        let out = String::from_utf8_lossy(&out).into_owned();
        let err = String::from_utf8_lossy(&self.err.finish()).into_owned();
        (status, out, err)
    }

    /// As `end`, and the child must have exited with status 0 by itself
    /// (sockplay: the end of its script ends it). Returns stdout as text
    /// (all the bytes stay in `out.seen`).
    pub fn end_ok(&mut self) -> String {
        let (status, out, err) = self.end();
        assert_eq!(status, Some(0), "{} ran:\n{out}{err}", self.name);
        out
    }
}

/// sockplay with `--color never` and `args`, in `dir` (see
/// `super::command`), reading its commands from stdin as they arrive; its
/// stdout and stderr on one pipe, so they stay in order.
pub fn sockplay(dir: &Path, args: &[&str], limit: Duration) -> Proc {
    Proc::spawn_merged("sockplay", &mut super::command(dir, args), limit)
}

/// python3 running `program` (written to `name` in `dir`, which is its
/// working directory), unbuffered, its stdio in UTF-8.
pub fn python_command(dir: &Path, name: &str, program: &str, args: &[&str]) -> Command {
    let path = dir.join(name);
    std::fs::write(&path, program).expect("write the python program");
    let mut cmd = Command::new("python3");
    cmd.arg("-u")
        .arg(&path)
        .args(args)
        .current_dir(dir)
        .env("PYTHONIOENCODING", "utf-8");
    cmd
}

/// The number in `<marker>NUMBER` (a port).
pub fn port_after(text: &str, marker: &str) -> u16 {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in:\n{text}"));
    let digits: String = text[at + marker.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no port after {marker:?} in:\n{text}"))
}

/// Asserts that `text` (`who`'s output) contains each of `wants`.
pub fn assert_has(who: &str, text: &str, wants: &[&str]) {
    for want in wants {
        assert!(
            text.contains(want),
            "{want:?} is missing from {who}'s output:\n{text}"
        );
    }
}

/// Asserts that none of the bytes `raw` is in sockplay's output `out`:
/// nothing a peer sent reaches the terminal raw.
pub fn assert_no_raw(out: &[u8], raw: &[u8]) {
    for byte in raw {
        assert!(
            !out.contains(byte),
            "raw byte {byte:#04x} in sockplay's output:\n{:?}",
            tail_of(&String::from_utf8_lossy(out), SHOWN)
        );
    }
}

//! Reading what the user, a script or a pipe gives sockplay, bounded: no
//! input can make the shell take memory without end or wait past Ctrl-C.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};

/// The longest answer to a question read ([`read_answer`]).
const ANSWER_MAX: usize = 256;

/// One line typed in answer to a question (y/N), read from `fd` byte by
/// byte so nothing after it is taken from the input. None after Ctrl-C or
/// at the end of input. A long line is cut (the rest is read and dropped).
pub fn read_answer(fd: RawFd, interrupt: &AtomicBool) -> Option<String> {
    let mut line = Vec::new();
    loop {
        if interrupt.load(Ordering::SeqCst) {
            return None;
        }
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; 100 ms so that Ctrl-C is seen (a
        // plain read would be restarted after the signal).
        let rc = unsafe { libc::poll(&mut p, 1, 100) };
        if rc <= 0 {
            continue;
        }
        let mut b = [0u8; 1];
        // SAFETY: reads at most one byte into `b`.
        let n = unsafe { libc::read(fd, b.as_mut_ptr().cast(), 1) };
        if n <= 0 {
            return None;
        }
        if b[0] == b'\n' {
            break;
        }
        if line.len() < ANSWER_MAX {
            line.push(b[0]);
        }
    }
    Some(String::from_utf8_lossy(&line).into_owned())
}

/// The longest line sockplay reads from a script, a pipe or `source`
/// (a 1 MiB `b"..."` literal fits; a runaway line does not).
pub const MAX_LINE: usize = 4 << 20;

/// A line that could not be taken as a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadLine {
    /// Longer than [`MAX_LINE`]: how many bytes it had (all skipped).
    TooLong { len: u64 },
    /// Not UTF-8: the line as shown (bad bytes as `\xff`), where the first
    /// bad byte is in it, and Python's words for it.
    NotUtf8 {
        shown: String,
        at: usize,
        message: String,
    },
    /// The input could not be read.
    Unreadable(String),
}

/// One line of a script: its text, or why it is not a command line.
pub type Line = Result<String, BadLine>;

impl BadLine {
    /// The error to report for the line, and the text to show it in (with
    /// a caret under the bad byte).
    pub fn error(&self) -> (crate::errors::ExecError, String) {
        use crate::errors::ExecError;
        match self {
            BadLine::TooLong { len } => (
                ExecError::usage(format!(
                    "this line is longer than 4 MiB ({len} bytes): sockplay reads lines of at most {MAX_LINE} bytes, so it was skipped"
                ))
                .hint("is this a script? a command fits on a line; a large value is built with * (b\"x\" * 1000000)"),
                String::new(),
            ),
            BadLine::NotUtf8 { shown, at, message } => {
                // The caret goes under the `\xNN` that shows the byte.
                let end = (at + 4).min(shown.len());
                (
                    ExecError::new("SyntaxError", format!("(unicode error) {message}"))
                        .at(crate::syntax::ast::Span::new(*at, end))
                        .hint("scripts are read as UTF-8: save the file as UTF-8; a byte that is not text goes in a literal as b\"\\xff\""),
                    shown.clone(),
                )
            }
            BadLine::Unreadable(why) => (
                ExecError::new("OSError", format!("cannot read the input: {why}")),
                String::new(),
            ),
        }
    }
}

/// Checks a line's bytes (without its end): UTF-8, or [`BadLine::NotUtf8`].
fn decode(bytes: Vec<u8>) -> Line {
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => {
            let u = e.utf8_error();
            let message = crate::value::utf8_error_text(e.as_bytes(), u);
            let at = u.valid_up_to();
            let mut shown = String::new();
            for chunk in e.as_bytes().utf8_chunks() {
                shown.push_str(chunk.valid());
                for b in chunk.invalid() {
                    shown.push_str(&format!("\\x{b:02x}"));
                }
            }
            Err(BadLine::NotUtf8 { shown, at, message })
        }
    }
}

/// The lines of `text` (a `-c` argument, a bundled lesson), checked as
/// the lines of a file are.
pub fn text_lines(text: &str) -> impl Iterator<Item = Line> + '_ {
    text.lines().map(|l| {
        if l.len() > MAX_LINE {
            Err(BadLine::TooLong {
                len: l.len() as u64,
            })
        } else {
            Ok(l.to_string())
        }
    })
}

/// A reader that waits in poll() slices, so that Ctrl-C (the interrupt
/// flag) ends a wait for input that may never come; what was said is
/// written out before a wait.
struct Patient<R> {
    inner: R,
    fd: RawFd,
    interrupt: std::sync::Arc<AtomicBool>,
}

impl<R: std::io::Read> std::io::Read for Patient<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut flushed = false;
        loop {
            if self.interrupt.load(Ordering::SeqCst) {
                return Err(std::io::Error::from(std::io::ErrorKind::Interrupted));
            }
            let mut p = libc::pollfd {
                fd: self.fd,
                events: libc::POLLIN,
                revents: 0,
            };
            let slice = if flushed { 100 } else { 0 };
            // SAFETY: one valid pollfd.
            let rc = unsafe { libc::poll(&mut p, 1, slice) };
            if rc > 0 {
                return self.inner.read(buf);
            }
            if !flushed {
                // Nothing to read yet: what was said should be seen while
                // the writer of the pipe takes its time.
                crate::script::flush_out();
                flushed = true;
            }
        }
    }
}

/// Lines read from a stream, each at most [`MAX_LINE`] bytes and UTF-8.
/// A longer line is read to its end and dropped (its length reported); it
/// never takes more memory than the limit.
pub struct Lines {
    reader: Box<dyn std::io::BufRead>,
    done: bool,
}

impl Lines {
    pub fn new(reader: impl std::io::Read + 'static) -> Lines {
        Lines {
            reader: Box::new(std::io::BufReader::with_capacity(64 * 1024, reader)),
            done: false,
        }
    }

    /// Standard input, read as it comes; Ctrl-C ends the wait for it.
    pub fn stdin(interrupt: std::sync::Arc<AtomicBool>) -> Lines {
        Lines::new(Patient {
            inner: std::io::stdin(),
            fd: 0,
            interrupt,
        })
    }

    /// The lines of a file.
    pub fn file(path: &std::path::Path) -> std::io::Result<Lines> {
        Lines::opened(std::fs::File::open(path)?)
    }

    /// The lines of a file already open (a folder is EISDIR).
    pub fn opened(f: std::fs::File) -> std::io::Result<Lines> {
        if f.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(std::io::Error::from_raw_os_error(libc::EISDIR));
        }
        // Open while it plays: out of the learner's way, so that the
        // first socket is still fd 3.
        Ok(Lines::new(std::fs::File::from(crate::table::move_high(
            f.into(),
        ))))
    }
}

impl Iterator for Lines {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        if self.done {
            return None;
        }
        let mut line: Vec<u8> = Vec::new();
        // Bytes of the line beyond the limit (not kept).
        let mut over: u64 = 0;
        let mut any = false;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    // Ctrl-C while waiting for input: the end of it.
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(BadLine::Unreadable(e.to_string())));
                }
            };
            if chunk.is_empty() {
                self.done = true;
                if !any {
                    return None;
                }
                break;
            }
            any = true;
            let (part, used, ended) = match chunk.iter().position(|&b| b == b'\n') {
                Some(k) => (&chunk[..k], k + 1, true),
                None => (chunk, chunk.len(), false),
            };
            if over == 0 && line.len() + part.len() <= MAX_LINE {
                line.extend_from_slice(part);
            } else {
                over += (line.len() + part.len()) as u64;
                line = Vec::new();
            }
            self.reader.consume(used);
            if ended {
                break;
            }
        }
        if over > 0 {
            return Some(Err(BadLine::TooLong { len: over }));
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(decode(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded_and_checked() {
        let mut text = b"one\r\ntwo\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        text.extend_from_slice(b"\nbad \xff here\nlast");
        let lines: Vec<Line> = Lines::new(std::io::Cursor::new(text)).collect();
        assert_eq!(lines[0], Ok("one".into()));
        assert_eq!(lines[1], Ok("two".into()));
        assert_eq!(
            lines[2],
            Err(BadLine::TooLong {
                len: MAX_LINE as u64 + 10
            })
        );
        match &lines[3] {
            Err(BadLine::NotUtf8 { at, message, .. }) => {
                assert_eq!(*at, 4);
                assert!(message.contains("0xff in position 4"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(lines[4], Ok("last".into()));
        assert_eq!(lines.len(), 5);
    }
}

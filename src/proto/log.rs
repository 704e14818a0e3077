//! The traffic log (`log FILE`, `log FILE hex`, `log off`): every byte a
//! command of this shell sends or receives, with its direction, the time
//! and the socket, written as `socat -v` writes it (or as hexdumps, as
//! `socat -x`):
//!
//! ```text
//! > 2025/06/01 12:34:56.123456  k (fd 4) to 127.0.0.1:9000  length=6 from=0 to=5
//! hello
//! < 2025/06/01 12:34:56.234567  k (fd 4) from 127.0.0.1:9000  length=4 from=0 to=3
//! hi\r
//! ```
//!
//! `>` is sent, `<` received; `from`/`to` count the bytes of that socket
//! in that direction. In the text view a newline of the data ends a line,
//! `\r`, `\t`, `\\` and `\xNN` stand for the other bytes (so the bytes can
//! be read back exactly: `length` says how many there are); a chunk that
//! does not end with a newline gets one. The bytes of the zero-copy bulk
//! transfers (`sendfile`, `send c zeros`, `recvfile`, `recv c discard`)
//! never pass through the shell: they get one line saying how many and
//! where they went.
//!
//! In: bytes from the executor's calls ([`crate::exec::io::Ctx`] holds the
//! log). Out: the file, which must be new.

use crate::errors::ExecError;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Which way bytes went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    Sent,
    Received,
}

/// The log, while it is on.
pub struct TrafficLog {
    file: File,
    pub path: PathBuf,
    pub hex: bool,
    /// Bytes logged so far per socket (by serial) and direction: the
    /// `from`/`to` offsets.
    offsets: HashMap<(u64, Dir), u64>,
    pub chunks: u64,
    pub bytes: u64,
    /// The first write error (the disk filled): logging stops, and the
    /// command that ran into it says so (once: `told`).
    pub failed: Option<String>,
    pub told: bool,
}

/// The session's log, shared with the calls in flight (background jobs
/// write to it too).
pub type SharedLog = Arc<Mutex<Option<TrafficLog>>>;

/// Local time, `2025/06/01 12:34:56.123456` (socat's format).
pub fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    timestamp_of(now)
}

/// The local time of a wall-clock instant, in socat's format.
fn timestamp_of(now: std::time::Duration) -> String {
    let secs = libc::time_t::try_from(now.as_secs()).unwrap_or(0);
    // SAFETY: localtime_r fills the struct it is given from a valid time_t.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = !unsafe { libc::localtime_r(&secs, &mut tm) }.is_null();
    if !ok {
        return format!("{}.{:06}", now.as_secs(), now.subsec_micros());
    }
    format!(
        "{:04}/{:02}/{:02} {:02}:{:02}:{:02}.{:06}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_micros()
    )
}

/// The text view of a chunk: printable ASCII as it is, a newline as a line
/// break, everything else escaped (`\r`, `\t`, `\\`, `\xNN`), ending with a
/// newline.
pub fn text_view(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() + 8);
    for &c in b {
        match c {
            b'\n' => s.push('\n'),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => {
                let _ = write!(s, "\\x{c:02x}");
            }
        }
    }
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// Reads a text view back into bytes (the inverse of [`text_view`], for
/// `length` bytes).
pub fn from_text_view(text: &str, length: usize) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(length);
    let mut k = 0;
    while k < b.len() && out.len() < length {
        if b[k] == b'\\' && k + 1 < b.len() {
            match b[k + 1] {
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                b'x' if k + 3 < b.len() => {
                    let hex = std::str::from_utf8(&b[k + 2..k + 4]).unwrap_or("");
                    out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                    k += 4;
                    continue;
                }
                other => out.push(other),
            }
            k += 2;
        } else {
            out.push(b[k]);
            k += 1;
        }
    }
    out
}

impl TrafficLog {
    /// Starts a log in `file`, opened at `path` by the shell's file rules
    /// (`Session::new_file`, crate::files: a new file, never through a
    /// link; its descriptor out of the learner's way).
    pub fn create(mut file: File, path: &Path, hex: bool) -> Result<TrafficLog, ExecError> {
        let head = format!(
            "# sockplay traffic log, started {}: > sent, < received; {}\n",
            timestamp(),
            if hex {
                "each chunk as a hexdump, then --"
            } else {
                "a newline of the data ends a line, \\r \\t \\\\ \\xNN stand for the other bytes"
            }
        );
        file.write_all(head.as_bytes())
            .map_err(|e| ExecError::from(e).hint("the log file could not be written"))?;
        Ok(TrafficLog {
            file,
            path: path.to_path_buf(),
            hex,
            offsets: HashMap::new(),
            chunks: 0,
            bytes: 0,
            failed: None,
            told: false,
        })
    }

    fn write(&mut self, text: &str) {
        if self.failed.is_some() {
            return;
        }
        if let Err(e) = self.file.write_all(text.as_bytes()) {
            self.failed = Some(e.to_string());
        }
    }

    /// The header of a chunk, and the offsets it moves on; stamped `at_ns`
    /// (wall-clock ns) when given, else now.
    fn header_at(
        &mut self,
        dir: Dir,
        serial: u64,
        who: &str,
        peer: Option<&str>,
        n: u64,
        at_ns: Option<u64>,
    ) -> String {
        let at = self.offsets.entry((serial, dir)).or_insert(0);
        let from = *at;
        *at += n;
        self.chunks += 1;
        self.bytes += n;
        let (mark, word) = match dir {
            Dir::Sent => ('>', "to"),
            Dir::Received => ('<', "from"),
        };
        let peer = peer.map(|p| format!(" {word} {p}")).unwrap_or_default();
        let stamp = match at_ns {
            Some(t) => timestamp_of(std::time::Duration::from_nanos(t)),
            None => timestamp(),
        };
        format!(
            "{mark} {stamp}  {who}{peer}  length={n} from={from} to={}",
            (from + n).saturating_sub(1)
        )
    }

    /// Records what a watched program's call moved (`shown`: the bytes its
    /// report carried, the first 64 KiB of `n`), stamped with the time the
    /// program made the call (its report came a moment later).
    #[allow(clippy::too_many_arguments)]
    pub fn record_program(
        &mut self,
        dir: Dir,
        serial: u64,
        who: &str,
        peer: Option<&str>,
        shown: &[u8],
        n: u64,
        at_ns: u64,
    ) {
        if n == 0 {
            return;
        }
        let mut text = self.header_at(dir, serial, who, peer, n, Some(at_ns));
        text.push('\n');
        let body = &shown[..shown.len().min(usize::try_from(n).unwrap_or(usize::MAX))];
        if self.hex {
            text.push_str(&crate::value::hexdump(body));
            if !text.ends_with('\n') {
                text.push('\n');
            }
        } else {
            text.push_str(&text_view(body));
        }
        if (body.len() as u64) < n {
            let _ = writeln!(
                text,
                "  [{} more: a watched program's report carries the first {} of a call's bytes]",
                n - body.len() as u64,
                body.len()
            );
        }
        if self.hex {
            text.push_str("--\n");
        }
        self.write(&text);
    }

    /// Records bytes that went through the shell.
    pub fn record(&mut self, dir: Dir, serial: u64, who: &str, peer: Option<&str>, bytes: &[u8]) {
        self.record_at(dir, serial, who, peer, bytes, None);
    }

    /// The same, stamped `at_ns` (wall-clock ns) when given: a send is
    /// stamped when it was made, before the syscall, so that a watched
    /// program's receive of its bytes (stamped when that call returned)
    /// never reads as earlier than the send.
    pub fn record_at(
        &mut self,
        dir: Dir,
        serial: u64,
        who: &str,
        peer: Option<&str>,
        bytes: &[u8],
        at_ns: Option<u64>,
    ) {
        if bytes.is_empty() {
            return;
        }
        let mut text = self.header_at(dir, serial, who, peer, bytes.len() as u64, at_ns);
        text.push('\n');
        if self.hex {
            text.push_str(&crate::value::hexdump(bytes));
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str("--\n");
        } else {
            text.push_str(&text_view(bytes));
        }
        self.write(&text);
    }

    /// Records bytes that did not pass through the shell (zero-copy
    /// transfers): how many, and where they came from or went.
    pub fn record_bulk(
        &mut self,
        dir: Dir,
        serial: u64,
        who: &str,
        peer: Option<&str>,
        n: u64,
        what: &str,
    ) {
        self.record_bulk_at(dir, serial, who, peer, n, what, None);
    }

    /// The same, stamped `at_ns` (wall-clock ns) when given: a watched
    /// program's `sendfile`, logged when its report comes.
    #[allow(clippy::too_many_arguments)]
    pub fn record_bulk_at(
        &mut self,
        dir: Dir,
        serial: u64,
        who: &str,
        peer: Option<&str>,
        n: u64,
        what: &str,
        at_ns: Option<u64>,
    ) {
        if n == 0 {
            return;
        }
        let mut text = self.header_at(dir, serial, who, peer, n, at_ns);
        let _ = writeln!(
            text,
            "  [{what}: not copied through sockplay, so not shown]"
        );
        if self.hex {
            text.push_str("--\n");
        }
        self.write(&text);
    }

    /// Ends the log.
    pub fn close(mut self) -> (PathBuf, u64, u64, Option<String>) {
        let tail = format!("# log off, {}\n", timestamp());
        self.write(&tail);
        let _ = self.file.flush();
        (self.path, self.chunks, self.bytes, self.failed)
    }
}

impl crate::exec::io::Ctx {
    /// The socket's name and fd, and its peer, as a log line names them.
    fn log_names(&self, peer: Option<&socket2::SockAddr>) -> (String, Option<String>) {
        let who = format!("{} (fd {})", self.label, self.h.fd);
        let peer = match peer {
            Some(a) => Some(crate::value::addr_short(a)),
            None => self
                .sock
                .peer_addr()
                .ok()
                .filter(crate::table::is_bound)
                .map(|a| crate::value::addr_short(&a)),
        };
        (who, peer)
    }

    /// Logs bytes sent or received by this call, when the log is on.
    /// `peer`: the address of a datagram's sender or receiver (else the
    /// socket's peer, if it has one).
    pub(crate) fn log_bytes(&self, dir: Dir, bytes: &[u8], peer: Option<&socket2::SockAddr>) {
        self.log_bytes_at(dir, bytes, peer, None);
    }

    /// The same, stamped `at_ns` (wall-clock ns, taken before a send's
    /// syscall) when given.
    pub(crate) fn log_bytes_at(
        &self,
        dir: Dir,
        bytes: &[u8],
        peer: Option<&socket2::SockAddr>,
        at_ns: Option<u64>,
    ) {
        if bytes.is_empty() {
            return;
        }
        let Ok(mut guard) = self.log.lock() else {
            return;
        };
        if let Some(log) = guard.as_mut() {
            let (who, peer) = self.log_names(peer);
            log.record_at(dir, self.h.serial, &who, peer.as_deref(), bytes, at_ns);
        }
    }

    /// Logs a zero-copy transfer: how many bytes, and where they were.
    pub(crate) fn log_bulk(&self, dir: Dir, n: u64, what: &str) {
        let Ok(mut guard) = self.log.lock() else {
            return;
        };
        if let Some(log) = guard.as_mut() {
            let (who, peer) = self.log_names(None);
            log.record_bulk(dir, self.h.serial, &who, peer.as_deref(), n, what);
        }
    }
}

fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

impl crate::exec::Session {
    /// After each statement: a log that could not be written (the disk
    /// filled) is said once, by the statement whose bytes it could not
    /// hold.
    pub(crate) fn log_trouble(&mut self, out: &mut dyn crate::exec::Sink) {
        let Ok(mut guard) = self.log.lock() else {
            return;
        };
        if let Some(l) = guard.as_mut()
            && !l.told
            && let Some(e) = &l.failed
        {
            l.told = true;
            out.emit(crate::exec::Item::Warn(format!(
                "writing the log {} failed ({e}): it stopped there; `log off` closes it",
                crate::value::escape_controls(&l.path.display().to_string())
            )));
        }
    }

    /// `log FILE [hex]`, `log off`, `log` (what is being logged).
    pub(crate) fn log_cmd(
        &mut self,
        path: Option<&crate::syntax::ast::Spanned<crate::syntax::ast::Expr>>,
        hex: bool,
        out: &mut dyn crate::exec::Sink,
    ) -> Result<crate::exec::Ret, ExecError> {
        use crate::exec::{Item, Ret};
        use crate::syntax::ast::Expr;
        let mut guard = self.log.lock().map_err(|_| {
            ExecError::usage("the log is unusable (a call panicked while writing it)")
        })?;
        let Some(p) = path else {
            match guard.as_ref() {
                Some(l) => out.emit(Item::Done(format!(
                    "logging to {} ({}): {}, {} so far{}",
                    crate::value::str_repr(&l.path.display().to_string()),
                    if l.hex { "hexdumps" } else { "text" },
                    count(l.chunks, "chunk", "chunks"),
                    count(l.bytes, "byte", "bytes"),
                    l.failed
                        .as_ref()
                        .map(|e| format!("; writing it failed ({e}), so it stopped"))
                        .unwrap_or_default()
                ))),
                None => out.emit(Item::Note(
                    "no traffic log: log FILE writes every byte sent and received to FILE (log FILE hex: as hexdumps)"
                        .into(),
                )),
            }
            return Ok(Ret::none());
        };
        if matches!(&p.node, Expr::Word(w) if w.eq_ignore_ascii_case("off")) {
            match guard.take() {
                Some(l) => {
                    let (path, chunks, bytes, failed) = l.close();
                    out.emit(Item::Done(format!(
                        "log off: {}, {} in {}",
                        count(chunks, "chunk", "chunks"),
                        count(bytes, "byte", "bytes"),
                        crate::value::str_repr(&path.display().to_string())
                    )));
                    if let Some(e) = failed {
                        out.emit(Item::Warn(format!(
                            "writing the log failed ({e}): it stopped there"
                        )));
                    }
                }
                None => out.emit(Item::Note("no traffic log was on".into())),
            }
            return Ok(Ret::none());
        }
        if let Some(l) = guard.as_ref() {
            return Err(ExecError::usage(format!(
                "a log is being written to {} already",
                crate::value::str_repr(&l.path.display().to_string())
            ))
            .at(p.span)
            .hint("log off ends it; then log FILE starts another"));
        }
        drop(guard);
        let text = self.text(p)?;
        // The shell's one way of writing a file (crate::files); the log
        // may hold private traffic: only its owner reads it.
        let file = self
            .new_file(&text)
            .and_then(|mut f| {
                use std::os::unix::fs::PermissionsExt;
                f.file()
                    .set_permissions(std::fs::Permissions::from_mode(0o600))?;
                f.commit()
            })
            .map_err(|e| e.at(p.span))?;
        let log = TrafficLog::create(file, Path::new(&text), hex).map_err(|e| e.at(p.span))?;
        out.emit(Item::Done(format!(
            "logging every byte sent and received (the shell's and its programs') to {} ({}); `log off` ends it",
            crate::value::str_repr(&text),
            if hex {
                "each chunk as a hexdump, like socat -x"
            } else {
                "as text, like socat -v; `log FILE hex` for hexdumps"
            }
        )));
        if let Ok(mut g) = self.log.lock() {
            *g = Some(log);
        }
        Ok(Ret::none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_view_reads_back_exactly() {
        let all: Vec<u8> = (0u8..=255).collect();
        for sample in [
            &b"GET / HTTP/1.0\r\n\r\n"[..],
            b"no newline",
            b"back\\slash \\x41",
            &all,
            b"\n\n",
            "中文".as_bytes(),
        ] {
            let text = text_view(sample);
            assert!(text.ends_with('\n'));
            assert!(!text.contains('\r'));
            assert_eq!(from_text_view(&text, sample.len()), sample, "{text:?}");
        }
    }
}

//! The reports a watched Python program sends (see `sitecustomize.py` for
//! the other side): frames read off a byte stream, parsed into [`Report`]s.
//!
//! Everything here comes from outside: a frame's length is checked before
//! anything is kept, a field that does not parse makes the report garbage
//! (counted, never fatal), and only a frame too large for any report the
//! hook makes ends the reading of that stream.

use std::time::Duration;

/// No report the hook makes is this large (its data is cut at 64 KiB, its
/// texts at a few hundred characters); a larger length means the stream is
/// not the hook's.
pub const MAX_FRAME: usize = 1 << 20;

/// How many fields a report may have (select's lists are one field each).
const MAX_FIELDS: usize = 64;

/// A report.
#[derive(Clone, Debug, PartialEq)]
pub enum Report {
    /// A process of the program started (or was forked).
    Hello { pid: i32, ppid: i32, cwd: String },
    /// A place in the program: its id, file, line and source text.
    Loc {
        pid: i32,
        id: u32,
        file: String,
        line: u32,
        source: String,
    },
    /// A call: about to wait, maybe about to wait, or done.
    Call(Call),
    /// The program is about to write to the terminal: everything before
    /// must be shown first (sockplay answers one byte).
    Sync { pid: i32 },
    /// What a background program printed (fd 1 or 2), in order with its
    /// calls.
    Output { pid: i32, fd: i32, data: Vec<u8> },
}

/// Where a call is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// It will wait (the hook looked: nothing is ready).
    Wait,
    /// It may wait (connect): shown as waiting only if it lasts.
    MayWait,
    /// It returned or raised.
    Done,
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// Not ended yet (Wait, MayWait).
    Running,
    Ok,
    Err {
        exception: String,
        errno: Option<i32>,
        message: String,
    },
}

/// One call of the program.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub phase: Phase,
    pub pid: i32,
    /// The thread's native id (as /proc/PID/task names it).
    pub tid: i32,
    pub thread: String,
    /// The place in the program (a [`Report::Loc`] id; 0 when unknown).
    pub loc: u32,
    /// `FILE:FUNCTION` of the library function the program called, when
    /// that is not the call itself (empty when the program called it).
    /// For a program traced with ptrace (not Python, loc 0): `PROGRAM:
    /// SYSCALL(fd N)`, the program's name and the system call it made.
    pub via: String,
    pub name: String,
    /// The socket's fd in the program (-1 for a module function).
    pub fd: i32,
    /// The wall clock (ns since the epoch, as the capture stamps packets)
    /// when the call began, and when it returned (0 until it has).
    pub t0: u64,
    pub t1: u64,
    /// How long it waited (None when it did not, or has not ended).
    pub waited: Option<Duration>,
    pub status: Status,
    /// The call's arguments, then (when Ok) its results.
    pub fields: Vec<String>,
    /// The bytes it moved (received, or sent).
    pub data: Vec<u8>,
}

impl Call {
    /// Field `k` (arguments first, then results), or "".
    pub fn field(&self, k: usize) -> &str {
        self.fields.get(k).map_or("", String::as_str)
    }

    /// Field `k` as an integer (None when absent or not a number).
    pub fn int(&self, k: usize) -> Option<i64> {
        self.field(k).parse().ok()
    }
}

/// A report that did not parse, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Garbage(pub String);

/// Frames off a byte stream.
#[derive(Default)]
pub struct Frames {
    buf: Vec<u8>,
    at: usize,
    /// The stream carried a length no report has: nothing more is read.
    pub broken: bool,
}

impl Frames {
    /// Bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        if self.broken {
            return;
        }
        if self.at > 0 && self.at == self.buf.len() {
            self.buf.clear();
            self.at = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next whole frame, if one is there.
    pub fn next_frame(&mut self) -> Option<Vec<u8>> {
        if self.broken {
            return None;
        }
        let rest = &self.buf[self.at..];
        if rest.len() < 4 {
            self.compact();
            return None;
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len > MAX_FRAME {
            self.broken = true;
            self.buf = Vec::new();
            self.at = 0;
            return None;
        }
        if rest.len() < 4 + len {
            self.compact();
            return None;
        }
        let frame = rest[4..4 + len].to_vec();
        self.at += 4 + len;
        Some(frame)
    }

    /// Bytes waiting for the rest of their frame.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.at
    }

    fn compact(&mut self) {
        if self.at > 0 {
            self.buf.drain(..self.at);
            self.at = 0;
        }
    }
}

/// `\\`, `\t`, `\n`, `\r` as the hook escapes them.
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(o) => out.push(o),
            None => out.push('\\'),
        }
    }
    out
}

fn num<T: std::str::FromStr>(s: Option<&str>, what: &str) -> Result<T, Garbage> {
    s.and_then(|x| x.parse().ok())
        .ok_or_else(|| Garbage(format!("{what} is not a number")))
}

/// How many of a finished call's fields are its arguments (the rest are
/// its results, or the error).
pub fn nargs(call: &str) -> usize {
    match call {
        "socket" | "socketpair" | "getsockname" | "getpeername" | "fileno" | "fromfd" => 0,
        "bind" | "listen" | "connect" | "connect_ex" | "sendfile" | "shutdown" | "settimeout"
        | "setblocking" => 1,
        "accept" => 2,
        "send" | "sendall" | "sendto" | "recv" | "recv_into" | "recvfrom" | "recvfrom_into"
        | "setsockopt" | "getsockopt" | "sendmsg" | "recvmsg" => 3,
        "close" | "select" => 4,
        "poll" | "epoll" => 2,
        "input" | "sleep" | "join" => 0,
        // The module's functions: what they were given.
        _ => 1,
    }
}

/// Parses one frame.
pub fn parse(frame: &[u8]) -> Result<Report, Garbage> {
    let nl = frame
        .iter()
        .position(|&c| c == b'\n')
        .ok_or_else(|| Garbage("no end of line".into()))?;
    let head = std::str::from_utf8(&frame[..nl]).map_err(|_| Garbage("not UTF-8".into()))?;
    let data = &frame[nl + 1..];
    let parts: Vec<&str> = head.split('\t').collect();
    if parts.len() > MAX_FIELDS + 12 {
        return Err(Garbage("too many fields".into()));
    }
    let mut f = parts.iter().copied();
    let kind = f.next().unwrap_or("");
    match kind {
        "H" => Ok(Report::Hello {
            pid: num(f.next(), "pid")?,
            ppid: num(f.next(), "ppid")?,
            cwd: unescape(f.next().unwrap_or("")),
        }),
        "L" => Ok(Report::Loc {
            pid: num(f.next(), "pid")?,
            id: num(f.next(), "id")?,
            file: unescape(f.next().unwrap_or("")),
            line: num(f.next(), "line")?,
            source: unescape(f.next().unwrap_or("")),
        }),
        "Y" => Ok(Report::Sync {
            pid: num(f.next(), "pid")?,
        }),
        "O" => Ok(Report::Output {
            pid: num(f.next(), "pid")?,
            fd: num(f.next(), "fd")?,
            data: data.to_vec(),
        }),
        "W" | "B" | "R" => {
            let pid = num(f.next(), "pid")?;
            let tid = num(f.next(), "tid")?;
            let thread = unescape(f.next().unwrap_or(""));
            let loc = num(f.next(), "loc")?;
            let via = unescape(f.next().unwrap_or(""));
            let name = f.next().unwrap_or("").to_string();
            if name.is_empty() || name.len() > 40 || !name.bytes().all(|c| c.is_ascii_graphic()) {
                return Err(Garbage("no call name".into()));
            }
            let fd = num(f.next(), "fd")?;
            let t0 = num(f.next(), "t0")?;
            let mut t1 = 0;
            let (phase, waited, status) = if kind == "R" {
                t1 = num(f.next(), "t1")?;
                let w: i64 = num(f.next(), "waited")?;
                let waited = (w >= 0).then(|| Duration::from_micros(w as u64));
                let status = match f.next() {
                    Some("ok") => Status::Ok,
                    Some("err") => Status::Err {
                        exception: String::new(),
                        errno: None,
                        message: String::new(),
                    },
                    _ => return Err(Garbage("no status".into())),
                };
                (Phase::Done, waited, status)
            } else if kind == "W" {
                (Phase::Wait, None, Status::Running)
            } else {
                (Phase::MayWait, None, Status::Running)
            };
            let mut fields: Vec<String> = f.map(unescape).collect();
            let status = match status {
                Status::Err { .. } => {
                    if fields.len() < 3 {
                        return Err(Garbage("an error without its exception".into()));
                    }
                    let message = fields.pop().unwrap_or_default();
                    let errno = fields.pop().and_then(|e| e.parse().ok());
                    let exception = fields.pop().unwrap_or_default();
                    Status::Err {
                        exception,
                        errno,
                        message,
                    }
                }
                s => s,
            };
            Ok(Report::Call(Call {
                phase,
                pid,
                tid,
                thread,
                loc,
                via,
                name,
                fd,
                t0,
                t1,
                waited,
                status,
                fields,
                data: data.to_vec(),
            }))
        }
        _ => Err(Garbage(format!(
            "unknown report `{}`",
            crate::value::escape_controls(&kind.chars().take(8).collect::<String>())
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(msg: &[u8]) -> Vec<u8> {
        let mut v = (msg.len() as u32).to_le_bytes().to_vec();
        v.extend_from_slice(msg);
        v
    }

    #[test]
    fn frames_come_whole_whatever_the_reads() {
        let mut all = frame(b"H\t1\t0\t/tmp\n");
        all.extend(frame(
            b"R\t1\t1\tMain\t0\t\trecv\t4\t100\t200\t-1\tok\t1024\t0\t-1\t5\t0\nhello",
        ));
        let mut fr = Frames::default();
        let mut got = Vec::new();
        for chunk in all.chunks(3) {
            fr.push(chunk);
            while let Some(f) = fr.next_frame() {
                got.push(parse(&f));
            }
        }
        assert_eq!(got.len(), 2);
        let Ok(Report::Call(c)) = &got[1] else {
            panic!("{got:?}")
        };
        assert_eq!(c.name, "recv");
        assert_eq!(c.fd, 4);
        assert_eq!(c.fields, ["1024", "0", "-1", "5", "0"]);
        assert_eq!(c.data, b"hello");
        assert_eq!((c.t0, c.t1), (100, 200));
        assert_eq!(fr.pending(), 0);
    }

    #[test]
    fn an_error_keeps_its_words() {
        let r = parse(
            b"R\t7\t7\tT\\t1\t3\t\tsend\t5\t1\t2\t-1\terr\t3\t0\t-1\tBrokenPipeError\t32\t[Errno 32] Broken pipe\n",
        );
        let Ok(Report::Call(c)) = r else {
            panic!("{r:?}")
        };
        assert_eq!(c.thread, "T\t1");
        assert_eq!(c.fields, ["3", "0", "-1"]);
        assert_eq!(
            c.status,
            Status::Err {
                exception: "BrokenPipeError".into(),
                errno: Some(32),
                message: "[Errno 32] Broken pipe".into()
            }
        );
    }

    #[test]
    fn garbage_is_refused_not_fatal() {
        for bad in [
            &b""[..],
            b"no newline",
            b"Q\t1\n",
            b"R\tx\t1\tT\t1\t\trecv\t4\t1\t2\t-1\tok\n",
            b"R\t1\t1\tT\t1\t\t\t4\t1\t2\t-1\tok\n",
            b"R\t1\t1\tT\t1\t\trecv\t4\t1\t2\t-1\tmaybe\n",
            b"R\t1\t1\tT\t1\t\trecv\t4\t1\t2\t-1\terr\t1\n",
            b"R\t1\t1\tT\t1\t\trecv\t4\tnow\t2\t-1\tok\n",
            b"\xff\xfe\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let mut fr = Frames::default();
        fr.push(&u32::MAX.to_le_bytes());
        assert!(fr.next_frame().is_none());
        assert!(fr.broken);
    }
}

//! A program in a real pseudo-terminal, and the screen it draws: the
//! terminal's text as a person reads it, after the line editor's redraws,
//! hints and cursor moves (rexpect gives the bytes, with the hints typed
//! and erased in them; this gives what is left on the screen).
//!
//! The terminal is wide (`COLS`) so that no line wraps, and every line ever
//! drawn stays (there is no scrolling off the top): the screen is the whole
//! transcript. The escape sequences understood are the ones a line editor
//! and sockplay write: carriage return, line feed, backspace, erase in
//! line (`ESC[K`), erase in display (`ESC[J`, `ESC[2J`), cursor moves
//! (`ESC[nA/B/C/D/G/H`); colours and modes are ignored.
//!
//! The child is its own session leader with the terminal as its
//! controlling terminal, so Ctrl-C typed into it is a SIGINT, as at a
//! keyboard. It is killed when the `Screen` is dropped.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use unicode_width::UnicodeWidthChar;

/// The terminal's width: no line of a transcript wraps.
pub const COLS: u16 = 1000;
const ROWS: u16 = 60;

/// A program running in a pseudo-terminal, and what it drew.
pub struct Screen {
    master: File,
    child: Child,
    /// The bytes read from the terminal so far, by a thread.
    bytes: Arc<Mutex<Vec<u8>>>,
    /// How many of them the emulator has taken in.
    fed: usize,
    term: Term,
}

impl Screen {
    /// Starts `cmd` in a new pseudo-terminal of `COLS` columns.
    pub fn start(mut cmd: Command) -> Screen {
        // openpty's descriptors are not close-on-exec until fcntl says so:
        // a child started by another thread meanwhile would inherit them
        // (and number its first socket 5). One terminal is made and its
        // child started at a time.
        static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = STARTING.lock().unwrap_or_else(|e| e.into_inner());
        let mut master: libc::c_int = -1;
        let mut slave: libc::c_int = -1;
        let ws = libc::winsize {
            ws_row: ROWS,
            ws_col: COLS,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes two descriptors and reads the winsize.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &ws,
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        for fd in [master, slave] {
            // Neither end may leak into the child as an extra descriptor
            // (its first socket must be fd 3, as in the README).
            // SAFETY: fcntl on descriptors this function owns.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        // SAFETY: the two descriptors were just opened and are owned here.
        let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let slave = File::from(slave);
        let io = |f: &File| Stdio::from(f.try_clone().expect("clone the terminal"));
        cmd.stdin(io(&slave)).stdout(io(&slave)).stderr(io(&slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start the program in a terminal");
        drop(slave);
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().expect("clone the terminal");
        let sink = Arc::clone(&bytes);
        std::thread::spawn(move || {
            let mut buf = [0u8; 1 << 14];
            // EIO when the child has closed its side: the end.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut b) = sink.lock() {
                    b.extend_from_slice(&buf[..n]);
                }
            }
        });
        Screen {
            master,
            child,
            bytes,
            fed: 0,
            term: Term::default(),
        }
    }

    /// Types `text` (a `\r` is Enter, `\x03` Ctrl-C, `\x04` Ctrl-D).
    pub fn type_keys(&mut self, text: &str) {
        self.master
            .write_all(text.as_bytes())
            .and_then(|()| self.master.flush())
            .expect("type into the terminal");
    }

    /// The screen now: each line without its trailing blanks.
    pub fn lines(&mut self) -> Vec<String> {
        if let Ok(b) = self.bytes.lock()
            && b.len() > self.fed
        {
            let text = String::from_utf8_lossy(&b[self.fed..]).into_owned();
            self.fed = b.len();
            self.term.feed(&text);
        }
        self.term.lines()
    }

    /// Polls the screen every 10 ms until `done` holds (true) or `limit`
    /// has passed (false).
    pub fn wait_until(&mut self, limit: Duration, mut done: impl FnMut(&[String]) -> bool) -> bool {
        let end = Instant::now() + limit;
        loop {
            let lines = self.lines();
            if done(&lines) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits (at most `limit`) for the program to end; its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        super::wait_bounded(&mut self.child, limit)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A terminal's text: rows of cells, a cursor. A wide character takes two
/// cells, the second one `None`.
#[derive(Default)]
struct Term {
    rows: Vec<Vec<Option<char>>>,
    row: usize,
    col: usize,
    /// An escape sequence cut between two reads.
    pending: String,
}

impl Term {
    fn line(&mut self) -> &mut Vec<Option<char>> {
        while self.rows.len() <= self.row {
            self.rows.push(Vec::new());
        }
        &mut self.rows[self.row]
    }

    fn put(&mut self, c: char) {
        let w = c.width().unwrap_or(0);
        if w == 0 {
            return;
        }
        let col = self.col;
        let line = self.line();
        while line.len() < col + w {
            line.push(Some(' '));
        }
        line[col] = Some(c);
        if w == 2 {
            line[col + 1] = None;
        }
        self.col += w;
    }

    fn feed(&mut self, text: &str) {
        let mut s = std::mem::take(&mut self.pending);
        s.push_str(text);
        let chars: Vec<char> = s.chars().collect();
        let mut k = 0;
        while k < chars.len() {
            let c = chars[k];
            match c {
                '\r' => self.col = 0,
                '\n' => self.row += 1,
                '\x08' => self.col = self.col.saturating_sub(1),
                '\x1b' => match self.escape(&chars[k..]) {
                    Some(n) => {
                        k += n;
                        continue;
                    }
                    None => {
                        // Cut short: kept for the next read.
                        self.pending = chars[k..].iter().collect();
                        return;
                    }
                },
                c if c.is_control() => {}
                c => self.put(c),
            }
            k += 1;
        }
    }

    /// Carries out the escape sequence at the start of `s`; how many chars
    /// it took, or None when it is not complete yet.
    fn escape(&mut self, s: &[char]) -> Option<usize> {
        match s.get(1)? {
            '[' => {
                let mut k = 2;
                while let Some(&c) = s.get(k) {
                    if ('@'..='~').contains(&c) {
                        let params: String = s[2..k].iter().collect();
                        self.csi(&params, c);
                        return Some(k + 1);
                    }
                    k += 1;
                }
                None
            }
            ']' => {
                // An operating system command, up to BEL or ESC \.
                let mut k = 2;
                while let Some(&c) = s.get(k) {
                    if c == '\x07' {
                        return Some(k + 1);
                    }
                    if c == '\x1b' && s.get(k + 1) == Some(&'\\') {
                        return Some(k + 2);
                    }
                    k += 1;
                }
                None
            }
            _ => Some(2),
        }
    }

    fn csi(&mut self, params: &str, op: char) {
        if params.starts_with('?') {
            // Modes (bracketed paste, synchronized output): nothing drawn.
            return;
        }
        let nums: Vec<usize> = params.split(';').map(|p| p.parse().unwrap_or(0)).collect();
        let n = nums.first().copied().unwrap_or(0);
        let n1 = n.max(1);
        match op {
            'A' => self.row = self.row.saturating_sub(n1),
            'B' => self.row += n1,
            'C' => self.col += n1,
            'D' => self.col = self.col.saturating_sub(n1),
            'G' => self.col = n1 - 1,
            'H' | 'f' => {
                // Home: the top of the screen, which here is the first row
                // still in view.
                let top = self.rows.len().saturating_sub(usize::from(ROWS));
                self.row = top + nums.first().copied().unwrap_or(1).max(1) - 1;
                self.col = nums.get(1).copied().unwrap_or(1).max(1) - 1;
            }
            'K' => {
                let col = self.col;
                let line = self.line();
                match n {
                    0 => line.truncate(col),
                    1 => {
                        for cell in line.iter_mut().take(col + 1) {
                            *cell = Some(' ');
                        }
                    }
                    _ => line.clear(),
                }
            }
            'J' => {
                let (row, col) = (self.row, self.col);
                match n {
                    0 => {
                        self.line().truncate(col);
                        self.rows.truncate(row + 1);
                    }
                    _ => {
                        // The whole screen: what a person sees is gone.
                        self.rows.clear();
                        self.row = 0;
                        self.col = 0;
                    }
                }
            }
            _ => {}
        }
    }

    fn lines(&self) -> Vec<String> {
        self.rows
            .iter()
            .map(|r| {
                let s: String = r.iter().flatten().collect();
                s.trim_end().to_string()
            })
            .collect()
    }
}

/// The screen `bytes` draw on an empty terminal (for testing the
/// emulator itself).
pub fn render(bytes: &str) -> Vec<String> {
    let mut t = Term::default();
    t.feed(bytes);
    t.lines()
}

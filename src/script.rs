//! Running text through the one path every input takes: parse, execute,
//! render. Files, `-c`, piped stdin and the rc file use it directly; the
//! interactive shell ([`crate::repl`]) calls [`Runner::run_line`] for each
//! line it reads.

use crate::exec::{Flow, Item, Session, Sink};
use crate::render::{self, Origin};
use crate::syntax::parse_line;
use colored::Colorize;
use std::io::{self, BufRead, Write};
use std::sync::atomic::Ordering;

/// Prints items as they happen. A progress line rewrites itself on a
/// terminal and is left out elsewhere (a transcript keeps only what lasts).
pub struct PrintSink;

/// Whether a progress line is on screen (it is cleared before the next
/// line).
static PROGRESS_SHOWN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// What goes to stdout. On a terminal each line is written at once. To a
/// file or a pipe lines are gathered and written in large pieces (a
/// 10,000-line script would otherwise cost a write call per line, more than
/// the socket calls themselves), but never held back while something waits:
/// they are written before a wait is announced or a call goes quiet for a
/// while ([`Sink::idle`], a progress line), before an error goes to stderr
/// (so the two stay in order), before input is read from a pipe that has
/// nothing more yet, and at the end.
struct Out {
    buf: Vec<u8>,
    /// stdout is a terminal (asked once).
    tty: Option<bool>,
}

static OUT: std::sync::Mutex<Out> = std::sync::Mutex::new(Out {
    buf: Vec::new(),
    tty: None,
});

/// Gathered output is written when it reaches this size.
const OUT_CHUNK: usize = 64 * 1024;

impl Out {
    fn tty(&mut self) -> bool {
        use std::io::IsTerminal;
        *self.tty.get_or_insert_with(|| io::stdout().is_terminal())
    }

    fn flush(&mut self) {
        if !self.buf.is_empty() {
            let mut out = io::stdout().lock();
            let _ = out.write_all(&self.buf);
            let _ = out.flush();
            self.buf.clear();
        }
    }

    /// Adds text; written at once on a terminal, when `now`, or when much
    /// has gathered.
    fn put(&mut self, text: &str, now: bool) {
        self.buf.extend_from_slice(text.as_bytes());
        if now || self.buf.len() >= OUT_CHUNK || self.tty() {
            self.flush();
        }
    }
}

/// Writes what stdout has gathered.
pub fn flush_out() {
    if let Ok(mut o) = OUT.lock() {
        o.flush();
    }
}

impl Sink for PrintSink {
    fn emit(&mut self, item: Item) {
        let Ok(mut o) = OUT.lock() else { return };
        if let Item::Progress(_) = item {
            if o.tty() {
                o.put(&format!("\r\x1b[2K{}", render::item(&item)), true);
                PROGRESS_SHOWN.store(true, Ordering::SeqCst);
            } else {
                // Time passes: what was said so far should be seen.
                o.flush();
            }
            return;
        }
        if PROGRESS_SHOWN.swap(false, Ordering::SeqCst) {
            o.put("\r\x1b[2K", false);
        }
        let waits = matches!(item, Item::Waiting { .. } | Item::JobStarted { .. });
        let mut text = render::item(&item);
        text.push('\n');
        o.put(&text, waits);
    }

    fn idle(&mut self) {
        flush_out();
    }
}

/// Drops items (the rc file runs quietly).
struct QuietSink;

impl Sink for QuietSink {
    fn emit(&mut self, _item: Item) {}
}

/// How a line ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineEnd {
    Ok,
    Failed,
    Quit(i32),
    /// Ctrl-C arrived between statements (scripts stop).
    Interrupted,
}

/// The status a run ends with after Ctrl-C, as shells report SIGINT.
pub const STATUS_INTERRUPTED: i32 = 130;

pub struct Runner {
    pub session: Session,
}

fn print_error(text: String) {
    flush_out();
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{text}");
    let _ = err.flush();
}

impl Runner {
    pub fn new(session: Session) -> Self {
        Runner { session }
    }

    /// Parses and runs one line (which may hold several statements). A
    /// parse error runs nothing of the line.
    pub fn run_line(
        &mut self,
        text: &str,
        file: Option<&str>,
        line: usize,
        quiet: bool,
    ) -> LineEnd {
        let origin = Origin { file, line, text };
        let stmts = match parse_line(text) {
            Ok(s) => s,
            Err(e) => {
                print_error(render::parse_error(&e, &origin));
                return LineEnd::Failed;
            }
        };
        let mut print = PrintSink;
        let mut quiet_sink = QuietSink;
        let sink: &mut dyn Sink = if quiet { &mut quiet_sink } else { &mut print };
        for st in &stmts {
            if file.is_some() && self.session.interrupt.load(Ordering::SeqCst) {
                return LineEnd::Interrupted;
            }
            match self.session.run(st, text, sink) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Quit(code)) => return LineEnd::Quit(code),
                Err(e) => {
                    if e.exception == "KeyboardInterrupt" && file.is_none() {
                        // The terminal echoed ^C; start the report on its own line.
                        if let Ok(mut o) = OUT.lock() {
                            o.put("\n", true);
                        }
                    }
                    print_error(render::exec_error(&e, &origin));
                    self.session.explain_after(&e, sink);
                    if e.exception == "KeyboardInterrupt" && file.is_some() {
                        return LineEnd::Interrupted;
                    }
                    return LineEnd::Failed;
                }
            }
        }
        LineEnd::Ok
    }

    /// Replays a script: each line is shown after the prompt, then run.
    /// Returns the exit status: 0, 1 on the first failure (unless
    /// `keep_going`), the code given to `quit`, or 130 after Ctrl-C.
    pub fn run_lines(
        &mut self,
        lines: &mut dyn Iterator<Item = String>,
        name: &str,
        keep_going: bool,
    ) -> i32 {
        let status = self.replay(lines, name, keep_going);
        // Jobs still pending at the end are reported (or cancelled) before
        // the sockets close.
        self.session.close_all(&mut PrintSink);
        flush_out();
        status
    }

    fn replay(
        &mut self,
        lines: &mut dyn Iterator<Item = String>,
        name: &str,
        keep_going: bool,
    ) -> i32 {
        let mut failed = false;
        for (k, line) in lines.enumerate() {
            let text = line.trim_end_matches(['\r', '\n']);
            if text.trim().is_empty() {
                continue;
            }
            if self.session.interrupt.load(Ordering::SeqCst) {
                print_error(format!("  {}", "KeyboardInterrupt".red().bold()));
                return STATUS_INTERRUPTED;
            }
            echo_line(text);
            match self.run_line(text, Some(name), k + 1, false) {
                LineEnd::Ok => {}
                LineEnd::Failed if keep_going => failed = true,
                LineEnd::Failed => return 1,
                LineEnd::Quit(code) => return code,
                LineEnd::Interrupted => return STATUS_INTERRUPTED,
            }
        }
        i32::from(failed)
    }

    /// Runs the rc file quietly; errors are shown, nothing stops.
    pub fn run_rc(&mut self, text: &str, name: &str) {
        for (k, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            if let LineEnd::Quit(_) = self.run_line(line, Some(name), k + 1, true) {
                break;
            }
        }
    }
}

/// The prompt and the line, as if typed (comments dimmed).
pub fn echo_line(text: &str) {
    let shown = crate::value::escape_controls(text);
    let line = if text.trim_start().starts_with('#') {
        format!("{}", shown.dimmed())
    } else {
        format!("{}{}", render::prompt_styled(), shown)
    };
    if let Ok(mut o) = OUT.lock() {
        o.put(&line, false);
        o.put("\n", false);
    }
}

/// Lines of a reader, read as they come (so a pipe works live), invalid
/// UTF-8 replaced rather than fatal.
pub fn lines_of(reader: impl BufRead) -> impl Iterator<Item = String> {
    let mut reader = reader;
    std::iter::from_fn(move || {
        // Reading may wait for the writer of the pipe: show what was
        // said first (one write a line; a file given by name is read
        // without this).
        flush_out();
        let mut buf = Vec::new();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(String::from_utf8_lossy(&buf).into_owned()),
        }
    })
}

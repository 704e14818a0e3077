//! Running text through the one path every input takes: parse, execute,
//! render. Files, `-c`, piped stdin and the rc file use it directly; the
//! interactive shell ([`crate::repl`]) calls [`Runner::run_unit`] for each
//! line it reads.
//!
//! The runner also keeps what a lesson script needs around the session
//! (see [`crate::play`] for the script format): the macros, and the output
//! of the previous command, captured as plain text while it is printed, so
//! that `expect` can check it.

use crate::errors::{self, ExecError};
use crate::exec::{Flow, Item, Session, Sink};
use crate::render::{self, Origin};
use crate::syntax::ast::{Command, Expectation, SockRef, Statement};
use crate::syntax::parse_line;
use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

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

/// The width of the terminal stdout is, in columns; None when stdout is no
/// terminal (or the terminal does not say). `help` fits its lines to it.
pub fn stdout_columns() -> Option<usize> {
    use std::io::IsTerminal;
    if !io::stdout().is_terminal() {
        return None;
    }
    // SAFETY: TIOCGWINSZ fills the winsize it is given, nothing more.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0).then_some(usize::from(ws.ws_col))
}

/// Writes a line to stdout, in order with the items around it.
pub fn say(text: &str) {
    if let Ok(mut o) = OUT.lock() {
        o.put(text, false);
        o.put("\n", false);
    }
}

/// An item's text (`text`, as [`render::item`] made it) fitted to a
/// terminal `w` columns wide: notes, hints and wait lines wrapped between
/// words or parts, what a call did between words, a socket's repr between
/// its fields; what a program printed is left as it came. For the shell's
/// own output and for the reports of jobs and programs above the prompt.
pub fn fitted(item: &Item, text: &str, w: usize) -> String {
    match item {
        Item::Done(_) => render::fit_done(&render::fit(text, w), w),
        Item::Value { .. } => render::fit_value(text, w),
        Item::Output { .. } => text.to_string(),
        _ => render::fit(text, w),
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
        print_item(&item);
    }

    fn idle(&mut self) {
        flush_out();
    }
}

/// Prints an item; its text, unless it is a progress line (a transcript
/// keeps only what lasts).
fn print_item(item: &Item) -> Option<String> {
    let Ok(mut o) = OUT.lock() else {
        return None;
    };
    if let Item::Progress(_) = item {
        if o.tty() {
            o.put(&format!("\r\x1b[2K{}", render::item(item)), true);
            PROGRESS_SHOWN.store(true, Ordering::SeqCst);
        } else {
            // Time passes: what was said so far should be seen.
            o.flush();
        }
        return None;
    }
    if let Item::ClearScreen = item {
        // A transcript or a pipe gets no escape sequence: only a terminal
        // is cleared.
        if o.tty() {
            o.put(render::CLEAR_SCREEN, true);
        }
        return None;
    }
    if PROGRESS_SHOWN.swap(false, Ordering::SeqCst) {
        o.put("\r\x1b[2K", false);
    }
    let waits = matches!(
        item,
        Item::Waiting { .. } | Item::JobStarted { .. } | Item::ProgramWaiting { .. }
    );
    let text = render::item(item);
    // On a terminal a long note or hint is wrapped between words, a long
    // wait line between its parts; the capture (what `expect` reads) keeps
    // it whole. What a program printed, and values, are left as they came.
    match render::screen_width() {
        Some(w) if o.tty() => o.put(&format!("{}\n", fitted(item, &text, w)), waits),
        _ => o.put(&format!("{text}\n"), waits),
    }
    // A table narrowed to the terminal is rendered again whole for the
    // capture (only on a terminal: elsewhere it is whole already).
    match render::screen_width() {
        Some(_) => Some(render::whole(|| render::item(item))),
        None => Some(text),
    }
}

/// Prints items (unless quiet) and copies their text, without colour, into
/// every open capture (and what `export` needs into the journal).
struct TeeSink<'a> {
    captures: &'a mut Vec<Capture>,
    quiet: bool,
    journal: Option<&'a mut crate::export::Journal>,
}

impl Sink for TeeSink<'_> {
    fn emit(&mut self, item: Item) {
        let text = if self.quiet {
            match item {
                Item::Progress(_) | Item::ClearScreen => None,
                _ => Some(render::whole(|| render::item(&item))),
            }
        } else {
            print_item(&item)
        };
        if let Some(j) = &mut self.journal {
            j.item(&item, text.as_deref());
        }
        if let Some(t) = text {
            append(self.captures, &t);
        }
    }

    fn idle(&mut self) {
        if !self.quiet {
            flush_out();
        }
    }
}

fn append(captures: &mut [Capture], text: &str) {
    if captures.is_empty() {
        return;
    }
    let plain = render::strip_ansi(text);
    for c in captures.iter_mut() {
        // A runaway output (a flood in a loop) must not grow without end.
        if c.text.len() < CAPTURE_LIMIT {
            c.text.push_str(&plain);
            c.text.push('\n');
        }
    }
}

/// How much output one capture keeps (expect looks at the first 1 MiB).
const CAPTURE_LIMIT: usize = 1 << 20;

/// How a line ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineEnd {
    Ok,
    Failed,
    Quit(i32),
    /// Ctrl-C arrived between statements (scripts stop).
    Interrupted,
    /// An `expect` did not hold.
    ExpectFailed,
    /// The teacher left a stepped script (`q`).
    Left,
}

/// The status a run ends with after Ctrl-C, as shells report SIGINT.
pub const STATUS_INTERRUPTED: i32 = 130;

/// The output of one command (a line, or a whole macro call or sourced
/// file), as plain text, and how it failed if it did.
#[derive(Clone, Debug, Default)]
pub struct Capture {
    /// The command as written.
    pub what: String,
    pub text: String,
    /// The first error of the command.
    pub failure: Option<Failure>,
}

/// How a command failed.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// `ConnectionRefusedError`, `TimeoutError`, `SyntaxError`...
    pub exception: String,
    pub errno: Option<i32>,
    /// The error's first line, as shown.
    pub shown: String,
}

impl Failure {
    fn of(e: &ExecError) -> Failure {
        Failure {
            exception: e.exception.clone(),
            errno: e.errno,
            shown: e.to_string(),
        }
    }
}

/// A macro: the lines after `macdef NAME` up to the next empty line.
#[derive(Clone, Debug)]
pub struct Macro {
    pub name: String,
    /// The file it was defined in (its lines report errors there).
    pub file: String,
    /// Each line with its number in that file.
    pub lines: Vec<(usize, String)>,
}

/// The most macro calls, sourced files and lessons inside one another.
pub const MAX_DEPTH: usize = 16;

/// The most lines one line may run through macros and through scripts
/// sourced two or more deep. Depth alone does not bound the work: a macro
/// that calls another ten times per level runs 10^16 lines at depth 16.
pub const MAX_EXPANSION: usize = 10_000;

pub struct Runner {
    pub session: Session,
    /// Macros by name (from `macdef`, in a file or typed in the shell).
    pub macros: HashMap<String, Macro>,
    /// Captures of the commands running now, innermost last: output goes
    /// to each.
    pub(crate) captures: Vec<Capture>,
    /// The capture of the last command that finished: what `expect`
    /// checks.
    pub last: Capture,
    /// A `macdef` typed in the shell, collecting its lines.
    pub(crate) collecting: Option<Macro>,
    /// How scripts run (set while one plays; inherited by `source`).
    pub(crate) opts: crate::play::PlayOptions,
    /// Scripts, macros and lessons running inside one another now.
    pub(crate) depth: usize,
    /// Lines run through macros and nested scripts for the line running
    /// at top level now (see [`MAX_EXPANSION`]).
    pub(crate) expanded: usize,
    /// The expansion went past the limit: every level stops.
    pub(crate) runaway: bool,
    /// Expects that held (for the --check summary).
    pub expects_passed: usize,
    /// Step mode has said how it works.
    pub(crate) step_hint_shown: bool,
    /// What ran, for `export` and `record` (src/export).
    pub journal: crate::export::Journal,
    /// A recording (`record FILE.sp`) in progress.
    pub recorder: Option<crate::export::Recorder>,
}

/// Prints an error (or any report meant for stderr) after flushing stdout,
/// so the two stay in order.
pub(crate) fn print_error(text: &str) {
    // A progress line is on the screen (a receive's, a transfer's): the
    // error replaces it, as an item would, rather than run on after it.
    if PROGRESS_SHOWN.swap(false, Ordering::SeqCst)
        && let Ok(mut o) = OUT.lock()
    {
        o.put("\r\x1b[2K", false);
    }
    flush_out();
    let mut err = io::stderr().lock();
    // On a terminal the hint is wrapped between words (see render::fit).
    let fitted = match render::screen_width() {
        Some(w) if std::io::IsTerminal::is_terminal(&err) => render::fit(text, w),
        _ => text.to_string(),
    };
    let _ = writeln!(err, "{fitted}");
    let _ = err.flush();
}

impl Runner {
    pub fn new(session: Session) -> Self {
        Runner {
            session,
            macros: HashMap::new(),
            captures: Vec::new(),
            last: Capture::default(),
            collecting: None,
            opts: crate::play::PlayOptions::default(),
            depth: 0,
            expanded: 0,
            runaway: false,
            expects_passed: 0,
            step_hint_shown: false,
            journal: crate::export::Journal::default(),
            recorder: None,
        }
    }

    /// True while a `macdef` typed in the shell collects lines.
    pub fn collecting_macro(&self) -> bool {
        self.collecting.is_some()
    }

    /// Ctrl-C while a `macdef` typed in the shell collects lines: the
    /// macro is dropped.
    pub fn cancel_macro(&mut self) {
        if let Some(m) = self.collecting.take() {
            let _ = print_item(&Item::Note(format!("macro {} not defined", m.name)));
        }
    }

    /// Starts capturing the output of a command.
    pub(crate) fn begin_unit(&mut self, what: &str) {
        self.captures.push(Capture {
            what: what.trim().to_string(),
            ..Capture::default()
        });
    }

    /// Ends the capture begun last: it becomes what `expect` checks.
    pub(crate) fn end_unit(&mut self) {
        if let Some(c) = self.captures.pop() {
            self.last = c;
        }
    }

    /// Records a failure in every open capture (the first one counts) and
    /// its text.
    fn record_failure(&mut self, f: Failure, text: &str) {
        append(&mut self.captures, text);
        for c in &mut self.captures {
            if c.failure.is_none() {
                c.failure = Some(f.clone());
            }
        }
    }

    /// One line as the shell reads it: a macro call (`$name args`), a line
    /// of `expect`s (checking the previous command), a line of a `macdef`
    /// being typed, or a command line (captured for the next `expect`).
    /// While `record` is on, the line is saved to the lesson after it ran.
    pub fn run_unit(&mut self, text: &str, file: Option<&str>, line: usize) -> LineEnd {
        if self.depth == 0 {
            // A new line at top level: a budget of its own.
            self.expanded = 0;
            self.runaway = false;
        }
        if self.depth > 0 || self.recorder.is_none() {
            return self.run_unit_inner(text, file, line);
        }
        if let Some(r) = &mut self.recorder {
            r.begin(&self.journal);
        }
        let end = self.run_unit_inner(text, file, line);
        if let Some(mut r) = self.recorder.take() {
            r.line(text, &self.last, &self.journal, &self.session);
            self.recorder = Some(r);
        }
        end
    }

    /// Ends a recording still on (quit, Ctrl-D, the end of a script) and
    /// says what it saved.
    pub fn end_recording(&mut self) {
        if let Some(items) = crate::export::record::stop(self) {
            for it in &items {
                print_item(it);
            }
        }
    }

    fn run_unit_inner(&mut self, text: &str, file: Option<&str>, line: usize) -> LineEnd {
        if let Some(m) = &mut self.collecting {
            if text.trim().is_empty() {
                let name = m.name.clone();
                let n = m.lines.len();
                if let Some(m) = self.collecting.take() {
                    self.macros.insert(m.name.clone(), m);
                }
                let _ = print_item(&Item::Note(format!(
                    "macro {name} defined ({n} line{}): ${name} ARGS runs it",
                    if n == 1 { "" } else { "s" }
                )));
            } else {
                m.lines.push((line, text.to_string()));
            }
            return LineEnd::Ok;
        }
        let t = text.trim();
        if t.is_empty() || t.starts_with('#') {
            return LineEnd::Ok;
        }
        if t.starts_with('$') {
            self.begin_unit(t);
            let end = self.call_macro(t, file, line);
            self.end_unit();
            return end;
        }
        if is_expect_line(t) {
            return self.run_line_in(text, file, line, false, false);
        }
        self.begin_unit(t);
        let end = self.run_line_in(text, file, line, false, true);
        self.end_unit();
        end
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
        self.run_line_in(text, file, line, quiet, false)
    }

    /// `unit_open`: this line has a capture of its own open (an `expect`
    /// later in the line checks the statements before it).
    fn run_line_in(
        &mut self,
        text: &str,
        file: Option<&str>,
        line: usize,
        quiet: bool,
        unit_open: bool,
    ) -> LineEnd {
        let origin = Origin { file, line, text };
        // Only a line typed at the prompt is the user's own; everything
        // else (files, -c, pipes, macros, lessons) is a script.
        self.session.who = if file.is_none() {
            crate::files::Who::Prompt
        } else {
            crate::files::Who::Script
        };
        let stmts = match parse_line(text) {
            Ok(s) => s,
            Err(e) => {
                self.journal.unread(text, e.to_string());
                let shown = render::parse_error(&e, &origin);
                print_error(&shown);
                let f = Failure {
                    exception: "SyntaxError".into(),
                    errno: None,
                    shown: e.to_string(),
                };
                self.record_failure(f, &shown);
                return LineEnd::Failed;
            }
        };
        let mut end = LineEnd::Ok;
        for (k, st) in stmts.iter().enumerate() {
            if file.is_some() && self.session.interrupt.load(Ordering::SeqCst) {
                return LineEnd::Interrupted;
            }
            let ran = match self.directive(st, &origin, quiet, unit_open) {
                Some(end) => end,
                None => self.statement(st, &origin, quiet),
            };
            match ran {
                LineEnd::Ok => {}
                // An error the next statement expects is no reason to stop.
                LineEnd::Failed if stmts.get(k + 1).is_some_and(expects_error) => {}
                other => {
                    end = other;
                    break;
                }
            }
        }
        // What the programs running in the background did because of the
        // line (all of its statements: `send k "a"; send k "b"` reaches a
        // program as two sends in a row).
        self.settle_programs(quiet);
        end
    }

    /// Shows what the programs running in the background did, once they
    /// have settled (see [`crate::exec::Session::settle_programs`]).
    fn settle_programs(&mut self, quiet: bool) {
        if self.session.programs.is_empty() {
            return;
        }
        let Runner {
            session, captures, ..
        } = self;
        session.settle_programs(&mut TeeSink {
            captures,
            quiet,
            journal: None,
        });
    }

    /// One statement of the session (not a directive).
    fn statement(&mut self, st: &Statement, origin: &Origin<'_>, quiet: bool) -> LineEnd {
        self.journal
            .begin(&self.session, st, origin.text, self.depth);
        let Runner {
            session,
            captures,
            journal,
            ..
        } = self;
        let mut sink = TeeSink {
            captures,
            quiet,
            journal: Some(journal),
        };
        let ran = session.run(st, origin.text, &mut sink);
        self.journal.end(&mut self.session, ran.as_ref().err());
        match ran {
            Ok(Flow::Continue) => LineEnd::Ok,
            Ok(Flow::Quit(code)) => LineEnd::Quit(code),
            Err(e) => {
                if e.exception == "KeyboardInterrupt" && origin.file.is_none() {
                    // The terminal echoed ^C; start the report on its own line.
                    say("");
                }
                let shown = render::exec_error(&e, origin);
                print_error(&shown);
                self.record_failure(Failure::of(&e), &shown);
                let Runner {
                    session, captures, ..
                } = self;
                session.explain_after(
                    &e,
                    &mut TeeSink {
                        captures,
                        quiet: false,
                        journal: None,
                    },
                );
                if e.exception == "KeyboardInterrupt" && origin.file.is_some() {
                    return LineEnd::Interrupted;
                }
                LineEnd::Failed
            }
        }
    }

    /// The commands the runner carries out itself (they read files, replay
    /// lines and check captured output); None for the session's own.
    fn directive(
        &mut self,
        st: &Statement,
        origin: &Origin<'_>,
        quiet: bool,
        unit_open: bool,
    ) -> Option<LineEnd> {
        let word = match &st.command {
            Command::Expect(_) => "expect",
            Command::MacDef { .. } => "macdef",
            Command::Source { step: true, .. } => "step",
            Command::Source { .. } => "source",
            Command::Lesson { .. } => "lesson",
            Command::Export { .. } => "export",
            Command::Record { .. } => "record",
            _ => return None,
        };
        if !st.targets.is_empty() || st.background.is_some() {
            let span = st
                .background
                .unwrap_or_else(|| st.targets[0].span.to(st.command_span));
            let e = ExecError::usage(format!(
                "`{word}` gives no value to bind and does not run in the background"
            ))
            .at(span);
            let shown = render::exec_error(&e, origin);
            print_error(&shown);
            self.record_failure(Failure::of(&e), &shown);
            return Some(LineEnd::Failed);
        }
        Some(match &st.command {
            Command::Expect(x) => {
                let x = x.clone();
                self.expect(&x, origin, unit_open)
            }
            Command::MacDef { name } => {
                if self.collecting.is_none() {
                    self.collecting = Some(Macro {
                        name: name.node.clone(),
                        file: origin.file.unwrap_or("<shell>").to_string(),
                        lines: Vec::new(),
                    });
                    if !quiet && origin.file.is_none() {
                        let _ = print_item(&Item::Note(format!(
                            "defining macro {}: its lines follow, an empty line ends it",
                            name.node
                        )));
                    }
                }
                LineEnd::Ok
            }
            Command::Source { path, step } => {
                let path = path.clone();
                let step = *step;
                self.source_cmd(&path, step, origin)
            }
            Command::Lesson { number, mode } => {
                let number = number.clone();
                let mode = *mode;
                self.lesson_cmd(number.as_ref(), mode, origin)
            }
            Command::Export { .. } | Command::Record { .. } => {
                match crate::export::run(self, &st.command) {
                    Ok(items) => {
                        for it in &items {
                            if let Some(t) = print_item(it) {
                                append(&mut self.captures, &t);
                            }
                        }
                        LineEnd::Ok
                    }
                    Err(mut e) => {
                        if e.span.is_none() {
                            e = e.at(st.command_span);
                        }
                        self.fail(e, origin)
                    }
                }
            }
            _ => LineEnd::Ok,
        })
    }

    /// Reports an error of the runner's own (a file that cannot be read, a
    /// missing macro) as a failing command.
    pub(crate) fn fail(&mut self, e: ExecError, origin: &Origin<'_>) -> LineEnd {
        let shown = render::exec_error(&e, origin);
        print_error(&shown);
        self.record_failure(Failure::of(&e), &shown);
        LineEnd::Failed
    }

    /// `expect`: checks the previous command (or the statements before it
    /// on the same line).
    fn expect(&mut self, x: &Expectation, origin: &Origin<'_>, unit_open: bool) -> LineEnd {
        let cap = if unit_open {
            self.captures.last().cloned().unwrap_or_default()
        } else {
            self.last.clone()
        };
        let verdict = match self.judge(x, &cap) {
            Ok(v) => v,
            Err(e) => return self.fail(e, origin),
        };
        match verdict {
            Verdict::Held(said) => {
                self.expects_passed += 1;
                if !self.opts.check {
                    say(&render::expect_held(&said));
                }
                LineEnd::Ok
            }
            Verdict::Broken { expected, got } => {
                let mut got = got;
                if got.is_empty() {
                    got.push("nothing".into());
                }
                print_error(&render::expect_failed(origin, &cap.what, &expected, &got));
                LineEnd::ExpectFailed
            }
        }
    }

    fn judge(&mut self, x: &Expectation, cap: &Capture) -> Result<Verdict, ExecError> {
        let output_lines = || -> Vec<String> {
            // The output's own two-space indent goes: `got` indents it.
            let mut v: Vec<String> = cap
                .text
                .lines()
                .map(|l| l.strip_prefix("  ").unwrap_or(l).to_string())
                .collect();
            if v.is_empty() {
                v.push("(no output)".into());
            }
            v
        };
        Ok(match x {
            Expectation::Output(s) => {
                if cap.text.contains(&s.node) {
                    Verdict::Held(format!("output has {}", quote(&s.node)))
                } else {
                    Verdict::Broken {
                        expected: format!("output containing {}", quote(&s.node)),
                        got: output_lines(),
                    }
                }
            }
            Expectation::Regex(r) => {
                let re = regex::Regex::new(&r.node).map_err(|e| {
                    ExecError::usage(format!("not a regular expression: {e}"))
                        .at(r.span)
                        .hint("the syntax is Rust's regex crate (Perl-like); \\/ is a slash")
                })?;
                if re.is_match(&cap.text) {
                    Verdict::Held(format!("output matches /{}/", r.node))
                } else {
                    Verdict::Broken {
                        expected: format!("output matching /{}/", r.node),
                        got: output_lines(),
                    }
                }
            }
            Expectation::Error(name) => {
                let wanted = match name {
                    Some(n) => {
                        let known = errors::errno_by_name(&n.node).is_some()
                            || n.node.ends_with("Error")
                            || n.node == "KeyboardInterrupt";
                        if !known {
                            return Err(ExecError::usage(format!(
                                "`{}` is neither an errno name nor an exception",
                                n.node
                            ))
                            .at(n.span)
                            .hint("e.g. expect error ECONNREFUSED, expect error TimeoutError"));
                        }
                        Some(n.node.clone())
                    }
                    None => None,
                };
                let desc = wanted.as_deref().unwrap_or("an error");
                match (&cap.failure, &wanted) {
                    (None, _) => Verdict::Broken {
                        expected: format!("a failure with {desc}"),
                        got: vec!["it succeeded".into()],
                    },
                    (Some(f), None) => Verdict::Held(format!("failed as expected: {}", f.shown)),
                    (Some(f), Some(w)) => {
                        let by_errno = errors::errno_by_name(w).is_some_and(|n| f.errno == Some(n));
                        if by_errno || f.exception.eq_ignore_ascii_case(w) {
                            Verdict::Held(format!("failed with {w}, as expected"))
                        } else {
                            Verdict::Broken {
                                expected: format!("a failure with {w}"),
                                got: vec![format!("it failed with {}", f.shown)],
                            }
                        }
                    }
                }
            }
            Expectation::State { sock, state } => {
                // States change as segments arrive (a FIN's ACK may be
                // delayed): give the kernel a moment before calling it.
                let deadline = Instant::now() + STATE_PATIENCE;
                let label = sock_label(&sock.node);
                loop {
                    let now = self.session.state_of(sock).map_err(|e| e.at(sock.span))?;
                    if state_matches(&state.node, &now) {
                        break Verdict::Held(format!("{label} is {now}"));
                    }
                    if Instant::now() >= deadline {
                        break Verdict::Broken {
                            expected: format!("{label} in state {}", state.node),
                            got: vec![format!(
                                "{label} is {now} (still after {} ms)",
                                STATE_PATIENCE.as_millis()
                            )],
                        };
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        })
    }

    /// Replays a script at top level and closes everything after it.
    /// Returns the exit status: 0, 1 on the first failure or failed expect
    /// (unless `keep_going`), the code given to `quit`, or 130 after Ctrl-C.
    pub fn run_lines(
        &mut self,
        lines: &mut dyn Iterator<Item = crate::input::Line>,
        name: &str,
        opts: crate::play::PlayOptions,
    ) -> i32 {
        let end = self.play(lines, name, opts);
        self.end_recording();
        // Jobs still pending at the end are reported (or cancelled) before
        // the sockets close.
        self.session.close_all(&mut PrintSink);
        let status = match end {
            crate::play::Played::Done { failed: false } => 0,
            crate::play::Played::Done { failed: true } => 1,
            crate::play::Played::Stopped(LineEnd::Quit(code)) => code,
            crate::play::Played::Stopped(LineEnd::Interrupted) => STATUS_INTERRUPTED,
            crate::play::Played::Stopped(LineEnd::Left | LineEnd::Ok) => 0,
            crate::play::Played::Stopped(LineEnd::Failed | LineEnd::ExpectFailed) => 1,
        };
        if opts.check && status == 0 {
            say(&render::check_summary(name, self.expects_passed));
        }
        flush_out();
        status
    }

    /// Runs the rc file quietly; errors are shown, nothing stops.
    pub fn run_rc(&mut self, lines: &mut dyn Iterator<Item = crate::input::Line>, name: &str) {
        for (k, line) in lines.enumerate() {
            let line = match line {
                Ok(l) => l,
                Err(bad) => {
                    let (e, shown) = bad.error();
                    let origin = Origin {
                        file: Some(name),
                        line: k + 1,
                        text: &shown,
                    };
                    self.fail(e, &origin);
                    continue;
                }
            };
            let line = line.as_str();
            if line.trim().is_empty() {
                continue;
            }
            if let LineEnd::Quit(_) = self.run_line(line, Some(name), k + 1, true) {
                break;
            }
        }
    }
}

/// How long `expect state` waits for a state to come.
const STATE_PATIENCE: Duration = Duration::from_millis(1000);

enum Verdict {
    /// It held: what was seen, in words.
    Held(String),
    Broken {
        expected: String,
        got: Vec<String>,
    },
}

fn quote(s: &str) -> String {
    format!(
        "\"{}\"",
        crate::value::escape_controls(s).replace('"', "\\\"")
    )
}

fn sock_label(r: &SockRef) -> String {
    match r {
        SockRef::Name(n) => n.clone(),
        SockRef::Fd(fd) => format!("fd {fd}"),
        SockRef::Last => "the last socket".into(),
    }
}

/// `FIN_WAIT` matches FIN_WAIT1 and FIN_WAIT2 (which one a socket is in
/// depends on when the peer's ACK arrives); a reset connection, `CLOSED
/// (reset)`, is CLOSED and RESET both; otherwise the names must be equal,
/// case aside.
pub fn state_matches(expected: &str, actual: &str) -> bool {
    let e = expected.to_ascii_uppercase().replace('-', "_");
    let a = actual.to_ascii_uppercase();
    let reset = a == crate::table::CLOSED_RESET.to_ascii_uppercase();
    e == a
        || (e == "FIN_WAIT" && a.starts_with("FIN_WAIT"))
        || (reset && (e == "CLOSED" || e == "RESET"))
}

/// A line of nothing but `expect` statements.
pub fn is_expect_line(text: &str) -> bool {
    match parse_line(text) {
        Ok(stmts) => {
            !stmts.is_empty()
                && stmts
                    .iter()
                    .all(|s| matches!(s.command, Command::Expect(_)))
        }
        Err(_) => false,
    }
}

/// An `expect error` statement.
fn expects_error(st: &Statement) -> bool {
    matches!(st.command, Command::Expect(Expectation::Error(_)))
}

/// A line whose first statement is `expect error`: the command before it
/// may fail.
pub fn is_expect_error_line(text: &str) -> bool {
    parse_line(text)
        .ok()
        .and_then(|s| s.first().map(expects_error))
        .unwrap_or(false)
}

/// The prompt and the line, as if typed (comments dimmed).
pub fn echo_line(text: &str) {
    let line = if text.trim_start().starts_with('#') {
        render::narration(text, false)
    } else {
        format!(
            "{}{}",
            render::prompt_styled(),
            crate::value::escape_controls(text)
        )
    };
    if let Ok(mut o) = OUT.lock() {
        o.put(&line, false);
        o.put("\n", false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fin_wait_matches_both() {
        assert!(state_matches("FIN_WAIT", "FIN_WAIT1"));
        assert!(state_matches("fin_wait", "FIN_WAIT2"));
        assert!(state_matches("CLOSE_WAIT", "CLOSE_WAIT"));
        assert!(!state_matches("FIN_WAIT1", "FIN_WAIT2"));
        assert!(state_matches("connected", "connected"));
        assert!(state_matches("CLOSED", "CLOSED (reset)"));
        assert!(state_matches("reset", "CLOSED (reset)"));
        assert!(!state_matches("RESET", "CLOSED"));
        assert!(!state_matches("CLOSE_WAIT", "CLOSED (reset)"));
        assert!(!state_matches("ESTABLISHED", "CLOSE_WAIT"));
    }

    #[test]
    fn expect_lines_are_told_apart() {
        assert!(is_expect_line("expect \"x\""));
        assert!(is_expect_line("expect state c CLOSE_WAIT; expect /a/"));
        assert!(!is_expect_line("send c \"x\"; expect \"sent\""));
        assert!(is_expect_error_line("expect error ECONNREFUSED"));
        assert!(!is_expect_error_line("expect \"x\""));
    }
}

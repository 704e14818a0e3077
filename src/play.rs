//! Lesson scripts: replaying a file of commands, at full speed, one step
//! per Enter (a teacher in front of a class), or as a check (CI).
//!
//! The format is plain text, one command per line, in the spirit of
//! `.netrc` macros:
//!
//! - a `#` line is narration: shown dimmed, and in step mode the title of
//!   the step that follows it;
//! - `macdef NAME` starts a macro that ends at the first empty line;
//!   `$NAME arg ...` runs it with `$1`...`$9` replaced by the arguments; a
//!   macro named `init` runs when the file is loaded, before its first
//!   command;
//! - `expect ...` checks the previous command (see [`crate::script`]): a
//!   failed expect prints `FILE:LINE`, what was expected and what came, and
//!   stops the run with status 1;
//! - every other line is a command line of the shell.
//!
//! A failing command stops the run, unless the next line (narration and
//! blank lines aside) is `expect error ...`: then the error was the point.

use crate::errors::ExecError;
use crate::exec::Item;
use crate::input::Line;
use crate::render::{self, Origin};
use crate::script::{
    LineEnd, MAX_DEPTH, MAX_EXPANSION, Macro, Runner, echo_line, is_expect_error_line,
    is_expect_line, print_error,
};
use crate::syntax::ast::{Command, Expr, LessonMode, Spanned};
use crate::syntax::parse_line;
use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How a script runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlayOptions {
    /// Wait for Enter before each command.
    pub step: bool,
    /// Quiet about passing expects; a summary at the end.
    pub check: bool,
    /// Go on after a failing command or expect (the status is still 1).
    pub keep_going: bool,
}

/// How a script ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Played {
    /// It ran to its end; `failed` when something failed on the way (with
    /// keep_going).
    Done { failed: bool },
    /// It stopped early: a failure, quit, Ctrl-C, or `q` in step mode.
    Stopped(LineEnd),
}

impl Played {
    /// As the end of one line of the script that ran it.
    pub fn as_line_end(self) -> LineEnd {
        match self {
            Played::Done { failed: false } => LineEnd::Ok,
            Played::Done { failed: true } => LineEnd::Failed,
            Played::Stopped(end) => end,
        }
    }
}

/// Numbered lines with look-ahead.
struct Lines<'a> {
    it: &'a mut dyn Iterator<Item = (usize, Line)>,
    ahead: VecDeque<(usize, Line)>,
}

impl Lines<'_> {
    fn next(&mut self) -> Option<(usize, Line)> {
        self.ahead.pop_front().or_else(|| self.it.next())
    }

    /// The next line that is neither blank nor narration, left in place
    /// (a line that could not be read counts, as an empty command).
    fn peek_significant(&mut self) -> Option<String> {
        fn significant(l: &Line) -> Option<String> {
            match l {
                Ok(l) => {
                    let t = l.trim();
                    (!t.is_empty() && !t.starts_with('#')).then(|| t.to_string())
                }
                Err(_) => Some(String::new()),
            }
        }
        for (_, l) in &self.ahead {
            if let Some(t) = significant(l) {
                return Some(t);
            }
        }
        for (n, l) in &mut *self.it {
            let t = significant(&l);
            self.ahead.push_back((n, l));
            if t.is_some() {
                return t;
            }
        }
        None
    }
}

fn first_word(t: &str) -> &str {
    t.split_whitespace().next().unwrap_or("")
}

impl Runner {
    /// Plays a script: lines numbered from 1, reported as `name:LINE`.
    pub fn play(
        &mut self,
        lines: &mut dyn Iterator<Item = Line>,
        name: &str,
        opts: PlayOptions,
    ) -> Played {
        let mut numbered = lines.enumerate().map(|(k, l)| (k + 1, l));
        let saved = self.opts;
        self.opts = opts;
        let played = self.play_numbered(&mut numbered, name, opts, true);
        self.opts = saved;
        played
    }

    /// The lines of a file or of a macro's body. `is_file`: an `init`
    /// macro defined here runs before the first command.
    fn play_numbered(
        &mut self,
        it: &mut dyn Iterator<Item = (usize, Line)>,
        name: &str,
        opts: PlayOptions,
        is_file: bool,
    ) -> Played {
        let mut src = Lines {
            it,
            ahead: VecDeque::new(),
        };
        let mut failed = false;
        let mut narration: Vec<String> = Vec::new();
        let mut init: Option<Macro> = None;
        let mut started = !is_file;
        while let Some((no, raw)) = src.next() {
            if self.runaway && self.depth > 0 {
                // Past the budget further in: every level stops at once
                // (the next line at top level has a budget of its own).
                return Played::Stopped(LineEnd::Failed);
            }
            let raw = match raw {
                Ok(raw) => raw,
                Err(bad) => {
                    // Too long, or not UTF-8: an error at its line, as a
                    // failing command (nothing of it runs).
                    let (e, shown) = bad.error();
                    let origin = Origin {
                        file: Some(name),
                        line: no,
                        text: &shown,
                    };
                    self.begin_unit("");
                    let end = self.fail(e, &origin);
                    self.end_unit();
                    if opts.keep_going {
                        failed = true;
                        continue;
                    }
                    return Played::Stopped(end);
                }
            };
            let text = raw.trim_end_matches(['\r', '\n']);
            let t = text.trim();
            if t.is_empty() {
                continue;
            }
            if !is_file || self.depth >= 2 {
                self.expanded += 1;
                if self.expanded > MAX_EXPANSION {
                    self.runaway = true;
                    let origin = Origin {
                        file: Some(name),
                        line: no,
                        text,
                    };
                    self.begin_unit("");
                    let end = self.fail(
                        ExecError::usage(format!(
                            "one line expanded into more than {MAX_EXPANSION} lines of macros and nested scripts: stopped here"
                        ))
                        .hint("a macro (or script) that calls another several times grows with every level: 10 calls, 10 levels deep, are 10^10 lines"),
                        &origin,
                    );
                    self.end_unit();
                    return Played::Stopped(end);
                }
            }
            if self.session.interrupt.load(Ordering::SeqCst) {
                print_error(&render::keyboard_interrupt());
                return Played::Stopped(LineEnd::Interrupted);
            }
            if t.starts_with('#') {
                if self.depth == 0
                    && let Some(r) = &mut self.recorder
                {
                    r.narration(text);
                }
                if opts.step {
                    narration.push(text.to_string());
                } else {
                    echo_line(text);
                }
                continue;
            }
            if first_word(t).eq_ignore_ascii_case("macdef") {
                let origin = Origin {
                    file: Some(name),
                    line: no,
                    text,
                };
                let macro_name = match parse_line(text) {
                    Ok(stmts) => match stmts.as_slice() {
                        [st] => match &st.command {
                            Command::MacDef { name } if st.targets.is_empty() => {
                                Some(name.node.clone())
                            }
                            _ => None,
                        },
                        _ => None,
                    },
                    Err(_) => None,
                };
                let Some(macro_name) = macro_name else {
                    // The runner reports what is wrong with the line.
                    let end = self.run_line(text, Some(name), no, false);
                    let end = if end == LineEnd::Ok {
                        self.fail(
                            ExecError::usage("`macdef NAME` stands alone on its line"),
                            &origin,
                        )
                    } else {
                        end
                    };
                    if opts.keep_going && end == LineEnd::Failed {
                        failed = true;
                        continue;
                    }
                    return Played::Stopped(end);
                };
                let mut body = Vec::new();
                while let Some((n, l)) = src.next() {
                    // A bad line ends the macro; it is reported in turn.
                    let Ok(l) = &l else {
                        src.ahead.push_front((n, l));
                        break;
                    };
                    let l = l.trim_end_matches(['\r', '\n']);
                    if l.trim().is_empty() {
                        break;
                    }
                    body.push((n, l.to_string()));
                }
                let m = Macro {
                    name: macro_name.clone(),
                    file: name.to_string(),
                    lines: body,
                };
                if macro_name == "init" && !started {
                    init = Some(m.clone());
                }
                self.macros.insert(macro_name, m);
                continue;
            }
            if !started {
                started = true;
                if let Some(m) = init.take() {
                    // The file's opening words come before what init does.
                    self.show_narration(&mut narration);
                    self.begin_unit("$init");
                    let end = self.run_macro(&m, &[]);
                    self.end_unit();
                    match end {
                        LineEnd::Ok => {}
                        LineEnd::Failed | LineEnd::ExpectFailed if opts.keep_going => {
                            failed = true;
                        }
                        other => return Played::Stopped(other),
                    }
                }
            }
            if is_expect_line(t) {
                self.show_narration(&mut narration);
                match self.run_unit(text, Some(name), no) {
                    LineEnd::Ok => {}
                    LineEnd::Failed | LineEnd::ExpectFailed if opts.keep_going => failed = true,
                    other => return Played::Stopped(other),
                }
                continue;
            }
            if opts.step {
                self.show_narration(&mut narration);
                match self.step_prompt(text) {
                    Key::Go => {}
                    Key::Quit => {
                        crate::script::say(&render::left_note(name, no));
                        return Played::Stopped(LineEnd::Left);
                    }
                    Key::Interrupted => {
                        print_error(&render::keyboard_interrupt());
                        return Played::Stopped(LineEnd::Interrupted);
                    }
                }
            } else {
                echo_line(text);
            }
            match self.run_unit(text, Some(name), no) {
                LineEnd::Ok => {}
                LineEnd::Failed
                    if src
                        .peek_significant()
                        .is_some_and(|l| is_expect_error_line(&l)) => {}
                LineEnd::Failed | LineEnd::ExpectFailed if opts.keep_going => failed = true,
                other => return Played::Stopped(other),
            }
        }
        self.show_narration(&mut narration);
        if is_file && self.session.interrupt.load(Ordering::SeqCst) {
            // Ctrl-C while it waited for its next line (a pipe).
            print_error(&render::keyboard_interrupt());
            return Played::Stopped(LineEnd::Interrupted);
        }
        Played::Done { failed }
    }

    /// Step mode: the narration gathered so far, as the next step's title.
    fn show_narration(&mut self, narration: &mut Vec<String>) {
        if narration.is_empty() {
            return;
        }
        crate::script::flush_out();
        let mut out = std::io::stdout().lock();
        // A blank line sets each step's title apart from the step before.
        if self.step_hint_shown {
            let _ = writeln!(out);
        }
        for l in narration.drain(..) {
            let _ = writeln!(out, "{}", render::narration(&l, true));
        }
        let _ = out.flush();
    }

    /// Step mode: the command as if typed, then a wait for Enter.
    fn step_prompt(&mut self, text: &str) -> Key {
        use std::os::fd::AsRawFd;
        let stdout_tty = std::io::stdout().is_terminal();
        // Keys come from the terminal, else from stdin.
        // Out of the learner's numbers: a background accept completing
        // while the step waits for Enter must get fd 5, not the one after
        // the terminal's.
        let tty = crate::table::open_high("/dev/tty").ok();
        let fd = tty.as_ref().map_or(0, |f| f.as_raw_fd());
        // Keys pressed while the command is typed out would be echoed into
        // its middle and count for the wait: no echo meanwhile, and they
        // are dropped once it is shown.
        let quiet = EchoOff::new(fd);
        crate::script::flush_out();
        {
            let mut out = std::io::stdout().lock();
            if !self.step_hint_shown {
                self.step_hint_shown = true;
                let _ = writeln!(out, "{}", render::step_hint());
            }
            let _ = write!(out, "{}", render::prompt_styled());
            let shown = crate::value::escape_controls(text);
            if stdout_tty {
                // Typed out, at most about half a second per command.
                let n = shown.chars().count().max(1) as u64;
                let delay = Duration::from_millis((500 / n).clamp(2, 25));
                for (k, c) in shown.chars().enumerate() {
                    if k > 0 {
                        std::thread::sleep(delay);
                    }
                    let _ = write!(out, "{}", render::typed(c));
                    let _ = out.flush();
                }
            } else {
                let _ = write!(out, "{}", render::typed_line(&shown));
            }
            let _ = out.flush();
        }
        drop(quiet);
        let (key, echoed) = wait_for_enter(fd, &self.session.interrupt);
        if !(echoed && stdout_tty) {
            crate::script::say("");
        }
        key
    }

    /// `$NAME args`: the macro's lines with `$1`...`$9` replaced.
    pub(crate) fn call_macro(&mut self, text: &str, file: Option<&str>, line: usize) -> LineEnd {
        let origin = Origin { file, line, text };
        let body = text.trim().trim_start_matches('$');
        let name: String = body
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let lead = text.len() - text.trim_start().len();
        let name_span = crate::syntax::ast::Span::new(lead, lead + 1 + name.len());
        if name.is_empty() {
            return self.fail(
                ExecError::usage("a macro name after `$` ($NAME args runs a macro)").at(name_span),
                &origin,
            );
        }
        let Some(m) = self.macros.get(&name).cloned() else {
            let near = crate::spec::nearest(&name, self.macros.keys().map(String::as_str))
                .map(str::to_string);
            let mut e = ExecError::usage(format!("no macro `{name}`")).at(name_span);
            e.hint = Some(match near {
                Some(n) => format!("did you mean `${n}`?"),
                None if self.macros.is_empty() => {
                    "no macro is defined: macdef NAME, then its lines, then an empty line".into()
                }
                None => {
                    let mut names: Vec<&String> = self.macros.keys().collect();
                    names.sort();
                    let names: Vec<String> = names.iter().map(|n| format!("${n}")).collect();
                    format!("defined: {}", names.join(" "))
                }
            });
            return self.fail(e, &origin);
        };
        let args = split_args(&body[name.len()..]);
        self.run_macro_at(&m, &args, &origin)
    }

    /// Runs a macro's body (no arguments given: `init`).
    fn run_macro(&mut self, m: &Macro, args: &[String]) -> LineEnd {
        let text = format!("${}", m.name);
        let origin = Origin {
            file: Some(&m.file),
            line: m.lines.first().map_or(0, |l| l.0.saturating_sub(1)),
            text: &text,
        };
        self.run_macro_at(m, args, &origin)
    }

    fn run_macro_at(&mut self, m: &Macro, args: &[String], origin: &Origin<'_>) -> LineEnd {
        if self.depth >= MAX_DEPTH {
            return self.fail(
                ExecError::usage(format!(
                    "macros and scripts nest at most {MAX_DEPTH} deep (does ${} call itself?)",
                    m.name
                )),
                origin,
            );
        }
        let mut lines = Vec::with_capacity(m.lines.len());
        for (n, l) in &m.lines {
            match substitute(l, args) {
                Ok(s) => lines.push((*n, s)),
                Err(k) => {
                    return self.fail(
                        ExecError::usage(format!(
                            "${} uses ${k} (line {n} of {}), but was given {} argument{}",
                            m.name,
                            m.file,
                            args.len(),
                            if args.len() == 1 { "" } else { "s" }
                        )),
                        origin,
                    );
                }
            }
        }
        let opts = PlayOptions {
            step: false,
            ..self.opts
        };
        self.depth += 1;
        let mut lines = lines.into_iter().map(|(n, l)| (n, Ok(l)));
        let played = self.play_numbered(&mut lines, &m.file, opts, false);
        self.depth -= 1;
        played.as_line_end()
    }

    /// `source FILE` / `step FILE`.
    pub(crate) fn source_cmd(
        &mut self,
        path: &Spanned<Expr>,
        step: bool,
        origin: &Origin<'_>,
    ) -> LineEnd {
        let file = match &path.node {
            Expr::Word(w) | Expr::Var(w) | Expr::Str(w) => w.clone(),
            Expr::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            _ => {
                return self.fail(
                    ExecError::usage("a file name: source lesson.sp").at(path.span),
                    origin,
                );
            }
        };
        // Read as sendfile reads: a script only here, and never a FIFO or
        // a device (/dev/zero, /dev/urandom), whose open or lines would
        // keep the shell for ever.
        let opened = crate::files::open_for_reading(&file, &self.session.file_rules())
            .and_then(|f| match f.metadata() {
                Ok(m) if m.is_file() || m.is_dir() => Ok(f),
                Ok(_) => Err(ExecError::usage(format!(
                    "{} is not a regular file (a device, a pipe or a socket): source reads script files",
                    crate::value::path_text(file.as_bytes())
                ))),
                Err(e) => Err(crate::files::file_error(e, &file)),
            })
            .and_then(|f| {
                crate::input::Lines::opened(f).map_err(|e| crate::files::file_error(e, &file))
            });
        let mut lines = match opened {
            Ok(l) => l,
            Err(e) => return self.fail(e.at(path.span), origin),
        };
        let opts = PlayOptions {
            step: step || self.opts.step,
            ..self.opts
        };
        self.play_nested(&mut lines, &file, opts, origin)
    }

    fn play_nested(
        &mut self,
        lines: &mut dyn Iterator<Item = Line>,
        name: &str,
        opts: PlayOptions,
        origin: &Origin<'_>,
    ) -> LineEnd {
        if self.depth >= MAX_DEPTH {
            return self.fail(
                ExecError::usage(format!(
                    "scripts and macros nest at most {MAX_DEPTH} deep (does {name} source itself?)"
                )),
                origin,
            );
        }
        self.depth += 1;
        let played = self.play(lines, name, opts);
        self.depth -= 1;
        played.as_line_end()
    }

    /// `lesson` lists the bundled lessons; `lesson N [step|check]` runs one.
    pub(crate) fn lesson_cmd(
        &mut self,
        number: Option<&Spanned<Expr>>,
        mode: Option<LessonMode>,
        origin: &Origin<'_>,
    ) -> LineEnd {
        let Some(number) = number else {
            let list = crate::lessons::LESSONS
                .iter()
                .enumerate()
                .map(|(k, l)| (k + 1, l.title().to_string()))
                .collect();
            let item = Item::Lessons(list);
            crate::script::say(&render::item(&item));
            return LineEnd::Ok;
        };
        let n = match self.session.int(number) {
            Ok(n) => n,
            Err(e) => return self.fail(e, origin),
        };
        let Some(lesson) = crate::lessons::get(n) else {
            return self.fail(
                ExecError::usage(format!(
                    "there is no lesson {n}: they are numbered 1 to {}",
                    crate::lessons::LESSONS.len()
                ))
                .at(number.span)
                .hint("`lesson` lists them"),
                origin,
            );
        };
        let opts = PlayOptions {
            step: mode == Some(LessonMode::Step) || self.opts.step,
            check: mode == Some(LessonMode::Check) || self.opts.check,
            keep_going: self.opts.keep_going,
        };
        let passed = self.expects_passed;
        // The socket files the lesson makes are its own: they go when it
        // ends, however it ends (a socket it left open keeps its file
        // until every socket closes).
        self.session.in_lesson += 1;
        let end = self.play_nested(
            &mut crate::input::text_lines(lesson.text),
            &lesson.path(),
            opts,
            origin,
        );
        self.session.in_lesson -= 1;
        self.session
            .tidy_lesson_files(&mut crate::script::PrintSink);
        if opts.check && end == LineEnd::Ok && self.depth == 0 {
            crate::script::say(&render::check_summary(
                &lesson.path(),
                self.expects_passed - passed,
            ));
        }
        end
    }
}

/// `$1`...`$9` replaced by the arguments; Err(k) when `$k` has none.
fn substitute(line: &str, args: &[String]) -> Result<String, usize> {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$'
            && let Some(d) = chars.peek().and_then(|d| d.to_digit(10))
            && d >= 1
        {
            chars.next();
            let k = d as usize;
            match args.get(k - 1) {
                Some(a) => out.push_str(a),
                None => return Err(k),
            }
            continue;
        }
        out.push(c);
    }
    Ok(out)
}

/// The arguments of a macro call: words, a quoted string (with its
/// quotes and prefix, `b"a b"`) counting as one.
pub fn split_args(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        match quote {
            Some(q) => {
                cur.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c.is_whitespace() => {
                if !cur.is_empty() {
                    args.push(std::mem::take(&mut cur));
                }
            }
            None => {
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
                cur.push(c);
            }
        }
    }
    if !cur.is_empty() {
        args.push(cur);
    }
    args
}

/// What the teacher pressed.
enum Key {
    Go,
    Quit,
    Interrupted,
}

/// Terminal echo turned off while it lives (on a terminal); typed-ahead
/// input is dropped when it ends, and the echo comes back.
struct EchoOff {
    fd: i32,
    saved: Option<libc::termios>,
}

impl EchoOff {
    fn new(fd: i32) -> EchoOff {
        // SAFETY: termios is plain data; tcgetattr fills it or fails (not a
        // terminal), and then nothing is changed.
        let saved = unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut t) != 0 {
                None
            } else {
                let mut quiet = t;
                quiet.c_lflag &= !libc::ECHO;
                (libc::tcsetattr(fd, libc::TCSANOW, &quiet) == 0).then_some(t)
            }
        };
        EchoOff { fd, saved }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            // SAFETY: the settings read in `new`, on the same descriptor.
            unsafe {
                libc::tcflush(self.fd, libc::TCIFLUSH);
                libc::tcsetattr(self.fd, libc::TCSANOW, t);
            }
        }
    }
}

/// Waits for a line on `fd` (the terminal, else stdin): `q` leaves,
/// anything else goes on; the end of input leaves too. Ctrl-C is seen
/// within 100 ms (a plain read would be restarted after the signal).
/// Returns the key and whether the terminal echoed it.
fn wait_for_enter(fd: i32, interrupt: &AtomicBool) -> (Key, bool) {
    // SAFETY: isatty only looks at the descriptor.
    let echoed = unsafe { libc::isatty(fd) } == 1;
    let mut line = Vec::new();
    loop {
        if interrupt.load(Ordering::SeqCst) {
            return (Key::Interrupted, echoed);
        }
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut p, 1, 100) };
        if rc <= 0 {
            continue;
        }
        let mut b = [0u8; 1];
        // SAFETY: reads at most one byte into `b`.
        let n = unsafe { libc::read(fd, b.as_mut_ptr().cast(), 1) };
        if n <= 0 {
            // The end of input (or an error reading it): nobody to step for.
            return (Key::Quit, false);
        }
        if b[0] == b'\n' {
            break;
        }
        if line.len() < 64 {
            line.push(b[0]);
        }
    }
    let typed = String::from_utf8_lossy(&line).trim().to_ascii_lowercase();
    let key = if typed == "q" || typed == "quit" {
        Key::Quit
    } else {
        Key::Go
    };
    (key, echoed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_arguments_keep_quoted_strings_whole() {
        assert_eq!(
            split_args(r#" k b"a b" 'c\' d' x"#),
            vec!["k", r#"b"a b""#, r"'c\' d'", "x"]
        );
        assert!(split_args("   ").is_empty());
    }

    #[test]
    fn dollar_digits_are_replaced() {
        let args = vec!["s".to_string(), "9900".to_string()];
        assert_eq!(
            substitute("bind $1 127.0.0.1 $2", &args),
            Ok("bind s 127.0.0.1 9900".into())
        );
        assert_eq!(substitute("echo $3", &args), Err(3));
        assert_eq!(substitute("$init and $0", &args), Ok("$init and $0".into()));
    }
}

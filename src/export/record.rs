//! `record FILE.sp` ... `record stop`: what is typed, saved as a lesson
//! (docs/lessons.md) that replays with `sockplay FILE.sp --check`.
//!
//! Each line typed is saved as typed, with two rewrites that keep the
//! lesson true on another run: a port the kernel chose, typed back as a
//! number (`connect k 127.0.0.1 45319`), becomes the socket's name
//! (`connect k s`), and a bind to a UNIX path gets the course's `unlink`
//! before it. After each command come `expect` lines for what it showed
//! that will show again: its error (which a lesson needs, or it stops),
//! its values (a port the kernel chose as `\d+`; descriptors, sockets and
//! times never), the bytes it sent, and the TCP state it left. The file is
//! added to after each line, so a closed terminal loses nothing.

use super::journal::{Journal, Owner, Shown, Step, cut, host_port_span};
use crate::errors::ExecError;
use crate::exec::{Item, Session};
use crate::script::{Capture, Runner};
use crate::syntax::ast::{AddrExpr, Command, Expr, How, SockRef, Spanned};
use crate::value::{Value, escape_controls};
use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

/// Value expects after one command, at most (a lesson checks the point,
/// not every line).
const MAX_VALUE_EXPECTS: usize = 3;
/// The text of one expect, at most (it is a "contains" check).
const MAX_EXPECT: usize = 160;

/// A recording in progress.
pub struct Recorder {
    path: PathBuf,
    file: File,
    /// The lesson so far, line by line (only ever added to).
    lines: Vec<String>,
    /// How many of them are in the file.
    saved: usize,
    /// Where the line being run began in the journal.
    start: usize,
    /// Ports written as numbers by the teacher (kept as they are).
    chosen: HashSet<u16>,
    /// Of those, the ones a socket or peer was bound to (the lesson binds
    /// them again when it plays).
    bound: HashSet<u16>,
    /// UNIX paths the lesson unlinks or was given an unlink for.
    unlinked: HashSet<String>,
    /// Commands recorded.
    commands: usize,
    /// Lines that waited on something outside the session.
    waited: Vec<usize>,
    /// Lines left out (interrupted), as typed.
    left_out: Vec<String>,
    /// Inside a `macdef` body (its lines are saved as they are).
    in_macro: bool,
}

/// `record FILE.sp [force]`, `record stop`, `record`.
pub fn command(
    runner: &mut Runner,
    path: Option<&Spanned<Expr>>,
    force: bool,
) -> Result<Vec<Item>, ExecError> {
    let Some(p) = path else {
        return Ok(vec![Item::Note(match &runner.recorder {
            Some(r) => format!(
                "recording to {} ({} command{} so far); `record stop` ends it",
                shown(&r.path),
                r.commands,
                if r.commands == 1 { "" } else { "s" }
            ),
            None => "not recording: `record lesson.sp` starts, `record stop` ends".into(),
        })]);
    };
    if matches!(&p.node, Expr::Word(w) | Expr::Var(w) if w == "stop") {
        return match stop(runner) {
            Some(items) => Ok(items),
            None => Err(ExecError::usage("no recording to stop")
                .at(p.span)
                .hint("`record lesson.sp` starts one")),
        };
    }
    if let Some(r) = &runner.recorder {
        return Err(
            ExecError::usage(format!("already recording to {}", shown(&r.path)))
                .hint("`record stop` first"),
        );
    }
    let path = super::path_of(p)?;
    // Put in place at once (it is rewritten after each line); its
    // descriptor is out of the learner's way: their first socket is
    // still fd 3.
    let file = super::files::create(&mut runner.session, &path, force)
        .and_then(crate::files::NewFile::commit)
        .map_err(|e| e.at(p.span))?;
    let mut r = Recorder {
        path: path.clone(),
        file,
        lines: Vec::new(),
        saved: 0,
        start: runner.journal.steps.len(),
        chosen: HashSet::new(),
        bound: HashSet::new(),
        unlinked: HashSet::new(),
        commands: 0,
        waited: Vec::new(),
        left_out: Vec::new(),
        in_macro: false,
    };
    r.save();
    runner.recorder = Some(r);
    runner.journal.keep_text = true;
    Ok(vec![
        Item::Done(format!("recording to {}", shown(&path))),
        Item::Note(
            "each line you type is saved, `# ...` as narration, with expects for what it shows; `record stop` ends it"
                .into(),
        ),
    ])
}

/// Ends the recording (also at quit and at the end of input); what to say.
pub fn stop(runner: &mut Runner) -> Option<Vec<Item>> {
    let mut r = runner.recorder.take()?;
    runner.journal.keep_text = false;
    r.save();
    let mut items = vec![Item::Done(format!(
        "recorded {} command{} to {}",
        r.commands,
        if r.commands == 1 { "" } else { "s" },
        shown(&r.path)
    ))];
    if !r.left_out.is_empty() {
        items.push(Item::Note(format!(
            "left out, interrupted with Ctrl-C (they would wait for ever): {}",
            r.left_out.join("; ")
        )));
    }
    if !r.waited.is_empty() {
        let at: Vec<String> = r.waited.iter().map(|n| n.to_string()).collect();
        items.push(Item::Warn(format!(
            "line{} {} waited for something outside the session (another program?): replayed alone, it may wait for ever there",
            if at.len() == 1 { "" } else { "s" },
            at.join(", ")
        )));
    }
    let mut fixed: Vec<u16> = r.bound.iter().copied().collect();
    fixed.sort_unstable();
    if !fixed.is_empty() {
        let ports: Vec<String> = fixed.iter().map(u16::to_string).collect();
        items.push(Item::Note(format!(
            "it uses port{} {} as you typed: if another program holds {} when it plays, bind fails (EADDRINUSE); port 0 and a socket's name (connect k s) never collide",
            if ports.len() == 1 { "" } else { "s" },
            ports.join(", "),
            if ports.len() == 1 { "it" } else { "one" }
        )));
    }
    items.push(Item::Note(format!(
        "check it: sockplay {} --check",
        super::shell_word(&r.path)
    )));
    Some(items)
}

impl Recorder {
    /// Before a line runs.
    pub fn begin(&mut self, journal: &Journal) {
        self.start = journal.steps.len();
    }

    /// A narration line of a script being played (the shell's typed ones
    /// come through [`Recorder::line`]).
    pub fn narration(&mut self, text: &str) {
        self.lines.push(text.trim().to_string());
        self.save();
    }

    /// A line the shell read, after it ran (`capture`: what it showed).
    pub fn line(&mut self, text: &str, capture: &Capture, journal: &Journal, session: &Session) {
        let t = text.trim();
        if self.in_macro {
            self.lines.push(text.trim_end().to_string());
            if t.is_empty() {
                self.in_macro = false;
            }
            self.save();
            return;
        }
        if t.is_empty() {
            return;
        }
        if t.starts_with('#') {
            self.lines.push(t.to_string());
            self.save();
            return;
        }
        let steps = journal.since(self.start);
        // `record`, `export` and `quit` are not part of the lesson.
        if let Ok(stmts) = crate::syntax::parse_line(t) {
            if stmts.iter().any(|s| {
                matches!(
                    s.command,
                    Command::Record { .. } | Command::Export { .. } | Command::Quit { .. }
                )
            }) {
                return;
            }
            if !stmts.is_empty()
                && stmts
                    .iter()
                    .all(|s| matches!(s.command, Command::Expect(_)))
            {
                // The teacher's own check: as typed (once, when it is the
                // one just generated).
                if self
                    .lines
                    .iter()
                    .rev()
                    .take_while(|l| l.starts_with("expect"))
                    .all(|l| l != t)
                {
                    self.lines.push(t.to_string());
                }
                self.save();
                return;
            }
            if stmts
                .iter()
                .any(|s| matches!(s.command, Command::MacDef { .. }))
            {
                self.in_macro = true;
                self.lines.push(t.to_string());
                self.save();
                return;
            }
        }
        if capture
            .failure
            .as_ref()
            .is_some_and(|f| f.exception == "KeyboardInterrupt")
        {
            self.left_out.push(escape_controls(t));
            return;
        }
        self.note_chosen(steps, journal);
        // The statements' spans count from the line as typed.
        let lead = text.len() - text.trim_start().len();
        let line = self.rewrite(t, lead, steps, journal, session);
        for path in unix_binds(steps) {
            if self.unlinked.insert(path.clone()) {
                self.lines.push(format!("unlink {}", quote_path(&path)));
            }
        }
        for s in steps {
            if let Command::Unlink { path } = &s.stmt.command
                && let Expr::Word(p) | Expr::Str(p) = &path.node
            {
                self.unlinked.insert(p.clone());
            }
        }
        self.lines.push(line);
        self.commands += 1;
        if steps.iter().any(|s| s.waited && s.job.is_none()) && capture.failure.is_none() {
            self.waited.push(self.lines.len());
        }
        let expects = self.expects(capture, steps, journal, session);
        self.lines.extend(expects);
        self.save();
    }

    /// Ports the teacher wrote as numbers (not the kernel's).
    fn note_chosen(&mut self, steps: &[Step], journal: &Journal) {
        for s in steps {
            let (port, binds) = match &s.stmt.command {
                Command::Bind { addr, .. } => (literal_port(addr), true),
                Command::Connect { addr, .. } | Command::SendTo { addr, .. } => {
                    (literal_port(addr), false)
                }
                Command::Serve { addr: Some(a), .. } => (literal_port(a), true),
                _ => (None, false),
            };
            if let Some(p) = port
                && p != 0
                && !kernel_port(journal, p)
            {
                self.chosen.insert(p);
                if binds && s.error.is_none() {
                    self.bound.insert(p);
                }
            }
        }
    }

    /// The line as typed (`t`, trimmed of the `lead` bytes of blanks its
    /// statements' spans count), with a kernel's port typed back as a
    /// number replaced by the socket's (or peer's) name.
    fn rewrite(
        &mut self,
        t: &str,
        lead: usize,
        steps: &[Step],
        journal: &Journal,
        session: &Session,
    ) -> String {
        let mut edits: Vec<(usize, usize, String)> = Vec::new();
        for s in steps.iter().filter(|s| s.depth == 0) {
            let Some((span, _host, port)) = host_port_span(&s.stmt.command) else {
                continue;
            };
            let Expr::Int(p) = port.node else { continue };
            let Some(note) = journal
                .ports
                .iter()
                .rfind(|n| n.by_kernel && i64::from(n.addr.port()) == p)
            else {
                continue;
            };
            let Some(name) = self.owner_name(&note.owner, session) else {
                continue;
            };
            // The Python surface writes the address as a tuple.
            let python = s.text.contains(".connect(") || s.text.contains(".sendto(");
            let (Some(mut a), Some(mut b)) =
                (span.start.checked_sub(lead), span.end.checked_sub(lead))
            else {
                continue;
            };
            let replacement = if python {
                if t[..a].ends_with('(') && t[b..].starts_with(')') {
                    a -= 1;
                    b += 1;
                }
                format!("{name}.getsockname()")
            } else {
                name
            };
            if b <= t.len() && t.is_char_boundary(a) && t.is_char_boundary(b) {
                edits.push((a, b, replacement));
            }
        }
        edits.sort_by_key(|e| std::cmp::Reverse(e.0));
        let mut out = t.to_string();
        for (a, b, r) in edits {
            out.replace_range(a..b, &r);
        }
        out
    }

    /// The name a socket or peer has in the session now.
    fn owner_name(&mut self, owner: &Owner, session: &Session) -> Option<String> {
        match owner {
            Owner::Socket(serial) => session.vars.iter().find_map(|(n, v)| match v {
                Value::Socket(h) if h.serial == *serial && session.table.get(*h).is_some() => {
                    Some(n.clone())
                }
                _ => None,
            }),
            Owner::Peer(n) => {
                let addr = session.peers.addr(*n)?;
                session.vars.iter().find_map(|(name, v)| match v {
                    Value::Addr(a) if a == &addr => Some(name.clone()),
                    _ => None,
                })
            }
        }
    }

    /// The expects of one command.
    fn expects(
        &self,
        capture: &Capture,
        steps: &[Step],
        journal: &Journal,
        session: &Session,
    ) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(f) = &capture.failure {
            let name = if f.exception == "SyntaxError" {
                Some("SyntaxError".to_string())
            } else if let Some(e) = f.errno.and_then(crate::errors::errno_name) {
                Some(e.to_string())
            } else if f.exception.ends_with("Error") {
                Some(f.exception.trim_start_matches("socket.").to_string())
            } else {
                None
            };
            out.push(match name {
                Some(n) if n.ends_with("Error") && n.contains('.') => "expect error".to_string(),
                Some(n) => format!("expect error {n}"),
                None => "expect error".into(),
            });
            return out;
        }
        if steps.iter().any(|s| s.job.is_some()) {
            // Its result comes later (at `wait`).
            return out;
        }
        let mut values = 0;
        for s in steps {
            if matches!(s.stmt.command, Command::Fileno { .. }) {
                continue;
            }
            let shown: Vec<&Shown> = s
                .values
                .iter()
                .chain(if matches!(s.stmt.command, Command::Wait { .. }) {
                    s.joined
                        .iter()
                        .flat_map(|r| r.values.iter())
                        .collect::<Vec<_>>()
                } else {
                    Vec::new()
                })
                .collect();
            for v in shown {
                if values >= MAX_VALUE_EXPECTS {
                    break;
                }
                if let Some(e) = self.value_expect(v, journal) {
                    out.push(e);
                    values += 1;
                }
            }
            if matches!(
                s.stmt.command,
                Command::Send { .. } | Command::SendAll { .. } | Command::SendTo { .. }
            ) && s.stmt.targets.is_empty()
            {
                // `sent 5 bytes`, in the order the sends said it.
                let said: Vec<&str> = capture
                    .text
                    .lines()
                    .map(str::trim)
                    .filter(|l| is_sent_line(l))
                    .collect();
                let k = steps[..steps.iter().position(|x| std::ptr::eq(x, s)).unwrap_or(0)]
                    .iter()
                    .filter(|x| {
                        matches!(
                            x.stmt.command,
                            Command::Send { .. } | Command::SendAll { .. } | Command::SendTo { .. }
                        )
                    })
                    .count();
                if let Some(l) = said.get(k) {
                    // `sent 2 bytes`, without where to (a port may vary).
                    let end = l.find(" byte").map_or(l.len(), |e| {
                        e + if l[e..].starts_with(" bytes") { 6 } else { 5 }
                    });
                    out.push(expect_text(&l[..end]));
                }
            }
            if s.depth == 0
                && let Some(e) = state_expect(s, session)
            {
                out.push(e);
            }
        }
        out
    }

    /// `expect "data = b'hi'"`, or a regex where a port the kernel chose
    /// shows; None for what varies (sockets, descriptors).
    fn value_expect(&self, v: &Shown, journal: &Journal) -> Option<String> {
        if v.val.has_socket() {
            return None;
        }
        let text = v.text.as_deref()?.lines().next()?.trim().to_string();
        // The value itself, not the notes after it (`  (11 bytes)`).
        let text = match text.find("  ") {
            Some(k) => text[..k].to_string(),
            None => text,
        };
        if text.is_empty() || text.len() > MAX_EXPECT * 4 {
            return None;
        }
        let text = cut(&text, MAX_EXPECT);
        // A port in an address as Python shows it (`('127.0.0.1', 40123)`)
        // varies when the kernel chose it.
        let mut re = String::new();
        let mut varies = false;
        let mut rest = text.as_str();
        while let Some(k) = rest.find("', ") {
            re.push_str(&regex::escape(&rest[..k + 3]));
            rest = &rest[k + 3..];
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            let port = rest[..digits].parse::<u16>().ok();
            if port.is_some_and(|p| !self.chosen.contains(&p) || kernel_port(journal, p)) {
                re.push_str("\\d+");
                varies = true;
            } else {
                re.push_str(&rest[..digits]);
            }
            rest = &rest[digits..];
        }
        re.push_str(&regex::escape(rest));
        if !varies {
            return Some(expect_text(&text));
        }
        Some(format!("expect /{}/", re.replace('/', "\\/")))
    }

    /// Writes the lines not written yet. Lines are only ever added, so
    /// the file grows by what each line added (rewriting it whole after
    /// every line made a long recording's writes grow with its square).
    fn save(&mut self) {
        let mut text = String::new();
        for l in self.lines.get(self.saved..).unwrap_or_default() {
            text.push_str(l);
            text.push('\n');
        }
        // A line that could not be written is not tried again (a part of
        // it may be in the file already).
        let _ = self.file.write_all(text.as_bytes());
        let _ = self.file.flush();
        self.saved = self.lines.len();
    }
}

/// A line that says how many bytes a send sent.
fn is_sent_line(l: &str) -> bool {
    let Some(rest) = l.strip_prefix("sent ") else {
        return false;
    };
    let rest = rest.strip_prefix("all ").unwrap_or(rest);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    !digits.is_empty() && rest[digits.len()..].starts_with(" byte")
}

/// `expect "..."` for text, written so the lexer reads it back as is.
fn expect_text(s: &str) -> String {
    let s = s.trim();
    if !s.contains('"') {
        if s.contains('\\') {
            return format!("expect r\"{s}\"");
        }
        return format!("expect \"{s}\"");
    }
    format!(
        "expect \"{}\"",
        s.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// The kernel chose this port for some socket or peer of the session.
fn kernel_port(journal: &Journal, p: u16) -> bool {
    journal
        .ports
        .iter()
        .any(|n| n.by_kernel && n.addr.port() == p)
}

fn literal_port(a: &AddrExpr) -> Option<u16> {
    match a {
        AddrExpr::HostPort { port, .. } => match port.node {
            Expr::Int(p) => u16::try_from(p).ok(),
            _ => None,
        },
        _ => None,
    }
}

/// `expect state` for a command that leaves its socket in a state that
/// holds (not one a packet in flight could change).
fn state_expect(s: &Step, session: &Session) -> Option<String> {
    let (sock, want): (&Spanned<SockRef>, &[&str]) = match &s.stmt.command {
        Command::Listen { sock, .. } => (sock, &["LISTEN", "listening"]),
        Command::Connect { sock, .. } => (sock, &["ESTABLISHED", "connected"]),
        Command::Shutdown {
            sock,
            how: How::Write | How::Both,
        } => (sock, &["FIN_WAIT1", "FIN_WAIT2"]),
        Command::Accept { .. } => {
            let t = s.stmt.targets.first()?;
            let now = session
                .state_of(&Spanned::new(SockRef::Name(t.node.clone()), t.span))
                .ok()?;
            return (now == "ESTABLISHED").then(|| format!("expect state {} ESTABLISHED", t.node));
        }
        _ => return None,
    };
    let SockRef::Name(name) = &sock.node else {
        return None;
    };
    let now = session.state_of(sock).ok()?;
    if !want.contains(&now.as_str()) {
        return None;
    }
    let shown = if now.starts_with("FIN_WAIT") {
        "FIN_WAIT".to_string()
    } else {
        now
    };
    Some(format!("expect state {name} {shown}"))
}

/// The UNIX paths the steps bind.
fn unix_binds(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .filter(|s| s.error.is_none() && s.depth == 0)
        .filter_map(|s| match &s.stmt.command {
            Command::Bind {
                addr: AddrExpr::Path(p),
                ..
            } => Some(p.node.clone()),
            _ => None,
        })
        .collect()
}

fn quote_path(p: &str) -> String {
    if p.chars()
        .all(|c| c.is_ascii_alphanumeric() || "./_-".contains(c))
        && p.contains('/')
    {
        p.to_string()
    } else {
        format!("\"{}\"", p.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn shown(p: &std::path::Path) -> String {
    escape_controls(&p.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expect_text_reads_back_as_written() {
        assert_eq!(expect_text("data = b'hi'"), "expect \"data = b'hi'\"");
        assert_eq!(expect_text(r"-> b'a\r\n'"), r#"expect r"-> b'a\r\n'""#);
        assert_eq!(expect_text(r#"-> b'"\x00'"#), r#"expect "-> b'\"\\x00'""#);
        for s in ["data = b'hi'", r"-> b'a\r\n'", r#"-> b'"\x00'"#] {
            let line = expect_text(s);
            let stmts = crate::syntax::parse_line(&line).expect("parses");
            match &stmts[0].command {
                Command::Expect(crate::syntax::ast::Expectation::Output(t)) => {
                    assert_eq!(t.node, s);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn sent_lines_are_known() {
        assert!(is_sent_line("sent 5 bytes"));
        assert!(is_sent_line("sent all 11 bytes"));
        assert!(is_sent_line("sent 1 byte"));
        assert!(!is_sent_line("sent the date"));
    }
}

//! Items, values and errors to text. The only module that colours (with
//! the `colored` crate, whose global switch the front end sets from
//! `--color` and NO_COLOR).
//!
//! Output is indented two spaces under the prompt line so that a session
//! reads as a transcript: what was typed, then what happened. Notes start
//! with `#`, like comments in a script.
//!
//! Here the items and values; `tables.rs` the column-laid tables (`ls`,
//! `peers`, a peer's log, timelines), `layout.rs` the terminal's width,
//! wrapping and `help`, `errors.rs` errors with their caret, `style.rs` the
//! small pieces all of them share.

mod errors;
mod layout;
mod style;
mod tables;

pub use errors::{Origin, exec_error, parse_error};
pub use layout::{DEFAULT_WIDTH, fit, fit_done, fit_value, screen_width, set_width, whole};
pub use style::strip_ansi;

use crate::exec::{Item, JobEnd, Piece, SockDesc};
use crate::syntax::ast::View;
use crate::value::{self, Value};
use crate::{spec, wait};
use colored::Colorize;
use layout::{explanation, help_all, help_one};
use std::fmt::Write as _;
use style::{IND, byte_count, safe, state_colored};
use tables::{peer_log, peers_table, table, timeline};

/// Values longer than this are shown cut (a terminal is no place for a
/// megabyte); the hex and text views show more, up to [`SHOWN_VIEW`].
const SHOWN: usize = 1024;

/// The most bytes the hex and text views show of one value (a 256 MiB
/// value in hex would be a gigabyte of text).
const SHOWN_VIEW: usize = 1 << 20;

/// The prompt.
pub const PROMPT: &str = "sockplay> ";

/// What `clear` writes to a terminal: the cursor home, the screen erased
/// (as Ctrl-L does; the scrollback stays).
pub const CLEAR_SCREEN: &str = "\x1b[H\x1b[2J";

pub fn prompt_styled() -> String {
    PROMPT.bold().blue().to_string()
}

/// The prompt while a `macdef` typed in the shell collects its lines.
pub const MACRO_PROMPT: &str = "  macro> ";

pub fn macro_prompt_styled() -> String {
    MACRO_PROMPT.dimmed().to_string()
}

/// A socket, Python-like: `<socket c fd=5 AF_INET SOCK_STREAM laddr=... raddr=... ESTABLISHED>`.
pub fn sock_desc(d: &SockDesc) -> String {
    if d.closed {
        return format!("<socket [closed] fd={}>", d.fd);
    }
    let mut s = format!("<socket fd={} {} {}", d.fd, d.family, d.kind);
    if let Some(l) = &d.local {
        let _ = write!(s, " laddr={l}");
    }
    if let Some(p) = &d.peer {
        let _ = write!(s, " raddr={p}");
    }
    if !d.state.is_empty() && d.state != "CLOSED" {
        let _ = write!(s, " {}", d.state);
    }
    s.push('>');
    s
}

/// Received bytes split at the sends they came from: `b'hello' + b' world'`,
/// each send in its own colour, so TCP's missing boundaries can be seen.
/// Bytes beyond the recorded sends form a last piece of their own.
fn bytes_by_send(b: &[u8], pieces: &[Piece]) -> String {
    let mut parts = Vec::new();
    let mut at = 0;
    for p in pieces {
        let end = (at + p.len).min(b.len());
        parts.push((Some(p.send_no), &b[at..end]));
        at = end;
    }
    if at < b.len() {
        parts.push((None, &b[at..]));
    }
    let shown: Vec<String> = parts
        .iter()
        .map(|(no, chunk)| {
            let r = value::bytes_repr(chunk);
            match no.map(|n| n % 3) {
                Some(1) => r.green().to_string(),
                Some(2) => r.cyan().to_string(),
                Some(_) => r.magenta().to_string(),
                None => r.normal().to_string(),
            }
        })
        .collect();
    shown.join(&" + ".dimmed().to_string())
}

/// A value with the sends its bytes came from (see [`bytes_by_send`]).
pub fn value_text_pieces(
    v: &Value,
    view: View,
    sock: Option<&SockDesc>,
    pieces: &[Piece],
) -> String {
    match (v, view) {
        (Value::Bytes(b), View::Repr)
            if b.len() <= SHOWN
                && (pieces.len() > 1 || pieces.first().is_some_and(|p| p.len < b.len())) =>
        {
            format!(
                "{}  {}",
                bytes_by_send(b, pieces),
                format!("({})", byte_count(b.len())).dimmed()
            )
        }
        _ => value_text(v, view, sock),
    }
}

/// A value as shown after `name =` (may span lines for hex and text views).
pub fn value_text(v: &Value, view: View, sock: Option<&SockDesc>) -> String {
    match (v, sock) {
        (Value::Socket(_), Some(d)) => return sock_desc(d).cyan().to_string(),
        (Value::Bytes(b), _) => {
            return match view {
                View::Repr if b.len() > SHOWN => format!(
                    "{}...  {}",
                    value::bytes_repr(&b[..SHOWN]).green(),
                    format!("({}, the first {SHOWN} shown; `recv ... hex` or `set display hex` shows more)", byte_count(b.len()))
                        .dimmed()
                ),
                View::Repr => format!(
                    "{}  {}",
                    value::bytes_repr(b).green(),
                    format!("({})", byte_count(b.len())).dimmed()
                ),
                View::Hex if b.is_empty() => format!("{}  {}", "b''".green(), "(0 bytes)".dimmed()),
                View::Hex => {
                    let mut s =
                        format!("{}", format!("{}, hexdump:", byte_count(b.len())).dimmed());
                    for line in value::hexdump(&b[..b.len().min(SHOWN_VIEW)]).lines() {
                        let _ = write!(s, "\n{IND}{IND}{line}");
                    }
                    view_cut(&mut s, b.len());
                    s
                }
                View::Text => {
                    let mut s = format!("{}", format!("{} as text:", byte_count(b.len())).dimmed());
                    let text = value::bytes_as_text(&b[..b.len().min(SHOWN_VIEW)]);
                    for line in text.split('\n') {
                        let _ = write!(s, "\n{IND}{IND}{} {}", "|".dimmed(), line.green());
                    }
                    view_cut(&mut s, b.len());
                    s
                }
            };
        }
        _ => {}
    }
    match v {
        Value::Tuple(items)
            if items.len() == 2 && matches!(items[0], Value::Socket(_)) && sock.is_some() =>
        {
            let first = sock.map(sock_desc).unwrap_or_default();
            format!("({}, {})", first.cyan(), items[1].repr_cut(4 * SHOWN).0)
        }
        Value::Str(t) if t.len() > SHOWN => {
            let cut = (0..=SHOWN)
                .rev()
                .find(|k| t.is_char_boundary(*k))
                .unwrap_or(0);
            format!(
                "{}...  {}",
                value::str_repr(&t[..cut]).green(),
                format!("({} characters, the first part shown)", t.chars().count()).dimmed()
            )
        }
        Value::Str(_) => v.repr().green().to_string(),
        Value::Int(_) | Value::Float(_) => v.repr().magenta().to_string(),
        _ => {
            // A tuple may hold large values: its repr is cut too.
            let (text, cut) = v.repr_cut(4 * SHOWN);
            if cut {
                format!(
                    "{text}...  {}",
                    format!("({} bytes of data, the first part shown)", v.data_len()).dimmed()
                )
            } else {
                text
            }
        }
    }
}

/// The line that says a hex or text view was cut.
fn view_cut(s: &mut String, len: usize) {
    if len > SHOWN_VIEW {
        let _ = write!(
            s,
            "\n{IND}{IND}{}",
            format!(
                "... {} more (the first {} shown)",
                byte_count(len - SHOWN_VIEW),
                value::human_size(SHOWN_VIEW as u64)
            )
            .dimmed()
        );
    }
}

/// One item as lines of text (no trailing newline).
pub fn item(it: &Item) -> String {
    match it {
        Item::Waiting { call, what, queue } => format!(
            "{IND}{}",
            format!(
                "{} waits for {} - {} - Ctrl-C to interrupt",
                safe(call),
                safe(what),
                safe(queue)
            )
            .yellow()
        ),
        Item::NoWait(why) => format!("{IND}{}", format!("no wait: {}", safe(why)).cyan()),
        Item::Waited(d) => format!(
            "{IND}{}",
            format!("returned after {}", wait::human(*d)).dimmed()
        ),
        Item::Done(s) => format!("{IND}{}", safe(s)),
        Item::Value {
            name,
            value,
            view,
            sock,
            pieces,
        } => {
            let v = value_text_pieces(value, *view, sock.as_ref(), pieces);
            match name {
                Some(n) => format!("{IND}{} = {v}", safe(n).bold()),
                None => format!("{IND}-> {v}"),
            }
        }
        Item::Note(s) => format!("{IND}{}", format!("# {}", safe(s)).dimmed().italic()),
        Item::Warn(s) => format!("{IND}{}", format!("! {}", safe(s)).yellow().bold()),
        Item::Table(rows) => table(rows),
        Item::Fields(title, fields) => {
            let w = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            let mut out = format!("{IND}{}", safe(title).bold());
            for (k, v) in fields {
                let shown = if k == "state" {
                    state_colored(v)
                } else {
                    safe(v).into_owned()
                };
                let _ = write!(out, "\n{IND}{IND}{:w$}  {}", k.dimmed(), shown, w = w);
            }
            out
        }
        Item::Progress(s) => format!("{IND}{}", safe(s).yellow()),
        Item::JobStarted { id, desc, state } => format!(
            "{IND}{} {}\n{IND}    {}",
            format!("[{id}]").bold().blue(),
            value::escape_controls(desc),
            state.dimmed()
        ),
        Item::JobEnded {
            id,
            desc,
            elapsed,
            how,
            items,
        } => job_report(*id, desc, *elapsed, how, items),
        Item::Jobs(rows) => {
            let mut lines = Vec::new();
            for (id, desc, state, elapsed) in rows {
                lines.push(format!(
                    "{IND}{} {}  {}  {}",
                    format!("[{id}]").bold().blue(),
                    value::escape_controls(desc),
                    state,
                    format!("({})", wait::human(*elapsed)).dimmed()
                ));
            }
            lines.join("\n")
        }
        Item::Moment(..) => String::new(),
        Item::Timeline { title, head, rows } => {
            let rows: Vec<Vec<String>> = rows
                .iter()
                .map(|r| r.iter().map(|c| safe(c).into_owned()).collect())
                .collect();
            timeline(&safe(title), head, &rows)
        }
        Item::Diagram(l) => diagram(l),
        Item::Explain(m, ends) => explanation(m.title(), &m.text_for(ends)),
        Item::Help(None) => help_all(),
        Item::Help(Some(cmd)) => help_one(spec::spec_of(*cmd)),
        Item::Echo(s) => format!("{IND}{}", safe(s)),
        Item::Vars(list) => {
            let mut lines = Vec::new();
            for (k, v, d) in list {
                lines.push(format!(
                    "{IND}{} = {}",
                    k.bold(),
                    value_text(v, View::Repr, d.as_ref())
                ));
            }
            lines.join("\n")
        }
        Item::Call { who, at, source } => {
            let who = if who.is_empty() {
                String::new()
            } else {
                format!("{} ", who.bold().blue())
            };
            format!("{who}{}  {}", at.cyan(), source.bold())
        }
        Item::ProgramWaiting {
            call,
            what,
            queue,
            stop,
        } => format!(
            "{IND}{}",
            format!("{call} waits for {what} - {queue} - {stop}").yellow()
        ),
        Item::Raised(e) => {
            let shown = value::escape_controls(&e.to_string());
            let mut out = format!("{IND}{}", shown.red().bold());
            if let Some(h) = &e.hint {
                let h = value::escape_controls(h);
                let _ = write!(out, "\n{IND}{}", format!("hint: {h}").yellow());
            }
            out
        }
        Item::Output { who, text, err } => {
            let bar = if *err { "!".red().bold() } else { "|".dimmed() };
            format!("{} {bar} {text}", who.bold().blue())
        }
        Item::Peers(rows) => peers_table(rows),
        Item::Lessons(list) => lessons_list(list),
        // Written by the printer, on a terminal only (see CLEAR_SCREEN).
        Item::ClearScreen => String::new(),
        Item::PeerLog(log) => peer_log(log),
        Item::Traffic {
            sent,
            bytes,
            pieces: _,
        } => traffic(*sent, bytes),
        Item::Settings(list) => {
            let mut lines = Vec::new();
            for (k, v) in list {
                lines.push(format!("{IND}{k} = {}", safe(v)));
            }
            lines.join("\n")
        }
    }
}

/// `interactive`: bytes as they went or arrived, one screen line per line
/// of the data, marked `<` (received) or `>` (sent), every control byte
/// escaped (`\r`, `\x1b`); a chunk that does not end with a newline says
/// so (the next chunk goes on the same line of the data).
fn traffic(sent: bool, bytes: &[u8]) -> String {
    let mark = if sent { ">".cyan() } else { "<".green() };
    let text = value::bytes_as_text(bytes);
    let body = text.strip_suffix('\n').unwrap_or(&text);
    let mut out = String::new();
    for (k, line) in body.split('\n').enumerate() {
        if k > 0 {
            out.push('\n');
        }
        let _ = write!(out, "{IND}{mark} {line}");
    }
    if !text.ends_with('\n') {
        let _ = write!(out, "{}", " (no newline yet)".dimmed());
    }
    out
}

/// Whether the terminal takes box-drawing characters: a UTF-8 locale
/// (LC_ALL, else LC_CTYPE, else LANG) and colour on (NO_COLOR, `--color
/// never` or output to a file mean plain text, which ASCII is).
fn unicode_ok() -> bool {
    if !colored::control::SHOULD_COLORIZE.should_colorize() {
        return false;
    }
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())
        .unwrap_or_default()
        .to_ascii_lowercase();
    locale.contains("utf-8") || locale.contains("utf8")
}

/// `diagram`: the ladder, 80 columns, coloured by what each piece is.
fn diagram(l: &crate::wire::ladder::Ladder) -> String {
    use crate::wire::ladder::{self, ArrowKind, Style};
    let glyphs = if unicode_ok() {
        &ladder::UNICODE
    } else {
        &ladder::ASCII
    };
    let mut out = Vec::new();
    for line in ladder::lines(l, glyphs) {
        let mut s = String::from(IND);
        for (text, style) in line {
            let text = value::escape_controls(&text);
            let shown = match style {
                Style::Plain => text.normal(),
                Style::Name => text.bold(),
                Style::Dim => text.dimmed(),
                Style::State => text.yellow(),
                Style::Call => text.green().bold(),
                Style::Failed => text.red().bold(),
                Style::Arrow(ArrowKind::Control) => text.normal(),
                Style::Arrow(ArrowKind::Data) => text.cyan(),
                Style::Arrow(ArrowKind::Reset) => text.red().bold(),
                Style::Arrow(ArrowKind::Trouble) => text.magenta(),
                Style::Arrow(ArrowKind::Lost) => text.red(),
            };
            let _ = write!(s, "{shown}");
        }
        out.push(s);
    }
    for n in &l.notes {
        out.push(format!(
            "{IND}{}",
            format!("# {}", value::escape_controls(n)).dimmed()
        ));
    }
    out.join("\n")
}

/// `lesson`: number and title of each bundled lesson.
fn lessons_list(list: &[(usize, String)]) -> String {
    let mut out = format!("{IND}{}", "Lessons".bold());
    for (n, title) in list {
        let _ = write!(out, "\n{IND}{}  {}", format!("{n:>3}").cyan().bold(), title);
    }
    let _ = write!(
        out,
        "\n{IND}{}",
        "# lesson N runs one; lesson N step waits for Enter before each command (q leaves); lesson N check shows only what fails"
            .dimmed()
    );
    out
}

/// A narration line of a script: dimmed; in step mode the title of the
/// next step, in bold so that a class can read it from afar.
pub fn narration(text: &str, title: bool) -> String {
    let shown = value::escape_controls(text);
    if title {
        // `#` and one blank go; the indentation after them stays.
        let body = shown.trim_start().trim_start_matches('#');
        let body = body.strip_prefix(' ').unwrap_or(body).trim_end();
        format!("{}", body.bold())
    } else {
        format!("{}", shown.dimmed())
    }
}

/// The question asked at the prompt before a file is replaced.
pub fn confirm_question(what: &str) -> String {
    format!(
        "{IND}{} {} ",
        value::escape_controls(what).yellow().bold(),
        "[y/N]".dimmed()
    )
}

/// Step mode's first words.
pub fn step_hint() -> String {
    format!(
        "{IND}{}",
        "# step mode: each command is shown first; Enter runs it, q then Enter leaves".dimmed()
    )
}

/// One character of a command typed out in step mode.
pub fn typed(c: char) -> String {
    c.to_string()
}

/// A command shown at once in step mode (when not on a terminal).
pub fn typed_line(text: &str) -> String {
    text.to_string()
}

/// Step mode: the teacher left.
pub fn left_note(file: &str, line: usize) -> String {
    format!(
        "{IND}{}",
        format!("# left {} before line {line}", safe(file)).dimmed()
    )
}

/// Ctrl-C between the lines of a script.
pub fn keyboard_interrupt() -> String {
    format!("{IND}{}", "KeyboardInterrupt".red().bold())
}

/// An `expect` that held, in words.
pub fn expect_held(said: &str) -> String {
    format!(
        "{IND}{} {}",
        "✓".green().bold(),
        value::escape_controls(said).green()
    )
}

/// An `expect` that did not hold: where, what was expected, what came.
pub fn expect_failed(origin: &Origin<'_>, what: &str, expected: &str, got: &[String]) -> String {
    let at = match origin.file {
        Some(f) => format!("{}:{}: ", safe(f), origin.line),
        None => String::new(),
    };
    let mut out = format!("{IND}{}{}", at.red().bold(), "expect failed".red().bold());
    let _ = write!(
        out,
        "\n{IND}{IND}{} {}",
        "expected:".bold(),
        value::escape_controls(expected)
    );
    let whose = if what.is_empty() {
        "got:".to_string()
    } else {
        format!("got, from `{}`:", value::escape_controls(what))
    };
    let _ = write!(out, "\n{IND}{IND}{}", whose.bold());
    const SHOWN: usize = 24;
    for l in got.iter().take(SHOWN) {
        let _ = write!(
            out,
            "\n{IND}{IND}{IND}{} {}",
            "|".dimmed(),
            value::escape_controls(l)
        );
    }
    if got.len() > SHOWN {
        let _ = write!(
            out,
            "\n{IND}{IND}{IND}{}",
            format!("... {} more lines", got.len() - SHOWN).dimmed()
        );
    }
    out
}

/// The end of a `--check` run that passed.
pub fn check_summary(name: &str, expects: usize) -> String {
    format!(
        "{IND}{} {}",
        "✓".green().bold(),
        format!(
            "{}: every command ran and {expects} expect{} held",
            safe(name),
            if expects == 1 { "" } else { "s" }
        )
        .green()
    )
}

/// `[1] done after 0.31 s: c = accept s`, then the job's own lines.
fn job_report(
    id: usize,
    desc: &str,
    elapsed: std::time::Duration,
    how: &JobEnd,
    items: &[Item],
) -> String {
    let tag = format!("[{id}]").bold().blue();
    // The statement as typed: a control character in a string literal is
    // shown escaped.
    let desc = value::escape_controls(desc);
    let head = match how {
        JobEnd::Done => format!("{IND}{tag} done after {}: {desc}", wait::human(elapsed)),
        JobEnd::Failed(_) => format!(
            "{IND}{tag} {} after {}: {desc}",
            "failed".red(),
            wait::human(elapsed)
        ),
        JobEnd::Cancelled(why) if why.is_empty() => format!("{IND}{tag} cancelled: {desc}"),
        JobEnd::Cancelled(why) => format!("{IND}{tag} cancelled ({why}): {desc}"),
    };
    let mut out = head;
    for it in items {
        // The job's own timing is in its head line.
        if matches!(it, Item::Waited(_) | Item::Moment(..)) {
            continue;
        }
        for line in item(it).lines() {
            let _ = write!(out, "\n{IND}{line}");
        }
    }
    if let JobEnd::Failed(e) = how {
        let shown = value::escape_controls(&e.to_string());
        let _ = write!(out, "\n{IND}{IND}{}", shown.red().bold());
        if let Some(h) = &e.hint {
            let h = value::escape_controls(h);
            let _ = write!(out, "\n{IND}{IND}{}", format!("hint: {h}").yellow());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_values_show_length() {
        colored::control::set_override(false);
        assert_eq!(
            value_text(&Value::Bytes(b"hi\r\n".to_vec().into()), View::Repr, None),
            r"b'hi\r\n'  (4 bytes)"
        );
    }
}

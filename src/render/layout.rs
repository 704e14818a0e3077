//! Text laid out for the terminal: its width as the front end measured it,
//! long notes and hints wrapped between words ([`fit`]), the `help` pages
//! (usage and summary in columns) and the boxed explanations. Apart from the
//! items because this is where the width is known and spent.

use super::style::{IND, strip_ansi};
use crate::spec::{self, CmdSpec, Group};
use colored::Colorize;
use std::fmt::Write as _;
use unicode_width::UnicodeWidthStr;

/// The terminal's width in columns as the front end last measured it (0:
/// not a terminal, or not known): `help` fits its lines to it.
static WIDTH: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Long notes (`# ...`), warnings (`! ...`) and hints (`hint: ...`) of
/// `text` wrapped at word boundaries within `width` columns, each
/// continuation under the first word (the terminal would cut them in the
/// middle of a word). Other lines, and lines that fit, are left as they
/// are. Only for the screen: a capture (what `expect` reads) keeps the
/// lines whole.
pub fn fit(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (k, line) in text.split('\n').enumerate() {
        if k > 0 {
            out.push('\n');
        }
        let plain = strip_ansi(line);
        if plain.width() <= width {
            out.push_str(line);
            continue;
        }
        // The mark, the continuation's indent, and the line's colour.
        type Style = (&'static str, &'static str, fn(&str) -> String);
        let styled: Option<Style> = if plain.starts_with("  # ") {
            Some(("# ", "  ", |s| s.dimmed().italic().to_string()))
        } else if plain.starts_with("  ! ") {
            Some(("! ", "  ", |s| s.yellow().bold().to_string()))
        } else if plain.starts_with("  hint: ") {
            Some(("hint: ", "      ", |s| s.yellow().to_string()))
        } else {
            None
        };
        let Some((mark, hang, style)) = styled else {
            match wait_line(&plain, line, width).or_else(|| socket_repr_line(&plain, width)) {
                Some(lines) => out.push_str(&lines),
                None => out.push_str(line),
            }
            continue;
        };
        let body = &plain[IND.len() + mark.len()..];
        let room = width.saturating_sub(IND.len() + mark.len()).max(MIN_TEXT);
        for (j, piece) in wrap(body, room).iter().enumerate() {
            if j > 0 {
                out.push('\n');
            }
            let lead = if j == 0 { mark } else { hang };
            let _ = write!(out, "{IND}{}", style(&format!("{lead}{piece}")));
        }
    }
    out
}

/// What a call did, in words (`Item::Done`), fitted to `width` columns:
/// a line of prose (at the first indent, no column gaps) too wide is
/// wrapped between words, each continuation two columns further in, as a
/// note's are. A table inside (lines further in, or with columns padded by
/// runs of blanks) is left as it is, and so is a socket's repr's neighbour
/// text: only whole words move.
pub fn fit_done(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (k, line) in text.split('\n').enumerate() {
        if k > 0 {
            out.push('\n');
        }
        let plain = strip_ansi(line);
        let body = plain.strip_prefix(IND).unwrap_or("");
        let prose = !body.is_empty()
            && !body.starts_with(' ')
            && !body.contains("  ")
            && !line.contains('\x1b');
        if plain.width() <= width || !prose {
            out.push_str(line);
            continue;
        }
        let room = width.saturating_sub(IND.len() + 2).max(MIN_TEXT);
        for (j, piece) in wrap(body, room).iter().enumerate() {
            if j > 0 {
                out.push('\n');
            }
            let lead = if j == 0 { "" } else { "  " };
            let _ = write!(out, "{IND}{lead}{piece}");
        }
    }
    out
}

/// A value's lines fitted to `width` columns: only a socket's repr is
/// broken (see [`socket_repr_line`]); other values (bytes, whose blanks are
/// part of them) are left as they are.
pub fn fit_value(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (k, line) in text.split('\n').enumerate() {
        if k > 0 {
            out.push('\n');
        }
        let plain = strip_ansi(line);
        match socket_repr_line(&plain, width) {
            Some(lines) if plain.width() > width => out.push_str(&lines),
            _ => out.push_str(line),
        }
    }
    out
}

/// A line holding a socket's repr (`c = <socket fd=5 AF_INET SOCK_STREAM
/// laddr=127.0.0.1:9900 raddr=127.0.0.1:51574 ESTABLISHED>`) too wide for
/// the terminal, broken before `laddr=`, `raddr=` and the state, each
/// continuation under `socket` (the terminal would cut the peer's port in
/// two). Only those places: a UNIX path may hold blanks. Without its
/// colour (the name's bold), which a line broken by hand cannot keep
/// simply. None for any other line.
fn socket_repr_line(plain: &str, width: usize) -> Option<String> {
    if plain.width() <= width {
        return None;
    }
    let open = plain.find("<socket fd=")?;
    if !plain.ends_with('>') || plain[..open].contains(['\'', '"']) {
        return None;
    }
    let mut cuts: Vec<usize> = Vec::new();
    for key in [" laddr=", " raddr="] {
        if let Some(k) = plain[open..].find(key) {
            cuts.push(open + k);
        }
    }
    if let Some(k) = plain.rfind(' ')
        && k > open
        && plain[k + 1..plain.len() - 1]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
    {
        cuts.push(k);
    }
    cuts.sort_unstable();
    cuts.dedup();
    if cuts.is_empty() {
        return None;
    }
    let hang = " ".repeat(plain[..open].width() + 1);
    let mut pieces: Vec<&str> = Vec::new();
    let mut start = 0;
    for &c in &cuts {
        pieces.push(&plain[start..c]);
        start = c + 1;
    }
    pieces.push(&plain[start..]);
    let mut lines: Vec<String> = Vec::new();
    for piece in pieces {
        match lines.last_mut() {
            Some(last) if last.width() + 1 + piece.width() <= width => {
                last.push(' ');
                last.push_str(piece);
            }
            Some(_) => lines.push(format!("{hang}{piece}")),
            None => lines.push(piece.to_string()),
        }
    }
    Some(lines.join("\n"))
}

/// The terminal's width now, if the output goes to one (for [`fit`]).
pub fn screen_width() -> Option<usize> {
    terminal_width()
}

/// The width `help` assumes when the terminal's is not known.
pub const DEFAULT_WIDTH: usize = 80;

/// Tells the renderer the terminal's width (None: not a terminal).
pub fn set_width(cols: Option<usize>) {
    WIDTH.store(cols.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
}

fn width() -> usize {
    terminal_width().unwrap_or(DEFAULT_WIDTH)
}

thread_local! {
    /// Set while [`whole`] renders: the text is for `expect`, not a screen.
    static WHOLE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `f` run as if no terminal were measured: tables keep every column. What
/// `expect` reads must not depend on the window the lesson runs in (a
/// column dropped to fit 80 columns failed the lesson's expects).
pub fn whole<T>(f: impl FnOnce() -> T) -> T {
    let was = WHOLE.with(|w| w.replace(true));
    let out = f();
    WHOLE.with(|w| w.set(was));
    out
}

/// The terminal's width, when the output goes to one.
pub(super) fn terminal_width() -> Option<usize> {
    if WHOLE.with(std::cell::Cell::get) {
        return None;
    }
    match WIDTH.load(std::sync::atomic::Ordering::Relaxed) {
        0 => None,
        w => Some(w),
    }
}

/// The usages are padded to this many columns at most; a longer usage
/// (`select read s... [write s...] ...`) stands on its own line and its
/// summary goes under the column where the others start.
const USAGE_COLUMN: usize = 34;

/// The fewest columns a summary is wrapped to: on a narrower terminal the
/// lines are left long rather than cut into a word or two each.
const MIN_TEXT: usize = 24;

pub(super) fn help_all() -> String {
    help_all_in(width())
}

/// `help`: every command, its usage and summary, grouped; each summary
/// wrapped within `width` columns, its continuation lines aligned under it.
fn help_all_in(width: usize) -> String {
    let mut out = String::new();
    let usage_w = spec::SPECS
        .iter()
        .map(|s| s.usage().len())
        .filter(|&n| n <= USAGE_COLUMN)
        .max()
        .unwrap_or(20);
    // Where every summary starts: after IND IND, the usage and two blanks.
    let col = 2 * IND.len() + usage_w + 2;
    let room = width.saturating_sub(col).max(MIN_TEXT);
    let under = " ".repeat(col);
    for group in [
        Group::Calls,
        Group::Options,
        Group::Names,
        Group::Jobs,
        Group::Peers,
        Group::Scripts,
        Group::Shell,
        Group::Lab,
    ] {
        let _ = writeln!(out, "{IND}{}", group.title().bold());
        for s in spec::SPECS.iter().filter(|s| s.group == group) {
            let usage = s.usage();
            let lines = wrap(s.summary, room);
            let mut lines = lines.iter();
            if usage.len() <= usage_w {
                let pad = usage_w - usage.len();
                let first = lines.next().map_or("", String::as_str);
                let _ = writeln!(
                    out,
                    "{IND}{IND}{}{}  {}",
                    usage.cyan(),
                    " ".repeat(pad),
                    first.dimmed()
                );
            } else if usage.width() + 2 * IND.len() <= width {
                let _ = writeln!(out, "{IND}{IND}{}", usage.cyan());
            } else {
                // A usage too long even for its own line goes on over
                // several, each part under the first.
                let cont = format!("{IND}{IND}{IND}");
                let mut parts =
                    wrap(&usage, width.saturating_sub(cont.len()).max(MIN_TEXT)).into_iter();
                let first = parts.next().unwrap_or_default();
                let _ = writeln!(out, "{IND}{IND}{}", first.cyan());
                for p in parts {
                    let _ = writeln!(out, "{cont}{}", p.cyan());
                }
            }
            for l in lines {
                let _ = writeln!(out, "{under}{}", l.dimmed());
            }
        }
    }
    let footer = "help COMMAND explains one; a socket is its name or fd; `;` separates statements; \
                  Tab completes; Ctrl-L (or clear) clears the screen; reset starts again; \
                  `help python` lists the Python lines it takes too (sk.bind(('127.0.0.1', 9000)))";
    let lines = wrap(footer, width.saturating_sub(IND.len()).max(MIN_TEXT));
    let _ = write!(
        out,
        "{}",
        lines
            .iter()
            .map(|l| format!("{IND}{}", l.dimmed()))
            .collect::<Vec<_>>()
            .join("\n")
    );
    out
}

pub(super) fn help_one(s: &CmdSpec) -> String {
    // The prose is wrapped within the terminal (a line of code is not).
    let room = width().saturating_sub(2 * IND.len()).max(MIN_TEXT);
    let mut out = format!("{IND}{}", s.usage().cyan().bold());
    for text in [s.summary, s.details] {
        for l in wrap(text, room) {
            let _ = write!(out, "\n{IND}{IND}{l}");
        }
    }
    for (k, line) in s.python_example(None).iter().enumerate() {
        // A form in parentheses is no Python line but what to use instead
        // (Wireshark's Flow Graph for `diagram`): not labelled python.
        let elsewhere = line
            .strip_prefix('(')
            .and_then(|l| l.strip_suffix(')'))
            .filter(|_| k == 0);
        match elsewhere {
            Some(what) => {
                let _ = write!(out, "\n{IND}{IND}{} {what}", "without sockplay:".dimmed());
            }
            None => {
                let label = if k == 0 { "python:" } else { "       " };
                let _ = write!(out, "\n{IND}{IND}{} {line}", label.dimmed());
            }
        }
    }
    for v in s.python_variants() {
        for (k, line) in s.python_example(Some(v)).iter().enumerate() {
            let label = if k == 0 {
                format!("python, {v}:")
            } else {
                " ".repeat(v.len() + 9)
            };
            let _ = write!(out, "\n{IND}{IND}{} {line}", label.dimmed());
        }
    }
    if !s.aliases.is_empty() {
        let _ = write!(
            out,
            "\n{IND}{IND}{} {}",
            "aliases:".dimmed(),
            s.aliases.join(", ")
        );
    }
    if s.cmd == spec::Cmd::SetSockOpt || s.cmd == spec::Cmd::GetSockOpt {
        let names: Vec<&str> = spec::OPTIONS.iter().map(|o| o.name).collect();
        let lines = wrap(&format!("options: {}", names.join(" ")), room);
        for (k, l) in lines.iter().enumerate() {
            let l = match l.strip_prefix("options:") {
                Some(rest) if k == 0 => format!("{}{rest}", "options:".dimmed()),
                _ => l.clone(),
            };
            let _ = write!(out, "\n{IND}{IND}{l}");
        }
    }
    out
}

/// A list (`k FIN_WAIT1, c CLOSE_WAIT`) wrapped to `width` columns between
/// its items where it can (an end's states stay on one line), else between
/// words.
pub(super) fn wrap_list(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let items: Vec<&str> = text.split(", ").collect();
    let mut line = String::new();
    for (k, item) in items.iter().enumerate() {
        let item = if k + 1 < items.len() {
            format!("{item},")
        } else {
            item.to_string()
        };
        if !line.is_empty() && line.width() + 1 + item.width() > width {
            lines.push(std::mem::take(&mut line));
        }
        if item.width() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.extend(wrap(&item, width));
            continue;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&item);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// As [`wrap`], keeping a bracketed name (`[TCP Dup ACK 5#1]`) on one
/// line, so that it can be read (and searched for) whole.
pub(super) fn wrap_names(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut words = text.split_whitespace().peekable();
    while let Some(first) = words.next() {
        let mut word = first.to_string();
        if word.starts_with('[') {
            while !word.contains(']')
                && let Some(next) = words.next()
            {
                word.push(' ');
                word.push_str(next);
            }
        }
        if !line.is_empty() && line.width() + 1 + word.width() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A wait line (`accept(fd 3) waits for a client on ... - accept queue
/// 0/5 - Ctrl-C to interrupt`) too wide for the terminal, broken between
/// its parts at ` - `, each continuation under the call (the terminal
/// would cut the address or the queue in the middle). Its colour (yellow, when
/// coloured) is put back on each piece. None for any other line.
fn wait_line(plain: &str, line: &str, width: usize) -> Option<String> {
    let body = plain.strip_prefix(IND)?;
    if body.starts_with(' ') || !body.contains(" waits for ") || !body.contains(" - ") {
        return None;
    }
    let coloured = line.contains('\x1b');
    let mut pieces: Vec<String> = Vec::new();
    for part in body.split(" - ") {
        let first = pieces.is_empty();
        match pieces.last_mut() {
            Some(last) if IND.len() + last.width() + 3 + part.width() <= width => {
                last.push_str(" - ");
                last.push_str(part);
            }
            _ if first => pieces.push(part.to_string()),
            _ => pieces.push(format!("  - {part}")),
        }
    }
    let mut out = String::new();
    for (j, piece) in pieces.iter().enumerate() {
        if j > 0 {
            out.push('\n');
        }
        let shown = if coloured {
            piece.yellow().to_string()
        } else {
            piece.clone()
        };
        let _ = write!(out, "{IND}{shown}");
    }
    Some(out)
}

/// Words wrapped to `width` columns.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.width() + 1 + word.width() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A boxed explanation, the first time a classic moment happens.
pub(super) fn explanation(title: &str, text: &str) -> String {
    let bar = "│".cyan();
    let mut out = format!("{IND}{} {}", "┌─ why:".cyan(), title.cyan().bold());
    for line in wrap(text, 74) {
        let _ = write!(out, "\n{IND}{bar} {line}");
    }
    let _ = write!(
        out,
        "\n{IND}{}",
        "└─ (explained once; `set explain off` hides these)"
            .cyan()
            .dimmed()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_breaks_a_wide_wait_line_between_its_parts() {
        let line = "  accept(fd 3) waits for a client on 127.0.0.1:9000 - accept queue 0/128 - Ctrl-C interrupts the program";
        assert_eq!(
            fit(line, 80),
            "  accept(fd 3) waits for a client on 127.0.0.1:9000 - accept queue 0/128\n    - Ctrl-C interrupts the program"
        );
        assert_eq!(fit(line, 200), line);
        // Not a wait line: left as it is.
        let other = format!("  {}", "x - y ".repeat(30));
        assert_eq!(fit(&other, 40), other);
    }

    #[test]
    fn fit_wraps_notes_hints_and_warnings_between_words() {
        colored::control::set_override(false);
        let note = format!("  # {}", "word ".repeat(30).trim_end());
        let text = format!(
            "  short line\n{note}\n  hint: {}",
            "abc ".repeat(25).trim_end()
        );
        let fitted = fit(&text, 40);
        let lines: Vec<&str> = fitted.lines().collect();
        assert_eq!(lines[0], "  short line");
        assert!(lines[1].starts_with("  # word"));
        assert!(lines[2].starts_with("    word"));
        let hint = lines
            .iter()
            .position(|l| l.starts_with("  hint: "))
            .expect("hint");
        assert!(lines[hint + 1].starts_with("        abc"));
        for l in &lines {
            assert!(l.len() <= 40, "{l:?}");
            assert!(!l.ends_with(' '), "{l:?}");
        }
        // The words are all there, in order.
        let words: Vec<&str> = fitted.split_whitespace().collect();
        let want: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(words, want);
        // A table row is not touched, however long.
        let row = format!("  {}", "x".repeat(100));
        assert_eq!(fit(&row, 40), row);
    }

    #[test]
    fn help_fits_the_width_and_aligns_what_it_wraps() {
        colored::control::set_override(false);
        for width in [80, 64, 120] {
            let text = help_all_in(width);
            // Where the summaries start: after `bind sock addr` and its pad.
            let bind = text
                .lines()
                .find(|l| l.trim_start().starts_with("bind sock addr"))
                .expect("bind's line");
            let col = bind.find("give the socket").expect("bind's summary");
            for line in text.lines() {
                assert!(
                    line.width() <= width,
                    "{width} columns: {} too wide: {line:?}",
                    line.width()
                );
                // A line that starts with blanks beyond the usage's indent
                // is a summary's continuation, under its first line.
                // (A usage too long for one line goes on at three indents.)
                let lead = line.len() - line.trim_start().len();
                if lead > 4 && lead != 3 * IND.len() {
                    assert_eq!(lead, col, "{width} columns: misaligned {line:?}");
                }
            }
            // A usage longer than the column stands alone; its summary
            // follows under the column.
            for (usage, summary) in [
                (
                    "select read s... [write s...] [except s...] [timeout]",
                    "wait until",
                ),
                (
                    "sendmsg sock data [framed | marker M | fds SOCK... | creds]",
                    "send one message",
                ),
                (
                    "setsockopt sock [level] option value...",
                    "set a socket option",
                ),
            ] {
                let lines: Vec<&str> = text.lines().collect();
                let k = lines
                    .iter()
                    .position(|l| l.trim() == usage)
                    .unwrap_or_else(|| panic!("{usage} is not alone on its line:\n{text}"));
                let next = lines[k + 1];
                assert!(
                    next.starts_with(&" ".repeat(col)) && next.trim().starts_with(summary),
                    "{width} columns: {usage}'s summary: {next:?}"
                );
            }
        }
    }
}

//! Errors as the learner sees them: where the statement came from
//! ([`Origin`]), the source line with a caret under the token (a window
//! around it when the line is long), parse and execution errors. Apart from
//! the items because they point back into what was typed.

use super::style::{IND, safe};
use crate::errors::ExecError;
use crate::syntax::ParseError;
use crate::syntax::ast::Span;
use crate::value;
use colored::Colorize;
use std::fmt::Write as _;
use unicode_width::UnicodeWidthChar as _;
use unicode_width::UnicodeWidthStr;

/// Where a statement came from, for error messages.
#[derive(Clone, Debug)]
pub struct Origin<'a> {
    /// `FILE` (or `<stdin>`, `-c`); None in the interactive shell.
    pub file: Option<&'a str>,
    /// 1-based line number.
    pub line: usize,
    /// The source line, for the caret display.
    pub text: &'a str,
}

/// The widest source line shown whole under an error; a longer one (a
/// 1 MiB line from a file) is shown as a window around the token.
const CARET_LINE: usize = 100;
/// Columns of the line kept before the token, and of the token itself, in
/// such a window.
const CARET_BEFORE: usize = 40;
const CARET_TOKEN: usize = 50;

/// The last `cols` columns of `s`.
fn tail_cols(s: &str, cols: usize) -> &str {
    let mut w = 0;
    for (k, c) in s.char_indices().rev() {
        w += c.width().unwrap_or(0);
        if w > cols {
            return &s[k + c.len_utf8()..];
        }
    }
    s
}

/// The first `cols` columns of `s`.
fn head_cols(s: &str, cols: usize) -> &str {
    let mut w = 0;
    for (k, c) in s.char_indices() {
        w += c.width().unwrap_or(0);
        if w > cols {
            return &s[..k];
        }
    }
    s
}

/// The line with `^^^` under `span`. The line is shown with its control
/// characters escaped, and a wide character takes two columns.
fn caret(text: &str, span: Span) -> String {
    let start = span.start.min(text.len());
    let end = span.end.clamp(start, text.len());
    let part = |r: std::ops::Range<usize>| text.get(r).map(value::escape_controls);
    let (Some(mut pre), Some(mut tok), Some(mut post)) =
        (part(0..start), part(start..end), part(end..text.len()))
    else {
        // Not on character boundaries (never made by the parser): the
        // line alone.
        return format!("{IND}{IND}{}", value::escape_controls(text));
    };
    if pre.width() + tok.width() + post.width() > CARET_LINE {
        if pre.width() > CARET_BEFORE {
            pre = format!("...{}", tail_cols(&pre, CARET_BEFORE));
        }
        if tok.width() > CARET_TOKEN {
            tok = head_cols(&tok, CARET_TOKEN).to_string();
            post = "...".into();
        }
        let room = CARET_LINE.saturating_sub(pre.width() + tok.width());
        if post.width() > room {
            post = format!("{}...", head_cols(&post, room.saturating_sub(3)));
        }
    }
    format!(
        "{IND}{IND}{pre}{tok}{post}\n{IND}{IND}{}{}",
        " ".repeat(pre.width()),
        "^".repeat(tok.width().max(1)).red().bold()
    )
}

fn location(origin: &Origin<'_>, span: Option<Span>) -> String {
    let col = span.map_or(1, |s| {
        origin
            .text
            .get(..s.start.min(origin.text.len()))
            .map_or(1, |p| p.width() + 1)
    });
    match origin.file {
        Some(f) => format!("{}:{}:{col}: ", safe(f), origin.line),
        None => String::new(),
    }
}

pub fn parse_error(e: &ParseError, origin: &Origin<'_>) -> String {
    let mut out = format!(
        "{IND}{}{} {}",
        location(origin, Some(e.span)),
        "error:".red().bold(),
        // The message quotes the offending token: a control character in
        // it (an ESC from a script file) is shown escaped, never sent raw.
        value::escape_controls(&e.to_string()).red()
    );
    let _ = write!(out, "\n{}", caret(origin.text, e.span));
    if let Some(u) = e.usage() {
        let _ = write!(out, "\n{IND}{IND}{} {}", "usage:".dimmed(), u.cyan());
    }
    if let Some(h) = e.hint() {
        let _ = write!(out, "\n{IND}{}", format!("hint: {h}").yellow());
    }
    out
}

pub fn exec_error(e: &ExecError, origin: &Origin<'_>) -> String {
    let mut out = format!(
        "{IND}{}{}",
        location(origin, e.span),
        value::escape_controls(&e.to_string()).red().bold()
    );
    if let Some(span) = e.span {
        let _ = write!(out, "\n{}", caret(origin.text, span));
    }
    if let Some(h) = &e.hint {
        let h = value::escape_controls(h);
        let _ = write!(out, "\n{IND}{}", format!("hint: {h}").yellow());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_points_at_the_token() {
        colored::control::set_override(false);
        let c = caret("bind 9900 s", Span::new(5, 9));
        assert_eq!(c, "    bind 9900 s\n         ^^^^");
        // A wide character and an escaped control before the token.
        let t = "echo \"你\x07\" x";
        let k = t.find(" x").map_or(0, |k| k + 1);
        let c = caret(t, Span::new(k, k + 1));
        assert!(
            c.ends_with(&format!("{}^", " ".repeat(4 + "echo \"你\\x07\" ".width()))),
            "{c}"
        );
    }

    #[test]
    fn a_long_line_is_shown_as_a_window_around_the_token() {
        colored::control::set_override(false);
        let t = format!(
            "echo \"{}\" bnid \"{}\"",
            "a".repeat(5000),
            "b".repeat(5000)
        );
        let k = t.find("bnid").unwrap_or(0);
        let c = caret(&t, Span::new(k, k + 4));
        let lines: Vec<&str> = c.lines().collect();
        assert_eq!(lines.len(), 2, "{c}");
        assert!(lines[0].width() <= CARET_LINE + 8, "{}", lines[0].width());
        assert!(lines[0].starts_with("    ...aaa") && lines[0].ends_with("bbb..."));
        // The caret is under the token still.
        let col = lines[1].find('^').unwrap_or(0);
        assert_eq!(&lines[0][col..col + 4], "bnid");
        assert!(lines[1].ends_with("^^^^"));
        // A huge token: its start, marked, then "...".
        let t = format!("echo {}", "x".repeat(3000));
        let c = caret(&t, Span::new(5, t.len()));
        assert!(c.lines().all(|l| l.width() <= CARET_LINE + 8), "{c}");
        assert!(c.lines().next().is_some_and(|l| l.ends_with("x...")));
    }

    #[test]
    fn a_control_character_in_an_error_is_shown_escaped() {
        colored::control::set_override(false);
        let text = "\x1b[2J\x07 x";
        let e = crate::syntax::parse_line(text).expect_err("not a statement");
        let origin = Origin {
            file: Some("a.sp"),
            line: 1,
            text,
        };
        let shown = parse_error(&e, &origin);
        assert!(
            !shown.contains('\x1b') && !shown.contains('\x07'),
            "{shown:?}"
        );
        assert!(shown.contains(r"\x1b[2J"), "{shown:?}");
        let x = ExecError::new("NameError", "name '\x1b[2J' is not defined").hint("\x07");
        let shown = exec_error(&x, &origin);
        assert!(
            !shown.contains('\x1b') && !shown.contains('\x07'),
            "{shown:?}"
        );
    }
}

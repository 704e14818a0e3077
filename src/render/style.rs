//! The renderer's smallest pieces, shared by its other parts: the indent
//! under the prompt, text made safe for the terminal, colour stripped, the
//! colour of a TCP state, a byte count. A leaf, so that the items, the
//! tables, the layout and the errors all lean on it and not on each other.

use crate::value;
use colored::Colorize;

pub(super) const IND: &str = "  ";

pub(super) fn state_colored(s: &str) -> String {
    match s {
        "ESTABLISHED" | "connected" => s.green().to_string(),
        "LISTEN" | "listening" => s.blue().bold().to_string(),
        "SYN_SENT" | "SYN_RECV" => s.cyan().to_string(),
        "CLOSE_WAIT" | "FIN_WAIT1" | "FIN_WAIT2" | "LAST_ACK" | "CLOSING" | "TIME_WAIT" => {
            s.yellow().to_string()
        }
        s if s.starts_with("CLOSED") => s.red().to_string(),
        _ => s.to_string(),
    }
}

pub(super) use crate::value::bytes_count as byte_count;

/// Text of an item, made safe for the terminal: every text an item carries
/// may hold a path, an address, a host name or a lesson's words, so all of
/// it goes through [`value::escape_controls`] here, the one way to the
/// terminal (the executor escapes what it quotes too; escaping twice
/// changes nothing).
pub(super) fn safe(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(value::is_unsafe_char) {
        std::borrow::Cow::Owned(value::escape_controls(s))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Text without its colour (ANSI escape sequences).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // Parameters, then one final byte in @..~.
                for d in chars.by_ref() {
                    if ('@'..='~').contains(&d) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_is_stripped() {
        assert_eq!(strip_ansi("\u{1b}[1;32mok\u{1b}[0m done"), "ok done");
        assert_eq!(strip_ansi("plain"), "plain");
    }
}

//! Parse errors: a span and a kind, like casey/just. The renderer prints the
//! line with carets under the span; `Display` gives the one-line message.

use super::ast::Span;
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub span: Span,
    pub kind: ErrorKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ErrorKind {
    /// The first word is not a command (nor a plain value).
    UnknownCommand {
        word: String,
        suggestion: Option<String>,
    },
    /// Something else came where one of `expected` was due.
    Expected {
        expected: String,
        found: String,
        suggestion: Option<String>,
    },
    /// The statement ended before a required argument.
    MissingArgument {
        command: &'static str,
        arg: &'static str,
        usage: String,
    },
    /// Words after the last argument a command takes.
    TooManyArguments {
        usage: String,
    },
    UnterminatedString,
    BadEscape(String),
    /// `b"..."` holding a non-ASCII character, as Python refuses.
    NonAsciiBytes,
    BadHex(String),
    BadNumber(String),
    /// A size written wrong (`1GB`, `0.3K`).
    BadSize(String),
    /// An assignment to a command's own name.
    ReservedName(String),
    /// More names on the left of `=` than any command returns.
    TooManyTargets,
    /// Python the second surface does not take, and what to write instead.
    Python {
        what: String,
        instead: String,
    },
}

impl ParseError {
    pub fn new(span: Span, kind: ErrorKind) -> Self {
        ParseError { span, kind }
    }

    /// A usage line to show under the message, when the error is about a
    /// command's arguments.
    pub fn usage(&self) -> Option<&str> {
        match &self.kind {
            ErrorKind::MissingArgument { usage, .. } | ErrorKind::TooManyArguments { usage } => {
                Some(usage)
            }
            _ => None,
        }
    }

    /// What to write instead, shown under the caret.
    pub fn hint(&self) -> Option<&str> {
        match &self.kind {
            ErrorKind::Python { instead, .. } => Some(instead),
            _ => None,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::UnknownCommand { word, suggestion } => {
                write!(f, "unknown command `{word}`")?;
                match suggestion {
                    Some(s) => write!(f, ": did you mean `{s}`?"),
                    None => write!(f, " (type `help` for the list)"),
                }
            }
            ErrorKind::Expected {
                expected,
                found,
                suggestion,
            } => {
                write!(f, "expected {expected}, found {found}")?;
                if let Some(s) = suggestion {
                    write!(f, ": did you mean `{s}`?")?;
                }
                Ok(())
            }
            ErrorKind::MissingArgument { command, arg, .. } => {
                write!(f, "`{command}` needs {}", article(arg))
            }
            ErrorKind::TooManyArguments { .. } => write!(f, "too many arguments"),
            ErrorKind::UnterminatedString => write!(f, "this string has no closing quote"),
            ErrorKind::BadEscape(e) => write!(
                f,
                "unknown escape `{e}` (known: \\n \\r \\t \\0 \\\\ \\\" \\' \\xNN)"
            ),
            ErrorKind::NonAsciiBytes => write!(
                f,
                "bytes can only contain ASCII characters (use \"...\" for text: it is sent as UTF-8)"
            ),
            ErrorKind::BadHex(why) => write!(f, "bad hex bytes: {why}"),
            ErrorKind::BadNumber(why) => write!(f, "bad number: {why}"),
            ErrorKind::BadSize(why) => write!(f, "bad size: {why}"),
            ErrorKind::ReservedName(n) if n.eq_ignore_ascii_case("zeros") => write!(
                f,
                "`{n}` makes zero bytes (zeros 1G); choose another name for the variable"
            ),
            ErrorKind::ReservedName(n) => {
                write!(
                    f,
                    "`{n}` is a command; choose another name for the variable"
                )
            }
            ErrorKind::Python { what, .. } => f.write_str(what),
            ErrorKind::TooManyTargets => {
                write!(
                    f,
                    "at most three names can be bound (`r, w, x = select read s`)"
                )
            }
        }
    }
}

fn article(arg: &str) -> String {
    match arg {
        "sock" => "a socket (a name like s, or an fd number)".into(),
        "addr" => "an address (host port, host:port, a UNIX path or @name)".into(),
        "data" => "data (\"text\", b\"bytes\", x\"hex\" or a variable)".into(),
        "how" => "a direction: read, write or both".into(),
        "option" => "an option name such as SO_REUSEADDR".into(),
        "value" => "a value".into(),
        "family" => "a family: inet, inet6 or unix".into(),
        other => format!("the argument `{other}`"),
    }
}

impl std::error::Error for ParseError {}

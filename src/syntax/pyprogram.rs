//! Lines that are a whole program's Python rather than one socket call:
//! `data += x`, `data == "##"`, `if not data: break`, `break`, and the
//! methods of text. The Python surface ([`super::python`]) and the parser
//! send each to the same message: sockplay runs one call a line, and a
//! whole program runs as it is with `run python3 FILE.py`.
//!
//! Also whether a line is Python at all ([`looks_like`]: `import`, a block
//! keyword, `name.attr(...)`, the socket module's functions): the parser
//! asks before it hands a line to the Python surface, so both lean on this
//! leaf instead of importing each other.

use super::lex::{self, skip_blanks};

/// The functions of the socket module understood (also without `socket.`,
/// as after `from socket import *`).
pub(super) const FUNCTIONS: &[&str] = &[
    "socket",
    "gethostname",
    "gethostbyname",
    "gethostbyname_ex",
    "gethostbyaddr",
    "getaddrinfo",
    "getfqdn",
    "inet_aton",
    "inet_ntoa",
    "inet_pton",
    "inet_ntop",
    "getservbyname",
    "getservbyport",
    "htons",
    "ntohs",
    "htonl",
    "ntohl",
];

/// Python statements that open a block: sockplay runs one call a line.
pub(super) const BLOCKS: &[&str] = &[
    "while", "for", "if", "elif", "else", "def", "try", "except", "finally", "with", "class",
];

/// Whether the statement at `i` (after its targets) is written in Python:
/// `import ...`, `from ... import ...`, a block keyword, `name.attr(...)`
/// or `name.family`, or one of Python's functions called as `f(...)`
/// (`echo (1)` with a blank stays the shell's own). Such a line was an
/// error in the shell's own language, or a call that means the same in
/// both (`gethostbyname('localhost')`, `print('a')`); an assignment the
/// shell's grammar refuses is tried as Python too (`ADDR = ('h', 1)`, see
/// the parser's `statement`).
pub(super) fn looks_like(i: &str) -> bool {
    // `'hi'.encode()`, `b'\xff'.decode()`: a method of a literal.
    if lex::starts_literal(i) {
        return lex::string_lit(i).is_ok_and(|(after, _)| after.starts_with('.'));
    }
    let Ok((after, first)) = lex::ident(i) else {
        return false;
    };
    if (first == "import" || first == "from") && after.starts_with([' ', '\t']) {
        return true;
    }
    if BLOCKS.contains(&first) && after.starts_with([' ', '\t', ':']) && opens_block(after) {
        return true;
    }
    if first == "if" && after.starts_with([' ', '\t']) && after.contains(':') {
        return true;
    }
    if after.starts_with('(') {
        return FUNCTIONS.contains(&first) || matches!(first, "print" | "input" | "exit" | "quit");
    }
    // `a.b(`, `a.b.c(`; or `s.family` / `s.type` alone (a dotted word
    // that is neither stays the shell's: `h = www.example.com`).
    let mut rest = after;
    let mut last = None;
    while let Some(r) = rest.strip_prefix('.') {
        let Ok((r2, name)) = lex::ident(r) else {
            return false;
        };
        rest = r2;
        last = Some(name);
    }
    let Some(last) = last else { return false };
    rest.starts_with('(')
        || (matches!(last, "family" | "type")
            && (lex::at_end(rest) || skip_blanks(rest).starts_with('&')))
}

/// Whether the rest of a statement ends with `:` (before a comment), as a
/// Python line that opens a block does (`while True:`); `else = 3` and a
/// variable named `else` stay the shell's.
pub(super) fn opens_block(rest: &str) -> bool {
    let line = rest.split(['\n', ';']).next().unwrap_or("");
    let line = line.split('#').next().unwrap_or("");
    line.trim_end().ends_with(':')
}

/// Python statements that only make sense inside a program.
const PROGRAM_WORDS: &[&str] = &[
    "break", "continue", "pass", "return", "raise", "del", "global", "nonlocal", "yield", "assert",
    "lambda",
];

/// Methods of str and bytes: what a program does with the data, not a
/// socket call.
pub(super) const STR_METHODS: &[&str] = &[
    "join",
    "split",
    "splitlines",
    "strip",
    "lstrip",
    "rstrip",
    "startswith",
    "endswith",
    "replace",
    "format",
    "upper",
    "lower",
    "find",
    "count",
    "partition",
    "rpartition",
    "index",
    "isdigit",
    "zfill",
    "center",
    "ljust",
    "rjust",
    "title",
    "capitalize",
    "hex",
];

/// What the learner is told when a line is part of a whole program
/// (a loop, a condition, an index...) rather than one socket call.
pub(super) const WHOLE_PROGRAM: &str = "sockplay runs one socket call a line; a whole program runs as it is with `run python3 FILE.py` (sockplay shows its socket calls), or type its calls here one by one";

/// Where a line is a whole program's Python rather than one call: an
/// augmented assignment (`data += x`), a comparison (`data == "##"`), a
/// one-line block (`if not data: break`), or a statement such as
/// `break`. Returns (offset, length, what it is). Quoted text and
/// comments are skipped.
pub(super) fn program_construct(i: &str) -> Option<(usize, usize, String)> {
    let line_end = statement_end(i);
    let line = &i[..line_end];
    // `break`, `return x`...
    if let Ok((after, w)) = lex::ident(line)
        && PROGRAM_WORDS.contains(&w)
        && (after.is_empty() || after.starts_with([' ', '\t', '(']))
    {
        return Some((
            0,
            w.len(),
            format!("`{w}` belongs in a program's loop or function"),
        ));
    }
    // `if not data: break`: a block on one line.
    if let Ok((after, w)) = lex::ident(line)
        && BLOCKS.contains(&w)
        && after.starts_with([' ', '\t', ':'])
        && let Some(colon) = top_level(line, |b, k| b[k] == b':' && !b[k + 1..].starts_with(b"="))
        && !line[colon + 1..].trim().is_empty()
        && !is_unlink_idiom(line, colon)
    {
        return Some((
            0,
            w.len(),
            format!("`{w} ...: ...` is a block of Python on one line"),
        ));
    }
    // `data += b'x'`
    if let Ok((after, _)) = lex::ident(line) {
        let t = after.trim_start_matches([' ', '\t']);
        for op in [
            "**=", "//=", ">>=", "<<=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=",
        ] {
            if t.starts_with(op) {
                let at = line.len() - t.len();
                return Some((at, op.len(), format!("`{op}` changes a variable in place")));
            }
        }
    }
    // `data == '##'`
    if let Some(k) = top_level(line, |b, k| {
        matches!(
            &b[k..],
            [b'=', b'=', ..] | [b'!', b'=', ..] | [b'<', b'=', ..] | [b'>', b'=', ..]
        )
    }) {
        let op = &line[k..k + 2];
        return Some((
            k,
            2,
            format!("`{op}` compares values, which a program does to decide"),
        ));
    }
    None
}

/// `if os.path.exists(p): os.unlink(p)`, which the Python surface takes
/// as `unlink p` (the colon at `colon`).
fn is_unlink_idiom(line: &str, colon: usize) -> bool {
    let cond = line[2..colon].trim();
    let body = line[colon + 1..].trim();
    cond.starts_with("os.path.exists(")
        && (body.starts_with("os.unlink(") || body.starts_with("os.remove("))
}

/// Where a statement ends: `;`, a new line or a comment, outside quotes.
fn statement_end(i: &str) -> usize {
    top_level(i, |b, k| matches!(b[k], b';' | b'\n' | b'#')).unwrap_or(i.len())
}

/// The first byte offset outside quotes where `hit` holds.
fn top_level(i: &str, hit: impl Fn(&[u8], usize) -> bool) -> Option<usize> {
    let b = i.as_bytes();
    let mut quote: Option<u8> = None;
    let mut k = 0;
    while k < b.len() {
        let c = b[k];
        match quote {
            Some(q) => {
                if c == b'\\' {
                    k += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == b'\'' || c == b'"' => quote = Some(c),
            None if hit(b, k) => return Some(k),
            None => {}
        }
        k += 1;
    }
    None
}

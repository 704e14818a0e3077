//! Statements: `[names =] command args [&]`, separated by `;` or newlines.
//!
//! The command word is looked up in [`crate::spec::SPECS`]; its argument
//! kinds say which lexeme routine parses each position, so a command added
//! to the table needs no new parsing code unless it brings a new kind.
//!
//! Here the statement grammar (targets, command word, arguments by kind);
//! `values.rs` the values inside arguments, `args.rs` the arguments with a
//! grammar of their own, `build.rs` parsed arguments to typed commands.

mod args;
mod build;
mod values;

pub(super) use super::lex::skip_blanks;
pub(super) use values::{family_of, kind_of, protocol_of};

use build::build;

use super::ast::*;
use super::error::{ErrorKind, ParseError};
use super::lex::{self, LexError, Num};
use crate::spec::{self, ArgKind, ArgSpec, Cmd, CmdSpec};

/// Parse one line (or a whole text) into statements. Nothing runs unless
/// every statement parses, so a typo late in a line loses nothing.
pub fn parse_line(src: &str) -> Result<Vec<Statement>, ParseError> {
    let p = Parser_ {
        base: src,
        depth: std::cell::Cell::new(0),
    };
    let mut rest = src;
    let mut out = Vec::new();
    loop {
        rest = skip_blanks(rest);
        if rest.is_empty() {
            break;
        }
        if rest.starts_with('#') {
            rest = rest.find('\n').map_or("", |n| &rest[n..]);
            continue;
        }
        if let Some(r) = rest.strip_prefix(';').or_else(|| rest.strip_prefix('\n')) {
            rest = r;
            continue;
        }
        let (r, stmt) = p.statement(rest)?;
        out.push(stmt);
        rest = r;
    }
    Ok(out)
}

/// An argument as parsed, before the builder gives it its typed place.
#[derive(Debug, Clone)]
enum Arg {
    Sock(Spanned<SockRef>),
    Addr(AddrExpr),
    Expr(Spanned<Expr>),
    Exprs(Vec<Spanned<Expr>>),
    SockSpec(Option<Family>, Option<SockKind>, Option<i32>),
    Family(Family),
    How(How),
    LevelOpt(Option<Spanned<String>>, Spanned<String>),
    SendFlags(Vec<SendFlag>),
    RecvFlags(Vec<RecvFlag>, Option<View>, Option<Discard>),
    Word(Spanned<String>),
    Jobs(Vec<Spanned<i64>>),
    Groups([Vec<Spanned<SockRef>>; 3], Option<Spanned<Expr>>),
    Framing(Framing),
    Expect(Expectation),
    LessonMode(LessonMode),
    /// A peer's kind, and whether `udp` followed it.
    Peer(Spanned<String>, bool),
    /// A command line's words.
    Argv(Vec<Spanned<String>>),
    /// After recvuntil and friends: drop, the timeout, the view.
    UntilOpts(bool, Option<Spanned<Expr>>, Option<View>),
    /// After epoll: the instance's name and what to do with it.
    Epoll(Spanned<String>, EpollOp),
    /// `[sock] [absolute] [save FILE]` after `states` and `diagram`.
    Wire(Option<Spanned<SockRef>>, bool, Option<Spanned<Expr>>),
    /// Words of [`spec::file_flags`].
    Flags(Vec<Spanned<String>>),
    Lab(LabCmd),
    Stmt(Box<Statement>),
}

/// `discard [limit]` among the words after `recv`.
#[derive(Debug, Clone)]
struct Discard {
    span: Span,
    limit: Option<Spanned<Expr>>,
}

/// What may follow `zeros`.
const SIZE_WHAT: &str = "a size after `zeros`: a number of bytes, or with K, M or G (zeros 1G)";

pub(super) struct Parser_<'a> {
    base: &'a str,
    /// How many `(` the expression parser is inside: it recurses on them,
    /// so a line of 100 000 `(` would overflow the stack without a limit.
    pub(super) depth: std::cell::Cell<usize>,
}

/// Parentheses nest at most this deep (far more than anyone writes).
pub(super) const MAX_DEPTH: usize = 32;

impl<'a> Parser_<'a> {
    /// The whole text being parsed.
    pub(super) fn base_text(&self) -> &'a str {
        self.base
    }

    pub(super) fn off(&self, rest: &str) -> usize {
        // Every slice we see is a suffix of `base`.
        (rest.as_ptr() as usize).saturating_sub(self.base.as_ptr() as usize)
    }

    pub(super) fn span(&self, from: &str, to: &str) -> Span {
        Span::new(self.off(from), self.off(to))
    }

    pub(super) fn span_len(&self, at: &str, len: usize) -> Span {
        let s = self.off(at);
        Span::new(s, s + len)
    }

    /// The span of the next token (for "found X" errors).
    pub(super) fn next_token(&self, i: &'a str) -> (Span, String) {
        let i = skip_blanks(i);
        if i.is_empty() || i.starts_with('\n') {
            return (self.span_len(i, 0), "the end of the line".into());
        }
        // A whole string literal, not just its opening quote.
        let len = match lex::string_lit(i)
            .map(|(r, _)| r)
            .or_else(|_| lex::bare(i).map(|(r, _)| r))
        {
            Ok(r) => i.len() - r.len(),
            Err(_) => i.chars().next().map_or(0, char::len_utf8),
        };
        (self.span_len(i, len), format!("`{}`", &i[..len]))
    }

    pub(super) fn lex_error(
        &self,
        e: nom::Err<LexError<'a>>,
        fallback: &'a str,
        expected: &str,
    ) -> ParseError {
        match e {
            nom::Err::Failure(LexError {
                at,
                len,
                kind: Some(kind),
            }) => ParseError::new(self.span_len(at, len), kind),
            _ => self.expected(fallback, expected, None),
        }
    }

    pub(super) fn expected(
        &self,
        at: &'a str,
        expected: &str,
        suggestion: Option<String>,
    ) -> ParseError {
        let (span, found) = self.next_token(at);
        ParseError::new(
            span,
            ErrorKind::Expected {
                expected: expected.into(),
                found,
                suggestion,
            },
        )
    }

    pub(super) fn statement(&self, i: &'a str) -> Result<(&'a str, Statement), ParseError> {
        let start = i;
        // `data += x`, `data == "##"`, `if not data: break`: a whole
        // program's Python, said so before anything else is tried (a
        // line of the shell's own starts with its command word).
        let first = lex::ident(i).ok();
        let shell = first.is_some_and(|(after, w)| {
            spec::lookup(w).is_some() && !after.starts_with('(') && w != "if"
        });
        if !shell && let Some((at, len, what)) = super::pyprogram::program_construct(i) {
            return Err(ParseError::new(
                self.span_len(&i[at..], len),
                ErrorKind::Python {
                    what,
                    instead: super::pyprogram::WHOLE_PROGRAM.into(),
                },
            ));
        }
        let (i, targets) = self.targets(i)?;
        let i = skip_blanks(i);
        if lex::at_end(i) {
            return Err(self.expected(i, "a command or a value after `=`", None));
        }
        if super::pyprogram::looks_like(i) {
            return self.python_statement(start, targets, i);
        }
        if targets.is_empty() {
            return self.word_statement(start, targets, i);
        }
        // An assignment the shell's grammar refuses may be Python's
        // (`ADDR = ('127.0.0.1', 9000)`, `x = 'hi'.encode()`); when neither
        // takes it, the shell's own error is the one shown.
        match self.word_statement(start, targets, i) {
            Ok(x) => Ok(x),
            Err(e) => {
                // The targets again (they went to the first attempt).
                let (_, targets) = self.targets(start)?;
                // Python's own complaint wins when it says what the line
                // is (`x = data[0]` is indexing, not a bad value).
                self.python_statement(start, targets, i)
                    .map_err(|pe| match pe.kind {
                        ErrorKind::Python { .. } => pe,
                        _ => e,
                    })
            }
        }
    }

    /// A statement in the shell's words, after its targets.
    fn word_statement(
        &self,
        start: &'a str,
        targets: Vec<Spanned<String>>,
        i: &'a str,
    ) -> Result<(&'a str, Statement), ParseError> {
        let cmd_start = i;
        // The command word: `=` and `?` are one-character aliases.
        let word_end = if targets.is_empty() && (i.starts_with('=') || i.starts_with('?')) {
            Some(&i[1..])
        } else if lex::starts_literal(i) && lex::string_lit(i).is_ok() {
            // `b"x" * 3`, `x"41"`: a literal whose prefix is a letter.
            None
        } else {
            lex::ident(i).ok().map(|(r, _)| r)
        };
        let word = word_end.map(|r| &i[..i.len() - r.len()]);
        let spec = word.and_then(spec::lookup);

        let (i, command) = match (spec, word, word_end) {
            (Some(spec), _, Some(after)) => self.command(spec, after)?,
            (None, Some(w), Some(after))
                if targets.is_empty() && !lex::at_end(after) && !self.starts_operator(after) =>
            {
                // `w` is a word, so it is never a typo of `=` or `?`
                // (which every one-letter name is within one edit of).
                let words = spec::command_words().filter(|c| c.starts_with(lex::is_ident_start));
                let suggestion =
                    python_call(w, after).or_else(|| spec::nearest(w, words).map(str::to_string));
                return Err(ParseError::new(
                    self.span(cmd_start, after),
                    ErrorKind::UnknownCommand {
                        word: w.to_string(),
                        suggestion,
                    },
                ));
            }
            _ => {
                let (r, e) = self.expr(i, false)?;
                (r, Command::Value(e))
            }
        };
        self.end_statement(start, targets, command, cmd_start, i, spec)
    }

    /// The end of a statement whose command ended at `i`: an optional `&`,
    /// then the end of the line or a `;`. `spec` is the command's, for the
    /// usage under "too many arguments" (made only then: it is a String).
    pub(super) fn end_statement(
        &self,
        start: &'a str,
        targets: Vec<Spanned<String>>,
        command: Command,
        cmd_start: &'a str,
        i: &'a str,
        spec: Option<&CmdSpec>,
    ) -> Result<(&'a str, Statement), ParseError> {
        let command_span = self.span(cmd_start, i);
        let i = skip_blanks(i);
        let (i, background) = match i.strip_prefix('&') {
            Some(r) => (r, Some(self.span_len(i, 1))),
            None => (i, None),
        };
        if !lex::at_end(i) {
            let (span, _) = self.next_token(i);
            let kind = if let Some(spec) = spec {
                ErrorKind::TooManyArguments {
                    usage: spec.usage(),
                }
            } else {
                let (_, found) = self.next_token(i);
                ErrorKind::Expected {
                    expected: "the end of the statement (`;` or a new line)".into(),
                    found,
                    suggestion: None,
                }
            };
            return Err(ParseError::new(span, kind));
        }
        // The statement ends with its command or its `&`, not with the
        // blanks before a `;` or a comment.
        let last = background.unwrap_or(command_span);
        Ok((
            skip_blanks(i),
            Statement {
                targets,
                command,
                command_span,
                background,
                span: Span::new(self.off(start), last.end),
            },
        ))
    }

    fn starts_operator(&self, i: &str) -> bool {
        let t = skip_blanks(i);
        t.starts_with('+') || t.starts_with('*')
    }

    /// `name [, name] =` (not `==`). No targets is fine.
    fn targets(&self, i: &'a str) -> Result<(&'a str, Vec<Spanned<String>>), ParseError> {
        let mut names = Vec::new();
        let mut rest = i;
        loop {
            let r = skip_blanks(rest);
            let Ok((after, name)) = lex::ident(r) else {
                return Ok((i, Vec::new()));
            };
            names.push(Spanned::new(name.to_string(), self.span(r, after)));
            let after = skip_blanks(after);
            if let Some(r2) = after.strip_prefix(',') {
                rest = r2;
                continue;
            }
            if after.starts_with('=') && !after.starts_with("==") {
                rest = &after[1..];
                break;
            }
            return Ok((i, Vec::new()));
        }
        // A command's word may name a variable (`info = ...`, as the
        // course's HTTP server writes): the command comes first where a
        // statement starts, the variable everywhere a value is read.
        // `zeros` is a data form, never a name.
        for n in &names {
            if n.node.eq_ignore_ascii_case(spec::ZEROS) {
                return Err(ParseError::new(
                    n.span,
                    ErrorKind::ReservedName(n.node.clone()),
                ));
            }
        }
        if names.len() > 3 {
            return Err(ParseError::new(names[3].span, ErrorKind::TooManyTargets));
        }
        Ok((rest, names))
    }

    /// The arguments of one command, position by position from its spec.
    fn command(
        &self,
        spec: &'static CmdSpec,
        i: &'a str,
    ) -> Result<(&'a str, Command), ParseError> {
        let mut args: Vec<Option<Arg>> = Vec::with_capacity(spec.args.len());
        let mut rest = i;
        for (k, a) in spec.args.iter().enumerate() {
            let r = skip_blanks(rest);
            if lex::at_end(r) || r.starts_with('&') {
                if a.optional {
                    args.push(None);
                    continue;
                }
                return Err(ParseError::new(
                    self.span_len(r, 0),
                    ErrorKind::MissingArgument {
                        command: spec.name,
                        arg: a.name,
                        usage: spec.usage(),
                    },
                ));
            }
            // An optional number may be left out before flag words:
            // `recv c peek`.
            if a.optional
                && a.kind == ArgKind::Number
                && let Some(next) = spec.args.get(k + 1)
                && self.next_is_flag(r, next)
            {
                args.push(None);
                continue;
            }
            let (r2, arg) = self.arg(spec, a, r)?;
            args.push(arg);
            rest = r2;
        }
        self.check_discard(spec, &args)?;
        let cmd = build(spec.cmd, args);
        Ok((rest, cmd))
    }

    /// `discard` belongs to `recv` alone, and takes one limit: before it
    /// (`recv c 1G discard`) or after it (`recv c discard 1G`).
    fn check_discard(&self, spec: &CmdSpec, args: &[Option<Arg>]) -> Result<(), ParseError> {
        let discard = args.iter().find_map(|a| match a {
            Some(Arg::RecvFlags(_, _, Some(d))) => Some(d),
            _ => None,
        });
        let Some(d) = discard else { return Ok(()) };
        if spec.cmd != Cmd::Recv {
            return Err(ParseError::new(
                d.span,
                ErrorKind::Expected {
                    expected:
                        "a recv flag (peek, waitall, oob, dontwait) or a view (hex, repr, text)"
                            .into(),
                    found: "`discard`, which goes with recv (recv c discard)".into(),
                    suggestion: None,
                },
            ));
        }
        if let (Some(limit), Some(Some(Arg::Expr(size)))) = (&d.limit, args.get(1)) {
            return Err(ParseError::new(
                limit.span,
                ErrorKind::Expected {
                    expected: "one size: before `discard` or after it".into(),
                    found: format!(
                        "a second one (the first is at column {})",
                        size.span.start + 1
                    ),
                    suggestion: None,
                },
            ));
        }
        Ok(())
    }

    fn next_is_flag(&self, i: &str, next: &ArgSpec) -> bool {
        let words: &[&str] = match next.kind {
            ArgKind::RecvFlags => spec::RECV_FLAG_WORDS,
            ArgKind::SendFlags => spec::SEND_FLAG_WORDS,
            _ => return false,
        };
        lex::ident(i).is_ok_and(|(_, w)| spec::is_flag_word(w, words))
    }

    fn arg(
        &self,
        spec: &'static CmdSpec,
        a: &ArgSpec,
        i: &'a str,
    ) -> Result<(&'a str, Option<Arg>), ParseError> {
        let (r, arg) = match a.kind {
            ArgKind::Sock => {
                let (r, s) = self.sock(i)?;
                (r, Arg::Sock(s))
            }
            ArgKind::Addr => {
                let (r, s) = self.addr(i)?;
                (r, Arg::Addr(s))
            }
            ArgKind::Data | ArgKind::Number => {
                let (r, e) = self.expr(i, false)?;
                (r, Arg::Expr(e))
            }
            ArgKind::Bool => {
                let (r, e) = self.expr(i, true)?;
                (r, Arg::Expr(e))
            }
            ArgKind::Text | ArgKind::Path => {
                let (r, e) = self.text(i)?;
                (r, Arg::Expr(e))
            }
            ArgKind::Values => {
                let mut values = Vec::new();
                let mut r = i;
                while !lex::at_end(r) && !skip_blanks(r).starts_with('&') {
                    let (r2, e) = self.expr(skip_blanks(r), spec.cmd == Cmd::SetSockOpt)?;
                    values.push(e);
                    r = r2;
                }
                (r, Arg::Exprs(values))
            }
            ArgKind::SockSpec => {
                let (r, fam, kind, proto) = self.sock_spec(i)?;
                (r, Arg::SockSpec(fam, kind, proto))
            }
            ArgKind::Family => {
                let (r, w) =
                    self.word_from(i, spec::FAMILY_WORDS, "a family: inet, inet6 or unix")?;
                let fam = family_of(&w.node).unwrap_or(Family::Inet);
                (r, Arg::Family(fam))
            }
            ArgKind::How => {
                let r0 = i;
                let (r, how) = if let Ok((r, Num::Int(n))) = lex::number(i) {
                    let how = match n {
                        0 => How::Read,
                        1 => How::Write,
                        2 => How::Both,
                        _ => {
                            return Err(self.expected(r0, "read, write or both (0, 1 or 2)", None));
                        }
                    };
                    (r, how)
                } else {
                    let (r, w) = self.word_from(i, spec::HOW_WORDS, "read, write or both")?;
                    let how = match w.node.to_ascii_lowercase().as_str() {
                        "read" | "shut_rd" => How::Read,
                        "write" | "shut_wr" => How::Write,
                        _ => How::Both,
                    };
                    (r, how)
                };
                (r, Arg::How(how))
            }
            ArgKind::LevelOpt => {
                let (r, first) = self.option_word(i)?;
                if spec::LEVELS
                    .iter()
                    .any(|l| l.eq_ignore_ascii_case(&first.node))
                {
                    let r2 = skip_blanks(r);
                    let (r3, opt) = self.option_word(r2)?;
                    (r3, Arg::LevelOpt(Some(first), opt))
                } else {
                    (r, Arg::LevelOpt(None, first))
                }
            }
            ArgKind::SendFlags => {
                let mut flags = Vec::new();
                let mut r = i;
                while !lex::at_end(r) && !skip_blanks(r).starts_with('&') {
                    let (r2, w) = self.flag_word(
                        skip_blanks(r),
                        spec::SEND_FLAG_WORDS,
                        "a send flag: oob, dontwait, nosignal or more (or MSG_OOB, MSG_DONTWAIT...)",
                    )?;
                    flags.push(match w.node.as_str() {
                        "oob" => SendFlag::Oob,
                        "dontwait" => SendFlag::DontWait,
                        "nosignal" => SendFlag::NoSignal,
                        _ => SendFlag::More,
                    });
                    r = r2;
                }
                (r, Arg::SendFlags(flags))
            }
            ArgKind::RecvFlags => {
                let mut flags = Vec::new();
                let mut view = None;
                let mut discard: Option<Discard> = None;
                // The first word that is not `discard` (they do not mix).
                let mut other: Option<Span> = None;
                let mut r = i;
                while !lex::at_end(r) && !skip_blanks(r).starts_with('&') {
                    let (mut r2, w) = self.flag_word(
                        skip_blanks(r),
                        spec::RECV_FLAG_WORDS,
                        if spec.cmd == Cmd::Recv {
                            "a recv flag (peek, waitall, oob, dontwait), a view (hex, repr, text) or discard"
                        } else {
                            "a recv flag (peek, waitall, oob, dontwait) or a view (hex, repr, text)"
                        },
                    )?;
                    let lower = w.node.to_ascii_lowercase();
                    let clash = if lower == spec::DISCARD {
                        discard.is_some() || other.is_some()
                    } else {
                        other.get_or_insert(w.span);
                        discard.is_some()
                    };
                    if clash {
                        return Err(ParseError::new(
                            w.span,
                            ErrorKind::Expected {
                                expected: "`discard` alone: it drops what it reads, so no flag or view goes with it".into(),
                                found: format!("`{}`", w.node),
                                suggestion: None,
                            },
                        ));
                    }
                    match lower.as_str() {
                        "discard" => {
                            // An optional limit right after it: `discard 1G`.
                            let t = skip_blanks(r2);
                            let limit = if lex::at_end(t) || t.starts_with('&') {
                                None
                            } else if lex::number(t).is_ok() || self.is_plain_name(t) {
                                let (r3, e) = self.expr(t, false)?;
                                r2 = r3;
                                Some(e)
                            } else if let Err(e @ nom::Err::Failure(_)) = lex::number(t) {
                                return Err(self.lex_error(e, t, "a size"));
                            } else {
                                None
                            };
                            discard = Some(Discard {
                                span: w.span,
                                limit,
                            });
                        }
                        "peek" => flags.push(RecvFlag::Peek),
                        "waitall" => flags.push(RecvFlag::WaitAll),
                        "oob" => flags.push(RecvFlag::Oob),
                        "dontwait" => flags.push(RecvFlag::DontWait),
                        "hex" => view = Some(View::Hex),
                        "text" => view = Some(View::Text),
                        _ => view = Some(View::Repr),
                    }
                    r = r2;
                }
                (r, Arg::RecvFlags(flags, view, discard))
            }
            ArgKind::Topic => {
                let (r, w) = lex::bare(i).map_err(|e| self.lex_error(e, i, "a command name"))?;
                (r, Arg::Word(Spanned::new(w.to_string(), self.span(i, r))))
            }
            ArgKind::SetKey => {
                let (r, w) = self.ident_word(i, "a setting name, such as display")?;
                (r, Arg::Word(w))
            }
            ArgKind::Framing => {
                let send = spec.cmd == Cmd::SendMsg;
                let (r, w) = self.word_from(
                    i,
                    if send {
                        &["framed", "marker", "fds", "creds"]
                    } else {
                        &["framed", "marker", "fds", "ancillary"]
                    },
                    if send {
                        "framed, marker M, fds SOCK... (SCM_RIGHTS) or creds (SCM_CREDENTIALS)"
                    } else {
                        "framed, marker M, or fds [N] (recvmsg(2) with ancillary data)"
                    },
                )?;
                let lw = w.node.to_ascii_lowercase();
                if send && lw == "fds" {
                    // One socket or more, to the end of the statement.
                    let mut socks = Vec::new();
                    let mut r2 = r;
                    while !lex::at_end(r2) && !skip_blanks(r2).starts_with('&') {
                        let (r3, s) = self.sock(skip_blanks(r2))?;
                        socks.push(s);
                        r2 = r3;
                    }
                    if socks.is_empty() {
                        return Err(self.expected(
                            r2,
                            "the sockets whose descriptors go along (sendmsg u b\"x\" fds a)",
                            None,
                        ));
                    }
                    (r2, Arg::Framing(Framing::Fds(socks)))
                } else if lw == "creds" {
                    (r, Arg::Framing(Framing::Creds))
                } else if lw == "fds" || lw == "ancillary" {
                    let t = skip_blanks(r);
                    if lex::at_end(t) || t.starts_with('&') {
                        (r, Arg::Framing(Framing::Ancillary(None)))
                    } else {
                        let (r2, n) = self.expr(t, false)?;
                        (r2, Arg::Framing(Framing::Ancillary(Some(n))))
                    }
                } else if w.node.eq_ignore_ascii_case("marker") {
                    let t = skip_blanks(r);
                    if lex::at_end(t) {
                        return Err(self.expected(
                            t,
                            "the marker after `marker` (e.g. b\"\\n\")",
                            None,
                        ));
                    }
                    let (r2, m) = self.expr(t, false)?;
                    (r2, Arg::Framing(Framing::Marker(m)))
                } else {
                    (r, Arg::Framing(Framing::Length))
                }
            }
            ArgKind::Groups => {
                let (r, groups, timeout) = self.groups(i, spec.cmd == Cmd::Poll)?;
                (r, Arg::Groups(groups, timeout))
            }
            ArgKind::Jobs => {
                let mut jobs = Vec::new();
                let mut r = i;
                while !lex::at_end(r) && !skip_blanks(r).starts_with('&') {
                    let t = skip_blanks(r);
                    let digits = t.strip_prefix('%').unwrap_or(t);
                    match lex::number(digits) {
                        Ok((r2, Num::Int(n))) if n > 0 => {
                            jobs.push(Spanned::new(n, self.span(t, r2)));
                            r = r2;
                        }
                        _ => return Err(self.expected(t, "a job: %1 (`jobs` lists them)", None)),
                    }
                }
                (r, Arg::Jobs(jobs))
            }
            ArgKind::PeerKind => {
                let (r, w) = self.word_from(
                    i,
                    spec::PEER_KINDS,
                    "a kind of peer: echo, discard, daytime, chat or http",
                )?;
                // `serve echo udp`: the transport, after the kind.
                let t = skip_blanks(r);
                match lex::bare(t) {
                    Ok((r2, p)) if p.eq_ignore_ascii_case("udp") => (r2, Arg::Peer(w, true)),
                    Ok((r2, p)) if p.eq_ignore_ascii_case("tcp") => (r2, Arg::Peer(w, false)),
                    _ => (r, Arg::Peer(w, false)),
                }
            }
            ArgKind::PeersView => {
                let (r, w) = self.word_from(i, spec::PEERS_VIEWS, "`log` (or nothing)")?;
                (r, Arg::Word(w))
            }
            ArgKind::PeerAddr => {
                let (r, a) = self.addr(i)?;
                (r, Arg::Addr(self.explicit_any(i, a)))
            }
            ArgKind::Expectation => {
                let (r, e) = self.expectation(i)?;
                (r, Arg::Expect(e))
            }
            ArgKind::MacroName => {
                let (r, w) = self.ident_word(i, "a macro name (letters, digits, _)")?;
                (r, Arg::Word(w))
            }
            ArgKind::Argv => {
                let (r, words) = self.argv(i)?;
                (r, Arg::Argv(words))
            }
            ArgKind::Job => {
                let digits = i.strip_prefix('%').unwrap_or(i);
                match lex::number(digits) {
                    Ok((r, Num::Int(n))) if n > 0 => {
                        (r, Arg::Jobs(vec![Spanned::new(n, self.span(i, r))]))
                    }
                    _ => return Err(self.expected(i, "a job: %1 (`jobs` lists them)", None)),
                }
            }
            ArgKind::EpollOp => {
                let (r, name, op) = self.epoll_op(i)?;
                (r, Arg::Epoll(name, op))
            }
            ArgKind::LineEnd => {
                let (r, w) = self.word_from(i, &["crlf", "lf"], "crlf (or lf, the default)")?;
                (r, Arg::Word(w))
            }
            ArgKind::LogView => {
                let (r, w) = self.word_from(i, &["hex", "text"], "hex (or text, the default)")?;
                (r, Arg::Word(w))
            }
            ArgKind::UntilOpts => {
                let (r, drop, timeout, view) = self.until_opts(spec, i)?;
                (r, Arg::UntilOpts(drop, timeout, view))
            }
            ArgKind::WireView => {
                let (r, sock, absolute, save) = self.wire_view(i)?;
                (r, Arg::Wire(sock, absolute, save))
            }
            ArgKind::FileFlags => {
                let known = spec::file_flags(spec.cmd);
                let what = format!("one of {}", known.join(", "));
                let mut words = Vec::new();
                let mut r = i;
                while !lex::at_end(r) && !skip_blanks(r).starts_with('&') {
                    let (r2, w) = self.word_from(skip_blanks(r), known, &what)?;
                    words.push(w);
                    r = r2;
                }
                (r, Arg::Flags(words))
            }
            ArgKind::Lab => {
                let (r, l) = self.lab_args(i)?;
                (r, Arg::Lab(l))
            }
            ArgKind::Host => {
                let (r, w) = self.host_word(i)?;
                (r, Arg::Word(w))
            }
            ArgKind::Statement => {
                let (r, s) = self.inner_statement(i)?;
                (r, Arg::Stmt(s))
            }
            ArgKind::LessonMode => {
                let (r, w) = self.word_from(i, spec::LESSON_MODES, "step or check")?;
                let mode = if w.node.eq_ignore_ascii_case("check") {
                    LessonMode::Check
                } else {
                    LessonMode::Step
                };
                (r, Arg::LessonMode(mode))
            }
        };
        Ok((r, Some(arg)))
    }
}

/// Python's `s.bind(...)` typed into the shell: the shell's own form of
/// the call (`bind s ...`), as a suggestion.
fn python_call(sock: &str, after: &str) -> Option<String> {
    let rest = after.strip_prefix('.')?;
    let (_, method) = lex::ident(rest).ok()?;
    let spec = spec::lookup(method)?;
    let usage = spec.usage();
    Some(
        if spec.args.first().is_some_and(|a| a.kind == ArgKind::Sock) {
            usage.replacen(" sock", &format!(" {sock}"), 1)
        } else {
            usage
        },
    )
}

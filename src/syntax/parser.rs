//! Statements: `[names =] command args [&]`, separated by `;` or newlines.
//!
//! The command word is looked up in [`crate::spec::SPECS`]; its argument
//! kinds say which lexeme routine parses each position, so a command added
//! to the table needs no new parsing code unless it brings a new kind.

use super::ast::*;
use super::error::{ErrorKind, ParseError};
use super::lex::{self, LexError, Lit, Num};
use crate::spec::{self, ArgKind, ArgSpec, Cmd, CmdSpec};
use nom::Parser;
use nom::character::complete::char;

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

pub(super) fn skip_blanks(i: &str) -> &str {
    i.trim_start_matches([' ', '\t', '\r'])
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
        if super::python::looks_like(i) {
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

    /// A command line: words up to the end of the statement (or a last
    /// `&`), each as written or a quoted string with its escapes.
    fn argv(&self, i: &'a str) -> Result<(&'a str, Vec<Spanned<String>>), ParseError> {
        let mut words = Vec::new();
        let mut r = i;
        loop {
            let t = skip_blanks(r);
            if lex::at_end(t) || t.starts_with('&') {
                break;
            }
            if words.len() >= 4096 {
                return Err(self.expected(t, "at most 4096 words", None));
            }
            if t.starts_with('"') || t.starts_with('\'') {
                match lex::string_lit(t) {
                    Ok((r2, lit)) => {
                        let text = match lit {
                            Lit::Str(s) => s,
                            Lit::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
                        };
                        words.push(Spanned::new(text, self.span(t, r2)));
                        r = r2;
                        continue;
                    }
                    Err(e) => return Err(self.lex_error(e, t, "a word or a quoted string")),
                }
            }
            let (r2, w) = lex::bare(t).map_err(|_| self.expected(t, "a word", None))?;
            words.push(Spanned::new(w.to_string(), self.span(t, r2)));
            r = r2;
        }
        if words.is_empty() {
            return Err(self.expected(i, "a program to run: run python3 FILE.py", None));
        }
        Ok((r, words))
    }

    /// `NAME [add|mod|del SOCK [EVENTS...] | wait [SECONDS] | close]`
    /// after `epoll`. Events are words (`in out`, `EPOLLIN`), joined with
    /// blanks or `|`.
    fn epoll_op(&self, i: &'a str) -> Result<(&'a str, Spanned<String>, EpollOp), ParseError> {
        const OPS: &[&str] = &[
            "add",
            "register",
            "mod",
            "modify",
            "del",
            "delete",
            "remove",
            "unregister",
            "wait",
            "poll",
            "close",
        ];
        let (r, name) = self.ident_word(i, "the name of an epoll (ep = epoll makes one)")?;
        let t = skip_blanks(r);
        if lex::at_end(t) || t.starts_with('&') {
            return Ok((r, name, EpollOp::Show));
        }
        let (r, w) = self.word_from(
            t,
            OPS,
            "add, mod, del (with a socket), wait [seconds] or close",
        )?;
        let op = w.node.to_ascii_lowercase();
        match op.as_str() {
            "wait" | "poll" => {
                let t = skip_blanks(r);
                if lex::at_end(t) || t.starts_with('&') {
                    return Ok((r, name, EpollOp::Wait(None)));
                }
                let (r2, e) = self.expr(t, false)?;
                Ok((r2, name, EpollOp::Wait(Some(e))))
            }
            "close" => Ok((r, name, EpollOp::Close)),
            _ => {
                let t = skip_blanks(r);
                if lex::at_end(t) {
                    return Err(self.expected(t, "the socket after the operation", None));
                }
                let (mut r2, sock) = self.sock(t)?;
                if matches!(op.as_str(), "del" | "delete" | "remove" | "unregister") {
                    return Ok((r2, name, EpollOp::Delete(sock)));
                }
                let mut events = Vec::new();
                loop {
                    let t = skip_blanks(r2);
                    let t = match t.strip_prefix('|') {
                        Some(rest) => skip_blanks(rest),
                        None => t,
                    };
                    if lex::at_end(t) || t.starts_with('&') {
                        break;
                    }
                    let Ok((_, tok)) = lex::bare(t) else { break };
                    let len = tok.find('|').unwrap_or(tok.len());
                    if len == 0 {
                        return Err(self.expected(
                            t,
                            "an event: in, out, pri, rdhup, et or oneshot",
                            None,
                        ));
                    }
                    events.push(Spanned::new(tok[..len].to_string(), self.span_len(t, len)));
                    r2 = &t[len..];
                }
                if matches!(op.as_str(), "add" | "register") {
                    Ok((r2, name, EpollOp::Add(sock, events)))
                } else {
                    Ok((r2, name, EpollOp::Modify(sock, events)))
                }
            }
        }
    }

    /// `drop`, `timeout SECONDS` and a view, in any order, after
    /// recvuntil, recvline, recvn and recvall.
    #[allow(clippy::type_complexity)]
    fn until_opts(
        &self,
        spec: &CmdSpec,
        i: &'a str,
    ) -> Result<(&'a str, bool, Option<Spanned<Expr>>, Option<View>), ParseError> {
        let delimited = matches!(spec.cmd, Cmd::RecvUntil | Cmd::RecvLine);
        let what = if delimited {
            "drop, timeout SECONDS, or a view (hex, repr, text)"
        } else {
            "timeout SECONDS, or a view (hex, repr, text)"
        };
        let mut drop = false;
        let mut timeout = None;
        let mut view = None;
        let mut r = i;
        while !lex::at_end(r) && !skip_blanks(r).starts_with('&') {
            let t = skip_blanks(r);
            let (r2, w) = self.word_from(t, spec::UNTIL_WORDS, what)?;
            match w.node.to_ascii_lowercase().as_str() {
                "drop" if !delimited => {
                    return Err(ParseError::new(
                        w.span,
                        ErrorKind::Expected {
                            expected: what.into(),
                            found: "`drop`, which goes with recvuntil and recvline (it leaves the delimiter out)".into(),
                            suggestion: None,
                        },
                    ));
                }
                "drop" => drop = true,
                "timeout" => {
                    let t2 = skip_blanks(r2);
                    if lex::at_end(t2) || t2.starts_with('&') {
                        return Err(self.expected(
                            t2,
                            "the seconds after `timeout` (timeout 2.5; none waits forever)",
                            None,
                        ));
                    }
                    let (r3, e) = self.expr(t2, false)?;
                    timeout = Some(e);
                    r = r3;
                    continue;
                }
                "hex" => view = Some(View::Hex),
                "text" => view = Some(View::Text),
                _ => view = Some(View::Repr),
            }
            r = r2;
        }
        Ok((r, drop, timeout, view))
    }

    /// `[sock] [absolute] [save FILE]`, each optional (`save FILE` last). A
    /// socket named `save` or `absolute` is written by its fd number.
    #[allow(clippy::type_complexity)]
    fn wire_view(
        &self,
        i: &'a str,
    ) -> Result<
        (
            &'a str,
            Option<Spanned<SockRef>>,
            bool,
            Option<Spanned<Expr>>,
        ),
        ParseError,
    > {
        const WHAT: &str = "a socket, `absolute` or `save FILE`";
        let is_word = |t: &str, w: &str| {
            lex::ident(t).is_ok_and(|(r, x)| {
                x.eq_ignore_ascii_case(w)
                    && (r.is_empty() || r.starts_with(|c: char| lex::is_delimiter(c) || c == '#'))
            })
        };
        let mut r = i;
        let mut sock = None;
        let mut absolute = false;
        let mut save = None;
        loop {
            let t = skip_blanks(r);
            if lex::at_end(t) || t.starts_with('&') {
                break;
            }
            if is_word(t, "save") {
                let (r2, _) = lex::ident(t).map_err(|e| self.lex_error(e, t, WHAT))?;
                let p = skip_blanks(r2);
                if lex::at_end(p) || p.starts_with('&') {
                    return Err(self.expected(
                        p,
                        "a file name after `save` (states save lo.pcap)",
                        None,
                    ));
                }
                let (r3, e) = self.text(p)?;
                save = Some(e);
                r = r3;
                break;
            }
            if is_word(t, "absolute") || is_word(t, "abs") {
                let (r2, _) = lex::ident(t).map_err(|e| self.lex_error(e, t, WHAT))?;
                absolute = true;
                r = r2;
                continue;
            }
            if sock.is_some() {
                return Err(self.expected(t, "`absolute` or `save FILE`", None));
            }
            let (r2, s) = self.sock(t).map_err(|_| self.expected(t, WHAT, None))?;
            sock = Some(s);
            r = r2;
        }
        Ok((r, sock, absolute, save))
    }

    /// What `expect` checks: `"text"`, `/regex/` (`\/` is a slash inside
    /// it), `error [NAME]`, or `state SOCK STATE`.
    fn expectation(&self, i: &'a str) -> Result<(&'a str, Expectation), ParseError> {
        const WHAT: &str = "what to expect: \"text\", /regex/, error ERRNO or state SOCK STATE";
        if let Some(body) = i.strip_prefix('/') {
            let mut escaped = false;
            for (k, c) in body.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '/' if !escaped => {
                        let re = body[..k].replace("\\/", "/");
                        let r = &body[k + 1..];
                        return Ok((r, Expectation::Regex(Spanned::new(re, self.span(i, r)))));
                    }
                    '\n' => break,
                    _ => escaped = false,
                }
            }
            let end = i.find('\n').unwrap_or(i.len());
            return Err(ParseError::new(
                self.span_len(i, end),
                ErrorKind::Expected {
                    expected: "`/` closing the regular expression".into(),
                    found: "the end of the line".into(),
                    suggestion: None,
                },
            ));
        }
        match lex::string_lit(i) {
            Ok((r, lit)) => {
                let text = match lit {
                    Lit::Str(s) => s,
                    Lit::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
                };
                return Ok((r, Expectation::Output(Spanned::new(text, self.span(i, r)))));
            }
            Err(e @ nom::Err::Failure(_)) => return Err(self.lex_error(e, i, WHAT)),
            Err(_) => {}
        }
        let (r, w) = self.word_from(i, spec::EXPECT_WORDS, WHAT)?;
        if w.node.eq_ignore_ascii_case("error") {
            let t = skip_blanks(r);
            if lex::at_end(t) || t.starts_with('&') {
                return Ok((r, Expectation::Error(None)));
            }
            let (r2, name) = self.ident_word(
                t,
                "an errno name (ECONNREFUSED) or an exception (TimeoutError)",
            )?;
            return Ok((r2, Expectation::Error(Some(name))));
        }
        let t = skip_blanks(r);
        if lex::at_end(t) {
            return Err(self.expected(
                t,
                "a socket after `state` (expect state c CLOSE_WAIT)",
                None,
            ));
        }
        let (r2, sock) = self.sock(t)?;
        let t2 = skip_blanks(r2);
        if lex::at_end(t2) {
            return Err(self.expected(t2, "a state such as ESTABLISHED or CLOSE_WAIT", None));
        }
        let (r3, state) = self.ident_word(t2, "a state such as ESTABLISHED or CLOSE_WAIT")?;
        Ok((r3, Expectation::State { sock, state }))
    }

    /// `.`, an fd number, or a name.
    fn sock(&self, i: &'a str) -> Result<(&'a str, Spanned<SockRef>), ParseError> {
        const WHAT: &str = "a socket (its name, or its fd number)";
        if let Some(r) = i.strip_prefix('.')
            && (r.is_empty() || r.starts_with(|c: char| lex::is_delimiter(c)))
        {
            return Ok((r, Spanned::new(SockRef::Last, self.span(i, r))));
        }
        if let Ok((r, n)) = lex::number(i) {
            return match n {
                Num::Int(fd) if (0..=i64::from(i32::MAX)).contains(&fd) => {
                    Ok((r, Spanned::new(SockRef::Fd(fd as i32), self.span(i, r))))
                }
                _ => Err(self.expected(i, WHAT, None)),
            };
        }
        match lex::ident(i) {
            Ok((r, name))
                if r.is_empty() || r.starts_with(|c: char| lex::is_delimiter(c) || c == '#') =>
            {
                Ok((
                    r,
                    Spanned::new(SockRef::Name(name.to_string()), self.span(i, r)),
                ))
            }
            _ => Err(self.expected(i, WHAT, None)),
        }
    }

    /// `[read] s k [write c] [except x] [timeout]` (poll: in/out/pri).
    /// A number ends the list: it is the timeout.
    #[allow(clippy::type_complexity)]
    fn groups(
        &self,
        i: &'a str,
        poll: bool,
    ) -> Result<(&'a str, [Vec<Spanned<SockRef>>; 3], Option<Spanned<Expr>>), ParseError> {
        let mut groups: [Vec<Spanned<SockRef>>; 3] = Default::default();
        let mut current = 0;
        let mut r = i;
        let mut timeout = None;
        let what = if poll {
            "in, out, pri, a socket name, or the timeout in ms"
        } else {
            "read, write, except, a socket name, or the timeout in seconds"
        };
        while !lex::at_end(r) && !skip_blanks(r).starts_with('&') {
            let t = skip_blanks(r);
            if let Ok((r2, w)) = lex::ident(t) {
                let g = match w.to_ascii_lowercase().as_str() {
                    "read" | "in" | "pollin" | "r" => Some(0),
                    "write" | "out" | "pollout" | "w" => Some(1),
                    "except" | "pri" | "pollpri" | "x" => Some(2),
                    _ => None,
                };
                if let Some(g) = g
                    && (lex::at_end(r2) || r2.starts_with(|c: char| c.is_whitespace()))
                {
                    current = g;
                    r = r2;
                    continue;
                }
            }
            if lex::number(t).is_ok() || t.starts_with("none") {
                let (r2, e) = self.expr(t, false)?;
                timeout = Some(e);
                r = r2;
                break;
            }
            match self.sock(t) {
                Ok((r2, s)) => {
                    groups[current].push(s);
                    r = r2;
                }
                Err(_) => return Err(self.expected(t, what, None)),
            }
        }
        if groups.iter().all(Vec::is_empty) {
            return Err(self.expected(r, "at least one socket (select read s k)", None));
        }
        Ok((r, groups, timeout))
    }

    /// An address, in any of its written forms.
    fn addr(&self, i: &'a str) -> Result<(&'a str, AddrExpr), ParseError> {
        const WHAT: &str =
            "an address: host port, host:port, [v6]:port, * port, a UNIX path or @name";
        // A quoted string: a host when a port follows, else a UNIX path.
        if let Ok((r, lit)) = lex::string_lit(i) {
            let text = match lit {
                Lit::Str(s) => s,
                Lit::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
            };
            let sp = Spanned::new(text, self.span(i, r));
            if let Some((r2, port)) = self.port_after(r) {
                // `"" 9900` is Python's ('', 9900): any address, like `*`.
                let host = (!sp.node.is_empty()).then_some(sp);
                return Ok((r2, AddrExpr::HostPort { host, port }));
            }
            if let Some(name) = sp.node.strip_prefix('@') {
                return Ok((
                    r,
                    AddrExpr::Abstract(Spanned::new(name.to_string(), sp.span)),
                ));
            }
            return Ok((r, AddrExpr::Path(sp)));
        }
        if let Err(e @ nom::Err::Failure(_)) = lex::string_lit(i) {
            return Err(self.lex_error(e, i, WHAT));
        }
        let (r, tok) = lex::bare(i).map_err(|_| self.expected(i, WHAT, None))?;
        let tok_span = self.span(i, r);
        let sp = |s: &str, from: usize| {
            let start = tok_span.start + from;
            Spanned::new(s.to_string(), Span::new(start, start + s.len()))
        };
        if let Some(name) = tok.strip_prefix('@') {
            return Ok((r, AddrExpr::Abstract(sp(name, 1))));
        }
        if tok.contains('/') || tok.starts_with('.') || tok.starts_with('~') {
            return Ok((r, AddrExpr::Path(sp(tok, 0))));
        }
        // [v6]:port or [v6] port
        if let Some(inner) = tok.strip_prefix('[') {
            let Some(close) = inner.find(']') else {
                return Err(ParseError::new(
                    tok_span,
                    ErrorKind::Expected {
                        expected: "`]` closing the IPv6 address".into(),
                        found: format!("`{tok}`"),
                        suggestion: None,
                    },
                ));
            };
            let host = sp(&inner[..close], 1);
            let after = &inner[close + 1..];
            if let Some(p) = after.strip_prefix(':') {
                let port = self.port_text(p, tok_span.start + 2 + close + 1)?;
                return Ok((
                    r,
                    AddrExpr::HostPort {
                        host: Some(host),
                        port,
                    },
                ));
            }
            if !after.is_empty() {
                return Err(self.expected(i, WHAT, None));
            }
            return match self.port_after(r) {
                Some((r2, port)) => Ok((
                    r2,
                    AddrExpr::HostPort {
                        host: Some(host),
                        port,
                    },
                )),
                None => Err(self.missing_port(r)),
            };
        }
        // host:port with one colon (IPv4 or a name); `*:port` too.
        if tok.matches(':').count() == 1 {
            let (h, p) = tok.split_once(':').unwrap_or((tok, ""));
            let port = self.port_text(p, tok_span.start + h.len() + 1)?;
            let host = (h != "*" && !h.is_empty()).then(|| sp(h, 0));
            return Ok((r, AddrExpr::HostPort { host, port }));
        }
        // A lone number: a port on any address (`bind s 9900`), unless a
        // second number follows (`connect c 0 9900`).
        if tok.chars().all(|c| c.is_ascii_digit()) {
            if let Some((r2, port)) = self.port_after(r) {
                return Ok((
                    r2,
                    AddrExpr::HostPort {
                        host: Some(sp(tok, 0)),
                        port,
                    },
                ));
            }
            let port = self.port_text(tok, tok_span.start)?;
            return Ok((r, AddrExpr::HostPort { host: None, port }));
        }
        if tok == "*" {
            return match self.port_after(r) {
                Some((r2, port)) => Ok((r2, AddrExpr::HostPort { host: None, port })),
                None => Err(self.missing_port(r)),
            };
        }
        if let Some((r2, port)) = self.port_after(r) {
            return Ok((
                r2,
                AddrExpr::HostPort {
                    host: Some(sp(tok, 0)),
                    port,
                },
            ));
        }
        if tok.contains(':') {
            // A bare IPv6 address needs its port after it.
            return Err(self.missing_port(r));
        }
        Ok((r, AddrExpr::Word(sp(tok, 0))))
    }

    /// For `serve`, a missing host means 127.0.0.1, so every address must
    /// be asked for: `* 9000`, `*:9000` and `"" 9000` become host `0.0.0.0`
    /// (spanning the `*` or the quotes).
    fn explicit_any(&self, src: &'a str, a: AddrExpr) -> AddrExpr {
        match a {
            AddrExpr::HostPort { host: None, port } if src.starts_with(['*', '"', '\'']) => {
                let len = if src.starts_with('*') { 1 } else { 2 };
                AddrExpr::HostPort {
                    host: Some(Spanned::new("0.0.0.0".to_string(), self.span_len(src, len))),
                    port,
                }
            }
            other => other,
        }
    }

    fn missing_port(&self, at: &'a str) -> ParseError {
        self.expected(at, "a port number", None)
    }

    /// A port written after the host, if the next token is a number.
    fn port_after(&self, i: &'a str) -> Option<(&'a str, Spanned<Expr>)> {
        let r = skip_blanks(i);
        if r.len() == i.len() && !i.is_empty() {
            return None; // no blank between host and port
        }
        match lex::number(r) {
            Ok((r2, Num::Int(n))) => Some((r2, Spanned::new(Expr::Int(n), self.span(r, r2)))),
            _ => {
                // A name holding the port (or an address to take it from),
                // unless it is a flag word that may follow an address.
                let (r2, w) = lex::ident(r).ok()?;
                let flag = spec::is_flag_word(w, spec::SEND_FLAG_WORDS)
                    || spec::is_flag_word(w, spec::RECV_FLAG_WORDS)
                    || ["framed", "marker"]
                        .iter()
                        .any(|f| f.eq_ignore_ascii_case(w));
                let ends =
                    r2.is_empty() || r2.starts_with(|c: char| lex::is_delimiter(c) || c == '#');
                (!flag && ends)
                    .then(|| (r2, Spanned::new(Expr::Var(w.to_string()), self.span(r, r2))))
            }
        }
    }

    fn port_text(&self, p: &str, at: usize) -> Result<Spanned<Expr>, ParseError> {
        let span = Span::new(at, at + p.len());
        if !p.is_empty()
            && p.chars().all(|c| c.is_ascii_digit())
            && let Ok(n) = p.parse::<i64>()
        {
            return Ok(Spanned::new(Expr::Int(n), span));
        }
        if lex::ident(p).is_ok_and(|(r, _)| r.is_empty()) {
            // A service name (`localhost:http`), resolved by the executor.
            return Ok(Spanned::new(Expr::Word(p.to_string()), span));
        }
        Err(ParseError::new(
            if p.is_empty() {
                Span::new(at.saturating_sub(1), at)
            } else {
                span
            },
            ErrorKind::Expected {
                expected: "a port number".into(),
                found: if p.is_empty() {
                    "nothing after `:`".into()
                } else {
                    format!("`{p}`")
                },
                suggestion: None,
            },
        ))
    }

    /// Literal text: a quoted string, or a bare token taken as written.
    fn text(&self, i: &'a str) -> Result<(&'a str, Spanned<Expr>), ParseError> {
        match lex::string_lit(i) {
            Ok((r, Lit::Str(s))) => return Ok((r, Spanned::new(Expr::Str(s), self.span(i, r)))),
            Ok((r, Lit::Bytes(b))) => {
                return Ok((r, Spanned::new(Expr::Bytes(b), self.span(i, r))));
            }
            Err(e @ nom::Err::Failure(_)) => return Err(self.lex_error(e, i, "text")),
            Err(_) => {}
        }
        let (r, w) = lex::bare(i).map_err(|_| self.expected(i, "a name or text", None))?;
        Ok((r, Spanned::new(Expr::Word(w.to_string()), self.span(i, r))))
    }

    /// `expr := term ('+' term)*`
    fn expr(&self, i: &'a str, bool_words: bool) -> Result<(&'a str, Spanned<Expr>), ParseError> {
        let (mut r, first) = self.term(i, bool_words)?;
        let mut parts = vec![first];
        loop {
            let t = skip_blanks(r);
            let Some(after) = t.strip_prefix('+') else {
                break;
            };
            let (r2, next) = self.term(skip_blanks(after), bool_words)?;
            parts.push(next);
            r = r2;
        }
        if parts.len() == 1 {
            let e = parts
                .pop()
                .ok_or_else(|| self.expected(i, "a value", None))?;
            return Ok((r, e));
        }
        let span = parts[0].span.to(parts[parts.len() - 1].span);
        Ok((r, Spanned::new(Expr::Concat(parts), span)))
    }

    /// `term := atom ('*' atom)?`
    fn term(&self, i: &'a str, bool_words: bool) -> Result<(&'a str, Spanned<Expr>), ParseError> {
        let (r, a) = self.atom(i, bool_words)?;
        let t = skip_blanks(r);
        if let Some(after) = t.strip_prefix('*') {
            let (r2, b) = self.atom(skip_blanks(after), bool_words)?;
            let span = a.span.to(b.span);
            return Ok((
                r2,
                Spanned::new(Expr::Repeat(Box::new(a), Box::new(b)), span),
            ));
        }
        Ok((r, a))
    }

    fn atom(&self, i: &'a str, bool_words: bool) -> Result<(&'a str, Spanned<Expr>), ParseError> {
        const WHAT: &str = "a value: \"text\", b\"bytes\", x\"hex\", a number or a name";
        if let Some(inner) = i.strip_prefix('(') {
            if self.depth.get() >= MAX_DEPTH {
                return Err(ParseError::new(
                    self.span_len(i, 1),
                    ErrorKind::Expected {
                        expected: format!("at most {MAX_DEPTH} nested parentheses"),
                        found: "one more `(`".into(),
                        suggestion: None,
                    },
                ));
            }
            self.depth.set(self.depth.get() + 1);
            let inside = self.expr(skip_blanks(inner), bool_words);
            self.depth.set(self.depth.get() - 1);
            let (r, e) = inside?;
            let r = skip_blanks(r);
            let r = char::<&str, LexError>(')')
                .parse(r)
                .map(|(r, _)| r)
                .map_err(|_| self.expected(r, "`)`", None))?;
            return Ok((r, Spanned::new(e.node, self.span(i, r))));
        }
        match lex::string_lit(i) {
            Ok((r, Lit::Str(s))) => return Ok((r, Spanned::new(Expr::Str(s), self.span(i, r)))),
            Ok((r, Lit::Bytes(b))) => {
                return Ok((r, Spanned::new(Expr::Bytes(b), self.span(i, r))));
            }
            Err(e @ nom::Err::Failure(_)) => return Err(self.lex_error(e, i, WHAT)),
            Err(_) => {}
        }
        match lex::number(i) {
            Ok((r, Num::Int(n))) => return Ok((r, Spanned::new(Expr::Int(n), self.span(i, r)))),
            Ok((r, Num::Float(f))) => {
                return Ok((r, Spanned::new(Expr::Float(f), self.span(i, r))));
            }
            Err(e @ nom::Err::Failure(_)) => return Err(self.lex_error(e, i, WHAT)),
            Err(_) => {}
        }
        if bool_words
            && let Ok((r, w)) = lex::bare(i)
            && w.contains('.')
            && lex::number(i).is_err()
        {
            // An address as an option value (IP_MULTICAST_IF 127.0.0.1).
            return Ok((r, Spanned::new(Expr::Word(w.to_string()), self.span(i, r))));
        }
        if let Ok((r, w)) = lex::ident(i)
            && (r.is_empty()
                || r.starts_with(|c: char| {
                    lex::is_delimiter(c) || matches!(c, '*' | '+' | ')' | '#')
                }))
        {
            if w.eq_ignore_ascii_case(spec::ZEROS) {
                return self.zeros(i, r);
            }
            let e = match w.to_ascii_lowercase().as_str() {
                "none" => Expr::None,
                "true" => Expr::Bool(true),
                "false" => Expr::Bool(false),
                "on" | "yes" if bool_words => Expr::Bool(true),
                "off" | "no" if bool_words => Expr::Bool(false),
                _ => Expr::Var(w.to_string()),
            };
            return Ok((r, Spanned::new(e, self.span(i, r))));
        }
        Err(self.expected(i, WHAT, None))
    }

    /// A name that is not a flag word (a variable holding a size).
    fn is_plain_name(&self, i: &str) -> bool {
        match lex::ident(i) {
            Ok((r, w)) => {
                (r.is_empty() || r.starts_with(|c: char| lex::is_delimiter(c) || c == '#'))
                    && !spec::RECV_FLAG_WORDS
                        .iter()
                        .any(|f| f.eq_ignore_ascii_case(w))
            }
            Err(_) => false,
        }
    }

    /// `zeros SIZE`: the size is one atom (a number, a name, or an
    /// expression in parentheses).
    fn zeros(
        &self,
        start: &'a str,
        after: &'a str,
    ) -> Result<(&'a str, Spanned<Expr>), ParseError> {
        let t = skip_blanks(after);
        let is_size = t.starts_with('(')
            || lex::number(t).is_ok()
            || matches!(lex::number(t), Err(nom::Err::Failure(_)))
            || self.is_plain_name(t);
        if lex::at_end(t) || !is_size {
            return Err(self.expected(t, SIZE_WHAT, None));
        }
        let (r, size) = self.atom(t, false)?;
        Ok((
            r,
            Spanned::new(Expr::Zeros(Box::new(size)), self.span(start, r)),
        ))
    }

    fn ident_word(&self, i: &'a str, what: &str) -> Result<(&'a str, Spanned<String>), ParseError> {
        match lex::ident(i) {
            Ok((r, w))
                if r.is_empty() || r.starts_with(|c: char| lex::is_delimiter(c) || c == '#') =>
            {
                Ok((r, Spanned::new(w.to_string(), self.span(i, r))))
            }
            _ => Err(self.expected(i, what, None)),
        }
    }

    /// A level or option name. Python's `socket.` prefix is allowed (as in
    /// [`spec::option`]) and dropped; the span covers it.
    fn option_word(&self, i: &'a str) -> Result<(&'a str, Spanned<String>), ParseError> {
        const WHAT: &str = "an option name such as SO_REUSEADDR";
        let body = i.strip_prefix("socket.").unwrap_or(i);
        let (r, w) = self
            .ident_word(body, WHAT)
            .map_err(|_| self.expected(i, WHAT, None))?;
        Ok((r, Spanned::new(w.node, self.span(i, r))))
    }

    /// One flag of a send or a receive: a word of `words`, or Python's
    /// name for it (`MSG_PEEK`, `socket.MSG_PEEK`); flags may be joined
    /// with `|` (`MSG_PEEK|MSG_DONTWAIT`, or with blanks around it). Returns
    /// the shell's word in lower case (`peek`), spanning what was written.
    fn flag_word(
        &self,
        i: &'a str,
        words: &'static [&'static str],
        what: &str,
    ) -> Result<(&'a str, Spanned<String>), ParseError> {
        // A `|` joining this flag to the one before.
        let t = match i.strip_prefix('|') {
            Some(rest) => skip_blanks(rest),
            None => i,
        };
        let Ok((_, tok)) = lex::bare(t) else {
            return Err(self.expected(t, what, None));
        };
        // One flag: up to the next `|`.
        let len = tok.find('|').unwrap_or(tok.len());
        let w = &tok[..len];
        let base = w.strip_prefix("socket.").unwrap_or(w);
        let base = if base.len() > 4 && base[..4].eq_ignore_ascii_case("msg_") {
            &base[4..]
        } else {
            base
        };
        let lower = base.to_ascii_lowercase();
        if w.is_empty() || !words.iter().any(|x| x.eq_ignore_ascii_case(&lower)) {
            let suggestion = spec::nearest(w, words.iter().copied()).map(str::to_string);
            return Err(ParseError::new(
                self.span_len(t, w.len().max(1)),
                ErrorKind::Expected {
                    expected: what.into(),
                    found: if w.is_empty() {
                        "nothing after `|`".into()
                    } else {
                        format!("`{w}`")
                    },
                    suggestion,
                },
            ));
        }
        let after = &t[len..];
        // `MSG_PEEK |MSG_DONTWAIT`: the `|` after blanks stays for the next.
        let rest = if after.starts_with('|') {
            after
        } else if skip_blanks(after).starts_with('|') {
            skip_blanks(after)
        } else {
            after
        };
        Ok((rest, Spanned::new(lower, self.span_len(t, len))))
    }

    /// One word out of a fixed set (case-insensitive), with did-you-mean.
    fn word_from(
        &self,
        i: &'a str,
        words: &'static [&'static str],
        what: &str,
    ) -> Result<(&'a str, Spanned<String>), ParseError> {
        if let Ok((r, w)) = lex::bare(i) {
            if words.iter().any(|x| x.eq_ignore_ascii_case(w)) {
                return Ok((r, Spanned::new(w.to_string(), self.span(i, r))));
            }
            let suggestion = spec::nearest(w, words.iter().copied()).map(str::to_string);
            return Err(self.expected(i, what, suggestion));
        }
        Err(self.expected(i, what, None))
    }

    /// `socket [family] [type] [protocol]` words, or one shorthand.
    #[allow(clippy::type_complexity)]
    fn sock_spec(
        &self,
        i: &'a str,
    ) -> Result<(&'a str, Option<Family>, Option<SockKind>, Option<i32>), ParseError> {
        const WHAT: &str = "a family (inet, inet6, unix), a type (stream, dgram, seqpacket, raw) or tcp, udp, tcp6, udp6, unix-dgram";
        let mut fam: Option<Family> = None;
        let mut kind = None;
        let mut proto = None;
        // A shorthand gave the family (`tcp6`): a family word may not follow.
        let mut fam_fixed = false;
        let mut r = i;
        let mut n = 0;
        // Nothing follows a shorthand (`tcp6`): the rest is left to the
        // end-of-statement check.
        while !lex::at_end(r) && !skip_blanks(r).starts_with('&') && n < 3 && !fam_fixed {
            let t = skip_blanks(r);
            let all: Vec<&'static str> = spec::FAMILY_WORDS
                .iter()
                .chain(spec::TYPE_WORDS)
                .chain(spec::SHORTHANDS)
                .copied()
                .collect();
            let Ok((r2, w)) = lex::bare(t) else { break };
            let lw = w.to_ascii_lowercase();
            let lw = lw.strip_prefix("socket.").unwrap_or(&lw).to_string();
            // After the type, a protocol: `socket raw icmp`, `socket inet raw 1`.
            if kind.is_some()
                && proto.is_none()
                && let Some(p) = protocol_of(&lw)
            {
                proto = Some(p);
                r = r2;
                n += 1;
                continue;
            }
            if let Some(f) = family_of(&lw) {
                if fam.is_some() {
                    return Err(self.expected(t, "a type (stream, dgram, seqpacket, raw)", None));
                }
                fam = Some(f);
            } else if let Some(k) = kind_of(&lw) {
                if kind.is_some() {
                    return Err(self.expected(t, "a family (inet, inet6, unix)", None));
                }
                kind = Some(k);
            } else if let Some((f, k)) = shorthand(&lw) {
                if kind.is_some() {
                    return Err(self.expected(t, "the end of the statement", None));
                }
                // `socket inet6 tcp`: the family written wins over the
                // shorthand's own (tcp, udp), as Python's AF_INET6 +
                // SOCK_STREAM; `unix tcp` makes no sense.
                match fam {
                    Some(Family::Unix) if f != Family::Unix => {
                        return Err(self.expected(
                            t,
                            "a type for a UNIX socket: stream, dgram or seqpacket (tcp and udp are IP protocols)",
                            None,
                        ));
                    }
                    Some(written) if matches!(lw.as_str(), "tcp" | "udp") => {
                        fam = Some(written);
                    }
                    Some(written) if written != f => {
                        return Err(self.expected(t, "the end of the statement", None));
                    }
                    _ => fam = Some(f),
                }
                fam_fixed = true;
                kind = Some(k);
            } else {
                // Not one of ours: a word is a misspelling (`strem`);
                // anything else is left to the end-of-statement check.
                if w.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
                    let suggestion = spec::nearest(w, all.iter().copied()).map(str::to_string);
                    return Err(self.expected(t, WHAT, suggestion));
                }
                break;
            }
            r = r2;
            n += 1;
        }
        Ok((r, fam, kind, proto))
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

pub(super) fn family_of(w: &str) -> Option<Family> {
    match w.to_ascii_lowercase().as_str() {
        "inet" | "af_inet" | "ipv4" => Some(Family::Inet),
        "inet6" | "af_inet6" | "ipv6" => Some(Family::Inet6),
        "unix" | "af_unix" | "local" => Some(Family::Unix),
        _ => None,
    }
}

pub(super) fn kind_of(w: &str) -> Option<SockKind> {
    match w.to_ascii_lowercase().as_str() {
        "stream" | "sock_stream" => Some(SockKind::Stream),
        "dgram" | "sock_dgram" => Some(SockKind::Dgram),
        "seqpacket" | "sock_seqpacket" => Some(SockKind::SeqPacket),
        "raw" | "sock_raw" => Some(SockKind::Raw),
        _ => None,
    }
}

/// A protocol after the type (`socket raw icmp`): its name, Python's
/// IPPROTO_ name, or its number (0 to 255).
pub(super) fn protocol_of(w: &str) -> Option<i32> {
    let l = w.to_ascii_lowercase();
    let l = l.strip_prefix("ipproto_").unwrap_or(&l);
    Some(match l {
        "ip" => 0,
        "icmp" => libc::IPPROTO_ICMP,
        "igmp" => libc::IPPROTO_IGMP,
        "tcp" => libc::IPPROTO_TCP,
        "udp" => libc::IPPROTO_UDP,
        "icmpv6" | "icmp6" | "ipv6-icmp" => libc::IPPROTO_ICMPV6,
        "sctp" => libc::IPPROTO_SCTP,
        "udplite" => libc::IPPROTO_UDPLITE,
        "raw" => libc::IPPROTO_RAW,
        n => match n.parse::<i32>() {
            Ok(v) if (0..=255).contains(&v) => v,
            _ => return None,
        },
    })
}

fn shorthand(w: &str) -> Option<(Family, SockKind)> {
    Some(match w {
        "tcp" => (Family::Inet, SockKind::Stream),
        "udp" => (Family::Inet, SockKind::Dgram),
        "tcp6" => (Family::Inet6, SockKind::Stream),
        "udp6" => (Family::Inet6, SockKind::Dgram),
        "unix-stream" => (Family::Unix, SockKind::Stream),
        "unix-dgram" => (Family::Unix, SockKind::Dgram),
        "unix-seqpacket" => (Family::Unix, SockKind::SeqPacket),
        _ => return None,
    })
}

/// Takes parsed arguments out by position. The parser put each one there
/// according to the same spec, so a mismatch is a bug in this file; it
/// degrades to an empty value rather than a panic.
struct Take(Vec<Option<Arg>>);

impl Take {
    fn get(&mut self, k: usize) -> Option<Arg> {
        self.0.get_mut(k).and_then(Option::take)
    }
    fn sock(&mut self, k: usize) -> Spanned<SockRef> {
        match self.get(k) {
            Some(Arg::Sock(s)) => s,
            _ => Spanned::new(SockRef::Last, Span::default()),
        }
    }
    fn addr(&mut self, k: usize) -> AddrExpr {
        match self.get(k) {
            Some(Arg::Addr(a)) => a,
            _ => AddrExpr::Word(Spanned::new(String::new(), Span::default())),
        }
    }
    fn expr(&mut self, k: usize) -> Spanned<Expr> {
        self.opt_expr(k)
            .unwrap_or(Spanned::new(Expr::None, Span::default()))
    }
    fn opt_expr(&mut self, k: usize) -> Option<Spanned<Expr>> {
        match self.get(k) {
            Some(Arg::Expr(e)) => Some(e),
            _ => None,
        }
    }
    fn exprs(&mut self, k: usize) -> Vec<Spanned<Expr>> {
        match self.get(k) {
            Some(Arg::Exprs(v)) => v,
            _ => Vec::new(),
        }
    }
    fn framing(&mut self, k: usize) -> Framing {
        match self.get(k) {
            Some(Arg::Framing(f)) => f,
            _ => Framing::Length,
        }
    }
    fn groups(&mut self, k: usize) -> ([Vec<Spanned<SockRef>>; 3], Option<Spanned<Expr>>) {
        match self.get(k) {
            Some(Arg::Groups(g, t)) => (g, t),
            _ => (Default::default(), None),
        }
    }
    fn jobs(&mut self, k: usize) -> Vec<Spanned<i64>> {
        match self.get(k) {
            Some(Arg::Jobs(j)) => j,
            _ => Vec::new(),
        }
    }
    fn word(&mut self, k: usize) -> Option<Spanned<String>> {
        match self.get(k) {
            Some(Arg::Word(w)) => Some(w),
            _ => None,
        }
    }
    fn sock_spec(&mut self, k: usize) -> (Option<Family>, Option<SockKind>, Option<i32>) {
        match self.get(k) {
            Some(Arg::SockSpec(f, t, p)) => (f, t, p),
            _ => (None, None, None),
        }
    }
    fn family(&mut self, k: usize) -> Family {
        match self.get(k) {
            Some(Arg::Family(f)) => f,
            _ => Family::Inet,
        }
    }
    fn how(&mut self, k: usize) -> How {
        match self.get(k) {
            Some(Arg::How(h)) => h,
            _ => How::Both,
        }
    }
    fn level_opt(&mut self, k: usize) -> (Option<Spanned<String>>, Spanned<String>) {
        match self.get(k) {
            Some(Arg::LevelOpt(l, o)) => (l, o),
            _ => (None, Spanned::new(String::new(), Span::default())),
        }
    }
    fn send_flags(&mut self, k: usize) -> Vec<SendFlag> {
        match self.get(k) {
            Some(Arg::SendFlags(f)) => f,
            _ => Vec::new(),
        }
    }
    fn recv_flags(&mut self, k: usize) -> (Vec<RecvFlag>, Option<View>, Option<Discard>) {
        match self.get(k) {
            Some(Arg::RecvFlags(f, v, d)) => (f, v, d),
            _ => (Vec::new(), None, None),
        }
    }
}

/// Parsed arguments -> the typed command.
fn build(cmd: Cmd, args: Vec<Option<Arg>>) -> Command {
    let mut a = Take(args);
    match cmd {
        Cmd::Socket => {
            let (family, kind, proto) = a.sock_spec(0);
            Command::Socket {
                family,
                kind,
                proto,
            }
        }
        Cmd::Bind => Command::Bind {
            sock: a.sock(0),
            addr: a.addr(1),
        },
        Cmd::Listen => Command::Listen {
            sock: a.sock(0),
            backlog: a.opt_expr(1),
        },
        Cmd::Accept => Command::Accept { sock: a.sock(0) },
        Cmd::Connect => Command::Connect {
            sock: a.sock(0),
            addr: a.addr(1),
        },
        Cmd::Send => Command::Send {
            sock: a.sock(0),
            data: a.expr(1),
            flags: a.send_flags(2),
        },
        Cmd::SendAll => Command::SendAll {
            sock: a.sock(0),
            data: a.expr(1),
        },
        Cmd::Recv => {
            let sock = a.sock(0);
            let size = a.opt_expr(1);
            let (flags, view, discard) = a.recv_flags(2);
            if let Some(d) = discard {
                return Command::RecvBulk {
                    sock,
                    into: BulkInto::Discard,
                    limit: size.or(d.limit),
                };
            }
            Command::Recv {
                sock,
                size,
                flags,
                view,
                decode: false,
            }
        }
        Cmd::SendTo => Command::SendTo {
            sock: a.sock(0),
            data: a.expr(1),
            addr: a.addr(2),
            flags: a.send_flags(3),
        },
        Cmd::RecvFrom => {
            let sock = a.sock(0);
            let size = a.opt_expr(1);
            let (flags, view, _) = a.recv_flags(2);
            Command::RecvFrom {
                sock,
                size,
                flags,
                view,
            }
        }
        Cmd::SendFile => Command::SendFile {
            sock: a.sock(0),
            path: a.expr(1),
        },
        Cmd::RecvFile => {
            let sock = a.sock(0);
            let path = a.expr(1);
            Command::RecvBulk {
                sock,
                into: BulkInto::File(path),
                limit: a.opt_expr(2),
            }
        }
        Cmd::Close => Command::Close { sock: a.sock(0) },
        Cmd::Shutdown => Command::Shutdown {
            sock: a.sock(0),
            how: a.how(1),
        },
        Cmd::SetSockOpt => {
            let sock = a.sock(0);
            let (level, option) = a.level_opt(1);
            Command::SetSockOpt {
                sock,
                level,
                option,
                values: a.exprs(2),
            }
        }
        Cmd::GetSockOpt => {
            let sock = a.sock(0);
            let (level, option) = a.level_opt(1);
            Command::GetSockOpt {
                sock,
                level,
                option,
            }
        }
        Cmd::GetSockName => Command::GetSockName { sock: a.sock(0) },
        Cmd::GetPeerName => Command::GetPeerName { sock: a.sock(0) },
        Cmd::Fileno => Command::Fileno { sock: a.sock(0) },
        Cmd::Family => Command::GetFamily { sock: a.sock(0) },
        Cmd::Type => Command::GetType { sock: a.sock(0) },
        Cmd::SetBlocking => Command::SetBlocking {
            sock: a.sock(0),
            flag: a.expr(1),
        },
        Cmd::SetTimeout => Command::SetTimeout {
            sock: a.sock(0),
            seconds: a.expr(1),
        },
        Cmd::GetTimeout => Command::GetTimeout { sock: a.sock(0) },
        Cmd::Sockets => Command::Sockets,
        Cmd::Info => Command::Info { sock: a.sock(0) },
        Cmd::GetHostName => Command::GetHostName,
        Cmd::GetHostByName => Command::GetHostByName { host: a.expr(0) },
        Cmd::GetHostByNameEx => Command::GetHostByNameEx { host: a.expr(0) },
        Cmd::GetHostByAddr => Command::GetHostByAddr { host: a.expr(0) },
        Cmd::GetAddrInfo => {
            let host = a.expr(0);
            let port = a.opt_expr(1);
            let (family, kind, _) = a.sock_spec(2);
            Command::GetAddrInfo {
                host,
                port,
                family,
                kind,
            }
        }
        Cmd::GetFqdn => Command::GetFqdn {
            host: a.opt_expr(0),
        },
        Cmd::InetAton => Command::InetAton { text: a.expr(0) },
        Cmd::InetNtoa => Command::InetNtoa { data: a.expr(0) },
        Cmd::InetPton => Command::InetPton {
            family: a.family(0),
            text: a.expr(1),
        },
        Cmd::InetNtop => Command::InetNtop {
            family: a.family(0),
            data: a.expr(1),
        },
        Cmd::GetServByName => Command::GetServByName {
            name: a.expr(0),
            proto: a.opt_expr(1),
        },
        Cmd::GetServByPort => Command::GetServByPort {
            port: a.expr(0),
            proto: a.opt_expr(1),
        },
        Cmd::Htons => Command::ByteOrder {
            op: ByteOrderOp::Htons,
            value: a.expr(0),
        },
        Cmd::Ntohs => Command::ByteOrder {
            op: ByteOrderOp::Ntohs,
            value: a.expr(0),
        },
        Cmd::Htonl => Command::ByteOrder {
            op: ByteOrderOp::Htonl,
            value: a.expr(0),
        },
        Cmd::Ntohl => Command::ByteOrder {
            op: ByteOrderOp::Ntohl,
            value: a.expr(0),
        },
        Cmd::Help => Command::Help { topic: a.word(0) },
        Cmd::Echo => Command::Echo { values: a.exprs(0) },
        Cmd::Sleep => Command::Sleep { seconds: a.expr(0) },
        Cmd::Quit => Command::Quit {
            code: a.opt_expr(0),
        },
        Cmd::Set => {
            let key = a.word(0);
            Command::Set {
                key,
                value: a.opt_expr(1),
            }
        }
        Cmd::Vars => Command::Vars,
        Cmd::Clear => Command::Clear,
        Cmd::Reset => Command::Reset,
        Cmd::Unlink => Command::Unlink { path: a.expr(0) },
        Cmd::Join | Cmd::Leave => Command::Membership {
            join: cmd == Cmd::Join,
            sock: a.sock(0),
            group: a.expr(1),
            interface: a.opt_expr(2),
        },
        Cmd::States | Cmd::Diagram => {
            let (sock, absolute, save) = match a.get(0) {
                Some(Arg::Wire(s, abs, save)) => (s, abs, save),
                _ => (None, false, None),
            };
            if cmd == Cmd::States {
                Command::States {
                    sock,
                    absolute,
                    save,
                }
            } else {
                Command::Diagram {
                    sock,
                    absolute,
                    save,
                }
            }
        }
        Cmd::SendMsg => Command::SendMsg {
            sock: a.sock(0),
            data: a.expr(1),
            framing: a.framing(2),
        },
        Cmd::RecvMsg => Command::RecvMsg {
            sock: a.sock(0),
            framing: a.framing(1),
        },
        Cmd::Select | Cmd::Poll => {
            let ([read, write, except], timeout) = a.groups(0);
            if cmd == Cmd::Select {
                Command::Select {
                    read,
                    write,
                    except,
                    timeout,
                }
            } else {
                Command::Poll {
                    read,
                    write,
                    except,
                    timeout,
                }
            }
        }
        Cmd::Jobs => Command::Jobs,
        Cmd::Wait => Command::Wait { jobs: a.jobs(0) },
        Cmd::Kill => Command::Kill { jobs: a.jobs(0) },
        Cmd::Serve => {
            let (word, udp) = match a.get(0) {
                Some(Arg::Peer(w, udp)) => (Some(w), udp),
                _ => (None, false),
            };
            let kind = match word.map(|w| w.node.to_ascii_lowercase()).as_deref() {
                Some("discard") => PeerKind::Discard,
                Some("daytime") => PeerKind::Daytime,
                Some("chat") => PeerKind::Chat,
                Some("http") => PeerKind::Http,
                _ => PeerKind::Echo,
            };
            let addr = match a.get(1) {
                Some(Arg::Addr(x)) => Some(x),
                _ => None,
            };
            Command::Serve {
                kind,
                udp,
                addr,
                dir: a.opt_expr(2),
            }
        }
        Cmd::Peers => Command::Peers {
            log: a.word(0).is_some(),
            peer: a.opt_expr(1),
        },
        Cmd::Stop => Command::Stop { peer: a.expr(0) },
        Cmd::Source | Cmd::Step => Command::Source {
            path: a.expr(0),
            step: cmd == Cmd::Step,
        },
        Cmd::Lesson => {
            let number = a.opt_expr(0);
            let mode = match a.get(1) {
                Some(Arg::LessonMode(m)) => Some(m),
                _ => None,
            };
            Command::Lesson { number, mode }
        }
        Cmd::Expect => match a.get(0) {
            Some(Arg::Expect(e)) => Command::Expect(e),
            _ => Command::Expect(Expectation::Error(None)),
        },
        Cmd::RecvUntil | Cmd::RecvLine | Cmd::RecvN | Cmd::RecvAll => {
            let sock = a.sock(0);
            let (until, opts_at) = match cmd {
                Cmd::RecvUntil => (Until::Delim(a.expr(1)), 2),
                Cmd::RecvN => (Until::Count(a.expr(1)), 2),
                Cmd::RecvLine => (Until::Line, 1),
                _ => (Until::All, 1),
            };
            let (drop, timeout, view) = match a.get(opts_at) {
                Some(Arg::UntilOpts(d, t, v)) => (d, t, v),
                _ => (false, None, None),
            };
            Command::RecvUntil {
                sock,
                until,
                drop,
                timeout,
                view,
            }
        }
        Cmd::SocketPair => {
            let (family, kind, _) = a.sock_spec(0);
            Command::SocketPair { family, kind }
        }
        Cmd::Dup => Command::Dup { sock: a.sock(0) },
        Cmd::GetNameInfo => Command::GetNameInfo {
            addr: a.addr(0),
            flags: a.opt_expr(1),
        },
        Cmd::GetProtoByName => Command::GetProtoByName { name: a.expr(0) },
        Cmd::Epoll => match a.get(0) {
            Some(Arg::Epoll(name, op)) => Command::Epoll { ep: Some(name), op },
            _ => Command::Epoll {
                ep: None,
                op: EpollOp::Show,
            },
        },
        Cmd::C10k => Command::C10k { n: a.opt_expr(0) },
        Cmd::Interactive => Command::Interactive {
            sock: a.sock(0),
            crlf: a
                .word(1)
                .is_some_and(|w| w.node.eq_ignore_ascii_case("crlf")),
        },
        Cmd::Log => {
            let path = a.opt_expr(0);
            let hex = a
                .word(1)
                .is_some_and(|w| w.node.eq_ignore_ascii_case("hex"));
            Command::Log { path, hex }
        }
        Cmd::Lab => Command::Lab(match a.get(0) {
            Some(Arg::Lab(l)) => l,
            _ => LabCmd::Show,
        }),
        Cmd::On => {
            let host = a
                .word(0)
                .unwrap_or(Spanned::new(String::new(), Span::default()));
            let stmt = match a.get(1) {
                Some(Arg::Stmt(s)) => s,
                _ => Box::new(Statement {
                    targets: Vec::new(),
                    command: Command::Value(Spanned::new(Expr::None, Span::default())),
                    command_span: Span::default(),
                    background: None,
                    span: Span::default(),
                }),
            };
            Command::On { host, stmt }
        }
        Cmd::MacDef => Command::MacDef {
            name: a
                .word(0)
                .unwrap_or(Spanned::new(String::new(), Span::default())),
        },
        Cmd::Run => Command::Run {
            argv: match a.get(0) {
                Some(Arg::Argv(w)) => w,
                _ => Vec::new(),
            },
        },
        Cmd::Input => Command::Input {
            job: a
                .jobs(0)
                .into_iter()
                .next()
                .unwrap_or(Spanned::new(0, Span::default())),
            data: a.opt_expr(1),
        },
        Cmd::Export | Cmd::Record => {
            let path = a.opt_expr(0);
            let flags = match a.get(1) {
                Some(Arg::Flags(w)) => w,
                _ => Vec::new(),
            };
            let has = |f: &str| flags.iter().any(|w| w.node.eq_ignore_ascii_case(f));
            if cmd == Cmd::Export {
                Command::Export {
                    path: path.unwrap_or(Spanned::new(Expr::None, Span::default())),
                    split: has("split"),
                    force: has("force"),
                }
            } else {
                Command::Record {
                    path,
                    force: has("force"),
                }
            }
        }
    }
}

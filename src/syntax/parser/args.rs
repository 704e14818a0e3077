//! The arguments with a small grammar of their own: a program's command
//! line (`run`), epoll's operations, the options of `recvuntil` and its
//! kin, the views of `states`/`diagram`, and what `expect` checks. Apart
//! from the statement grammar because each belongs to one command family.

use super::{Parser_, skip_blanks};
use crate::spec::{self, Cmd, CmdSpec};
use crate::syntax::ast::*;
use crate::syntax::error::{ErrorKind, ParseError};
use crate::syntax::lex::{self, Lit};

impl<'a> Parser_<'a> {
    /// A command line: words up to the end of the statement (or a last
    /// `&`), each as written or a quoted string with its escapes.
    pub(super) fn argv(&self, i: &'a str) -> Result<(&'a str, Vec<Spanned<String>>), ParseError> {
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
    pub(super) fn epoll_op(
        &self,
        i: &'a str,
    ) -> Result<(&'a str, Spanned<String>, EpollOp), ParseError> {
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
    pub(super) fn until_opts(
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
    pub(super) fn wire_view(
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
    pub(super) fn expectation(&self, i: &'a str) -> Result<(&'a str, Expectation), ParseError> {
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
}

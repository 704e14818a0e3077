//! The values inside arguments: sockets (`s`, `3`, `.`), groups, addresses
//! and ports, expressions (strings, numbers, `+`, `*`), option and flag
//! words, and the socket kind of `socket` (`tcp`, `inet6 dgram`). Apart
//! from the statement grammar because every command family shares them.

use super::{MAX_DEPTH, Parser_, SIZE_WHAT, skip_blanks};
use crate::spec;
use crate::syntax::ast::*;
use crate::syntax::error::{ErrorKind, ParseError};
use crate::syntax::lex::{self, LexError, Lit, Num};
use nom::Parser;
use nom::character::complete::char;

impl<'a> Parser_<'a> {
    /// `.`, an fd number, or a name.
    pub(super) fn sock(&self, i: &'a str) -> Result<(&'a str, Spanned<SockRef>), ParseError> {
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
    pub(super) fn groups(
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
    pub(super) fn addr(&self, i: &'a str) -> Result<(&'a str, AddrExpr), ParseError> {
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
    pub(super) fn explicit_any(&self, src: &'a str, a: AddrExpr) -> AddrExpr {
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
    pub(super) fn text(&self, i: &'a str) -> Result<(&'a str, Spanned<Expr>), ParseError> {
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
    pub(super) fn expr(
        &self,
        i: &'a str,
        bool_words: bool,
    ) -> Result<(&'a str, Spanned<Expr>), ParseError> {
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
    pub(super) fn term(
        &self,
        i: &'a str,
        bool_words: bool,
    ) -> Result<(&'a str, Spanned<Expr>), ParseError> {
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

    pub(super) fn atom(
        &self,
        i: &'a str,
        bool_words: bool,
    ) -> Result<(&'a str, Spanned<Expr>), ParseError> {
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
    pub(super) fn is_plain_name(&self, i: &str) -> bool {
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
    pub(super) fn zeros(
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

    pub(super) fn ident_word(
        &self,
        i: &'a str,
        what: &str,
    ) -> Result<(&'a str, Spanned<String>), ParseError> {
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
    pub(super) fn option_word(&self, i: &'a str) -> Result<(&'a str, Spanned<String>), ParseError> {
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
    pub(super) fn flag_word(
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
        // `get`, not `[..4]`: a word with a multibyte character in its first
        // four bytes is a bad flag to say so about, not a slice to panic on.
        let base = match base.get(..4) {
            Some(p) if base.len() > 4 && p.eq_ignore_ascii_case("msg_") => &base[4..],
            _ => base,
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
    pub(super) fn word_from(
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
    pub(super) fn sock_spec(
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

pub(in crate::syntax) fn family_of(w: &str) -> Option<Family> {
    match w.to_ascii_lowercase().as_str() {
        "inet" | "af_inet" | "ipv4" => Some(Family::Inet),
        "inet6" | "af_inet6" | "ipv6" => Some(Family::Inet6),
        "unix" | "af_unix" | "local" => Some(Family::Unix),
        _ => None,
    }
}

pub(in crate::syntax) fn kind_of(w: &str) -> Option<SockKind> {
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
pub(in crate::syntax) fn protocol_of(w: &str) -> Option<i32> {
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

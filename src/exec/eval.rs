//! Expressions, socket references and addresses, evaluated against the
//! session's names and table. Errors read as Python's (NameError,
//! TypeError, ValueError) and point at the token.

use super::Session;
use crate::errors::ExecError;
use crate::spec;
use crate::syntax::ast::{AddrExpr, Expr, Family, SockKind, SockRef, Spanned};
use crate::table::Entry;
use crate::value::{SockHandle, Value};
use socket2::SockAddr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub use crate::value::MAX_DATA;
use crate::value::{Bytes, buffer, too_large};

/// What a send sends.
pub(crate) enum Payload {
    Bytes(Bytes),
    /// Zero bytes, made as they are sent.
    Zeros(u64),
}

/// `zeros N` as real bytes, where bytes are needed (`zeros 4 + b"x"`, a
/// datagram): only up to [`MAX_DATA`].
fn materialize(v: Value, span: crate::syntax::ast::Span) -> Result<Value, ExecError> {
    match v {
        Value::Zeros(n) => match usize::try_from(n).ok().filter(|&n| n <= MAX_DATA) {
            Some(n) => {
                let mut b = buffer(n).map_err(|e| e.at(span))?;
                b.resize(n, 0);
                Ok(Value::Bytes(b.into()))
            }
            None => Err(too_large(&format!("{n} zero bytes are"))
            .at(span)
            .hint("on a stream socket, send c zeros N and sendall c zeros N make them as they are sent")),
        },
        v => Ok(v),
    }
}

/// The bytes of `n` copies of `unit`, built in place (no intermediate
/// copies), or MemoryError before anything is taken.
fn repeated(unit: &[u8], n: usize, span: crate::syntax::ast::Span) -> Result<Vec<u8>, ExecError> {
    let total = unit
        .len()
        .checked_mul(n)
        .filter(|&t| t <= MAX_DATA)
        .ok_or_else(|| {
            too_large(&format!("{} x {n} bytes is", unit.len()))
                .at(span)
                .hint("for a load, send zeros made as they are sent: send c zeros 1G")
        })?;
    let mut out = buffer(total).map_err(|e| e.at(span))?;
    if let [one] = unit {
        out.resize(total, *one);
        return Ok(out);
    }
    out.extend_from_slice(unit);
    // Doubling: log2(n) copies of growing runs.
    while out.len() < total {
        let take = out.len().min(total - out.len());
        out.extend_from_within(..take);
    }
    Ok(out)
}

impl Session {
    pub(crate) fn eval(&self, e: &Spanned<Expr>) -> Result<Value, ExecError> {
        Ok(match &e.node {
            Expr::Str(s) => Value::Str(s.as_str().into()),
            Expr::Bytes(b) => Value::Bytes(b.as_slice().into()),
            Expr::Int(n) => Value::Int(*n),
            Expr::Float(f) => Value::Float(*f),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::None => Value::None,
            Expr::Word(w) => match self.vars.get(w) {
                Some(v) => v.clone(),
                None => Value::Str(w.as_str().into()),
            },
            Expr::Var(name) => return self.lookup(name, e),
            Expr::Zeros(size) => Value::Zeros(self.size(size)?),
            Expr::Tuple(items) => Value::Tuple(
                items
                    .iter()
                    .map(|x| self.eval(x).and_then(|v| materialize(v, x.span)))
                    .collect::<Result<_, _>>()?,
            ),
            // Lenient, as the shell is with bytes + str: `.encode()` of
            // bytes and `.decode()` of a str keep the value as it is (a
            // name typed in the shell's words may hold either where the
            // course's program holds one).
            Expr::Encode(x) => match materialize(self.eval(x)?, x.span)? {
                Value::Str(s) => Value::Bytes(
                    s.into_string()
                        .map_err(|er| er.at(e.span))?
                        .into_bytes()
                        .into(),
                ),
                v @ Value::Bytes(_) => v,
                other => {
                    return Err(ExecError::new(
                        "AttributeError",
                        format!("'{}' object has no attribute 'encode'", other.type_name()),
                    )
                    .at(e.span));
                }
            },
            Expr::Decode(x) => match materialize(self.eval(x)?, x.span)? {
                Value::Bytes(b) => {
                    let b = b.into_vec().map_err(|er| er.at(e.span))?;
                    Value::Str(
                        String::from_utf8(b)
                            .map_err(|er| {
                                ExecError::new(
                                    "UnicodeDecodeError",
                                    crate::value::utf8_error_text(er.as_bytes(), er.utf8_error()),
                                )
                                .at(e.span)
                            })?
                            .into(),
                    )
                }
                v @ Value::Str(_) => v,
                other => {
                    return Err(ExecError::new(
                        "AttributeError",
                        format!("'{}' object has no attribute 'decode'", other.type_name()),
                    )
                    .at(e.span));
                }
            },
            Expr::Repeat(a, b) => {
                let (va, vb) = (
                    materialize(self.eval(a)?, a.span)?,
                    materialize(self.eval(b)?, b.span)?,
                );
                let (seq, n, n_span) = match (&va, &vb) {
                    (_, Value::Int(n)) => (&va, *n, b.span),
                    (Value::Int(n), _) => (&vb, *n, a.span),
                    _ => {
                        return Err(ExecError::new(
                            "TypeError",
                            format!(
                                "can't multiply sequence by non-int of type '{}'",
                                vb.type_name()
                            ),
                        )
                        .at(e.span));
                    }
                };
                let n = usize::try_from(n.max(0)).unwrap_or(usize::MAX);
                match seq {
                    Value::Str(s) => {
                        let b = repeated(s.as_bytes(), n, n_span)?;
                        // n copies of UTF-8 are UTF-8.
                        Value::Str(String::from_utf8(b).unwrap_or_default().into())
                    }
                    Value::Bytes(x) => Value::Bytes(repeated(x, n, n_span)?.into()),
                    other => {
                        return Err(ExecError::new(
                            "TypeError",
                            format!("can't repeat a value of type '{}'", other.type_name()),
                        )
                        .at(e.span));
                    }
                }
            }
            Expr::Concat(parts) => self.concat(parts, e)?,
        })
    }

    /// `a + b + c`: str + str is a str, int + int an int, bytes (or bytes
    /// and str) are bytes. The size is known before anything is copied:
    /// over [`MAX_DATA`] it is a MemoryError at the `+` that crosses it.
    fn concat(&self, parts: &[Spanned<Expr>], e: &Spanned<Expr>) -> Result<Value, ExecError> {
        let vals: Vec<Value> = parts
            .iter()
            .map(|p| self.eval(p).and_then(|v| materialize(v, p.span)))
            .collect::<Result<_, _>>()?;
        if vals.iter().all(|v| matches!(v, Value::Int(_))) {
            let mut sum: i64 = 0;
            for v in &vals {
                if let Value::Int(x) = v {
                    sum = sum.saturating_add(*x);
                }
            }
            return Ok(Value::Int(sum));
        }
        let all_str = vals.iter().all(|v| matches!(v, Value::Str(_)));
        let mut total = 0usize;
        for (k, (v, p)) in vals.iter().zip(parts).enumerate() {
            let len = match v {
                Value::Bytes(x) => x.len(),
                Value::Str(x) => x.len(),
                other => {
                    let msg = if all_str {
                        format!(
                            "can only concatenate str (not \"{}\") to str",
                            other.type_name()
                        )
                    } else {
                        format!("can't concat {} to bytes", other.type_name())
                    };
                    return Err(ExecError::new("TypeError", msg).at(p.span));
                }
            };
            total = total.saturating_add(len);
            if total > MAX_DATA {
                // Point at the part that crosses the limit, with what
                // came before it.
                let span = if k == 0 {
                    p.span
                } else {
                    parts[0].span.to(p.span)
                };
                let more = if k + 1 < parts.len() {
                    " (and more)"
                } else {
                    ""
                };
                return Err(too_large(&format!("{total} bytes{more} joined with + are"))
                    .at(span)
                    .hint("a value holds at most 256 MiB; for a load, send c zeros 1G"));
            }
        }
        let mut b = buffer(total).map_err(|x| x.at(e.span))?;
        for v in &vals {
            match v {
                Value::Bytes(x) => b.extend_from_slice(x),
                Value::Str(x) => b.extend_from_slice(x.as_bytes()),
                _ => {}
            }
        }
        Ok(if all_str {
            // Strings joined are UTF-8.
            Value::Str(String::from_utf8(b).unwrap_or_default().into())
        } else {
            // bytes + str: the str is taken as UTF-8 (Python would want
            // .encode(); the shell is lenient).
            Value::Bytes(b.into())
        })
    }

    fn lookup(&self, name: &str, e: &Spanned<Expr>) -> Result<Value, ExecError> {
        if let Some(v) = self.vars.get(name) {
            return Ok(v.clone());
        }
        Err(self.name_error(name, e.span))
    }

    /// A statement that is one bare word, neither a command nor a name
    /// bound (nor a typo of one): the learner meant a command (`clear`,
    /// `exti`), so it is called an unknown command, with the nearest
    /// command, rather than a NameError that says to quote it.
    pub(crate) fn unknown_command(
        &self,
        stmt: &crate::syntax::ast::Statement,
    ) -> Option<ExecError> {
        let crate::syntax::ast::Command::Value(Spanned {
            node: Expr::Var(word),
            span,
        }) = &stmt.command
        else {
            return None;
        };
        if !stmt.targets.is_empty()
            || self.vars.contains_key(word)
            || self.failed_names.contains_key(word)
            || spec::nearest(word, self.vars.keys().map(String::as_str)).is_some()
        {
            return None;
        }
        let words = spec::command_words().filter(|w| w.len() > 1);
        // Worded as the parser words `bnid s 1`.
        Some(match spec::nearest(word, words) {
            Some(c) => ExecError::usage(format!(
                "error: unknown command `{word}`: did you mean `{c}`?"
            ))
            .at(*span),
            None => ExecError::usage(format!(
                "error: unknown command `{word}` (type `help` for the list)"
            ))
            .at(*span)
            .hint("a name you bound shows its value when typed alone; `vars` lists them"),
        })
    }

    pub(crate) fn name_error(&self, name: &str, span: crate::syntax::ast::Span) -> ExecError {
        let mut err = ExecError::new("NameError", format!("name '{name}' is not defined")).at(span);
        if let Some(id) = self.failed_names.get(name) {
            return err.hint(format!("job [{id}] failed, so it did not bind `{name}`"));
        }
        // A word of the advice and usages, copied as it is (`sendmsg k DATA
        // framed`): it stands for something to write there.
        let stands_for = match name {
            "DATA" => Some("your bytes: b\"hello\", \"text\", or a name bound to bytes"),
            "SOCK" => Some("a socket: its name (s) or its fd"),
            "HOST" => Some("an address: 127.0.0.1, localhost"),
            "PORT" => Some("a port number: 9900"),
            "ADDR" => Some("an address: 127.0.0.1 9900, or a name bound to one"),
            _ => None,
        };
        if let Some(what) = stands_for {
            return err.hint(format!("{name} in the usage stands for {what}"));
        }
        let var = spec::nearest(name, self.vars.keys().map(String::as_str));
        let cmd = spec::nearest(name, spec::command_words());
        if let Some(v) = var {
            err = err.hint(format!("did you mean `{v}`?"));
        } else if let Some(c) = cmd {
            err = err.hint(format!("did you mean the command `{c}`?"));
        } else {
            err =
                err.hint("to use text, quote it: \"text\"; `vars` lists the names you have bound");
        }
        err
    }

    /// What a send sends: `zeros N` stays a count on a stream socket (made
    /// as it is sent); everything else is bytes.
    pub(crate) fn payload(&self, e: &Spanned<Expr>, kind: SockKind) -> Result<Payload, ExecError> {
        match self.eval(e)? {
            Value::Zeros(n) if kind == SockKind::Stream => Ok(Payload::Zeros(n)),
            v => self.data_of(v, e).map(Payload::Bytes),
        }
    }

    /// Bytes to send: bytes as they are (shared, not copied), text as
    /// UTF-8.
    pub(crate) fn data(&self, e: &Spanned<Expr>) -> Result<Bytes, ExecError> {
        let v = self.eval(e)?;
        self.data_of(v, e)
    }

    fn data_of(&self, v: Value, e: &Spanned<Expr>) -> Result<Bytes, ExecError> {
        match materialize(v, e.span)? {
            Value::Bytes(b) => Ok(b),
            Value::Str(s) => Ok(s.as_bytes().into()),
            other => Err(ExecError::new(
                "TypeError",
                format!(
                    "a bytes-like object is required, not '{}'",
                    other.type_name()
                ),
            )
            .at(e.span)),
        }
    }

    /// Bytes only, as Python's functions that take packed addresses want.
    pub(crate) fn bytes_only(&self, e: &Spanned<Expr>) -> Result<Bytes, ExecError> {
        match materialize(self.eval(e)?, e.span)? {
            Value::Bytes(b) => Ok(b),
            other => Err(ExecError::new(
                "TypeError",
                format!(
                    "a bytes-like object is required, not '{}'",
                    other.type_name()
                ),
            )
            .at(e.span)
            .hint("write packed bytes as b\"\\xc0\\xa8\\x01\\x02\" (what inet_aton returns)")),
        }
    }

    /// True when `e` is text (so the caller can say Python wants bytes).
    pub(crate) fn is_text(&self, e: &Spanned<Expr>) -> bool {
        matches!(self.eval(e), Ok(Value::Str(_)))
    }

    pub(crate) fn note_str_encoding(&mut self, e: &Spanned<Expr>, out: &mut dyn super::Sink) {
        if !self.told_str_encoding && self.is_text(e) {
            self.told_str_encoding = true;
            out.emit(super::Item::Note(
                "text is sent as its UTF-8 bytes; in Python write b\"...\" or \"...\".encode()"
                    .into(),
            ));
        }
    }

    pub(crate) fn int(&self, e: &Spanned<Expr>) -> Result<i64, ExecError> {
        match self.eval(e)? {
            Value::Int(n) => Ok(n),
            Value::Bool(b) => Ok(i64::from(b)),
            Value::Str(s) => s.trim().parse::<i64>().map_err(|_| {
                ExecError::new("ValueError", format!("invalid literal for int(): '{s}'")).at(e.span)
            }),
            other => Err(ExecError::new(
                "TypeError",
                format!("an integer is required, not '{}'", other.type_name()),
            )
            .at(e.span)),
        }
    }

    /// A number, or None.
    pub(crate) fn float_or_none(&self, e: &Spanned<Expr>) -> Result<Option<f64>, ExecError> {
        match self.eval(e)? {
            Value::None => Ok(None),
            Value::Int(n) => Ok(Some(n as f64)),
            Value::Float(f) => Ok(Some(f)),
            other => Err(ExecError::new(
                "TypeError",
                format!("a number or None is required, not '{}'", other.type_name()),
            )
            .at(e.span)),
        }
    }

    pub(crate) fn boolean(&self, e: &Spanned<Expr>) -> Result<bool, ExecError> {
        match self.eval(e)? {
            Value::Bool(b) => Ok(b),
            Value::Int(n) => Ok(n != 0),
            Value::None => Ok(false),
            other => Err(ExecError::new(
                "TypeError",
                format!("true or false is required, not '{}'", other.type_name()),
            )
            .at(e.span)),
        }
    }

    /// Literal text (host names, service names).
    pub(crate) fn text(&self, e: &Spanned<Expr>) -> Result<String, ExecError> {
        match self.eval(e)? {
            Value::Str(s) => Ok(s.to_string()),
            Value::Bytes(b) => String::from_utf8(b.to_vec()).map_err(|_| {
                ExecError::new("UnicodeDecodeError", "these bytes are not UTF-8 text").at(e.span)
            }),
            Value::Int(n) => Ok(n.to_string()),
            other => Err(ExecError::new(
                "TypeError",
                format!("str expected, not {}", other.type_name()),
            )
            .at(e.span)),
        }
    }

    /// The socket a command acts on: as [`Session::sock`], and it becomes
    /// the last socket used (what `.` means next).
    pub(crate) fn use_sock(&mut self, r: &Spanned<SockRef>) -> Result<SockHandle, ExecError> {
        let h = self.sock(r)?;
        self.table.last = Some(h);
        Ok(h)
    }

    /// Which socket a reference means (it must be open).
    pub(crate) fn sock(&self, r: &Spanned<SockRef>) -> Result<SockHandle, ExecError> {
        let h = match &r.node {
            SockRef::Last => self.table.last.ok_or_else(|| {
                ExecError::usage("`.` means the last socket used, and no socket has been used yet")
                    .at(r.span)
            })?,
            SockRef::Fd(fd) => match self.table.by_fd(*fd) {
                Some(e) => e.handle,
                None => {
                    let mut err = ExecError::os(libc::EBADF).at(r.span);
                    err.hint = Some(format!(
                        "fd {fd} is not a socket of this shell (`sockets` lists them)"
                    ));
                    return Err(err);
                }
            },
            SockRef::Name(name) => match self.vars.get(name) {
                Some(Value::Socket(h)) => *h,
                Some(other) => {
                    let mut err = ExecError::new(
                        "TypeError",
                        format!("'{name}' is {}, not a socket", crate::value::a_type(other)),
                    )
                    .at(r.span);
                    if matches!(other, Value::Epoll(_)) {
                        // `close ep`: Python's ep.close().
                        err.hint = Some(format!(
                            "an epoll has its own words: epoll {name} close (ep.close()), epoll {name} wait"
                        ));
                    }
                    return Err(err);
                }
                None if self.failed_names.contains_key(name) => {
                    return Err(self.name_error(name, r.span));
                }
                None => {
                    let socks = self
                        .vars
                        .iter()
                        .filter(|(_, v)| matches!(v, Value::Socket(_)))
                        .map(|(k, _)| k.as_str());
                    let mut err =
                        ExecError::new("NameError", format!("name '{name}' is not defined"))
                            .at(r.span);
                    err.hint = Some(match spec::nearest(name, socks) {
                        Some(s) => format!("did you mean `{s}`?"),
                        // A socket of a program run from the shell: its
                        // calls are the program's to make.
                        None => match self.programs.owner_of(name) {
                            Some(owner) => format!(
                                "{name} is a socket of {owner}, not of this shell: `sockets` shows it, the program's lines show its calls"
                            ),
                            None => {
                                "create one first: s = socket tcp (`sockets` lists them)".into()
                            }
                        },
                    });
                    return Err(err);
                }
            },
        };
        if self.table.get(h).is_none() {
            let mut err = ExecError::os(libc::EBADF).at(r.span);
            err.hint = Some(format!(
                "this socket (fd {}) was closed; create a new one with socket",
                h.fd
            ));
            return Err(err);
        }
        Ok(h)
    }

    pub(crate) fn entry(&self, r: &Spanned<SockRef>) -> Result<&Entry, ExecError> {
        let h = self.sock(r)?;
        self.table
            .get(h)
            .ok_or_else(|| ExecError::os(libc::EBADF).at(r.span))
    }

    /// An address for a socket of `family`.
    pub(crate) fn address(
        &self,
        a: &AddrExpr,
        family: Family,
        for_connect: bool,
    ) -> Result<SockAddr, ExecError> {
        match a {
            AddrExpr::HostPort { host, port } => {
                if family == Family::Unix {
                    return Err(ExecError::new(
                        "TypeError",
                        "an AF_UNIX address is a path (./app.sock) or @name, not host and port",
                    )
                    .at(a.span()));
                }
                let p = self.port(port)?;
                let ip = match host {
                    None => any_ip(family, for_connect),
                    Some(h) if h.node.is_empty() => any_ip(family, for_connect),
                    Some(h) => self.resolve(&h.node, family).map_err(|e| e.at(h.span))?,
                };
                Ok(SockAddr::from(SocketAddr::new(ip, p)))
            }
            AddrExpr::Path(p) => {
                if family != Family::Unix {
                    return Err(ExecError::new(
                        "TypeError",
                        format!(
                            "an {family} address is host and port (e.g. 127.0.0.1 9900), not a path"
                        ),
                    )
                    .at(p.span));
                }
                unix_addr(&p.node).map_err(|e| e.at(p.span))
            }
            AddrExpr::Abstract(n) => {
                if family != Family::Unix {
                    return Err(ExecError::new(
                        "TypeError",
                        "@name addresses are for AF_UNIX sockets",
                    )
                    .at(n.span));
                }
                let mut b = vec![0u8];
                b.extend_from_slice(n.node.as_bytes());
                unix_addr_bytes(&b).map_err(|e| e.at(n.span))
            }
            AddrExpr::Word(w) => self.word_address(w, family, for_connect),
            AddrExpr::Value(e) => {
                let v = self.eval(e)?;
                self.value_address(&v, "this value", e.span, family, for_connect)
            }
        }
    }

    fn word_address(
        &self,
        w: &Spanned<String>,
        family: Family,
        for_connect: bool,
    ) -> Result<SockAddr, ExecError> {
        if let Some(v) = self.vars.get(&w.node) {
            return self.value_address(v, &format!("`{}`", w.node), w.span, family, for_connect);
        }
        if let Some(id) = w.node.strip_prefix('%') {
            return self.program_address(id, family, w.span);
        }
        if family == Family::Unix {
            return unix_addr(&w.node).map_err(|e| e.at(w.span));
        }
        Err(ExecError::usage(format!(
            "`{}` is not an address: write host and port (127.0.0.1 9900), or name a variable holding an address or a bound socket",
            w.node
        ))
        .at(w.span))
    }

    /// The address a value means: an address, a bound socket, a
    /// `(host, port)` tuple, or (for AF_UNIX) a path. `what` names the
    /// value in errors.
    fn value_address(
        &self,
        v: &Value,
        what: &str,
        span: crate::syntax::ast::Span,
        family: Family,
        for_connect: bool,
    ) -> Result<SockAddr, ExecError> {
        match v {
            Value::Addr(a) => return Ok(a.clone()),
            Value::Socket(h) => {
                let Some(e) = self.table.get(*h) else {
                    return Err(ExecError::os(libc::EBADF)
                        .at(span)
                        .hint(format!("{what} is closed")));
                };
                let local = e
                    .sock
                    .local_addr()
                    .map_err(|er| ExecError::from(er).at(span))?;
                if !crate::table::is_bound(&local) {
                    return Err(ExecError::usage(format!(
                        "{what} has no address yet: bind it (or listen) first"
                    ))
                    .at(span));
                }
                // A server bound to 0.0.0.0 is reached at 127.0.0.1; one
                // on a lab host, at that host's address (the other hosts'
                // 127.0.0.1 is their own, and this machine's is not the
                // lab's).
                let host_ip = e.host.as_deref().and_then(|n| self.lab_host_ip(n));
                return Ok(match local.as_socket() {
                    Some(SocketAddr::V4(v4)) if v4.ip().is_unspecified() && for_connect => {
                        let ip = host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
                        SockAddr::from(SocketAddr::new(ip, v4.port()))
                    }
                    Some(SocketAddr::V6(v6)) if v6.ip().is_unspecified() && for_connect => {
                        SockAddr::from(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), v6.port()))
                    }
                    _ => local,
                });
            }
            Value::Str(s) if family == Family::Unix => {
                return unix_addr(s).map_err(|e| e.at(span));
            }
            Value::Bytes(b) if family == Family::Unix => {
                return unix_addr_bytes(b).map_err(|e| e.at(span));
            }
            Value::Tuple(items) if items.len() >= 2 => {
                if let (Value::Str(h), Value::Int(p)) = (&items[0], &items[1]) {
                    let port = u16::try_from(*p).map_err(|_| port_range().at(span))?;
                    let ip = if h.is_empty() {
                        any_ip(family, for_connect)
                    } else {
                        self.resolve(h, family).map_err(|e| e.at(span))?
                    };
                    return Ok(SockAddr::from(SocketAddr::new(ip, port)));
                }
            }
            other => {
                return Err(ExecError::new(
                    "TypeError",
                    format!("{what} is {}, not an address", crate::value::a_type(other)),
                )
                .at(span));
            }
        }
        Err(ExecError::new(
            "TypeError",
            format!("{what} is {}, not an address", crate::value::a_type(v)),
        )
        .at(span))
    }

    /// A host name or address: a lab host's name first (while a lab is
    /// up), then the system's resolver.
    fn resolve(&self, host: &str, family: Family) -> Result<IpAddr, ExecError> {
        if let Some(ip) = self.lab_host_ip(host) {
            if family == Family::Inet6 {
                return Err(ExecError::os(libc::EAFNOSUPPORT).hint(format!(
                    "the lab speaks IPv4: {host} is {ip}; use an inet socket (socket tcp)"
                )));
            }
            return Ok(ip);
        }
        resolve_host(host, family)
    }

    fn port(&self, e: &Spanned<Expr>) -> Result<u16, ExecError> {
        if let Expr::Word(name) = &e.node {
            return super::names::service_port(name, None).ok_or_else(|| {
                ExecError::new("OSError", format!("service/proto not found: '{name}'")).at(e.span)
            });
        }
        if let Expr::Var(name) = &e.node
            && let Some(Value::Addr(a)) = self.vars.get(name)
            && let Some(sa) = a.as_socket()
        {
            // `sendto u data 224.1.1.1 p` with p an address: its port.
            return Ok(sa.port());
        }
        let n = self.int(e)?;
        u16::try_from(n).map_err(|_| port_range().at(e.span))
    }
}

fn port_range() -> ExecError {
    ExecError::new("OverflowError", "port must be 0-65535.")
}

fn any_ip(family: Family, for_connect: bool) -> IpAddr {
    // Python's '' means INADDR_ANY for bind; for connect Linux takes the
    // unspecified address as this host, so loopback says the same clearly.
    match (family, for_connect) {
        (Family::Inet6, false) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        (Family::Inet6, true) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        (_, false) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (_, true) => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

/// A host name or numeric address, for a socket of `family`.
pub fn resolve_host(host: &str, family: Family) -> Result<IpAddr, ExecError> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host == "<broadcast>" {
        return Ok(IpAddr::V4(Ipv4Addr::BROADCAST));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return match (ip, family) {
            (IpAddr::V4(_), Family::Inet) | (IpAddr::V6(_), Family::Inet6) => Ok(ip),
            (IpAddr::V4(v4), Family::Inet6) => Err(ExecError::os(libc::EAFNOSUPPORT).hint(format!(
                "{v4} is an IPv4 address and this is an AF_INET6 socket: use ::ffff:{v4} or an inet socket"
            ))),
            _ => Err(ExecError::new("socket.gaierror", "[Errno -9] Address family for hostname not supported")
                .hint("this IPv6 address needs an AF_INET6 socket (socket tcp6)")),
        };
    }
    let fam = match family {
        Family::Inet6 => libc::AF_INET6,
        _ => libc::AF_INET,
    };
    let addrs = super::names::lookup(host, None, fam, 0)?;
    addrs
        .into_iter()
        .map(|a| a.addr.ip())
        .next()
        .ok_or_else(|| ExecError::new("socket.gaierror", "[Errno -2] Name or service not known"))
}

fn unix_addr(path: &str) -> Result<SockAddr, ExecError> {
    if let Some(name) = path.strip_prefix('@') {
        let mut b = vec![0u8];
        b.extend_from_slice(name.as_bytes());
        return unix_addr_bytes(&b);
    }
    unix_addr_bytes(path.as_bytes())
}

fn unix_addr_bytes(b: &[u8]) -> Result<SockAddr, ExecError> {
    use std::os::unix::ffi::OsStrExt;
    SockAddr::unix(std::ffi::OsStr::from_bytes(b)).map_err(|_| {
        ExecError::new("OSError", "AF_UNIX path too long")
            .hint("a UNIX socket path has at most 107 bytes")
    })
}

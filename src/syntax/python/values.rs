//! A call's arguments as the shell's values: the socket a name means,
//! addresses (`('127.0.0.1', 9000)`, abstract names), values, socket
//! constants (`AF_INET`, `SOCK_STREAM`, `SHUT_WR`) and flag words. Apart
//! from the call translation because every call shares them.

use super::{Kind, Node};
use crate::spec;
use crate::syntax::ast::*;
use crate::syntax::error::{ErrorKind, ParseError};
use crate::syntax::parser::{Parser_, family_of, kind_of};
use crate::syntax::pyprogram::WHOLE_PROGRAM;

impl<'a> Parser_<'a> {
    /// A required argument py_params has already checked.
    pub(super) fn need<'n>(
        &self,
        n: Option<&'n Node>,
        close: Span,
    ) -> Result<&'n Node, ParseError> {
        n.ok_or_else(|| self.expected_at(close, "an argument"))
    }

    pub(super) fn expected_at(&self, span: Span, what: &str) -> ParseError {
        ParseError::new(
            span,
            ErrorKind::Expected {
                expected: what.to_string(),
                found: "`)`".into(),
                suggestion: None,
            },
        )
    }

    /// A socket: a name, or a descriptor number.
    pub(super) fn py_sock(&self, n: &Node) -> Result<Spanned<SockRef>, ParseError> {
        match &n.kind {
            Kind::Name(name) => Ok(Spanned::new(SockRef::Name(name.clone()), n.span)),
            Kind::Lit(Expr::Int(fd)) => match i32::try_from(*fd) {
                Ok(fd) => Ok(Spanned::new(SockRef::Fd(fd), n.span)),
                Err(_) => {
                    Err(self.py_error(n.span, "no such descriptor".into(), "`sockets` lists them"))
                }
            },
            _ => Err(self.py_error(
                n.span,
                "a socket here is a name".into(),
                "bind the socket to a name first: conn, addr = sk.accept()",
            )),
        }
    }

    /// An address: `(host, port)`, a UNIX path, or a name holding one.
    pub(super) fn py_addr(&self, n: &Node) -> Result<AddrExpr, ParseError> {
        match &n.kind {
            Kind::Tuple(items) if (2..=4).contains(&items.len()) => {
                if let Kind::Lit(Expr::Str(h)) = &items[0].kind {
                    let host = (!h.is_empty()).then(|| Spanned::new(h.clone(), items[0].span));
                    return Ok(AddrExpr::HostPort {
                        host,
                        port: self.py_value(&items[1])?,
                    });
                }
                Ok(AddrExpr::Value(self.py_value(n)?))
            }
            Kind::Tuple(_) => Err(self.py_error(
                n.span,
                "an address is a (host, port) tuple".into(),
                "write ('127.0.0.1', 9000)",
            )),
            Kind::Lit(Expr::Str(s)) => match s_strip_nul(s) {
                Some(name) => Ok(AddrExpr::Abstract(Spanned::new(name.to_string(), n.span))),
                None => Ok(AddrExpr::Path(Spanned::new(s.clone(), n.span))),
            },
            // A name is a variable, as in Python (never a file name).
            Kind::Name(_) => Ok(AddrExpr::Value(self.py_value(n)?)),
            // `u.getsockname()`: the address socket u is bound to, which
            // is what the shell's `sendto v data u` means.
            Kind::Call(..) if let Some((w, span)) = getsockname_of(n) => {
                Ok(AddrExpr::Word(Spanned::new(w.to_string(), span)))
            }
            _ => Ok(AddrExpr::Value(self.py_value(n)?)),
        }
    }

    /// A value: literals, names, tuples, `+`, `*`, `.encode()`, `.decode()`.
    pub(super) fn py_value(&self, n: &Node) -> Result<Spanned<Expr>, ParseError> {
        let e = match &n.kind {
            Kind::Lit(e) => e.clone(),
            Kind::Name(w) => Expr::Var(w.clone()),
            Kind::Tuple(items) => Expr::Tuple(
                items
                    .iter()
                    .map(|x| self.py_value(x))
                    .collect::<Result<_, _>>()?,
            ),
            Kind::Add(parts) => Expr::Concat(
                parts
                    .iter()
                    .map(|x| self.py_value(x))
                    .collect::<Result<_, _>>()?,
            ),
            Kind::Mul(a, b) => {
                Expr::Repeat(Box::new(self.py_value(a)?), Box::new(self.py_value(b)?))
            }
            Kind::Call(func, args, close) => match &func.kind {
                Kind::Attr(base, m) if m.node == "encode" || m.node == "decode" => {
                    self.py_codec(n, args, *close)?;
                    let inner = Box::new(self.py_value(base)?);
                    if m.node == "encode" {
                        Expr::Encode(inner)
                    } else {
                        Expr::Decode(inner)
                    }
                }
                _ => {
                    return Err(self.py_error(
                        n.span,
                        "a call inside a value is not taken here".into(),
                        "name its result first, on a line of its own: data = conn.recv(1024)",
                    ));
                }
            },
            Kind::Attr(base, a) => match (&base.kind, a.node.as_str()) {
                (Kind::Name(m), c) if m == "socket" => Expr::Word(c.to_string()),
                _ => {
                    return Err(self.py_error(
                        n.span,
                        "an attribute is not a value here".into(),
                        "name the value itself",
                    ));
                }
            },
            Kind::Or(_) => {
                return Err(self.py_error(
                    n.span,
                    "`|` joins flags only here".into(),
                    "write it where a call takes flags: conn.recv(1024, socket.MSG_PEEK | socket.MSG_WAITALL)",
                ));
            }
            Kind::List(_) => {
                return Err(self.py_error(
                    n.span,
                    "`[...]` makes a list, which a program keeps its state in (here lists go to select.select([sk], [], []))".into(),
                    WHOLE_PROGRAM,
                ));
            }
        };
        Ok(Spanned::new(e, n.span))
    }

    pub(super) fn py_opt_value(
        &self,
        n: Option<&Node>,
    ) -> Result<Option<Spanned<Expr>>, ParseError> {
        n.map(|n| self.py_value(n)).transpose()
    }

    /// A constant: `socket.SO_REUSEADDR` or `SO_REUSEADDR`.
    pub(super) fn py_const(&self, n: &Node, what: &str) -> Result<Spanned<String>, ParseError> {
        match &n.kind {
            Kind::Name(c) => Ok(Spanned::new(c.clone(), n.span)),
            Kind::Attr(base, c) if matches!(&base.kind, Kind::Name(m) if m == "socket") => {
                Ok(Spanned::new(c.node.clone(), c.span))
            }
            Kind::Lit(Expr::Int(_)) => Err(self.py_error(
                n.span,
                format!("expected {what}, by its name"),
                "write the constant's name, as the course does (socket.SOL_SOCKET): sockplay shows names, not numbers",
            )),
            _ => Err(self.py_error(
                n.span,
                format!("expected {what}"),
                "write the constant's name",
            )),
        }
    }

    pub(super) fn py_family(&self, n: &Node) -> Result<Family, ParseError> {
        let c = self.py_const(n, "a family such as socket.AF_INET")?;
        family_of(&c.node).ok_or_else(|| {
            ParseError::new(
                c.span,
                ErrorKind::Expected {
                    expected: "AF_INET, AF_INET6 or AF_UNIX".into(),
                    found: format!("`{}`", c.node),
                    suggestion: spec::nearest(&c.node, ["AF_INET", "AF_INET6", "AF_UNIX"])
                        .map(str::to_string),
                },
            )
        })
    }

    pub(super) fn py_kind(&self, n: &Node) -> Result<SockKind, ParseError> {
        let c = self.py_const(n, "a type such as socket.SOCK_STREAM")?;
        kind_of(&c.node).ok_or_else(|| {
            ParseError::new(
                c.span,
                ErrorKind::Expected {
                    expected: "SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET or SOCK_RAW".into(),
                    found: format!("`{}`", c.node),
                    suggestion: spec::nearest(
                        &c.node,
                        ["SOCK_STREAM", "SOCK_DGRAM", "SOCK_SEQPACKET", "SOCK_RAW"],
                    )
                    .map(str::to_string),
                },
            )
        })
    }

    pub(super) fn py_how(&self, n: &Node) -> Result<How, ParseError> {
        let c = match &n.kind {
            Kind::Lit(Expr::Int(v)) => Spanned::new(v.to_string(), n.span),
            _ => self.py_const(n, "socket.SHUT_RD, SHUT_WR or SHUT_RDWR")?,
        };
        match c.node.to_ascii_uppercase().as_str() {
            "SHUT_RD" | "0" => Ok(How::Read),
            "SHUT_WR" | "1" => Ok(How::Write),
            "SHUT_RDWR" | "2" => Ok(How::Both),
            _ => Err(ParseError::new(
                c.span,
                ErrorKind::Expected {
                    expected: "SHUT_RD, SHUT_WR or SHUT_RDWR".into(),
                    found: format!("`{}`", c.node),
                    suggestion: None,
                },
            )),
        }
    }

    /// Flags: `socket.MSG_PEEK | socket.MSG_WAITALL`, or 0.
    fn py_flag_names(&self, n: Option<&Node>) -> Result<Vec<Spanned<String>>, ParseError> {
        let Some(n) = n else { return Ok(Vec::new()) };
        if matches!(n.kind, Kind::Lit(Expr::Int(0))) {
            return Ok(Vec::new());
        }
        let parts = match &n.kind {
            Kind::Or(parts) => parts.iter().collect(),
            _ => vec![n],
        };
        parts
            .into_iter()
            .map(|p| self.py_const(p, "a flag such as socket.MSG_PEEK"))
            .collect()
    }

    pub(super) fn py_send_flags(&self, n: Option<&Node>) -> Result<Vec<SendFlag>, ParseError> {
        self.py_flags(
            n,
            &[
                ("MSG_OOB", SendFlag::Oob),
                ("MSG_DONTWAIT", SendFlag::DontWait),
                ("MSG_NOSIGNAL", SendFlag::NoSignal),
                ("MSG_MORE", SendFlag::More),
            ],
        )
    }

    pub(super) fn py_recv_flags(&self, n: Option<&Node>) -> Result<Vec<RecvFlag>, ParseError> {
        self.py_flags(
            n,
            &[
                ("MSG_PEEK", RecvFlag::Peek),
                ("MSG_WAITALL", RecvFlag::WaitAll),
                ("MSG_OOB", RecvFlag::Oob),
                ("MSG_DONTWAIT", RecvFlag::DontWait),
            ],
        )
    }

    /// The flags named, each looked up in `known`.
    fn py_flags<T: Copy>(
        &self,
        n: Option<&Node>,
        known: &[(&'static str, T)],
    ) -> Result<Vec<T>, ParseError> {
        let mut out = Vec::new();
        for f in self.py_flag_names(n)? {
            match known.iter().find(|(name, _)| *name == f.node) {
                Some((_, flag)) => out.push(*flag),
                None => {
                    let names: Vec<&'static str> = known.iter().map(|(name, _)| *name).collect();
                    return Err(self.flag_error(&f, &names));
                }
            }
        }
        Ok(out)
    }

    fn flag_error(&self, f: &Spanned<String>, known: &[&'static str]) -> ParseError {
        ParseError::new(
            f.span,
            ErrorKind::Expected {
                expected: format!("one of {}", known.join(", ")),
                found: format!("`{}`", f.node),
                suggestion: spec::nearest(&f.node, known.iter().copied()).map(str::to_string),
            },
        )
    }
}

/// `"\0name"`: a Linux abstract address, as Python writes one.
fn s_strip_nul(s: &str) -> Option<&str> {
    s.strip_prefix('\0')
}

/// `u.getsockname()`: the name `u` and its span.
fn getsockname_of(n: &Node) -> Option<(&str, Span)> {
    let Kind::Call(func, args, _) = &n.kind else {
        return None;
    };
    let Kind::Attr(base, m) = &func.kind else {
        return None;
    };
    match &base.kind {
        Kind::Name(w) if args.is_empty() && m.node == "getsockname" => Some((w, base.span)),
        _ => None,
    }
}

//! The Python expression grammar: a line's expression read into a tree of
//! [`Node`]s (names, literals, tuples and lists, calls, attributes,
//! indexing, `+`, `*`, `or`), with its spans. Apart from the translation
//! because it knows nothing of sockets: it only reads Python.

use super::{Kind, MAX_TRAILERS, Node, PyArg, PyResult};
use crate::syntax::ast::*;
use crate::syntax::error::ParseError;
use crate::syntax::lex::{self, Lit, Num};
use crate::syntax::parser::{Parser_, skip_blanks};
use crate::syntax::pyprogram::WHOLE_PROGRAM;

impl<'a> Parser_<'a> {
    /// `expr := sum ('|' sum)*`, `sum := term ('+' term)*`
    pub(super) fn py_expr(&self, i: &'a str) -> Result<(&'a str, Node), ParseError> {
        self.depth.set(self.depth.get() + 1);
        let result = if self.depth.get() > crate::syntax::parser::MAX_DEPTH {
            Err(self.expected(i, "less nesting", None))
        } else {
            self.py_or(i)
        };
        self.depth.set(self.depth.get() - 1);
        result
    }

    fn py_or(&self, i: &'a str) -> Result<(&'a str, Node), ParseError> {
        self.py_joined(i, '|', Self::py_sum, Kind::Or)
    }

    fn py_sum(&self, i: &'a str) -> Result<(&'a str, Node), ParseError> {
        self.py_joined(i, '+', Self::py_term, Kind::Add)
    }

    /// `part (op part)*`: one part is itself, more are `join`ed.
    fn py_joined(
        &self,
        i: &'a str,
        op: char,
        part: fn(&Self, &'a str) -> PyResult<'a>,
        join: fn(Vec<Node>) -> Kind,
    ) -> Result<(&'a str, Node), ParseError> {
        let (mut r, first) = part(self, i)?;
        let mut parts = vec![first];
        while let Some(after) = skip_blanks(r).strip_prefix(op) {
            let (r2, next) = part(self, skip_blanks(after))?;
            parts.push(next);
            r = r2;
        }
        if parts.len() == 1 {
            return Ok((r, parts.remove(0)));
        }
        let span = parts[0].span.to(parts[parts.len() - 1].span);
        Ok((
            r,
            Node {
                kind: join(parts),
                span,
            },
        ))
    }

    /// `term := postfix ('*' postfix)?`; `%` is refused with a way out.
    fn py_term(&self, i: &'a str) -> Result<(&'a str, Node), ParseError> {
        let (r, a) = self.py_postfix(i)?;
        let t = skip_blanks(r);
        if let Some(after) = t.strip_prefix('*') {
            let (r2, b) = self.py_postfix(skip_blanks(after))?;
            let span = a.span.to(b.span);
            return Ok((
                r2,
                Node {
                    kind: Kind::Mul(Box::new(a), Box::new(b)),
                    span,
                },
            ));
        }
        if t.starts_with('%') {
            return Err(self.py_error(
                self.span_len(t, 1),
                "sockplay does not do Python's `%` formatting".into(),
                "join the pieces with +: b'Hello, ' + data + b'!'",
            ));
        }
        Ok((r, a))
    }

    /// `postfix := atom ('.' name | '(' args ')')*`
    fn py_postfix(&self, i: &'a str) -> Result<(&'a str, Node), ParseError> {
        let (mut r, mut node) = self.py_atom(i)?;
        // Each `.name` or `(...)` nests the node one deeper, and the tree
        // is walked (and dropped) recursively: a line of 20 000 `.b` would
        // overflow the stack without a bound.
        let mut trailers = 0;
        loop {
            if r.starts_with(['.', '(']) {
                trailers += 1;
                if trailers > MAX_TRAILERS {
                    return Err(self.py_error(
                        self.span_len(r, 1),
                        format!("more than {MAX_TRAILERS} `.name` and calls in a row"),
                        "one call a line: name a result, then use the name",
                    ));
                }
            }
            if let Some(after) = r.strip_prefix('.') {
                let Ok((r2, name)) = lex::ident(after) else {
                    return Err(self.expected(after, "a name after `.`", None));
                };
                let name = Spanned::new(name.to_string(), self.span(after, r2));
                let span = node.span.to(name.span);
                node = Node {
                    kind: Kind::Attr(Box::new(node), name),
                    span,
                };
                r = r2;
            } else if let Some(after) = r.strip_prefix('(') {
                let (r2, args) = self.py_args(after)?;
                let close = self.span_len(r2, 1);
                let r2 = &r2[1..];
                let span = node.span.to(close);
                node = Node {
                    kind: Kind::Call(Box::new(node), args, close),
                    span,
                };
                r = r2;
            } else if r.starts_with('[') {
                return Err(self.py_error(
                    self.span_len(r, 1),
                    "`[...]` indexes or slices a value, which a program does with what it received"
                        .into(),
                    WHOLE_PROGRAM,
                ));
            } else {
                return Ok((r, node));
            }
        }
    }

    /// The arguments of a call up to (not past) its `)`.
    fn py_args(&self, i: &'a str) -> Result<(&'a str, Vec<PyArg>), ParseError> {
        let mut args = Vec::new();
        let mut r = skip_blanks(i);
        loop {
            if r.starts_with(')') {
                return Ok((r, args));
            }
            // `key=value` (not `==`).
            let mut key = None;
            if let Ok((after, k)) = lex::ident(r) {
                let a = skip_blanks(after);
                if a.starts_with('=') && !a.starts_with("==") {
                    key = Some(Spanned::new(k.to_string(), self.span(r, after)));
                    r = skip_blanks(&a[1..]);
                }
            }
            let (r2, value) = self.py_expr(r)?;
            args.push(PyArg { key, value });
            r = skip_blanks(r2);
            if let Some(r3) = r.strip_prefix(',') {
                r = skip_blanks(r3);
            } else if !r.starts_with(')') {
                return Err(self.expected(r, "`,` or `)`", None));
            }
        }
    }

    /// A literal, a name, `( ... )` or `[ ... ]`.
    fn py_atom(&self, i: &'a str) -> Result<(&'a str, Node), ParseError> {
        let i = skip_blanks(i);
        if let Some(after) = i.strip_prefix('(').or_else(|| i.strip_prefix('[')) {
            let list = i.starts_with('[');
            let close = if list { ']' } else { ')' };
            let mut items = Vec::new();
            let mut comma = false;
            let mut r = skip_blanks(after);
            loop {
                if let Some(r2) = r.strip_prefix(close) {
                    let span = self.span(i, r2);
                    let kind = if list {
                        Kind::List(items)
                    } else if items.len() == 1 && !comma {
                        // `(x)` is x.
                        return Ok((
                            r2,
                            Node {
                                span,
                                ..items.remove(0)
                            },
                        ));
                    } else {
                        Kind::Tuple(items)
                    };
                    return Ok((r2, Node { kind, span }));
                }
                let (r2, item) = self.py_expr(r)?;
                items.push(item);
                r = skip_blanks(r2);
                if let Some(r3) = r.strip_prefix(',') {
                    comma = true;
                    r = skip_blanks(r3);
                } else if !r.starts_with(close) {
                    return Err(self.expected(r, &format!("`,` or `{close}`"), None));
                }
            }
        }
        if i.starts_with('{') {
            return Err(self.py_error(
                self.span_len(i, 1),
                "`{...}` makes a dict or a set, which a program keeps its state in".into(),
                WHOLE_PROGRAM,
            ));
        }
        if i.starts_with(['f', 'F']) && i[1..].starts_with(['"', '\'']) {
            return Err(self.py_error(
                self.span_len(i, 1),
                "sockplay does not evaluate f-strings".into(),
                "join the pieces with +: 'Hello, ' + name",
            ));
        }
        if let Ok((r, lit)) = lex::string_lit(i) {
            let e = match lit {
                Lit::Str(s) => Expr::Str(s),
                Lit::Bytes(b) => Expr::Bytes(b),
            };
            return Ok((
                r,
                Node {
                    kind: Kind::Lit(e),
                    span: self.span(i, r),
                },
            ));
        }
        if let Err(e @ nom::Err::Failure(_)) = lex::string_lit(i) {
            return Err(self.lex_error(e, i, "a string"));
        }
        if i.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            return match lex::number(i) {
                Ok((r, n)) => Ok((
                    r,
                    Node {
                        kind: Kind::Lit(match n {
                            Num::Int(v) => Expr::Int(v),
                            Num::Float(v) => Expr::Float(v),
                        }),
                        span: self.span(i, r),
                    },
                )),
                Err(e) => Err(self.lex_error(e, i, "a number")),
            };
        }
        if let Ok((r, name)) = lex::ident(i) {
            let kind = match name {
                "True" => Kind::Lit(Expr::Bool(true)),
                "False" => Kind::Lit(Expr::Bool(false)),
                "None" => Kind::Lit(Expr::None),
                _ => Kind::Name(name.to_string()),
            };
            return Ok((
                r,
                Node {
                    kind,
                    span: self.span(i, r),
                },
            ));
        }
        Err(self.expected(
            i,
            "a Python value: 'text', b'bytes', a number, a name or a tuple",
            None,
        ))
    }

    // ---- statements -------------------------------------------------
}

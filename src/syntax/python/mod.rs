//! The second surface: the course's own Python lines, typed or pasted into
//! the shell (`sk.bind(('127.0.0.1', 9000))`, `conn, addr = sk.accept()`,
//! `msg = conn.recv(1024).decode('utf-8')`).
//!
//! Each line becomes the same [`Statement`] the shell's words give
//! (`bind sk 127.0.0.1 9000`, ...), so it runs, prints and fails exactly as
//! they do; nothing here executes anything. What is understood is what a
//! socket program's lines are made of: calls on a socket, the functions of
//! the `socket`, `select` and `time` modules, `print`, literals, tuples,
//! lists and names, `+`, `*`, `.encode()` and `.decode()`. The rest of
//! Python (`%` formatting, `input()`, loops, threads) gets an error that
//! says what to write instead, pointing at the token.
//!
//! Here the tree's types and the statement forms (assignments, `import`,
//! the `os.unlink` idiom); `expr.rs` reads expressions into the tree,
//! `translate.rs` turns calls into commands, `values.rs` their arguments
//! into the shell's values. Whether a line is Python at all is decided in
//! `pyprogram.rs`, which the parser asks, so parser and surface do not
//! import each other.

mod expr;
mod translate;
mod values;

use super::ast::*;
use super::error::{ErrorKind, ParseError};
use super::lex;
use super::parser::{Parser_, skip_blanks};
use super::pyprogram::{BLOCKS, FUNCTIONS, WHOLE_PROGRAM, opens_block, program_construct};

/// What a Python expression parser returns: the rest, and the node.
type PyResult<'a> = Result<(&'a str, Node), ParseError>;

/// A Python expression, as written.
#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    span: Span,
}

#[derive(Debug, Clone)]
enum Kind {
    /// A literal: str, bytes, int, float, True, False, None.
    Lit(Expr),
    Name(String),
    /// `base.name`
    Attr(Box<Node>, Spanned<String>),
    /// `func(args)`; the span of the closing parenthesis last.
    Call(Box<Node>, Vec<PyArg>, Span),
    Tuple(Vec<Node>),
    List(Vec<Node>),
    /// `a + b + c`
    Add(Vec<Node>),
    /// `a * b`
    Mul(Box<Node>, Box<Node>),
    /// `a | b | c`: flags joined (`socket.MSG_PEEK | socket.MSG_WAITALL`).
    Or(Vec<Node>),
}

#[derive(Debug, Clone)]
struct PyArg {
    key: Option<Spanned<String>>,
    value: Node,
}

/// `.name` and `(...)` after one value, at most (`conn.recv(1024).decode()`
/// has three).
const MAX_TRAILERS: usize = 16;

/// The socket methods understood, for "did you mean".
const METHODS: &[&str] = &[
    "bind",
    "listen",
    "accept",
    "connect",
    "send",
    "sendall",
    "sendto",
    "recv",
    "recvfrom",
    "close",
    "shutdown",
    "setsockopt",
    "getsockopt",
    "getsockname",
    "getpeername",
    "fileno",
    "settimeout",
    "gettimeout",
    "setblocking",
];

/// Methods a course program calls that are no socket call of a line:
/// files over a socket, socketserver, json, threads, selectors.
const PROGRAM_METHODS: &[&str] = &[
    "makefile",
    "serve_forever",
    "handle_request",
    "server_close",
    "dumps",
    "loads",
    "start",
    "join",
    "register",
    "unregister",
    "modify",
];

/// What may follow `NAME.` in a Python line, for Tab: the functions of
/// the modules sockplay knows, or a socket's methods.
pub fn attributes(name: &str) -> &'static [&'static str] {
    match name {
        "socket" => FUNCTIONS,
        "select" => &["select"],
        "time" => &["sleep"],
        "os" => &["unlink", "remove"],
        "sys" => &["exit"],
        _ => METHODS,
    }
}

impl<'a> Parser_<'a> {
    /// One Python statement after its targets; `start` is where the
    /// statement began (its targets included).
    pub(super) fn python_statement(
        &self,
        start: &'a str,
        targets: Vec<Spanned<String>>,
        i: &'a str,
    ) -> Result<(&'a str, Statement), ParseError> {
        let cmd_start = i;
        let (r, command) = if let Some(x) = self.py_import(i)? {
            x
        } else if let Some(x) = self.py_unlink_idiom(i)? {
            x
        } else {
            if let Ok((after, w)) = lex::ident(i)
                && BLOCKS.contains(&w)
                && opens_block(after)
            {
                return Err(self.py_error(
                    self.span(i, after),
                    format!("`{w}` opens a block of Python; sockplay runs one call a line"),
                    "a whole program runs as it is with `run python3 FILE.py` (sockplay shows its socket calls); or type the block's calls here one by one (a macro repeats them: see `help macdef`)",
                ));
            }
            if let Some((at, len, what)) = program_construct(i) {
                return Err(self.py_error(self.span_len(&i[at..], len), what, WHOLE_PROGRAM));
            }
            let (r, node) = self.py_expr(i)?;
            (r, self.py_command(node)?)
        };
        if let [one] = targets.as_slice()
            && let Some(pair) = match command {
                Command::Accept { .. } => Some("conn, addr"),
                Command::RecvFrom { .. } => Some("data, addr"),
                Command::Select { .. } => Some("r, w, x"),
                _ => None,
            }
        {
            return Err(self.py_error(
                one.span,
                format!("this call returns a tuple ({pair}); sockplay binds its parts by name"),
                &format!("write {pair} = ... as the course does"),
            ));
        }
        if matches!(command, Command::Import { .. }) && !targets.is_empty() {
            return Err(self.py_error(
                targets[0].span,
                "an import binds no name here".into(),
                "write `import socket` alone",
            ));
        }
        self.end_statement(start, targets, command, cmd_start, r, None)
    }

    /// An error about Python that sockplay does not take, with what to
    /// write instead.
    fn py_error(&self, span: Span, what: String, instead: &str) -> ParseError {
        ParseError::new(
            span,
            ErrorKind::Python {
                what,
                instead: instead.to_string(),
            },
        )
    }

    /// The course's `if os.path.exists(path): os.unlink(path)` is sockplay's
    /// `unlink path` (which only removes a socket file, and is no error when
    /// there is none).
    fn py_unlink_idiom(&self, i: &'a str) -> Result<Option<(&'a str, Command)>, ParseError> {
        let Ok((after, "if")) = lex::ident(i) else {
            return Ok(None);
        };
        let Ok((r, cond)) = self.py_expr(skip_blanks(after)) else {
            return Ok(None);
        };
        let Some(r) = skip_blanks(r).strip_prefix(':') else {
            return Ok(None);
        };
        let Ok((r, body)) = self.py_expr(skip_blanks(r)) else {
            return Ok(None);
        };
        let arg_of = |n: &Node, names: &[&[&str]]| -> Option<Node> {
            let Kind::Call(f, args, _) = &n.kind else {
                return None;
            };
            let path = node_path(f)?;
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            match args.as_slice() {
                [a] if a.key.is_none() && names.contains(&path.as_slice()) => Some(a.value.clone()),
                _ => None,
            }
        };
        let (Some(p1), Some(p2)) = (
            arg_of(&cond, &[&["os", "path", "exists"]]),
            arg_of(&body, &[&["os", "unlink"], &["os", "remove"]]),
        ) else {
            return Ok(None);
        };
        let text = |n: &Node| &self.base_text()[n.span.start..n.span.end];
        if text(&p1) != text(&p2) {
            return Err(self.py_error(
                p2.span,
                "this removes another file than the one it checked".into(),
                "the course's idiom checks and removes the same path: if os.path.exists(p): os.unlink(p)",
            ));
        }
        Ok(Some((
            r,
            Command::Unlink {
                path: self.py_value(&p2)?,
            },
        )))
    }

    /// `import a, b` or `from a import ...`.
    fn py_import(&self, i: &'a str) -> Result<Option<(&'a str, Command)>, ParseError> {
        let Ok((after, first)) = lex::ident(i) else {
            return Ok(None);
        };
        let mut modules = Vec::new();
        let mut r = skip_blanks(after);
        match first {
            "import" => loop {
                let (r2, m) = self.py_module(r)?;
                modules.push(m);
                r = skip_blanks(r2);
                match r.strip_prefix(',') {
                    Some(r3) => r = skip_blanks(r3),
                    None => break,
                }
            },
            "from" => {
                let (r2, m) = self.py_module(r)?;
                modules.push(m);
                r = skip_blanks(r2);
                let Some(r3) = r.strip_prefix("import") else {
                    return Err(self.expected(r, "`import` after the module's name", None));
                };
                // What is imported does not matter: every name of the
                // module is known without its prefix anyway.
                let end = r3.find([';', '\n', '#', '&']).unwrap_or(r3.len());
                r = &r3[end..];
            }
            _ => return Ok(None),
        }
        Ok(Some((r, Command::Import { modules })))
    }

    /// A module name, dotted (`os.path`).
    fn py_module(&self, i: &'a str) -> Result<(&'a str, Spanned<String>), ParseError> {
        let Ok((mut r, _)) = lex::ident(i) else {
            return Err(self.expected(i, "a module's name", None));
        };
        while let Some(r2) = r.strip_prefix('.') {
            match lex::ident(r2) {
                Ok((r3, _)) => r = r3,
                Err(_) => return Err(self.expected(r2, "a module's name after `.`", None)),
            }
        }
        let text = &i[..i.len() - r.len()];
        Ok((r, Spanned::new(text.to_string(), self.span(i, r))))
    }

    // ---- expressions ------------------------------------------------
}

/// The dotted names of `a.b.c` (None when any part is not a name).
fn node_path(n: &Node) -> Option<Vec<String>> {
    match &n.kind {
        Kind::Name(w) => Some(vec![w.clone()]),
        Kind::Attr(base, a) => {
            let mut p = node_path(base)?;
            p.push(a.node.clone());
            Some(p)
        }
        _ => None,
    }
}

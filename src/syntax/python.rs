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

use super::ast::*;
use super::error::{ErrorKind, ParseError};
use super::lex::{self, Lit, Num};
use super::parser::{Parser_, family_of, kind_of, skip_blanks};
use super::pyprogram::{STR_METHODS, WHOLE_PROGRAM, program_construct};
use crate::spec;

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

/// The functions of the socket module understood (also without `socket.`,
/// as after `from socket import *`).
const FUNCTIONS: &[&str] = &[
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

/// Python statements that open a block: sockplay runs one call a line.
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
fn opens_block(rest: &str) -> bool {
    let line = rest.split(['\n', ';']).next().unwrap_or("");
    let line = line.split('#').next().unwrap_or("");
    line.trim_end().ends_with(':')
}

/// How a call's result is shown: `.decode()` after `recv` shows text.
#[derive(Clone, Copy, PartialEq)]
enum Shown {
    Bytes,
    Text,
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

    /// `expr := sum ('|' sum)*`, `sum := term ('+' term)*`
    fn py_expr(&self, i: &'a str) -> Result<(&'a str, Node), ParseError> {
        self.depth.set(self.depth.get() + 1);
        let result = if self.depth.get() > super::parser::MAX_DEPTH {
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

    /// The command a Python expression statement means.
    fn py_command(&self, node: Node) -> Result<Command, ParseError> {
        if is_attr_query(&node)
            && let Kind::Attr(base, attr) = &node.kind
        {
            let sock = self.py_sock(base)?;
            return Ok(if attr.node == "family" {
                Command::GetFamily { sock }
            } else {
                Command::GetType { sock }
            });
        }
        let Kind::Call(func, args, close) = &node.kind else {
            return Ok(Command::Value(self.py_value(&node)?));
        };
        let path = node_path(func);
        let path: Vec<&str> = path.iter().flatten().map(String::as_str).collect();
        match path.as_slice() {
            ["print"] => return self.py_print(args),
            ["exit"] | ["quit"] | ["sys", "exit"] => {
                let a = self.py_params(&node, args, *close, &[], &["code"])?;
                return Ok(Command::Quit {
                    code: self.py_opt_value(a[0])?,
                });
            }
            ["input"] => {
                return Err(self.py_error(
                    func.span,
                    "input() reads the keyboard, and here the keyboard types commands".into(),
                    "write the value itself: sk.send(b'hello'); a program that asks with input() runs as it is with `run python3 FILE.py` (with `&`, `input %1 \"text\"` types its line)",
                ));
            }
            ["time", "sleep"] | ["sleep"] => {
                let a = self.py_params(&node, args, *close, &["secs"], &[])?;
                return Ok(Command::Sleep {
                    seconds: self.py_value(self.need(a[0], *close)?)?,
                });
            }
            ["select", "select"] => return self.py_select(&node, args, *close),
            ["os", "path", "exists"] => {
                return Err(self.py_error(
                    func.span,
                    "os.path.exists asks the file system, not a socket".into(),
                    "`unlink PATH` removes a socket file an earlier run left (and is no error when there is none): the course's `if os.path.exists(p): os.unlink(p)` in one command, which sockplay also takes as written",
                ));
            }
            ["os", "unlink"] | ["os", "remove"] => {
                let a = self.py_params(&node, args, *close, &["path"], &[])?;
                return Ok(Command::Unlink {
                    path: self.py_value(self.need(a[0], *close)?)?,
                });
            }
            ["socket", f] if FUNCTIONS.contains(f) => {
                return self.py_function(&node, f, args, *close);
            }
            [m @ ("socket" | "time" | "select" | "os" | "sys"), f] => {
                let known = attributes(m);
                let Kind::Attr(_, name) = &func.kind else {
                    return Err(self.expected_at(func.span, "a function"));
                };
                return Err(ParseError::new(
                    name.span,
                    ErrorKind::Expected {
                        expected: format!(
                            "one of the functions of {m} sockplay takes ({})",
                            known.join(", ")
                        ),
                        found: format!("`{m}.{f}`"),
                        suggestion: spec::nearest(f, known.iter().copied()).map(str::to_string),
                    },
                ));
            }
            [f] if FUNCTIONS.contains(f) => return self.py_function(&node, f, args, *close),
            [m, ..] if matches!(*m, "threading" | "multiprocessing") => {
                return Err(self.py_error(
                    func.span,
                    format!("sockplay has no `{m}`: one shell plays every end"),
                    "end a blocking call with & to run it in the background: conn, addr = sk.accept() &; a program with threads runs as it is with `run python3 FILE.py`",
                ));
            }
            _ => {}
        }
        // `x.method(...)`, maybe `.decode()` after a recv.
        let Kind::Attr(base, method) = &func.kind else {
            return Err(self.py_error(
                func.span,
                "sockplay knows the calls of sockets and of the socket, select and time modules, and print".into(),
                "`help python` lists the Python lines it takes",
            ));
        };
        if is_value_call(&node) {
            return Ok(Command::Value(self.py_value(&node)?));
        }
        if let Kind::Call(inner_func, inner_args, inner_close) = &base.kind
            && let Kind::Attr(sock, m) = &inner_func.kind
        {
            if method.node == "decode" && m.node == "recv" {
                self.py_codec(&node, args, *close)?;
                return self.py_method(base, sock, m, inner_args, *inner_close, Shown::Text);
            }
            return Err(self.py_error(
                method.span,
                format!(
                    "`.{}` on what `{}` returns is not taken here",
                    method.node, m.node
                ),
                "name the result first (data, addr = u.recvfrom(1024)), then use the name",
            ));
        }
        self.py_method(&node, base, method, args, *close, Shown::Bytes)
    }

    /// `print(a, b)`: each call inside runs (its waits shown), then the
    /// line Python prints: each part's str(), separated by blanks.
    fn py_print(&self, args: &[PyArg]) -> Result<Command, ParseError> {
        let mut out = Vec::new();
        for a in args {
            if let Some(k) = &a.key {
                return Err(self.py_error(
                    k.span,
                    format!("print's `{}=` is not taken here", k.node),
                    "print the values alone",
                ));
            }
            let v = &a.value;
            let call = (matches!(v.kind, Kind::Call(..)) && !is_value_call(v)) || is_attr_query(v);
            out.push(if call {
                PrintArg::Call(Box::new(self.py_command(v.clone())?))
            } else {
                PrintArg::Value(self.py_value(v)?)
            });
        }
        Ok(Command::Print { args: out })
    }

    /// Matches a call's arguments, positional then by keyword, to the
    /// parameters `required` then `optional`; returns one slot a
    /// parameter, in that order.
    fn py_params<'n>(
        &self,
        call: &Node,
        args: &'n [PyArg],
        close: Span,
        required: &[&str],
        optional: &[&str],
    ) -> Result<Vec<Option<&'n Node>>, ParseError> {
        let names: Vec<&str> = required.iter().chain(optional).copied().collect();
        let mut slots: Vec<Option<&Node>> = vec![None; names.len()];
        let mut k = 0;
        let usage = format!("{}({})", call_name(call), names.join(", "));
        for a in args {
            match &a.key {
                None => {
                    if k >= names.len() {
                        return Err(ParseError::new(
                            a.value.span,
                            ErrorKind::TooManyArguments { usage },
                        ));
                    }
                    slots[k] = Some(&a.value);
                    k += 1;
                }
                Some(key) => {
                    let Some(pos) = names.iter().position(|n| *n == key.node) else {
                        return Err(ParseError::new(
                            key.span,
                            ErrorKind::Expected {
                                expected: format!("a parameter of {usage}"),
                                found: format!("`{}=`", key.node),
                                suggestion: spec::nearest(&key.node, names.iter().copied())
                                    .map(str::to_string),
                            },
                        ));
                    };
                    slots[pos] = Some(&a.value);
                }
            }
        }
        for (n, slot) in required.iter().zip(&slots) {
            if slot.is_none() {
                return Err(ParseError::new(
                    close,
                    ErrorKind::Expected {
                        expected: format!("the argument `{n}` of {usage}"),
                        found: "`)`".into(),
                        suggestion: None,
                    },
                ));
            }
        }
        Ok(slots)
    }

    /// A socket method call.
    fn py_method(
        &self,
        call: &Node,
        base: &Node,
        method: &Spanned<String>,
        args: &[PyArg],
        close: Span,
        shown: Shown,
    ) -> Result<Command, ParseError> {
        let view = (shown == Shown::Text).then_some(View::Text);
        let p = |req: &[&str], opt: &[&str]| self.py_params(call, args, close, req, opt);
        let req = |n| self.need(n, close);
        let m = method.node.as_str();
        if STR_METHODS.contains(&m) {
            return Err(self.py_error(
                method.span,
                format!("`.{m}()` works on text, which a program does with what it received"),
                WHOLE_PROGRAM,
            ));
        }
        if PROGRAM_METHODS.contains(&m) {
            return Err(self.py_error(
                method.span,
                format!("`.{m}()` belongs to a whole program, not to one socket call"),
                WHOLE_PROGRAM,
            ));
        }
        if !METHODS.contains(&m) {
            let known = METHODS.iter().copied();
            return Err(ParseError::new(
                method.span,
                ErrorKind::Expected {
                    expected: "a socket method sockplay knows".into(),
                    found: format!("`{m}`"),
                    suggestion: spec::nearest(m, known).map(str::to_string),
                },
            ));
        }
        let sock = self.py_sock(base)?;
        Ok(match m {
            "bind" => Command::Bind {
                sock,
                addr: self.py_addr(req(p(&["address"], &[])?[0])?)?,
            },
            "connect" => Command::Connect {
                sock,
                addr: self.py_addr(req(p(&["address"], &[])?[0])?)?,
            },
            "listen" => Command::Listen {
                sock,
                backlog: self.py_opt_value(p(&[], &["backlog"])?[0])?,
            },
            "accept" => {
                p(&[], &[])?;
                Command::Accept { sock }
            }
            "send" | "sendall" => {
                let a = p(&["data"], &["flags"])?;
                let data = self.py_value(req(a[0])?)?;
                let flags = self.py_send_flags(a[1])?;
                if m == "sendall" {
                    if flags.is_empty() {
                        Command::SendAll { sock, data }
                    } else {
                        return Err(self.py_error(
                            a[1].map_or(close, |n| n.span),
                            "sendall with flags is not taken here".into(),
                            "send with flags, or sendall without",
                        ));
                    }
                } else {
                    Command::Send { sock, data, flags }
                }
            }
            "sendto" => {
                // sendto(data, address) or sendto(data, flags, address).
                let (data, flags, addr) = match args.len() {
                    3 => {
                        let a = p(&["data", "flags", "address"], &[])?;
                        (a[0], a[1], a[2])
                    }
                    _ => {
                        let a = p(&["data", "address"], &[])?;
                        (a[0], None, a[1])
                    }
                };
                Command::SendTo {
                    sock,
                    data: self.py_value(req(data)?)?,
                    addr: self.py_addr(req(addr)?)?,
                    flags: self.py_send_flags(flags)?,
                }
            }
            "recv" | "recvfrom" => {
                let a = p(&["bufsize"], &["flags"])?;
                let size = Some(self.py_value(req(a[0])?)?);
                let flags = self.py_recv_flags(a[1])?;
                if m == "recv" {
                    Command::Recv {
                        sock,
                        size,
                        flags,
                        view,
                        decode: shown == Shown::Text,
                    }
                } else {
                    Command::RecvFrom {
                        sock,
                        size,
                        flags,
                        view,
                    }
                }
            }
            "close" => {
                p(&[], &[])?;
                Command::Close { sock }
            }
            "shutdown" => {
                let a = p(&["how"], &[])?;
                Command::Shutdown {
                    sock,
                    how: self.py_how(req(a[0])?)?,
                }
            }
            "setsockopt" => {
                let a = p(&["level", "optname", "value"], &[])?;
                Command::SetSockOpt {
                    sock,
                    level: Some(self.py_const(req(a[0])?, "a level such as socket.SOL_SOCKET")?),
                    option: self.py_const(req(a[1])?, "an option such as socket.SO_REUSEADDR")?,
                    values: vec![self.py_value(req(a[2])?)?],
                }
            }
            "getsockopt" => {
                let a = p(&["level", "optname"], &["buflen"])?;
                if let Some(b) = a[2] {
                    return Err(self.py_error(
                        b.span,
                        "getsockopt's buflen is not taken here".into(),
                        "leave it out: sockplay decodes the option's value itself",
                    ));
                }
                Command::GetSockOpt {
                    sock,
                    level: Some(self.py_const(req(a[0])?, "a level such as socket.SOL_SOCKET")?),
                    option: self.py_const(req(a[1])?, "an option such as socket.SO_RCVBUF")?,
                }
            }
            "settimeout" => Command::SetTimeout {
                sock,
                seconds: self.py_value(req(p(&["value"], &[])?[0])?)?,
            },
            "setblocking" => Command::SetBlocking {
                sock,
                flag: self.py_value(req(p(&["flag"], &[])?[0])?)?,
            },
            _ => {
                p(&[], &[])?;
                match m {
                    "getsockname" => Command::GetSockName { sock },
                    "getpeername" => Command::GetPeerName { sock },
                    "fileno" => Command::Fileno { sock },
                    _ => Command::GetTimeout { sock },
                }
            }
        })
    }

    /// A function of the socket module.
    fn py_function(
        &self,
        call: &Node,
        f: &str,
        args: &[PyArg],
        close: Span,
    ) -> Result<Command, ParseError> {
        let p = |req: &[&str], opt: &[&str]| self.py_params(call, args, close, req, opt);
        let one = |name: &str| -> Result<Spanned<Expr>, ParseError> {
            let a = p(&[name], &[])?;
            self.py_value(a[0].ok_or_else(|| self.expected_at(close, name))?)
        };
        let first = |a: &[Option<&Node>]| -> Result<Spanned<Expr>, ParseError> {
            self.py_value(a[0].ok_or_else(|| self.expected_at(close, "an argument"))?)
        };
        Ok(match f {
            "socket" => {
                let a = p(&[], &["family", "type", "proto"])?;
                let family = a[0].map(|n| self.py_family(n)).transpose()?;
                let kind = a[1].map(|n| self.py_kind(n)).transpose()?;
                let proto = match a[2] {
                    None => None,
                    Some(pr) if matches!(pr.kind, Kind::Lit(Expr::Int(0))) => None,
                    Some(pr) => {
                        let c = self.py_const(pr, "a protocol such as socket.IPPROTO_ICMP")?;
                        Some(super::parser::protocol_of(&c.node).ok_or_else(|| {
                            self.py_error(
                                c.span,
                                format!("`{}` is not a protocol sockplay knows", c.node),
                                "IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6 or IPPROTO_RAW",
                            )
                        })?)
                    }
                };
                Command::Socket {
                    family,
                    kind,
                    proto,
                }
            }
            "gethostname" => {
                p(&[], &[])?;
                Command::GetHostName
            }
            "gethostbyname" => Command::GetHostByName {
                host: one("hostname")?,
            },
            "gethostbyname_ex" => Command::GetHostByNameEx {
                host: one("hostname")?,
            },
            "gethostbyaddr" => Command::GetHostByAddr {
                host: one("ip_address")?,
            },
            "getfqdn" => Command::GetFqdn {
                host: self.py_opt_value(p(&[], &["name"])?[0])?,
            },
            "getaddrinfo" => {
                let a = p(&["host", "port"], &["family", "type"])?;
                Command::GetAddrInfo {
                    host: first(&a)?,
                    // `getaddrinfo('localhost', None)`: no port, as Python's.
                    port: self
                        .py_opt_value(a[1].filter(|n| !matches!(n.kind, Kind::Lit(Expr::None))))?,
                    family: a[2]
                        .filter(|n| !matches!(n.kind, Kind::Lit(Expr::Int(0))))
                        .map(|n| self.py_family(n))
                        .transpose()?,
                    kind: a[3]
                        .filter(|n| !matches!(n.kind, Kind::Lit(Expr::Int(0))))
                        .map(|n| self.py_kind(n))
                        .transpose()?,
                }
            }
            "inet_aton" => Command::InetAton {
                text: one("ip_string")?,
            },
            "inet_ntoa" => Command::InetNtoa {
                data: one("packed_ip")?,
            },
            "inet_pton" | "inet_ntop" => {
                let a = p(&["address_family", "ip"], &[])?;
                let family =
                    self.py_family(a[0].ok_or_else(|| self.expected_at(close, "a family"))?)?;
                let value =
                    self.py_value(a[1].ok_or_else(|| self.expected_at(close, "an address"))?)?;
                if f == "inet_pton" {
                    Command::InetPton {
                        family,
                        text: value,
                    }
                } else {
                    Command::InetNtop {
                        family,
                        data: value,
                    }
                }
            }
            "getservbyname" => {
                let a = p(&["servicename"], &["protocolname"])?;
                Command::GetServByName {
                    name: first(&a)?,
                    proto: self.py_opt_value(a[1])?,
                }
            }
            "getservbyport" => {
                let a = p(&["port"], &["protocolname"])?;
                Command::GetServByPort {
                    port: first(&a)?,
                    proto: self.py_opt_value(a[1])?,
                }
            }
            _ => {
                let op = match f {
                    "htons" => ByteOrderOp::Htons,
                    "ntohs" => ByteOrderOp::Ntohs,
                    "htonl" => ByteOrderOp::Htonl,
                    _ => ByteOrderOp::Ntohl,
                };
                Command::ByteOrder {
                    op,
                    value: one("x")?,
                }
            }
        })
    }

    /// `select.select(rlist, wlist, xlist[, timeout])`
    fn py_select(&self, call: &Node, args: &[PyArg], close: Span) -> Result<Command, ParseError> {
        let a = self.py_params(
            call,
            args,
            close,
            &["rlist", "wlist", "xlist"],
            &["timeout"],
        )?;
        let mut lists: [Vec<Spanned<SockRef>>; 3] = Default::default();
        for (k, list) in lists.iter_mut().enumerate() {
            let n = a[k].ok_or_else(|| self.expected_at(close, "a list of sockets"))?;
            let (Kind::List(items) | Kind::Tuple(items)) = &n.kind else {
                return Err(self.py_error(
                    n.span,
                    "select takes lists written out here".into(),
                    "write the sockets: select.select([sk, conn], [], [])",
                ));
            };
            for item in items {
                list.push(self.py_sock(item)?);
            }
        }
        let [read, write, except] = lists;
        Ok(Command::Select {
            read,
            write,
            except,
            timeout: self.py_opt_value(a[3])?,
        })
    }

    // ---- arguments --------------------------------------------------

    /// The arguments of `.encode()` / `.decode()`: UTF-8 alone, strict, as
    /// the course writes them (`'utf-8'`, `'utf8'`, or none); another
    /// codec or `errors=` is refused rather than ignored.
    fn py_codec(&self, call: &Node, args: &[PyArg], close: Span) -> Result<(), ParseError> {
        let a = self.py_params(call, args, close, &[], &["encoding", "errors"])?;
        if let Some(e) = a[0] {
            let utf8 = match &e.kind {
                Kind::Lit(Expr::Str(s)) => {
                    matches!(
                        s.to_ascii_lowercase().replace('_', "-").as_str(),
                        "utf-8" | "utf8"
                    )
                }
                _ => false,
            };
            if !utf8 {
                return Err(self.py_error(
                    e.span,
                    "sockplay encodes and decodes UTF-8 only".into(),
                    "write 'utf-8', or leave the encoding out",
                ));
            }
        }
        if let Some(x) = a[1] {
            return Err(self.py_error(
                x.span,
                "errors= is not taken: bytes that are not UTF-8 raise UnicodeDecodeError, as Python's default ('strict') does".into(),
                "leave it out",
            ));
        }
        Ok(())
    }

    /// A required argument py_params has already checked.
    fn need<'n>(&self, n: Option<&'n Node>, close: Span) -> Result<&'n Node, ParseError> {
        n.ok_or_else(|| self.expected_at(close, "an argument"))
    }

    fn expected_at(&self, span: Span, what: &str) -> ParseError {
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
    fn py_sock(&self, n: &Node) -> Result<Spanned<SockRef>, ParseError> {
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
    fn py_addr(&self, n: &Node) -> Result<AddrExpr, ParseError> {
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
    fn py_value(&self, n: &Node) -> Result<Spanned<Expr>, ParseError> {
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

    fn py_opt_value(&self, n: Option<&Node>) -> Result<Option<Spanned<Expr>>, ParseError> {
        n.map(|n| self.py_value(n)).transpose()
    }

    /// A constant: `socket.SO_REUSEADDR` or `SO_REUSEADDR`.
    fn py_const(&self, n: &Node, what: &str) -> Result<Spanned<String>, ParseError> {
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

    fn py_family(&self, n: &Node) -> Result<Family, ParseError> {
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

    fn py_kind(&self, n: &Node) -> Result<SockKind, ParseError> {
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

    fn py_how(&self, n: &Node) -> Result<How, ParseError> {
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

    fn py_send_flags(&self, n: Option<&Node>) -> Result<Vec<SendFlag>, ParseError> {
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

    fn py_recv_flags(&self, n: Option<&Node>) -> Result<Vec<RecvFlag>, ParseError> {
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

/// `s.family`, `s.type`: attributes that are questions to the socket.
fn is_attr_query(n: &Node) -> bool {
    matches!(&n.kind, Kind::Attr(base, a)
        if matches!(base.kind, Kind::Name(ref m) if m != "socket")
            && (a.node == "family" || a.node == "type"))
}

/// `x.encode()` and `x.decode()` on a value, not a socket call.
fn is_value_call(n: &Node) -> bool {
    match &n.kind {
        Kind::Call(func, ..) => match &func.kind {
            Kind::Attr(base, m) if m.node == "encode" || m.node == "decode" => {
                // `conn.recv(1024).decode()` is a recv, shown as text.
                !matches!(&base.kind, Kind::Call(f, ..)
                    if matches!(&f.kind, Kind::Attr(_, r) if r.node == "recv" || r.node == "recvfrom"))
            }
            _ => false,
        },
        _ => false,
    }
}

/// How a call is named in its usage line (`sk.bind`, `socket.socket`).
fn call_name(call: &Node) -> String {
    match &call.kind {
        Kind::Call(func, ..) => match node_path(func) {
            Some(p) => p.join("."),
            None => match &func.kind {
                Kind::Attr(_, m) => format!("...{}", m.node),
                _ => "the call".into(),
            },
        },
        _ => "the call".into(),
    }
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

//! Python calls translated into the shell's commands: `sk.bind(...)` to
//! `bind`, the `socket`, `select` and `time` functions, `print`, and what
//! `.decode()` after a receive means. Apart from the expression grammar
//! (`expr.rs`) because this is where Python meets the command table.

use super::{Kind, METHODS, Node, PROGRAM_METHODS, PyArg, attributes, node_path};
use crate::spec;
use crate::syntax::ast::*;
use crate::syntax::error::{ErrorKind, ParseError};
use crate::syntax::parser::Parser_;
use crate::syntax::pyprogram::{FUNCTIONS, STR_METHODS, WHOLE_PROGRAM};

/// How a call's result is shown: `.decode()` after `recv` shows text.
#[derive(Clone, Copy, PartialEq)]
enum Shown {
    Bytes,
    Text,
}

impl<'a> Parser_<'a> {
    /// The command a Python expression statement means.
    pub(super) fn py_command(&self, node: Node) -> Result<Command, ParseError> {
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
    pub(super) fn py_params<'n>(
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
                        Some(crate::syntax::parser::protocol_of(&c.node).ok_or_else(|| {
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
    pub(super) fn py_codec(
        &self,
        call: &Node,
        args: &[PyArg],
        close: Span,
    ) -> Result<(), ParseError> {
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

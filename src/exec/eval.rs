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

/// Data built with `*` may not exceed this (a typo like `"x" * 10**12`
/// must not take the machine's memory).
pub const MAX_DATA: usize = 256 << 20;

/// What a send sends.
pub(crate) enum Payload {
    Bytes(Vec<u8>),
    /// Zero bytes, made as they are sent.
    Zeros(u64),
}

/// `zeros N` as real bytes, where bytes are needed (`zeros 4 + b"x"`, a
/// datagram): only up to [`MAX_DATA`].
fn materialize(v: Value, span: crate::syntax::ast::Span) -> Result<Value, ExecError> {
    match v {
        Value::Zeros(n) => match usize::try_from(n).ok().filter(|&n| n <= MAX_DATA) {
            Some(n) => Ok(Value::Bytes(vec![0; n])),
            None => Err(ExecError::new(
                "MemoryError",
                format!("{n} zero bytes are more than this shell builds at once (256 MiB)"),
            )
            .at(span)
            .hint("on a stream socket, send c zeros N and sendall c zeros N make them as they are sent")),
        },
        v => Ok(v),
    }
}

impl Session {
    pub(crate) fn eval(&self, e: &Spanned<Expr>) -> Result<Value, ExecError> {
        Ok(match &e.node {
            Expr::Str(s) => Value::Str(s.clone()),
            Expr::Bytes(b) => Value::Bytes(b.clone()),
            Expr::Int(n) => Value::Int(*n),
            Expr::Float(f) => Value::Float(*f),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::None => Value::None,
            Expr::Word(w) => match self.vars.get(w) {
                Some(v) => v.clone(),
                None => Value::Str(w.clone()),
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
                Value::Str(s) => Value::Bytes(s.into_bytes()),
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
                Value::Bytes(b) => Value::Str(String::from_utf8(b).map_err(|er| {
                    ExecError::new(
                        "UnicodeDecodeError",
                        crate::value::utf8_error_text(er.as_bytes(), er.utf8_error()),
                    )
                    .at(e.span)
                })?),
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
                    (_, Value::Int(n)) => (va.clone(), *n, b.span),
                    (Value::Int(n), _) => (vb.clone(), *n, a.span),
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
                let n = usize::try_from(n.max(0)).unwrap_or(0);
                let unit = match &seq {
                    Value::Str(s) => s.len(),
                    Value::Bytes(b) => b.len(),
                    other => {
                        return Err(ExecError::new(
                            "TypeError",
                            format!("can't repeat a value of type '{}'", other.type_name()),
                        )
                        .at(e.span));
                    }
                };
                if unit.saturating_mul(n) > MAX_DATA {
                    return Err(ExecError::new(
                        "MemoryError",
                        format!(
                            "{unit} x {n} bytes is more than this shell builds at once (256 MiB)"
                        ),
                    )
                    .at(n_span)
                    .hint("for a load, send zeros made as they are sent: send c zeros 1G"));
                }
                match seq {
                    Value::Str(s) => Value::Str(s.repeat(n)),
                    Value::Bytes(b) => Value::Bytes(b.repeat(n)),
                    _ => Value::None,
                }
            }
            Expr::Concat(parts) => {
                let vals: Vec<Value> = parts
                    .iter()
                    .map(|p| self.eval(p).and_then(|v| materialize(v, p.span)))
                    .collect::<Result<_, _>>()?;
                if vals.iter().all(|v| matches!(v, Value::Str(_))) {
                    let mut s = String::new();
                    for v in vals {
                        if let Value::Str(x) = v {
                            s.push_str(&x);
                        }
                    }
                    Value::Str(s)
                } else if vals.iter().all(|v| matches!(v, Value::Int(_))) {
                    let mut sum: i64 = 0;
                    for v in vals {
                        if let Value::Int(x) = v {
                            sum = sum.saturating_add(x);
                        }
                    }
                    Value::Int(sum)
                } else {
                    // bytes + str: the str is taken as UTF-8 (Python would
                    // want .encode(); the shell is lenient).
                    let mut b = Vec::new();
                    for (v, p) in vals.iter().zip(parts) {
                        match v {
                            Value::Bytes(x) => b.extend_from_slice(x),
                            Value::Str(x) => b.extend_from_slice(x.as_bytes()),
                            other => {
                                return Err(ExecError::new(
                                    "TypeError",
                                    format!("can't concat {} to bytes", other.type_name()),
                                )
                                .at(p.span));
                            }
                        }
                    }
                    Value::Bytes(b)
                }
            }
        })
    }

    fn lookup(&self, name: &str, e: &Spanned<Expr>) -> Result<Value, ExecError> {
        if let Some(v) = self.vars.get(name) {
            return Ok(v.clone());
        }
        Err(self.name_error(name, e.span))
    }

    pub(crate) fn name_error(&self, name: &str, span: crate::syntax::ast::Span) -> ExecError {
        let mut err = ExecError::new("NameError", format!("name '{name}' is not defined")).at(span);
        if let Some(id) = self.failed_names.get(name) {
            return err.hint(format!("job [{id}] failed, so it did not bind `{name}`"));
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

    /// Bytes to send: bytes as they are, text as UTF-8.
    pub(crate) fn data(&self, e: &Spanned<Expr>) -> Result<Vec<u8>, ExecError> {
        let v = self.eval(e)?;
        self.data_of(v, e)
    }

    fn data_of(&self, v: Value, e: &Spanned<Expr>) -> Result<Vec<u8>, ExecError> {
        match materialize(v, e.span)? {
            Value::Bytes(b) => Ok(b),
            Value::Str(s) => Ok(s.into_bytes()),
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
    pub(crate) fn bytes_only(&self, e: &Spanned<Expr>) -> Result<Vec<u8>, ExecError> {
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
            Value::Str(s) => Ok(s),
            Value::Bytes(b) => String::from_utf8(b).map_err(|_| {
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
                    return Err(ExecError::new(
                        "TypeError",
                        format!("'{name}' is {}, not a socket", crate::value::a_type(other)),
                    )
                    .at(r.span));
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
                        None => "create one first: s = socket tcp (`sockets` lists them)".into(),
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

//! Values the shell computes and binds to names, shown the way Python shows
//! them (`b'hi\r\n'`, `('127.0.0.1', 9900)`, `None`), so a learner can
//! compare with the course's programs line by line.

use crate::syntax::ast::{Family, SockKind};
use socket2::SockAddr;
use std::fmt::Write as _;
use std::net::SocketAddr;

/// An epoll instance held by a name: its descriptor, and which of the
/// session's instances it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EpollRef {
    pub fd: i32,
    pub id: u64,
}

/// A socket held by a name. The serial tells apart two sockets that got the
/// same descriptor number one after the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SockHandle {
    pub fd: i32,
    pub serial: u64,
}

#[derive(Clone, Debug)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Addr(SockAddr),
    Socket(SockHandle),
    Family(Family),
    Kind(SockKind),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// A constant shown as Python shows it (`<SocketKind.SOCK_RAW: 3>`).
    Named(String),
    /// `zeros 1G`: that many zero bytes, generated as they are sent.
    Zeros(u64),
    /// `ep = epoll`: an epoll instance (Python's select.epoll).
    Epoll(EpollRef),
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (None, None) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => a == b,
            (Str(a), Str(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (Addr(a), Addr(b)) => a.family() == b.family() && addr_repr(a) == addr_repr(b),
            (Socket(a), Socket(b)) => a == b,
            (Family(a), Family(b)) => a == b,
            (Kind(a), Kind(b)) => a == b,
            (Tuple(a), Tuple(b)) | (List(a), List(b)) => a == b,
            (Named(a), Named(b)) => a == b,
            (Zeros(a), Zeros(b)) => a == b,
            (Epoll(a), Epoll(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// Python's name for the type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Addr(_) => "address",
            Value::Socket(_) => "socket",
            Value::Family(_) => "AddressFamily",
            Value::Kind(_) => "SocketKind",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Named(_) => "constant",
            Value::Zeros(_) => "bytes",
            Value::Epoll(_) => "select.epoll",
        }
    }

    /// Python's `repr()`. Sockets are shown by the renderer, which knows
    /// the table; here they are `<socket fd=N>`.
    pub fn repr(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Int(n) => n.to_string(),
            Value::Float(f) => float_repr(*f),
            Value::Str(s) => str_repr(s),
            Value::Bytes(b) => bytes_repr(b),
            Value::Addr(a) => addr_repr(a),
            Value::Socket(h) => format!("<socket fd={}>", h.fd),
            Value::Family(f) => format!("<AddressFamily.{f}: {}>", family_number(*f)),
            Value::Kind(k) => format!("<SocketKind.{k}: {}>", kind_number(*k)),
            Value::Tuple(items) => {
                let inner: Vec<String> = items.iter().map(Value::repr).collect();
                if items.len() == 1 {
                    format!("({},)", inner[0])
                } else {
                    format!("({})", inner.join(", "))
                }
            }
            Value::List(items) => {
                let inner: Vec<String> = items.iter().map(Value::repr).collect();
                format!("[{}]", inner.join(", "))
            }
            Value::Named(s) => s.clone(),
            Value::Zeros(n) if *n < 1024 => format!("<{n} zero bytes, made as they are sent>"),
            Value::Zeros(n) => format!(
                "<{n} zero bytes ({}), made as they are sent>",
                human_size(*n)
            ),
            Value::Epoll(r) => format!("<select.epoll fd={}>", r.fd),
        }
    }

    /// Python's `str()`: like repr, but a str is shown bare (its control
    /// characters still escaped: this goes to a terminal).
    pub fn display(&self) -> String {
        match self {
            Value::Str(s) => escape_controls(s),
            other => other.repr(),
        }
    }
}

/// A byte count in binary units, for people: `512 bytes`, `64.0 KiB`,
/// `1.5 GiB`.
pub fn human_size(n: u64) -> String {
    const UNITS: [(&str, u32); 4] = [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)];
    for (unit, shift) in UNITS {
        if n >= 1 << shift {
            return format!("{:.1} {unit}", n as f64 / (1u64 << shift) as f64);
        }
    }
    if n == 1 {
        "1 byte".into()
    } else {
        format!("{n} bytes")
    }
}

/// "an int", "a str": the type with its article.
pub fn a_type(v: &Value) -> String {
    let t = v.type_name();
    let article = if t.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {t}")
}

pub fn family_number(f: Family) -> i32 {
    match f {
        Family::Inet => libc::AF_INET,
        Family::Inet6 => libc::AF_INET6,
        Family::Unix => libc::AF_UNIX,
    }
}

pub fn kind_number(k: SockKind) -> i32 {
    match k {
        SockKind::Stream => libc::SOCK_STREAM,
        SockKind::Dgram => libc::SOCK_DGRAM,
        SockKind::SeqPacket => libc::SOCK_SEQPACKET,
        SockKind::Raw => libc::SOCK_RAW,
    }
}

fn float_repr(f: f64) -> String {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// Python's repr of bytes: printable ASCII as is, `\t \n \r` named, the
/// quote and backslash escaped, everything else `\xNN`. Never a raw control
/// byte, so a peer cannot drive the terminal.
pub fn bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(b.len() + 3);
    out.push('b');
    out.push(quote);
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            c if c as char == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(c as char),
            _ => {
                let _ = write!(out, "\\x{c:02x}");
            }
        }
    }
    out.push(quote);
    out
}

/// Python's repr of a path it decoded with surrogateescape: valid UTF-8 as
/// characters, every other byte as `\udcXX` (what Python shows for a UNIX
/// socket bound to a name that is not UTF-8).
pub fn path_repr(b: &[u8]) -> String {
    let valid: String = b.utf8_chunks().map(|c| c.valid()).collect();
    let quote = quote_for(&valid);
    let mut out = String::with_capacity(b.len() + 2);
    out.push(quote);
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_str_char(&mut out, c, quote);
        }
        for &x in chunk.invalid() {
            let _ = write!(out, "\\udc{x:02x}");
        }
    }
    out.push(quote);
    out
}

/// The quote Python's repr picks: single, unless the text has a single
/// quote and no double one.
fn quote_for(s: &str) -> char {
    if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    }
}

/// One character of a str repr.
fn push_str_char(out: &mut String, c: char, quote: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if c == quote => {
            out.push('\\');
            out.push(quote);
        }
        c if is_unsafe_char(c) => push_char_escape(out, c),
        c => out.push(c),
    }
}

/// Python's repr of a str.
pub fn str_repr(s: &str) -> String {
    let quote = quote_for(s);
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        push_str_char(&mut out, c, quote);
    }
    out.push(quote);
    out
}

/// Characters a terminal would act on rather than show: C0 and C1 controls,
/// DEL, and the bidirectional overrides that can reorder what is seen.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

fn push_char_escape(out: &mut String, c: char) {
    let n = c as u32;
    let _ = if n < 0x100 {
        write!(out, "\\x{n:02x}")
    } else {
        write!(out, "\\u{n:04x}")
    };
}

/// Text with every control character escaped (tabs and newlines included).
pub fn escape_controls(s: &str) -> String {
    if !s.chars().any(is_unsafe_char) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if is_unsafe_char(c) => push_char_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// Received bytes decoded as text for the `text` view: valid UTF-8 shown as
/// characters, invalid bytes and controls as escapes; newlines kept as line
/// breaks so a page of HTTP reads naturally.
pub fn bytes_as_text(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push('\n'),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if is_unsafe_char(c) => push_char_escape(&mut out, c),
                c => out.push(c),
            }
        }
        for &x in chunk.invalid() {
            let _ = write!(out, "\\x{x:02x}");
        }
    }
    out
}

/// A hexdump: offset, 16 bytes in hex, and printable ASCII.
pub fn hexdump(b: &[u8]) -> String {
    let mut out = String::new();
    for (row, chunk) in b.chunks(16).enumerate() {
        let _ = write!(out, "{:08x}  ", row * 16);
        for k in 0..16 {
            match chunk.get(k) {
                Some(x) => {
                    let _ = write!(out, "{x:02x} ");
                }
                None => out.push_str("   "),
            }
            if k == 7 {
                out.push(' ');
            }
        }
        out.push_str(" |");
        for &x in chunk {
            out.push(if (0x20..0x7f).contains(&x) {
                x as char
            } else {
                '.'
            });
        }
        out.push_str("|\n");
    }
    if out.ends_with('\n') {
        out.pop();
    }
    out
}

/// An address as Python returns it: `('127.0.0.1', 9900)` for IPv4,
/// `('::1', 9900, 0, 0)` for IPv6, the path string for a UNIX socket, and
/// `b'\x00name'` for an abstract one.
pub fn addr_repr(a: &SockAddr) -> String {
    match a.as_socket() {
        Some(SocketAddr::V4(v4)) => format!("('{}', {})", v4.ip(), v4.port()),
        Some(SocketAddr::V6(v6)) => format!(
            "('{}', {}, {}, {})",
            v6.ip(),
            v6.port(),
            v6.flowinfo(),
            v6.scope_id()
        ),
        None => {
            if let Some(p) = a.as_pathname() {
                path_repr(p.as_os_str().as_encoded_bytes())
            } else if let Some(name) = a.as_abstract_namespace() {
                let mut b = vec![0u8];
                b.extend_from_slice(name);
                bytes_repr(&b)
            } else {
                "''".into()
            }
        }
    }
}

/// An address the short way, for tables: `127.0.0.1:9900`, `[::1]:9900`,
/// `./app.sock`, `@name`, `-`.
pub fn addr_short(a: &SockAddr) -> String {
    match a.as_socket() {
        Some(s) => s.to_string(),
        None => {
            if let Some(p) = a.as_pathname() {
                bytes_as_text(p.as_os_str().as_encoded_bytes())
            } else if let Some(name) = a.as_abstract_namespace() {
                format!("@{}", bytes_as_text(name))
            } else {
                "-".into()
            }
        }
    }
}

/// Python's words for bytes that are not UTF-8 (`bytes.decode()`):
/// `'utf-8' codec can't decode byte 0xff in position 2: invalid start byte`,
/// or for a sequence of several bytes `can't decode bytes in position
/// 3-4: unexpected end of data`, as CPython's decoder says them.
pub fn utf8_error_text(bytes: &[u8], e: std::str::Utf8Error) -> String {
    let at = e.valid_up_to();
    let byte = bytes.get(at).copied().unwrap_or(0);
    let (len, why) = match e.error_len() {
        None => (bytes.len().saturating_sub(at), "unexpected end of data"),
        Some(n)
            if n == 1
                && ((0x80..0xc0).contains(&byte)
                    || byte >= 0xf5
                    || byte == 0xc0
                    || byte == 0xc1) =>
        {
            (1, "invalid start byte")
        }
        Some(n) => (n, "invalid continuation byte"),
    };
    if len <= 1 {
        format!("'utf-8' codec can't decode byte 0x{byte:02x} in position {at}: {why}")
    } else {
        format!(
            "'utf-8' codec can't decode bytes in position {at}-{}: {why}",
            at + len - 1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddrV4};

    #[test]
    fn bytes_repr_matches_python() {
        assert_eq!(bytes_repr(b"hello\r\n"), r"b'hello\r\n'");
        assert_eq!(bytes_repr(&[0xc0, 0xa8, 1, 2]), r"b'\xc0\xa8\x01\x02'");
        assert_eq!(bytes_repr(b"it's"), r#"b"it's""#);
        assert_eq!(bytes_repr(b"'\""), r#"b'\'"'"#);
        assert_eq!(bytes_repr(b"\x1b[31m"), r"b'\x1b[31m'");
        assert_eq!(bytes_repr(b""), "b''");
    }

    #[test]
    fn str_repr_escapes_controls() {
        assert_eq!(str_repr("a\x1bb"), r"'a\x1bb'");
        assert_eq!(str_repr("你好"), "'你好'");
        assert_eq!(escape_controls("x\u{9b}y"), r"x\x9by");
        assert_eq!(escape_controls("\u{202e}evil"), r"\u202eevil");
    }

    #[test]
    fn paths_repr_like_python_surrogateescape() {
        assert_eq!(path_repr(b"./a.sock"), "'./a.sock'");
        assert_eq!(
            path_repr(b"./c\x1b[31m\xff\x07"),
            r"'./c\x1b[31m\udcff\x07'"
        );
        assert_eq!(path_repr("./套接字".as_bytes()), "'./套接字'");
    }

    #[test]
    fn values_repr_like_python() {
        let a = SockAddr::from(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9900));
        assert_eq!(Value::Addr(a).repr(), "('127.0.0.1', 9900)");
        assert_eq!(Value::Float(2.5).repr(), "2.5");
        assert_eq!(Value::Float(2.0).repr(), "2.0");
        assert_eq!(Value::Tuple(vec![Value::Int(1)]).repr(), "(1,)");
        assert_eq!(
            Value::Family(Family::Inet).repr(),
            "<AddressFamily.AF_INET: 2>"
        );
        assert_eq!(
            Value::Kind(SockKind::Stream).repr(),
            "<SocketKind.SOCK_STREAM: 1>"
        );
    }

    #[test]
    fn text_view_escapes_but_keeps_lines() {
        assert_eq!(
            bytes_as_text(b"GET /\r\nHost: x\r\n"),
            "GET /\\r\nHost: x\\r\n"
        );
        assert_eq!(bytes_as_text(b"\xff\x1b"), r"\xff\x1b");
    }

    #[test]
    fn hexdump_rows() {
        let d = hexdump(b"hello world, hi!xyz");
        assert!(d.starts_with(
            "00000000  68 65 6c 6c 6f 20 77 6f  72 6c 64 2c 20 68 69 21  |hello world, hi!|"
        ));
        assert!(d.ends_with("|xyz|"));
    }
}

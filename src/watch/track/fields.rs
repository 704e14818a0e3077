//! What a report's fields mean to the tracker: addresses (`4|host|port`,
//! `u|path`...), families and types as numbers, a timeout as a mode, a
//! returned repr as a value, and the names a line of the program assigns.

use crate::syntax::ast::{Family, SockKind};
use crate::table::Mode;
use crate::value::{Value, addr_short, escape_controls};
use socket2::SockAddr;
use std::net::SocketAddr;
use std::time::Duration;

/// An address as a report gives it.
#[derive(Clone, Debug)]
pub(super) enum PAddr {
    None,
    Sock(SockAddr),
    /// Not a socket address of its own (a host name not resolved yet).
    Text(String),
}

impl PAddr {
    pub(super) fn sock(&self) -> Option<&SockAddr> {
        match self {
            PAddr::Sock(a) => Some(a),
            _ => None,
        }
    }

    pub(super) fn text(&self) -> String {
        match self {
            PAddr::None => "-".into(),
            PAddr::Sock(a) => {
                let s = addr_short(a);
                if s == "-" {
                    "an unnamed socket".into()
                } else {
                    s
                }
            }
            PAddr::Text(t) => t.clone(),
        }
    }

    pub(super) fn value(&self) -> Value {
        match self {
            PAddr::None => Value::None,
            PAddr::Sock(a) if a.as_socket().is_some() || !addr_short(a).starts_with('-') => {
                Value::Addr(a.clone())
            }
            PAddr::Sock(_) => Value::Str(String::new().into()),
            PAddr::Text(t) => Value::Named(t.clone()),
        }
    }
}

fn unix_addr(b: &[u8]) -> Option<SockAddr> {
    use std::os::unix::ffi::OsStrExt;
    SockAddr::unix(std::ffi::OsStr::from_bytes(b)).ok()
}

pub(super) fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 256 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|k| u8::from_str_radix(s.get(k..k + 2)?, 16).ok())
        .collect()
}

/// `4|host|port`, `6|host|port`, `u|path`, `a|hex` (abstract), `p|hex` (a
/// path not in UTF-8), `-` (none), `?|repr`.
pub(super) fn paddr(s: &str) -> PAddr {
    if s == "-" || s.is_empty() {
        return PAddr::None;
    }
    let Some((kind, rest)) = s.split_once('|') else {
        return PAddr::Text(escape_controls(s));
    };
    match kind {
        "4" | "6" => {
            let Some((host, port)) = rest.rsplit_once('|') else {
                return PAddr::Text(escape_controls(rest));
            };
            let port: u16 = port.parse().unwrap_or(0);
            let ip: Option<std::net::IpAddr> = if host.is_empty() {
                Some(if kind == "4" {
                    std::net::Ipv4Addr::UNSPECIFIED.into()
                } else {
                    std::net::Ipv6Addr::UNSPECIFIED.into()
                })
            } else {
                host.parse().ok()
            };
            match ip {
                Some(ip) => PAddr::Sock(SockAddr::from(SocketAddr::new(ip, port))),
                None if kind == "6" => PAddr::Text(format!("[{}]:{port}", escape_controls(host))),
                None => PAddr::Text(format!("{}:{port}", escape_controls(host))),
            }
        }
        "u" if rest.is_empty() => PAddr::Sock(
            SockAddr::unix("")
                .unwrap_or_else(|_| SockAddr::from(SocketAddr::from(([0, 0, 0, 0], 0)))),
        ),
        "u" => unix_addr(rest.as_bytes()).map_or(PAddr::Text(escape_controls(rest)), PAddr::Sock),
        "a" => hex(rest)
            .and_then(|mut b| {
                b.insert(0, 0);
                unix_addr(&b)
            })
            .map_or(PAddr::None, PAddr::Sock),
        "p" => hex(rest)
            .and_then(|b| unix_addr(&b))
            .map_or(PAddr::None, PAddr::Sock),
        _ => PAddr::Text(escape_controls(rest)),
    }
}

pub(super) fn family_of(n: i64) -> Option<Family> {
    match n as i32 {
        libc::AF_INET => Some(Family::Inet),
        libc::AF_INET6 => Some(Family::Inet6),
        libc::AF_UNIX => Some(Family::Unix),
        _ => None,
    }
}

pub(super) fn kind_of(n: i64) -> Option<SockKind> {
    // Without SOCK_NONBLOCK / SOCK_CLOEXEC.
    match (n as i32) & 0xf {
        libc::SOCK_STREAM => Some(SockKind::Stream),
        libc::SOCK_DGRAM => Some(SockKind::Dgram),
        libc::SOCK_SEQPACKET => Some(SockKind::SeqPacket),
        _ => None,
    }
}

/// The names a line of Python assigns: `a, b = s.accept()` gives a and
/// b, `with socket() as s:` gives s; none for anything else.
pub(super) fn targets(source: &str) -> Vec<String> {
    let s = source.trim();
    let ok = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            && !w.starts_with(|c: char| c.is_ascii_digit())
    };
    if let Some(rest) = s.strip_prefix("with ")
        && let Some(k) = rest.rfind(" as ")
    {
        let name = rest[k + 4..].trim().trim_end_matches(':').trim();
        return if ok(name) {
            vec![name.to_string()]
        } else {
            Vec::new()
        };
    }
    let b = s.as_bytes();
    let mut k = 0;
    while k < b.len() {
        match b[k] {
            b'=' if b.get(k + 1) != Some(&b'=') => {
                let before = b.get(k.wrapping_sub(1)).copied().unwrap_or(b' ');
                if matches!(
                    before,
                    b'!' | b'<'
                        | b'>'
                        | b'='
                        | b'+'
                        | b'-'
                        | b'*'
                        | b'/'
                        | b'%'
                        | b'&'
                        | b'|'
                        | b'^'
                        | b':'
                ) {
                    return Vec::new();
                }
                let lhs = s[..k].trim().trim_start_matches('(').trim_end_matches(')');
                let names: Vec<String> = lhs.split(',').map(|w| w.trim().to_string()).collect();
                return if names.iter().all(|n| ok(n)) {
                    names
                } else {
                    Vec::new()
                };
            }
            b'(' | b'"' | b'\'' | b'[' => return Vec::new(),
            _ => k += 1,
        }
    }
    Vec::new()
}

/// A socket's mode from Python's timeout (None: blocking).
pub(super) fn mode_of(t: Option<f64>) -> Mode {
    match t {
        None => Mode::Blocking,
        Some(t) if t <= 0.0 => Mode::NonBlocking,
        Some(t) => Duration::try_from_secs_f64(t).map_or(Mode::Blocking, Mode::Timeout),
    }
}

/// A Python repr as a value: an int stays an int (and is shown as one),
/// anything else is shown as Python wrote it.
pub(super) fn repr_value(r: &str) -> Value {
    if let Ok(n) = r.parse::<i64>() {
        return Value::Int(n);
    }
    if r == "None" {
        return Value::Named("None".into());
    }
    Value::Named(escape_controls(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_s_targets() {
        assert_eq!(targets("sockfd = socket(AF_INET,SOCK_STREAM)"), ["sockfd"]);
        assert_eq!(targets("connfd,addr = sockfd.accept()"), ["connfd", "addr"]);
        assert_eq!(targets("conn, addr = sk.accept() # x"), ["conn", "addr"]);
        assert_eq!(targets("self.sock = socket.socket()"), ["self.sock"]);
        assert_eq!(targets("with socket.socket() as s:"), ["s"]);
        assert!(targets("if data == '##':").is_empty());
        assert!(targets("n += s.send(b'x')").is_empty());
        assert!(targets("print(s.recv(10))").is_empty());
        assert!(targets("d['x'] = s.recv(1)").is_empty());
    }

    #[test]
    fn addresses_parse_or_stay_text() {
        assert_eq!(paddr("4|127.0.0.1|9900").text(), "127.0.0.1:9900");
        assert_eq!(paddr("4||9900").text(), "0.0.0.0:9900");
        assert_eq!(paddr("4|localhost|80").text(), "localhost:80");
        assert_eq!(paddr("6|::1|80").text(), "[::1]:80");
        assert_eq!(paddr("u|./sock").text(), "./sock");
        assert_eq!(paddr("a|6162").text(), "@ab");
        assert_eq!(paddr("u|").text(), "an unnamed socket");
        assert!(matches!(paddr("-"), PAddr::None));
        // Escapes in a host name are never shown raw.
        assert!(!paddr("4|\x1b[2J|1").text().contains('\x1b'));
    }
}

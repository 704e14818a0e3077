//! The name and address functions of Python's socket module, on the C
//! library's resolver (getaddrinfo, getnameinfo, getservbyname), so they
//! answer exactly as Python on this machine answers.

use super::Ret;
use crate::errors::ExecError;
use crate::syntax::ast::{ByteOrderOp, Family, SockKind};
use crate::value::Value;
use socket2::SockAddr;
use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One answer of getaddrinfo.
pub struct AddrInfo {
    pub family: i32,
    pub socktype: i32,
    pub protocol: i32,
    pub canonname: Option<String>,
    pub addr: SocketAddr,
}

fn gai_error(code: i32) -> ExecError {
    // SAFETY: gai_strerror returns a static string.
    let msg = unsafe { CStr::from_ptr(libc::gai_strerror(code)) }
        .to_string_lossy()
        .into_owned();
    ExecError::new("socket.gaierror", format!("[Errno {code}] {msg}"))
        .hint("the resolver does not know this name (check the spelling; only names in /etc/hosts or DNS resolve)")
}

/// getaddrinfo(3).
pub fn lookup(
    host: &str,
    port: Option<&str>,
    family: i32,
    socktype: i32,
) -> Result<Vec<AddrInfo>, ExecError> {
    lookup_flags(host, port, family, socktype, 0)
}

fn lookup_flags(
    host: &str,
    port: Option<&str>,
    family: i32,
    socktype: i32,
    flags: i32,
) -> Result<Vec<AddrInfo>, ExecError> {
    let c_host =
        CString::new(host).map_err(|_| ExecError::new("ValueError", "embedded null character"))?;
    let c_port = match port {
        Some(p) => Some(
            CString::new(p).map_err(|_| ExecError::new("ValueError", "embedded null character"))?,
        ),
        None => None,
    };
    // SAFETY: hints is zeroed plain data; res is filled by getaddrinfo and
    // released with freeaddrinfo below; every pointer read comes from it.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_flags = flags;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    let rc = unsafe {
        libc::getaddrinfo(
            c_host.as_ptr(),
            c_port.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
            &hints,
            &mut res,
        )
    };
    if rc == libc::EAI_SYSTEM {
        // The real error is in errno (EMFILE: /etc/hosts could not be
        // opened); Python raises it as an OSError, not a gaierror.
        return Err(std::io::Error::last_os_error().into());
    }
    if rc != 0 {
        return Err(gai_error(rc));
    }
    let mut out = Vec::new();
    let mut p = res;
    while !p.is_null() {
        let ai = unsafe { &*p };
        let addr = unsafe {
            SockAddr::try_init(|storage, len| {
                let n = (ai.ai_addrlen as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
                std::ptr::copy_nonoverlapping(ai.ai_addr.cast::<u8>(), storage.cast::<u8>(), n);
                *len = n as libc::socklen_t;
                Ok(())
            })
        }
        .ok()
        .and_then(|(_, a)| a.as_socket());
        if let Some(addr) = addr {
            let canonname = (!ai.ai_canonname.is_null()).then(|| {
                unsafe { CStr::from_ptr(ai.ai_canonname) }
                    .to_string_lossy()
                    .into_owned()
            });
            out.push(AddrInfo {
                family: ai.ai_family,
                socktype: ai.ai_socktype,
                protocol: ai.ai_protocol,
                canonname,
                addr,
            });
        }
        p = ai.ai_next;
    }
    unsafe { libc::freeaddrinfo(res) };
    Ok(out)
}

fn str_list(v: Vec<String>) -> Value {
    Value::List(v.into_iter().map(|s| Value::Str(s.into())).collect())
}

pub fn hostname() -> Result<String, ExecError> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is writable for its length.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

pub fn gethostname() -> Result<Ret, ExecError> {
    Ok(Ret::one(Value::Str(hostname()?.into())))
}

/// `(name, [], [address])`, as gethostbyname_ex and gethostbyaddr answer
/// for a lab host.
pub fn host_entry(name: &str, ip: IpAddr) -> Value {
    Value::Tuple(vec![
        Value::Str(name.into()),
        str_list(Vec::new()),
        str_list(vec![ip.to_string()]),
    ])
}

/// The first IPv4 address of a name.
pub fn gethostbyname(host: &str) -> Result<Ret, ExecError> {
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(Ret::one(Value::Str(ip.to_string().into())));
    }
    let addrs = lookup(host, None, libc::AF_INET, libc::SOCK_STREAM)?;
    match addrs.first() {
        Some(a) => Ok(Ret::one(Value::Str(a.addr.ip().to_string().into()))),
        None => Err(gai_error(libc::EAI_NONAME)),
    }
}

/// (canonical name, aliases, IPv4 addresses).
pub fn gethostbyname_ex(host: &str) -> Result<Ret, ExecError> {
    let addrs = lookup_flags(
        host,
        None,
        libc::AF_INET,
        libc::SOCK_STREAM,
        libc::AI_CANONNAME,
    )?;
    let name = addrs
        .iter()
        .find_map(|a| a.canonname.clone())
        .unwrap_or_else(|| host.to_string());
    let mut ips: Vec<String> = Vec::new();
    for a in &addrs {
        let s = a.addr.ip().to_string();
        if !ips.contains(&s) {
            ips.push(s);
        }
    }
    Ok(Ret::one(Value::Tuple(vec![
        Value::Str(name.into()),
        str_list(Vec::new()),
        str_list(ips),
    ])))
}

/// (name, aliases, addresses) for an address or a name (reverse lookup).
pub fn gethostbyaddr(host: &str) -> Result<Ret, ExecError> {
    let ip: IpAddr = match host.parse() {
        Ok(ip) => ip,
        Err(_) => lookup(host, None, libc::AF_UNSPEC, libc::SOCK_STREAM)?
            .first()
            .map(|a| a.addr.ip())
            .ok_or_else(|| gai_error(libc::EAI_NONAME))?,
    };
    let sa = SockAddr::from(SocketAddr::new(ip, 0));
    let mut name = [0 as libc::c_char; 1025];
    // SAFETY: sa is a valid socket address of its length; name is writable.
    let rc = unsafe {
        libc::getnameinfo(
            sa.as_ptr().cast(),
            sa.len(),
            name.as_mut_ptr(),
            name.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if rc != 0 {
        return Err(ExecError::new("socket.herror", "[Errno 1] Unknown host")
            .hint("no name is recorded for this address (in /etc/hosts or reverse DNS)"));
    }
    let n = unsafe { CStr::from_ptr(name.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    Ok(Ret::one(Value::Tuple(vec![
        Value::Str(n.into()),
        str_list(Vec::new()),
        str_list(vec![ip.to_string()]),
    ])))
}

pub fn getfqdn(host: Option<&str>) -> Result<Ret, ExecError> {
    let name = match host {
        Some(h) if !h.is_empty() && h != "0.0.0.0" => h.to_string(),
        _ => hostname()?,
    };
    // Python: gethostbyaddr(name), then the first of its name and aliases
    // that contains a dot, else its name; the name given if that fails.
    let found = match gethostbyaddr(&name) {
        Ok(r) => match r.values.into_iter().next() {
            Some(Value::Tuple(items)) => {
                let mut names: Vec<String> = Vec::new();
                let mut it = items.into_iter();
                if let Some(Value::Str(n)) = it.next() {
                    names.push(n.to_string());
                }
                if let Some(Value::List(aliases)) = it.next() {
                    names.extend(aliases.into_iter().filter_map(|a| match a {
                        Value::Str(s) => Some(s.to_string()),
                        _ => None,
                    }));
                }
                names
                    .iter()
                    .find(|n| n.contains('.'))
                    .or(names.first())
                    .cloned()
            }
            _ => None,
        },
        Err(_) => None,
    };
    Ok(Ret::one(Value::Str(found.unwrap_or(name).into())))
}

fn family_value(f: i32) -> Value {
    match f {
        libc::AF_INET6 => Value::Family(Family::Inet6),
        libc::AF_UNIX => Value::Family(Family::Unix),
        _ => Value::Family(Family::Inet),
    }
}

fn kind_value(t: i32) -> Value {
    match t {
        libc::SOCK_STREAM => Value::Kind(SockKind::Stream),
        libc::SOCK_DGRAM => Value::Kind(SockKind::Dgram),
        libc::SOCK_RAW => Value::Kind(SockKind::Raw),
        libc::SOCK_SEQPACKET => Value::Kind(SockKind::SeqPacket),
        other => Value::Int(i64::from(other)),
    }
}

/// [(family, type, proto, canonname, sockaddr)], as Python lists them.
pub fn getaddrinfo(
    host: &str,
    port: Option<&str>,
    family: Option<Family>,
    kind: Option<SockKind>,
) -> Result<Ret, ExecError> {
    let fam = match family {
        Some(Family::Inet) => libc::AF_INET,
        Some(Family::Inet6) => libc::AF_INET6,
        Some(Family::Unix) => libc::AF_UNIX,
        None => libc::AF_UNSPEC,
    };
    let st = match kind {
        Some(SockKind::Stream) => libc::SOCK_STREAM,
        Some(SockKind::Dgram) => libc::SOCK_DGRAM,
        Some(SockKind::SeqPacket) => libc::SOCK_SEQPACKET,
        Some(SockKind::Raw) => libc::SOCK_RAW,
        None => 0,
    };
    let list = lookup(host, port, fam, st)?;
    let items = list
        .into_iter()
        .map(|a| {
            Value::Tuple(vec![
                family_value(a.family),
                kind_value(a.socktype),
                Value::Int(i64::from(a.protocol)),
                Value::Str(a.canonname.unwrap_or_default().into()),
                Value::Addr(SockAddr::from(a.addr)),
            ])
        })
        .collect();
    Ok(Ret::one(Value::List(items)))
}

unsafe extern "C" {
    // In glibc; the libc crate does not declare it.
    #[link_name = "inet_aton"]
    fn inet_aton_c(cp: *const libc::c_char, inp: *mut libc::in_addr) -> libc::c_int;
}

fn illegal_ip() -> ExecError {
    ExecError::new("OSError", "illegal IP address string passed to inet_aton")
        .hint("an IPv4 address is four numbers 0-255 separated by dots, like 192.168.1.2")
}

pub fn inet_aton(text: &str) -> Result<Ret, ExecError> {
    let c = CString::new(text).map_err(|_| illegal_ip())?;
    let mut addr = libc::in_addr { s_addr: 0 };
    // SAFETY: inet_aton writes one in_addr. It accepts the historical forms
    // (`127.1`, hex parts) exactly as Python's does.
    let ok = unsafe { inet_aton_c(c.as_ptr(), &mut addr) };
    if ok == 0 {
        return Err(illegal_ip());
    }
    Ok(Ret::one(Value::Bytes(
        addr.s_addr.to_ne_bytes().to_vec().into(),
    )))
}

pub fn inet_ntoa(b: &[u8]) -> Result<Ret, ExecError> {
    let arr: [u8; 4] = b.try_into().map_err(|_| {
        ExecError::new("OSError", "packed IP wrong length for inet_ntoa").hint(format!(
            "got {} bytes; a packed IPv4 address is 4 (what inet_aton returns)",
            b.len()
        ))
    })?;
    Ok(Ret::one(Value::Str(Ipv4Addr::from(arr).to_string().into())))
}

pub fn inet_pton(family: Family, text: &str) -> Result<Ret, ExecError> {
    let bad = || ExecError::new("OSError", "illegal IP address string passed to inet_pton");
    match family {
        Family::Inet => {
            let ip: Ipv4Addr = text.parse().map_err(|_| bad())?;
            Ok(Ret::one(Value::Bytes(ip.octets().to_vec().into())))
        }
        Family::Inet6 => {
            let ip: Ipv6Addr = text.parse().map_err(|_| bad())?;
            Ok(Ret::one(Value::Bytes(ip.octets().to_vec().into())))
        }
        Family::Unix => Err(ExecError::os(libc::EAFNOSUPPORT)),
    }
}

pub fn inet_ntop(family: Family, b: &[u8]) -> Result<Ret, ExecError> {
    match family {
        Family::Inet => {
            let arr: [u8; 4] = b.try_into().map_err(|_| {
                ExecError::new("ValueError", "invalid length of packed IP address string")
            })?;
            Ok(Ret::one(Value::Str(Ipv4Addr::from(arr).to_string().into())))
        }
        Family::Inet6 => {
            let arr: [u8; 16] = b.try_into().map_err(|_| {
                ExecError::new("ValueError", "invalid length of packed IP address string")
            })?;
            Ok(Ret::one(Value::Str(Ipv6Addr::from(arr).to_string().into())))
        }
        Family::Unix => Err(ExecError::os(libc::EAFNOSUPPORT)),
    }
}

/// The port of a service, from the services database.
pub fn service_port(name: &str, proto: Option<&str>) -> Option<u16> {
    let c_name = CString::new(name).ok()?;
    let c_proto = proto.and_then(|p| CString::new(p).ok());
    // SAFETY: getservbyname returns NULL or a pointer to static data that
    // stays valid until the next call; the shell's main thread is the only
    // caller and copies the port out at once.
    let s = unsafe {
        libc::getservbyname(
            c_name.as_ptr(),
            c_proto.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
        )
    };
    if s.is_null() {
        return None;
    }
    let port = unsafe { (*s).s_port };
    Some(u16::from_be(port as u16))
}

pub fn getservbyname(name: &str, proto: Option<&str>) -> Result<Ret, ExecError> {
    match service_port(name, proto) {
        Some(p) => Ok(Ret::one(Value::Int(i64::from(p)))),
        None => Err(ExecError::new("OSError", "service/proto not found")
            .hint("the service is not in /etc/services (try http, ssh, mysql, smtp)")),
    }
}

pub fn getservbyport(port: i64, proto: Option<&str>) -> Result<Ret, ExecError> {
    let p = u16::try_from(port)
        .map_err(|_| ExecError::new("OverflowError", "getservbyport: port must be 0-65535."))?;
    let c_proto = proto.and_then(|p| CString::new(p).ok());
    // SAFETY: as in service_port.
    let s = unsafe {
        libc::getservbyport(
            i32::from(p.to_be()),
            c_proto.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
        )
    };
    if s.is_null() {
        return Err(ExecError::new("OSError", "port/proto not found"));
    }
    let name = unsafe { CStr::from_ptr((*s).s_name) }
        .to_string_lossy()
        .into_owned();
    Ok(Ret::one(Value::Str(name.into())))
}

/// htons and friends, with Python 3.11's overflow messages.
pub fn byte_order(op: ByteOrderOp, n: i64) -> Result<Ret, ExecError> {
    let name = match op {
        ByteOrderOp::Htons => "htons",
        ByteOrderOp::Ntohs => "ntohs",
        ByteOrderOp::Htonl => "htonl",
        ByteOrderOp::Ntohl => "ntohl",
    };
    let v = match op {
        ByteOrderOp::Htons | ByteOrderOp::Ntohs => {
            if n < 0 {
                return Err(ExecError::new(
                    "OverflowError",
                    format!(
                        "{name}: can't convert negative Python int to C 16-bit unsigned integer"
                    ),
                ));
            }
            let x = u16::try_from(n).map_err(|_| {
                ExecError::new(
                    "OverflowError",
                    format!("{name}: Python int too large to convert to C 16-bit unsigned integer"),
                )
            })?;
            i64::from(if op == ByteOrderOp::Htons {
                x.to_be()
            } else {
                u16::from_be(x)
            })
        }
        ByteOrderOp::Htonl | ByteOrderOp::Ntohl => {
            if n < 0 {
                return Err(ExecError::new(
                    "OverflowError",
                    "can't convert negative value to unsigned int",
                ));
            }
            let x = u32::try_from(n)
                .map_err(|_| ExecError::new("OverflowError", "int larger than 32 bits"))?;
            i64::from(if op == ByteOrderOp::Htonl {
                x.to_be()
            } else {
                u32::from_be(x)
            })
        }
    };
    Ok(Ret::one(Value::Int(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(r: Result<Ret, ExecError>) -> Value {
        r.map(|r| r.values.into_iter().next().unwrap_or(Value::None))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_course_examples() {
        assert_eq!(
            one(inet_aton("192.168.1.2")),
            Value::Bytes(vec![0xc0, 0xa8, 1, 2].into())
        );
        assert_eq!(
            one(inet_ntoa(&[0xc0, 0xa8, 1, 2])),
            Value::Str("192.168.1.2".into())
        );
        assert_eq!(
            one(gethostbyname("localhost")),
            Value::Str("127.0.0.1".into())
        );
        assert_eq!(one(byte_order(ByteOrderOp::Htons, 1)), Value::Int(256));
        assert_eq!(
            one(inet_pton(Family::Inet6, "::1")).repr(),
            r"b'\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01'"
        );
        assert!(inet_aton("300.1.1.1").is_err());
        assert!(inet_ntoa(b"abc").is_err());
    }
}

/// getnameinfo's flags, as Python names them.
pub static NI_FLAGS: &[(&str, i32)] = &[
    ("NI_NUMERICHOST", libc::NI_NUMERICHOST),
    ("NI_NUMERICSERV", libc::NI_NUMERICSERV),
    ("NI_NAMEREQD", libc::NI_NAMEREQD),
    ("NI_NOFQDN", libc::NI_NOFQDN),
    ("NI_DGRAM", libc::NI_DGRAM),
];

/// `NI_NUMERICHOST|NI_NUMERICSERV` (or a number) to getnameinfo's flags.
pub fn ni_flags(text: &str) -> Result<i32, ExecError> {
    let mut flags = 0;
    for part in text.split('|').map(str::trim) {
        let name = part.strip_prefix("socket.").unwrap_or(part);
        if let Ok(n) = name.parse::<i32>() {
            flags |= n;
            continue;
        }
        match NI_FLAGS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some((_, v)) => flags |= v,
            None => {
                return Err(ExecError::new(
                    "ValueError",
                    format!("`{}` is not a getnameinfo flag", crate::value::escape_controls(part)),
                )
                .hint("NI_NUMERICHOST, NI_NUMERICSERV, NI_NAMEREQD, NI_NOFQDN or NI_DGRAM, joined with |"));
            }
        }
    }
    Ok(flags)
}

/// getnameinfo(3): (host, service) of an address, as Python returns them.
pub fn getnameinfo(addr: &SockAddr, flags: i32) -> Result<Ret, ExecError> {
    let mut host = vec![0 as libc::c_char; 1025];
    let mut serv = vec![0 as libc::c_char; 32];
    // SAFETY: the address is a valid sockaddr of its length; the buffers
    // are as long as said, and getnameinfo ends what it writes with NUL.
    let rc = unsafe {
        libc::getnameinfo(
            addr.as_ptr().cast(),
            addr.len(),
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            serv.as_mut_ptr(),
            serv.len() as libc::socklen_t,
            flags,
        )
    };
    if rc == libc::EAI_SYSTEM {
        return Err(std::io::Error::last_os_error().into());
    }
    if rc != 0 {
        let mut x = gai_error(rc);
        x.hint = Some(if flags & libc::NI_NAMEREQD != 0 {
            "NI_NAMEREQD: the address has no name in /etc/hosts or DNS, and a number is not taken instead".into()
        } else {
            "getnameinfo could not name this address".into()
        });
        return Err(x);
    }
    // SAFETY: NUL-terminated by getnameinfo.
    let text = |b: &[libc::c_char]| {
        unsafe { CStr::from_ptr(b.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    Ok(Ret::one(Value::Tuple(vec![
        Value::Str(text(&host).into()),
        Value::Str(text(&serv).into()),
    ])))
}

// glibc's reentrant form (the libc crate has only the static one).
unsafe extern "C" {
    fn getprotobyname_r(
        name: *const libc::c_char,
        result_buf: *mut libc::protoent,
        buf: *mut libc::c_char,
        buflen: libc::size_t,
        result: *mut *mut libc::protoent,
    ) -> libc::c_int;
}

/// getprotobyname(3): the number of a protocol, from /etc/protocols.
pub fn getprotobyname(name: &str) -> Result<Ret, ExecError> {
    let c =
        CString::new(name).map_err(|_| ExecError::new("ValueError", "embedded null character"))?;
    // SAFETY: the result buffer outlives the call; the entry it fills
    // points into that buffer, and is read before it is dropped.
    let mut ent: libc::protoent = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut res: *mut libc::protoent = std::ptr::null_mut();
    let rc =
        unsafe { getprotobyname_r(c.as_ptr(), &mut ent, buf.as_mut_ptr(), buf.len(), &mut res) };
    if rc != 0 || res.is_null() {
        return Err(ExecError::new("OSError", "protocol not found")
            .hint("the name is not in /etc/protocols (try tcp, udp, icmp, ipv6-icmp)"));
    }
    Ok(Ret::one(Value::Int(i64::from(ent.p_proto))))
}

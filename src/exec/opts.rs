//! setsockopt and getsockopt over the option table of [`crate::spec`].
//!
//! socket2 has a method per option but no generic call, and the shell
//! takes any option of the table by name, as Python's
//! `setsockopt(level, option, value)` does; so the two calls go to libc.

use super::{Item, Ret, Session, Sink};
use crate::errors::{ExecError, errno_name};
use crate::spec::{self, OptKind, OptSpec};
use crate::syntax::ast::{Expr, SockKind, SockRef, Spanned};
use crate::value::Value;
use std::os::fd::RawFd;

fn set_raw<T>(fd: RawFd, o: &OptSpec, v: &T) -> Result<(), ExecError> {
    // SAFETY: `v` is a valid T for the length given.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            o.level,
            o.number,
            (v as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().into())
    }
}

fn get_raw<T: Copy>(fd: RawFd, o: &OptSpec, init: T) -> Result<T, ExecError> {
    let mut v = init;
    let mut len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `v` is writable for `len` bytes.
    let rc =
        unsafe { libc::getsockopt(fd, o.level, o.number, (&mut v as *mut T).cast(), &mut len) };
    if rc == 0 {
        Ok(v)
    } else {
        Err(std::io::Error::last_os_error().into())
    }
}

/// Reads an option as the shell shows it.
pub fn read_option(fd: RawFd, o: &OptSpec) -> Result<Value, ExecError> {
    Ok(match o.kind {
        OptKind::Int | OptKind::Bool | OptKind::Error | OptKind::ReadOnly => {
            Value::Int(i64::from(get_raw::<libc::c_int>(fd, o, 0)?))
        }
        OptKind::Linger => {
            let l = get_raw(
                fd,
                o,
                libc::linger {
                    l_onoff: 0,
                    l_linger: 0,
                },
            )?;
            Value::Tuple(vec![
                Value::Int(i64::from(l.l_onoff)),
                Value::Int(i64::from(l.l_linger)),
            ])
        }
        OptKind::Time => {
            let t = get_raw(
                fd,
                o,
                libc::timeval {
                    tv_sec: 0,
                    tv_usec: 0,
                },
            )?;
            Value::Float(t.tv_sec as f64 + t.tv_usec as f64 / 1e6)
        }
        OptKind::Addr4 => {
            let a = get_raw(fd, o, libc::in_addr { s_addr: 0 })?;
            Value::Str(
                std::net::Ipv4Addr::from(a.s_addr.to_ne_bytes())
                    .to_string()
                    .into(),
            )
        }
    })
}

/// A hint for a refused setsockopt.
fn set_error(mut x: ExecError, o: &OptSpec) -> ExecError {
    if x.is_errno(libc::EINVAL) {
        x.hint = Some(if o.name == "IPV6_V6ONLY" {
            "IPV6_V6ONLY can only be changed before bind".into()
        } else {
            format!(
                "the kernel refused this value of {} (out of range, or not changeable in this state)",
                o.name
            )
        });
    } else if x.is_errno(libc::ENOPROTOOPT) || x.is_errno(libc::EOPNOTSUPP) {
        x.hint = Some(format!(
            "this socket does not have {} ({} options apply to some socket types only)",
            o.name, o.level_name
        ));
    }
    x
}

impl Session {
    fn resolve_option(
        &self,
        level: Option<&Spanned<String>>,
        option: &Spanned<String>,
    ) -> Result<(OptSpec, Option<String>), ExecError> {
        let Some(&o) = spec::option(&option.node) else {
            let mut x = ExecError::new(
                "AttributeError",
                format!("module 'socket' has no attribute '{}'", option.node),
            )
            .at(option.span);
            x.hint = Some(
                match spec::nearest(&option.node, spec::OPTIONS.iter().map(|o| o.name)) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => "known options: help setsockopt".into(),
                },
            );
            return Err(x);
        };
        if let Some(l) = level {
            match spec::level(&l.node) {
                Some(n) if n == o.level => {}
                Some(n) => {
                    // Python passes the level and the option's number as
                    // they are, and so does the shell: the kernel reads the
                    // number at that level, where it may mean another
                    // option (or none).
                    let other = spec::OPTIONS
                        .iter()
                        .find(|x| x.level == n && x.number == o.number)
                        .map_or("no option sockplay knows".to_string(), |x| {
                            x.name.to_string()
                        });
                    let why = format!(
                        "{} is an option of {}; at level {} its number {} means {other}",
                        o.name,
                        o.level_name,
                        spec::level_name(n),
                        o.number
                    );
                    let at_level = OptSpec {
                        level: n,
                        level_name: spec::level_name(n),
                        ..o
                    };
                    return Ok((at_level, Some(why)));
                }
                None => {
                    return Err(ExecError::new(
                        "AttributeError",
                        format!("module 'socket' has no attribute '{}'", l.node),
                    )
                    .at(l.span)
                    .hint("levels: SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP, IPPROTO_IPV6"));
                }
            }
        }
        Ok((o, None))
    }

    pub(super) fn setsockopt(
        &mut self,
        r: &Spanned<SockRef>,
        level: Option<&Spanned<String>>,
        option: &Spanned<String>,
        values: &[Spanned<Expr>],
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let (o, mismatch) = self.resolve_option(level, option)?;
        let o = &o;
        if o.level == libc::SOL_SOCKET
            && o.number == libc::SO_RCVLOWAT
            && let Some(e) = self.table.get_mut(h)
        {
            e.rcvlowat = true;
        }
        let fd = h.fd;
        let label = self.entry(r)?.label();
        let kind = self.entry(r)?.kind;
        // IP_MULTICAST_TTL, _IF, _LOOP on a TCP socket: multicast is
        // datagrams only (the kernel says EINVAL for some, takes others
        // in silence).
        let multicast_misuse = o.name.starts_with("IP_MULTICAST") && kind != SockKind::Dgram;
        let multicast_hint = format!(
            "IP_MULTICAST_* options are for UDP sockets (socket udp): multicast is datagrams, \
             a {} socket never sends any",
            match kind {
                SockKind::Stream => "TCP (stream)",
                SockKind::SeqPacket => "SOCK_SEQPACKET",
                _ => "raw",
            }
        );
        let first = values
            .first()
            .ok_or_else(|| ExecError::usage(format!("setsockopt {} needs a value", o.name)))?;
        let extra = |k: usize| -> Result<(), ExecError> {
            match values.get(k) {
                Some(v) => Err(ExecError::usage("too many values for this option").at(v.span)),
                None => Ok(()),
            }
        };
        let refused = |x: ExecError| {
            let mut x = set_error(x, o).at(option.span);
            if let Some(m) = &mismatch {
                x.hint = Some(m.clone());
            } else if multicast_misuse {
                x.hint = Some(multicast_hint.clone());
            }
            x
        };
        let int_of = |v: &Spanned<Expr>| -> Result<libc::c_int, ExecError> {
            libc::c_int::try_from(self.int(v)?).map_err(|_| {
                ExecError::new("OverflowError", "signed integer is greater than maximum").at(v.span)
            })
        };
        match o.kind {
            OptKind::Error | OptKind::ReadOnly => {
                return Err(ExecError::os(libc::ENOPROTOOPT)
                    .at(option.span)
                    .hint(format!("{} can only be read (getsockopt)", o.name)));
            }
            OptKind::Linger if values.len() == 1 => {
                // As in Python, one int is 4 bytes where the kernel wants a
                // struct linger: it refuses.
                let n = int_of(first)?;
                set_raw(fd, o, &n).map_err(|x| {
                    let mut x = refused(x);
                    x.hint = Some(
                        "SO_LINGER takes two values, on and seconds: setsockopt c SO_LINGER 1 0 \
                         (in Python: struct.pack('ii', 1, 0))"
                            .into(),
                    );
                    x
                })?;
            }
            OptKind::Linger => {
                extra(2)?;
                let on = int_of(first)?;
                let secs = match values.get(1) {
                    Some(v) => int_of(v)?,
                    None => 0,
                };
                let l = libc::linger {
                    l_onoff: libc::c_int::from(on != 0),
                    l_linger: secs,
                };
                set_raw(fd, o, &l).map_err(refused)?;
            }
            OptKind::Time => {
                extra(1)?;
                let secs = self.float_or_none(first)?.unwrap_or(0.0).max(0.0);
                let tv = libc::timeval {
                    tv_sec: secs.trunc() as libc::time_t,
                    tv_usec: (secs.fract() * 1e6) as libc::suseconds_t,
                };
                set_raw(fd, o, &tv).map_err(refused)?;
            }
            OptKind::Int | OptKind::Bool => {
                extra(1)?;
                let n = int_of(first)?;
                set_raw(fd, o, &n).map_err(refused)?;
            }
            OptKind::Addr4 => {
                extra(1)?;
                let text = self.text(first)?;
                let ip: std::net::Ipv4Addr = text.parse().map_err(|_| {
                    ExecError::new("OSError", "illegal IP address string")
                        .at(first.span)
                        .hint("the interface is given by its IPv4 address, e.g. 127.0.0.1")
                })?;
                let a = libc::in_addr {
                    s_addr: u32::from_ne_bytes(ip.octets()),
                };
                set_raw(fd, o, &a).map_err(refused)?;
            }
        }
        if let Some(m) = mismatch {
            out.emit(Item::Done(format!(
                "{label}: the kernel took option number {} at level {}",
                o.number, o.level_name
            )));
            out.emit(Item::Warn(m));
            return Ok(Ret::none());
        }
        let now = read_option(fd, o)?;
        out.emit(Item::Done(format!(
            "{}: {} = {}",
            label,
            o.name,
            now.repr()
        )));
        if multicast_misuse {
            out.emit(Item::Warn(format!(
                "{multicast_hint}: the kernel took the value, and it changes nothing"
            )));
        }
        let asked = self.int(first).ok();
        match (o.name, &now) {
            ("SO_RCVBUF" | "SO_SNDBUF", Value::Int(got)) if asked.is_some_and(|a| a != *got) => {
                out.emit(Item::Note(format!(
                    "you asked {}, the kernel keeps {got}: it doubles the size for its own bookkeeping \
                     and clamps it to the system's limits",
                    asked.unwrap_or_default()
                )));
            }
            ("SO_LINGER", _) => {
                out.emit(Item::Note(o.doc.to_string()));
                if matches!(&now, Value::Tuple(v) if v.first() == Some(&Value::Int(1)) && v.get(1) == Some(&Value::Int(0)))
                {
                    out.emit(Item::Note(
                        "close on this socket now sends RST: the peer sees ConnectionResetError, and there is no TIME_WAIT"
                            .into(),
                    ));
                }
                out.emit(Item::Note(
                    "in Python: setsockopt(SOL_SOCKET, SO_LINGER, struct.pack('ii', on, seconds)); \
                     getsockopt without a buffer size returns only the first int"
                        .into(),
                ));
            }
            ("SO_RCVTIMEO" | "SO_SNDTIMEO", _) => {
                out.emit(Item::Note(o.doc.to_string()));
                out.emit(Item::Note(
                    "in Python: setsockopt(SOL_SOCKET, SO_RCVTIMEO, struct.pack('ll', seconds, microseconds)); \
                     settimeout is what Python programs use instead"
                        .into(),
                ));
            }
            _ => out.emit(Item::Note(o.doc.to_string())),
        }
        // Set after bind: the course's order is the other way round, and
        // this socket's own bind is done already.
        if matches!(o.name, "SO_REUSEADDR" | "SO_REUSEPORT")
            && asked.is_some_and(|a| a != 0)
            && let Ok(e) = self.entry(r)
            && e.sock
                .local_addr()
                .is_ok_and(|a| crate::table::is_bound(&a))
            // A connected client is bound by its connect: not the case.
            && e.sock.peer_addr().is_err()
        {
            out.emit(Item::Warn(format!(
                "{label} is bound already: {} helps a bind that comes after it, so set it before bind \
                 (as the course's servers do: setsockopt, then bind)",
                o.name
            )));
        }
        Ok(Ret::none())
    }

    pub(super) fn getsockopt(
        &mut self,
        r: &Spanned<SockRef>,
        level: Option<&Spanned<String>>,
        option: &Spanned<String>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let (o, mismatch) = self.resolve_option(level, option)?;
        let o = &o;
        let v = read_option(h.fd, o).map_err(|x| {
            let mut x = set_error(x, o).at(option.span);
            if let Some(m) = &mismatch {
                x.hint = Some(m.clone());
            }
            x
        })?;
        if let Some(m) = mismatch {
            out.emit(Item::Warn(m));
            return Ok(Ret::one(v));
        }
        match (o.kind, &v) {
            (OptKind::Error, Value::Int(0)) => {
                out.emit(Item::Note("0: no error is pending".into()))
            }
            (OptKind::Error, Value::Int(n)) => out.emit(Item::Note(format!(
                "pending error {n} ({}): {}; reading SO_ERROR clears it",
                errno_name(*n as i32).unwrap_or("?"),
                crate::errors::strerror(*n as i32)
            ))),
            (_, Value::Int(n)) if o.name == "SO_TYPE" => out.emit(Item::Note(
                match *n as i32 {
                    libc::SOCK_STREAM => "SOCK_STREAM",
                    libc::SOCK_DGRAM => "SOCK_DGRAM",
                    _ => "another type",
                }
                .into(),
            )),
            (OptKind::Linger, _) => out.emit(Item::Note(
                "(on, seconds); Python's getsockopt without a buffer size returns only the first"
                    .into(),
            )),
            _ => {}
        }
        Ok(Ret::one(v))
    }

    /// `join` / `leave`: IP_ADD_MEMBERSHIP and IP_DROP_MEMBERSHIP (IPv4),
    /// IPV6_JOIN_GROUP and IPV6_LEAVE_GROUP (IPv6).
    pub(super) fn membership(
        &mut self,
        join: bool,
        r: &Spanned<SockRef>,
        group: &Spanned<Expr>,
        interface: Option<&Spanned<Expr>>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        use std::net::{IpAddr, Ipv4Addr};
        self.use_sock(r)?;
        let e = self.entry(r)?;
        let label = e.label();
        let g: IpAddr = self.text(group)?.parse().map_err(|_| {
            ExecError::new("OSError", "illegal IP address string")
                .at(group.span)
                .hint("a multicast group is an address like 224.1.1.1 (IPv4: 224.0.0.0 to 239.255.255.255)")
        })?;
        if !g.is_multicast() {
            return Err(ExecError::os(libc::EINVAL).at(group.span).hint(format!(
                "{g} is not a multicast address (IPv4 groups are 224.0.0.0 to 239.255.255.255)"
            )));
        }
        let iface_text = match interface {
            Some(i) => Some(self.text(i)?),
            None => None,
        };
        let verb = if join { "joined" } else { "left" };
        match g {
            IpAddr::V4(g4) => {
                let iface: Ipv4Addr = match &iface_text {
                    Some(t) => t.parse().map_err(|_| {
                        ExecError::new("OSError", "illegal IP address string")
                            .hint("the interface is given by its address: 127.0.0.1 for loopback")
                    })?,
                    None => Ipv4Addr::UNSPECIFIED,
                };
                let res = if join {
                    e.sock.join_multicast_v4(&g4, &iface)
                } else {
                    e.sock.leave_multicast_v4(&g4, &iface)
                };
                res.map_err(|x| ExecError::from(x).at(group.span))?;
                out.emit(Item::Done(format!(
                    "{label} {verb} the group {g4} on {}",
                    if iface.is_unspecified() {
                        "the default interface".to_string()
                    } else {
                        iface.to_string()
                    }
                )));
            }
            IpAddr::V6(g6) => {
                let res = if join {
                    e.sock.join_multicast_v6(&g6, 0)
                } else {
                    e.sock.leave_multicast_v6(&g6, 0)
                };
                res.map_err(|x| ExecError::from(x).at(group.span))?;
                out.emit(Item::Done(format!("{label} {verb} the group {g6}")));
            }
        }
        if join {
            let port = e
                .sock
                .local_addr()
                .ok()
                .and_then(|a| a.as_socket())
                .map(|a| a.port())
                .filter(|p| *p != 0);
            out.emit(Item::Note(match port {
                Some(p) => format!(
                    "datagrams sent to {g}:{p} now reach {label}; a sender on this machine sets IP_MULTICAST_IF 127.0.0.1 to send on loopback"
                ),
                None => format!("{label} is not bound: bind it to the port the group's datagrams go to"),
            }));
        }
        Ok(Ret::none())
    }
}

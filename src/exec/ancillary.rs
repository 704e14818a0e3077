//! The real sendmsg(2) and recvmsg(2), with ancillary data: descriptors
//! passed to another process over a UNIX socket (SCM_RIGHTS: `sendmsg u
//! DATA fds a b`, `data, fds = recvmsg u fds`), and the sender's
//! credentials (SCM_CREDENTIALS: `sendmsg u DATA creds`, read by a receiver
//! that set SO_PASSCRED).
//!
//! A descriptor passed is the same socket in the other process: what it
//! writes there, the other end in this shell reads. A socket received is
//! added to the table (its family and type asked of the kernel); any other
//! kind of descriptor (a file, a pipe) is described and closed, since the
//! shell holds only sockets.

use super::io::Ctx;
use super::{Adopt, Item, Ret, Session, Sink, describe_socket};
use crate::errors::ExecError;
use crate::proto::log::Dir;
use crate::syntax::ast::{Expr, Family, Framing, SockKind, SockRef, Spanned};
use crate::table::{self, Origin};
use crate::value::plural;
use crate::value::{SockHandle, Value, addr_short, bytes_repr};
use socket2::SockAddr;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The most descriptors one message carries (the kernel's SCM_MAX_FD): the
/// most one sendmsg sends and one recvmsg makes room for.
const MAX_FDS: usize = 253;

/// recvmsg reads at most this much data with its ancillary data.
const DATA: usize = 64 * 1024;

/// A control-message buffer, aligned for `cmsghdr`.
fn cmsg_buf(bytes: usize) -> Vec<u64> {
    vec![0u64; bytes.div_ceil(8).max(1)]
}

/// sendmsg(2) of `data` with one control message (level SOL_SOCKET).
fn send_with(fd: RawFd, data: &[u8], kind: libc::c_int, payload: &[u8]) -> io::Result<usize> {
    // SAFETY: CMSG_SPACE/CMSG_LEN are arithmetic.
    let space = unsafe { libc::CMSG_SPACE(payload.len() as u32) } as usize;
    let mut cbuf = cmsg_buf(space);
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: msghdr is plain data; every pointer in it points into a
    // buffer that lives until sendmsg returns; the control message is
    // written inside the buffer CMSG_SPACE sized.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = kind;
        (*c).cmsg_len = libc::CMSG_LEN(payload.len() as u32) as usize;
        std::ptr::copy_nonoverlapping(payload.as_ptr(), libc::CMSG_DATA(c), payload.len());
        let n = libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT);
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }
}

/// What one recvmsg(2) brought.
struct Received {
    data: Vec<u8>,
    fds: Vec<OwnedFd>,
    creds: Option<libc::ucred>,
    /// Other control messages: (level, type, bytes).
    other: Vec<(i32, i32, Vec<u8>)>,
    flags: i32,
    from: Option<SockAddr>,
}

fn recv_with(fd: RawFd, maxfds: usize) -> io::Result<Received> {
    let mut data = vec![0u8; DATA];
    // Room for exactly maxfds descriptors (so that more make MSG_CTRUNC),
    // and for credentials when the socket asked for them.
    let passcred = sockopt_int(fd, libc::SOL_SOCKET, libc::SO_PASSCRED).unwrap_or(0) != 0;
    // The kernel puts the credentials first; the descriptors' message is
    // last, so it needs no padding after it: CMSG_LEN, as Python's
    // recv_fds gives, makes room for exactly maxfds (CMSG_SPACE would
    // round up to an even number).
    // SAFETY: arithmetic.
    let space = unsafe {
        (if passcred {
            libc::CMSG_SPACE(size_of::<libc::ucred>() as u32)
        } else {
            0
        }) + if maxfds > 0 {
            libc::CMSG_LEN((maxfds * size_of::<RawFd>()) as u32)
        } else {
            0
        }
    } as usize;
    let mut cbuf = cmsg_buf(space + 16);
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // SAFETY: as in send_with; the kernel writes at most msg_controllen
    // bytes of control messages and msg_namelen bytes of address, and the
    // loop reads only the messages CMSG_FIRSTHDR/CMSG_NXTHDR find in them.
    unsafe {
        let mut storage: libc::sockaddr_storage = std::mem::zeroed();
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_name = (&mut storage as *mut libc::sockaddr_storage).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if space > 0 {
            msg.msg_control = cbuf.as_mut_ptr().cast();
            msg.msg_controllen = space;
        }
        let n = libc::recvmsg(fd, &mut msg, libc::MSG_CMSG_CLOEXEC | libc::MSG_DONTWAIT);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        data.truncate(n as usize);
        let mut out = Received {
            data,
            fds: Vec::new(),
            creds: None,
            other: Vec::new(),
            flags: msg.msg_flags,
            from: None,
        };
        if msg.msg_namelen > 0 {
            let len = msg.msg_namelen;
            let (_, a) = SockAddr::try_init(|st, l| {
                std::ptr::copy_nonoverlapping(
                    (&storage as *const libc::sockaddr_storage).cast::<u8>(),
                    st.cast::<u8>(),
                    len as usize,
                );
                *l = len;
                Ok(())
            })?;
            out.from = Some(a);
        }
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let hdr = &*c;
            let body = libc::CMSG_DATA(c);
            let len = hdr.cmsg_len.saturating_sub(libc::CMSG_LEN(0) as usize);
            match (hdr.cmsg_level, hdr.cmsg_type) {
                (libc::SOL_SOCKET, libc::SCM_RIGHTS) => {
                    for k in 0..len / size_of::<RawFd>() {
                        let fd = std::ptr::read_unaligned(body.cast::<RawFd>().add(k));
                        out.fds.push(OwnedFd::from_raw_fd(fd));
                    }
                }
                (libc::SOL_SOCKET, libc::SCM_CREDENTIALS) if len >= size_of::<libc::ucred>() => {
                    out.creds = Some(std::ptr::read_unaligned(body.cast::<libc::ucred>()));
                }
                (level, kind) => {
                    out.other
                        .push((level, kind, std::slice::from_raw_parts(body, len).to_vec()));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
        Ok(out)
    }
}

/// An int socket option of a descriptor.
fn sockopt_int(fd: RawFd, level: i32, name: i32) -> Option<i32> {
    let mut v: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: one int, its length given.
    let rc = unsafe { libc::getsockopt(fd, level, name, (&mut v as *mut i32).cast(), &mut len) };
    (rc == 0).then_some(v)
}

/// What a received descriptor that is no socket is (`/proc/self/fd`).
fn what_fd(fd: RawFd) -> String {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map(|p| crate::value::escape_controls(&p.display().to_string()))
        .unwrap_or_else(|_| "something".into())
}

impl Session {
    /// `sendmsg sock DATA fds S...` or `sendmsg sock DATA creds`.
    pub(super) fn sendmsg_ancillary(
        &mut self,
        r: &Spanned<SockRef>,
        data: &Spanned<Expr>,
        framing: &Framing,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let body = self.data(data)?;
        let ctx = self.ctx(h)?;
        // The sockets passed will be held elsewhere too: close then asks
        // who else holds them.
        if matches!(framing, Framing::Fds(_)) {
            self.table.shared_sockets = true;
        }
        if ctx.family != Family::Unix {
            return Err(ExecError::os(libc::EINVAL).at(r.span).hint(
                "descriptors and credentials travel over UNIX sockets only (socket unix, socketpair)",
            ));
        }
        if body.is_empty() && ctx.kind == SockKind::Stream {
            return Err(ExecError::new(
                "ValueError",
                "send at least one byte with the ancillary data",
            )
            .at(data.span)
            .hint(
                "on a stream the ancillary data rides on the bytes: with none, nothing arrives",
            ));
        }
        let (kind, payload, what, python) = match framing {
            Framing::Fds(socks) => {
                if let Some(extra) = socks.get(MAX_FDS) {
                    return Err(ExecError::new(
                        "ValueError",
                        format!(
                            "at most {MAX_FDS} descriptors go in one message (the kernel's SCM_MAX_FD), and this is number {}",
                            MAX_FDS + 1
                        ),
                    )
                    .at(extra.span)
                    .hint("send the rest in another sendmsg"));
                }
                let mut fds = Vec::new();
                let mut names = Vec::new();
                for s in socks {
                    let sh = self.sock(s)?;
                    let e = self
                        .table
                        .get(sh)
                        .ok_or_else(|| ExecError::os(libc::EBADF))?;
                    fds.push(sh.fd);
                    names.push(format!("{} (fd {})", e.label(), sh.fd));
                    // The shell keeps every socket O_NONBLOCK in the kernel
                    // and waits with poll; the receiver gets the socket
                    // itself, flags and all. A connected socket goes in the
                    // mode the learner gave it (blocking: the receiver's
                    // recv waits, as in Python); the shell still never
                    // waits in the kernel (its calls say MSG_DONTWAIT). A
                    // listener or a socket still to connect stays
                    // non-blocking (the shell's accept and connect need it).
                    if e.mode == table::Mode::Blocking && e.sock.peer_addr().is_ok() {
                        table::set_kernel_nonblocking(sh.fd, false)?;
                    }
                }
                let payload: Vec<u8> = fds.iter().flat_map(|fd| fd.to_ne_bytes()).collect();
                (
                    libc::SCM_RIGHTS,
                    payload,
                    format!(
                        "{} ({}) with SCM_RIGHTS",
                        plural(fds.len(), "descriptor", "descriptors"),
                        names.join(", ")
                    ),
                    format!(
                        "socket.send_fds({}, [data], [{}])",
                        ctx.label,
                        socks
                            .iter()
                            .map(|s| match &s.node {
                                SockRef::Name(n) => format!("{n}.fileno()"),
                                SockRef::Fd(fd) => fd.to_string(),
                                SockRef::Last => "fd".into(),
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            }
            _ => {
                // SAFETY: getpid/getuid/getgid cannot fail.
                let cred = unsafe {
                    libc::ucred {
                        pid: libc::getpid(),
                        uid: libc::getuid(),
                        gid: libc::getgid(),
                    }
                };
                // SAFETY: ucred is three plain ints.
                let payload = unsafe {
                    std::slice::from_raw_parts(
                        (&cred as *const libc::ucred).cast::<u8>(),
                        size_of::<libc::ucred>(),
                    )
                }
                .to_vec();
                (
                    libc::SCM_CREDENTIALS,
                    payload,
                    format!(
                        "this process's credentials (pid {}, uid {}, gid {}) with SCM_CREDENTIALS",
                        cred.pid, cred.uid, cred.gid
                    ),
                    format!(
                        "{}.sendmsg([data], [(SOL_SOCKET, SCM_CREDENTIALS, struct.pack('3i', pid, uid, gid))])",
                        ctx.label
                    ),
                )
            }
        };
        self.call(
            ctx,
            Box::new(move |ctx: &Ctx, out: &mut dyn Sink| {
                let made = std::cell::Cell::new(0u64);
                let (n, waited) = ctx.wait_call(
                    super::io::Wait {
                        events: libc::POLLOUT,
                        send: true,
                        nonblock_hint: "the send buffer is full and the socket is non-blocking",
                    },
                    |ctx| Item::Waiting {
                        call: format!("sendmsg(fd {})", ctx.h.fd),
                        what: "buffer space".into(),
                        queue: format!(
                            "send queue {} bytes",
                            table::send_queue(ctx.h.fd).unwrap_or(0)
                        ),
                    },
                    out,
                    |s| {
                        // The log stamps a send when it was made.
                        made.set(crate::wire::now_ns());
                        send_with(s.as_raw_fd(), &body, kind, &payload)
                    },
                )?;
                if let Some(w) = waited {
                    out.emit(Item::Waited(w));
                }
                ctx.log_bytes_at(Dir::Sent, &body[..n], None, Some(made.get()));
                out.emit(Item::Done(format!(
                    "sendmsg: {} and {what}",
                    plural(n, "byte", "bytes")
                )));
                if kind == libc::SCM_RIGHTS {
                    out.emit(Item::Note(
                        "the receiver gets new descriptors of the same sockets: what it sends on them, \
                         their other ends here receive; they stay open here too"
                            .into(),
                    ));
                } else {
                    out.emit(Item::Note(
                        "the receiver sees them only if it set SO_PASSCRED (setsockopt b SO_PASSCRED 1); \
                         the kernel checks them: a process cannot claim another's pid or uid unless root"
                            .into(),
                    ));
                }
                out.emit(Item::Note(format!("in Python: {python}")));
                Ok(Ret::said(Value::Int(n as i64)))
            }),
            out,
        )
    }

    /// `data, fds = recvmsg sock fds [N]`: recvmsg(2) with room for N
    /// descriptors (16 by default) and credentials.
    pub(super) fn recvmsg_ancillary(
        &mut self,
        r: &Spanned<SockRef>,
        max: Option<&Spanned<Expr>>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let maxfds = match max {
            Some(e) => {
                let n = self.int(e)?;
                usize::try_from(n)
                    .ok()
                    .filter(|&n| n <= MAX_FDS)
                    .ok_or_else(|| {
                        ExecError::new("ValueError", format!("room for 0 to {MAX_FDS} descriptors"))
                            .at(e.span)
                    })?
            }
            None => 16,
        };
        let ctx = self.ctx(h)?;
        if ctx.family != Family::Unix {
            return Err(ExecError::os(libc::EINVAL).at(r.span).hint(
                "descriptors and credentials travel over UNIX sockets only (socket unix, socketpair)",
            ));
        }
        // A descriptor received may be of a socket this shell holds
        // already: close then asks which descriptors share a socket.
        self.table.shared_sockets = true;
        if ctx.listening {
            return Err(ExecError::os(libc::ENOTCONN)
                .at(r.span)
                .hint("a listening socket only accepts: recvmsg on the socket accept returned"));
        }
        // Held bytes came with no ancillary data (it was taken with them).
        let pre = super::recv::take_held(&ctx, DATA, false);
        if !pre.is_empty() {
            out.emit(Item::NoWait(format!(
                "{} held from an earlier receive come first, without ancillary data; recvmsg again for the rest",
                plural(pre.len(), "byte", "bytes")
            )));
            return Ok(Ret::two(
                Value::Bytes(pre.bytes.into()),
                Value::List(Vec::new()),
            ));
        }
        self.call(
            ctx,
            Box::new(move |ctx: &Ctx, out: &mut dyn Sink| {
                let (got, waited) = ctx.wait_call(
                    super::io::Wait {
                        events: libc::POLLIN,
                        send: false,
                        nonblock_hint: "nothing is queued and the socket is non-blocking",
                    },
                    |ctx| super::recv::recv_waiting(ctx, false),
                    out,
                    |s| recv_with(s.as_raw_fd(), maxfds),
                )?;
                if let Some(w) = waited {
                    out.emit(Item::Waited(w));
                }
                ctx.log_bytes(Dir::Received, &got.data, got.from.as_ref());
                received(ctx, got, maxfds, out)
            }),
            out,
        )
    }
}

/// The report of a recvmsg with ancillary data, and the sockets received
/// (to be added to the table).
fn received(ctx: &Ctx, got: Received, maxfds: usize, out: &mut dyn Sink) -> Result<Ret, ExecError> {
    let n = got.data.len();
    let mut msg = format!("recvmsg: {}", plural(n, "byte", "bytes"));
    if n == 0 && got.fds.is_empty() && ctx.kind != SockKind::Dgram {
        msg.push_str(" (b'': the peer closed)");
    }
    if let Some(a) = &got.from
        && table::is_bound(a)
    {
        msg.push_str(&format!(" from {}", addr_short(a)));
    }
    msg.push_str(&match got.fds.len() {
        0 => " and no descriptor".to_string(),
        k => format!(
            " and {} (SCM_RIGHTS)",
            plural(k, "descriptor", "descriptors")
        ),
    });
    out.emit(Item::Done(msg));
    let mut ret = Ret::two(Value::Bytes(got.data.into()), Value::None);
    let mut sockets = Vec::new();
    for fd in got.fds {
        let raw = fd.as_raw_fd();
        let (Some(dom), Some(ty)) = (
            sockopt_int(raw, libc::SOL_SOCKET, libc::SO_DOMAIN),
            sockopt_int(raw, libc::SOL_SOCKET, libc::SO_TYPE),
        ) else {
            ret.after.push(Item::Note(format!(
                "fd {raw} was {}, not a socket: this shell holds sockets only, so it closed it",
                what_fd(raw)
            )));
            continue;
        };
        let family = match dom {
            libc::AF_INET => Family::Inet,
            libc::AF_INET6 => Family::Inet6,
            libc::AF_UNIX => Family::Unix,
            _ => {
                ret.after.push(Item::Note(format!(
                    "fd {raw} is a socket of family {dom}, which this shell does not handle: it closed it"
                )));
                continue;
            }
        };
        let kind = match ty {
            libc::SOCK_STREAM => SockKind::Stream,
            libc::SOCK_DGRAM => SockKind::Dgram,
            libc::SOCK_SEQPACKET => SockKind::SeqPacket,
            _ => SockKind::Raw,
        };
        // The descriptor, as the kernel numbered it. O_NONBLOCK is the
        // socket's, shared with the sender: a connected one is left as the
        // sender has it (the shell's calls say MSG_DONTWAIT); a listener or
        // a socket still to connect is made non-blocking, which the shell's
        // accept and connect need (and the sender's copy becomes so too).
        let sock = socket2::Socket::from(fd);
        if sock.peer_addr().is_err() && !table::kernel_nonblocking(raw) {
            sock.set_nonblocking(true)?;
            ret.after.push(Item::Note(format!(
                "fd {raw} was blocking: the shell made it non-blocking (O_NONBLOCK belongs to the socket, so the other process's copy is non-blocking too)"
            )));
        }
        let handle = SockHandle {
            fd: raw,
            serial: table::next_serial(),
        };
        let d = describe_socket(raw, &sock, family, kind, Vec::new());
        ret.after.push(Item::Note(format!(
            "fd {raw} is {}: a socket from the other process, now in the table (by its fd, or `.`)",
            crate::render::sock_desc(&d)
        )));
        sockets.push(Value::Socket(handle));
        ret.adopt.push(Adopt {
            handle,
            sock,
            family,
            kind,
            origin: Origin::Received { via: ctx.h.fd },
        });
    }
    if let Some(c) = got.creds {
        ret.after.push(Item::Note(format!(
            "SCM_CREDENTIALS: the sender is pid {}, uid {}, gid {} (checked by the kernel)",
            c.pid, c.uid, c.gid
        )));
    }
    for (level, kind, bytes) in &got.other {
        ret.after.push(Item::Note(format!(
            "another control message: level {level}, type {kind}, {}",
            bytes_repr(bytes)
        )));
    }
    if got.flags & libc::MSG_CTRUNC != 0 {
        ret.after.push(Item::Warn(format!(
            "MSG_CTRUNC: more descriptors came than the {maxfds} there was room for; the kernel closed the rest \
             (recvmsg u fds N makes room for N)"
        )));
    }
    if got.flags & libc::MSG_TRUNC != 0 {
        ret.after.push(Item::Warn(
            "MSG_TRUNC: the message was longer than 64 KiB; the rest is lost".into(),
        ));
    }
    ret.values[1] = Value::List(sockets);
    ret.view = crate::syntax::ast::View::Repr;
    Ok(ret)
}

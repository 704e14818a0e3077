//! Errors in Python's words: the exception class a Python program would
//! see, the errno number and message, the errno's C name, and a one-line
//! hint for the mistakes learners make most.

use crate::syntax::ast::Span;
use std::fmt;
use std::io;

/// An error from running a statement.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecError {
    /// The Python exception class: `BrokenPipeError`, `NameError`...
    pub exception: String,
    /// The errno, for OS errors.
    pub errno: Option<i32>,
    pub message: String,
    /// What it usually means and what to do.
    pub hint: Option<String>,
    /// Where in the line the cause is, when it is one token.
    pub span: Option<Span>,
}

impl ExecError {
    pub fn new(exception: &str, message: impl Into<String>) -> Self {
        ExecError {
            exception: exception.into(),
            errno: None,
            message: message.into(),
            hint: None,
            span: None,
        }
    }

    /// An error of the shell's own (not something Python would raise).
    pub fn usage(message: impl Into<String>) -> Self {
        ExecError::new("error", message)
    }

    pub fn at(mut self, span: Span) -> Self {
        if span != Span::default() {
            self.span = Some(span);
        }
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// From an errno, with the default hint for it.
    pub fn os(errno: i32) -> Self {
        let mut e = ExecError::new(exception_for(errno), strerror(errno));
        e.errno = Some(errno);
        e.hint = default_hint(errno).map(str::to_string);
        e
    }

    /// `TimeoutError: timed out`, as Python's socket timeout says it.
    pub fn timeout() -> Self {
        ExecError::new("TimeoutError", "timed out")
            .hint("the socket's timeout passed before the call could complete (settimeout {s} none waits forever)")
    }

    pub fn interrupted() -> Self {
        ExecError::new("KeyboardInterrupt", "")
            .hint("the call was interrupted; the socket is as it was")
    }

    /// The errno's C name (`EPIPE`).
    pub fn errno_name(&self) -> Option<&'static str> {
        self.errno.and_then(errno_name)
    }

    /// True for the errno.
    pub fn is_errno(&self, errno: i32) -> bool {
        self.errno == Some(errno)
    }
}

impl From<io::Error> for ExecError {
    fn from(e: io::Error) -> Self {
        match e.raw_os_error() {
            Some(n) => ExecError::os(n),
            None if e.kind() == io::ErrorKind::TimedOut => ExecError::timeout(),
            None => ExecError::new("OSError", e.to_string()),
        }
    }
}

impl fmt::Display for ExecError {
    /// `BrokenPipeError: [Errno 32] Broken pipe (EPIPE)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.exception == "error" {
            return f.write_str(&self.message);
        }
        f.write_str(&self.exception)?;
        if self.errno.is_none() && self.message.is_empty() {
            return Ok(());
        }
        f.write_str(": ")?;
        if let Some(n) = self.errno {
            write!(f, "[Errno {n}] ")?;
        }
        f.write_str(&self.message)?;
        if let Some(name) = self.errno_name() {
            write!(f, " ({name})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ExecError {}

/// The OSError subclass Python raises for an errno (see PEP 3151).
pub fn exception_for(errno: i32) -> &'static str {
    match errno {
        libc::EPIPE | libc::ESHUTDOWN => "BrokenPipeError",
        libc::ECONNABORTED => "ConnectionAbortedError",
        libc::ECONNREFUSED => "ConnectionRefusedError",
        libc::ECONNRESET => "ConnectionResetError",
        libc::EAGAIN | libc::EALREADY | libc::EINPROGRESS => "BlockingIOError",
        libc::ETIMEDOUT => "TimeoutError",
        libc::EINTR => "InterruptedError",
        libc::ENOENT => "FileNotFoundError",
        libc::EEXIST => "FileExistsError",
        libc::EACCES | libc::EPERM => "PermissionError",
        libc::EISDIR => "IsADirectoryError",
        libc::ENOTDIR => "NotADirectoryError",
        _ => "OSError",
    }
}

/// `strerror(3)`, as Python prints it.
pub fn strerror(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    // std adds " (os error N)"; Python does not.
    match s.rfind(" (os error") {
        Some(k) => s[..k].to_string(),
        None => s,
    }
}

/// C names of the errnos a socket program meets.
pub fn errno_name(errno: i32) -> Option<&'static str> {
    const NAMES: &[(i32, &str)] = &[
        (libc::EPERM, "EPERM"),
        (libc::ENOENT, "ENOENT"),
        (libc::EINTR, "EINTR"),
        (libc::EIO, "EIO"),
        (libc::EBADF, "EBADF"),
        (libc::EAGAIN, "EAGAIN"),
        (libc::ENOMEM, "ENOMEM"),
        (libc::EACCES, "EACCES"),
        (libc::EFAULT, "EFAULT"),
        (libc::EEXIST, "EEXIST"),
        (libc::ENOTDIR, "ENOTDIR"),
        (libc::EISDIR, "EISDIR"),
        (libc::EINVAL, "EINVAL"),
        (libc::ENFILE, "ENFILE"),
        (libc::EMFILE, "EMFILE"),
        (libc::ENOSPC, "ENOSPC"),
        (libc::EPIPE, "EPIPE"),
        (libc::ENAMETOOLONG, "ENAMETOOLONG"),
        (libc::ENOTSOCK, "ENOTSOCK"),
        (libc::EDESTADDRREQ, "EDESTADDRREQ"),
        (libc::EMSGSIZE, "EMSGSIZE"),
        (libc::EPROTOTYPE, "EPROTOTYPE"),
        (libc::ENOPROTOOPT, "ENOPROTOOPT"),
        (libc::EPROTONOSUPPORT, "EPROTONOSUPPORT"),
        (libc::EOPNOTSUPP, "EOPNOTSUPP"),
        (libc::EAFNOSUPPORT, "EAFNOSUPPORT"),
        (libc::EADDRINUSE, "EADDRINUSE"),
        (libc::EADDRNOTAVAIL, "EADDRNOTAVAIL"),
        (libc::ENETDOWN, "ENETDOWN"),
        (libc::ENETUNREACH, "ENETUNREACH"),
        (libc::ECONNABORTED, "ECONNABORTED"),
        (libc::ECONNRESET, "ECONNRESET"),
        (libc::ENOBUFS, "ENOBUFS"),
        (libc::EISCONN, "EISCONN"),
        (libc::ENOTCONN, "ENOTCONN"),
        (libc::ESHUTDOWN, "ESHUTDOWN"),
        (libc::ETIMEDOUT, "ETIMEDOUT"),
        (libc::ECONNREFUSED, "ECONNREFUSED"),
        (libc::EHOSTDOWN, "EHOSTDOWN"),
        (libc::EHOSTUNREACH, "EHOSTUNREACH"),
        (libc::EALREADY, "EALREADY"),
        (libc::EINPROGRESS, "EINPROGRESS"),
    ];
    NAMES.iter().find(|(n, _)| *n == errno).map(|(_, s)| *s)
}

/// The errno for a C name (`expect error ECONNREFUSED` uses this).
pub fn errno_by_name(name: &str) -> Option<i32> {
    (1..200).find(|&n| errno_name(n).is_some_and(|s| s.eq_ignore_ascii_case(name)))
}

/// A one-line hint for the common errors, in a learner's terms.
pub fn default_hint(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::EADDRINUSE => {
            "another socket holds this address, or a closed connection on it is still in TIME_WAIT; \
             setsockopt {s} SO_REUSEADDR 1 before bind lets a server rebind at once"
        }
        libc::ECONNREFUSED => {
            "nothing listens there: the peer answered with RST (start the server, or check the port)"
        }
        libc::EPIPE => {
            "the peer has closed the connection: the first send after its close got a RST back, this one fails"
        }
        libc::ECONNRESET => {
            "the peer reset the connection (it closed with data unread, or with SO_LINGER 0)"
        }
        libc::EACCES => {
            "ports below 1024 need root (or CAP_NET_BIND_SERVICE); use a port above 1024"
        }
        libc::EMSGSIZE => {
            "a datagram this large does not fit in one UDP packet (at most 65507 bytes over IPv4)"
        }
        libc::ENOTCONN => {
            "the socket is not connected: connect it first (or use sendto/recvfrom for UDP)"
        }
        libc::EISCONN => {
            "the socket is already connected: a socket connects once; create a new one"
        }
        libc::EADDRNOTAVAIL => {
            "that address is not one of this machine's (or the port 0 / address is not usable here)"
        }
        libc::EAGAIN => {
            "the socket is non-blocking and the call would have had to wait (nothing queued, or no buffer space)"
        }
        libc::EINPROGRESS => {
            "a non-blocking connect has started; the socket becomes writable when it completes"
        }
        libc::EALREADY => "a connect is already in progress on this socket",
        libc::EBADF => "the socket is closed",
        libc::ENOTSOCK => "that descriptor is not a socket",
        libc::EMFILE => "this process has no descriptors left (ulimit -n): close some sockets",
        libc::EDESTADDRREQ => {
            "this socket has no peer: use sendto with an address, or connect first"
        }
        libc::EOPNOTSUPP => {
            "this socket type does not support that call (e.g. listen or accept on a UDP socket)"
        }
        libc::ENOPROTOOPT => "this socket does not have that option at that level",
        libc::ENOENT => "no such file: for a UNIX socket, the server must bind the path first",
        libc::ETIMEDOUT => "the peer did not answer in time",
        libc::EHOSTUNREACH | libc::ENETUNREACH => "there is no route to that address",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_words() {
        assert_eq!(
            ExecError::os(libc::EPIPE).to_string(),
            "BrokenPipeError: [Errno 32] Broken pipe (EPIPE)"
        );
        assert_eq!(
            ExecError::os(libc::EADDRINUSE).to_string(),
            "OSError: [Errno 98] Address already in use (EADDRINUSE)"
        );
        assert_eq!(
            ExecError::os(libc::EAGAIN).to_string(),
            "BlockingIOError: [Errno 11] Resource temporarily unavailable (EAGAIN)"
        );
        assert_eq!(ExecError::timeout().to_string(), "TimeoutError: timed out");
        assert_eq!(errno_by_name("econnrefused"), Some(libc::ECONNREFUSED));
    }
}

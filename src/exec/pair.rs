//! `socketpair` and `dup`: sockets that are not made by `socket`.
//!
//! A socket pair is two connected UNIX sockets with no address (what a
//! parent and a child process talk over); `dup` gives one socket a second
//! descriptor, and the socket lives as long as either is open. The table
//! notes that some of its descriptors share a socket, so that `close`
//! tells a close that ends a connection from one that only drops a
//! descriptor.

use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::syntax::ast::{Family, SockKind, SockRef, Spanned};
use crate::table::Origin;
use crate::value::Value;
use socket2::Socket;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The inode of the socket behind a descriptor: two descriptors of one
/// socket have the same.
pub(crate) fn inode(fd: i32) -> Option<u64> {
    // SAFETY: fstat fills the struct it is given.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    (unsafe { libc::fstat(fd, &mut st) } == 0).then_some(st.st_ino)
}

impl Session {
    /// The other descriptors of this shell on the same socket as `fd`.
    pub(crate) fn same_socket(&self, fd: i32) -> Vec<String> {
        if !self.table.shared_sockets {
            return Vec::new();
        }
        let Some(ino) = inode(fd) else {
            return Vec::new();
        };
        let mut v: Vec<String> = self
            .table
            .iter()
            .filter(|e| e.fd() != fd && inode(e.fd()) == Some(ino))
            .map(|e| match e.names.first() {
                Some(n) => format!("{n} (fd {})", e.fd()),
                None => format!("fd {}", e.fd()),
            })
            .collect();
        // A program run from the shell that was given it (SCM_RIGHTS).
        v.extend(self.programs.holders(ino));
        v
    }

    pub(super) fn socketpair(
        &mut self,
        family: Option<Family>,
        kind: Option<SockKind>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let family = family.unwrap_or(Family::Unix);
        let kind = kind.unwrap_or(SockKind::Stream);
        let (a, b) = Socket::pair(
            super::calls::domain_of(family),
            super::calls::type_of(kind).nonblocking(),
            None,
        )
        .map_err(|e| {
            let mut x = ExecError::from(e);
            if family != Family::Unix {
                x.hint = Some(
                    "Linux makes socket pairs of UNIX sockets only: socketpair (or socketpair unix dgram)".into(),
                );
            }
            x
        })?;
        let ha = self.table.insert(a, family, kind, Origin::Created)?;
        let hb = self.table.insert(b, family, kind, Origin::Created)?;
        // Made on a lab host (`on a p, q = socketpair`): they are that
        // host's, and go with the lab.
        let host = self.current_host();
        for h in [ha, hb] {
            if let Some(e) = self.table.get_mut(h) {
                e.host.clone_from(&host);
            }
        }
        self.table.last = Some(hb);
        out.emit(Item::Done(format!(
            "two connected {family} {kind} sockets, fd {} and fd {}: what one sends, the other receives \
             (no address, no listen, no accept)",
            ha.fd, hb.fd
        )));
        out.emit(Item::Note(
            "a parent process keeps one end and gives the other to a child (or passes it with sendmsg ... fds)".into(),
        ));
        Ok(Ret::two(Value::Socket(ha), Value::Socket(hb)))
    }

    pub(super) fn dup(
        &mut self,
        r: &Spanned<SockRef>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(r)?;
        let e = self
            .table
            .get(h)
            .ok_or_else(|| ExecError::os(libc::EBADF))?;
        // The lowest free number from 3, as os.dup gives it.
        // SAFETY: F_DUPFD_CLOEXEC on a descriptor we hold returns a new
        // one (or -1), which we then own.
        let fd = unsafe { libc::fcntl(e.fd(), libc::F_DUPFD_CLOEXEC, 3) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        // SAFETY: a fresh descriptor nobody else owns.
        let sock = Socket::from(unsafe { OwnedFd::from_raw_fd(fd) });
        let (family, kind, mode, protocol, label, old_fd) =
            (e.family, e.kind, e.mode, e.protocol, e.label(), e.fd());
        let listening = e.backlog;
        let host = e.host.clone();
        let nh = self.table.insert(sock, family, kind, Origin::Created)?;
        self.table.shared_sockets = true;
        if let Some(n) = self.table.get_mut(nh) {
            // Python's dup keeps the timeout; the socket itself is shared,
            // on the same lab host if it is on one.
            n.mode = mode;
            n.protocol = protocol;
            n.backlog = listening;
            n.host = host;
        }
        self.note_connected_h(nh);
        out.emit(Item::Done(format!(
            "fd {} is a second descriptor of {label}'s socket (fd {old_fd}): one socket, two numbers",
            nh.fd
        )));
        out.emit(Item::Note(
            "both send and receive on the same socket; closing one leaves the socket open while the other is, \
             but shutdown through either shuts it for both"
                .into(),
        ));
        debug_assert_eq!(nh.fd, self.table.get(nh).map_or(-1, |e| e.sock.as_raw_fd()));
        Ok(Ret::one(Value::Socket(nh)))
    }
}

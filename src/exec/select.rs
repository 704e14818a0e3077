//! select and poll over the shell's sockets, as Python's select module does
//! them, saying *why* each socket is ready: what the next call on it would
//! find (a connection in the accept queue, bytes queued, the peer's close,
//! buffer space, urgent data).

use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::syntax::ast::{Expr, SockKind, SockRef, Spanned};
use crate::table::{self, Entry};
use crate::value::{SockHandle, Value};
use crate::wait::{self, Stopped};
use std::time::{Duration, Instant};

/// A ready socket and its poll() revents.
type Ready = (SockHandle, libc::c_short);

/// Why a socket is readable, in terms of the next call on it.
pub(super) fn why_readable(e: &Entry, revents: libc::c_short) -> String {
    let listening = e.sock.is_listener().unwrap_or(false);
    if e.kind == SockKind::Stream && !listening && e.sock.peer_addr().is_err() && !e.was_connected {
        return "it is not connected, so a recv fails at once (ENOTCONN): poll counts that as ready".into();
    }
    if let Some((q, max)) = super::calls::accept_queue(e) {
        return format!(
            "{q} connection{} waiting in the accept queue ({q}/{max}): accept will not block",
            if q == 1 { "" } else { "s" }
        );
    }
    if revents & libc::POLLERR != 0 {
        return "an error is pending (the connection was reset): the next call reports it".into();
    }
    let q = table::recv_queue(e.fd()).unwrap_or(0);
    if q > 0 {
        return match e.kind {
            SockKind::Dgram | SockKind::Raw => {
                format!("a datagram of {q} bytes is queued: recvfrom will not block")
            }
            SockKind::SeqPacket => format!("a message of {q} bytes is queued: recv will not block"),
            SockKind::Stream => format!("{q} bytes queued: recv will not block"),
        };
    }
    if revents & (libc::POLLHUP | libc::POLLRDHUP) != 0 || revents & libc::POLLIN != 0 {
        return "the peer closed: recv returns b'' at once".into();
    }
    "readable".into()
}

pub(super) fn why_writable(e: &Entry) -> String {
    let sndbuf = e.sock.send_buffer_size().unwrap_or(0);
    let queued = table::send_queue(e.fd()).unwrap_or(0) as usize;
    if sndbuf > 0 {
        format!(
            "{} bytes of buffer space free: send will not block",
            sndbuf.saturating_sub(queued)
        )
    } else {
        "buffer space: send will not block".into()
    }
}

impl Session {
    /// Held bytes are the shell's, not the kernel's: select, poll and
    /// epoll do not see them. Says so for the sockets asked about.
    pub(super) fn note_held(&self, read: &[SockHandle], out: &mut dyn Sink) {
        for h in read {
            if let Some(e) = self.table.get(*h) {
                let n = e.held_len();
                if n > 0 {
                    out.emit(Item::Note(format!(
                        "{} has {n} bytes held by sockplay (read by an earlier receive): a receive returns them at once, \
                         but the kernel, and so this call, does not count them",
                        e.label()
                    )));
                }
            }
        }
    }

    fn group(&mut self, refs: &[Spanned<SockRef>]) -> Result<Vec<SockHandle>, ExecError> {
        refs.iter().map(|r| self.sock(r)).collect()
    }

    /// The sockets of the three groups (read, write, urgent), polled for
    /// their groups' events until one is ready; a real wait is reported.
    /// Returns the groups' handles, and the ready ones with their revents
    /// (none on timeout).
    fn poll_groups(
        &mut self,
        refs: [&[Spanned<SockRef>]; 3],
        timeout: Option<Duration>,
        call: &str,
        out: &mut dyn Sink,
    ) -> Result<([Vec<SockHandle>; 3], Vec<Ready>), ExecError> {
        let groups = [
            self.group(refs[0])?,
            self.group(refs[1])?,
            self.group(refs[2])?,
        ];
        let events = [libc::POLLIN | libc::POLLRDHUP, libc::POLLOUT, libc::POLLPRI];
        let mut handles: Vec<SockHandle> = Vec::new();
        let mut fds: Vec<libc::pollfd> = Vec::new();
        for (g, list) in groups.iter().enumerate() {
            for h in list {
                match handles.iter().position(|x| x == h) {
                    Some(k) => fds[k].events |= events[g],
                    None => {
                        handles.push(*h);
                        fds.push(libc::pollfd {
                            fd: h.fd,
                            events: events[g],
                            revents: 0,
                        });
                    }
                }
            }
        }
        let start = Instant::now();
        // First look without waiting: only a real wait is announced.
        let now = wait::wait_fds(&mut fds, Some(start), &self.cancel());
        let mut waited = None;
        match now {
            Ok(_) => {}
            Err(Stopped::Interrupted) => return Err(ExecError::interrupted()),
            Err(Stopped::TimedOut) if timeout == Some(Duration::ZERO) => {}
            Err(Stopped::TimedOut) => {
                let names = |hs: &[SockHandle]| {
                    hs.iter()
                        .filter_map(|h| self.table.get(*h).map(|e| e.label()))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let mut what = Vec::new();
                for (g, word) in ["readable", "writable", "with urgent data"]
                    .iter()
                    .enumerate()
                {
                    if !groups[g].is_empty() {
                        what.push(format!("{} {word}", names(&groups[g])));
                    }
                }
                out.emit(Item::Waiting {
                    call: call.into(),
                    what: format!("one of: {}", what.join("; ")),
                    queue: match timeout {
                        Some(t) => format!("up to {}", wait::human(t)),
                        None => "no timeout".into(),
                    },
                });
                match wait::wait_fds(&mut fds, timeout.map(|t| start + t), &self.cancel()) {
                    Ok(_) => waited = Some(start.elapsed()),
                    Err(Stopped::Interrupted) => return Err(ExecError::interrupted()),
                    Err(Stopped::TimedOut) => {
                        for p in fds.iter_mut() {
                            p.revents = 0;
                        }
                        waited = Some(start.elapsed());
                    }
                }
            }
        }
        let ready = handles
            .into_iter()
            .zip(fds.iter().map(|p| p.revents))
            .filter(|(_, r)| *r != 0)
            .collect();
        if let Some(d) = waited {
            out.emit(Item::Waited(d));
        }
        self.note_held(&groups[0], out);
        Ok((groups, ready))
    }

    fn timeout_secs(
        &self,
        t: Option<&Spanned<Expr>>,
        scale: f64,
    ) -> Result<Option<Duration>, ExecError> {
        let Some(t) = t else { return Ok(None) };
        match self.float_or_none(t)? {
            None => Ok(None),
            Some(v) if v < 0.0 && scale == 1.0 => {
                Err(ExecError::new("ValueError", "timeout must be non-negative").at(t.span))
            }
            // poll(): a negative timeout means forever, as in C and Python.
            Some(v) if v < 0.0 => Ok(None),
            Some(v) => crate::wait::timeout_of(v * scale)
                .map(Some)
                .ok_or_else(|| ExecError::new("OverflowError", "timeout is too large").at(t.span)),
        }
    }

    pub(super) fn select(
        &mut self,
        groups: [&[Spanned<SockRef>]; 3],
        timeout: Option<&Spanned<Expr>>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let t = self.timeout_secs(timeout, 1.0)?;
        let ([r, w, x], ready) = self.poll_groups(groups, t, "select", out)?;
        let mut lists: [Vec<Value>; 3] = Default::default();
        for (h, rev) in &ready {
            let Some(e) = self.table.get(*h) else {
                continue;
            };
            // select's read set also takes EOF, hangup and errors.
            if r.contains(h)
                && rev & (libc::POLLIN | libc::POLLHUP | libc::POLLERR | libc::POLLRDHUP) != 0
            {
                lists[0].push(Value::Socket(*h));
                out.emit(Item::Done(format!(
                    "{} readable: {}",
                    e.label(),
                    why_readable(e, *rev)
                )));
            }
            if w.contains(h) && rev & (libc::POLLOUT | libc::POLLERR | libc::POLLHUP) != 0 {
                lists[1].push(Value::Socket(*h));
                out.emit(Item::Done(format!(
                    "{} writable: {}",
                    e.label(),
                    why_writable(e)
                )));
            }
            if x.contains(h) && rev & libc::POLLPRI != 0 {
                lists[2].push(Value::Socket(*h));
                out.emit(Item::Done(format!(
                    "{} has urgent (OOB) data: recv {} 1 oob reads it",
                    e.label(),
                    e.label()
                )));
            }
        }
        if lists.iter().all(Vec::is_empty) {
            out.emit(Item::Done(
                "nothing ready: select timed out and returns three empty lists".into(),
            ));
        }
        let [a, b, c] = lists;
        let mut ret = Ret::one(Value::List(a));
        ret.values.push(Value::List(b));
        ret.values.push(Value::List(c));
        // The lines above say it all; the lists show when bound.
        ret.said = true;
        Ok(ret)
    }

    pub(super) fn poll_cmd(
        &mut self,
        groups: [&[Spanned<SockRef>]; 3],
        timeout: Option<&Spanned<Expr>>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let t = self.timeout_secs(timeout, 0.001)?;
        let (_, ready) = self.poll_groups(groups, t, "poll", out)?;
        let mut list = Vec::new();
        for (h, rev) in &ready {
            let Some(e) = self.table.get(*h) else {
                continue;
            };
            let mut names = Vec::new();
            let mut why = Vec::new();
            for (bit, name) in [
                (libc::POLLIN, "POLLIN"),
                (libc::POLLPRI, "POLLPRI"),
                (libc::POLLOUT, "POLLOUT"),
                (libc::POLLERR, "POLLERR"),
                (libc::POLLHUP, "POLLHUP"),
                (libc::POLLRDHUP, "POLLRDHUP"),
            ] {
                if rev & bit != 0 {
                    names.push(name);
                }
            }
            if rev & (libc::POLLIN | libc::POLLERR | libc::POLLHUP | libc::POLLRDHUP) != 0 {
                why.push(why_readable(e, *rev));
            }
            if rev & libc::POLLOUT != 0 {
                why.push(why_writable(e));
            }
            if rev & libc::POLLPRI != 0 {
                why.push("urgent (OOB) data".into());
            }
            out.emit(Item::Done(format!(
                "fd {} ({}): {} - {}",
                h.fd,
                e.label(),
                names.join("|"),
                why.join("; ")
            )));
            list.push(Value::Tuple(vec![
                Value::Int(i64::from(h.fd)),
                Value::Int(i64::from(*rev)),
            ]));
        }
        if list.is_empty() {
            out.emit(Item::Done(
                "nothing ready: poll timed out and returns []".into(),
            ));
        }
        let mut ret = Ret::one(Value::List(list));
        ret.said = true;
        Ok(ret)
    }
}

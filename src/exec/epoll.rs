//! epoll, as Python's select.epoll: `ep = epoll` creates one, `epoll ep
//! add s in` (register), `epoll ep mod s out` (modify), `epoll ep del s`
//! (unregister), `epoll ep wait 2.5` (poll), `epoll ep` shows what it
//! watches, `epoll ep close`. Like select and poll (select.rs), each ready
//! socket comes with the reason its next call will not block.
//!
//! Unlike select and poll, the kernel keeps the interest list between
//! waits: a wait costs the ready sockets, not the watched ones (the C10K
//! lesson measures it, see c10k.rs).

use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::syntax::ast::{EpollOp, Expr, SockRef, Spanned};
use crate::value::{EpollRef, SockHandle, Value};
use crate::wait::{self, Stopped};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// One epoll instance of the session.
pub(crate) struct EpollSet {
    pub fd: OwnedFd,
    /// What it watches, by the number it was added with.
    pub interest: BTreeMap<i32, Watch>,
}

/// One socket an epoll watches. The kernel watches the open socket, not
/// its number: closing the descriptor ends the watch only when no other
/// descriptor (dup, a received copy) keeps the socket open. So the socket
/// is remembered by its inode and its name, which outlive the descriptor.
#[derive(Clone)]
pub(crate) struct Watch {
    pub h: SockHandle,
    pub events: u32,
    pub ino: Option<u64>,
    pub label: String,
}

impl Session {
    /// The descriptors of the table still open on the socket `w` was
    /// added with, after its own was closed (`a2 (fd 5)`).
    fn still_open(&self, w: &Watch) -> Vec<String> {
        let Some(ino) = w.ino else {
            return Vec::new();
        };
        self.table
            .iter()
            .filter(|e| e.handle != w.h && super::pair::inode(e.fd()) == Some(ino))
            .map(|e| format!("{} (fd {})", e.label(), e.fd()))
            .collect()
    }
}

/// The event words, their bits, and what each means.
pub(crate) const EVENTS: &[(&str, u32, &str)] = &[
    ("in", libc::EPOLLIN as u32, "EPOLLIN"),
    ("out", libc::EPOLLOUT as u32, "EPOLLOUT"),
    ("pri", libc::EPOLLPRI as u32, "EPOLLPRI"),
    ("rdhup", libc::EPOLLRDHUP as u32, "EPOLLRDHUP"),
    ("et", libc::EPOLLET as u32, "EPOLLET"),
    ("oneshot", libc::EPOLLONESHOT as u32, "EPOLLONESHOT"),
];

/// The names of the bits set (`EPOLLIN|EPOLLOUT`); ERR and HUP, which the
/// kernel reports unasked, too.
pub(crate) fn event_names(ev: u32) -> String {
    let mut names: Vec<&str> = EVENTS
        .iter()
        .filter(|(_, bit, _)| ev & bit != 0)
        .map(|(_, _, n)| *n)
        .collect();
    if ev & libc::EPOLLERR as u32 != 0 {
        names.push("EPOLLERR");
    }
    if ev & libc::EPOLLHUP as u32 != 0 {
        names.push("EPOLLHUP");
    }
    if names.is_empty() {
        "0".into()
    } else {
        names.join("|")
    }
}

fn events_of(words: &[Spanned<String>]) -> Result<u32, ExecError> {
    if words.is_empty() {
        return Ok(libc::EPOLLIN as u32);
    }
    let mut ev = 0;
    for w in words {
        let lw = w.node.to_ascii_lowercase();
        let lw = lw.strip_prefix("select.").unwrap_or(&lw);
        let lw = lw.strip_prefix("epoll").unwrap_or(lw);
        match EVENTS.iter().find(|(n, _, _)| *n == lw) {
            Some((_, bit, _)) => ev |= bit,
            None => {
                return Err(ExecError::new(
                    "ValueError",
                    format!(
                        "`{}` is not an epoll event",
                        crate::value::escape_controls(&w.node)
                    ),
                )
                .at(w.span)
                .hint("in, out, pri, rdhup, et (edge-triggered) or oneshot (or EPOLLIN...)"));
            }
        }
    }
    Ok(ev)
}

impl Session {
    /// The epoll instance a name holds.
    fn epoll_of(&self, name: &Spanned<String>) -> Result<EpollRef, ExecError> {
        match self.vars.get(&name.node) {
            Some(Value::Epoll(r)) if self.epolls.contains_key(&r.id) => Ok(*r),
            Some(Value::Epoll(_)) => Err(ExecError::os(libc::EBADF)
                .at(name.span)
                .hint("this epoll was closed; ep = epoll makes a new one")),
            Some(other) => Err(ExecError::new(
                "TypeError",
                format!(
                    "'{}' is {}, not an epoll",
                    name.node,
                    crate::value::a_type(other)
                ),
            )
            .at(name.span)),
            None => Err(ExecError::new(
                "NameError",
                format!("name '{}' is not defined", name.node),
            )
            .at(name.span)
            .hint("ep = epoll makes one")),
        }
    }

    pub(super) fn epoll_cmd(
        &mut self,
        ep: Option<&Spanned<String>>,
        op: &EpollOp,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let Some(name) = ep else {
            return self.epoll_create(out);
        };
        let r = self.epoll_of(name)?;
        match op {
            EpollOp::Show => self.epoll_show(r, &name.node, out),
            EpollOp::Add(s, words) => {
                self.epoll_ctl(r, &name.node, libc::EPOLL_CTL_ADD, s, words, out)
            }
            EpollOp::Modify(s, words) => {
                self.epoll_ctl(r, &name.node, libc::EPOLL_CTL_MOD, s, words, out)
            }
            EpollOp::Delete(s) => self.epoll_ctl(r, &name.node, libc::EPOLL_CTL_DEL, s, &[], out),
            EpollOp::Wait(t) => self.epoll_wait(r, &name.node, t.as_ref(), out),
            EpollOp::Close => {
                self.epolls.remove(&r.id);
                out.emit(Item::Done(format!(
                    "closed the epoll {} (fd {} is free again); the sockets it watched are untouched",
                    name.node, r.fd
                )));
                Ok(Ret::none())
            }
        }
    }

    fn epoll_create(&mut self, out: &mut dyn Sink) -> Result<Ret, ExecError> {
        // SAFETY: epoll_create1 returns a new descriptor or -1.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        // SAFETY: a fresh descriptor we own.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        self.next_epoll += 1;
        let r = EpollRef {
            fd,
            id: self.next_epoll,
        };
        self.epolls.insert(
            r.id,
            EpollSet {
                fd: owned,
                interest: BTreeMap::new(),
            },
        );
        out.emit(Item::Done(format!(
            "an epoll instance, fd {fd}: the kernel keeps the list of sockets it watches (epoll ep add s in), \
             so a wait costs only the sockets that are ready"
        )));
        Ok(Ret::one(Value::Epoll(r)))
    }

    fn epoll_show(
        &mut self,
        r: EpollRef,
        name: &str,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let set = self
            .epolls
            .get(&r.id)
            .ok_or_else(|| ExecError::os(libc::EBADF))?;
        if set.interest.is_empty() {
            out.emit(Item::Note(format!(
                "{name} (fd {}) watches nothing yet: epoll {name} add s in",
                r.fd
            )));
            return Ok(Ret::none());
        }
        let rows: Vec<(String, String)> = set
            .interest
            .values()
            .map(|w| {
                let label = match self.table.get(w.h) {
                    Some(e) => e.label(),
                    None => {
                        let others = self.still_open(w);
                        if others.is_empty() {
                            "(closed: the kernel dropped it)".to_string()
                        } else {
                            format!(
                                "{} (closed; its socket is still open as {}, so still watched)",
                                w.label,
                                others.join(", ")
                            )
                        }
                    }
                };
                (
                    format!("fd {}", w.h.fd),
                    format!("{label}: {}", event_names(w.events)),
                )
            })
            .collect();
        out.emit(Item::Fields(
            format!("{name} (epoll fd {}) watches", r.fd),
            rows,
        ));
        Ok(Ret::none())
    }

    fn epoll_ctl(
        &mut self,
        r: EpollRef,
        name: &str,
        op: libc::c_int,
        s: &Spanned<SockRef>,
        words: &[Spanned<String>],
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let h = self.use_sock(s)?;
        let label = self.table.get(h).map_or_else(String::new, |e| e.label());
        let events = if op == libc::EPOLL_CTL_DEL {
            0
        } else {
            events_of(words)?
        };
        let set = self
            .epolls
            .get_mut(&r.id)
            .ok_or_else(|| ExecError::os(libc::EBADF))?;
        // A socket closed since (its fd maybe reused) left the kernel's
        // list with its close: forget it here too.
        if let Some(old) = set.interest.get(&h.fd)
            && old.h != h
        {
            set.interest.remove(&h.fd);
        }
        let mut ev = libc::epoll_event {
            events,
            u64: h.fd as u64,
        };
        // SAFETY: a valid epoll fd, a socket fd of the table, one event.
        let rc = unsafe { libc::epoll_ctl(set.fd.as_raw_fd(), op, h.fd, &mut ev) };
        if rc < 0 {
            let mut x = ExecError::from(std::io::Error::last_os_error()).at(s.span);
            x.hint = Some(if x.is_errno(libc::EEXIST) {
                format!(
                    "{label} is watched already: epoll {name} mod {label} ... changes its events"
                )
            } else if x.is_errno(libc::ENOENT) {
                format!("{label} is not watched: epoll {name} add {label} in")
            } else {
                "the kernel refused it".into()
            });
            return Err(x);
        }
        let what = match op {
            libc::EPOLL_CTL_ADD | libc::EPOLL_CTL_MOD => {
                set.interest.insert(
                    h.fd,
                    Watch {
                        h,
                        events,
                        ino: super::pair::inode(h.fd),
                        label: label.clone(),
                    },
                );
                format!("{name} now watches {label} for {}", event_names(events))
            }
            _ => {
                set.interest.remove(&h.fd);
                format!("{name} no longer watches {label}")
            }
        };
        out.emit(Item::Done(format!(
            "{what} ({} watched)",
            match set.interest.len() {
                1 => "1 socket".to_string(),
                n => format!("{n} sockets"),
            }
        )));
        if events & libc::EPOLLET as u32 != 0 {
            out.emit(Item::Note(
                "edge-triggered (et): a socket is reported when something new arrives, once; read until \
                 BlockingIOError before waiting again, or what is left is never reported"
                    .into(),
            ));
        }
        if events & libc::EPOLLONESHOT as u32 != 0 {
            out.emit(Item::Note(format!(
                "oneshot: after one report {label} is disabled until epoll {name} mod {label} ... arms it again"
            )));
        }
        Ok(Ret::none())
    }

    fn epoll_wait(
        &mut self,
        r: EpollRef,
        name: &str,
        timeout: Option<&Spanned<Expr>>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        // Seconds, as Python's epoll.poll(timeout); none or negative: forever.
        let limit = match timeout {
            None => None,
            Some(t) => match self.float_or_none(t)? {
                None => None,
                Some(v) if v < 0.0 => None,
                Some(v) => Some(wait::timeout_of(v).ok_or_else(|| {
                    ExecError::new("OverflowError", "timeout is too large").at(t.span)
                })?),
            },
        };
        let set = self
            .epolls
            .get(&r.id)
            .ok_or_else(|| ExecError::os(libc::EBADF))?;
        let epfd = set.fd.as_raw_fd();
        let watched = set.interest.len();
        let watches = set.interest.clone();
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; watched.clamp(1, 1024)];
        let cancel = self.cancel();
        let start = Instant::now();
        let deadline = limit.map(|l| start + l);
        let wait_once = |events: &mut [libc::epoll_event], ms: i32| -> Result<usize, ExecError> {
            // SAFETY: a valid epoll fd and a buffer of events.len() events.
            let n = unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), events.len() as i32, ms) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    return Ok(0);
                }
                return Err(e.into());
            }
            Ok(n as usize)
        };
        let mut n = wait_once(&mut events, 0)?;
        let mut waited = None;
        if n == 0 && limit != Some(Duration::ZERO) {
            out.emit(Item::Waiting {
                call: format!("{name}.poll (epoll_wait on fd {epfd})"),
                what: format!(
                    "one of the {} it watches",
                    match watched {
                        1 => "1 socket".to_string(),
                        k => format!("{k} sockets"),
                    }
                ),
                queue: match limit {
                    Some(t) => format!("up to {}", wait::human(t)),
                    None => "no timeout".into(),
                },
            });
            loop {
                if cancel.is_set() {
                    return Err(super::io::stopped(Stopped::Interrupted));
                }
                let now = Instant::now();
                if deadline.is_some_and(|d| now >= d) {
                    break;
                }
                let slice = deadline.map_or(25, |d| (d - now).as_millis().clamp(1, 25) as i32);
                n = wait_once(&mut events, slice)?;
                if n > 0 {
                    break;
                }
            }
            waited = Some(start.elapsed());
        }
        if let Some(w) = waited {
            out.emit(Item::Waited(w));
        }
        let mut list = Vec::new();
        for e in &events[..n] {
            let fd = e.u64 as i32;
            let rev = e.events;
            list.push(Value::Tuple(vec![
                Value::Int(i64::from(fd)),
                Value::Int(i64::from(rev)),
            ]));
            let entry = self.table.by_fd(fd);
            let w = watches.get(&fd);
            // The socket added under this number was closed, yet reported:
            // another descriptor keeps it open (and the number may be
            // another socket's by now, which is not the one ready).
            if let Some(w) = w.filter(|w| entry.is_none_or(|e| e.handle != w.h)) {
                let others = self.still_open(w);
                out.emit(Item::Done(format!(
                    "fd {fd} ({}, closed): {} - its socket is still open as {}, so the kernel still reports it \
                     under fd {fd}: epoll watches the open socket, not the number; del it before closing \
                     (now only closing every descriptor of it, or the epoll, ends this)",
                    w.label,
                    event_names(rev),
                    if others.is_empty() {
                        "another descriptor".to_string()
                    } else {
                        others.join(", ")
                    }
                )));
                continue;
            }
            let Some(entry) = entry else {
                out.emit(Item::Done(format!("fd {fd}: {}", event_names(rev))));
                continue;
            };
            let mut why = Vec::new();
            let pollish = rev as i16;
            if rev & (libc::EPOLLIN | libc::EPOLLERR | libc::EPOLLHUP | libc::EPOLLRDHUP) as u32
                != 0
            {
                why.push(super::select::why_readable(entry, pollish));
            }
            if rev & libc::EPOLLOUT as u32 != 0 {
                why.push(super::select::why_writable(entry));
            }
            if rev & libc::EPOLLPRI as u32 != 0 {
                why.push("urgent (OOB) data".into());
            }
            out.emit(Item::Done(format!(
                "fd {fd} ({}): {} - {}",
                entry.label(),
                event_names(rev),
                why.join("; ")
            )));
        }
        if list.is_empty() {
            out.emit(Item::Done(format!(
                "nothing ready: {name}.poll timed out and returns []"
            )));
        }
        // Held bytes: the kernel does not know them.
        let watched_in: Vec<SockHandle> = self
            .epolls
            .get(&r.id)
            .map(|s| {
                s.interest
                    .values()
                    .filter(|w| w.events & libc::EPOLLIN as u32 != 0)
                    .map(|w| w.h)
                    .collect()
            })
            .unwrap_or_default();
        self.note_held(&watched_in, out);
        let mut ret = Ret::one(Value::List(list));
        ret.said = true;
        Ok(ret)
    }
}

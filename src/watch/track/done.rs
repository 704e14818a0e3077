//! What the shell says for a watched call that returned: the error it
//! raised, with the shell's hint in the program's context, or its result,
//! call by call (the receive, send, accept and poll families are in `io`).

use super::{PAddr, Sock, Tracker, ancillary, family_of, hex, kind_of, mode_of, paddr, repr_value};
use crate::errors::ExecError;
use crate::exec::Item;
use crate::exec::calls;
use crate::exec::explain::Moment;
use crate::exec::io::{ErrorContext, hint_in_context};
use crate::syntax::ast::{Family, How, SockKind, View};
use crate::table::Mode;
use crate::value::plural;
use crate::value::{self, SockHandle, Value, escape_controls};
use crate::watch::proto::{Call, Status};
use socket2::SockAddr;

impl Tracker {
    /// The error a call raised, with the shell's hint for it.
    pub(super) fn raised(&self, c: &Call) -> ExecError {
        let Status::Err {
            exception,
            errno,
            message,
        } = &c.status
        else {
            return ExecError::usage("");
        };
        let sock = self.socks.get(&(c.pid, c.fd));
        let label = sock.map_or_else(|| format!("fd {}", c.fd), |s| s.label.clone());
        let mut e = match errno {
            Some(n) if *n > 0 => {
                let mut e = ExecError::os(*n);
                if !exception.is_empty() {
                    e.exception = escape_controls(exception);
                }
                e
            }
            _ if exception == "TimeoutError" || exception == "timeout" => {
                let mut e = ExecError::timeout();
                e.hint = e.hint.map(|h| h.replace("{s}", &label));
                e
            }
            _ if exception == "KeyboardInterrupt" => ExecError::new("KeyboardInterrupt", "").hint(
                "Ctrl-C: Python raised KeyboardInterrupt in the call; the program ends unless it catches it",
            ),
            _ => {
                let mut e = ExecError::new(&escape_controls(exception), escape_controls(message));
                if exception == "TypeError"
                    && matches!(c.name.as_str(), "bind" | "connect" | "connect_ex")
                    && message.contains("takes exactly one argument (2 given)")
                {
                    e.hint = Some(format!(
                        "an address is one tuple (host, port): {}(('127.0.0.1', 9000)), with two pairs of brackets",
                        c.name
                    ));
                }
                if exception == "TypeError" && message.contains("bytes-like") {
                    // recv_into is refused a buffer it cannot write into;
                    // the send calls, a str.
                    e.hint = Some(if c.name.starts_with("recv") {
                        "recv_into fills a buffer it can write into: bytearray(n) (or a memoryview of one)"
                            .into()
                    } else {
                        "sockets send bytes: 'text'.encode() (or b'...') makes bytes of a str".into()
                    });
                }
                e
            }
        };
        if let Some(s) = sock {
            e = hint_in_context(
                e,
                &ErrorContext {
                    label: &label,
                    kind: s.kind.unwrap_or(SockKind::Stream),
                    connected: s.peer.is_some() || s.paired,
                    shut_write: s.shut_write,
                    was_reset: s.was_reset,
                },
            );
        }
        if e.is_errno(libc::EADDRINUSE)
            && let Some(PAddr::Sock(a)) = Some(paddr(c.field(0)))
            && let Some(sa) = a.as_socket()
        {
            e.hint = Some(calls::port_in_use_hint(sa.port()));
        }
        if e.is_errno(libc::EPIPE) && sock.is_some_and(|s| s.paired && !s.shut_write) {
            e.hint = Some(
                "the other end of this socketpair is closed: nothing is left to read what this one sends"
                    .into(),
            );
        }
        if e.is_errno(libc::EBADF) && c.name == "close" {
            // A socket object's own close never fails once closed (it does
            // nothing): its number was closed by another call.
            e.hint = Some(format!(
                "fd {fd} was closed behind the socket object's back (os.close({fd}), or another socket \
                 object on the same number closed it): the object still held the number, and nothing \
                 was left to close",
                fd = c.fd
            ));
        }
        if e.is_errno(libc::ENOENT) && sock.and_then(|s| s.family) == Some(Family::Unix) {
            e.hint = Some("no socket file at that path: bind and listen on it first".into());
        }
        e
    }

    /// What the shell says for a finished call.
    pub(super) fn done_items(&mut self, c: &Call, shown_waiting: bool) -> Vec<Item> {
        let mut out = Vec::new();
        if let Some(w) = c.waited
            && (shown_waiting || !matches!(c.name.as_str(), "connect" | "connect_ex"))
        {
            out.push(Item::Waited(w));
        }
        if let Status::Err { exception, .. } = &c.status {
            let e = self.raised(c);
            self.record_failure(c, exception);
            if e.is_errno(libc::ECONNRESET)
                && let Some(s) = self.socks.get_mut(&(c.pid, c.fd))
            {
                s.was_reset = true;
            }
            let moment = Moment::of_error(&e);
            out.push(Item::Raised(e));
            if let Some(m) = moment {
                out.push(Item::Moment(m, Default::default()));
            }
            if c.name == "close" {
                self.forget(c.pid, c.fd);
            }
            return out;
        }
        let pid = c.pid;
        let fd = c.fd;
        match c.name.as_str() {
            "socket" => {
                let place = self.places.get(&(c.pid, c.loc)).cloned();
                let named = place.as_ref().and_then(|p| {
                    let direct = c.via.is_empty() || c.via.ends_with(":create_connection");
                    (direct && p.targets.len() == 1).then(|| p.targets[0].clone())
                });
                let mut s = Sock::new(fd);
                s.family = c.int(0).and_then(family_of);
                s.kind = c.int(1).and_then(kind_of);
                if let Ok(t) = c.field(3).parse::<f64>() {
                    s.mode = mode_of(Some(t));
                }
                if let Some(n) = &named {
                    s.label = n.clone();
                    s.named = true;
                }
                let desc = s.desc("");
                let h = SockHandle {
                    fd,
                    serial: s.serial,
                };
                self.forget(pid, fd);
                self.socks.insert((pid, fd), s);
                out.push(Item::Value {
                    name: named,
                    value: Value::Socket(h),
                    view: View::Repr,
                    sock: Some(desc),
                    pieces: Vec::new(),
                });
            }
            "socketpair" => {
                let other = c.int(2).unwrap_or(-1) as i32;
                for f in [fd, other] {
                    let s = self.sock(pid, f);
                    s.family = c.int(0).and_then(family_of);
                    s.kind = c.int(1).and_then(kind_of);
                    s.paired = true;
                }
                out.push(Item::Done(format!(
                    "socketpair: fd {fd} and fd {other}, connected to each other"
                )));
            }
            "bind" => {
                let asked = paddr(c.field(0));
                let got = paddr(c.field(1));
                let chosen = match (
                    asked.sock().and_then(SockAddr::as_socket),
                    got.sock().and_then(SockAddr::as_socket),
                ) {
                    (Some(a), Some(g)) if a.port() == 0 => Some(g.port()),
                    _ => None,
                };
                if let Some(a) = got.sock() {
                    self.watch_addr(a);
                }
                let s = self.sock(pid, fd);
                if let PAddr::Sock(a) = &got {
                    s.local = Some(a.clone());
                }
                let label = s.label.clone();
                let shown = if matches!(got, PAddr::None) {
                    asked.text()
                } else {
                    got.text()
                };
                out.push(Item::Done(calls::bound_text(&label, &shown, chosen)));
                if let Some(p) = got.sock().and_then(SockAddr::as_pathname) {
                    out.push(calls::socket_file_note(p));
                }
            }
            "listen" => {
                let got = paddr(c.field(1));
                let s = self.sock(pid, fd);
                s.listening = true;
                let backlog = c.int(0).unwrap_or(128);
                s.backlog = Some(backlog);
                if let PAddr::Sock(a) = &got {
                    s.local = Some(a.clone());
                }
                let tcp = s.is_tcp();
                let label = s.label.clone();
                out.push(Item::Done(calls::listening_text(
                    &label,
                    &got.text(),
                    i32::try_from(backlog).unwrap_or(i32::MAX),
                    if tcp { "LISTEN" } else { "listening" },
                )));
            }
            "accept" => self.accepted(c, &mut out),
            "connect" | "connect_ex" => self.connected(c, &mut out),
            "send" | "sendall" | "sendto" => self.sent(c, &mut out),
            "recv" | "recv_into" | "recvfrom" | "recvfrom_into" => self.received(c, &mut out),
            "fromfd" => self.adopted(c, &mut out),
            "sendmsg" => self.sent_msg(c, &mut out),
            "recvmsg" => self.received_msg(c, &mut out),
            "sendfile" => {
                let n = c.int(1).unwrap_or(0).max(0) as usize;
                out.push(Item::Done(format!(
                    "sent {} from a file (sendfile)",
                    plural(n, "byte", "bytes")
                )));
                if let Some(s) = self.socks.get(&(pid, fd)).cloned() {
                    self.log_bulk(c, &s, n);
                }
            }
            "close" => {
                let label = self.label(pid, fd);
                // A socket this process was given may be held elsewhere
                // too: sockplay's shell, which gave it, is asked.
                let held = self
                    .socks
                    .get(&(pid, fd))
                    .filter(|s| s.shared)
                    .and_then(|_| c.int(4))
                    .and_then(|ino| u64::try_from(ino).ok())
                    .and_then(ancillary::held_by_sockplay);
                if let Some(other) = held {
                    out.push(Item::Done(format!(
                        "closed {label} (fd {fd} is free again)"
                    )));
                    out.push(Item::Note(format!(
                        "the socket itself stays open: the shell holds it too (its fd {other}), so nothing is sent to the peer (the connection ends when its last descriptor closes)"
                    )));
                    // Its connection and message boundaries go on: the
                    // shell's descriptor still reads and writes them.
                    self.socks.remove(&(pid, fd));
                    return out;
                }
                if let Some(s) = self.socks.get(&(pid, fd))
                    && let Some((l, p)) = s.pair()
                {
                    self.record(
                        c.t0,
                        (l, Some(p)),
                        &label,
                        s.serial,
                        crate::wire::CallKind::Close {
                            linger0: c.int(3) == Some(1),
                            unread: u32::try_from(c.int(1).unwrap_or(0)).unwrap_or(0),
                        },
                    );
                }
                let state = c.int(0).unwrap_or(-1);
                let before = u8::try_from(state)
                    .ok()
                    .map(crate::table::tcp_state_name)
                    .filter(|_| state > 0);
                out.push(Item::Done(format!(
                    "closed {label} (fd {fd} is free again)"
                )));
                out.extend(calls::close_notes(
                    before,
                    c.int(3) == Some(1),
                    u32::try_from(c.int(1).unwrap_or(0)).unwrap_or(0),
                    u32::try_from(c.int(2).unwrap_or(0)).unwrap_or(0),
                ));
                self.forget(pid, fd);
            }
            "shutdown" => {
                let how = match c.int(0) {
                    Some(0) => How::Read,
                    Some(1) => How::Write,
                    _ => How::Both,
                };
                let s = self.sock(pid, fd);
                if how != How::Read {
                    s.shut_write = true;
                }
                let stopped = s.listening && how != How::Write;
                let label = s.label.clone();
                let (pair, serial) = (s.pair(), s.serial);
                if let Some((l, p)) = pair {
                    self.record(
                        c.t0,
                        (l, Some(p)),
                        &label,
                        serial,
                        crate::wire::CallKind::Shutdown(match how {
                            How::Read => "read",
                            How::Write => "write",
                            How::Both => "both",
                        }),
                    );
                }
                out.push(Item::Done(format!(
                    "{label}: {}",
                    calls::shutdown_text(how, stopped)
                )));
            }
            "setsockopt" => {
                let label = self.label(pid, fd);
                let (level, number) = (c.int(0).unwrap_or(-1), c.int(1).unwrap_or(-1));
                let value = c.field(2);
                let shown = match value.strip_prefix("b:") {
                    Some(h) => hex(h).map_or(value.to_string(), |b| value::bytes_repr(&b)),
                    None => escape_controls(value),
                };
                match crate::spec::OPTIONS
                    .iter()
                    .find(|o| i64::from(o.level) == level && i64::from(o.number) == number)
                {
                    Some(o) => {
                        out.push(Item::Done(format!("{label}: {} = {shown}", o.name)));
                        out.push(Item::Note(o.doc.to_string()));
                    }
                    None => out.push(Item::Done(format!(
                        "{label}: option {number} at level {level} = {shown}"
                    ))),
                }
            }
            "settimeout" | "setblocking" => {
                let mode = if c.name == "setblocking" {
                    if c.int(0) == Some(0) {
                        Mode::NonBlocking
                    } else {
                        Mode::Blocking
                    }
                } else {
                    mode_of(c.field(0).parse::<f64>().ok())
                };
                let s = self.sock(pid, fd);
                s.mode = mode;
                let label = s.label.clone();
                out.push(Item::Done(calls::mode_text(&label, mode)));
            }
            "getsockname" | "getpeername" => {
                let a = paddr(c.field(0));
                out.push(Item::Value {
                    name: None,
                    value: a.value(),
                    view: View::Repr,
                    sock: None,
                    pieces: Vec::new(),
                });
            }
            "fileno" => out.push(Item::Value {
                name: None,
                value: Value::Int(c.int(0).unwrap_or(i64::from(fd))),
                view: View::Repr,
                sock: None,
                pieces: Vec::new(),
            }),
            "getsockopt" => out.push(Item::Value {
                name: None,
                value: repr_value(c.field(3)),
                view: View::Repr,
                sock: None,
                pieces: Vec::new(),
            }),
            "select" => self.selected(c, &mut out),
            "poll" | "epoll" => self.polled(c, &mut out),
            "input" | "sleep" | "join" => {}
            _ if fd < 0 => {
                // A function of the socket module: what it returned, as
                // Python shows it.
                out.push(Item::Value {
                    name: None,
                    value: repr_value(c.field(1)),
                    view: View::Repr,
                    sock: None,
                    pieces: Vec::new(),
                });
            }
            _ => {}
        }
        out
    }
}

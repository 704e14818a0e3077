//! The classic moments of a socket course, explained the first time they
//! happen (`set explain off` stops it). The executor marks a moment with
//! [`Item::Moment`] (or an error that is one); the session turns the first
//! of each kind into an [`Item::Explain`] and drops the rest.

// The types live with the Item that carries them (item.rs), so that
// item.rs does not import this file while this file imports Item.
pub use super::item::{Ends, Moment};
use super::{Item, Session, Sink};
use crate::errors::ExecError;

/// A socket's label as a command's argument: `k` stays `k`, `fd 4` is `4`.
fn as_arg(label: &str) -> &str {
    label.strip_prefix("fd ").unwrap_or(label)
}

impl Moment {
    pub fn title(self) -> &'static str {
        match self {
            Moment::BrokenPipe => "BrokenPipeError",
            Moment::Reset => "ConnectionResetError",
            Moment::TimeWait => "Address already in use, and TIME_WAIT",
            Moment::EndOfStream => "recv returned b''",
            Moment::Sticky => "sticky packets (粘包)",
            Moment::Truncated => "a datagram cut short",
            Moment::WouldBlock => "BlockingIOError",
        }
    }

    /// The explanation, its advice naming the sockets of `ends` where it
    /// has some.
    pub fn text_for(self, ends: &Ends) -> String {
        if self != Moment::Sticky {
            return self.text().to_string();
        }
        // Each end's half of the advice: a command of the shell on a socket
        // of the shell, the program's Python on a program's socket.
        // `connfd.sendall(...)`, or `sendall(...) on fd 4` for a socket the
        // program never named.
        let py = |s: &str, call: &str| match s.strip_prefix("fd ") {
            Some(n) => format!("{call} on fd {n}"),
            None => format!("{s}.{call}"),
        };
        let (framed_send, marker_send) = match (ends.sender.as_deref(), ends.sender_py.as_deref()) {
            (Some(k), _) => {
                let k = as_arg(k);
                (
                    format!("send with sendmsg {k} DATA framed"),
                    format!("sendmsg {k} DATA marker b\"\\n\""),
                )
            }
            (None, Some(p)) => (
                format!(
                    "the program sends {}",
                    py(p, "sendall(struct.pack('!I', len(data)) + data)")
                ),
                format!("the program sends {}", py(p, "sendall(data + b'\\n')")),
            ),
            (None, None) => (
                "send with sendmsg SOCK DATA framed on the sending socket".to_string(),
                "sendmsg SOCK DATA marker b\"\\n\"".to_string(),
            ),
        };
        let (framed_recv, marker_recv) = match (
            ends.receiver.as_deref(),
            ends.receiver_py.as_deref(),
        ) {
            (Some(k), _) => {
                let k = as_arg(k);
                (
                    format!("read with recvmsg {k} framed"),
                    format!("recvmsg {k} marker b\"\\n\""),
                )
            }
            (None, Some(p)) => (
                format!(
                    "the program reads 4 bytes (head = {}), then n = struct.unpack('!I', head)[0] bytes",
                    py(p, "recv(4)")
                ),
                format!(
                    "the program reads lines: {}",
                    py(p, "makefile('rb').readline()")
                ),
            ),
            (None, None) => (
                "read with recvmsg SOCK framed".to_string(),
                "recvmsg SOCK marker b\"\\n\"".to_string(),
            ),
        };
        format!(
            "TCP is a byte stream: the kernel appends every send to the same receive queue, and recv takes \
             whatever is queued, up to its size. It never knows where one send ended. To keep messages apart, \
             the sending side marks them and the receiving side reads by the marks: a length before each \
             message ({framed_send}, {framed_recv}), a marker after it ({marker_send}, {marker_recv}), or a \
             fixed size. A pause between sends only makes merging less likely."
        )
    }

    pub fn text(self) -> &'static str {
        match self {
            Moment::BrokenPipe => {
                "The peer closed its socket. Your first send after that still worked: the bytes left, and the \
                 peer's kernel, with no one to give them to, answered with RST. The RST reset this connection, so \
                 every send from now on fails with EPIPE, which Python raises as BrokenPipeError. A server avoids \
                 it by treating recv() == b'' as \"the client left\" and closing before it sends again."
            }
            Moment::Reset => {
                "RST instead of FIN: the peer closed with unread data in its receive queue (or with SO_LINGER on \
                 and 0 seconds), so its kernel aborted the connection instead of closing it in order. Data in \
                 flight is thrown away, and the next recv or send here fails with ECONNRESET \
                 (ConnectionResetError)."
            }
            Moment::TimeWait => {
                "The side that closes a TCP connection first keeps it in TIME_WAIT for about 60 seconds, so that \
                 a late packet of the old connection cannot be taken for part of a new one. Meanwhile its address \
                 counts as in use. Servers call setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) before bind so that a \
                 restart can bind at once."
            }
            Moment::EndOfStream => {
                "b'' is not \"no data yet\" (that would wait): it means the peer closed its side, or shut down \
                 its writing. The stream has ended, and every later recv returns b'' at once. That is why the \
                 course's servers write `if not data: break`."
            }
            // Its advice names sockets: see text_for.
            Moment::Sticky => {
                "TCP is a byte stream: the kernel appends every send to the same receive queue, and recv takes \
                 whatever is queued, up to its size. It never knows where one send ended."
            }
            Moment::Truncated => {
                "UDP keeps message boundaries (and so do UNIX datagram and SOCK_SEQPACKET sockets): each receive \
                 returns one datagram. But when the buffer is smaller than the datagram, the kernel copies what \
                 fits and drops the rest: it is gone, not kept for the next receive. Receive with a buffer as \
                 large as the largest datagram (at most 65507 bytes over IPv4)."
            }
            Moment::WouldBlock => {
                "The socket is non-blocking (setblocking(False) or settimeout(0)), and this call would have had to \
                 wait: nothing was queued, no connection was waiting, or the send buffer was full. A non-blocking \
                 program tries again later, when select or poll says the socket is ready."
            }
        }
    }

    /// The moment an error is, if any.
    pub fn of_error(e: &ExecError) -> Option<Moment> {
        let hint = e.hint.as_deref().unwrap_or("");
        match e.errno {
            Some(libc::EPIPE) if hint.contains("peer has closed") => Some(Moment::BrokenPipe),
            Some(libc::ECONNRESET) => Some(Moment::Reset),
            Some(libc::EADDRINUSE) if hint.contains("TIME_WAIT") => Some(Moment::TimeWait),
            Some(libc::EAGAIN) if hint.contains("non-blocking") => Some(Moment::WouldBlock),
            _ => None,
        }
    }
}

/// Records that `m` is explained now; false when it was before.
pub(crate) fn first_time(
    seen: &std::sync::Mutex<std::collections::HashSet<Moment>>,
    m: Moment,
) -> bool {
    seen.lock().is_ok_and(|mut s| s.insert(m))
}

/// Passes items on, turning the first moment of each kind into an
/// explanation (when explanations are on) and dropping the others.
pub(super) struct Explainer<'a> {
    pub out: &'a mut dyn Sink,
    pub on: bool,
    pub seen: &'a std::sync::Mutex<std::collections::HashSet<Moment>>,
}

impl Sink for Explainer<'_> {
    fn idle(&mut self) {
        self.out.idle();
    }

    fn emit(&mut self, item: Item) {
        match item {
            Item::Moment(m, ends) => {
                if self.on && first_time(self.seen, m) {
                    self.out.emit(Item::Explain(m, ends));
                }
            }
            Item::JobEnded {
                id,
                desc,
                elapsed,
                how,
                items,
            } => {
                // A job's moments are explained after its report.
                let mut moments = Vec::new();
                let items = items
                    .into_iter()
                    .filter(|i| match i {
                        Item::Moment(m, ends) => {
                            moments.push((*m, ends.clone()));
                            false
                        }
                        _ => true,
                    })
                    .collect();
                self.out.emit(Item::JobEnded {
                    id,
                    desc,
                    elapsed,
                    how,
                    items,
                });
                for (m, ends) in moments {
                    self.emit(Item::Moment(m, ends));
                }
            }
            other => self.out.emit(other),
        }
    }
}

impl Session {
    /// The explanation an error deserves, the first time.
    pub(super) fn explain_error(&mut self, e: &ExecError, out: &mut dyn Sink) {
        if let Some(m) = Moment::of_error(e)
            && self.settings.explain
            && first_time(&self.explained, m)
        {
            out.emit(Item::Explain(m, Ends::none()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sticky_advice_names_each_end_in_its_own_words() {
        let shell_to_program = Moment::Sticky.text_for(&Ends {
            sender: Some("k".into()),
            receiver_py: Some("connfd".into()),
            ..Ends::default()
        });
        assert!(shell_to_program.contains("send with sendmsg k DATA framed"));
        assert!(shell_to_program.contains("the program reads 4 bytes (head = connfd.recv(4))"));
        assert!(shell_to_program.contains("connfd.makefile('rb').readline()"));
        assert!(!shell_to_program.contains("SOCK"), "{shell_to_program}");
        let program_to_shell = Moment::Sticky.text_for(&Ends {
            receiver: Some("fd 5".into()),
            sender_py: Some("fd 4".into()),
            ..Ends::default()
        });
        assert!(program_to_shell.contains("read with recvmsg 5 framed"));
        assert!(
            program_to_shell
                .contains("the program sends sendall(struct.pack('!I', len(data)) + data) on fd 4"),
            "{program_to_shell}"
        );
        let unknown = Moment::Sticky.text_for(&Ends::none());
        assert!(unknown.contains("sendmsg SOCK DATA framed on the sending socket"));
    }
}

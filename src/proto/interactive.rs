//! `interactive sock`: the terminal talks to a socket, as with `nc`.
//!
//! Each line typed is sent (with `\n`, or `\r\n` with `crlf`); what
//! arrives is shown as it arrives, escaped (never raw: a peer's escape
//! sequences cannot drive the terminal). Ctrl-D at the start of a line,
//! Ctrl-] then Enter (telnet's escape key), or Ctrl-C leaves it, back to the
//! prompt; the socket stays open. When the input is not a terminal (a
//! file or a pipe), its lines are sent and, after its end, what arrives is
//! shown until the peer closes (as `nc` does), or Ctrl-C.
//!
//! The terminal stays in its cooked mode (the line editor is not reading):
//! the kernel's line discipline echoes and edits what is typed, and hands
//! over a whole line at Enter.

use super::log::Dir;
use super::until::attribute;
use crate::errors::ExecError;
use crate::exec::io::recv_buf;
use crate::exec::{Item, Ret, Session, Sink};
use crate::syntax::ast::{SockRef, Spanned};
use crate::value::bytes_count;
use crate::wait;
use std::io;
use std::time::Duration;

/// Ctrl-]: telnet's escape key.
const ESCAPE: u8 = 0x1d;

/// One read from the socket or the keyboard takes at most this much.
const CHUNK: usize = 64 * 1024;

/// A line typed that is longer than this is sent as it is, without
/// waiting for its end (the line discipline itself stops at 4 KiB).
const MAX_LINE: usize = 64 * 1024;

fn is_tty(fd: i32) -> bool {
    // SAFETY: isatty only looks at the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// Reads what stdin has (it said it is readable): Ok(empty) at its end.
fn read_stdin(buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: a valid buffer of buf.len() bytes.
    let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

impl Session {
    pub(crate) fn interactive(
        &mut self,
        r: &Spanned<SockRef>,
        crlf: bool,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        if self.in_background() {
            return Err(ExecError::usage(
                "interactive takes the keyboard, so it cannot run as a background job (no &)",
            )
            .at(r.span));
        }
        if self.stdin_is_script {
            return Err(ExecError::usage(
                "interactive reads the keyboard (stdin), and this shell reads its commands from stdin",
            )
            .at(r.span)
            .hint("run the script from a file (sockplay FILE) or with -c, or type it in the shell"));
        }
        let h = self.use_sock(r)?;
        let ctx = self.ctx(h)?;
        if ctx.listening {
            return Err(ExecError::os(libc::ENOTCONN)
                .at(r.span)
                .hint("a listening socket only accepts: interactive talks over the socket accept returned"));
        }
        if ctx.sock.peer_addr().is_err() {
            return Err(ExecError::os(libc::ENOTCONN).at(r.span).hint(format!(
                "interactive sends to the peer: connect {} first",
                ctx.label
            )));
        }
        let tty = is_tty(0);
        let peer = ctx
            .sock
            .peer_addr()
            .ok()
            .filter(crate::table::is_bound)
            .map(|a| crate::value::addr_short(&a))
            .unwrap_or_else(|| "its peer".into());
        let end = if crlf { "\\r\\n" } else { "\\n" };
        out.emit(Item::Done(format!(
            "interactive: {} talks to {peer}; each line you type is sent with {end}, what arrives is shown escaped",
            ctx.label
        )));
        out.emit(Item::Note(if tty {
            format!(
                "Ctrl-D at the start of a line (or Ctrl-] then Enter, or Ctrl-C) returns to the prompt; {} stays open",
                ctx.label
            )
        } else {
            match ctx.mode {
                crate::table::Mode::Timeout(d) => format!(
                    "the input is not a terminal: its lines are sent, then what arrives is shown until the peer closes, \
                     or nothing arrives for {} (the socket's timeout, like nc -q)",
                    wait::human(d)
                ),
                _ => "the input is not a terminal: its lines are sent, then what arrives is shown until the peer closes \
                      (settimeout first to stop after a quiet while; Ctrl-C stops)"
                    .into(),
            }
        }));
        out.idle();
        // Held bytes (read by an earlier receive) are the first to show.
        let pre = ctx
            .held
            .lock()
            .map(|mut h| h.take_all())
            .unwrap_or_default();
        let held = pre.len();
        if !pre.is_empty() {
            out.emit(Item::Traffic {
                sent: false,
                bytes: pre.bytes,
                pieces: pre.pieces,
            });
        }
        let mut stdin_open = true;
        let mut line: Vec<u8> = Vec::new();
        let (mut sent, mut lines, mut received) = (0usize, 0usize, held);
        let mut kbuf = vec![0u8; 4096];
        // After the end of a file or pipe given as input: when the last
        // byte came (a socket with a timeout stops after that quiet while).
        let mut quiet_since: Option<std::time::Instant> = None;
        let why = loop {
            if let (Some(t), crate::table::Mode::Timeout(d)) = (quiet_since, ctx.mode)
                && t.elapsed() >= d
            {
                break format!("nothing arrived for {}", wait::human(d));
            }
            let mut fds = vec![libc::pollfd {
                fd: ctx.h.fd,
                events: libc::POLLIN | libc::POLLRDHUP,
                revents: 0,
            }];
            if stdin_open {
                fds.push(libc::pollfd {
                    fd: 0,
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
            match wait::wait_fds(
                &mut fds,
                Some(std::time::Instant::now() + Duration::from_millis(250)),
                &ctx.cancel,
            ) {
                Ok(_) => {}
                Err(wait::Stopped::TimedOut) => continue,
                Err(wait::Stopped::Interrupted) => break "Ctrl-C".to_string(),
            }
            if fds[0].revents != 0 {
                match recv_buf(&ctx.sock, CHUNK, libc::MSG_DONTWAIT) {
                    Ok((b, _)) if b.is_empty() => {
                        break "the peer closed its side (recv returned b'')".to_string();
                    }
                    Ok((b, _)) => {
                        ctx.log_bytes(Dir::Received, &b, None);
                        received += b.len();
                        if quiet_since.is_some() {
                            quiet_since = Some(std::time::Instant::now());
                        }
                        let pieces = attribute(&ctx, b.len());
                        out.emit(Item::Traffic {
                            sent: false,
                            bytes: b,
                            pieces,
                        });
                        out.idle();
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(ctx.in_context(e.into())),
                }
            }
            if stdin_open && fds.get(1).is_some_and(|p| p.revents != 0) {
                let n = read_stdin(&mut kbuf)?;
                if n == 0 {
                    // The end of the input: Ctrl-D on a terminal leaves; a
                    // file or a pipe has said all it had.
                    if !line.is_empty() {
                        sent += send_line(&ctx, &mut line, None, tty, out)?;
                        lines += 1;
                    }
                    if tty {
                        break "Ctrl-D".to_string();
                    }
                    stdin_open = false;
                    quiet_since = Some(std::time::Instant::now());
                    continue;
                }
                line.extend_from_slice(&kbuf[..n]);
                if line.contains(&ESCAPE) {
                    break "Ctrl-]".to_string();
                }
                // Every whole line goes, with the line end chosen.
                while let Some(k) = line.iter().position(|&c| c == b'\n') {
                    let mut one: Vec<u8> = line.drain(..=k).collect();
                    one.pop();
                    if one.last() == Some(&b'\r') {
                        one.pop();
                    }
                    let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
                    sent += send_line(&ctx, &mut one, Some(eol), tty, out)?;
                    lines += 1;
                }
                // A terminal hands over what was typed before a Ctrl-D
                // in the middle of a line: it goes as it is (as nc sends it).
                if (tty && !line.is_empty()) || line.len() >= MAX_LINE {
                    sent += send_line(&ctx, &mut line, None, tty, out)?;
                }
            }
        };
        if tty && why == "Ctrl-C" {
            // The terminal echoed ^C after whatever was typed on the line:
            // the report starts a line of its own.
            out.emit(Item::Done(String::new()));
        }
        out.emit(Item::Done(format!(
            "{why}: back to the prompt; {} stays open ({} sent in {}, {} received)",
            ctx.label,
            bytes_count(sent),
            match lines {
                1 => "1 line".to_string(),
                n => format!("{n} lines"),
            },
            bytes_count(received)
        )));
        Ok(Ret::none())
    }
}

/// Sends one line typed (and takes it out of `line`), with `eol` after
/// it. What is sent is shown only when the input is not a terminal (a
/// terminal showed it as it was typed).
fn send_line(
    ctx: &crate::exec::io::Ctx,
    line: &mut Vec<u8>,
    eol: Option<&[u8]>,
    tty: bool,
    out: &mut dyn Sink,
) -> Result<usize, ExecError> {
    let mut data = std::mem::take(line);
    if let Some(e) = eol {
        data.extend_from_slice(e);
    }
    if data.is_empty() {
        return Ok(0);
    }
    let (n, _, _) = ctx.send_bytes(&data, libc::MSG_NOSIGNAL, true, out)?;
    if !tty {
        out.emit(Item::Traffic {
            sent: true,
            bytes: data,
            pieces: Vec::new(),
        });
        out.idle();
    }
    Ok(n)
}

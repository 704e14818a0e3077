//! The capture's life in the session: started with the first connection
//! (root, or in the shell's own network), the shell's own network itself
//! (`set lab on`, as `sockplay --lab` at start; see
//! [`crate::wire::userns`]), and why there is no capture when there is
//! none, in words that say what to do.

use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::syntax::ast::{Expr, Spanned};
use crate::wire;

impl Session {
    /// Starts the capture (if allowed) the first time a socket listens,
    /// connects or sends a datagram: before the first handshake, and not in
    /// a session that never makes a connection. (Opening it costs little;
    /// closing it costs the process one RCU grace period at exit, in the
    /// kernel's packet_release, some tens of milliseconds.)
    pub(super) fn start_capture(&mut self) {
        // Inside a lab host the capture would open on the host's `lo`; the
        // lab's switch captures its traffic anyway.
        if self.watch_states
            && self.lab.inside.is_none()
            && self.capture.is_none()
            && self.capture_error.is_none()
        {
            match wire::Capture::loopback() {
                Ok(c) => {
                    // In a network of the shell's own, every packet is the
                    // learner's.
                    if matches!(self.own_net, Some(Ok(_))) {
                        c.watch_all();
                    }
                    self.capture = Some(c);
                }
                // Out of descriptors (EMFILE): not for good; the next TCP
                // socket tries again.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {}
                Err(e) => self.capture_error = Some(e),
            }
        }
    }

    /// `set lab on`: a network of the shell's own (see
    /// [`crate::wire::userns`]), before the first socket.
    pub(super) fn set_lab(
        &mut self,
        value: &Spanned<Expr>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        if let Some(Ok(_)) = &self.own_net {
            out.emit(Item::Note(
                "lab is on already: this shell has a network of its own".into(),
            ));
            return Ok(Ret::none());
        }
        let busy = if !self.table.is_empty() {
            Some("a socket exists already, and it would stay in the machine's network")
        } else if self.capture.is_some() {
            Some("the capture runs already, on the machine's loopback")
        } else if self.peers.running() > 0 {
            Some("a built-in peer runs already, in the machine's network")
        } else {
            None
        };
        if let Some(why) = busy {
            return Err(ExecError::usage(format!(
                "set lab on comes before the first socket: {why}"
            ))
            .at(value.span)
            .hint("close everything and start again with `sockplay --lab`"));
        }
        match crate::wire::userns::enter() {
            Ok(said) => {
                self.own_net = Some(Ok(said.clone()));
                // A capture refused before may open now.
                self.capture_error = None;
                out.emit(Item::Done("lab = on".into()));
                out.emit(Item::Note(said));
            }
            Err(why) => {
                out.emit(Item::Warn(format!(
                    "lab: no network of this shell's own: {why}; `states` shows the TCP states sampled after each command"
                )));
                self.own_net = Some(Err(why));
            }
        }
        Ok(Ret::none())
    }

    /// Why there is no capture, and what to do.
    pub(super) fn no_capture_why(&self) -> String {
        if let Some(Err(why)) = &self.own_net {
            return format!("--lab could not give this shell a network of its own: {why}");
        }
        match &self.capture_error {
            Some(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EACCES)) => {
                "capturing packets needs root (CAP_NET_RAW); `sockplay --lab` runs the shell in a network of its own, where it may capture without root".into()
            }
            Some(e) => format!("the capture could not start: {e}"),
            None if !self.watch_states => "this script never asks for `states`".into(),
            None => "the capture starts with the first connection".into(),
        }
    }
}

//! `diagram [sock] [absolute]` and `diagram save FILE.svg`: one
//! connection's sequence diagram (see [`crate::wire::ladder`]), shown in
//! the terminal or written as SVG for slides.

use super::states::{View, save_error};
use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::syntax::ast::{Expr, SockRef, Spanned};
use crate::table::Ghost;
use crate::wire::ladder::{self, Ladder, Step};
use crate::wire::packet::Packet;

impl Session {
    pub(super) fn diagram(
        &mut self,
        sock: Option<&Spanned<SockRef>>,
        absolute: bool,
        save: Option<&Spanned<Expr>>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let only = match sock {
            Some(r) => Some(self.wire_sock(r)?),
            None => None,
        };
        self.start_capture();
        if self.capture.is_none() && self.lab.lab.is_none() {
            out.emit(Item::Note(format!(
                "no diagram without the capture of the segments: {}",
                self.no_capture_why()
            )));
            return Ok(Ret::none());
        }
        // Without a socket: the connection of the socket used last, else
        // the last connection.
        let view = match only {
            Some(h) => self.views(Some(h)).pop(),
            None => self
                .table
                .last
                .and_then(|h| self.views(Some(h)).pop())
                .or_else(|| self.views(None).pop()),
        };
        let ghosts: Vec<Ghost> = self.table.ghosts.clone();
        let ladder = match view {
            Some(View::Tcp(a, b)) => self.read_conn(a, b, &ghosts).map(|an| {
                let calls = self.conn_calls(a, b);
                ladder::build(&an, &calls, absolute)
            }),
            Some(View::Udp(l)) => self.udp_ladder(l),
            None => None,
        };
        let Some(ladder) = ladder else {
            out.emit(Item::Note(match only.and_then(|h| self.table.get(h)) {
                Some(e) => format!(
                    "{} has no captured segments to draw: connect it (or send from it) first",
                    e.label()
                ),
                None => "no connection to draw: connect two sockets first".into(),
            }));
            return Ok(Ret::none());
        };
        let Some(path) = save else {
            out.emit(Item::Diagram(ladder));
            return Ok(Ret::none());
        };
        let name = self.text(path)?;
        let svg = crate::wire::svg::render(&ladder);
        let arrows = ladder
            .steps
            .iter()
            .filter(|s| matches!(s, Step::Arrow(_)))
            .count();
        match self.save_file(&name, svg.as_bytes(), false) {
            Ok(_) => {
                let shown = crate::value::escape_controls(&name);
                out.emit(Item::Done(format!(
                    "wrote the diagram of {} <-> {} ({arrows} arrows, SVG) to {shown}",
                    ladder.names[0], ladder.names[1]
                )));
                out.emit(Item::Note(format!(
                    "a browser or any slide program shows it; rsvg-convert -o diagram.png {shown} makes a PNG"
                )));
                Ok(Ret::none())
            }
            Err(e) => Err(save_error(e, "diagram save", path)),
        }
    }

    /// The calls of both ends of a connection (and of a refused connect,
    /// whose port was let go).
    pub(super) fn conn_calls(
        &self,
        a: std::net::SocketAddr,
        b: std::net::SocketAddr,
    ) -> Vec<crate::wire::Call> {
        let mut calls = self.calls.of_conn(a, b);
        calls.extend(
            self.calls
                .select(&|c| c.local.port() == 0 && (c.peer == Some(a) || c.peer == Some(b))),
        );
        calls.sort_by_key(|c| c.t);
        calls
    }

    /// A UDP socket's datagrams with its latest peer.
    fn udp_ladder(&self, local: std::net::SocketAddr) -> Option<Ladder> {
        let cap = self.capture.as_ref()?;
        let mine = |a: std::net::SocketAddr| {
            a.port() == local.port() && crate::wire::capture::same_host(a.ip(), local.ip())
        };
        let packets = cap.packets(&|p| match p {
            Packet::Udp(d) => mine(d.src) || mine(d.dst),
            Packet::Unreachable(u) => u.proto == 17 && mine(u.orig_src),
            Packet::Tcp(_) => false,
        });
        let peer = packets.iter().rev().find_map(|p| match p {
            Packet::Udp(d) if mine(d.src) => Some(d.dst),
            Packet::Udp(d) => Some(d.src),
            Packet::Unreachable(u) => Some(u.orig_dst),
            Packet::Tcp(_) => None,
        })?;
        // Both ends' calls: the other end may be the shell's or a watched
        // program's socket (build_udp keeps the conversation's).
        let theirs = |a: std::net::SocketAddr| {
            a.port() == peer.port() && crate::wire::capture::same_host(a.ip(), peer.ip())
        };
        let calls = self.calls.select(&|c| mine(c.local) || theirs(c.local));
        Some(ladder::build_udp(
            [local, peer],
            [self.udp_label(local), self.udp_label(peer)],
            &packets,
            &calls,
        ))
    }
}

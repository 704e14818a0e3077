//! `reset`: start again without leaving the shell. Every background job is
//! cancelled, every socket closed, every built-in peer stopped, every name
//! forgotten, and what the session remembered about them (message
//! boundaries, sampled states) dropped; the settings stay, and so does a
//! lab's hosts (its peers and jobs go with the others). What was done
//! is reported, one line per kind, so nothing disappears unannounced.

use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;

/// `closed 2 sockets: s (fd 3), k (fd 4)`.
fn counted(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

impl Session {
    pub(super) fn reset(&mut self, out: &mut dyn Sink) -> Result<Ret, ExecError> {
        // Jobs first: a finished one reports (and adopts its socket, which
        // is closed below); a running one is cancelled.
        let jobs = self.jobs.ids().len();
        for id in self.jobs.ids() {
            let finished = self.jobs.iter().any(|j| j.id == id && j.is_finished());
            let c = if finished {
                self.jobs.collect(id)
            } else {
                self.jobs.kill(id, "reset")
            };
            if let Some(c) = c {
                self.apply(c, out);
            }
        }
        let socks: Vec<String> = self
            .table
            .iter()
            .map(|e| {
                let label = e.label();
                if label.starts_with("fd ") {
                    label
                } else {
                    format!("{label} (fd {})", e.fd())
                }
            })
            .collect();
        self.table.clear();
        // An epoll instance watches sockets that are gone now.
        self.epolls.clear();
        self.tidy_lesson_files(out);
        let peers: Vec<String> = self
            .peers
            .rows()
            .into_iter()
            .filter(|p| p.state == "running")
            .map(|p| format!("{} ({} on {})", p.n, p.label, p.addr))
            .collect();
        self.peers.stop_all();
        // Numbered from 1 again, as in a new shell.
        self.peers = crate::peers::Peers::default();
        self.lab.forget_peers_and_jobs();
        let names: Vec<String> = self.vars.keys().cloned().collect();
        self.vars.clear();
        self.failed_names.clear();
        self.closed_labels.clear();
        self.samples.clear();
        self.last_state.clear();
        if let Ok(mut b) = self.bounds.lock() {
            *b = Default::default();
        }
        // The programs run from the shell were jobs, cancelled above: what
        // they had not shown yet is shown, then they are forgotten, with
        // the names of their connections.
        let ids: Vec<usize> = self.programs.iter().map(|p| p.id).collect();
        for id in ids {
            for it in self.programs.remove(id) {
                out.emit(it);
            }
        }
        self.programs = Default::default();
        // The wire view starts afresh too: the segments captured and the
        // calls beside them were of connections that are gone (the
        // capture starts again with the next connection).
        let had_wire = self.capture.is_some() || !self.calls.is_empty();
        self.capture = None;
        self.calls = crate::wire::Calls::default();
        if jobs == 0 && socks.is_empty() && peers.is_empty() && names.is_empty() && !had_wire {
            out.emit(Item::Note(
                "nothing to reset: no socket, peer, job or name".into(),
            ));
            return Ok(Ret::none());
        }
        if !socks.is_empty() {
            out.emit(Item::Done(format!(
                "closed {}: {}",
                counted(socks.len(), "socket", "sockets"),
                socks.join(", ")
            )));
        }
        if !peers.is_empty() {
            out.emit(Item::Done(format!(
                "stopped {}: {}",
                counted(peers.len(), "built-in peer", "built-in peers"),
                peers.join(", ")
            )));
        }
        if !names.is_empty() {
            out.emit(Item::Done(format!(
                "forgot {}: {}",
                counted(names.len(), "name", "names"),
                names.join(", ")
            )));
        }
        let mut note = format!(
            "a fresh start, as in a new shell (the next socket is fd 3{}); the settings, macros and history stay",
            if had_wire {
                "; states and diagram forget the connections before"
            } else {
                ""
            }
        );
        // Not the lab: its hosts take seconds to make, and a lesson's hosts
        // are wanted again. Said, so nothing stays unannounced.
        if let Some(hosts) = self.lab.host_names() {
            note.push_str(&format!(
                ", and so does the lab (hosts {}): lab down ends it",
                hosts.join(", ")
            ));
        }
        // The traffic log goes on (it is the user's file, ended by `log
        // off`): said, so that nobody thinks it started afresh too.
        if self.log.lock().is_ok_and(|l| l.is_some()) {
            note.push_str(", and the traffic log goes on (`log off` ends it)");
        }
        out.emit(Item::Note(note));
        Ok(Ret::none())
    }
}

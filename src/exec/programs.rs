//! `run` and `input`: programs run from the shell, watched (see
//! [`crate::watch`]), and what the session does for them between
//! statements (their lines in a script, once they have settled).

use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::syntax::ast::{Expr, Spanned};
use crate::watch::launch::Stdio3;
use crate::watch::track::Context;
use crate::watch::{Level, program_name};
use std::sync::Arc;
use std::time::Duration;

/// How long a script waits, after a statement, for the programs running
/// in the background to settle (say what the statement made them do).
const SETTLE_SCRIPT: Duration = Duration::from_secs(10);

/// The same in the interactive shell: a moment, so that their lines come
/// before the prompt (their printer shows what comes later anyway).
const SETTLE_SHELL: Duration = Duration::from_millis(300);

impl Session {
    /// What a watched program shares with the session: the message
    /// boundaries, the moments explained, the settings, the capture.
    pub(crate) fn watch_context(&mut self) -> Context {
        // A program's connections are captured for `states` too.
        self.start_capture();
        let watch_port = self.capture.as_ref().map(|c| c.port_watcher());
        if let Ok(mut l) = self.live_settings.lock() {
            *l = (self.settings.explain, self.settings.display);
        }
        Context {
            live: Some(Arc::clone(&self.live_settings)),
            bounds: Arc::clone(&self.bounds),
            explained: Arc::clone(&self.explained),
            explain: self.settings.explain,
            view: self.settings.display,
            watch_port,
            calls: self.watch_states.then(|| self.calls.clone()),
            log: Some(Arc::clone(&self.log)),
        }
    }

    /// `run [-q|-v] PROGRAM ARGS... [&]`.
    pub(super) fn run_cmd(
        &mut self,
        words: &[Spanned<String>],
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let mut level = Level::Normal;
        let mut k = 0;
        while let Some(w) = words.get(k) {
            match w.node.as_str() {
                "-q" | "--quiet" => level = Level::Quiet,
                "-v" | "--verbose" => level = Level::Verbose,
                _ => break,
            }
            k += 1;
        }
        let argv: Vec<String> = words[k..].iter().map(|w| w.node.clone()).collect();
        let span = words.get(k).map(|w| w.span);
        if argv.is_empty() {
            return Err(ExecError::usage("run needs a program: run python3 FILE.py"));
        }
        // A program does whatever the user can: a downloaded lesson that
        // runs `sh -c ...` would undo every rule of files.rs. The bundled
        // lessons are sockplay's own.
        if self.who == crate::files::Who::Script && self.in_lesson == 0 && !self.files.run {
            let x = ExecError::new(
                "PermissionError",
                format!(
                    "a script may not run a program: {}",
                    crate::value::str_repr(&argv.join(" "))
                ),
            )
            .hint("a program can do anything you can, which a lesson must not; start sockplay with --allow-run to allow it (or type the command at the prompt)");
            return Err(match span {
                Some(s) => x.at(s),
                None => x,
            });
        }
        let ctx = self.watch_context();
        if let Some((desc, _)) = self.background.take() {
            // The job's name in `jobs` and its reports: the command line,
            // cut (a `python3 -c` program is long).
            let desc = if desc.chars().count() > 72 {
                desc.chars().take(69).collect::<String>() + "..."
            } else {
                desc
            };
            let id = self.jobs.next_id();
            let printer = self.job_printer.clone();
            // On a lab host (`on a run ... &`) the program is started from
            // this thread, which is inside the host's namespaces now: it
            // and its sockets are the host's.
            let host = self
                .current_host()
                .and_then(|h| match self.lab_host_ip(&h) {
                    Some(std::net::IpAddr::V4(ip)) => Some((h, ip)),
                    _ => None,
                });
            let (prog, task) =
                crate::watch::job::start(id, &argv, level, ctx, printer.clone(), host).map_err(
                    |e| match span {
                        Some(s) => e.at(s),
                        None => e,
                    },
                )?;
            let started = self.jobs.start_task(desc, Vec::new(), -1, task, printer);
            out.emit(started);
            self.programs.push(prog);
            let mut ret = Ret::none();
            ret.job = true;
            return Ok(ret);
        }
        let stdio = if self.program_stdin {
            Stdio3::Inherit
        } else {
            Stdio3::NoInput
        };
        let name = program_name(&crate::watch::launch::resolve(&argv));
        // Everything said so far is seen before the program writes.
        out.idle();
        let end = crate::watch::foreground(&argv, level, ctx, stdio, &self.interrupt, out)
            .map_err(|e| match span {
                Some(s) => e.at(s),
                None => e,
            })?;
        // Its Ctrl-C was its own: the shell goes on.
        self.interrupt
            .store(false, std::sync::atomic::Ordering::SeqCst);
        self.programs.remember(end.connections.clone());
        let words = format!("{name} {}", end.words());
        // Ctrl-C is how a server is stopped: no failure of the shell's.
        if end.code() == 0 || end.code() == 128 + libc::SIGINT {
            out.emit(Item::Done(words));
            Ok(Ret::none())
        } else {
            Err(ExecError::usage(words)
                .hint("the program failed (its traceback, if any, is above); the shell goes on"))
        }
    }

    /// `input JOB ["text" | eof]`.
    pub(super) fn input_cmd(
        &mut self,
        job: &Spanned<i64>,
        data: Option<&Spanned<Expr>>,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let id = usize::try_from(job.node).unwrap_or(0);
        let Some(p) = self.programs.get(id).cloned() else {
            let what = if self.jobs.has(id) {
                format!("job [{id}] is not a program: input is for `run ... &`")
            } else {
                format!("there is no job [{id}]")
            };
            return Err(ExecError::usage(what)
                .at(job.span)
                .hint("`run python3 FILE.py &` starts one; `jobs` lists them"));
        };
        if p.is_ended() {
            return Err(ExecError::usage(format!("job [{id}] has ended"))
                .at(job.span)
                .hint("`wait` shows how it ended"));
        }
        let line: Option<Vec<u8>> = match data {
            None => Some(Vec::new()),
            Some(e) if matches!(&e.node, Expr::Word(w) | Expr::Var(w) if w == "eof" && !self.vars.contains_key("eof")) => {
                None
            }
            Some(e) => Some(self.data(e)?.to_vec()),
        };
        if line.as_ref().is_some_and(|l| l.contains(&b'\n')) {
            return Err(
                ExecError::usage("one line at a time: the text has a newline")
                    .at(data.map_or(job.span, |d| d.span))
                    .hint("input %1 \"first\" then input %1 \"second\""),
            );
        }
        p.input(line.as_deref()).map_err(|e| e.at(job.span))?;
        out.emit(Item::Done(match &line {
            Some(l) if p.python => format!(
                "typed {} for [{id}] {}: its input() returns {}",
                crate::value::bytes_repr(&[l.as_slice(), b"\n"].concat()),
                p.name,
                crate::value::str_repr(&String::from_utf8_lossy(l))
            ),
            // nc, curl: no input(), a read of its stdin.
            Some(l) => format!(
                "typed {} for [{id}] {}: its next read of its stdin gets it",
                crate::value::bytes_repr(&[l.as_slice(), b"\n"].concat()),
                p.name,
            ),
            None => format!(
                "closed the input of [{id}] {}: its next read gets the end of its input",
                p.name
            ),
        }));
        Ok(Ret::none())
    }

    /// After a statement: the programs running in the background settle
    /// (a script waits for them, a while at most), then their lines are
    /// shown; programs that ended are forgotten once their job is.
    pub(crate) fn settle_programs(&mut self, out: &mut dyn Sink) {
        if self.programs.is_empty() {
            return;
        }
        let max = if self.job_printer.is_some() {
            SETTLE_SHELL
        } else {
            SETTLE_SCRIPT
        };
        for it in self.programs.settle(max, &self.cancel()) {
            out.emit(it);
        }

        let gone: Vec<usize> = self
            .programs
            .iter()
            .map(|p| p.id)
            .filter(|id| !self.jobs.has(*id))
            .collect();
        for id in gone {
            for it in self.programs.remove(id) {
                out.emit(it);
            }
        }
    }

    /// Where `%N` in `cmd` reaches a program run from the shell (what
    /// `export` writes for it), if it is one.
    pub fn program_socket_addr(
        &self,
        word: &str,
        cmd: &crate::syntax::ast::Command,
    ) -> Option<std::net::SocketAddr> {
        let id = word.strip_prefix('%')?;
        let family = match cmd {
            crate::syntax::ast::Command::Connect { sock, .. }
            | crate::syntax::ast::Command::SendTo { sock, .. } => {
                let e = match &sock.node {
                    crate::syntax::ast::SockRef::Name(n) => match self.vars.get(n) {
                        Some(crate::value::Value::Socket(h)) => self.table.get(*h),
                        _ => None,
                    },
                    crate::syntax::ast::SockRef::Fd(fd) => self.table.by_fd(*fd),
                    crate::syntax::ast::SockRef::Last => {
                        self.table.last.and_then(|h| self.table.get(h))
                    }
                };
                e.map_or(crate::syntax::ast::Family::Inet, |e| e.family)
            }
            _ => crate::syntax::ast::Family::Inet,
        };
        self.program_address(id, family, Default::default())
            .ok()?
            .as_socket()
    }

    /// `connect k %1`: where program job 1 listens (TCP) or is bound
    /// (UDP), a wildcard address made loopback.
    pub(super) fn program_address(
        &self,
        id: &str,
        family: crate::syntax::ast::Family,
        span: crate::syntax::ast::Span,
    ) -> Result<socket2::SockAddr, ExecError> {
        let n: usize = id.parse().map_err(|_| {
            ExecError::usage(format!("`%{id}` is not a job"))
                .at(span)
                .hint("%1 is job 1 (`jobs` lists them)")
        })?;
        let Some(p) = self.programs.get(n) else {
            return Err(ExecError::usage(format!("there is no program job [{n}]"))
                .at(span)
                .hint("`run python3 server.py &` starts one; `jobs` lists them"));
        };
        let udp = self
            .table
            .last
            .and_then(|h| self.table.get(h))
            .is_some_and(|e| e.kind == crate::syntax::ast::SockKind::Dgram);
        if p.is_ended() && p.service_address(udp).is_none() {
            return Err(ExecError::usage(format!("[{n}] {} has ended", p.name))
                .at(span)
                .hint("its last lines say why; `wait` shows how it ended"));
        }
        let a = p.service_address(udp).ok_or_else(|| {
            ExecError::usage(format!(
                "[{n}] {} {} yet",
                p.name,
                if udp {
                    "has no bound UDP socket"
                } else {
                    "does not listen"
                }
            ))
            .at(span)
            .hint("`sockets` shows its sockets; wait until it has bound (its lines say so)")
        })?;
        let fam_ok = match family {
            crate::syntax::ast::Family::Unix => a.as_socket().is_none(),
            crate::syntax::ast::Family::Inet => a.as_socket().is_some_and(|s| s.is_ipv4()),
            crate::syntax::ast::Family::Inet6 => a.as_socket().is_some_and(|s| s.is_ipv6()),
        };
        if !fam_ok {
            return Err(ExecError::usage(format!(
                "[{n}] {} listens on {}, an address of another family",
                p.name,
                crate::value::addr_short(&a)
            ))
            .at(span));
        }
        Ok(a)
    }
}

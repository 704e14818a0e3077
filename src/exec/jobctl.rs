//! The session's side of background jobs: `jobs`, `wait`, `kill`, and
//! collecting finished jobs (binding their names, adding the sockets they
//! accepted to the table).

use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::jobs::Collected;
use crate::syntax::ast::Spanned;

/// How long `wait` in a script waits for a program run with `run ... &`.
const PROGRAM_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The identifiers a statement uses (outside quotes, after its `=`).
fn words_used(text: &str) -> Vec<&str> {
    let body = match text.find('=') {
        Some(k) if !text[..k].contains(['"', '\'']) => &text[k + 1..],
        _ => text,
    };
    let mut words = Vec::new();
    let mut quote: Option<char> = None;
    let mut start: Option<usize> = None;
    for (k, c) in body.char_indices() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        let ident = c.is_ascii_alphanumeric() || c == '_';
        match (ident, start) {
            (true, None) => start = Some(k),
            (false, Some(s)) => {
                words.push(&body[s..k]);
                start = None;
            }
            _ => {}
        }
        if c == '"' || c == '\'' {
            quote = Some(c);
        }
    }
    if let Some(s) = start {
        words.push(&body[s..]);
    }
    words
}

impl Session {
    /// Before a statement: collect jobs already reported (interactive), and
    /// wait for a job whose result the statement uses.
    pub(super) fn sync_jobs(&mut self, text: &str, out: &mut dyn Sink) -> Result<(), ExecError> {
        if self.jobs.is_empty() {
            return Ok(());
        }
        for id in self.jobs.printed_ids() {
            if let Some(c) = self.jobs.collect(id) {
                self.apply(c, out);
            }
        }
        let words = words_used(text);
        for id in self.jobs.binding_any(&words) {
            let running = !self.jobs.iter().any(|j| j.id == id && j.is_finished());
            let names = self
                .jobs
                .iter()
                .find(|j| j.id == id)
                .map(|j| j.targets.join(", "))
                .unwrap_or_default();
            if self.job_printer.is_none() {
                // A script says the same whether the job has ended yet or
                // not: it prints the same every time.
                out.emit(Item::Note(format!(
                    "`{names}` comes from job [{id}]: its report first (waiting for it if it still runs)"
                )));
            } else if running {
                out.emit(Item::Note(format!(
                    "`{names}` comes from job [{id}], still running: waiting for it (Ctrl-C stops waiting, not the job)"
                )));
            }
            if !self.jobs.wait_for(id, &self.cancel()) {
                return Err(
                    ExecError::interrupted().hint(format!("job [{id}] goes on; `jobs` lists it"))
                );
            }
            if let Some(c) = self.jobs.collect(id) {
                self.apply(c, out);
            }
        }
        Ok(())
    }

    /// Collects the jobs whose report the shell printed already (their
    /// names are bound, their sockets join the table), as the next
    /// statement would: `export` and `record` see them without one.
    pub fn collect_printed_jobs(&mut self) {
        let mut quiet: Vec<Item> = Vec::new();
        for id in self.jobs.printed_ids() {
            if let Some(c) = self.jobs.collect(id) {
                self.apply(c, &mut quiet);
            }
        }
    }

    /// A collected job: its report (if not printed yet), then its sockets
    /// and names.
    pub(super) fn apply(&mut self, c: Collected, out: &mut dyn Sink) {
        // What `export` and `record` need to know of the job (src/export).
        self.ended_jobs.push(c.ended);
        // A program's last lines come before its job's report.
        for it in self.programs.remove(c.id) {
            out.emit(it);
        }
        if let Some(report) = c.report {
            out.emit(report);
        }
        if !c.released.is_empty() {
            out.emit(Item::Note(format!(
                "job [{}] does not bind `{}`: bound since by a later command, which stands",
                c.id,
                c.released.join("`, `")
            )));
        }
        match c.result {
            Ok(ret) => self.adopt_and_bind(&c.targets, &c.released, ret, c.id, out),
            Err(_) => {
                for t in c.targets.iter().filter(|t| !c.released.contains(t)) {
                    self.failed_names.insert(t.clone(), c.id);
                }
            }
        }
        // A job's connect has connected its socket.
        if let Some(h) = self.table.by_fd(c.fd).map(|e| e.handle) {
            self.note_connected_h(h);
        }
    }

    fn adopt_and_bind(
        &mut self,
        targets: &[String],
        released: &[String],
        ret: Ret,
        id: usize,
        out: &mut dyn Sink,
    ) {
        // A name bound since the job began, to a socket still open, loses
        // it: say so rather than leave that socket nameless in silence.
        // (Names the foreground bound are released: they keep its value.)
        for (t, v) in targets.iter().zip(ret.values.iter()) {
            if released.contains(t) {
                continue;
            }
            if let Some(crate::value::Value::Socket(old)) = self.vars.get(t)
                && self.table.get(*old).is_some()
                && !matches!(v, crate::value::Value::Socket(h) if h == old)
            {
                out.emit(Item::Warn(format!(
                    "job [{id}] binds `{t}` now: the socket it named before (fd {}) has no name any more",
                    old.fd
                )));
            }
        }
        for a in ret.adopt {
            self.table
                .adopt(a.handle, a.sock, a.family, a.kind, a.origin);
        }
        for (t, v) in targets.iter().zip(ret.values) {
            if !released.contains(t) {
                self.assign(t, v);
            }
        }
    }

    fn job_ids(&self, jobs: &[Spanned<i64>]) -> Result<Vec<usize>, ExecError> {
        if jobs.is_empty() {
            return Ok(self.jobs.ids());
        }
        let mut ids = Vec::new();
        for j in jobs {
            let id = usize::try_from(j.node).unwrap_or(0);
            if !self.jobs.has(id) {
                return Err(ExecError::usage(format!("there is no job [{}]", j.node))
                    .at(j.span)
                    .hint("`jobs` lists them"));
            }
            ids.push(id);
        }
        Ok(ids)
    }

    pub(super) fn jobs_cmd(&mut self, out: &mut dyn Sink) -> Result<Ret, ExecError> {
        if self.jobs.is_empty() {
            out.emit(Item::Note(
                "no jobs: a call ending in `&` runs in the background (c = accept s &)".into(),
            ));
        } else {
            out.emit(Item::Jobs(self.jobs.rows()));
        }
        Ok(Ret::none())
    }

    /// `wait [%N...]`: until the jobs finish (all by default); Ctrl-C stops
    /// waiting, not the jobs.
    pub(super) fn wait_cmd(
        &mut self,
        jobs: &[Spanned<i64>],
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let ids = self.job_ids(jobs)?;
        if ids.is_empty() {
            out.emit(Item::Note("no jobs to wait for".into()));
            return Ok(Ret::none());
        }
        let running: Vec<usize> = ids
            .iter()
            .copied()
            .filter(|id| self.jobs.iter().any(|j| j.id == *id && !j.is_finished()))
            .collect();
        // The wait is announced in the interactive shell only: in a script
        // whether a job has ended by now is a matter of timing.
        if !running.is_empty() && self.job_printer.is_some() {
            let list: Vec<String> = running.iter().map(|id| format!("[{id}]")).collect();
            out.emit(Item::Waiting {
                call: "wait".into(),
                what: format!(
                    "job{} {}",
                    if running.len() == 1 { "" } else { "s" },
                    list.join(" ")
                ),
                queue: "the jobs go on if you stop waiting".into(),
            });
        }
        for id in ids {
            // A script waits for a program a while at most (a server may
            // never end by itself): a lesson never hangs on it.
            let program = self.programs.get(id).is_some();
            let deadline = (program && self.job_printer.is_none())
                .then(|| std::time::Instant::now() + PROGRAM_WAIT);
            if !self.jobs.wait_until(id, &self.cancel(), deadline) {
                if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                    return Err(ExecError::usage(format!(
                        "job [{id}] still runs after {} s",
                        PROGRAM_WAIT.as_secs()
                    ))
                    .hint(format!(
                        "kill %{id} ends it (a server waits for its next client forever)"
                    )));
                }
                return Err(ExecError::interrupted().hint("the jobs go on; `jobs` lists them"));
            }
            if let Some(c) = self.jobs.collect(id) {
                self.apply(c, out);
            }
        }
        Ok(Ret::none())
    }

    pub(super) fn kill_cmd(
        &mut self,
        jobs: &[Spanned<i64>],
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        if jobs.is_empty() {
            return Err(ExecError::usage(
                "kill needs a job: kill %1 (`jobs` lists them)",
            ));
        }
        for id in self.job_ids(jobs)? {
            if let Some(c) = self.jobs.kill(id, "killed") {
                self.apply(c, out);
            }
        }
        Ok(Ret::none())
    }

    /// Stops the jobs working on socket `fd` (it is about to close).
    pub(super) fn cancel_jobs_on(&mut self, fd: i32, label: &str, out: &mut dyn Sink) {
        for id in self.jobs.on_fd(fd) {
            if let Some(c) = self.jobs.kill(id, &format!("{label} was closed")) {
                self.apply(c, out);
            }
        }
    }

    /// At exit: report finished jobs, stop the rest.
    pub(super) fn end_jobs(&mut self, out: &mut dyn Sink) {
        for id in self.jobs.ids() {
            let finished = self.jobs.iter().any(|j| j.id == id && j.is_finished());
            let c = if finished {
                self.jobs.collect(id)
            } else {
                self.jobs.kill(id, "the shell is leaving")
            };
            if let Some(c) = c {
                self.apply(c, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::words_used;

    #[test]
    fn words_skip_targets_and_strings() {
        assert_eq!(words_used("c = accept s"), vec!["accept", "s"]);
        assert_eq!(words_used("send c \"to c\""), vec!["send", "c"]);
        assert_eq!(words_used("recv c2 10"), vec!["recv", "c2", "10"]);
    }
}

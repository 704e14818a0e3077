//! Running statements: one function per command over the socket table.
//!
//! The executor never prints. It reports what happens as [`Item`]s through
//! a [`Sink`], as it happens (a wait is announced before it starts), and
//! returns how the shell should go on ([`Flow`]) or an [`ExecError`]. The
//! renderer turns items into text; tests collect them.

mod ancillary;
pub(crate) mod bounds;
mod bulk;
mod c10k;
pub(crate) mod calls;
mod capture;
mod diagram;
mod dispatch;
mod epoll;
mod eval;
pub(crate) mod explain;
mod framing;
pub(crate) mod io;
mod item;
mod jobctl;
pub(crate) mod lab;
mod names;
mod opts;
mod pair;
mod print;
mod programs;
pub(crate) mod recv;
mod reset;
mod select;
mod serve;
pub(crate) mod shell;
mod states;

pub use bounds::Piece;
pub use c10k::{HOLD_ENV, hold_connections};
pub use eval::MAX_DATA;
pub use item::{Flow, Item, JobEnd, Row, Sink, SockDesc, describe};
pub(crate) use item::{Shown, describe_socket, value_items};
pub use lab::NOT_ON_A_HOST;

use crate::errors::ExecError;
use crate::jobs::{JobPrinter, Jobs};
use crate::syntax::ast::{Command, Family, SockKind, Statement, View};
use crate::table::{Origin, Table};
use crate::value::{SockHandle, Value};
use crate::wait::Cancel;
use socket2::Socket;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

/// Shell settings changed by `set`.
#[derive(Clone, Debug)]
pub struct Settings {
    pub display: View,
    /// `auto`, `always` or `never`; the front end applies it.
    pub color: String,
    /// Explain the classic moments the first time they happen.
    pub explain: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            display: View::Repr,
            color: "auto".into(),
            explain: true,
        }
    }
}

/// The state of one shell: its sockets, its names, its settings.
pub struct Session {
    pub table: Table,
    pub vars: BTreeMap<String, Value>,
    pub settings: Settings,
    /// Set by Ctrl-C; cleared before each statement by the front end.
    pub interrupt: Arc<AtomicBool>,
    /// The built-in peers (`serve`).
    pub peers: crate::peers::Peers,
    /// Told once: "Python needs bytes".
    told_str_encoding: bool,
    /// Message boundaries of TCP connections in this shell (shared with
    /// background jobs).
    pub(crate) bounds: Arc<Mutex<bounds::Boundaries>>,
    pub jobs: Jobs,
    /// Prints a background job's report at once (the interactive shell);
    /// None defers it to `wait` (scripts stay deterministic).
    pub job_printer: Option<JobPrinter>,
    /// Set while a statement with `&` runs: its text and names.
    background: Option<(String, Vec<String>)>,
    /// The moments explained already (shared with the watched programs,
    /// whose reports are turned into items on threads of their own).
    pub(crate) explained: Arc<Mutex<std::collections::HashSet<explain::Moment>>>,
    /// The capture of the packets on lo (started with the first TCP
    /// listen or connect, or UDP send), or why it could not start.
    capture: Option<crate::wire::Capture>,
    capture_error: Option<std::io::Error>,
    /// The calls of this shell's sockets, for `states` and `diagram`
    /// (shared with background jobs).
    pub calls: crate::wire::Calls,
    /// `sockplay --lab` (or `set lab on`): the shell runs in a network
    /// namespace of its own (Ok, with what was said), or could not (why).
    pub own_net: Option<Result<String, String>>,
    /// TCP states sampled after each command, and the last state seen per
    /// socket (by serial).
    samples: std::collections::VecDeque<states::Sample>,
    last_state: std::collections::HashMap<u64, String>,
    /// When the session began.
    started: std::time::Instant,
    /// Names a failed job would have bound (for a better NameError).
    failed_names: std::collections::HashMap<String, usize>,
    /// The names of closed sockets by their address, so `states` can name
    /// both ends of a connection that is gone.
    closed_labels: std::collections::HashMap<std::net::SocketAddr, String>,
    /// Told once: how to list, inspect and stop peers.
    told_peers: bool,
    /// Keep what `states` shows (the capture, or the sampled states). A
    /// script that never says `states` does not pay for them.
    pub watch_states: bool,
    /// The programs run in the background (`run ... &`).
    pub programs: crate::watch::Programs,
    /// A program run in the foreground may read sockplay's stdin (false
    /// when the shell's own commands come from it, a pipe).
    pub program_stdin: bool,
    /// Who gave the statement running now (the runner sets it): what it
    /// may do to files depends on it (see [`crate::files`]).
    pub who: crate::files::Who,
    /// Where scripts may write and read files (`--allow-write`...).
    pub files: crate::files::Policy,
    /// How the prompt asks before a file is replaced (the interactive
    /// shell sets it; without it, nothing is replaced).
    pub confirm: Option<Box<dyn crate::files::Confirm>>,
    /// The traffic log (`log FILE`), shared with the calls in flight.
    pub(crate) log: crate::proto::log::SharedLog,
    /// `set explain` and `set display` as the programs running in the
    /// background see them (they follow a later `set`).
    pub(crate) live_settings: crate::watch::track::Live,
    /// The commands come from stdin (piped): `interactive` cannot read
    /// the keyboard there.
    pub stdin_is_script: bool,
    /// The epoll instances (`ep = epoll`), by their id.
    pub(crate) epolls: std::collections::HashMap<u64, epoll::EpollSet>,
    pub(crate) next_epoll: u64,
    /// How many bundled lessons are running now: the socket files their
    /// binds make are theirs, not the learner's.
    pub in_lesson: usize,
    /// Socket files a bundled lesson made, removed once no socket of this
    /// shell is bound to them (at the lesson's end, or when every socket
    /// closes), so that a lesson leaves no file behind, however it ends.
    pub lesson_files: Vec<std::path::PathBuf>,
    /// The reports of the jobs collected since the runner last took them
    /// (`JobEnded` items, printed or not): the journal behind `export`
    /// and `record` (src/export) takes them after each statement.
    pub ended_jobs: Vec<Item>,
    /// Told once: print() shows an enum as its number.
    told_print_enum: bool,
    /// The lab (`lab up`), and the host the current statement runs on.
    pub(crate) lab: lab::LabState,
}

/// A socket a call created away from the session (accept), to be added to
/// the table under the handle it was shown with.
pub(crate) struct Adopt {
    pub handle: SockHandle,
    pub sock: Socket,
    pub family: Family,
    pub kind: SockKind,
    pub origin: Origin,
}

/// What a command returns before names are bound: its values (the first
/// is the main one; `accept` and `recvfrom` add the address), and how to
/// show bytes.
pub(crate) struct Ret {
    pub(crate) values: Vec<Value>,
    pub(crate) view: View,
    /// The command's own report already says the value (`sent 7 bytes`):
    /// show it only when it is bound to a name.
    pub(crate) said: bool,
    /// Notes to show after the values (`6 more bytes still queued`).
    pub(crate) after: Vec<Item>,
    /// Sockets to add to the table.
    pub(crate) adopt: Vec<Adopt>,
    /// The sends the received bytes came from.
    pub(crate) pieces: Vec<Piece>,
    /// The call went to the background: nothing to bind now.
    pub(crate) job: bool,
    /// None is the answer here (gettimeout), so it is shown.
    pub(crate) none_shown: bool,
}

impl Ret {
    pub(crate) fn none() -> Ret {
        Ret {
            values: vec![Value::None],
            view: View::Repr,
            said: false,
            after: Vec::new(),
            adopt: Vec::new(),
            pieces: Vec::new(),
            job: false,
            none_shown: false,
        }
    }
    pub(crate) fn one(v: Value) -> Ret {
        Ret {
            values: vec![v],
            view: View::Repr,
            said: false,
            after: Vec::new(),
            adopt: Vec::new(),
            pieces: Vec::new(),
            job: false,
            none_shown: false,
        }
    }
    pub(crate) fn two(a: Value, b: Value) -> Ret {
        Ret {
            values: vec![a, b],
            view: View::Repr,
            said: false,
            after: Vec::new(),
            adopt: Vec::new(),
            pieces: Vec::new(),
            job: false,
            none_shown: false,
        }
    }
    /// A value shown even when it is None.
    pub(crate) fn answer(v: Value) -> Ret {
        let mut r = Ret::one(v);
        r.none_shown = true;
        r
    }
    pub(crate) fn said(v: Value) -> Ret {
        Ret {
            values: vec![v],
            view: View::Repr,
            said: true,
            after: Vec::new(),
            adopt: Vec::new(),
            pieces: Vec::new(),
            job: false,
            none_shown: false,
        }
    }
}

impl Default for Session {
    fn default() -> Self {
        Session::new(Arc::new(AtomicBool::new(false)))
    }
}

impl Session {
    pub fn new(interrupt: Arc<AtomicBool>) -> Self {
        Session {
            table: Table::new(),
            vars: BTreeMap::new(),
            settings: Settings::default(),
            interrupt,
            peers: crate::peers::Peers::default(),
            told_str_encoding: false,
            bounds: Arc::default(),
            jobs: Jobs::default(),
            job_printer: None,
            background: None,
            explained: Default::default(),
            capture: None,
            capture_error: None,
            calls: crate::wire::Calls::default(),
            own_net: None,
            samples: Default::default(),
            last_state: Default::default(),
            started: std::time::Instant::now(),
            closed_labels: Default::default(),
            failed_names: Default::default(),
            told_peers: false,
            watch_states: true,
            programs: Default::default(),
            program_stdin: true,
            who: crate::files::Who::Script,
            files: crate::files::Policy::default(),
            confirm: None,
            log: Default::default(),
            live_settings: std::sync::Arc::new(std::sync::Mutex::new((
                true,
                crate::syntax::ast::View::Repr,
            ))),
            stdin_is_script: false,
            epolls: Default::default(),
            next_epoll: 0,
            in_lesson: 0,
            lesson_files: Vec::new(),
            ended_jobs: Vec::new(),
            told_print_enum: false,
            lab: lab::LabState::default(),
        }
    }

    /// What the statement running now may do to files.
    pub fn access(&mut self) -> crate::files::Access<'_> {
        crate::files::Access {
            who: self.who,
            policy: &self.files,
            confirm: self
                .confirm
                .as_deref_mut()
                .map(|c| c as &mut dyn crate::files::Confirm),
            force: false,
        }
    }

    /// What the statement running now may do to files, to check a path
    /// (nobody is asked anything).
    pub fn file_rules(&self) -> crate::files::Access<'_> {
        crate::files::Access {
            who: self.who,
            policy: &self.files,
            confirm: None,
            force: false,
        }
    }

    /// Opens a file that a command writes (`recvfile`, and any command
    /// that saves a file): see [`crate::files`] for what a script may do
    /// and how the file is put in place. Write to it, then `commit()`.
    pub fn new_file(&mut self, path: &str) -> Result<crate::files::NewFile, ExecError> {
        self.new_file_forced(path, false)
    }

    /// [`Session::new_file`] for a command told to replace (`force`): at
    /// the prompt an existing file is replaced without a question.
    pub fn new_file_forced(
        &mut self,
        path: &str,
        force: bool,
    ) -> Result<crate::files::NewFile, ExecError> {
        let mut access = self.access();
        access.force = force;
        crate::files::open_for_writing(path, &mut access)
    }

    /// Writes `bytes` as a whole file at `path` (see [`Session::new_file`]):
    /// the file appears complete or not at all. Returns the path as shown.
    pub fn save_file(
        &mut self,
        path: &str,
        bytes: &[u8],
        force: bool,
    ) -> Result<String, ExecError> {
        use std::io::Write;
        let mut f = self.new_file_forced(path, force)?;
        f.file().write_all(bytes)?;
        let shown = f.shown().to_string();
        f.commit()?;
        Ok(shown)
    }

    /// Runs the half of a call that may wait: here, or as a background job
    /// when the statement ended with `&`.
    pub(crate) fn call(
        &mut self,
        ctx: io::Ctx,
        work: io::Work,
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let Some((desc, targets)) = self.background.take() else {
            let racing: Vec<String> = self
                .jobs
                .iter()
                .filter(|j| j.fd == ctx.h.fd && !j.is_finished())
                .map(|j| format!("[{}]", j.id))
                .collect();
            if !racing.is_empty() {
                out.emit(Item::Note(format!(
                    "job {} waits on {} too: whichever call the kernel serves first gets the data",
                    racing.join(" "),
                    ctx.label
                )));
            }
            return work(&ctx, out);
        };
        let printer = self.job_printer.clone();
        let started = self.jobs.start(desc, targets, ctx, work, printer);
        out.emit(started);
        let mut ret = Ret::none();
        ret.job = true;
        Ok(ret)
    }

    /// The statement running now ends with `&`.
    pub(crate) fn in_background(&self) -> bool {
        self.background.is_some()
    }

    /// The cancel flags of a foreground call.
    pub fn cancel(&self) -> Cancel {
        Cancel::new(vec![Arc::clone(&self.interrupt)])
    }

    /// Runs one statement; `src` is the text it was parsed from. The first
    /// time a classic moment happens (b'', BrokenPipe...), it is explained
    /// after the statement's report.
    pub fn run(
        &mut self,
        stmt: &Statement,
        src: &str,
        out: &mut dyn Sink,
    ) -> Result<Flow, ExecError> {
        let seen = Arc::clone(&self.explained);
        let on = self.settings.explain;
        let result = {
            let mut ex = explain::Explainer {
                out: &mut *out,
                on,
                seen: &seen,
            };
            self.run_inner(stmt, src, &mut ex)
        };
        self.log_trouble(out);
        result
    }

    /// After an error was printed: its explanation, the first time.
    pub fn explain_after(&mut self, e: &ExecError, out: &mut dyn Sink) {
        self.explain_error(e, out);
    }

    fn run_inner(
        &mut self,
        stmt: &Statement,
        src: &str,
        out: &mut dyn Sink,
    ) -> Result<Flow, ExecError> {
        let text = src
            .get(stmt.span.start..stmt.span.end)
            .unwrap_or("")
            .trim_end_matches('&')
            .trim()
            .to_string();
        self.sync_jobs(&text, out)?;
        if let Some(e) = self.unknown_command(stmt) {
            return Err(e);
        }
        let returns = dispatch::returns(&stmt.command);
        if stmt.targets.len() > 1 && stmt.targets.len() != returns {
            let t = &stmt.targets[1];
            return Err(ExecError::new(
                "ValueError",
                format!(
                    "not enough values to unpack (expected {}, got {returns})",
                    stmt.targets.len()
                ),
            )
            .at(t.span)
            .hint("accept and recvfrom return two values (c, addr = accept s), select three"));
        }
        if let Command::On { host, stmt: inner } = &stmt.command {
            return self.on_host(host, inner, &stmt.targets, src, out);
        }
        if let Command::Quit { code } = &stmt.command {
            let code = match code {
                Some(e) => self.int(e)? as i32,
                None => 0,
            };
            return Ok(Flow::Quit(code));
        }
        let targets: Vec<String> = stmt.targets.iter().map(|t| t.node.clone()).collect();
        if stmt.background.is_some() {
            self.background = Some((text.clone(), targets.clone()));
        }
        let result = self.command(&stmt.command, out);
        if self.background.take().is_some() && result.is_ok() {
            out.emit(Item::Note(format!(
                "`{}` does not wait, so it ran now rather than as a job",
                text.split_whitespace().next().unwrap_or("")
            )));
        }
        let ret = result.map_err(|e| self.placed(e, stmt))?;
        if ret.job {
            return Ok(Flow::Continue);
        }
        self.finish(&targets, ret, out);
        self.note_connected();
        self.watch_ports();
        self.sample_states();
        Ok(Flow::Continue)
    }

    /// An error of a statement, pointed at the statement when it has no
    /// place of its own, its hint naming the socket the statement used.
    fn placed(&mut self, mut e: ExecError, stmt: &Statement) -> ExecError {
        self.note_failure(&stmt.command, &e);
        if e.is_errno(libc::ECONNRESET)
            && let Some(h) = self.table.last
            && let Some(entry) = self.table.get_mut(h)
        {
            entry.was_reset = true;
        }
        if e.is_errno(libc::EMFILE) {
            e.hint = Some(self.emfile_hint(matches!(stmt.command, Command::Accept { .. })));
        }
        if e.span.is_none() {
            e = e.at(stmt.command_span);
        }
        if let Some(h) = &e.hint
            && h.contains("{s}")
        {
            let label = self
                .table
                .last
                .and_then(|h| self.table.get(h))
                .map_or_else(|| "s".to_string(), |e| e.label());
            e.hint = Some(h.replace("{s}", &label));
        }
        e
    }

    /// EMFILE in numbers: the limit, how many descriptors this shell's
    /// sockets hold, and what to do.
    fn emfile_hint(&self, accept: bool) -> String {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit fills the struct it is given.
        let limit = (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0)
            .then_some(lim.rlim_cur);
        let n = self.table.len();
        let mut hint = match limit {
            Some(l) => format!(
                "this process may have {l} descriptors open (ulimit -n {l}) and all are in use: \
                 {n} by the sockets in this shell, the rest by stdin, stdout, stderr and the shell itself; \
                 close a socket and the next call gets its number"
            ),
            None => "this process has no descriptors left (ulimit -n): close a socket".into(),
        };
        if accept {
            hint.push_str("; the connection stays in the accept queue until an accept succeeds");
        }
        hint
    }

    /// Has the capture keep the segments of the last socket used (its own
    /// port and its peer's).
    fn watch_ports(&mut self) {
        let (Some(trace), Some(h)) = (&self.capture, self.table.last) else {
            return;
        };
        if let Some(e) = self.table.get(h) {
            for a in [e.sock.local_addr(), e.sock.peer_addr()]
                .into_iter()
                .flatten()
            {
                if let Some(sa) = a.as_socket() {
                    trace.watch(sa.port());
                }
            }
        }
    }

    /// Remembers that the last socket used has had a peer (and, for TCP,
    /// the connection's addresses).
    fn note_connected(&mut self) {
        if let Some(h) = self.table.last {
            self.note_connected_h(h);
        }
    }

    pub(crate) fn note_connected_h(&mut self, h: crate::value::SockHandle) {
        if self.table.note_conn(h) {
            return;
        }
        if let Some(e) = self.table.get_mut(h)
            && !e.was_connected
            && !e.is_tcp()
            && e.sock.peer_addr().is_ok()
        {
            e.was_connected = true;
        }
    }

    /// Adds a call's new sockets to the table, binds its names and shows
    /// its values.
    pub(crate) fn finish(&mut self, targets: &[String], ret: Ret, out: &mut dyn Sink) {
        let Ret {
            values,
            view,
            said,
            after,
            adopt,
            pieces,
            job: _,
            none_shown,
        } = ret;
        for a in adopt {
            self.table
                .adopt(a.handle, a.sock, a.family, a.kind, a.origin);
            self.table.last = Some(a.handle);
        }
        for (t, v) in targets.iter().zip(values.iter()) {
            self.jobs.release(t);
            self.assign(t, v.clone());
        }
        let items = value_items(
            targets,
            &values,
            view,
            Shown { said, none_shown },
            &pieces,
            &|v| self.desc_of(v),
        );
        for it in items.into_iter().chain(after) {
            out.emit(it);
        }
    }

    /// Binds a name, keeping the table's names in step.
    pub fn assign(&mut self, name: &str, v: Value) {
        self.failed_names.remove(name);
        let h = match &v {
            Value::Socket(h) => Some(*h),
            _ => None,
        };
        if h.is_some() || matches!(self.vars.get(name), Some(Value::Socket(_))) {
            self.table.name(name, h);
        }
        self.vars.insert(name.to_string(), v);
    }

    /// How the renderer shows a socket value.
    pub fn desc_of(&self, v: &Value) -> Option<SockDesc> {
        let Value::Socket(h) = v else { return None };
        Some(match self.table.get(*h) {
            Some(e) => describe(e),
            None => SockDesc {
                fd: h.fd,
                names: Vec::new(),
                family: Family::Inet,
                kind: SockKind::Stream,
                local: None,
                peer: None,
                state: "closed".into(),
                closed: true,
            },
        })
    }
    /// Closes every socket (Ctrl-D, quit, end of a script), after ending
    /// the background jobs.
    pub fn close_all(&mut self, out: &mut dyn Sink) {
        self.end_jobs(out);
        self.lab_down(out);
        self.table.clear();
        // The log says where it ended.
        if let Some(l) = self.log.lock().ok().and_then(|mut g| g.take()) {
            l.close();
        }
        self.tidy_lesson_files(out);
    }

    /// Stops every built-in peer (Ctrl-D, quit, end of a script); returns
    /// how many were running.
    pub fn stop_peers(&mut self) -> usize {
        self.peers.stop_all()
    }
}

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
mod epoll;
mod eval;
pub(crate) mod explain;
mod framing;
pub(crate) mod io;
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
pub use lab::NOT_ON_A_HOST;

use crate::errors::ExecError;
use crate::jobs::{JobPrinter, Jobs};
use crate::spec::Cmd;
use crate::syntax::ast::{Command, Family, SockKind, Statement, View};
use crate::table::{Entry, Origin, Table};
use crate::value::{SockHandle, Value};
use crate::wait::Cancel;
use socket2::Socket;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A socket as the renderer shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct SockDesc {
    pub fd: i32,
    pub names: Vec<String>,
    pub family: Family,
    pub kind: SockKind,
    pub local: Option<String>,
    pub peer: Option<String>,
    pub state: String,
    pub closed: bool,
}

/// One row of the socket table, already in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The fd, or `-` for a connection closed by the learner that the
    /// kernel still has.
    pub fd: String,
    pub names: String,
    pub proto: String,
    pub local: String,
    pub peer: String,
    pub state: String,
    pub recv_q: String,
    pub send_q: String,
    pub mode: String,
    pub ready: String,
    /// Which program holds it (`[1] tcp_server.py`), for the sockets of
    /// programs run from the shell; empty for the shell's own.
    pub owner: String,
    /// The lab host it is on (`-`: sockplay's own); empty while no lab is
    /// up, and then the column is not shown.
    pub host: String,
}

/// What a statement reports, in order.
// Items live for one line of output; boxing the large value variant would
// only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// Before a call that will wait: the call, what it waits for, and the
    /// queue that matters (`accept queue 0/5`).
    Waiting {
        call: String,
        what: String,
        queue: String,
    },
    /// A call that did not have to wait, and why.
    NoWait(String),
    /// The call returned after waiting this long.
    Waited(Duration),
    /// What the call did, in words.
    Done(String),
    /// A value: bound to a name, or the statement's result. For received
    /// bytes, `pieces` says which sends of a connection in this shell they
    /// came from (empty when unknown).
    Value {
        name: Option<String>,
        value: Value,
        view: View,
        sock: Option<SockDesc>,
        pieces: Vec<Piece>,
    },
    /// A line that replaces itself while a long call waits (on a terminal).
    Progress(String),
    /// A background job started: `[1] c = accept s` and what it waits for.
    JobStarted {
        id: usize,
        desc: String,
        state: String,
    },
    /// A background job ended: how, and what it reported.
    JobEnded {
        id: usize,
        desc: String,
        elapsed: Duration,
        how: JobEnd,
        items: Vec<Item>,
    },
    /// `jobs`: (id, statement, state, elapsed).
    Jobs(Vec<(usize, String, String, Duration)>),
    /// Something worth knowing (dim).
    Note(String),
    /// Something that may surprise (yellow).
    Warn(String),
    /// The socket table.
    Table(Vec<Row>),
    /// Labelled lines (`info`).
    Fields(String, Vec<(String, String)>),
    /// `help` for everything, or for one command.
    Help(Option<Cmd>),
    /// `echo` output: one line of text, already safe.
    Echo(String),
    /// A classic moment (BrokenPipe, b'', sticky packets...): the session
    /// explains the first of each kind and drops the rest.
    Moment(explain::Moment, explain::Ends),
    /// The explanation of a moment.
    Explain(explain::Moment, explain::Ends),
    /// A table of events over time (`states`): a title, the column heads
    /// and the rows.
    Timeline {
        title: String,
        head: Vec<&'static str>,
        rows: Vec<Vec<String>>,
    },
    /// `vars`.
    Vars(Vec<(String, Value, Option<SockDesc>)>),
    /// `set` with no arguments: the settings.
    Settings(Vec<(String, String)>),
    /// `peers`: the built-in peers.
    Peers(Vec<crate::peers::PeerRow>),
    /// `peers log N`: what one peer received.
    PeerLog(crate::peers::PeerLog),
    /// `lesson`: the bundled lessons, by number and title.
    Lessons(Vec<(usize, String)>),
    /// A watched program's call (see [`crate::watch`]): who made it (the
    /// job, a forked process, the thread, when there are several), where
    /// (`file:line`) and the program's line itself. The call's report
    /// follows as the shell's own items.
    Call {
        who: String,
        at: String,
        source: String,
    },
    /// A watched program's call waits: the call, what it waits for, the
    /// queue that matters, and how to stop it (the program's wait, not the
    /// shell's: Ctrl-C is not always the way).
    ProgramWaiting {
        call: String,
        what: String,
        queue: String,
        stop: String,
    },
    /// A watched program's call raised: the exception in Python's words.
    Raised(ExecError),
    /// A line a background program wrote (stdout, or stderr when `err`),
    /// already escaped, shown after its job's tag.
    Output {
        who: String,
        text: String,
        err: bool,
    },
    /// `interactive`: bytes as they went (sent) or arrived (received), and
    /// the sends of this shell they came from.
    Traffic {
        sent: bool,
        bytes: Vec<u8>,
        pieces: Vec<Piece>,
    },
    /// `clear`: the screen is cleared (on a terminal; nothing elsewhere).
    ClearScreen,
    /// `diagram`: a connection's sequence diagram.
    Diagram(crate::wire::ladder::Ladder),
}

/// How a background job ended.
#[derive(Clone, Debug, PartialEq)]
pub enum JobEnd {
    Done,
    Failed(ExecError),
    /// Killed: by `kill`, by closing its socket, or at exit.
    Cancelled(String),
}

/// Where items go.
pub trait Sink {
    fn emit(&mut self, item: Item);

    /// The call is about to take a while without saying anything (a long
    /// transfer, `sleep`): a sink that gathers output writes it out now.
    fn idle(&mut self) {}
}

impl Sink for Vec<Item> {
    fn emit(&mut self, item: Item) {
        self.push(item);
    }
}

/// How the shell goes on after a statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit(i32),
}

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
        let returns = returns(&stmt.command);
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

    fn command(&mut self, cmd: &Command, out: &mut dyn Sink) -> Result<Ret, ExecError> {
        use Command as C;
        match cmd {
            C::Socket {
                family,
                kind,
                proto,
            } => self.socket(*family, *kind, *proto, out),
            C::Bind { sock, addr } => self.bind(sock, addr, out),
            C::Listen { sock, backlog } => self.listen(sock, backlog.as_ref(), out),
            C::Accept { sock } => self.accept(sock, out),
            C::Connect { sock, addr } => self.connect(sock, addr, out),
            C::Send { sock, data, flags } => self.send(sock, data, flags, out),
            C::SendAll { sock, data } => self.sendall(sock, data, out),
            C::Recv {
                sock,
                size,
                flags,
                view,
                decode,
            } => self.recv(sock, size.as_ref(), flags, *view, *decode, out),
            C::SendTo {
                sock,
                data,
                addr,
                flags,
            } => self.sendto(sock, data, addr, flags, out),
            C::RecvFrom {
                sock,
                size,
                flags,
                view,
            } => self.recvfrom(sock, size.as_ref(), flags, *view, out),
            C::SendFile { sock, path } => self.sendfile(sock, path, out),
            C::RecvBulk { sock, into, limit } => self.recv_bulk(sock, into, limit.as_ref(), out),
            C::Close { sock } => self.close(sock, out),
            C::Shutdown { sock, how } => self.shutdown(sock, *how, out),
            C::SetSockOpt {
                sock,
                level,
                option,
                values,
            } => self.setsockopt(sock, level.as_ref(), option, values, out),
            C::GetSockOpt {
                sock,
                level,
                option,
            } => self.getsockopt(sock, level.as_ref(), option, out),
            C::GetSockName { sock } => self.getsockname(sock),
            C::GetPeerName { sock } => self.getpeername(sock),
            C::Fileno { sock } => {
                let h = self.sock(sock)?;
                Ok(Ret::one(Value::Int(i64::from(h.fd))))
            }
            C::GetFamily { sock } => {
                let e = self.entry(sock)?;
                Ok(Ret::one(Value::Family(e.family)))
            }
            C::GetType { sock } => {
                let e = self.entry(sock)?;
                Ok(Ret::one(Value::Kind(e.kind)))
            }
            C::SetBlocking { sock, flag } => self.setblocking(sock, flag, out),
            C::SetTimeout { sock, seconds } => self.settimeout(sock, seconds, out),
            C::GetTimeout { sock } => self.gettimeout(sock),
            C::Sockets => self.sockets(out),
            C::Info { sock } => self.info(sock, out),
            C::GetHostName => names::gethostname(),
            C::GetHostByName { host } => {
                let name = self.text(host)?;
                if let Some(ip) = self.lab_host_ip(&name) {
                    return Ok(Ret::one(Value::Str(ip.to_string().into())));
                }
                names::gethostbyname(&name).map_err(|e| e.at(host.span))
            }
            C::GetHostByNameEx { host } => {
                let name = self.text(host)?;
                if let Some(ip) = self.lab_host_ip(&name) {
                    return Ok(Ret::one(names::host_entry(&name, ip)));
                }
                names::gethostbyname_ex(&name).map_err(|e| e.at(host.span))
            }
            C::GetHostByAddr { host } => {
                let text = self.text(host)?;
                let lab_name = match text.parse::<std::net::IpAddr>() {
                    Ok(ip) => self.lab_host_of(ip).map(|n| (n, ip)),
                    Err(_) => self.lab_host_ip(&text).map(|ip| (text.clone(), ip)),
                };
                if let Some((name, ip)) = lab_name {
                    return Ok(Ret::one(names::host_entry(&name, ip)));
                }
                names::gethostbyaddr(&text).map_err(|e| e.at(host.span))
            }
            C::GetAddrInfo {
                host,
                port,
                family,
                kind,
            } => {
                let h = self.text(host)?;
                // A lab host's name is its address (the system's resolver
                // does not know it), as for gethostbyname.
                let h = self.lab_host_ip(&h).map_or(h, |ip| ip.to_string());
                let p = match port {
                    Some(p) => Some(self.text(p)?),
                    None => None,
                };
                names::getaddrinfo(&h, p.as_deref(), *family, *kind).map_err(|e| e.at(host.span))
            }
            C::GetFqdn { host } => {
                let h = match host {
                    Some(h) => Some(self.text(h)?),
                    None => None,
                };
                names::getfqdn(h.as_deref())
            }
            C::InetAton { text } => {
                names::inet_aton(&self.text(text)?).map_err(|e| e.at(text.span))
            }
            C::InetNtoa { data } => {
                names::inet_ntoa(&self.bytes_only(data)?).map_err(|e| e.at(data.span))
            }
            C::InetPton { family, text } => {
                names::inet_pton(*family, &self.text(text)?).map_err(|e| e.at(text.span))
            }
            C::InetNtop { family, data } => {
                names::inet_ntop(*family, &self.bytes_only(data)?).map_err(|e| e.at(data.span))
            }
            C::GetServByName { name, proto } => {
                let p = match proto {
                    Some(p) => Some(self.text(p)?),
                    None => None,
                };
                names::getservbyname(&self.text(name)?, p.as_deref()).map_err(|e| e.at(name.span))
            }
            C::GetServByPort { port, proto } => {
                let p = match proto {
                    Some(p) => Some(self.text(p)?),
                    None => None,
                };
                names::getservbyport(self.int(port)?, p.as_deref()).map_err(|e| e.at(port.span))
            }
            C::ByteOrder { op, value } => {
                names::byte_order(*op, self.int(value)?).map_err(|e| e.at(value.span))
            }
            C::Help { topic } => self.help(topic.as_ref(), out),
            C::Echo { values } => self.echo(values, out),
            C::Print { args } => self.print_cmd(args, out),
            C::Import { modules } => {
                for m in modules {
                    out.emit(Item::Note(shell::import_note(&m.node)));
                }
                Ok(Ret::none())
            }
            C::Sleep { seconds } => self.sleep(seconds, out),
            C::Quit { .. } => Ok(Ret::none()),
            C::Set { key, value } => self.set(key.as_ref(), value.as_ref(), out),
            C::Vars => self.vars_cmd(out),
            C::Clear => {
                out.emit(Item::ClearScreen);
                Ok(Ret::none())
            }
            C::Reset => self.reset(out),
            C::Unlink { path } => self.unlink(path, out),
            C::Select {
                read,
                write,
                except,
                timeout,
            } => self.select([read, write, except], timeout.as_ref(), out),
            C::Poll {
                read,
                write,
                except,
                timeout,
            } => self.poll_cmd([read, write, except], timeout.as_ref(), out),
            C::SendMsg {
                sock,
                data,
                framing,
            } => self.sendmsg(sock, data, framing, out),
            C::RecvMsg { sock, framing } => self.recvmsg(sock, framing, out),
            C::States {
                sock,
                absolute,
                save,
            } => self.states(sock.as_ref(), *absolute, save.as_ref(), out),
            C::Diagram {
                sock,
                absolute,
                save,
            } => self.diagram(sock.as_ref(), *absolute, save.as_ref(), out),
            C::Membership {
                join,
                sock,
                group,
                interface,
            } => self.membership(*join, sock, group, interface.as_ref(), out),
            C::Jobs => self.jobs_cmd(out),
            C::Wait { jobs } => self.wait_cmd(jobs, out),
            C::Kill { jobs } => self.kill_cmd(jobs, out),
            C::Serve {
                kind,
                udp,
                addr,
                dir,
            } => self.serve(*kind, *udp, addr.as_ref(), dir.as_ref(), out),
            C::Peers { log, peer } => self.peers_cmd(*log, peer.as_ref(), out),
            C::Stop { peer } => self.stop_cmd(peer, out),
            C::Value(e) => {
                let v = self.eval(e)?;
                Ok(Ret::one(v))
            }
            C::Run { argv } => self.run_cmd(argv, out),
            C::Input { job, data } => self.input_cmd(job, data.as_ref(), out),
            C::RecvUntil {
                sock,
                until,
                drop,
                timeout,
                view,
            } => self.recv_until(sock, until, *drop, timeout.as_ref(), *view, out),
            C::Log { path, hex } => self.log_cmd(path.as_ref(), *hex, out),
            C::Interactive { sock, crlf } => self.interactive(sock, *crlf, out),
            C::SocketPair { family, kind } => self.socketpair(*family, *kind, out),
            C::Dup { sock } => self.dup(sock, out),
            C::GetNameInfo { addr, flags } => {
                let f = match flags {
                    Some(e) => names::ni_flags(&self.text(e)?).map_err(|x| x.at(e.span))?,
                    None => 0,
                };
                let sa = self
                    .address(addr, Family::Inet, true)
                    .or_else(|_| self.address(addr, Family::Inet6, true))
                    .map_err(|x| {
                        if x.span.is_none() {
                            x.at(addr.span())
                        } else {
                            x
                        }
                    })?;
                names::getnameinfo(&sa, f).map_err(|x| x.at(addr.span()))
            }
            C::Epoll { ep, op } => self.epoll_cmd(ep.as_ref(), op, out),
            C::C10k { n } => self.c10k(n.as_ref(), out),
            C::GetProtoByName { name } => {
                names::getprotobyname(&self.text(name)?).map_err(|e| e.at(name.span))
            }
            C::Lab(l) => self.lab_cmd(l, out),
            // Carried out by run_inner (it wraps a whole statement).
            C::On { .. } => Err(ExecError::usage(
                "`on` takes a statement: on b s = socket tcp",
            )),
            // The script runner (crate::script) carries these out: they
            // read files, replay lines and check captured output.
            C::Source { .. }
            | C::Lesson { .. }
            | C::Expect(_)
            | C::MacDef { .. }
            | C::Export { .. }
            | C::Record { .. } => Err(ExecError::usage(
                "this command is run by the script runner, not the session",
            )),
        }
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

/// How many values a command gives to `a, b = ...`.
fn returns(cmd: &Command) -> usize {
    match cmd {
        Command::Accept { .. } | Command::RecvFrom { .. } => 2,
        Command::Select { .. } => 3,
        Command::SocketPair { .. } => 2,
        Command::RecvMsg {
            framing: crate::syntax::ast::Framing::Ancillary(_),
            ..
        } => 2,
        _ => 1,
    }
}

/// The renderer's view of a table entry.
pub fn describe(e: &Entry) -> SockDesc {
    describe_socket(e.fd(), &e.sock, e.family, e.kind, e.names.clone())
}

/// The renderer's view of a socket.
pub(crate) fn describe_socket(
    fd: i32,
    sock: &Socket,
    family: Family,
    kind: SockKind,
    names: Vec<String>,
) -> SockDesc {
    let local = sock
        .local_addr()
        .ok()
        .filter(crate::table::is_bound)
        .filter(|a| {
            kind != SockKind::Raw || a.as_socket().is_some_and(|s| !s.ip().is_unspecified())
        });
    // An IP socket with no port has no peer and no TCP state worth showing
    // (CLOSED): two calls saved on every new socket.
    if local.is_none() && family != Family::Unix {
        return SockDesc {
            fd,
            names,
            family,
            kind,
            local: None,
            peer: None,
            state: String::new(),
            closed: false,
        };
    }
    let peer = sock.peer_addr().ok().filter(crate::table::is_bound);
    let state = if family != Family::Unix && kind == SockKind::Stream {
        crate::table::tcp_info(sock)
            .map(|t| crate::table::tcp_state_name(t.state).to_string())
            .unwrap_or_default()
    } else {
        String::new()
    };
    SockDesc {
        fd,
        names,
        family,
        kind,
        local: local.as_ref().map(crate::value::addr_short),
        peer: peer.as_ref().map(crate::value::addr_short),
        state,
        closed: false,
    }
}

/// Which unbound values are worth a line.
#[derive(Clone, Copy)]
pub(crate) struct Shown {
    /// The call's report said the value already (`sent 7 bytes`).
    pub said: bool,
    /// None is a real answer (gettimeout), not "nothing".
    pub none_shown: bool,
}

/// The items that show a call's values: `name = value` for each target,
/// the rest (or all, with no target) as `-> value`; two unbound values
/// (accept, recvfrom) as the tuple Python returns. A value the call
/// already said is shown only when bound.
pub(crate) fn value_items(
    targets: &[String],
    values: &[Value],
    view: View,
    shown: Shown,
    pieces: &[Piece],
    desc: &dyn Fn(&Value) -> Option<SockDesc>,
) -> Vec<Item> {
    let mut items = Vec::new();
    if targets.is_empty() && values.len() == 2 && view == View::Repr && !shown.said {
        items.push(Item::Value {
            name: None,
            value: Value::Tuple(values.to_vec()),
            view,
            sock: desc(&values[0]),
            pieces: Vec::new(),
        });
        return items;
    }
    for (k, v) in values.iter().enumerate() {
        let name = targets.get(k).cloned();
        if name.is_none() && ((matches!(v, Value::None) && !shown.none_shown) || shown.said) {
            continue;
        }
        items.push(Item::Value {
            name,
            value: v.clone(),
            view: if k == 0 { view } else { View::Repr },
            sock: desc(v),
            pieces: if k == 0 { pieces.to_vec() } else { Vec::new() },
        });
    }
    items
}

//! A watched program's reports become the shell's own items.
//!
//! The tracker follows one program: its processes (a fork is a process of
//! its own), threads, places in the source, and sockets (by pid and fd,
//! with what the reports told: family, type, addresses, mode). Each report
//! becomes items: a header ([`Item::Call`]: the thread, `file:line` and the
//! program's line) and what the shell says for the same call, in the same
//! words (the wording comes from the executor's own functions where it
//! has them). Received bytes are matched to the sends they came from with
//! the session's message boundaries, so the shell and the program see each
//! other's sends.
//!
//! Here: the tracker's state, its public face and the dispatch of each
//! report. Beside it: `fields` (what a report's fields mean), `waits` (what
//! a waiting call waits for), `done` (a returned call's result or error),
//! `io` (accept, connect, sends, receives, select, poll), `ancillary`
//! (sendmsg, recvmsg, descriptors passed) and `record` (the wire view).

use super::Level;
use super::proto::{Call, Phase, Report, Status};
use crate::exec::bounds::Boundaries;
use crate::exec::explain::{Moment, first_time};
use crate::exec::{Item, SockDesc};
use crate::syntax::ast::{Family, SockKind, View};
use crate::table::Mode;
use crate::value::plural;
use crate::value::{addr_short, escape_controls};
use socket2::SockAddr;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod ancillary;
mod done;
mod fields;
mod io;
mod record;
mod waits;

use fields::{PAddr, family_of, hex, kind_of, mode_of, paddr, repr_value, targets};
use waits::wait_fds;

/// A connect that has not returned after this long is shown as waiting
/// (on loopback one returns in microseconds).
pub const GRACE: Duration = Duration::from_millis(40);

/// How much of the data a send moved is shown in its line.
const SENT_SHOWN: usize = 48;

/// `set explain` and `set display` shared with the programs running in the
/// background: (explain, display).
pub type Live = Arc<Mutex<(bool, View)>>;

/// What the tracker shares with the session.
#[derive(Clone)]
pub struct Context {
    /// The session's settings as they are now (a `set` after the program
    /// started applies to it); None: `explain` and `view` below, fixed.
    pub live: Option<Live>,
    pub bounds: Arc<Mutex<Boundaries>>,
    pub explained: Arc<Mutex<HashSet<Moment>>>,
    pub explain: bool,
    pub view: View,
    /// Tells the capture behind `states` to keep a port's segments.
    pub watch_port: Option<Arc<dyn Fn(u16) + Send + Sync>>,
    /// Where the program's calls are recorded beside the shell's, for
    /// `states` and `diagram` (None outside the shell: `sockplay watch`
    /// draws no diagram).
    pub calls: Option<crate::wire::Calls>,
    /// The shell's traffic log (`log FILE`): the program's bytes go in it
    /// too, while it is on.
    pub log: Option<crate::proto::log::SharedLog>,
}

impl Context {
    /// Whether the classic moments are explained (`set explain`), now.
    fn explain_on(&self) -> bool {
        match &self.live {
            Some(l) => l.lock().map_or(self.explain, |g| g.0),
            None => self.explain,
        }
    }

    /// How received bytes are shown (`set display`), now.
    fn view_now(&self) -> View {
        match &self.live {
            Some(l) => l.lock().map_or(self.view, |g| g.1),
            None => self.view,
        }
    }
}

impl Default for Context {
    fn default() -> Self {
        Context {
            live: None,
            bounds: Arc::default(),
            explained: Arc::default(),
            explain: true,
            view: View::Repr,
            watch_port: None,
            calls: None,
            log: None,
        }
    }
}

/// How the program runs.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Its job number in the shell (`run ... &`).
    pub job: Option<usize>,
    pub level: Level,
    /// It has the terminal (Ctrl-C reaches it).
    pub foreground: bool,
    /// Where it started.
    pub cwd: PathBuf,
    pub main_pid: i32,
}

/// A socket of the program, as its reports told.
#[derive(Clone, Debug)]
pub struct Sock {
    pub fd: i32,
    /// Its name in the program (`sockfd = socket(...)`), else `fd N`.
    pub label: String,
    pub named: bool,
    pub family: Option<Family>,
    pub kind: Option<SockKind>,
    pub local: Option<SockAddr>,
    pub peer: Option<SockAddr>,
    pub listening: bool,
    pub backlog: Option<i64>,
    pub mode: Mode,
    pub was_reset: bool,
    pub shut_write: bool,
    /// One end of a socketpair: connected from its birth, with no address.
    pub paired: bool,
    pub serial: u64,
    /// It came from another process (SCM_RIGHTS), which may hold it too:
    /// a close here may end nothing.
    pub shared: bool,
}

impl Sock {
    fn new(fd: i32) -> Sock {
        Sock {
            fd,
            label: format!("fd {fd}"),
            named: false,
            family: None,
            kind: None,
            local: None,
            peer: None,
            listening: false,
            backlog: None,
            mode: Mode::Blocking,
            was_reset: false,
            shut_write: false,
            paired: false,
            serial: crate::table::next_serial(),
            shared: false,
        }
    }

    pub fn is_tcp(&self) -> bool {
        self.kind == Some(SockKind::Stream)
            && matches!(self.family, Some(Family::Inet | Family::Inet6))
    }

    /// (local, peer) of a TCP connection.
    pub fn pair(&self) -> Option<(SocketAddr, SocketAddr)> {
        if !self.is_tcp() {
            return None;
        }
        Some((
            self.local.as_ref()?.as_socket()?,
            self.peer.as_ref()?.as_socket()?,
        ))
    }

    fn desc(&self, state: &str) -> SockDesc {
        SockDesc {
            fd: self.fd,
            names: if self.named {
                vec![self.label.clone()]
            } else {
                Vec::new()
            },
            family: self.family.unwrap_or(Family::Inet),
            kind: self.kind.unwrap_or(SockKind::Stream),
            local: self
                .local
                .as_ref()
                .filter(|a| crate::table::is_bound(a))
                .map(addr_short),
            peer: self.peer.as_ref().map(addr_short),
            state: if self.is_tcp() {
                state.to_string()
            } else {
                String::new()
            },
            closed: false,
        }
    }

    fn local_text(&self) -> String {
        self.local.as_ref().map_or("?".into(), addr_short)
    }
}

/// A place in the program.
#[derive(Clone, Debug)]
struct Place {
    at: String,
    source: String,
    /// The names its line assigns (`a, b = ...` gives a and b).
    targets: Vec<String>,
}

/// What a thread waits for now (for `jobs`, and to tell a settled
/// program from a busy one).
#[derive(Clone, Debug)]
pub struct Wait {
    pub text: String,
    /// It waits for something outside (a socket, a line, another thread):
    /// false for a sleep, which ends by itself.
    pub settled: bool,
    /// The program's descriptors it waits on, and for what (poll events):
    /// when one is ready, the wait is about to end.
    pub fds: Vec<(i32, i16)>,
}

/// A connect that may wait (shown as waiting only after [`GRACE`]).
struct Maybe {
    call: Call,
    since: Instant,
    shown: bool,
}

/// Follows one program's reports.
pub struct Tracker {
    pub setup: Setup,
    ctx: Context,
    places: HashMap<(i32, u32), Place>,
    socks: BTreeMap<(i32, i32), Sock>,
    /// The connections of sockets closed since (the last 256), so that
    /// `states` still names their ends.
    closed: std::collections::VecDeque<(SocketAddr, SocketAddr, String)>,
    /// Processes: pid -> parent.
    pub pids: BTreeMap<i32, i32>,
    /// Threads: (pid, tid) -> name.
    threads: HashMap<(i32, i32), String>,
    /// What each thread waits for.
    waits: HashMap<(i32, i32), Wait>,
    maybe: Vec<Maybe>,
    /// The last header shown: (pid, tid, place), and whether a wait was
    /// the last thing said under it.
    last: Option<(i32, i32, u32)>,
    last_was_wait: bool,
    /// Library polls (socketserver's) that found nothing: their repeats
    /// are not shown (pid, tid, what they poll).
    quiet_polls: HashSet<(i32, i32, String)>,
    /// Reports that did not parse, or did not fit what sockplay knows.
    pub garbage: u64,
    /// The program has reported (it is Python with the hook).
    pub hooked: bool,
    /// When the last report came.
    pub last_report: Option<Instant>,
}

impl Tracker {
    pub fn new(setup: Setup, ctx: Context) -> Tracker {
        let mut pids = BTreeMap::new();
        pids.insert(setup.main_pid, 0);
        Tracker {
            setup,
            ctx,
            places: HashMap::new(),
            socks: BTreeMap::new(),
            closed: Default::default(),
            pids,
            threads: HashMap::new(),
            waits: HashMap::new(),
            maybe: Vec::new(),
            last: None,
            last_was_wait: false,
            quiet_polls: HashSet::new(),
            garbage: 0,
            hooked: false,
            last_report: None,
        }
    }

    /// The program's sockets now, by (pid, fd).
    pub fn sockets(&self) -> impl Iterator<Item = (&(i32, i32), &Sock)> {
        self.socks.iter()
    }

    /// What its threads wait for: (pid, tid) -> wait.
    pub fn waits(&self) -> &HashMap<(i32, i32), Wait> {
        &self.waits
    }

    /// The address a client would connect to (a listening TCP socket), or
    /// send to (a bound UDP socket); a wildcard address becomes `host` (the
    /// lab host's address the program runs on), else loopback.
    pub fn service_address(&self, udp: bool, host: Option<std::net::Ipv4Addr>) -> Option<SockAddr> {
        let want = if udp {
            SockKind::Dgram
        } else {
            SockKind::Stream
        };
        let s = self.socks.values().find(|s| {
            s.kind == Some(want)
                && (udp || s.listening)
                && s.local.as_ref().is_some_and(crate::table::is_bound)
        })?;
        let a = s.local.as_ref()?;
        match a.as_socket() {
            Some(sa) if sa.ip().is_unspecified() => {
                let ip: std::net::IpAddr = match (host, sa.is_ipv4()) {
                    (Some(h), true) => h.into(),
                    (Some(h), false) => h.to_ipv6_mapped().into(),
                    (None, true) => std::net::Ipv4Addr::LOCALHOST.into(),
                    (None, false) => std::net::Ipv6Addr::LOCALHOST.into(),
                };
                Some(SockAddr::from(SocketAddr::new(ip, sa.port())))
            }
            _ => Some(a.clone()),
        }
    }

    /// The program's label of its socket at (pid, fd), if it has one.
    pub fn label_of(&self, pid: i32, fd: i32) -> Option<String> {
        self.socks.get(&(pid, fd)).map(|s| s.label.clone())
    }

    /// Whether one of the program's open sockets has this name (its
    /// variable in the program).
    pub fn has_socket_named(&self, name: &str) -> bool {
        self.socks.values().any(|s| s.named && s.label == name)
    }

    /// The program's TCP connections, open then closed: (local, peer,
    /// label).
    pub fn connections(&self) -> Vec<(SocketAddr, SocketAddr, String)> {
        self.socks
            .values()
            .filter_map(|s| s.pair().map(|(l, p)| (l, p, s.label.clone())))
            .chain(self.closed.iter().rev().cloned())
            .collect()
    }

    /// The job's state for `jobs`: what the program waits for.
    pub fn state(&self) -> String {
        let main = (self.setup.main_pid, self.setup.main_pid);
        let w = self
            .waits
            .get(&main)
            .or_else(|| self.waits.values().find(|w| w.settled))
            .or_else(|| self.waits.values().next());
        match w {
            Some(w) => w.text.clone(),
            None if !self.hooked => "starting".into(),
            None => "working".into(),
        }
    }

    /// One report: its items, and whether it asks for a sync (the loop
    /// shows everything, then answers).
    pub fn feed(&mut self, r: Report) -> (Vec<Item>, bool) {
        self.last_report = Some(Instant::now());
        match r {
            Report::Hello { pid, ppid, cwd: _ } => {
                self.hooked = true;
                if self.pids.len() < 1024 {
                    self.pids.insert(pid, ppid);
                }
                // A forked child holds its parent's sockets.
                if pid != self.setup.main_pid && self.pids.contains_key(&ppid) {
                    let inherited: Vec<Sock> = self
                        .socks
                        .iter()
                        .filter(|((p, _), _)| *p == ppid)
                        .map(|(_, s)| s.clone())
                        .collect();
                    for s in inherited {
                        self.socks.insert((pid, s.fd), s);
                    }
                }
                (Vec::new(), false)
            }
            Report::Loc {
                pid,
                id,
                file,
                line,
                source,
            } => {
                if self.places.len() < 100_000 {
                    let at = format!("{}:{line}", self.file_shown(&file));
                    let targets = targets(&source);
                    let mut shown = escape_controls(&source);
                    if shown.chars().count() > 120 {
                        shown = shown.chars().take(117).collect::<String>() + "...";
                    }
                    self.places.insert(
                        (pid, id),
                        Place {
                            at,
                            source: shown,
                            targets,
                        },
                    );
                }
                (Vec::new(), false)
            }
            Report::Sync { .. } => (Vec::new(), true),
            // The loop shows what programs print.
            Report::Output { .. } => (Vec::new(), false),
            Report::Call(c) => (self.call(c), false),
        }
    }

    /// Something else was shown since this program's last line: its next
    /// call gets its header again.
    pub fn break_continuity(&mut self) {
        self.last = None;
        self.last_was_wait = false;
    }

    /// A report that did not parse.
    pub fn garbage(&mut self, why: &str) -> Vec<Item> {
        self.garbage += 1;
        if self.garbage == 1 {
            vec![Item::Warn(format!(
                "a report from the program did not parse ({}); such reports are skipped",
                escape_controls(why)
            ))]
        } else {
            Vec::new()
        }
    }

    /// Connects still going after [`GRACE`] are shown as waiting.
    pub fn tick(&mut self, now: Instant) -> Vec<Item> {
        let mut out = Vec::new();
        let mut due = Vec::new();
        for m in &mut self.maybe {
            if !m.shown && now.duration_since(m.since) >= GRACE {
                m.shown = true;
                due.push(m.call.clone());
            }
        }
        for c in due {
            let mut items = self.waiting_items(&c);
            if !items.is_empty() {
                let mut all = vec![self.header(&c, true)];
                all.append(&mut items);
                self.last_was_wait = true;
                out.extend(self.level(all));
            }
        }
        out
    }

    /// A file as the header shows it: relative to where the program
    /// started, else its name alone (a library's, a file elsewhere).
    fn file_shown(&self, file: &str) -> String {
        let p = std::path::Path::new(file);
        let shown = match p.strip_prefix(&self.setup.cwd) {
            Ok(rel) if p.is_absolute() => rel.display().to_string(),
            _ if p.is_absolute() => p
                .file_name()
                .map_or_else(|| file.to_string(), |n| n.to_string_lossy().into_owned()),
            _ => file.to_string(),
        };
        escape_controls(&shown)
    }

    fn sock(&mut self, pid: i32, fd: i32) -> &mut Sock {
        if self.socks.len() > 100_000 {
            // A runaway program: keep the table bounded.
            if let Some(k) = self.socks.keys().next().copied() {
                self.socks.remove(&k);
            }
        }
        self.socks.entry((pid, fd)).or_insert_with(|| Sock::new(fd))
    }

    fn label(&self, pid: i32, fd: i32) -> String {
        self.socks
            .get(&(pid, fd))
            .map_or_else(|| format!("fd {fd}"), |s| s.label.clone())
    }

    fn stop_text(&self) -> String {
        match self.setup.job {
            Some(id) => format!("`kill %{id}` ends the program"),
            None => "Ctrl-C interrupts the program".into(),
        }
    }

    /// The header of a call's report.
    fn header(&mut self, c: &Call, force: bool) -> Item {
        let _ = force;
        let key = (c.pid, c.tid, c.loc);
        self.last = Some(key);
        self.last_was_wait = false;
        let mut who = Vec::new();
        if let Some(id) = self.setup.job {
            who.push(format!("[{id}]"));
        }
        if c.pid != self.setup.main_pid {
            who.push(format!("pid {}", c.pid));
        }
        let threads_here = self.threads.keys().filter(|(p, _)| *p == c.pid).count();
        let thread = if threads_here > 1 || (c.thread != "MainThread" && !c.thread.is_empty()) {
            format!(" ({})", escape_controls(&c.thread))
        } else {
            String::new()
        };
        let (at, source) = match self.places.get(&(c.pid, c.loc)) {
            Some(p) => (p.at.clone(), p.source.clone()),
            // A traced program (not Python): no place; `via` is
            // `PROGRAM: CALL(fd N)` (see super::ptrace).
            None => match c.via.split_once(": ") {
                Some((prog, call)) => (escape_controls(prog), escape_controls(call)),
                _ => ("?".to_string(), format!("{}()", c.name)),
            },
        };
        Item::Call {
            who: who.join(" "),
            at: format!("{at}{thread}"),
            source,
        }
    }

    /// A poll made by a library (not by the program's own selector).
    fn library_poll(c: &Call) -> bool {
        matches!(c.name.as_str(), "select" | "poll" | "epoll")
            && !c.via.is_empty()
            && !c.via.starts_with("selectors.py:")
    }

    fn level(&mut self, items: Vec<Item>) -> Vec<Item> {
        let kept: Vec<Item> = match self.setup.level {
            Level::Quiet => items
                .into_iter()
                .filter(|i| {
                    !matches!(
                        i,
                        Item::NoWait(_)
                            | Item::Waited(_)
                            | Item::Note(_)
                            | Item::Explain(..)
                            | Item::ProgramWaiting { .. }
                    )
                })
                .collect(),
            _ => items,
        };
        // A header with nothing left under it is not shown (nor counted as
        // shown: the call's end gets its own).
        if kept.iter().all(|i| matches!(i, Item::Call { .. })) {
            if !kept.is_empty() {
                self.last = None;
                self.last_was_wait = false;
            }
            return Vec::new();
        }
        kept
    }

    /// The first time a moment happens: its explanation.
    fn moments(&self, items: Vec<Item>) -> Vec<Item> {
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            match it {
                Item::Moment(m, ends) => {
                    if self.ctx.explain_on()
                        && self.setup.level != Level::Quiet
                        && first_time(&self.ctx.explained, m)
                    {
                        out.push(Item::Explain(m, ends));
                    }
                }
                other => out.push(other),
            }
        }
        out
    }

    fn call(&mut self, c: Call) -> Vec<Item> {
        if self.threads.len() < 10_000 {
            self.threads
                .entry((c.pid, c.tid))
                .or_insert_with(|| c.thread.clone());
        }
        let key = (c.pid, c.tid);
        let verbose = self.setup.level == Level::Verbose;
        match c.phase {
            Phase::Wait => {
                let items = self.waiting_items(&c);
                let text = self.wait_text(&c);
                self.waits.insert(
                    key,
                    Wait {
                        text,
                        settled: c.name != "sleep",
                        fds: wait_fds(&c),
                    },
                );
                if items.is_empty() || (self.hidden(&c) && !verbose) {
                    return Vec::new();
                }
                let mut all = vec![self.header(&c, true)];
                all.extend(items);
                self.last_was_wait = true;
                self.level(all)
            }
            Phase::MayWait => {
                let text = self.wait_text(&c);
                self.waits.insert(
                    key,
                    Wait {
                        text,
                        settled: true,
                        fds: Vec::new(),
                    },
                );
                if self.maybe.len() < 1000 {
                    self.maybe.push(Maybe {
                        call: c,
                        since: Instant::now(),
                        shown: false,
                    });
                }
                Vec::new()
            }
            Phase::Done => {
                self.waits.remove(&key);
                let mut shown_waiting = false;
                if let Some(k) = self
                    .maybe
                    .iter()
                    .position(|m| m.call.pid == c.pid && m.call.tid == c.tid && m.call.fd == c.fd)
                {
                    shown_waiting = self.maybe.remove(k).shown;
                }
                let waited = c.waited.is_some();
                let hidden = self.hidden_done(&c) && !verbose;
                let body = self.done_items(&c, shown_waiting);
                if hidden || body.is_empty() {
                    return Vec::new();
                }
                // Under the header shown last for the same thread and
                // line: its wait, or the call before on that line.
                let continues = self.last == Some((c.pid, c.tid, c.loc))
                    && (!self.last_was_wait || waited || shown_waiting);
                let mut all = Vec::new();
                if !continues {
                    all.push(self.header(&c, false));
                }
                self.last_was_wait = false;
                all.extend(body);
                let all = self.moments(all);
                self.level(all)
            }
        }
    }

    /// A wait not shown at the normal level: a sleep, a join, an input()
    /// in the foreground (the prompt is on the screen), a library's poll
    /// that found nothing the last time.
    fn hidden(&mut self, c: &Call) -> bool {
        match c.name.as_str() {
            "sleep" | "join" => true,
            "input" => self.setup.job.is_none(),
            _ if Self::library_poll(c) => {
                self.quiet_polls
                    .contains(&(c.pid, c.tid, c.fields.join(",")))
            }
            _ => false,
        }
    }

    fn hidden_done(&mut self, c: &Call) -> bool {
        match c.name.as_str() {
            "sleep" | "join" | "input" => true,
            _ if Self::library_poll(c) => {
                let n = super::proto::nargs(&c.name);
                let args = c.fields[..n.min(c.fields.len())].join(",");
                let nothing = c.fields[n.min(c.fields.len())..]
                    .iter()
                    .all(|f| f.is_empty());
                let k = (c.pid, c.tid, args);
                if nothing && c.status == Status::Ok {
                    // Nothing found: not said, and its repeats (the same
                    // poll again, a library's loop) are not shown waiting.
                    self.quiet_polls.insert(k);
                    true
                } else {
                    self.quiet_polls.remove(&k);
                    false
                }
            }
            _ => false,
        }
    }
}

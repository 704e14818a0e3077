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

use super::Level;
use super::proto::{Call, Phase, Report, Status};
use crate::errors::ExecError;
use crate::exec::bounds::{self, Boundaries};
use crate::exec::calls;
use crate::exec::explain::{Moment, first_time};
use crate::exec::io::{ErrorContext, hint_in_context};
use crate::exec::recv::{RecvFacts, recv_notes, recv_wait_what};
use crate::exec::{Item, SockDesc};
use crate::syntax::ast::{Family, How, SockKind, View};
use crate::table::Mode;
use crate::value::plural;
use crate::value::{self, SockHandle, Value, addr_short, escape_controls};
use socket2::SockAddr;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod ancillary;
mod record;

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

/// An address as a report gives it.
#[derive(Clone, Debug)]
enum PAddr {
    None,
    Sock(SockAddr),
    /// Not a socket address of its own (a host name not resolved yet).
    Text(String),
}

impl PAddr {
    fn sock(&self) -> Option<&SockAddr> {
        match self {
            PAddr::Sock(a) => Some(a),
            _ => None,
        }
    }

    fn text(&self) -> String {
        match self {
            PAddr::None => "-".into(),
            PAddr::Sock(a) => {
                let s = addr_short(a);
                if s == "-" {
                    "an unnamed socket".into()
                } else {
                    s
                }
            }
            PAddr::Text(t) => t.clone(),
        }
    }

    fn value(&self) -> Value {
        match self {
            PAddr::None => Value::None,
            PAddr::Sock(a) if a.as_socket().is_some() || !addr_short(a).starts_with('-') => {
                Value::Addr(a.clone())
            }
            PAddr::Sock(_) => Value::Str(String::new().into()),
            PAddr::Text(t) => Value::Named(t.clone()),
        }
    }
}

fn unix_addr(b: &[u8]) -> Option<SockAddr> {
    use std::os::unix::ffi::OsStrExt;
    SockAddr::unix(std::ffi::OsStr::from_bytes(b)).ok()
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 256 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|k| u8::from_str_radix(s.get(k..k + 2)?, 16).ok())
        .collect()
}

/// `4|host|port`, `6|host|port`, `u|path`, `a|hex` (abstract), `p|hex` (a
/// path not in UTF-8), `-` (none), `?|repr`.
fn paddr(s: &str) -> PAddr {
    if s == "-" || s.is_empty() {
        return PAddr::None;
    }
    let Some((kind, rest)) = s.split_once('|') else {
        return PAddr::Text(escape_controls(s));
    };
    match kind {
        "4" | "6" => {
            let Some((host, port)) = rest.rsplit_once('|') else {
                return PAddr::Text(escape_controls(rest));
            };
            let port: u16 = port.parse().unwrap_or(0);
            let ip: Option<std::net::IpAddr> = if host.is_empty() {
                Some(if kind == "4" {
                    std::net::Ipv4Addr::UNSPECIFIED.into()
                } else {
                    std::net::Ipv6Addr::UNSPECIFIED.into()
                })
            } else {
                host.parse().ok()
            };
            match ip {
                Some(ip) => PAddr::Sock(SockAddr::from(SocketAddr::new(ip, port))),
                None if kind == "6" => PAddr::Text(format!("[{}]:{port}", escape_controls(host))),
                None => PAddr::Text(format!("{}:{port}", escape_controls(host))),
            }
        }
        "u" if rest.is_empty() => PAddr::Sock(
            SockAddr::unix("")
                .unwrap_or_else(|_| SockAddr::from(SocketAddr::from(([0, 0, 0, 0], 0)))),
        ),
        "u" => unix_addr(rest.as_bytes()).map_or(PAddr::Text(escape_controls(rest)), PAddr::Sock),
        "a" => hex(rest)
            .and_then(|mut b| {
                b.insert(0, 0);
                unix_addr(&b)
            })
            .map_or(PAddr::None, PAddr::Sock),
        "p" => hex(rest)
            .and_then(|b| unix_addr(&b))
            .map_or(PAddr::None, PAddr::Sock),
        _ => PAddr::Text(escape_controls(rest)),
    }
}

fn family_of(n: i64) -> Option<Family> {
    match n as i32 {
        libc::AF_INET => Some(Family::Inet),
        libc::AF_INET6 => Some(Family::Inet6),
        libc::AF_UNIX => Some(Family::Unix),
        _ => None,
    }
}

fn kind_of(n: i64) -> Option<SockKind> {
    // Without SOCK_NONBLOCK / SOCK_CLOEXEC.
    match (n as i32) & 0xf {
        libc::SOCK_STREAM => Some(SockKind::Stream),
        libc::SOCK_DGRAM => Some(SockKind::Dgram),
        libc::SOCK_SEQPACKET => Some(SockKind::SeqPacket),
        _ => None,
    }
}

/// The names a line of Python assigns: `a, b = s.accept()` gives a and
/// b, `with socket() as s:` gives s; none for anything else.
fn targets(source: &str) -> Vec<String> {
    let s = source.trim();
    let ok = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            && !w.starts_with(|c: char| c.is_ascii_digit())
    };
    if let Some(rest) = s.strip_prefix("with ")
        && let Some(k) = rest.rfind(" as ")
    {
        let name = rest[k + 4..].trim().trim_end_matches(':').trim();
        return if ok(name) {
            vec![name.to_string()]
        } else {
            Vec::new()
        };
    }
    let b = s.as_bytes();
    let mut k = 0;
    while k < b.len() {
        match b[k] {
            b'=' if b.get(k + 1) != Some(&b'=') => {
                let before = b.get(k.wrapping_sub(1)).copied().unwrap_or(b' ');
                if matches!(
                    before,
                    b'!' | b'<'
                        | b'>'
                        | b'='
                        | b'+'
                        | b'-'
                        | b'*'
                        | b'/'
                        | b'%'
                        | b'&'
                        | b'|'
                        | b'^'
                        | b':'
                ) {
                    return Vec::new();
                }
                let lhs = s[..k].trim().trim_start_matches('(').trim_end_matches(')');
                let names: Vec<String> = lhs.split(',').map(|w| w.trim().to_string()).collect();
                return if names.iter().all(|n| ok(n)) {
                    names
                } else {
                    Vec::new()
                };
            }
            b'(' | b'"' | b'\'' | b'[' => return Vec::new(),
            _ => k += 1,
        }
    }
    Vec::new()
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
            None => ("?".to_string(), format!("{}()", c.name)),
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

    /// `jobs`' words for a wait.
    fn wait_text(&self, c: &Call) -> String {
        let at = self
            .places
            .get(&(c.pid, c.loc))
            .map_or(String::new(), |p| format!("{} ", p.at));
        let wait = self
            .waiting_items(c)
            .into_iter()
            .find(|i| matches!(i, Item::ProgramWaiting { .. }));
        match wait {
            Some(Item::ProgramWaiting { call, what, .. }) => format!("{at}{call} waits for {what}"),
            _ => format!("{at}{}() waits", c.name),
        }
    }

    /// What a call that waits waits for.
    fn waiting_items(&self, c: &Call) -> Vec<Item> {
        let stop = self.stop_text();
        let sock = self.socks.get(&(c.pid, c.fd));
        let wait = |call: String, what: String, queue: String| {
            vec![Item::ProgramWaiting {
                call,
                what,
                queue,
                stop: stop.clone(),
            }]
        };
        let fd = c.fd;
        match c.name.as_str() {
            "accept" => {
                let queue = match (c.int(0), c.int(1)) {
                    (Some(q), Some(m)) if q >= 0 && m >= 0 => format!("accept queue {q}/{m}"),
                    _ => "accept queue empty".into(),
                };
                let local = sock.map_or("?".into(), Sock::local_text);
                wait(
                    format!("accept(fd {fd})"),
                    format!("a client on {local}"),
                    queue,
                )
            }
            "recv" | "recv_into" | "recvfrom" | "recvfrom_into" | "recvmsg" => {
                let kind = sock.and_then(|s| s.kind).unwrap_or(SockKind::Stream);
                let peer = sock.and_then(|s| s.peer.as_ref());
                // A datagram socket's wait gives its address as it is now
                // (after its arguments): the port 0 of an unbound one, as
                // the shell shows it, with the shell's warning.
                let now = paddr(c.field(3));
                let local = match &now {
                    PAddr::Sock(a) => addr_short(a),
                    _ => sock.map_or("?".into(), Sock::local_text),
                };
                let unbound = kind == SockKind::Dgram
                    && peer.is_none()
                    && now.sock().is_some_and(|a| !crate::table::is_bound(a));
                let name = if c.name.starts_with("recvfrom") {
                    "recvfrom"
                } else if c.name == "recvmsg" {
                    "recvmsg"
                } else {
                    "recv"
                };
                let mut items = Vec::new();
                if unbound {
                    items.push(Item::Warn(format!(
                        "{} has no address yet, so no datagram can reach it: bind it first (or send from it: that binds it to a port the kernel picks)",
                        sock.map_or_else(|| format!("fd {fd}"), |s| s.label.clone())
                    )));
                }
                items.extend(wait(
                    format!("{name}(fd {fd})"),
                    recv_wait_what(kind, peer, &local),
                    "receive queue empty".into(),
                ));
                items
            }
            "send" | "sendall" => {
                let total = c.int(0).unwrap_or(0);
                let q = c.int(2).unwrap_or(-1);
                let sent = c.int(3).unwrap_or(0);
                let mut queue = if q >= 0 {
                    format!("send queue {q} bytes")
                } else {
                    "send queue full".into()
                };
                if sent > 0 {
                    queue = format!("{sent} of {total} bytes sent - {queue}");
                }
                wait(
                    format!("send(fd {fd})"),
                    "buffer space (the peer is not reading fast enough)".into(),
                    queue,
                )
            }
            "sendmsg" => wait(
                format!("sendmsg(fd {fd})"),
                "buffer space".into(),
                "send queue full".into(),
            ),
            "sendto" => wait(
                format!("sendto(fd {fd})"),
                "buffer space".into(),
                "send queue full".into(),
            ),
            "connect" | "connect_ex" => {
                let target = paddr(c.field(0)).text();
                let unix = sock.and_then(|s| s.family) == Some(Family::Unix);
                wait(
                    format!("connect(fd {fd})"),
                    format!("the handshake with {target}"),
                    if unix {
                        "the listener's accept queue is full".into()
                    } else {
                        "SYN sent, state SYN_SENT".into()
                    },
                )
            }
            "select" => {
                let mut what = Vec::new();
                for (k, word) in ["readable", "writable", "with urgent data"]
                    .iter()
                    .enumerate()
                {
                    let fds = self.fd_labels(c.pid, c.field(k));
                    if !fds.is_empty() {
                        what.push(format!("{fds} {word}"));
                    }
                }
                wait(
                    "select".into(),
                    format!("one of: {}", what.join("; ")),
                    timeout_words(c.field(3), 1.0),
                )
            }
            "poll" | "epoll" => {
                let mut what = Vec::new();
                for pair in c.field(0).split(',').filter(|p| !p.is_empty()) {
                    let Some((f, ev)) = pair.split_once(':') else {
                        continue;
                    };
                    let (Ok(f), Ok(ev)) = (f.parse::<i32>(), ev.parse::<i64>()) else {
                        continue;
                    };
                    let mut words = Vec::new();
                    if ev & 1 != 0 {
                        words.push("readable");
                    }
                    if ev & 4 != 0 {
                        words.push("writable");
                    }
                    if ev & 2 != 0 {
                        words.push("urgent data");
                    }
                    what.push(format!("{} {}", self.label(c.pid, f), words.join("/")));
                }
                // epoll's timeout is in seconds, poll's in milliseconds.
                let scale = if c.name == "epoll" { 1.0 } else { 0.001 };
                wait(
                    c.name.clone(),
                    format!("one of: {}", what.join("; ")),
                    timeout_words(c.field(1), scale),
                )
            }
            "input" => wait(
                "input()".into(),
                "a line on its standard input".into(),
                format!("prompt {}", c.field(0)),
            )
            .into_iter()
            .map(|i| match (i, self.setup.job) {
                (
                    Item::ProgramWaiting {
                        call, what, queue, ..
                    },
                    Some(id),
                ) => Item::ProgramWaiting {
                    call,
                    what,
                    queue,
                    stop: format!("`input %{id} \"text\"` types one"),
                },
                (i, _) => i,
            })
            .collect(),
            "sleep" => wait(
                format!("sleep({})", c.field(0)),
                "the clock".into(),
                format!("{} s", c.field(0)),
            ),
            "join" => wait(
                "join()".into(),
                format!("thread {} to end", c.field(0)),
                timeout_words(c.field(1), 1.0),
            ),
            _ => Vec::new(),
        }
    }

    /// `sockfd, fd 5` for a list of fds.
    fn fd_labels(&self, pid: i32, list: &str) -> String {
        list.split(',')
            .filter(|f| !f.is_empty())
            .map(|f| match f.parse::<i32>() {
                Ok(fd) => self.label(pid, fd),
                Err(_) => escape_controls(f),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The error a call raised, with the shell's hint for it.
    fn raised(&self, c: &Call) -> ExecError {
        let Status::Err {
            exception,
            errno,
            message,
        } = &c.status
        else {
            return ExecError::usage("");
        };
        let sock = self.socks.get(&(c.pid, c.fd));
        let label = sock.map_or_else(|| format!("fd {}", c.fd), |s| s.label.clone());
        let mut e = match errno {
            Some(n) if *n > 0 => {
                let mut e = ExecError::os(*n);
                if !exception.is_empty() {
                    e.exception = escape_controls(exception);
                }
                e
            }
            _ if exception == "TimeoutError" || exception == "timeout" => {
                let mut e = ExecError::timeout();
                e.hint = e.hint.map(|h| h.replace("{s}", &label));
                e
            }
            _ if exception == "KeyboardInterrupt" => ExecError::new("KeyboardInterrupt", "").hint(
                "Ctrl-C: Python raised KeyboardInterrupt in the call; the program ends unless it catches it",
            ),
            _ => {
                let mut e = ExecError::new(&escape_controls(exception), escape_controls(message));
                if exception == "TypeError"
                    && matches!(c.name.as_str(), "bind" | "connect" | "connect_ex")
                    && message.contains("takes exactly one argument (2 given)")
                {
                    e.hint = Some(format!(
                        "an address is one tuple (host, port): {}(('127.0.0.1', 9000)), with two pairs of brackets",
                        c.name
                    ));
                }
                if exception == "TypeError" && message.contains("bytes-like") {
                    // recv_into is refused a buffer it cannot write into;
                    // the send calls, a str.
                    e.hint = Some(if c.name.starts_with("recv") {
                        "recv_into fills a buffer it can write into: bytearray(n) (or a memoryview of one)"
                            .into()
                    } else {
                        "sockets send bytes: 'text'.encode() (or b'...') makes bytes of a str".into()
                    });
                }
                e
            }
        };
        if let Some(s) = sock {
            e = hint_in_context(
                e,
                &ErrorContext {
                    label: &label,
                    kind: s.kind.unwrap_or(SockKind::Stream),
                    connected: s.peer.is_some() || s.paired,
                    shut_write: s.shut_write,
                    was_reset: s.was_reset,
                },
            );
        }
        if e.is_errno(libc::EADDRINUSE)
            && let Some(PAddr::Sock(a)) = Some(paddr(c.field(0)))
            && let Some(sa) = a.as_socket()
        {
            e.hint = Some(calls::port_in_use_hint(sa.port()));
        }
        if e.is_errno(libc::EPIPE) && sock.is_some_and(|s| s.paired && !s.shut_write) {
            e.hint = Some(
                "the other end of this socketpair is closed: nothing is left to read what this one sends"
                    .into(),
            );
        }
        if e.is_errno(libc::EBADF) && c.name == "close" {
            // A socket object's own close never fails once closed (it does
            // nothing): its number was closed by another call.
            e.hint = Some(format!(
                "fd {fd} was closed behind the socket object's back (os.close({fd}), or another socket \
                 object on the same number closed it): the object still held the number, and nothing \
                 was left to close",
                fd = c.fd
            ));
        }
        if e.is_errno(libc::ENOENT) && sock.and_then(|s| s.family) == Some(Family::Unix) {
            e.hint = Some("no socket file at that path: bind and listen on it first".into());
        }
        e
    }

    /// What the shell says for a finished call.
    fn done_items(&mut self, c: &Call, shown_waiting: bool) -> Vec<Item> {
        let mut out = Vec::new();
        if let Some(w) = c.waited
            && (shown_waiting || !matches!(c.name.as_str(), "connect" | "connect_ex"))
        {
            out.push(Item::Waited(w));
        }
        if let Status::Err { exception, .. } = &c.status {
            let e = self.raised(c);
            self.record_failure(c, exception);
            if e.is_errno(libc::ECONNRESET)
                && let Some(s) = self.socks.get_mut(&(c.pid, c.fd))
            {
                s.was_reset = true;
            }
            let moment = Moment::of_error(&e);
            out.push(Item::Raised(e));
            if let Some(m) = moment {
                out.push(Item::Moment(m, Default::default()));
            }
            if c.name == "close" {
                self.forget(c.pid, c.fd);
            }
            return out;
        }
        let pid = c.pid;
        let fd = c.fd;
        match c.name.as_str() {
            "socket" => {
                let place = self.places.get(&(c.pid, c.loc)).cloned();
                let named = place.as_ref().and_then(|p| {
                    let direct = c.via.is_empty() || c.via.ends_with(":create_connection");
                    (direct && p.targets.len() == 1).then(|| p.targets[0].clone())
                });
                let mut s = Sock::new(fd);
                s.family = c.int(0).and_then(family_of);
                s.kind = c.int(1).and_then(kind_of);
                if let Ok(t) = c.field(3).parse::<f64>() {
                    s.mode = mode_of(Some(t));
                }
                if let Some(n) = &named {
                    s.label = n.clone();
                    s.named = true;
                }
                let desc = s.desc("");
                let h = SockHandle {
                    fd,
                    serial: s.serial,
                };
                self.forget(pid, fd);
                self.socks.insert((pid, fd), s);
                out.push(Item::Value {
                    name: named,
                    value: Value::Socket(h),
                    view: View::Repr,
                    sock: Some(desc),
                    pieces: Vec::new(),
                });
            }
            "socketpair" => {
                let other = c.int(2).unwrap_or(-1) as i32;
                for f in [fd, other] {
                    let s = self.sock(pid, f);
                    s.family = c.int(0).and_then(family_of);
                    s.kind = c.int(1).and_then(kind_of);
                    s.paired = true;
                }
                out.push(Item::Done(format!(
                    "socketpair: fd {fd} and fd {other}, connected to each other"
                )));
            }
            "bind" => {
                let asked = paddr(c.field(0));
                let got = paddr(c.field(1));
                let chosen = match (
                    asked.sock().and_then(SockAddr::as_socket),
                    got.sock().and_then(SockAddr::as_socket),
                ) {
                    (Some(a), Some(g)) if a.port() == 0 => Some(g.port()),
                    _ => None,
                };
                if let Some(a) = got.sock() {
                    self.watch_addr(a);
                }
                let s = self.sock(pid, fd);
                if let PAddr::Sock(a) = &got {
                    s.local = Some(a.clone());
                }
                let label = s.label.clone();
                let shown = if matches!(got, PAddr::None) {
                    asked.text()
                } else {
                    got.text()
                };
                out.push(Item::Done(calls::bound_text(&label, &shown, chosen)));
                if let Some(p) = got.sock().and_then(SockAddr::as_pathname) {
                    out.push(calls::socket_file_note(p));
                }
            }
            "listen" => {
                let got = paddr(c.field(1));
                let s = self.sock(pid, fd);
                s.listening = true;
                let backlog = c.int(0).unwrap_or(128);
                s.backlog = Some(backlog);
                if let PAddr::Sock(a) = &got {
                    s.local = Some(a.clone());
                }
                let tcp = s.is_tcp();
                let label = s.label.clone();
                out.push(Item::Done(calls::listening_text(
                    &label,
                    &got.text(),
                    i32::try_from(backlog).unwrap_or(i32::MAX),
                    if tcp { "LISTEN" } else { "listening" },
                )));
            }
            "accept" => self.accepted(c, &mut out),
            "connect" | "connect_ex" => self.connected(c, &mut out),
            "send" | "sendall" | "sendto" => self.sent(c, &mut out),
            "recv" | "recv_into" | "recvfrom" | "recvfrom_into" => self.received(c, &mut out),
            "fromfd" => self.adopted(c, &mut out),
            "sendmsg" => self.sent_msg(c, &mut out),
            "recvmsg" => self.received_msg(c, &mut out),
            "sendfile" => {
                let n = c.int(1).unwrap_or(0).max(0) as usize;
                out.push(Item::Done(format!(
                    "sent {} from a file (sendfile)",
                    plural(n, "byte", "bytes")
                )));
                if let Some(s) = self.socks.get(&(pid, fd)).cloned() {
                    self.log_bulk(c, &s, n);
                }
            }
            "close" => {
                let label = self.label(pid, fd);
                // A socket this process was given may be held elsewhere
                // too: sockplay's shell, which gave it, is asked.
                let held = self
                    .socks
                    .get(&(pid, fd))
                    .filter(|s| s.shared)
                    .and_then(|_| c.int(4))
                    .and_then(|ino| u64::try_from(ino).ok())
                    .and_then(ancillary::held_by_sockplay);
                if let Some(other) = held {
                    out.push(Item::Done(format!(
                        "closed {label} (fd {fd} is free again)"
                    )));
                    out.push(Item::Note(format!(
                        "the socket itself stays open: the shell holds it too (its fd {other}), so nothing is sent to the peer (the connection ends when its last descriptor closes)"
                    )));
                    // Its connection and message boundaries go on: the
                    // shell's descriptor still reads and writes them.
                    self.socks.remove(&(pid, fd));
                    return out;
                }
                if let Some(s) = self.socks.get(&(pid, fd))
                    && let Some((l, p)) = s.pair()
                {
                    self.record(
                        c.t0,
                        (l, Some(p)),
                        &label,
                        s.serial,
                        crate::wire::CallKind::Close {
                            linger0: c.int(3) == Some(1),
                            unread: u32::try_from(c.int(1).unwrap_or(0)).unwrap_or(0),
                        },
                    );
                }
                let state = c.int(0).unwrap_or(-1);
                let before = u8::try_from(state)
                    .ok()
                    .map(crate::table::tcp_state_name)
                    .filter(|_| state > 0);
                out.push(Item::Done(format!(
                    "closed {label} (fd {fd} is free again)"
                )));
                out.extend(calls::close_notes(
                    before,
                    c.int(3) == Some(1),
                    u32::try_from(c.int(1).unwrap_or(0)).unwrap_or(0),
                    u32::try_from(c.int(2).unwrap_or(0)).unwrap_or(0),
                ));
                self.forget(pid, fd);
            }
            "shutdown" => {
                let how = match c.int(0) {
                    Some(0) => How::Read,
                    Some(1) => How::Write,
                    _ => How::Both,
                };
                let s = self.sock(pid, fd);
                if how != How::Read {
                    s.shut_write = true;
                }
                let stopped = s.listening && how != How::Write;
                let label = s.label.clone();
                let (pair, serial) = (s.pair(), s.serial);
                if let Some((l, p)) = pair {
                    self.record(
                        c.t0,
                        (l, Some(p)),
                        &label,
                        serial,
                        crate::wire::CallKind::Shutdown(match how {
                            How::Read => "read",
                            How::Write => "write",
                            How::Both => "both",
                        }),
                    );
                }
                out.push(Item::Done(format!(
                    "{label}: {}",
                    calls::shutdown_text(how, stopped)
                )));
            }
            "setsockopt" => {
                let label = self.label(pid, fd);
                let (level, number) = (c.int(0).unwrap_or(-1), c.int(1).unwrap_or(-1));
                let value = c.field(2);
                let shown = match value.strip_prefix("b:") {
                    Some(h) => hex(h).map_or(value.to_string(), |b| value::bytes_repr(&b)),
                    None => escape_controls(value),
                };
                match crate::spec::OPTIONS
                    .iter()
                    .find(|o| i64::from(o.level) == level && i64::from(o.number) == number)
                {
                    Some(o) => {
                        out.push(Item::Done(format!("{label}: {} = {shown}", o.name)));
                        out.push(Item::Note(o.doc.to_string()));
                    }
                    None => out.push(Item::Done(format!(
                        "{label}: option {number} at level {level} = {shown}"
                    ))),
                }
            }
            "settimeout" | "setblocking" => {
                let mode = if c.name == "setblocking" {
                    if c.int(0) == Some(0) {
                        Mode::NonBlocking
                    } else {
                        Mode::Blocking
                    }
                } else {
                    mode_of(c.field(0).parse::<f64>().ok())
                };
                let s = self.sock(pid, fd);
                s.mode = mode;
                let label = s.label.clone();
                out.push(Item::Done(calls::mode_text(&label, mode)));
            }
            "getsockname" | "getpeername" => {
                let a = paddr(c.field(0));
                out.push(Item::Value {
                    name: None,
                    value: a.value(),
                    view: View::Repr,
                    sock: None,
                    pieces: Vec::new(),
                });
            }
            "fileno" => out.push(Item::Value {
                name: None,
                value: Value::Int(c.int(0).unwrap_or(i64::from(fd))),
                view: View::Repr,
                sock: None,
                pieces: Vec::new(),
            }),
            "getsockopt" => out.push(Item::Value {
                name: None,
                value: repr_value(c.field(3)),
                view: View::Repr,
                sock: None,
                pieces: Vec::new(),
            }),
            "select" => self.selected(c, &mut out),
            "poll" | "epoll" => self.polled(c, &mut out),
            "input" | "sleep" | "join" => {}
            _ if fd < 0 => {
                // A function of the socket module: what it returned, as
                // Python shows it.
                out.push(Item::Value {
                    name: None,
                    value: repr_value(c.field(1)),
                    view: View::Repr,
                    sock: None,
                    pieces: Vec::new(),
                });
            }
            _ => {}
        }
        out
    }

    fn watch_addr(&self, a: &SockAddr) {
        if let (Some(w), Some(sa)) = (&self.ctx.watch_port, a.as_socket())
            && sa.port() != 0
        {
            w(sa.port());
        }
    }

    /// The socket's connection is known: its sends will be reported.
    fn note_conn(&self, s: &Sock) {
        if let Some((l, p)) = s.pair() {
            if let Ok(mut b) = self.ctx.bounds.lock() {
                b.expect_reports(l, p);
            }
            self.watch_addr(&SockAddr::from(l));
        }
    }

    fn forget(&mut self, pid: i32, fd: i32) {
        if let Some(s) = self.socks.remove(&(pid, fd))
            && let Some((l, p)) = s.pair()
        {
            if let Ok(mut b) = self.ctx.bounds.lock() {
                b.forget(l, p);
            }
            if self.closed.len() >= 256 {
                self.closed.pop_front();
            }
            self.closed.push_back((l, p, s.label.clone()));
        }
    }

    fn accepted(&mut self, c: &Call, out: &mut Vec<Item>) {
        let (pid, fd) = (c.pid, c.fd);
        let newfd = c.int(2).unwrap_or(-1) as i32;
        let peer = paddr(c.field(3));
        let local = paddr(c.field(4));
        let (q, max) = (c.int(0).unwrap_or(-1), c.int(1).unwrap_or(-1));
        if c.waited.is_none() && q > 0 {
            out.push(Item::NoWait(format!(
                "{} already waiting in the accept queue ({q}/{max})",
                plural(q as usize, "connection was", "connections were")
            )));
        }
        let listener = self.socks.get(&(pid, fd)).cloned();
        let place = self.places.get(&(pid, c.loc)).cloned();
        let names = place
            .map(|p| p.targets)
            .filter(|_| c.via.is_empty() || c.via.ends_with(":accept"))
            .unwrap_or_default();
        let mut s = Sock::new(newfd);
        s.family = listener.as_ref().and_then(|l| l.family);
        s.kind = Some(SockKind::Stream);
        s.local = local.sock().cloned();
        s.peer = peer.sock().cloned();
        if names.len() == 2 {
            s.label = names[0].clone();
            s.named = true;
        }
        let from = match &peer {
            PAddr::Sock(a) if addr_short(a) == "-" => {
                "an unnamed client socket (it never bound a path)".to_string()
            }
            p => p.text(),
        };
        out.push(Item::Done(format!(
            "accepted a connection from {from} as a new socket, fd {newfd}"
        )));
        let desc = s.desc("ESTABLISHED");
        let h = SockHandle {
            fd: newfd,
            serial: s.serial,
        };
        self.forget(pid, newfd);
        self.note_conn(&s);
        if let Some((l, p)) = s.pair() {
            self.record(
                c.t1,
                (l, Some(p)),
                &s.label,
                s.serial,
                crate::wire::CallKind::Accepted,
            );
        }
        self.socks.insert((pid, newfd), s);
        if names.len() == 2 {
            out.push(Item::Value {
                name: Some(names[0].clone()),
                value: Value::Socket(h),
                view: View::Repr,
                sock: Some(desc),
                pieces: Vec::new(),
            });
            out.push(Item::Value {
                name: Some(names[1].clone()),
                value: peer.value(),
                view: View::Repr,
                sock: None,
                pieces: Vec::new(),
            });
        } else {
            out.push(Item::Value {
                name: None,
                value: Value::Tuple(vec![Value::Socket(h), peer.value()]),
                view: View::Repr,
                sock: Some(desc),
                pieces: Vec::new(),
            });
        }
    }

    fn connected(&mut self, c: &Call, out: &mut Vec<Item>) {
        let (pid, fd) = (c.pid, c.fd);
        let target = paddr(c.field(0));
        let (rc, local) = if c.name == "connect_ex" {
            (c.int(1).unwrap_or(0), paddr(c.field(2)))
        } else {
            (0, paddr(c.field(1)))
        };
        if rc != 0 {
            let e = ExecError::os(rc as i32);
            self.record_failure(c, e.exception.as_str());
            out.push(Item::Value {
                name: None,
                value: Value::Int(rc),
                view: View::Repr,
                sock: None,
                pieces: Vec::new(),
            });
            out.push(Item::Note(format!(
                "connect_ex returns the error instead of raising it: {e}"
            )));
            return;
        }
        if let Some(a) = target.sock() {
            self.watch_addr(a);
        }
        let s = self.sock(pid, fd);
        if let PAddr::Sock(a) = &local {
            s.local = Some(a.clone());
        }
        if let PAddr::Sock(a) = &target {
            s.peer = Some(a.clone());
        }
        let label = s.label.clone();
        let tcp = s.is_tcp();
        let dgram = s.kind == Some(SockKind::Dgram);
        let snapshot = s.clone();
        self.note_conn(&snapshot);
        // The SYN left when the call began; the handshake was done when it
        // returned.
        if let Some((l, p)) = snapshot.pair() {
            let ends = (l, Some(p));
            let id = snapshot.serial;
            self.record(c.t0, ends, &label, id, crate::wire::CallKind::Connect);
            self.record(c.t1, ends, &label, id, crate::wire::CallKind::Connected);
        }
        let mut msg = format!("connected {label}");
        let l = local.text();
        if !l.is_empty() && l != "-" && l != "an unnamed socket" {
            msg.push_str(&format!(" from {l}"));
        }
        msg.push_str(&format!(" to {}", target.text()));
        if tcp {
            msg.push_str(" (ESTABLISHED)");
        }
        out.push(Item::Done(msg));
        if dgram {
            out.push(Item::Note(
                "a UDP connect sends nothing: it only fixes the peer, so send/recv work and datagrams from others are dropped".into(),
            ));
        }
    }

    fn sent(&mut self, c: &Call, out: &mut Vec<Item>) {
        let (pid, fd) = (c.pid, c.fd);
        let total = c.int(0).unwrap_or(0).max(0) as usize;
        let n = match c.name.as_str() {
            "sendall" => total,
            _ => c.int(3).unwrap_or(0).max(0) as usize,
        };
        if c.name == "sendto"
            && let PAddr::Sock(a) = paddr(c.field(4))
        {
            let s = self.sock(pid, fd);
            if s.local.is_none() {
                s.local = Some(a);
            }
        }
        let sock = self.socks.get(&(pid, fd)).cloned();
        let mut msg = match c.name.as_str() {
            "sendall" => format!("sent all {}", plural(n, "byte", "bytes")),
            _ => format!("sent {}", plural(n, "byte", "bytes")),
        };
        if c.name == "send" && n < total {
            msg.push_str(&format!(
                " of {total} (the rest did not fit in the send buffer)"
            ));
        }
        if c.name == "sendto" {
            msg.push_str(&format!(" to {}", paddr(c.field(2)).text()));
        }
        if !c.data.is_empty() {
            let shown = &c.data[..c.data.len().min(SENT_SHOWN)];
            let more = if c.data.len() > SENT_SHOWN || n > c.data.len() {
                "..."
            } else {
                ""
            };
            msg.push_str(&format!(": {}{more}", value::bytes_repr(shown)));
        }
        out.push(Item::Done(msg));
        let Some(s) = sock else { return };
        let to = (c.name == "sendto").then(|| paddr(c.field(2)));
        self.log_bytes(
            c,
            &s,
            crate::proto::log::Dir::Sent,
            n,
            to.as_ref().and_then(PAddr::sock),
        );
        if let Some((l, p)) = s.pair()
            && n > 0
        {
            let no = self.ctx.bounds.lock().ok().map(|mut b| {
                b.name_sender(l, p, bounds::Sender::Program(s.label.clone()));
                b.sent(l, p, n)
            });
            if let Some(no) = no {
                let all = c.name == "sendall";
                let kind = crate::wire::CallKind::Send { no, len: n, all };
                self.record(c.t0, (l, Some(p)), &s.label, s.serial, kind);
            }
        } else if s.kind == Some(SockKind::Dgram)
            && n > 0
            && let Some(local) = s.local.as_ref().and_then(SockAddr::as_socket)
        {
            // A datagram: to where sendto said, or to the connected peer.
            let to = match paddr(c.field(2)) {
                PAddr::Sock(a) if c.name == "sendto" => a.as_socket(),
                _ => s.peer.as_ref().and_then(SockAddr::as_socket),
            };
            if let Some(to) = to {
                let kind = crate::wire::CallKind::SendTo { len: n, to };
                self.record(
                    c.t0,
                    (local, s.peer.as_ref().and_then(SockAddr::as_socket)),
                    &s.label,
                    s.serial,
                    kind,
                );
            }
        }
    }

    fn received(&mut self, c: &Call, out: &mut Vec<Item>) {
        let (pid, fd) = (c.pid, c.fd);
        let size = c.int(0).unwrap_or(0).max(0) as usize;
        let flags = c.int(1).unwrap_or(0) as i32;
        let dgram_size = c.int(2).unwrap_or(-1);
        let n = c.int(3).unwrap_or(0).max(0) as usize;
        let from = c.name.starts_with("recvfrom");
        let (addr, rem) = if from {
            (paddr(c.field(4)), c.int(5).unwrap_or(-1))
        } else {
            (PAddr::None, c.int(4).unwrap_or(-1))
        };
        let sock = self
            .socks
            .get(&(pid, fd))
            .cloned()
            .unwrap_or_else(|| Sock::new(fd));
        let kind = sock.kind.unwrap_or(SockKind::Stream);
        if c.waited.is_none() {
            if n > 0 {
                let queued = if kind == SockKind::Dgram {
                    usize::try_from(dgram_size).unwrap_or(n).max(n)
                } else {
                    n + usize::try_from(rem).unwrap_or(0)
                };
                out.push(Item::NoWait(if kind == SockKind::Dgram {
                    format!(
                        "a datagram of {} was already queued",
                        plural(queued, "byte", "bytes")
                    )
                } else {
                    format!(
                        "{} already queued",
                        plural(queued, "byte was", "bytes were")
                    )
                }));
            } else if kind == SockKind::Stream && size > 0 {
                out.push(Item::NoWait(if sock.was_reset {
                    "an error is pending on this socket (the connection was reset): no need to wait"
                        .into()
                } else {
                    "nothing queued, but the peer has closed: no need to wait".into()
                }));
            }
        }
        let mut data = c.data.clone();
        data.truncate(n);
        if flags & libc::MSG_PEEK == 0 {
            self.log_bytes(c, &sock, crate::proto::log::Dir::Received, n, addr.sock());
        }
        let mut pieces = Vec::new();
        if kind == SockKind::Stream
            && n > 0
            && flags & libc::MSG_OOB == 0
            && let Some((l, p)) = sock.pair()
        {
            pieces =
                bounds::received_synced(&self.ctx.bounds, l, p, n, flags & libc::MSG_PEEK != 0);
        }
        // What the recv took (or the end of the stream), drawn after the
        // segments that brought it.
        if kind == SockKind::Stream
            && flags & (libc::MSG_PEEK | libc::MSG_OOB) == 0
            && (n > 0 || size > 0)
            && let Some((l, p)) = sock.pair()
        {
            let sends = pieces.iter().map(|p| p.send_no).collect();
            let kind = crate::wire::CallKind::Recv { sends, len: n };
            self.record(c.t1, (l, Some(p)), &sock.label, sock.serial, kind);
        }
        let real = if kind == SockKind::Dgram {
            usize::try_from(dgram_size).unwrap_or(n).max(n)
        } else {
            n
        };
        let value = Value::Bytes(data.clone().into());
        let shown_value = if from {
            Value::Tuple(vec![value, addr.value()])
        } else if c.name.ends_with("_into") {
            Value::Int(n as i64)
        } else {
            value
        };
        if c.name.ends_with("_into") {
            // recv_into returns a count; what it put in the buffer is shown.
            out.push(Item::Value {
                name: None,
                value: shown_value,
                view: View::Repr,
                sock: None,
                pieces: Vec::new(),
            });
            out.push(Item::Note(format!(
                "into the buffer: {}",
                value::bytes_repr(&data[..data.len().min(256)])
            )));
        } else {
            let view = if from {
                View::Repr
            } else {
                self.ctx.view_now()
            };
            out.push(Item::Value {
                name: None,
                value: shown_value,
                view,
                sock: None,
                pieces: if from { Vec::new() } else { pieces.clone() },
            });
        }
        if n > c.data.len() {
            out.push(Item::Note(format!(
                "{} received; the first {} are shown",
                plural(n, "byte", "bytes"),
                c.data.len()
            )));
        }
        out.extend(recv_notes(
            &RecvFacts {
                kind,
                reset: sock.was_reset,
                // The receiver is the program's socket; the sender is
                // named as the boundaries know it (the shell's `k`, or a
                // program's socket).
                ends: self.recv_ends(&sock, pieces.len() > 1),
                bytes: n,
                real,
                size,
                flags,
            },
            &pieces,
            &mut || u32::try_from(rem).ok(),
        ));
    }

    fn selected(&mut self, c: &Call, out: &mut Vec<Item>) {
        let pid = c.pid;
        let nread: HashMap<i32, i64> = c
            .field(7)
            .split(',')
            .filter_map(|p| {
                let (f, n) = p.split_once(':')?;
                Some((f.parse().ok()?, n.parse().ok()?))
            })
            .collect();
        let mut any = false;
        for (k, word) in ["readable", "writable", "urgent"].iter().enumerate() {
            for f in c
                .field(4 + k)
                .split(',')
                .filter_map(|f| f.parse::<i32>().ok())
            {
                any = true;
                let label = self.label(pid, f);
                let why = match k {
                    0 => self.why_readable(pid, f, nread.get(&f).copied()),
                    1 => "buffer space: send will not block".to_string(),
                    _ => format!("urgent (OOB) data: recv({label}, 1, MSG_OOB) reads it"),
                };
                out.push(Item::Done(format!("{label} {word}: {why}")));
            }
        }
        if !any {
            out.push(Item::Done(
                "nothing ready: select timed out and returns three empty lists".into(),
            ));
        }
    }

    fn polled(&mut self, c: &Call, out: &mut Vec<Item>) {
        let pid = c.pid;
        let nread: HashMap<i32, i64> = c
            .field(3)
            .split(',')
            .filter_map(|p| {
                let (f, n) = p.split_once(':')?;
                Some((f.parse().ok()?, n.parse().ok()?))
            })
            .collect();
        let mut any = false;
        for pair in c.field(2).split(',').filter(|p| !p.is_empty()) {
            let Some((f, ev)) = pair.split_once(':') else {
                continue;
            };
            let (Ok(f), Ok(ev)) = (f.parse::<i32>(), ev.parse::<i64>()) else {
                continue;
            };
            any = true;
            let mut names = Vec::new();
            for (bit, name) in [
                (1, "POLLIN"),
                (2, "POLLPRI"),
                (4, "POLLOUT"),
                (8, "POLLERR"),
                (16, "POLLHUP"),
                (0x2000, "POLLRDHUP"),
            ] {
                if ev & bit != 0 {
                    names.push(name);
                }
            }
            let mut why = Vec::new();
            if ev & (1 | 8 | 16 | 0x2000) != 0 {
                why.push(self.why_readable(pid, f, nread.get(&f).copied()));
            }
            if ev & 4 != 0 {
                why.push("buffer space: send will not block".into());
            }
            let label = self.label(pid, f);
            let named = if label == format!("fd {f}") {
                String::new()
            } else {
                format!(" ({label})")
            };
            out.push(Item::Done(format!(
                "fd {f}{named}: {} - {}",
                names.join("|"),
                why.join("; ")
            )));
        }
        if !any {
            out.push(Item::Done(format!(
                "nothing ready: {} timed out and returns []",
                c.name
            )));
        }
    }

    /// Why a program's socket is readable, in terms of its next call.
    fn why_readable(&self, pid: i32, fd: i32, queued: Option<i64>) -> String {
        let s = self.socks.get(&(pid, fd));
        if s.is_some_and(|s| s.listening) {
            return "a connection is waiting in the accept queue: accept will not block".into();
        }
        let dgram = s.and_then(|s| s.kind) == Some(SockKind::Dgram);
        match queued {
            Some(q) if q > 0 && dgram => {
                format!("a datagram of {q} bytes is queued: recvfrom will not block")
            }
            Some(q) if q > 0 => format!("{q} bytes queued: recv will not block"),
            Some(0) if !dgram => "the peer closed: recv returns b'' at once".into(),
            _ => "readable: the next recv will not block".into(),
        }
    }
}

/// What a waiting call waits on: (fd, poll events).
fn wait_fds(c: &Call) -> Vec<(i32, i16)> {
    let list = |f: &str, ev: i16| -> Vec<(i32, i16)> {
        f.split(',')
            .filter_map(|x| x.parse::<i32>().ok())
            .map(|fd| (fd, ev))
            .take(1024)
            .collect()
    };
    match c.name.as_str() {
        "accept" | "recv" | "recv_into" | "recvfrom" | "recvfrom_into" | "recvmsg" => {
            vec![(c.fd, libc::POLLIN)]
        }
        "send" | "sendall" | "sendto" | "sendmsg" => vec![(c.fd, libc::POLLOUT)],
        "input" => vec![(0, libc::POLLIN)],
        "select" => {
            let mut v = list(c.field(0), libc::POLLIN);
            v.extend(list(c.field(1), libc::POLLOUT));
            v.extend(list(c.field(2), libc::POLLPRI));
            v
        }
        "poll" | "epoll" => c
            .field(0)
            .split(',')
            .filter_map(|p| {
                let (f, ev) = p.split_once(':')?;
                let ev: i64 = ev.parse().ok()?;
                // POLLIN, POLLPRI and POLLOUT have the same bits in epoll.
                Some((f.parse().ok()?, (ev & 7) as i16))
            })
            .take(1024)
            .collect(),
        _ => Vec::new(),
    }
}

/// A socket's mode from Python's timeout (None: blocking).
fn mode_of(t: Option<f64>) -> Mode {
    match t {
        None => Mode::Blocking,
        Some(t) if t <= 0.0 => Mode::NonBlocking,
        Some(t) => Duration::try_from_secs_f64(t).map_or(Mode::Blocking, Mode::Timeout),
    }
}

/// `up to 2 s` or `no timeout`, from a timeout in `scale` seconds.
fn timeout_words(t: &str, scale: f64) -> String {
    match t.parse::<f64>() {
        Ok(v) if v >= 0.0 => match Duration::try_from_secs_f64(v * scale) {
            Ok(d) => format!("up to {}", crate::wait::human(d)),
            Err(_) => "no timeout".into(),
        },
        _ => "no timeout".into(),
    }
}

/// A Python repr as a value: an int stays an int (and is shown as one),
/// anything else is shown as Python wrote it.
fn repr_value(r: &str) -> Value {
    if let Ok(n) = r.parse::<i64>() {
        return Value::Int(n);
    }
    if r == "None" {
        return Value::Named("None".into());
    }
    Value::Named(escape_controls(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_s_targets() {
        assert_eq!(targets("sockfd = socket(AF_INET,SOCK_STREAM)"), ["sockfd"]);
        assert_eq!(targets("connfd,addr = sockfd.accept()"), ["connfd", "addr"]);
        assert_eq!(targets("conn, addr = sk.accept() # x"), ["conn", "addr"]);
        assert_eq!(targets("self.sock = socket.socket()"), ["self.sock"]);
        assert_eq!(targets("with socket.socket() as s:"), ["s"]);
        assert!(targets("if data == '##':").is_empty());
        assert!(targets("n += s.send(b'x')").is_empty());
        assert!(targets("print(s.recv(10))").is_empty());
        assert!(targets("d['x'] = s.recv(1)").is_empty());
    }

    #[test]
    fn addresses_parse_or_stay_text() {
        assert_eq!(paddr("4|127.0.0.1|9900").text(), "127.0.0.1:9900");
        assert_eq!(paddr("4||9900").text(), "0.0.0.0:9900");
        assert_eq!(paddr("4|localhost|80").text(), "localhost:80");
        assert_eq!(paddr("6|::1|80").text(), "[::1]:80");
        assert_eq!(paddr("u|./sock").text(), "./sock");
        assert_eq!(paddr("a|6162").text(), "@ab");
        assert_eq!(paddr("u|").text(), "an unnamed socket");
        assert!(matches!(paddr("-"), PAddr::None));
        // Escapes in a host name are never shown raw.
        assert!(!paddr("4|\x1b[2J|1").text().contains('\x1b'));
    }
}

//! The journal written as a Python program: each statement through its
//! command's Python template (the `python` field of [`crate::spec`]),
//! with the session's names, the values it showed printed, jobs as
//! threads, peers as socketservers and failures kept as the session had
//! them.

mod holes;

use holes::form_of;

use super::journal::{JobHow, JobReport, Journal, Owner, Shown, Step, Val};
use super::peers;
use super::pyexpr::{self, Kinds};
use crate::errors::ExecError;
use crate::spec::{self, Cmd};
use crate::syntax::ast::{
    AddrExpr, Command, Expr, Family, PeerKind, PrintArg, SockKind, SockRef, Spanned,
};
use crate::value::str_repr;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Which statements go into the program: all of them, or one end's.
pub trait Filter {
    /// Step `k` belongs to this program.
    fn keeps(&self, k: usize) -> bool;
    /// How to write an address that belongs to the other end, for a
    /// statement kept here (None: as the session wrote it).
    fn foreign_addr(&self, _k: usize, _owner: &Owner) -> Option<String> {
        None
    }
    /// A port the kernel chose in the session that this program fixes
    /// instead (split programs must agree on it): the constant's name.
    fn fixed_port(&self, _owner: &Owner) -> Option<String> {
        None
    }
    /// The order the steps are written in (a server sets up its sockets
    /// first).
    fn order(&self, n: usize) -> Vec<usize> {
        (0..n).collect()
    }
}

/// Every statement.
pub struct All;

impl Filter for All {
    fn keeps(&self, _k: usize) -> bool {
        true
    }
}

/// What the export needs besides the journal.
pub struct Input<'a> {
    pub journal: &'a Journal,
    /// Jobs that ended but were not collected yet (a script that never
    /// said `wait`): joined at the end.
    pub finished_jobs: HashSet<usize>,
    /// The program's file name, for its first comment.
    pub file: String,
    /// How to run it (the first comment's second line).
    pub run: String,
}

/// A program and what was left out of it.
pub struct Program {
    pub text: String,
    /// Statements written as Python.
    pub written: usize,
    /// Shell views left out (`sockets`, `info`, ...), by name.
    pub views: BTreeSet<String>,
    /// Statements that failed in a way Python would not raise, written as
    /// comments.
    pub commented: usize,
    /// The session had a lab: its hosts are this machine in the program.
    pub lab: bool,
}

const RET: &str = "\u{1}RET\u{1}";

struct W<'a, F: Filter> {
    input: &'a Input<'a>,
    filter: &'a F,
    kinds: Kinds,
    /// Python name of each socket, by serial.
    names: HashMap<u64, String>,
    family: HashMap<u64, Family>,
    /// Stream sockets, by serial.
    stream: HashSet<u64>,
    /// The sockets this program makes, in order.
    mine: Vec<u64>,
    closed: HashSet<u64>,
    used: HashSet<String>,
    imports: BTreeSet<&'static str>,
    helpers: BTreeSet<&'static str>,
    classes: Vec<(String, String)>,
    body: Vec<String>,
    reports: HashMap<usize, JobReport>,
    /// Jobs started by a kept statement: id -> (thread, joined yet).
    threads: HashMap<usize, (String, bool)>,
    peers: HashMap<u32, String>,
    /// Names bound to a peer's address (`a = serve echo`).
    peer_vars: HashMap<String, u32>,
    stopped: HashSet<u32>,
    step: usize,
    /// Names made up for the program, by what they stand for.
    made: HashMap<String, String>,
    views: BTreeSet<String>,
    written: usize,
    commented: usize,
}

/// Writes the program.
pub fn write<F: Filter>(input: &Input<'_>, filter: &F, preamble: &[String]) -> Program {
    let j = input.journal;
    let mut used: HashSet<String> = HashSet::new();
    for s in &j.steps {
        for t in &s.stmt.targets {
            used.insert(t.node.clone());
        }
        for r in super::journal::sock_refs(&s.stmt.command) {
            if let SockRef::Name(n) = &r.node {
                used.insert(n.clone());
            }
        }
    }
    let mut reports = HashMap::new();
    for r in j
        .steps
        .iter()
        .flat_map(|s| s.joined.iter())
        .chain(&j.pending)
    {
        reports.insert(r.id, r.clone());
    }
    let mut w = W {
        input,
        filter,
        kinds: Kinds::new(),
        names: HashMap::new(),
        family: HashMap::new(),
        stream: HashSet::new(),
        mine: Vec::new(),
        closed: HashSet::new(),
        used,
        imports: BTreeSet::new(),
        helpers: BTreeSet::new(),
        classes: Vec::new(),
        body: preamble
            .iter()
            .filter(|l| !l.starts_with("import "))
            .cloned()
            .collect(),
        reports,
        threads: HashMap::new(),
        peers: HashMap::new(),
        peer_vars: HashMap::new(),
        stopped: HashSet::new(),
        step: 0,
        made: HashMap::new(),
        views: BTreeSet::new(),
        written: 0,
        commented: 0,
    };
    if preamble.iter().any(|l| l == "import sys") {
        w.imports.insert("sys");
    }
    for k in filter.order(j.steps.len()) {
        w.step = k;
        w.one(&j.steps[k]);
    }
    // Jobs collected since the last statement: joined at the end.
    for r in &j.pending {
        if let Some((t, false)) = w.threads.get(&r.id).cloned() {
            w.body.push(w.join_line(&t));
            if let Some(x) = w.threads.get_mut(&r.id) {
                x.1 = true;
            }
            w.note_mine(&r.values);
        }
        w.learn(&r.values, None);
    }
    // Jobs that ended without being collected: wait for them here.
    let mut left: Vec<(usize, String)> = w
        .threads
        .iter()
        .filter(|(id, (_, joined))| !joined && input.finished_jobs.contains(id))
        .map(|(id, (t, _))| (*id, t.clone()))
        .collect();
    left.sort();
    for (_, t) in left {
        w.body.push(w.join_line(&t));
    }
    // What the session still had open, closed as the shell closes it when
    // it leaves (and as the course's programs end).
    let mut closes = Vec::new();
    for serial in w.mine.clone() {
        if w.closed.contains(&serial) {
            continue;
        }
        if let Some(n) = w.names.get(&serial)
            && matches!(w.kinds.get(n), Some(Val::Socket(h)) if h.serial == serial)
            && !closes.contains(&format!("{n}.close()"))
        {
            closes.push(format!("{n}.close()"));
        }
    }
    if !closes.is_empty() {
        w.body.push(String::new());
        w.body.extend(closes);
    }
    w.finish()
}

impl<F: Filter> W<'_, F> {
    fn keeps(&self) -> bool {
        self.filter.keeps(self.step)
    }

    /// A host as the program writes it: a lab host (by name or address)
    /// is this machine, 127.0.0.1; the lab's addresses exist only inside
    /// sockplay, and outside it they would be sent out of the machine.
    pub(super) fn here(&self, host: &str) -> String {
        let lab = &self.input.journal.lab_hosts;
        if lab
            .iter()
            .any(|(n, ip)| n == host || ip.to_string() == host)
        {
            "127.0.0.1".into()
        } else {
            host.to_string()
        }
    }

    fn one(&mut self, step: &Step) {
        let keep = self.keeps();
        // Jobs collected before this statement (or by it: `wait`).
        for r in &step.joined {
            if let Some((t, joined)) = self.threads.get(&r.id).cloned()
                && !joined
                && matches!(r.how, JobHow::Done | JobHow::Failed(_))
            {
                self.body.push(self.join_line(&t));
                if let Some(x) = self.threads.get_mut(&r.id) {
                    x.1 = true;
                }
            }
            if self.threads.contains_key(&r.id) {
                self.note_mine(&r.values);
            }
            self.learn(&r.values, self.job_step_targets(r.id).as_deref());
        }
        if !keep {
            self.learn_step(step);
            return;
        }
        // Where a lab host's statement ran (its sockets stay there): a
        // comment on its line, or above its block.
        let on = step.on.as_ref().map(|h| format!("# on {h}"));
        self.note_mine(&step.values);
        match step.job {
            Some(id) if step.error.is_none() => {
                self.body.extend(on);
                self.job(step, id);
            }
            _ => {
                let mut lines = self.statement(step, &step.values, step.error.as_ref());
                if let Some(c) = on {
                    match lines.first_mut() {
                        Some(l) if !l.ends_with(':') && !l.starts_with('#') => {
                            l.push_str("  ");
                            l.push_str(&c);
                        }
                        _ => lines.insert(0, c),
                    }
                }
                self.body.extend(lines);
            }
        }
        self.learn_step(step);
    }

    /// The targets of the statement that started job `id`.
    fn job_step_targets(&self, id: usize) -> Option<Vec<String>> {
        self.input
            .journal
            .steps
            .iter()
            .find(|s| s.job == Some(id))
            .map(|s| s.stmt.targets.iter().map(|t| t.node.clone()).collect())
    }

    /// What a statement teaches about names: their kinds, the sockets
    /// they name, the sockets it closed.
    fn learn_step(&mut self, step: &Step) {
        let targets: Vec<String> = step.stmt.targets.iter().map(|t| t.node.clone()).collect();
        if step.job.is_none() {
            self.learn(&step.values, Some(&targets));
        }
        match &step.stmt.command {
            Command::Close { sock } if step.error.is_none() => {
                if let Some(s) = self.serial(sock, step) {
                    self.closed.insert(s);
                }
            }
            Command::Socket { family, kind, .. } => {
                for v in &step.values {
                    if let Val::Socket(h) = v.val {
                        self.family.insert(h.serial, family.unwrap_or(Family::Inet));
                        if kind.unwrap_or(SockKind::Stream) == SockKind::Stream {
                            self.stream.insert(h.serial);
                        }
                    }
                }
            }
            Command::Accept { sock } => {
                let fam = self
                    .serial(sock, step)
                    .and_then(|s| self.family.get(&s).copied());
                if let Some(f) = fam {
                    for v in &step.values {
                        match &v.val {
                            Val::Socket(h) => {
                                self.family.insert(h.serial, f);
                            }
                            Val::Tuple(items) => {
                                for i in items {
                                    if let Val::Socket(h) = i {
                                        self.family.insert(h.serial, f);
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            Command::Serve { .. } => {
                if let Some(t) = targets.first()
                    && let Some((n, a)) = &step.peer
                {
                    self.kinds.insert(t.clone(), Val::Addr(a.clone()));
                    self.peer_vars.insert(t.clone(), *n);
                }
            }
            _ => {}
        }
    }

    /// The sockets among values this program made.
    fn note_mine(&mut self, values: &[Shown]) {
        for v in values {
            let items: Vec<&Val> = match &v.val {
                Val::Tuple(items) => items.iter().collect(),
                other => vec![other],
            };
            for i in items {
                if let Val::Socket(h) = i
                    && !self.mine.contains(&h.serial)
                {
                    self.mine.push(h.serial);
                }
            }
        }
    }

    /// Names bound by values shown.
    fn learn(&mut self, values: &[Shown], _targets: Option<&[String]>) {
        for v in values {
            if let Some(n) = &v.name {
                self.kinds.insert(n.clone(), v.val.clone());
                if let Val::Socket(h) = &v.val {
                    self.names.insert(h.serial, n.clone());
                }
            }
        }
    }

    fn join_line(&self, thread: &str) -> String {
        let form = spec::spec_of(Cmd::Wait).python_form(None);
        let line = form.first().copied().unwrap_or("{thread:t}.join()");
        spec::fill_template(line, &mut |name, ex| match name {
            "thread" => thread.to_string(),
            _ => ex.to_string(),
        })
    }

    /// A job: its call in a function, run by a thread.
    fn job(&mut self, step: &Step, id: usize) {
        self.imports.insert("threading");
        let report = self.reports.get(&id).cloned();
        let (values, error) = match &report {
            Some(r) => (
                r.values.clone(),
                match &r.how {
                    JobHow::Failed(e) => Some(e.clone()),
                    _ => None,
                },
            ),
            None => (Vec::new(), None),
        };
        let func = self.fresh(&format!("job{id}"));
        let thread = self.fresh(&format!("t{id}"));
        let mut lines = Vec::new();
        let mut globals: Vec<String> = step.stmt.targets.iter().map(|t| t.node.clone()).collect();
        let call = self.statement(step, &values, error.as_ref());
        // Names the call binds that are not targets (`sock5, addr = ...`).
        for l in &call {
            if let Some((lhs, _)) = l.split_once(" = ")
                && !l.starts_with(' ')
                && !l.starts_with('#')
            {
                for n in lhs.split(',') {
                    let n = n.trim();
                    if is_ident(n) && !globals.iter().any(|g| g == n) {
                        globals.push(n.to_string());
                    }
                }
            }
        }
        lines.push(format!("def {func}():"));
        if !globals.is_empty() {
            lines.push(format!("    global {}", globals.join(", ")));
        }
        // A body of comments alone is no body for Python.
        let empty = call
            .iter()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        for l in call {
            lines.push(format!("    {l}"));
        }
        if empty {
            lines.push("    pass".into());
        }
        lines.push(String::new());
        let start = spec::spec_of(Cmd::Jobs).python_form(None);
        for l in start {
            lines.push(spec::fill_template(l, &mut |name, ex| match name {
                "thread" => thread.clone(),
                "target" => func.clone(),
                _ => ex.to_string(),
            }));
        }
        if let Some(JobHow::Cancelled(why)) = report.as_ref().map(|r| &r.how) {
            let why = if why.is_empty() { "cancelled" } else { why };
            lines.push(format!(
                "# the session cancelled this job ({}): a daemon thread, it ends with the program",
                one_line(why)
            ));
        }
        self.threads.insert(id, (thread, false));
        self.body.push(String::new());
        self.body.extend(lines);
        self.body.push(String::new());
    }

    /// The lines of one statement (not a job's thread around it).
    fn statement(
        &mut self,
        step: &Step,
        values: &[Shown],
        error: Option<&ExecError>,
    ) -> Vec<String> {
        let cmd = &step.stmt.command;
        let lines = match cmd {
            Command::Sockets
            | Command::Info { .. }
            | Command::States { .. }
            | Command::Diagram { .. }
            | Command::Help { .. }
            | Command::Set { .. }
            | Command::Vars
            | Command::Jobs
            | Command::Peers { .. }
            | Command::Import { .. }
            | Command::Quit { .. }
            | Command::Source { .. }
            | Command::Lesson { .. }
            | Command::Expect(_)
            | Command::MacDef { .. }
            | Command::Export { .. }
            | Command::Record { .. } => {
                if !matches!(cmd, Command::Import { .. }) {
                    let word = step.text.split_whitespace().next().unwrap_or("");
                    self.views.insert(word.to_ascii_lowercase());
                }
                return Vec::new();
            }
            Command::Wait { .. } => return Vec::new(),
            // A program the session ran (`run`): the same program, run by
            // subprocess (in a job's thread for `run ... &`).
            Command::Run { argv } => {
                self.imports.insert("subprocess");
                vec![format!("subprocess.run({})", run_argv(argv))]
            }
            // The lab is sockplay's: the program runs on one machine (its
            // first comment says so).
            Command::Lab(_) => return Vec::new(),
            Command::Kill { .. } => {
                // A job that had ended is joined above; one still waiting
                // cannot be stopped in Python.
                let ids: Vec<String> = step
                    .joined
                    .iter()
                    .filter(|r| matches!(r.how, JobHow::Cancelled(_)))
                    .map(|r| format!("%{}", r.id))
                    .collect();
                if ids.is_empty() {
                    return Vec::new();
                }
                return vec![format!(
                    "# kill {}: a Python thread cannot be killed; the job's thread is a daemon thread and ends with the program",
                    ids.join(" ")
                )];
            }
            Command::Value(e) => self.value_statement(step, e, values),
            Command::Print { args } => {
                let mut parts = Vec::new();
                for a in args {
                    match a {
                        PrintArg::Value(v) => parts.push(pyexpr::value(&v.node, &self.kinds)),
                        PrintArg::Call(c) => match self.call_expr(step, c) {
                            Some(x) => parts.push(x),
                            None => {
                                self.commented += 1;
                                return vec![format!(
                                    "# {}  (sockplay's own; no Python form)",
                                    one_line(&step.text)
                                )];
                            }
                        },
                    }
                }
                vec![format!("print({})", parts.join(", "))]
            }
            Command::Echo { values: vs } => {
                let args: Vec<String> = vs
                    .iter()
                    .map(|v| pyexpr::value(&v.node, &self.kinds))
                    .collect();
                vec![format!("print({})", args.join(", "))]
            }
            Command::Serve {
                kind,
                udp,
                addr,
                dir,
            } => self.serve(step, *kind, *udp, addr.as_ref(), dir.as_ref()),
            Command::Stop { peer } => self.stop(peer),
            _ => match self.templated(step, values) {
                Some(l) => l,
                None => {
                    self.commented += 1;
                    return vec![format!(
                        "# {}  (sockplay's own; no Python form)",
                        one_line(&step.text)
                    )];
                }
            },
        };
        // A connect to a program the session ran (`connect k %1`): the
        // program may not listen yet when Python gets there (the shell
        // waited for it to settle).
        let lines = match cmd {
            Command::Connect {
                addr: AddrExpr::Word(w),
                ..
            } if error.is_none() && step.programs.iter().any(|(n, _)| *n == w.node) => {
                self.imports.insert("time");
                let mut out = vec![
                    format!(
                        "# {} is a program the session ran: it may not listen yet (its address is the one it had in the session)",
                        w.node
                    ),
                    "for _ in range(50):".to_string(),
                    "    try:".to_string(),
                ];
                out.extend(lines.iter().map(|l| format!("        {l}")));
                out.extend([
                    "        break".to_string(),
                    "    except ConnectionRefusedError:".to_string(),
                    "        time.sleep(0.1)".to_string(),
                    // Still refused after 5 s: the error, as Python says
                    // it, rather than a send on a socket never connected.
                    "else:".to_string(),
                ]);
                out.extend(lines.iter().map(|l| format!("    {l}")));
                out
            }
            _ => lines,
        };
        self.written += 1;
        match error {
            None => lines,
            Some(e) => self.failed(lines, e),
        }
    }

    /// The lines of a call that failed in the session: in try/except
    /// printing the same error when Python raises it too, else as
    /// comments.
    fn failed(&mut self, lines: Vec<String>, e: &ExecError) -> Vec<String> {
        // Printing the values of a call that failed would print nothing
        // that exists: only the call.
        let lines: Vec<String> = lines
            .into_iter()
            .filter(|l| !l.starts_with("print(f'"))
            .collect();
        if let Some(class) = python_raises(e) {
            let mut out = vec!["try:".to_string()];
            out.extend(lines.iter().map(|l| format!("    {l}")));
            // Not a name of the session: `except ... as e` unbinds it.
            let var = self.made("e");
            out.push(format!("except {class} as {var}:"));
            out.push(format!("    print(f'{}: {{{var}}}')", e.exception));
            return out;
        }
        self.commented += 1;
        self.written -= 1;
        let why = if e.exception == "KeyboardInterrupt" {
            "interrupted with Ctrl-C in the session: here it would wait".to_string()
        } else {
            format!("in the session: {}", one_line(&e.to_string()))
        };
        let mut out: Vec<String> = lines.iter().map(|l| format!("# {l}")).collect();
        out.push(format!("#   ^ {why}"));
        out
    }

    /// A call inside `print(...)`, as one Python expression.
    fn call_expr(&mut self, step: &Step, cmd: &Command) -> Option<String> {
        let mut inner = step.clone();
        inner.stmt.command = cmd.clone();
        inner.stmt.targets.clear();
        inner.values.clear();
        let lines = self.templated(&inner, &[])?;
        match lines.as_slice() {
            [one] if !is_statement_line(one) => Some(one.clone()),
            _ => None,
        }
    }

    /// `x = VALUE`, or a value alone (shown).
    fn value_statement(&mut self, step: &Step, e: &Spanned<Expr>, values: &[Shown]) -> Vec<String> {
        let v = pyexpr::value(&e.node, &self.kinds);
        let targets: Vec<&str> = step.stmt.targets.iter().map(|t| t.node.as_str()).collect();
        if targets.is_empty() {
            return vec![format!("print({v})")];
        }
        let mut out = vec![format!("{} = {v}", targets.join(", "))];
        out.extend(self.prints(values));
        out
    }

    /// `print(f'name = {name!r}')` for each bound value worth showing.
    fn prints(&self, values: &[Shown]) -> Vec<String> {
        values
            .iter()
            .filter_map(|v| {
                let n = v.name.as_ref()?;
                (!v.val.has_socket()).then(|| format!("print(f'{n} = {{{n}!r}}')"))
            })
            .collect()
    }

    /// A call through its command's Python template.
    fn templated(&mut self, step: &Step, values: &[Shown]) -> Option<Vec<String>> {
        let cmd = &step.stmt.command;
        let (c, variant) = form_of(cmd);
        let spec = spec::spec_of(c);
        let form = spec.python_form(variant);
        if form.is_empty() {
            return None;
        }
        let mut tmps: HashMap<String, String> = HashMap::new();
        let mut lines = Vec::new();
        for raw in form {
            let raw = self.modules(raw);
            let mut bad = false;
            let line = spec::fill_template(&raw, &mut |name, ex| {
                if name == "ret" {
                    return RET.to_string();
                }
                if name == "tmp" {
                    let t = self.made(ex);
                    tmps.insert(ex.to_string(), t.clone());
                    return t;
                }
                match self.hole(name, step, &tmps) {
                    Some(s) => s,
                    None => {
                        bad = true;
                        String::new()
                    }
                }
            });
            if bad {
                return None;
            }
            lines.extend(line.split('\n').map(str::to_string));
        }
        if let Some(unlink) = self.unix_guard(cmd)
            && self.body.last() != Some(&unlink)
        {
            lines.insert(0, unlink);
        }
        if let Command::Bind {
            sock,
            addr: AddrExpr::HostPort { port, .. },
        } = cmd
            && matches!(port.node, Expr::Int(0))
            && let Some(s) = self.serial(sock, step)
            && self.filter.fixed_port(&Owner::Socket(s)).is_some()
            && self.stream.contains(&s)
            && let Some(name) = self.sock_name(sock, step)
        {
            // The port is fixed now, and a second run must not wait for
            // the first one's TIME_WAIT: what the course's servers do.
            lines.insert(0, format!("{name}.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)"));
        }
        if lines.iter().any(|l| l.contains("struct.")) {
            self.imports.insert("struct");
        }
        Some(self.bind_result(step, values, lines, spec.python_form(variant)))
    }

    /// `socket.X` is `X` after `from socket import *`; other modules are
    /// imported.
    fn modules(&mut self, raw: &str) -> String {
        for (m, import) in [
            ("select.", "select"),
            ("time.", "time"),
            ("struct.", "struct"),
            ("os.", "os"),
            ("sys.", "sys"),
            ("threading.", "threading"),
        ] {
            if raw.contains(m) {
                self.imports.insert(import);
            }
        }
        if raw.contains("recv_exactly(") {
            self.helpers.insert("recv_exactly");
            self.imports.insert("struct");
        }
        if raw.contains("recv_until(") {
            self.helpers.insert("recv_until");
        }
        raw.replace("socket.socket(", "socket(")
            .replace("socket.", "")
    }

    /// Binding a call's result: its names, or print() of what the shell
    /// showed, then the values bound.
    fn bind_result(
        &mut self,
        step: &Step,
        values: &[Shown],
        mut lines: Vec<String>,
        form: Vec<&str>,
    ) -> Vec<String> {
        let targets: Vec<String> = step.stmt.targets.iter().map(|t| t.node.clone()).collect();
        let ret_line = lines.iter().position(|l| l.contains(RET));
        let example = form
            .iter()
            .find_map(|l| {
                let s = l.find("{ret:")? + 5;
                let e = l[s..].find('}')? + s;
                Some(l[s..e].to_string())
            })
            .unwrap_or_default();
        // A socket the call made, unbound (`socket tcp`, `accept s`): a
        // name of its own, as Python needs one.
        let unnamed_sock = values.iter().find_map(|v| match (&v.name, &v.val) {
            (None, Val::Socket(h)) => Some(*h),
            (None, Val::Tuple(items)) => items.iter().find_map(|i| match i {
                Val::Socket(h) => Some(*h),
                _ => None,
            }),
            _ => None,
        });
        // poll's answer is said in words (`fd 4 (k): POLLOUT`): the
        // program prints the list.
        let shown_unbound = values
            .iter()
            .any(|v| v.name.is_none() && !v.val.has_socket())
            || matches!(step.stmt.command, Command::Poll { .. });
        // The shell shows a value as Python's REPL does (its repr); print()
        // shows a str bare and an enum as its number.
        let print = |call: &str| {
            if values
                .iter()
                .any(|v| v.name.is_none() && !v.val.prints_as_repr())
            {
                format!("print(repr({call}))")
            } else {
                format!("print({call})")
            }
        };
        match ret_line {
            Some(k) => {
                let wanted: Vec<&str> = example.split(',').map(str::trim).collect();
                let mut names: Vec<String> = targets.clone();
                if names.is_empty()
                    && let Some(h) = unnamed_sock
                {
                    let n = self.made(&format!("sock{}", h.fd));
                    self.names.insert(h.serial, n.clone());
                    self.kinds.insert(n.clone(), Val::Socket(h));
                    names.push(n);
                }
                if names.is_empty() {
                    // Nothing bound: the call alone, printed if shown.
                    let line = lines[k].replacen(&format!("{RET} = "), "", 1);
                    let call_only = line.replace(RET, "_");
                    lines[k] = if shown_unbound {
                        print(&call_only)
                    } else {
                        call_only
                    };
                    return lines;
                }
                while names.len() < wanted.len() {
                    let ex = wanted[names.len()];
                    names.push(self.made(ex));
                }
                lines[k] = lines[k].replace(RET, &names.join(", "));
                let mut extra = Vec::new();
                // The parts the shell showed unbound (`-> ...` beside a
                // named socket): printed by the names they got.
                if targets.is_empty() {
                    for n in names.iter().skip(1) {
                        extra.push(format!("print(f'{n} = {{{n}!r}}')"));
                    }
                }
                lines.extend(self.prints(values));
                lines.extend(extra);
                lines
            }
            None => {
                let last = lines.len().saturating_sub(1);
                let is_expr = lines
                    .get(last)
                    .is_some_and(|l| !is_statement_line(l) && !l.starts_with(' '));
                if !targets.is_empty() && is_expr {
                    lines[last] = format!("{} = {}", targets.join(", "), lines[last]);
                    lines.extend(self.prints(values));
                } else if shown_unbound && is_expr {
                    lines[last] = print(&lines[last]);
                }
                lines
            }
        }
    }

    /// Before a bind to a UNIX path: the course's clean-up of an earlier
    /// run's socket file (bind fails with EADDRINUSE while it is there),
    /// so the program runs again.
    fn unix_guard(&mut self, cmd: &Command) -> Option<String> {
        let Command::Bind {
            addr: AddrExpr::Path(p),
            ..
        } = cmd
        else {
            return None;
        };
        self.imports.insert("os");
        let q = str_repr(&p.node);
        Some(format!("if os.path.exists({q}): os.unlink({q})"))
    }

    /// `serve`: a socketserver in a thread.
    fn serve(
        &mut self,
        step: &Step,
        kind: PeerKind,
        udp: bool,
        addr: Option<&AddrExpr>,
        dir: Option<&Spanned<Expr>>,
    ) -> Vec<String> {
        let mut addr = addr;
        let mut dir_text: Option<String> = dir.map(|d| pyexpr::value(&d.node, &self.kinds));
        if kind == PeerKind::Http && dir_text.is_none() {
            match addr {
                Some(AddrExpr::Path(p)) => {
                    dir_text = Some(str_repr(&p.node));
                    addr = None;
                }
                Some(AddrExpr::Word(w))
                    if !matches!(self.kinds.get(&w.node), Some(Val::Addr(_) | Val::Socket(_))) =>
                {
                    dir_text = Some(match self.kinds.get(&w.node) {
                        Some(Val::Str) => w.node.clone(),
                        _ => str_repr(&w.node),
                    });
                    addr = None;
                }
                _ => {}
            }
        }
        let unix = matches!(addr, Some(AddrExpr::Path(_) | AddrExpr::Abstract(_)));
        let n = step.peer.as_ref().map_or(0, |p| p.0);
        let fixed = self.filter.fixed_port(&Owner::Peer(n));
        let where_ = match addr {
            None => pyexpr::host_port("127.0.0.1", fixed.as_deref().unwrap_or("0")),
            Some(AddrExpr::HostPort { host, port }) => pyexpr::host_port(
                host.as_ref().map_or("127.0.0.1", |h| h.node.as_str()),
                &match (&port.node, &fixed) {
                    (Expr::Int(0), Some(f)) => f.clone(),
                    (other, _) => pyexpr::value(other, &self.kinds),
                },
            ),
            Some(AddrExpr::Path(p)) => str_repr(&p.node),
            Some(AddrExpr::Abstract(n)) => str_repr(&format!("\0{}", n.node)),
            Some(AddrExpr::Word(w)) => w.node.clone(),
            Some(AddrExpr::Value(e)) => pyexpr::value(&e.node, &self.kinds),
        };
        let var = self.fresh(&format!("peer{n}"));
        self.peers.insert(n, var.clone());
        for m in peers::modules(kind, udp, dir_text.is_some()) {
            self.imports.insert(m);
        }
        let mut lines = Vec::new();
        if let Some(AddrExpr::Path(p)) = addr {
            self.imports.insert("os");
            let q = str_repr(&p.node);
            lines.push(format!("if os.path.exists({q}): os.unlink({q})"));
        }
        let make = match (kind, &dir_text) {
            (PeerKind::Http, Some(d)) => {
                self.class("Files", peers::files_def().to_string());
                format!(
                    "http.server.ThreadingHTTPServer({where_}, functools.partial(Files, directory={d}))"
                )
            }
            (PeerKind::Http, None) => {
                self.class("Page", peers::handler_def(kind, udp));
                format!("http.server.ThreadingHTTPServer({where_}, Page)")
            }
            _ => {
                let (server, def) = peers::server_class(udp, unix);
                self.class(server, def.to_string());
                let h = peers::handler(kind, udp);
                self.class(h, peers::handler_def(kind, udp));
                format!("{server}({where_}, {h})")
            }
        };
        lines.push(format!("{var} = {make}"));
        lines.push(format!(
            "threading.Thread(target={var}.serve_forever, daemon=True).start()"
        ));
        if let Some(t) = step.stmt.targets.first() {
            lines.push(format!("{} = {var}.server_address", t.node));
            lines.push(format!("print(f'{0} = {{{0}!r}}')", t.node));
        }
        lines
    }

    fn class(&mut self, name: &str, def: String) {
        if !self.classes.iter().any(|(n, _)| n == name) {
            self.classes.push((name.to_string(), def));
        }
    }

    /// `stop N` / `stop all`.
    fn stop(&mut self, peer: &Spanned<Expr>) -> Vec<String> {
        let which: Vec<u32> = match &peer.node {
            Expr::Int(n) => u32::try_from(*n).into_iter().collect(),
            Expr::Var(w) if w.eq_ignore_ascii_case("all") => {
                let mut v: Vec<u32> = self.peers.keys().copied().collect();
                v.sort();
                v
            }
            _ => Vec::new(),
        };
        let mut lines = Vec::new();
        for n in which {
            if self.stopped.contains(&n) {
                continue;
            }
            if let Some(p) = self.peers.get(&n).cloned() {
                lines.push(format!("{p}.shutdown()"));
                lines.push(format!("{p}.server_close()"));
                self.stopped.insert(n);
            }
        }
        lines
    }

    /// A made-up name for `base` (`addr`, `sock5`, a helper's `n`): the
    /// same one every time, never one of the session's.
    fn made(&mut self, base: &str) -> String {
        if let Some(n) = self.made.get(base) {
            return n.clone();
        }
        let n = self.fresh(base);
        self.made.insert(base.to_string(), n.clone());
        n
    }

    /// A name not used in the session nor given yet.
    fn fresh(&mut self, base: &str) -> String {
        let base = if is_ident(base) { base } else { "x" };
        let mut name = base.to_string();
        let mut k = 2;
        while self.used.contains(&name) || is_keyword(&name) {
            name = format!("{base}{k}");
            k += 1;
        }
        self.used.insert(name.clone());
        name
    }

    /// The whole text.
    fn finish(self) -> Program {
        let mut out = String::new();
        out.push_str(&format!(
            "# {}: a sockplay session, exported as a Python program.\n",
            self.input.file
        ));
        out.push_str(&format!("# Run it: {}\n", self.input.run));
        let lab = &self.input.journal.lab_hosts;
        if !lab.is_empty() {
            let hosts: Vec<String> = lab.iter().map(|(n, ip)| format!("{n} {ip}")).collect();
            out.push_str(&format!(
                "# It ran in sockplay's lab (hosts {}): here every host is this machine,\n# 127.0.0.1, and the lab's faults (lab net) are not in it.\n",
                hosts.join(", ")
            ));
        }
        out.push_str("from socket import *\n");
        let mut plain: Vec<&str> = Vec::new();
        for m in &self.imports {
            plain.push(m);
        }
        if !plain.is_empty() {
            out.push_str(&format!("import {}\n", plain.join(", ")));
        }
        for h in &self.helpers {
            out.push_str("\n\n");
            out.push_str(helper(h));
        }
        for (_, def) in &self.classes {
            out.push_str("\n\n");
            out.push_str(def);
        }
        if !self.helpers.is_empty() || !self.classes.is_empty() {
            out.push_str("\n\n");
        } else {
            out.push('\n');
        }
        // No blank line runs: at most one between blocks.
        let mut blank = true;
        for l in &self.body {
            if l.is_empty() {
                if !blank {
                    out.push('\n');
                }
                blank = true;
                continue;
            }
            blank = false;
            out.push_str(l);
            out.push('\n');
        }
        while out.ends_with("\n\n") {
            out.pop();
        }
        Program {
            text: out,
            written: self.written,
            views: self.views,
            commented: self.commented,
            lab: !self.input.journal.lab_hosts.is_empty(),
        }
    }
}

/// The helper functions the framing templates call.
fn helper(name: &str) -> &'static str {
    match name {
        "recv_exactly" => {
            "def recv_exactly(sock, n):\n    \"\"\"Exactly n bytes (fewer only if the peer closes): a framed message's parts.\"\"\"\n    data = b''\n    while len(data) < n:\n        chunk = sock.recv(n - len(data))\n        if not chunk:\n            break\n        data += chunk\n    return data\n"
        }
        _ => {
            "def recv_until(sock, marker):\n    \"\"\"The bytes up to marker (removed), one at a time so the next message stays queued.\"\"\"\n    data = b''\n    while not data.endswith(marker):\n        chunk = sock.recv(1)\n        if not chunk:\n            return data\n        data += chunk\n    return data[:-len(marker)]\n"
        }
    }
}

/// The exception class to catch when Python raises what the session
/// raised; None for the shell's own errors (they become comments).
fn python_raises(e: &ExecError) -> Option<String> {
    if e.exception == "KeyboardInterrupt" || e.exception == "error" {
        return None;
    }
    if e.errno.is_some() {
        return Some(e.exception.trim_start_matches("socket.").to_string());
    }
    match e.exception.as_str() {
        "TimeoutError" | "BlockingIOError" | "UnicodeDecodeError" | "OSError" => {
            Some(e.exception.clone())
        }
        "socket.gaierror" | "socket.herror" => {
            Some(e.exception.trim_start_matches("socket.").to_string())
        }
        _ => None,
    }
}

/// A line that is a statement, not an expression (it cannot be printed
/// or assigned).
fn is_statement_line(l: &str) -> bool {
    let t = l.trim_start();
    ["with ", "while ", "if ", "for ", "def ", "print(", "#"]
        .iter()
        .any(|k| t.starts_with(k))
        || t.contains(" = ")
        || t.contains(", = ")
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_alphabetic() || f == '_')
        && c.all(|x| x.is_alphanumeric() || x == '_')
}

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "False"
            | "None"
            | "True"
            | "and"
            | "as"
            | "assert"
            | "async"
            | "await"
            | "break"
            | "class"
            | "continue"
            | "def"
            | "del"
            | "elif"
            | "else"
            | "except"
            | "finally"
            | "for"
            | "from"
            | "global"
            | "if"
            | "import"
            | "in"
            | "is"
            | "lambda"
            | "nonlocal"
            | "not"
            | "or"
            | "pass"
            | "raise"
            | "return"
            | "try"
            | "while"
            | "with"
            | "yield"
            | "print"
    )
}

fn one_line(s: &str) -> String {
    crate::value::escape_controls(s.lines().next().unwrap_or(""))
}

/// `run`'s command line as Python's list: without sockplay's own `-q` or
/// `-v`, and a `.py` file run by python3 (as `run` does).
fn run_argv(argv: &[Spanned<String>]) -> String {
    let words: Vec<&str> = argv
        .iter()
        .map(|w| w.node.as_str())
        .skip_while(|w| matches!(*w, "-q" | "-v" | "--quiet" | "--verbose"))
        .collect();
    let mut list: Vec<String> = Vec::new();
    if words.first().is_some_and(|w| w.ends_with(".py")) {
        list.push(str_repr("python3"));
    }
    list.extend(words.iter().map(|w| str_repr(w)));
    format!("[{}]", list.join(", "))
}

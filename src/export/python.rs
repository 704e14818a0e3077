//! The journal written as a Python program: each statement through its
//! command's Python template (the `python` field of [`crate::spec`]),
//! with the session's names, the values it showed printed, jobs as
//! threads, peers as socketservers and failures kept as the session had
//! them.

mod holes;
mod statement;

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

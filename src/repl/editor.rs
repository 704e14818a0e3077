//! The line editor's helper: what Tab completes (command words, socket
//! names, options, families, peers, a socket's Python methods), the usage
//! hint of the command being typed, the colours of the line, and the
//! names it draws on ([`Names`], refreshed from the runner). Apart from the
//! loop because rustyline calls it, not the shell.

use super::fds::release_low_fds;
use crate::script::Runner;
use crate::spec::{self, ArgKind};
use crate::value::Value;
use colored::Colorize;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};

/// What completion needs from the session, refreshed before each prompt.
#[derive(Default, Clone)]
pub struct Names {
    pub sockets: Vec<String>,
    pub fds: Vec<String>,
    pub others: Vec<String>,
    /// `%1`, `%2`...
    pub jobs: Vec<String>,
    /// Numbers of the peers running, and of every peer (for `peers log`).
    pub peers: Vec<String>,
    pub all_peers: Vec<String>,
    /// Each open socket: its names (empty when it has none) and its fd, in
    /// fd order, for Tab where a socket goes (`send `).
    pub open: Vec<(Vec<String>, i32)>,
    /// The last socket used (what `.` means), as it is labelled.
    pub last: Option<String>,
    /// The lab's hosts (while a lab is up).
    pub hosts: Vec<String>,
}

pub struct ShellHelper {
    pub names: Arc<Mutex<Names>>,
    pub color: bool,
    /// The setting word of a `set` being completed (set by `complete`):
    /// the word before the one under the cursor.
    set_key: Mutex<String>,
    /// The `lab` being completed is a `lab up` (set by `complete`): what
    /// follows are new host names, nothing to offer.
    lab_up: Mutex<bool>,
    /// The statement being completed follows `on HOST` (set by
    /// `complete`): the commands that run in sockplay itself are left out.
    on_host: Mutex<bool>,
}

impl ShellHelper {
    pub fn new(names: Arc<Mutex<Names>>, color: bool) -> Self {
        ShellHelper {
            names,
            color,
            set_key: Mutex::new(String::new()),
            lab_up: Mutex::new(false),
            on_host: Mutex::new(false),
        }
    }
}

/// Tab after `sk.` or `socket.ge` in a Python line: the methods of a
/// socket, or the functions of the module, each with its `(`.
fn python_attribute(line: &str, pos: usize) -> Option<(usize, Vec<Pair>)> {
    let upto = line.get(..pos)?;
    // After the last character that is not part of `name.attr` (its whole
    // width: it may be `é`).
    let word_start = upto
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '.'))
        .map_or(0, |(k, c)| k + c.len_utf8());
    // Only where a Python call can start: not inside a host name or a
    // path (`connect k localhost.`, `bind x ./app.s`).
    let before = upto[..word_start].trim_end();
    if !(before.is_empty() || before.ends_with([';', '=', '(', ',', '['])) {
        return None;
    }
    let word = &upto[word_start..];
    let (name, partial) = word.rsplit_once('.')?;
    if name.is_empty() || name.contains('.') || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut names: Vec<&str> = crate::syntax::python_attributes(name)
        .iter()
        .copied()
        .filter(|a| a.starts_with(partial))
        .collect();
    names.sort_unstable();
    let pairs = names
        .into_iter()
        .map(|a| Pair {
            display: (*a).to_string(),
            replacement: format!("{a}("),
        })
        .collect();
    Some((pos - partial.len(), pairs))
}

/// The length of an `on HOST ` before a statement (0 when there is none).
fn on_prefix(stmt: &str) -> usize {
    let t = stmt.trim_start();
    let lead = stmt.len() - t.len();
    let Some(rest) = t.strip_prefix("on ").or_else(|| t.strip_prefix("ON ")) else {
        return 0;
    };
    let rest_t = rest.trim_start();
    let Some(end) = rest_t.find(char::is_whitespace) else {
        return 0;
    };
    // The blank after the host may be of several bytes (an ideographic
    // space typed with an input method): step over all of it.
    let blank = rest_t[end..].chars().next().map_or(1, char::len_utf8);
    lead + 3 + (rest.len() - rest_t.len()) + end + blank
}

/// Splits the statement being typed: (the command word, the index of the
/// argument under the cursor, the start of the word under the cursor).
fn context(line: &str, pos: usize) -> (Option<String>, usize, usize) {
    let upto = &line[..pos];
    // The current statement starts after the last `;` outside quotes.
    let mut start = 0;
    let mut quote: Option<char> = None;
    for (k, c) in upto.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ';') => start = k + 1,
            _ => {}
        }
    }
    // `on HOST rest`: the rest is a statement of its own.
    let start = start + on_prefix(&upto[start..]);
    let stmt = &upto[start..];
    // Skip `a, b =`.
    let body_off = match stmt.find('=') {
        Some(k)
            if stmt[..k]
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == ',' || c == ' ')
                && !stmt[..k].trim().is_empty() =>
        {
            k + 1
        }
        _ => 0,
    };
    let body = &stmt[body_off..];
    let word_start =
        pos - body.len() + body.rfind([' ', '\t']).map_or(0, |k| k + 1).min(body.len());
    let word_start = word_start.max(start + body_off + body.len() - body.trim_start().len());
    let words: Vec<&str> = body.split_whitespace().collect();
    let typing_new = body.ends_with(char::is_whitespace) || body.trim().is_empty();
    let n_done = if typing_new {
        words.len()
    } else {
        words.len().saturating_sub(1)
    };
    if n_done == 0 {
        return (None, 0, word_start);
    }
    (Some(words[0].to_string()), n_done - 1, word_start)
}

impl ShellHelper {
    /// Tab where a socket goes: each name, with its fd beside it in the
    /// list (`c  fd 5`); the fd of a socket that has no name (`4  no
    /// name`); and `.` only with what it stands for (`.  the last used:
    /// k`). The list shows what each is; the line gets the name alone.
    fn socket_pairs(&self, prefix: &str) -> Vec<Pair> {
        let names = self.names.lock().map(|n| n.clone()).unwrap_or_default();
        let mut named: Vec<Pair> = Vec::new();
        let mut unnamed: Vec<Pair> = Vec::new();
        for (list, fd) in &names.open {
            if list.is_empty() {
                unnamed.push(Pair {
                    display: format!("{fd}  (fd {fd}, no name)"),
                    replacement: fd.to_string(),
                });
            }
            for n in list {
                named.push(Pair {
                    display: format!("{n}  (fd {fd})"),
                    replacement: n.clone(),
                });
            }
        }
        named.sort_by(|a, b| a.replacement.cmp(&b.replacement));
        let mut pairs: Vec<Pair> = named.into_iter().chain(unnamed).collect();
        if let Some(last) = &names.last {
            pairs.push(Pair {
                display: format!(".  (the last socket used: {last})"),
                replacement: ".".into(),
            });
        }
        pairs.retain(|p| {
            p.replacement
                .to_ascii_lowercase()
                .starts_with(&prefix.to_ascii_lowercase())
        });
        pairs
    }

    fn candidates(&self, cmd: Option<&str>, arg: usize) -> Vec<String> {
        let Some(cmd) = cmd else {
            let on_host = self.on_host.lock().is_ok_and(|o| *o);
            return spec::command_words()
                .filter(|w| w.len() > 1)
                .filter(|w| !on_host || !crate::exec::NOT_ON_A_HOST.contains(w))
                .map(str::to_string)
                .collect();
        };
        let Some(s) = spec::lookup(cmd) else {
            return Vec::new();
        };
        let names = self.names.lock().map(|n| n.clone()).unwrap_or_default();
        // Argument kinds by position (multi-word kinds keep the last).
        let kind = s.args.get(arg).or_else(|| s.args.last()).map(|a| a.kind);
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match kind {
            // Completed by socket_pairs, which shows each socket's fd.
            Some(ArgKind::Sock) => names.sockets.clone(),
            Some(ArgKind::PeerKind) => words(spec::PEER_KINDS),
            Some(ArgKind::PeersView) => words(spec::PEERS_VIEWS),
            Some(ArgKind::Addr | ArgKind::PeerAddr) => {
                let mut v = names.sockets.clone();
                // `serve echo udp`: the transport comes before the address.
                if kind == Some(ArgKind::PeerAddr) {
                    v.extend(words(&["udp", "tcp"]));
                }
                v.extend(names.others.iter().cloned());
                v.extend(["127.0.0.1", "0.0.0.0", "localhost", "::1"].map(String::from));
                v
            }
            Some(ArgKind::LevelOpt) => {
                let mut v: Vec<String> = spec::OPTIONS.iter().map(|o| o.name.to_string()).collect();
                v.extend(words(spec::LEVELS));
                v
            }
            Some(ArgKind::SockSpec) => {
                let mut v = words(spec::SHORTHANDS);
                v.extend(words(&["inet", "inet6", "unix", "stream", "dgram"]));
                v
            }
            Some(ArgKind::Family) => words(&["inet", "inet6"]),
            Some(ArgKind::How) => words(&["read", "write", "both"]),
            Some(ArgKind::RecvFlags) => words(spec::RECV_FLAG_WORDS),
            Some(ArgKind::SendFlags) => words(spec::SEND_FLAG_WORDS),
            Some(ArgKind::Topic) => spec::command_words().map(str::to_string).collect(),
            Some(ArgKind::SetKey) => spec::SETTINGS.iter().map(|s| s.0.to_string()).collect(),
            Some(ArgKind::Text) if s.cmd == spec::Cmd::Set => {
                // The values of the setting named before.
                let key = self.set_key.lock().map(|k| k.clone()).unwrap_or_default();
                spec::SETTINGS
                    .iter()
                    .find(|(n, _, _)| n.eq_ignore_ascii_case(&key))
                    .map(|(_, vals, _)| words(vals))
                    .unwrap_or_default()
            }
            Some(ArgKind::Bool) => words(&["true", "false"]),
            Some(ArgKind::Jobs) => names.jobs.clone(),
            Some(ArgKind::Framing) => words(&["framed", "marker"]),
            Some(ArgKind::Groups) => {
                let mut v = names.sockets.clone();
                let groups: &[&str] = if s.cmd == spec::Cmd::Poll {
                    &["in", "out", "pri"]
                } else {
                    &["read", "write", "except"]
                };
                v.extend(words(groups));
                v
            }
            Some(ArgKind::Number) if s.cmd == spec::Cmd::Stop => {
                let mut v = names.peers.clone();
                v.push("all".into());
                v
            }
            Some(ArgKind::Number) if s.cmd == spec::Cmd::Peers => names.all_peers.clone(),
            Some(ArgKind::Number) if s.cmd == spec::Cmd::Lesson => (1..=crate::lessons::LESSONS
                .len())
                .map(|n| n.to_string())
                .collect(),
            Some(ArgKind::LessonMode) => words(spec::LESSON_MODES),
            Some(ArgKind::Expectation) => {
                let mut v = words(spec::EXPECT_WORDS);
                v.extend(names.sockets.iter().cloned());
                v
            }
            Some(ArgKind::MacroName) => Vec::new(),
            Some(ArgKind::Job) => names.jobs.clone(),
            Some(ArgKind::Argv) => Vec::new(),
            Some(ArgKind::Lab) if arg == 0 => words(spec::LAB_WORDS),
            Some(ArgKind::Lab) => {
                // What may follow the word before the cursor: a host or a
                // fault after `net`, a fault after a host or a value, a
                // value (nothing to offer) after a fault, names of one's
                // own after `up`.
                let prev = self.set_key.lock().map(|k| k.clone()).unwrap_or_default();
                let prev = prev.to_ascii_lowercase();
                let up = self.lab_up.lock().is_ok_and(|u| *u);
                let faults = || {
                    spec::NET_WORDS
                        .iter()
                        .filter(|w| **w != "clear")
                        .map(|w| w.to_string())
                };
                if prev == "net" {
                    names
                        .hosts
                        .iter()
                        .cloned()
                        .chain(words(spec::NET_WORDS))
                        .collect()
                } else if up || prev == "down" || prev == "clear" {
                    Vec::new()
                } else if names.hosts.contains(&prev) {
                    words(spec::NET_WORDS)
                } else if spec::NET_WORDS.contains(&prev.as_str()) {
                    Vec::new()
                } else {
                    faults().collect()
                }
            }
            Some(ArgKind::Host) => names.hosts.clone(),
            Some(ArgKind::Statement) => Vec::new(),
            Some(ArgKind::Path) => Vec::new(),
            Some(ArgKind::UntilOpts) => words(spec::UNTIL_WORDS),
            Some(ArgKind::LogView) => words(&["hex", "text"]),
            Some(ArgKind::LineEnd) => words(&["crlf", "lf"]),
            Some(ArgKind::EpollOp) => {
                let mut v = names.others.clone();
                v.extend(names.sockets.iter().cloned());
                v.extend(words(&[
                    "add", "mod", "del", "wait", "close", "in", "out", "pri", "rdhup", "et",
                    "oneshot",
                ]));
                v
            }
            Some(ArgKind::WireView) => {
                let mut v = names.sockets.clone();
                v.extend(words(spec::WIRE_WORDS));
                v
            }
            Some(ArgKind::FileFlags) => words(spec::file_flags(s.cmd)),
            Some(ArgKind::Data | ArgKind::Values | ArgKind::Number | ArgKind::Text) => {
                names.others.clone()
            }
            None => Vec::new(),
        }
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        if let Some(found) = python_attribute(line, pos) {
            return Ok(found);
        }
        let (cmd, arg, start) = context(line, pos);
        // A file's path (sendfile, recvfile): the file system's names.
        if cmd
            .as_deref()
            .and_then(spec::lookup)
            .and_then(|s| s.args.get(arg))
            .or_else(|| {
                // A command line: every word after `run` is a path.
                cmd.as_deref()
                    .and_then(spec::lookup)
                    .and_then(|s| s.args.last())
                    .filter(|a| a.kind == ArgKind::Argv)
            })
            .is_some_and(|a| a.kind == ArgKind::Path || a.kind == ArgKind::Argv)
        {
            return rustyline::completion::FilenameCompleter::new().complete_path(line, pos);
        }
        let start = start.min(pos);
        let prefix = &line[start..pos];
        // A socket's place: names with their fds shown beside them.
        if cmd
            .as_deref()
            .and_then(spec::lookup)
            .and_then(|s| s.args.get(arg))
            .is_some_and(|a| a.kind == ArgKind::Sock)
        {
            return Ok((start, self.socket_pairs(prefix)));
        }
        if let Ok(mut k) = self.set_key.lock() {
            *k = line[..start]
                .split_whitespace()
                .last()
                .unwrap_or("")
                .to_string();
        }
        if let Ok(mut o) = self.on_host.lock() {
            let stmt = line[..start].rsplit(';').next().unwrap_or("");
            *o = on_prefix(stmt) > 0;
        }
        if let Ok(mut u) = self.lab_up.lock() {
            let stmt = line[..start].rsplit(';').next().unwrap_or("");
            let mut w = stmt[on_prefix(stmt)..].split_whitespace();
            *u = w.next().is_some_and(|x| x.eq_ignore_ascii_case("lab"))
                && w.next().is_some_and(|x| x.eq_ignore_ascii_case("up"));
        }
        // After `level` in setsockopt the option is the same argument.
        let mut list: Vec<String> = self
            .candidates(cmd.as_deref(), arg)
            .into_iter()
            .filter(|c| {
                c.to_ascii_lowercase()
                    .starts_with(&prefix.to_ascii_lowercase())
            })
            .collect();
        list.sort();
        list.dedup();
        let pairs = list
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                replacement: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;

    /// The rest of the usage of the command being typed, after a blank:
    /// `bind s ` hints `addr`, `bind s 127.0.0.1 ` hints `port`.
    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        // The editor draws its line: it has opened its descriptors.
        release_low_fds();
        if pos < line.len() || !line.ends_with(' ') {
            return None;
        }
        let (cmd, _, _) = context(line, pos);
        let s = spec::lookup(cmd.as_deref()?)?;
        let (arg, port_next) = arg_position(s, line);
        let mut parts: Vec<String> = Vec::new();
        if port_next {
            parts.push("port".into());
        }
        let from = if port_next { arg + 1 } else { arg };
        for a in s.args.iter().skip(from) {
            parts.push(if a.optional {
                format!("[{}]", a.name)
            } else {
                a.name.to_string()
            });
        }
        if parts.is_empty() {
            return None;
        }
        Some(format!("{}   # {}", parts.join(" "), s.summary))
    }
}

/// Which argument of `s` the next word of `line` (ending in a blank) fills,
/// and whether that word is the port of an address whose host was just
/// typed (`bind s 127.0.0.1 `).
fn arg_position(s: &spec::CmdSpec, line: &str) -> (usize, bool) {
    let stmt = line.rsplit(';').next().unwrap_or(line);
    let stmt = &stmt[on_prefix(stmt)..];
    let body = match stmt.find('=') {
        Some(k)
            if stmt[..k]
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == ',' || c == ' ')
                && !stmt[..k].trim().is_empty() =>
        {
            &stmt[k + 1..]
        }
        _ => stmt,
    };
    let words: Vec<&str> = body.split_whitespace().skip(1).collect();
    let mut arg = 0;
    let mut k = 0;
    while k < words.len() {
        let kind = s.args.get(arg).map(|a| a.kind);
        if kind == Some(ArgKind::Addr) && is_host_word(words[k]) {
            if k + 1 == words.len() {
                return (arg, true);
            }
            k += 2;
        } else if kind == Some(ArgKind::LevelOpt)
            && spec::LEVELS
                .iter()
                .any(|l| l.eq_ignore_ascii_case(words[k]))
        {
            if k + 1 == words.len() {
                return (arg, false);
            }
            k += 2;
        } else {
            k += 1;
        }
        if !matches!(
            kind,
            Some(ArgKind::Values | ArgKind::RecvFlags | ArgKind::SendFlags)
        ) {
            arg += 1;
        }
    }
    (arg, false)
}

/// A word that is a host waiting for its port (not `host:port`, a path, a
/// lone port or a name).
fn is_host_word(w: &str) -> bool {
    if w.contains('/') || w.starts_with('@') || w.starts_with('.') || w.starts_with('"') {
        return false;
    }
    if w == "*" || w == "localhost" {
        return true;
    }
    if w.starts_with('[') {
        return w.ends_with(']');
    }
    let colons = w.matches(':').count();
    if colons == 1 {
        return false;
    }
    colons > 1 || (w.contains('.') && !w.chars().all(|c| c.is_ascii_digit()))
}

impl Highlighter for ShellHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if !self.color {
            return Cow::Borrowed(line);
        }
        Cow::Owned(highlight_line(line))
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if !self.color {
            return Cow::Borrowed(hint);
        }
        Cow::Owned(hint.dimmed().to_string())
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.color
    }
}

/// Colours command words, strings, numbers and comments; the text itself
/// (and so its width) is unchanged.
pub fn highlight_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() * 2);
    let mut chars = line.char_indices().peekable();
    let mut at_stmt_start = true;
    while let Some((k, c)) = chars.next() {
        match c {
            '"' | '\'' => {
                let mut end = line.len();
                let mut esc = false;
                for (j, d) in line[k + 1..].char_indices() {
                    if esc {
                        esc = false;
                    } else if d == '\\' {
                        esc = true;
                    } else if d == c {
                        end = k + 1 + j + 1;
                        break;
                    }
                }
                out.push_str(&line[k..end].green().to_string());
                while chars.peek().is_some_and(|(j, _)| *j < end) {
                    chars.next();
                }
            }
            '#' => {
                out.push_str(&line[k..].dimmed().to_string());
                break;
            }
            ';' => {
                out.push(c);
                at_stmt_start = true;
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut end = k + c.len_utf8();
                while let Some((j, d)) = chars.peek() {
                    if d.is_alphanumeric() || *d == '_' || *d == '.' || *d == ':' {
                        end = j + d.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let word = &line[k..end];
                let next_is_assign = line[end..].trim_start().starts_with('=')
                    || line[end..].trim_start().starts_with(',');
                if at_stmt_start && !next_is_assign && spec::lookup(word).is_some() {
                    out.push_str(&word.bold().cyan().to_string());
                    at_stmt_start = false;
                } else if word.chars().all(|d| d.is_ascii_digit()) {
                    out.push_str(&word.magenta().to_string());
                    if !next_is_assign {
                        at_stmt_start = false;
                    }
                } else {
                    out.push_str(word);
                    if !next_is_assign {
                        at_stmt_start = false;
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

/// The names completion offers, from the session.
pub fn names_of(runner: &Runner) -> Names {
    let mut n = Names::default();
    for (k, v) in &runner.session.vars {
        match v {
            Value::Socket(h) if runner.session.table.get(*h).is_some() => n.sockets.push(k.clone()),
            Value::Socket(_) => {}
            _ => n.others.push(k.clone()),
        }
    }
    n.peers = runner
        .session
        .peers
        .numbers()
        .iter()
        .map(u32::to_string)
        .collect();
    n.all_peers = runner
        .session
        .peers
        .all_numbers()
        .iter()
        .map(u32::to_string)
        .collect();
    n.fds = runner
        .session
        .table
        .iter()
        .map(|e| e.fd().to_string())
        .collect();
    n.open = runner
        .session
        .table
        .iter()
        .map(|e| (e.names.clone(), e.fd()))
        .collect();
    n.last = runner
        .session
        .table
        .last
        .and_then(|h| runner.session.table.get(h))
        .map(|e| e.label());
    n.hosts = runner.session.lab_hosts();
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_finds_the_argument_under_the_cursor() {
        assert_eq!(context("bi", 2), (None, 0, 0));
        assert_eq!(context("bind ", 5), (Some("bind".into()), 0, 5));
        assert_eq!(context("bind s 0.0", 10), (Some("bind".into()), 1, 7));
        assert_eq!(context("c = acc", 7), (None, 0, 4));
        assert_eq!(
            context("c, a = accept ", 14),
            (Some("accept".into()), 0, 14)
        );
        assert_eq!(context("ls; send c", 10), (Some("send".into()), 0, 9));
        assert_eq!(context("on b send c", 11), (Some("send".into()), 0, 10));
    }

    #[test]
    fn a_blank_of_several_bytes_after_on_host_splits_no_character() {
        // U+3000, the ideographic space a Chinese input method types (the
        // crash found in review: `on a\u{3000}s` Tab).
        for line in [
            "on a\u{3000}s",
            "on a\u{3000}",
            "on\u{3000}a s",
            "on a\u{85}send ",
        ] {
            let _ = context(line, line.len());
            let _ = on_prefix(line);
        }
        assert_eq!(on_prefix("on a\u{3000}s"), "on a\u{3000}".len());
    }

    #[test]
    fn tab_after_a_dot_lists_methods_and_never_splits_a_character() {
        let names = |line: &str| -> Option<(usize, Vec<String>)> {
            python_attribute(line, line.len())
                .map(|(at, pairs)| (at, pairs.into_iter().map(|p| p.replacement).collect()))
        };
        assert_eq!(
            names("sk.re"),
            Some((3, vec!["recv(".to_string(), "recvfrom(".to_string()]))
        );
        assert_eq!(
            names("x = socket.htons"),
            Some((11, vec!["htons(".to_string()]))
        );
        // A host name or a path is no Python call.
        assert_eq!(names("connect k localhost."), None);
        assert_eq!(names("bind x ./app.s"), None);
        // A character of several bytes before the dot (the crash found in
        // review: `print('é.` Tab).
        for line in ["print('é.", "sk.send('café.", "é.", "ü.re", "'ß'.x"] {
            let _ = names(line);
        }
    }

    #[test]
    fn the_hint_follows_the_arguments() {
        let bind = spec::lookup("bind").expect("bind");
        assert_eq!(arg_position(bind, "bind "), (0, false));
        assert_eq!(arg_position(bind, "bind s "), (1, false));
        assert_eq!(arg_position(bind, "bind s 127.0.0.1 "), (1, true));
        assert_eq!(arg_position(bind, "bind s 127.0.0.1:80 "), (2, false));
        assert_eq!(arg_position(bind, "bind s ./x.sock "), (2, false));
        let so = spec::lookup("setsockopt").expect("setsockopt");
        assert_eq!(arg_position(so, "setsockopt s SOL_SOCKET "), (1, false));
        assert_eq!(
            arg_position(so, "setsockopt s SOL_SOCKET SO_REUSEADDR "),
            (2, false)
        );
        let st = spec::lookup("sendto").expect("sendto");
        assert_eq!(
            arg_position(st, "x = sendto u b\"hi\" localhost "),
            (2, true)
        );
    }

    #[test]
    fn completion_knows_the_peers() {
        let names = Names {
            peers: vec!["2".into()],
            all_peers: vec!["1".into(), "2".into()],
            ..Names::default()
        };
        let h = ShellHelper::new(Arc::new(Mutex::new(names)), false);
        assert_eq!(
            h.candidates(Some("serve"), 0),
            ["echo", "discard", "daytime", "chat", "http"]
        );
        assert_eq!(h.candidates(Some("peers"), 0), ["log"]);
        assert_eq!(h.candidates(Some("peers"), 1), ["1", "2"]);
        assert_eq!(h.candidates(Some("stop"), 0), ["2", "all"]);
    }

    #[test]
    fn completion_after_on_host_leaves_out_what_runs_in_sockplay_itself() {
        let h = ShellHelper::new(Arc::new(Mutex::new(Names::default())), false);
        assert!(h.candidates(None, 0).contains(&"lab".to_string()));
        if let Ok(mut o) = h.on_host.lock() {
            *o = true;
        }
        let v = h.candidates(None, 0);
        for w in ["lab", "on", "quit", "export", "record", "lesson", "source"] {
            assert!(!v.contains(&w.to_string()), "{w}");
        }
        for w in ["socket", "serve", "gethostname", "connect"] {
            assert!(v.contains(&w.to_string()), "{w}");
        }
    }

    #[test]
    fn completion_after_lab_net_follows_the_words_before() {
        let names = Names {
            hosts: vec!["a".into(), "b".into()],
            ..Names::default()
        };
        let h = ShellHelper::new(Arc::new(Mutex::new(names)), false);
        let after = |prev: &str| {
            if let Ok(mut k) = h.set_key.lock() {
                *k = prev.to_string();
            }
            h.candidates(Some("lab"), 1)
        };
        assert_eq!(after("net")[..2], ["a", "b"]);
        assert!(after("net").contains(&"loss".to_string()));
        // After a host: its faults (no host again).
        let v = after("a");
        assert!(v.contains(&"loss".to_string()) && v.contains(&"clear".to_string()));
        assert!(!v.contains(&"b".to_string()), "{v:?}");
        // After a fault: its value, nothing to offer.
        assert!(after("loss").is_empty());
        assert!(after("delay").is_empty());
        // After a value: the other faults.
        let v = after("30%");
        assert!(v.contains(&"delay".to_string()) && !v.contains(&"clear".to_string()));
        if let Ok(mut u) = h.lab_up.lock() {
            *u = true;
        }
        assert!(after("up").is_empty());
        assert!(after("c").is_empty(), "lab up c ...: names of one's own");
    }

    #[test]
    fn highlight_keeps_the_text() {
        colored::control::set_override(true);
        let h = highlight_line("c = accept s # wait");
        colored::control::unset_override();
        let plain: String = strip_ansi(&h);
        assert_eq!(plain, "c = accept s # wait");
        assert!(h.contains("\u{1b}["));
    }

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut in_esc = false;
        for c in s.chars() {
            if in_esc {
                if c.is_ascii_alphabetic() {
                    in_esc = false;
                }
            } else if c == '\u{1b}' {
                in_esc = true;
            } else {
                out.push(c);
            }
        }
        out
    }
}

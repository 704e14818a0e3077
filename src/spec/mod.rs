//! The one table of commands.
//!
//! Every command of the shell is described once here: its name, aliases,
//! arguments (with their kinds), a one-line help and the Python call it
//! mirrors. The parser reads the argument kinds to know what to parse, `help`
//! prints the usage and summary, the line editor completes names and option
//! words from it and shows the usage as a hint, and did-you-mean suggestions
//! are computed against its names. Adding a command starts here.
//!
//! Here the types, the word lists and the code that reads the table;
//! `commands.rs` the table's rows, `options.rs` the socket options.

mod commands;
mod options;

pub use commands::SPECS;
pub use options::{LEVELS, OPTIONS, OptKind, OptSpec, level, level_name, option};

use ArgKind as K;

/// Which command a statement runs. The parser maps the command word to one
/// of these through [`SPECS`]; the builder then turns its arguments into an
/// [`crate::syntax::ast::Command`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cmd {
    Socket,
    Bind,
    Listen,
    Accept,
    Connect,
    Send,
    SendAll,
    Recv,
    SendTo,
    RecvFrom,
    SendFile,
    RecvFile,
    Close,
    Shutdown,
    SetSockOpt,
    GetSockOpt,
    GetSockName,
    GetPeerName,
    Fileno,
    Family,
    Type,
    SetBlocking,
    SetTimeout,
    GetTimeout,
    Sockets,
    Info,
    GetHostName,
    GetHostByName,
    GetHostByNameEx,
    GetHostByAddr,
    GetAddrInfo,
    GetFqdn,
    InetAton,
    InetNtoa,
    InetPton,
    InetNtop,
    GetServByName,
    GetServByPort,
    Htons,
    Ntohs,
    Htonl,
    Ntohl,
    Help,
    Echo,
    Sleep,
    Quit,
    Set,
    Vars,
    Unlink,
    Jobs,
    Wait,
    Kill,
    Select,
    Poll,
    SendMsg,
    RecvMsg,
    States,
    Diagram,
    Join,
    Leave,
    Serve,
    Peers,
    Stop,
    Source,
    Step,
    Lesson,
    Expect,
    MacDef,
    Run,
    Input,
    RecvUntil,
    RecvLine,
    RecvN,
    RecvAll,
    Log,
    Interactive,
    SocketPair,
    Dup,
    GetNameInfo,
    GetProtoByName,
    Epoll,
    C10k,
    Export,
    Record,
    Lab,
    On,
    Clear,
    Reset,
}

/// What one argument position accepts. The parser has one routine per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// A socket: its name, its fd number, or `.` for the last one used.
    Sock,
    /// An address: `host port`, `host:port`, `[v6]:port`, `* port`, a UNIX
    /// path, `@abstract`, or one word (a variable or a socket's address).
    Addr,
    /// Data: `"text"`, `b"bytes"`, `x"hex"`, numbers, `*` repetition, `+`
    /// concatenation; a bare word is a variable.
    Data,
    /// A number (int or float), `none`, or a variable.
    Number,
    /// `true/false/on/off/yes/no/1/0`.
    Bool,
    /// Literal text: a bare word is taken as written (a host name), a quoted
    /// string as its contents.
    Text,
    /// The family/type words of `socket` (zero to two of them).
    SockSpec,
    /// An address family word (`inet`, `AF_INET6`...).
    Family,
    /// `read | write | both` (or SHUT_RD, SHUT_WR, SHUT_RDWR, 0, 1, 2).
    How,
    /// An optional level word (SOL_SOCKET, IPPROTO_TCP...) followed by an
    /// option name (SO_REUSEADDR...).
    LevelOpt,
    /// Zero or more send flags (`oob`, `dontwait`...).
    SendFlags,
    /// Zero or more recv flags and a view (`peek`, `waitall`, `hex`...).
    RecvFlags,
    /// A command name (for `help`).
    Topic,
    /// A setting name (for `set`).
    SetKey,
    /// Any number of values, to the end of the statement.
    Values,
    /// Zero or more jobs: `%1` or `1`.
    Jobs,
    /// Sockets in groups (`read s k write c`) and a trailing timeout, for
    /// select and poll.
    Groups,
    /// `framed` (the default) or `marker DATA`.
    Framing,
    /// What a built-in peer does: one of [`PEER_KINDS`].
    PeerKind,
    /// The address of a built-in peer: written as for [`ArgKind::Addr`],
    /// but a port alone means 127.0.0.1 (`*` and `""` mean every address).
    PeerAddr,
    /// `log` after `peers`: one of [`PEERS_VIEWS`].
    PeersView,
    /// What `expect` checks: `"text"`, `/regex/`, `error [NAME]` or
    /// `state SOCK STATE`.
    Expectation,
    /// A macro's name (for `macdef`).
    MacroName,
    /// How `lesson N` runs: one of [`LESSON_MODES`].
    LessonMode,
    /// A file's path: a bare token taken as written (`./big.bin`), or a
    /// quoted string; completed from the file system.
    Path,
    /// A command line to the end of the statement: words as written, or
    /// quoted strings (with escapes); completed from the file system.
    Argv,
    /// One job: `%1` or `1`.
    Job,
    /// The words after `recvuntil`, `recvline`, `recvn`, `recvall`: `drop`,
    /// `timeout SECONDS`, a view (hex, repr, text).
    UntilOpts,
    /// How `log` writes: `hex` or `text`.
    LogView,
    /// How `interactive` ends the lines it sends: `crlf` or `lf`.
    LineEnd,
    /// After `epoll`: nothing (create), or the instance's name and an
    /// operation (add, mod, del, wait, close) with its socket and events.
    EpollOp,
    /// What `states` and `diagram` show: `[sock] [absolute] [save FILE]`.
    WireView,
    /// Zero or more words of [`file_flags`] (`split`, `force`).
    FileFlags,
    /// What `lab` does: nothing (show), `up NAMES`, `down`, `net [HOST]
    /// SETTINGS` or `net [HOST] clear`.
    Lab,
    /// A lab host's name.
    Host,
    /// A whole statement (after `on HOST`).
    Statement,
}

/// One argument of a command.
#[derive(Clone, Copy, Debug)]
pub struct ArgSpec {
    pub name: &'static str,
    pub kind: ArgKind,
    pub optional: bool,
}

/// One command of the shell.
#[derive(Debug)]
pub struct CmdSpec {
    pub cmd: Cmd,
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub args: &'static [ArgSpec],
    /// A short description for `help` and the hint.
    pub summary: &'static str,
    /// More for `help NAME` (may be empty).
    pub details: &'static str,
    /// The Python this command mirrors, as a template: `help NAME` shows it
    /// with each hole's example, and `export` (src/export) writes it with
    /// the statement's own values. It is the one place a command's Python
    /// form is written down.
    ///
    /// A hole is `{name}` or `{name:example}`: `{sock:s}` is the socket,
    /// `{addr:('0.0.0.0', 9900)}` the address, and so on; `{ret:c, addr}`
    /// stands for the names the call binds, and `{tmp:n}` for a helper
    /// name. A hole with no example (`{flags}`) is empty in `help`. Lines
    /// are separated by `\n`; a line starting with `[variant] ` belongs to
    /// another form of the command (`[discard]` for `recv c discard`), the
    /// others to its main form. Empty: the command has no Python form (a
    /// view of the shell's own, such as `sockets`).
    pub python: &'static str,
    /// Which part of the shell's help this belongs to.
    pub group: Group,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Calls,
    Options,
    Names,
    Jobs,
    Peers,
    Scripts,
    Shell,
    Lab,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Calls => "Socket calls",
            Group::Options => "Socket state and options",
            Group::Names => "Names, addresses and byte order",
            Group::Jobs => "Waiting on several sockets, and background jobs",
            Group::Peers => "Built-in peers",
            Group::Scripts => "Scripts and lessons",
            Group::Shell => "The shell",
            Group::Lab => "The lab: hosts, and a network that loses, delays and reorders",
        }
    }
}

/// The words after `recvuntil`, `recvline`, `recvn` and `recvall`.
pub static UNTIL_WORDS: &[&str] = &["drop", "timeout", "hex", "repr", "text"];

/// The words `export` and `record` take after the file.
pub fn file_flags(cmd: Cmd) -> &'static [&'static str] {
    match cmd {
        Cmd::Export => &["split", "force"],
        Cmd::Record => &["force"],
        _ => &[],
    }
}

/// The settings `set` knows, with their allowed values (empty = any).
pub static SETTINGS: &[(&str, &[&str], &str)] = &[
    (
        "display",
        &["repr", "hex", "text"],
        "how received bytes are shown",
    ),
    (
        "color",
        &["auto", "always", "never"],
        "colour in the output",
    ),
    (
        "explain",
        &["on", "off"],
        "explain the classic moments the first time they happen",
    ),
    (
        "write",
        &["here", "replace"],
        "where scripts and lessons may write files: here (new files under the current directory, the default), replace (they may replace files too), or a directory to allow; only at the prompt",
    ),
    (
        "lab",
        &["on"],
        "a network of the shell's own, where `states` may capture without root (before the first socket)",
    ),
];

/// Family words accepted after `socket` and by `inet_pton`.
pub static FAMILY_WORDS: &[&str] = &["inet", "inet6", "unix", "AF_INET", "AF_INET6", "AF_UNIX"];
/// Type words accepted after `socket`.
pub static TYPE_WORDS: &[&str] = &[
    "stream",
    "dgram",
    "seqpacket",
    "raw",
    "SOCK_STREAM",
    "SOCK_DGRAM",
    "SOCK_SEQPACKET",
    "SOCK_RAW",
];
/// One-word shorthands for a family and a type together.
pub static SHORTHANDS: &[&str] = &[
    "tcp",
    "udp",
    "tcp6",
    "udp6",
    "unix-dgram",
    "unix-stream",
    "unix-seqpacket",
];
/// Protocol words after a type (`socket raw icmp`).
pub static PROTOCOL_WORDS: &[&str] = &["icmp", "igmp", "tcp", "udp", "icmpv6", "raw", "sctp"];
pub static HOW_WORDS: &[&str] = &["read", "write", "both", "SHUT_RD", "SHUT_WR", "SHUT_RDWR"];
pub static SEND_FLAG_WORDS: &[&str] = &["oob", "dontwait", "nosignal", "more"];
pub static RECV_FLAG_WORDS: &[&str] = &[
    "peek", "waitall", "oob", "dontwait", "hex", "repr", "text", "discard",
];
/// Whether `w` is one of `words`, or Python's name for it (`MSG_PEEK`,
/// `socket.MSG_PEEK` for `peek`).
pub fn is_flag_word(w: &str, words: &[&str]) -> bool {
    let w = w.strip_prefix("socket.").unwrap_or(w);
    let w = match w.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("msg_") => &w[4..],
        _ => w,
    };
    words.iter().any(|f| f.eq_ignore_ascii_case(w))
}
/// `recv c discard`: read to the end of the stream and drop the bytes.
pub const DISCARD: &str = "discard";
/// The data form `zeros SIZE` (zero bytes, made as they are sent).
pub const ZEROS: &str = "zeros";
/// The kinds of built-in peer `serve` starts.
pub static PEER_KINDS: &[&str] = &["echo", "discard", "daytime", "chat", "http"];
/// The words after `peers`.
pub static PEERS_VIEWS: &[&str] = &["log"];
/// The words after `states` and `diagram` (besides a socket).
pub static WIRE_WORDS: &[&str] = &["absolute", "save"];
/// How `lesson N` runs.
pub static LESSON_MODES: &[&str] = &["step", "check"];
/// The words after `lab`.
pub static LAB_WORDS: &[&str] = &["up", "down", "net"];
/// The faults of `lab net` (and `clear`).
pub static NET_WORDS: &[&str] = &[
    "loss",
    "delay",
    "jitter",
    "reorder",
    "duplicate",
    "rate",
    "clear",
];
/// The kinds of `expect`.
pub static EXPECT_WORDS: &[&str] = &["error", "state"];
pub static BOOL_WORDS: &[&str] = &["true", "false", "on", "off", "yes", "no"];

/// The spec of a command word or alias (case-insensitive).
pub fn lookup(word: &str) -> Option<&'static CmdSpec> {
    SPECS.iter().find(|s| {
        s.name.eq_ignore_ascii_case(word) || s.aliases.iter().any(|a| a.eq_ignore_ascii_case(word))
    })
}

/// The spec of a command.
pub fn spec_of(cmd: Cmd) -> &'static CmdSpec {
    // Every Cmd has exactly one row; the test below checks it.
    SPECS.iter().find(|s| s.cmd == cmd).unwrap_or(&SPECS[0])
}

impl CmdSpec {
    /// `bind SOCK ADDR`, with optional arguments in brackets.
    pub fn usage(&self) -> String {
        let mut out = String::from(self.name);
        for a in self.args {
            if a.kind == K::WireView {
                out.push_str(" [sock] [absolute] [save FILE]");
                continue;
            }
            let name = match a.kind {
                K::LevelOpt => "[level] option".to_string(),
                K::Values if !a.optional => format!("{}...", a.name),
                _ => a.name.to_string(),
            };
            if a.optional {
                out.push_str(&format!(" [{name}]"));
            } else {
                out.push(' ');
                out.push_str(&name);
            }
        }
        out
    }
}

impl CmdSpec {
    /// The lines of one form of [`CmdSpec::python`]: the main form
    /// (`None`), or a variant (`Some("discard")`), its `[variant] ` tags
    /// removed. Empty when there is no such form.
    pub fn python_form(&self, variant: Option<&str>) -> Vec<&'static str> {
        self.python
            .lines()
            .filter(|l| !l.is_empty())
            .filter_map(|l| match (split_variant(l), variant) {
                ((None, line), None) => Some(line),
                ((Some(v), line), Some(want)) if v == want => Some(line),
                _ => None,
            })
            .collect()
    }

    /// The variants of the Python form, in order of first appearance.
    pub fn python_variants(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for l in self.python.lines() {
            if let (Some(v), _) = split_variant(l)
                && !out.contains(&v)
            {
                out.push(v);
            }
        }
        out
    }

    /// A form with each hole's example in it: what `help` shows.
    pub fn python_example(&self, variant: Option<&str>) -> Vec<String> {
        self.python_form(variant)
            .into_iter()
            .map(|l| fill_template(l, &mut |_, example| example.to_string()))
            .collect()
    }
}

/// `[discard] line` -> (Some("discard"), "line").
fn split_variant(line: &'static str) -> (Option<&'static str>, &'static str) {
    if let Some(rest) = line.strip_prefix('[')
        && let Some((tag, after)) = rest.split_once("] ")
    {
        return (Some(tag), after);
    }
    (None, line)
}

/// A template line with each hole replaced by `fill(name, example)`.
/// Text outside holes is kept as written; a `{` without its `}` too.
pub fn fill_template(line: &str, fill: &mut dyn FnMut(&str, &str) -> String) -> String {
    let mut out = String::with_capacity(line.len() + 16);
    let mut rest = line;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let hole = &after[..close];
        let (name, example) = hole.split_once(':').unwrap_or((hole, ""));
        out.push_str(&fill(name, example));
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Every word the shell knows as a command (names and aliases).
pub fn command_words() -> impl Iterator<Item = &'static str> {
    SPECS
        .iter()
        .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
}

/// Levenshtein distance, for did-you-mean.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(|c| c.to_lowercase()).collect();
    let b: Vec<char> = b.chars().flat_map(|c| c.to_lowercase()).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The nearest word among `candidates`, if it is near enough to be a typo
/// (a swapped pair like `bnid` counts as near).
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = match word.chars().count() {
        // A one-letter name is as near to every other: no guess.
        0..=1 => 0,
        2 => 1,
        3..=5 => 2,
        _ => 3,
    };
    // The distance is at least the difference in length: a candidate
    // too long or too short is skipped without the O(len²) table, so a
    // 1 MiB word costs one pass, not one table per command.
    let len = |s: &str| s.chars().flat_map(char::to_lowercase).count();
    let n = len(word);
    candidates
        .into_iter()
        .filter(|c| len(c).abs_diff(n) <= limit)
        .map(|c| (distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_one_row_and_unique_words() {
        let mut seen = std::collections::HashSet::new();
        for w in command_words() {
            assert!(seen.insert(w.to_ascii_lowercase()), "duplicate word {w}");
        }
        for s in SPECS {
            assert_eq!(SPECS.iter().filter(|t| t.cmd == s.cmd).count(), 1);
            assert_eq!(spec_of(s.cmd).name, s.name);
        }
    }

    #[test]
    fn lookup_is_case_insensitive_and_knows_aliases() {
        assert_eq!(lookup("BIND").map(|s| s.cmd), Some(Cmd::Bind));
        assert_eq!(lookup("ls").map(|s| s.cmd), Some(Cmd::Sockets));
        assert_eq!(lookup("=").map(|s| s.cmd), Some(Cmd::Sockets));
        assert!(lookup("bnid").is_none());
    }

    #[test]
    fn nearest_finds_typos() {
        assert_eq!(nearest("bnid", command_words()), Some("bind"));
        assert_eq!(nearest("recieve", ["recv", "recvfrom"]), Some("recv"));
        assert_eq!(nearest("xyzzy", command_words()), None);
        assert_eq!(nearest("acept", command_words()), Some("accept"));
        assert_eq!(nearest("lisen", command_words()), Some("listen"));
        assert_eq!(
            nearest("SO_REUSEADR", OPTIONS.iter().map(|o| o.name)),
            Some("SO_REUSEADDR")
        );
        assert_eq!(option("so_rcvbuf").map(|o| o.number), Some(libc::SO_RCVBUF));
        assert_eq!(level("SOL_TCP"), Some(libc::IPPROTO_TCP));
    }

    #[test]
    fn a_huge_word_is_near_nothing() {
        // A 1 MiB word (a pasted blob): no command is near, and no
        // distance table is built for it (it once took 47 s in debug).
        let word = "x".repeat(1 << 20);
        assert_eq!(nearest(&word, command_words()), None);
        assert_eq!(nearest(&format!("{word}bind"), ["bind"]), None);
    }

    #[test]
    fn the_reference_describes_every_command_and_option() {
        let doc = include_str!("../../docs/commands.md");
        for s in SPECS {
            assert!(
                doc.contains(&format!("`{}", s.name)),
                "docs/commands.md lacks `{}`",
                s.name
            );
            for a in s.aliases {
                assert!(
                    doc.contains(&format!("`{a}`")),
                    "docs/commands.md lacks alias `{a}`"
                );
            }
        }
        for o in OPTIONS {
            assert!(doc.contains(o.name), "docs/commands.md lacks {}", o.name);
        }
    }

    #[test]
    fn python_templates_fill_their_examples() {
        assert_eq!(
            spec_of(Cmd::Bind).python_example(None),
            vec!["s.bind(('0.0.0.0', 9900))"]
        );
        assert_eq!(
            spec_of(Cmd::Accept).python_example(None),
            vec!["c, addr = s.accept()"]
        );
        assert_eq!(
            spec_of(Cmd::Recv).python_example(None),
            vec!["data = c.recv(1024)"]
        );
        assert_eq!(
            spec_of(Cmd::Recv).python_variants(),
            vec!["discard", "discard limit"]
        );
        assert_eq!(
            spec_of(Cmd::Recv).python_example(Some("discard")),
            vec!["while c.recv(65536): pass"]
        );
        assert!(spec_of(Cmd::Sockets).python_form(None).is_empty());
        let mut seen = Vec::new();
        let line = fill_template("{sock:s}.send({data}{flags}) {x", &mut |n, e| {
            seen.push((n.to_string(), e.to_string()));
            n.to_uppercase()
        });
        assert_eq!(line, "SOCK.send(DATAFLAGS) {x");
        assert_eq!(seen[0], ("sock".to_string(), "s".to_string()));
    }

    #[test]
    fn every_socket_argument_has_its_hole() {
        // A command on a socket whose Python form names no socket could
        // only be exported as the example's own names.
        for s in SPECS {
            if s.python.is_empty() || !s.args.iter().any(|a| a.kind == K::Sock && !a.optional) {
                continue;
            }
            let mut forms = vec![None];
            forms.extend(s.python_variants().into_iter().map(Some));
            for v in forms {
                let form = s.python_form(v).join("\n");
                assert!(form.contains("{sock"), "{} {v:?}: no {{sock}} hole", s.name);
            }
        }
    }

    #[test]
    fn usage_marks_optional_arguments() {
        assert_eq!(spec_of(Cmd::Bind).usage(), "bind sock addr");
        assert_eq!(spec_of(Cmd::Listen).usage(), "listen sock [backlog]");
        assert_eq!(
            spec_of(Cmd::SetSockOpt).usage(),
            "setsockopt sock [level] option value..."
        );
    }
}

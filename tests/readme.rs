//! README.md's transcripts, replayed through the real binary: README can
//! never say what sockplay does not print.
//!
//! # The convention (also at the top of README.md)
//!
//! - A fenced code block with a line starting `sockplay> ` is a transcript
//!   of the interactive shell. Each `sockplay> COMMAND` line is typed into a
//!   real shell (in a pseudo-terminal, as a person types, after the prompt
//!   shows); the lines under it, up to the next `sockplay> `, are what the
//!   terminal must show. The block starts with a `sockplay> ` line.
//! - Each block is a fresh shell (its first socket is fd 3), unless the line
//!   before its fence is `<!-- transcript continues -->`: then it goes on in
//!   the shell of the block before (same sockets, same names).
//! - A block that cannot be replayed (it needs a real peer in another
//!   terminal, a file, a lesson's step mode) says why on the line before its
//!   fence: `<!-- transcript not checked: WHY -->`. Nothing else skips a
//!   block: a new transcript is checked without anyone adding it here.
//! - A line `^C` in the output is Ctrl-C: it is pressed when everything
//!   above it is on the screen (a call is waiting).
//! - What varies from run to run matches by itself, so README can show real
//!   values:
//!   * a port after an address (`127.0.0.1:51574`, `127.0.0.1 9900`,
//!     `('127.0.0.1', 51574)`, `port 41655`) is a placeholder: the first time
//!     a number appears it takes the port the kernel chose, and the same
//!     number must then be the same port everywhere in the session (and two
//!     numbers two ports). A port a command names (`bind s 127.0.0.1 9900`)
//!     is replaced by a free port the kernel picks, everywhere in the
//!     session, so the test never collides with anything on 9900;
//!   * a duration (`5.3 ms`, `804 µs`, `1.01 s`) and a rate (`2078.4 MB/s`);
//!   * FIN_WAIT1 and FIN_WAIT2 (which one depends on when an ACK comes);
//!   * a run of blanks inside a line matches any run of blanks (a longer
//!     port shifts a table's columns).
//! - For anything else that varies, snapbox's wildcards: `[..]` inside a
//!   line matches any text, and a line `...` any number of lines.
//!
//! A failure names the README line, and shows the block as expected and
//! the screen as it was.

mod common;

use common::screen::Screen;
use regex::Regex;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

const PROMPT: &str = "sockplay> ";
/// How long one command may take to show what README says.
const STEP_LIMIT: Duration = Duration::from_secs(20);
/// A person does not type the next command the instant the prompt shows:
/// a built-in peer's answer is in by then.
const TYPING_PAUSE: Duration = Duration::from_millis(50);

const CONTINUES: &str = "<!-- transcript continues -->";
const NOT_CHECKED: &str = "<!-- transcript not checked:";

/// One fenced code block of README.
#[derive(Debug)]
struct Block {
    /// The README line (from 1) of its first line inside the fence.
    first_line: usize,
    lines: Vec<String>,
    /// The line before the fence, when it is a `<!-- transcript` marker.
    marker: Option<String>,
}

impl Block {
    fn is_transcript(&self) -> bool {
        self.lines.iter().any(|l| l.starts_with(PROMPT))
    }
}

/// The fenced code blocks of a markdown text.
fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut k = 0;
    while k < lines.len() {
        let fence = lines[k].trim_start();
        if !fence.starts_with("```") {
            k += 1;
            continue;
        }
        let marker = lines[..k]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim())
            .filter(|l| l.starts_with("<!-- transcript"))
            .map(str::to_string);
        let start = k + 1;
        let mut end = start;
        while end < lines.len() && !lines[end].trim_start().starts_with("```") {
            end += 1;
        }
        out.push(Block {
            first_line: start + 1,
            lines: lines[start..end.min(lines.len())]
                .iter()
                .map(|l| l.to_string())
                .collect(),
            marker,
        });
        k = end + 1;
    }
    out
}

/// One command of a transcript and what it shows.
#[derive(Clone, Debug)]
struct Step {
    /// The README line of the command.
    line: usize,
    command: String,
    /// The lines after it, up to the next command.
    output: Vec<String>,
}

fn steps(block: &Block) -> Result<Vec<Step>, String> {
    let mut steps: Vec<Step> = Vec::new();
    for (k, l) in block.lines.iter().enumerate() {
        let line = block.first_line + k;
        if let Some(cmd) = l.strip_prefix(PROMPT) {
            steps.push(Step {
                line,
                command: cmd.to_string(),
                output: Vec::new(),
            });
        } else if let Some(s) = steps.last_mut() {
            s.output.push(l.clone());
        } else if !l.trim().is_empty() {
            return Err(format!(
                "README.md:{line}: a transcript starts with a `{PROMPT}` line (or say why it is \
                 not checked: `{NOT_CHECKED} WHY -->` before its fence)"
            ));
        }
    }
    // Blank lines at the end of a block are the markdown's, not the output's.
    if let Some(s) = steps.last_mut() {
        while s.output.last().is_some_and(|l| l.trim().is_empty()) {
            s.output.pop();
        }
    }
    Ok(steps)
}

/// The ports README writes, and the ports they stand for in this run.
#[derive(Clone, Debug, Default)]
struct Ports {
    map: HashMap<String, String>,
}

impl Ports {
    /// Binds README's `written` to the run's `actual`; false when either is
    /// bound to another already.
    fn bind(&mut self, written: &str, actual: &str) -> bool {
        match self.map.get(written) {
            Some(a) => a == actual,
            None => {
                if self.map.values().any(|a| a == actual) {
                    return false;
                }
                self.map.insert(written.to_string(), actual.to_string());
                true
            }
        }
    }
}

/// A free port, chosen by the kernel.
fn free_port() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port().to_string())
        .expect("a free port")
}

/// What comes right before a port: an IPv4 address or `localhost` and `:`
/// or a blank, `]:` (IPv6), `', ` (a Python tuple), `port `.
fn port_before() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?:(?:\d{1,3}\.){3}\d{1,3}|localhost)[: ]$|\]:$|', $|port $").expect("regex")
    })
}

/// The number at the start of `rest`, and whether it is a port (nonzero,
/// after `before`).
fn number_at<'a>(before: &str, rest: &'a str) -> Option<(&'a str, bool)> {
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    // Part of a longer word or number (`fd3`, `1.5`): not a number alone.
    if before
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
    {
        return Some((&rest[..digits], false));
    }
    let n = &rest[..digits];
    let port = n != "0" && digits <= 5 && port_before().is_match(before);
    Some((n, port))
}

/// A command as typed in this run: each port it names replaced by the
/// port it stands for (a free one the first time).
fn typed(command: &str, ports: &mut Ports) -> String {
    let mut out = String::new();
    let mut k = 0;
    while k < command.len() {
        let rest = &command[k..];
        if let Some((n, port)) = number_at(&command[..k], rest) {
            if port {
                if !ports.map.contains_key(n) {
                    let mut p = free_port();
                    while ports.map.values().any(|a| *a == p) {
                        p = free_port();
                    }
                    ports.map.insert(n.to_string(), p);
                }
                out.push_str(&ports.map[n]);
            } else {
                out.push_str(n);
            }
            k += n.len();
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        k += c.len_utf8();
    }
    out
}

/// An expected line as a regex: the varying parts as patterns, each port
/// not bound yet as a group (with the README number it stands for).
fn line_pattern(expected: &str, ports: &Ports) -> (Regex, Vec<String>) {
    static TOKENS: std::sync::OnceLock<[Regex; 4]> = std::sync::OnceLock::new();
    let [rate, time, fin, blanks] = TOKENS.get_or_init(|| {
        [
            Regex::new(r"^\d+(?:\.\d+)? MB/s").expect("regex"),
            Regex::new(r"^\d+(?:\.\d+)? (?:ms|µs|s)\b").expect("regex"),
            Regex::new(r"^FIN_WAIT[12]").expect("regex"),
            Regex::new(r"^  +").expect("regex"),
        ]
    });
    let mut re = String::from("^");
    let mut groups = Vec::new();
    let mut k = 0;
    let line = expected.trim_end();
    while k < line.len() {
        let rest = &line[k..];
        let at_word = !line[..k]
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.');
        if rest.starts_with("[..]") {
            re.push_str(".*?");
            k += 4;
        } else if let Some(m) = rate.find(rest).filter(|_| at_word) {
            re.push_str(r"\d+(?:\.\d+)? MB/s");
            k += m.end();
        } else if let Some(m) = time.find(rest).filter(|_| at_word) {
            re.push_str(r"\d+(?:\.\d+)? (?:ms|µs|s)");
            k += m.end();
        } else if let Some(m) = fin.find(rest) {
            re.push_str("FIN_WAIT[12]");
            k += m.end();
        } else if let Some(m) = blanks.find(rest).filter(|_| k > 0) {
            // Not the indent: a table's padding.
            re.push_str(" +");
            k += m.end();
        } else if let Some((n, port)) = number_at(&line[..k], rest) {
            match (port, ports.map.get(n)) {
                (true, Some(actual)) => re.push_str(&regex::escape(actual)),
                // A group for each place (the same number twice in a line
                // is checked to be the same port when it is bound).
                (true, None) => {
                    re.push_str(r"(\d{1,5})");
                    groups.push(n.to_string());
                }
                (false, _) => re.push_str(n),
            }
            k += n.len();
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            re.push_str(&regex::escape(&c.to_string()));
            k += c.len_utf8();
        }
    }
    re.push('$');
    (Regex::new(&re).expect("a line's pattern"), groups)
}

/// Whether `actual` is what `expected` says, the ports bound on the way.
fn line_matches(expected: &str, actual: &str, ports: &mut Ports) -> bool {
    let (re, groups) = line_pattern(expected, ports);
    let Some(caps) = re.captures(actual.trim_end()) else {
        return false;
    };
    let mut bound = ports.clone();
    let mut values = caps.iter().skip(1).flatten();
    for g in &groups {
        let Some(v) = values.next() else {
            return false;
        };
        if !bound.bind(g, v.as_str()) {
            return false;
        }
    }
    *ports = bound;
    true
}

/// Whether the screen's `actual` lines are the `expected` ones (`...` any
/// lines); the ports bound on the way when they are.
fn lines_match(expected: &[String], actual: &[String], ports: &mut Ports) -> bool {
    let Some((first, rest)) = expected.split_first() else {
        return actual.is_empty();
    };
    if first.trim() == "..." {
        for k in 0..=actual.len() {
            let mut p = ports.clone();
            if lines_match(rest, &actual[k..], &mut p) {
                *ports = p;
                return true;
            }
        }
        return false;
    }
    let Some((a, arest)) = actual.split_first() else {
        return false;
    };
    let mut p = ports.clone();
    if line_matches(first, a, &mut p) && lines_match(rest, arest, &mut p) {
        *ports = p;
        return true;
    }
    false
}

/// A shell session: one or more blocks, one after another.
struct Session<'a> {
    blocks: Vec<&'a Block>,
}

/// The screen's transcript after the banner: its lines up to the last one
/// drawn, without the blank rows below.
fn transcript(lines: &[String], from: usize) -> Vec<String> {
    let mut v: Vec<String> = lines.get(from..).unwrap_or(&[]).to_vec();
    while v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

/// The transcript when the shell waits at an empty prompt: the lines above
/// that prompt.
fn at_prompt(lines: &[String], from: usize) -> Option<Vec<String>> {
    let mut v = transcript(lines, from);
    (v.last().map(String::as_str) == Some(PROMPT.trim_end())).then(|| {
        v.pop();
        v
    })
}

fn show(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| format!("    | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first expected line (README line number) that the actual lines do
/// not match, read line by line, for the message.
fn first_difference(expected: &[(usize, String)], actual: &[String], ports: &Ports) -> String {
    let mut p = ports.clone();
    for (k, (no, e)) in expected.iter().enumerate() {
        if e.trim() == "..." {
            return format!("after README.md:{no} (`...`)");
        }
        match actual.get(k) {
            Some(a) if line_matches(e, a, &mut p) => {}
            Some(a) => return format!("README.md:{no}:\n    expected: {e}\n    got:      {a}"),
            None => return format!("README.md:{no}: expected {e:?}, the screen ends before it"),
        }
    }
    match actual.get(expected.len()) {
        Some(a) => format!("the screen goes on: {a:?}"),
        None => "(no single line differs: a wildcard or a port placeholder)".into(),
    }
}

impl Session<'_> {
    fn run(&self, dir: &Path) -> Result<(), String> {
        let mut cmd = std::process::Command::new(common::BIN);
        cmd.args(["--color", "never", "--no-rc"])
            .current_dir(dir)
            .env("TERM", "xterm")
            .env("NO_COLOR", "1")
            .env_remove("COLUMNS")
            .env_remove("LINES")
            .env("SOCKPLAY_HISTORY", dir.join(".history"))
            .env("SOCKPLAY_CONFIG_DIR", dir.join(".config"));
        let mut screen = Screen::start(cmd);
        let mut base = 0;
        let ready = screen.wait_until(STEP_LIMIT, |lines| {
            let t = transcript(lines, 0);
            if t.last().map(String::as_str) == Some(PROMPT.trim_end()) {
                base = t.len() - 1;
                true
            } else {
                false
            }
        });
        if !ready {
            return Err(format!(
                "the shell never showed its prompt:\n{}",
                show(&screen.lines())
            ));
        }
        let mut ports = Ports::default();
        // What the screen must show so far, with README's line numbers.
        let mut expected: Vec<(usize, String)> = Vec::new();
        let first = self.blocks[0].first_line;
        for block in &self.blocks {
            let steps = steps(block)?;
            for step in steps {
                let command = typed(&step.command, &mut ports);
                expected.push((step.line, format!("{PROMPT}{}", step.command)));
                std::thread::sleep(TYPING_PAUSE);
                screen.type_keys(&format!("{command}\r"));
                let mut out = step.output.iter().enumerate();
                for (k, l) in out.by_ref() {
                    if l.trim() == "^C" {
                        // Everything above it on the screen (the call
                        // waits), then Ctrl-C.
                        let want: Vec<String> = expected.iter().map(|e| e.1.clone()).collect();
                        let mut p = ports.clone();
                        let waiting = screen.wait_until(STEP_LIMIT, |lines| {
                            p = ports.clone();
                            lines_match(&want, &transcript(lines, base), &mut p)
                        });
                        if !waiting {
                            return Err(self.failure(&expected, &screen.lines(), base, &ports));
                        }
                        ports = p;
                        screen.type_keys("\x03");
                    }
                    expected.push((step.line + 1 + k, l.clone()));
                }
                let want: Vec<String> = expected.iter().map(|e| e.1.clone()).collect();
                let mut p = ports.clone();
                let shown = screen.wait_until(STEP_LIMIT, |lines| {
                    p = ports.clone();
                    at_prompt(lines, base).is_some_and(|t| lines_match(&want, &t, &mut p))
                });
                if !shown {
                    return Err(self.failure(&expected, &screen.lines(), base, &ports));
                }
                ports = p;
            }
        }
        // Ctrl-D at the prompt: the shell closes its sockets and ends.
        screen.type_keys("\x04");
        match screen.wait_exit(STEP_LIMIT) {
            Some(0) => Ok(()),
            other => Err(format!(
                "README.md:{first}: the shell did not end with status 0 after Ctrl-D: {other:?}"
            )),
        }
    }

    fn failure(
        &self,
        expected: &[(usize, String)],
        lines: &[String],
        base: usize,
        ports: &Ports,
    ) -> String {
        let actual = transcript(lines, base);
        let first = self.blocks[0].first_line;
        let mut subs: Vec<String> = ports
            .map
            .iter()
            .map(|(w, a)| format!("{w} -> {a}"))
            .collect();
        subs.sort();
        format!(
            "README.md:{first}: the transcript is not what sockplay shows (after {} seconds).\n\
             First difference: {}\n\
             Ports (README -> this run): {}\n\
             README says:\n{}\n\
             The terminal shows:\n{}",
            STEP_LIMIT.as_secs(),
            first_difference(expected, &actual, ports),
            subs.join(", "),
            show(&expected.iter().map(|e| e.1.clone()).collect::<Vec<_>>()),
            show(&actual)
        )
    }
}

/// README's blocks grouped into shell sessions; an error for a marker
/// that is not one of the two, or a block that cannot be replayed and does
/// not say why.
fn sessions(blocks: &[Block]) -> Result<Vec<Session<'_>>, String> {
    let mut out: Vec<Session<'_>> = Vec::new();
    let mut last_checked = false;
    for b in blocks {
        let marker = b.marker.as_deref();
        match marker {
            Some(m) if m.starts_with(NOT_CHECKED) => {
                let why = m[NOT_CHECKED.len()..].trim_end_matches("-->").trim();
                if why.is_empty() {
                    return Err(format!(
                        "README.md:{}: say why the block is not checked: `{NOT_CHECKED} WHY -->`",
                        b.first_line
                    ));
                }
                last_checked = false;
                continue;
            }
            Some(CONTINUES) => {}
            Some(m) => {
                return Err(format!(
                    "README.md:{}: unknown marker {m:?}: `{CONTINUES}` or `{NOT_CHECKED} WHY -->`",
                    b.first_line
                ));
            }
            None => {}
        }
        if !b.is_transcript() {
            if marker.is_some() {
                return Err(format!(
                    "README.md:{}: a transcript marker before a block with no `{PROMPT}` line",
                    b.first_line
                ));
            }
            continue;
        }
        steps(b)?;
        if marker == Some(CONTINUES) {
            match out.last_mut() {
                Some(s) if last_checked => s.blocks.push(b),
                _ => {
                    return Err(format!(
                        "README.md:{}: `{CONTINUES}`, but the block before is no checked transcript",
                        b.first_line
                    ));
                }
            }
        } else {
            out.push(Session { blocks: vec![b] });
        }
        last_checked = true;
    }
    Ok(out)
}

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    std::fs::read_to_string(path).expect("README.md")
}

#[test]
fn readme_transcripts_are_what_sockplay_prints() {
    let text = readme();
    let blocks = blocks(&text);
    let sessions = sessions(&blocks).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        sessions.len() >= 3,
        "README's tour, peers and Python lines are checked"
    );
    // The sessions run side by side, each in a directory of its own.
    let results: Vec<(usize, Result<(), String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = sessions
            .iter()
            .enumerate()
            .map(|(k, s)| {
                scope.spawn(move || {
                    let dir = common::Scratch::new(&format!("readme-{k}"));
                    (s.blocks[0].first_line, s.run(dir.path()))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or((0, Err("the session panicked".into()))))
            .collect()
    });
    let failures: Vec<String> = results.into_iter().filter_map(|(_, r)| r.err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_readme_explains_the_convention_at_its_top() {
    let text = readme();
    let head: String = text.lines().take(40).collect::<Vec<_>>().join("\n");
    for words in [CONTINUES, NOT_CHECKED, "[..]", "tests/readme.rs"] {
        assert!(head.contains(words), "README's top comment lacks {words:?}");
    }
}

#[test]
fn markers_and_blocks_are_read() {
    let text = "intro\n\n```\nsockplay> echo \"a\"\n  a\n```\n\n<!-- transcript continues -->\n```\nsockplay> echo \"b\"\n  b\n\n```\n\n<!-- transcript not checked: needs nc -->\n```\nsockplay> x\n```\n\n```sh\ncargo test\n```\n";
    let b = blocks(text);
    assert_eq!(b.len(), 4);
    assert_eq!(b[0].first_line, 4);
    assert_eq!(b[1].marker.as_deref(), Some(CONTINUES));
    let s = sessions(&b).expect("sessions");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].blocks.len(), 2);
    let st = steps(&b[1]).expect("steps");
    assert_eq!(st[0].output, vec!["  b".to_string()]);
    // A typo in a marker, a reason left out, an excerpt that starts
    // mid-way: each refused with its line.
    for bad in [
        "<!-- transcript continue -->\n```\nsockplay> x\n```\n",
        "<!-- transcript not checked: -->\n```\nsockplay> x\n```\n",
        "```\nStep 3: listen\nsockplay> listen s 5\n```\n",
    ] {
        let b = blocks(bad);
        let err = match sessions(&b) {
            Ok(_) => panic!("accepted: {bad:?}"),
            Err(e) => e,
        };
        assert!(err.starts_with("README.md:"), "{err}");
    }
}

#[test]
fn ports_times_and_wildcards_match_and_ports_stay_the_same() {
    let mut p = Ports::default();
    let cmd = typed("bind s 127.0.0.1 9900", &mut p);
    let port = p.map["9900"].clone();
    assert_eq!(cmd, format!("bind s 127.0.0.1 {port}"));
    assert_ne!(port, "9900");
    // Port 0 and other numbers stay as written.
    assert_eq!(
        typed("bind s 127.0.0.1 0; recv c 1024", &mut p),
        "bind s 127.0.0.1 0; recv c 1024"
    );
    assert_eq!(
        typed("sk.bind(('127.0.0.1', 9900))", &mut p),
        format!("sk.bind(('127.0.0.1', {port}))")
    );
    // A kernel port is bound the first time, then must stay the same.
    let e = "  connected k from 127.0.0.1:51574 to 127.0.0.1:9900 (ESTABLISHED)";
    let a = format!("  connected k from 127.0.0.1:40001 to 127.0.0.1:{port} (ESTABLISHED)");
    assert!(line_matches(e, &a, &mut p));
    assert!(line_matches(
        "  addr = ('127.0.0.1', 51574)",
        "  addr = ('127.0.0.1', 40001)",
        &mut p
    ));
    assert!(!line_matches(
        "  addr = ('127.0.0.1', 51574)",
        "  addr = ('127.0.0.1', 40002)",
        &mut p
    ));
    // Two README numbers are two ports.
    assert!(!line_matches(
        "  x 127.0.0.1:40123",
        "  x 127.0.0.1:40001",
        &mut p
    ));
    // Times, rates, FIN_WAIT, padding, [..].
    assert!(line_matches(
        "  [1] done after 5.3 ms: x",
        "  [1] done after 804 µs: x",
        &mut p
    ));
    assert!(line_matches(
        "  in 516.6 ms, 2078.4 MB/s",
        "  in 1.2 s, 9.1 MB/s",
        &mut p
    ));
    assert!(line_matches(
        "   -  k  FIN_WAIT2   -",
        "   -  k    FIN_WAIT1 -",
        &mut p
    ));
    assert!(line_matches(
        "  no [..] queued",
        "  no wait: 5 bytes were already queued",
        &mut p
    ));
    // What is written plainly must be there.
    assert!(!line_matches("  sent 5 bytes", "  sent 6 bytes", &mut p));
    assert!(!line_matches(
        "  c = <socket fd=5",
        "  c = <socket fd=7",
        &mut p
    ));
    let exp: Vec<String> = ["a", "...", "z"].map(String::from).to_vec();
    let act: Vec<String> = ["a", "b", "c", "z"].map(String::from).to_vec();
    assert!(lines_match(&exp, &act, &mut p));
    assert!(!lines_match(&exp, &act[..3], &mut p));
}

#[test]
fn the_screen_keeps_what_the_line_editor_leaves() {
    let lines = common::screen::render(
        "banner\r\n\x1b[?2004h\r\x1b[Ksockplay> \r\x1b[10Cbind\
         \x1b[?2026h\r\x1b[Ksockplay> bind sock addr   # hint\r\x1b[15C\
         \r\x1b[Ksockplay> bind s 0\r\x1b[18C\x1b[?2004l\r\n  bound\r\n\
         \x1b[32mgre\x1b[0men 粘包 x\r\n",
    );
    assert_eq!(
        lines,
        ["banner", "sockplay> bind s 0", "  bound", "green 粘包 x",]
    );
}

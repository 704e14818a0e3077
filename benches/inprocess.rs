//! `cargo bench`: what is timed inside the process (whole-process figures
//! are scripts/bench's, with hyperfine).
//!
//! - parser throughput: statements a second, a 10,000-line script of the
//!   course's statements parsed line by line as the shell does;
//! - scale: 10,000 live sockets (a UDP socket, a listener and 4,999
//!   connected pairs, all on 127.0.0.1): the time `sockets` takes, from
//!   the kernel calls to the text, and the peak memory of the real binary
//!   holding them.
//!
//! Each figure is the median of several runs. Lines `name: value unit` go
//! to stdout; with BENCH_JSON=FILE each figure is also appended to FILE as
//! one JSON object a line (scripts/bench reads them into BENCHMARKS.md).
//! Numbers are never checked against targets here: that is for people.

use sockplay::exec::{Item, Session, Sink};
use sockplay::syntax::parse_line;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// Drops what a statement reports (the scale set-up is not timed).
struct Null;

impl Sink for Null {
    fn emit(&mut self, _item: Item) {}
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn report(name: &str, value: f64, unit: &str, note: &str) {
    println!("{name}: {value:.3} {unit}  ({note})");
    if let Some(path) = std::env::var_os("BENCH_JSON")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        let _ = writeln!(
            f,
            "{{\"name\": \"{name}\", \"value\": {value}, \"unit\": \"{unit}\", \"note\": \"{note}\"}}"
        );
    }
}

/// The statements of a lesson, as a learner types them.
const LINES: &[&str] = &[
    "s = socket tcp",
    "setsockopt s SOL_SOCKET SO_REUSEADDR 1",
    "bind s 127.0.0.1 9900",
    "listen s 5",
    "c, addr = accept s",
    "k = socket inet stream",
    "connect k 127.0.0.1:9900",
    "send k b\"hello\\r\\n\"",
    "data = recv c 1024",
    "sendall c \"Receive your message\" * 3",
    "recv k 64 hex",
    "u = socket udp",
    "sendto u b\"\\x00\\x01hi\" 127.0.0.1 9999",
    "data, addr = recvfrom u 1024",
    "settimeout c 2.5",
    "shutdown k write",
    "close c ; close k",
    "send k zeros 1G",
    "r = recv c discard &",
    "gethostbyname localhost",
];

fn parser_throughput() {
    let lines: Vec<&str> = LINES.iter().copied().cycle().take(10_000).collect();
    let mut runs = Vec::new();
    for _ in 0..9 {
        let start = Instant::now();
        let mut n = 0usize;
        for l in &lines {
            match parse_line(l) {
                Ok(stmts) => n += stmts.len(),
                Err(e) => panic!("{l:?} does not parse: {e}"),
            }
        }
        let secs = start.elapsed().as_secs_f64();
        runs.push(n as f64 / secs);
    }
    report(
        "parser",
        median(runs),
        "statements/s",
        "10,000 lines of a lesson's statements, each parsed as the shell does, median of 9",
    );
}

/// Raises the soft descriptor limit to the hard one (10,000 sockets).
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: one rlimit we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// A UDP socket, a listener and 4,999 connected pairs: 10,000 sockets.
fn scale_script() -> String {
    let mut s = String::from("u = socket udp\ns = socket tcp\nbind s 127.0.0.1 0\nlisten s 4096\n");
    for _ in 0..4999 {
        s.push_str("k = socket tcp\nconnect k s\nc = accept s\n");
    }
    s
}

fn run(session: &mut Session, text: &str, out: &mut dyn Sink) {
    for line in text.lines() {
        let stmts = parse_line(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        for st in &stmts {
            if let Err(e) = session.run(st, line, out) {
                panic!("{line}: {e}");
            }
        }
    }
}

fn scale() {
    raise_fd_limit();
    // The real binary first, while this process is small: the kernel
    // counts in a child's peak (ru_maxrss) the memory of the process it was
    // spawned from (vfork shares it until exec), so measured after the
    // 10,000 sockets below it reported this process's peak (42 MiB), not
    // the child's (28 MiB).
    let dir = std::env::temp_dir().join(format!("sockplay-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("scale.sp");
    let mut script = scale_script();
    script.push_str("sockets\n");
    let written = std::fs::write(&path, script).is_ok();
    let mut peaks = Vec::new();
    let mut walls = Vec::new();
    for _ in 0..if written { 3 } else { 0 } {
        if let Some((wall, kb)) = child_peak(env!("CARGO_BIN_EXE_sockplay"), &path) {
            peaks.push(kb as f64 / 1024.0);
            walls.push(wall.as_secs_f64());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    report(
        "rss_10k",
        median(peaks),
        "MiB",
        "peak resident memory of `sockplay scale.sp`: 10,000 sockets made, then `sockets`, median of 3",
    );
    report(
        "scale_script",
        median(walls),
        "s",
        "that whole run: 15,004 statements and the table",
    );

    // In this process: `sockets` over 10,000 live sockets.
    colored::control::set_override(false);
    let mut session = Session::new(Arc::new(AtomicBool::new(false)));
    run(&mut session, &scale_script(), &mut Null);
    let n = session.table.len();
    let stmts = parse_line("sockets").unwrap_or_default();
    let mut runs = Vec::new();
    let mut bytes = 0;
    for _ in 0..9 {
        let start = Instant::now();
        let mut items: Vec<Item> = Vec::new();
        for st in &stmts {
            if let Err(e) = session.run(st, "sockets", &mut items) {
                panic!("sockets: {e}");
            }
        }
        let text: String = items.iter().map(sockplay::render::item).collect();
        bytes = text.len();
        runs.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    report(
        "sockets_10k",
        median(runs),
        "ms",
        &format!(
            "`sockets` with {n} live sockets: kernel calls, rows and {} KiB of text, median of 9",
            bytes / 1024
        ),
    );
    session.close_all(&mut Null);
}

/// Runs `bin script` and returns its wall time and peak RSS (KiB), from
/// wait4's rusage of that child (which includes this process's memory at
/// the spawn: see `scale`).
fn child_peak(bin: &str, script: &std::path::Path) -> Option<(Duration, i64)> {
    let start = Instant::now();
    let child = std::process::Command::new(bin)
        .args(["--color", "never", "--no-rc"])
        .arg(script)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: zeroed rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    (rc == pid).then(|| (start.elapsed(), usage.ru_maxrss))
}

fn main() {
    // `cargo bench -- FILTER` passes arguments; `--bench` is cargo's own.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    if wanted("parser") {
        parser_throughput();
    }
    if wanted("scale") {
        scale();
    }
}

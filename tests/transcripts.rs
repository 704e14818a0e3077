//! Transcript tests: each `tests/transcripts/NAME.sp` is run by the real
//! binary (`sockplay NAME.sp`, in a scratch directory) and its output,
//! stdout and stderr merged, must match `NAME.out`. In the expected text
//! `[..]` matches anything within a line (ports, timings) and a line `...`
//! any number of lines. SNAPSHOTS=overwrite rewrites the .out files.
//!
//! Ports are always chosen by the kernel (`bind s 127.0.0.1 0`, then
//! `connect k s`), so the tests run in parallel without colliding; the
//! output is normalized before comparing: ports become `[PORT]`, waiting
//! times `[TIME]` (and a job's `done after` / `failed after` time),
//! FIN_WAIT1/FIN_WAIT2 `FIN_WAIT*` (which one shows depends on when the
//! peer's delayed ACK arrives), and dates in ctime's format (what the
//! daytime peer sends: `Tue Mar  4 12:00:00 2025`) `[DATE]`.
//!
//! Whether a `recv` had to wait for a built-in peer's answer depends on
//! the scheduler, so the .out files of the `serve_*` transcripts put `...`
//! where the wait is reported.
//!
//! A script that shows several errors starts with a comment line
//! `# flags: --keep-going ...`: the `--` words of that line are passed to
//! sockplay (so the script can be replayed by hand the same way).

mod common;

use snapbox::{Assert, Data};
use std::path::Path;

/// Ports and times vary from run to run.
fn normalize(out: &str) -> String {
    let mut res = String::with_capacity(out.len());
    for line in out.lines() {
        // FIN_WAIT1 turns into FIN_WAIT2 when the peer's ACK of the FIN
        // arrives, which the peer may delay (up to 40 ms): which one a
        // table shows is a matter of timing.
        let line = line
            .replace("FIN_WAIT1", "FIN_WAIT*")
            .replace("FIN_WAIT2", "FIN_WAIT*");
        res.push_str(&normalize_line(&line));
        res.push('\n');
    }
    res
}

/// `Www Mmm dd hh:mm:ss yyyy`, as a template: `A` an upper-case letter,
/// `a` a lower-case one, `9` a digit, `_` a digit or a blank.
const CTIME: &str = "Aaa Aaa _9 99:99:99 9999";

fn is_ctime(s: &[u8]) -> bool {
    s.len() >= CTIME.len()
        && CTIME.bytes().zip(s).all(|(t, &c)| match t {
            b'A' => c.is_ascii_uppercase(),
            b'a' => c.is_ascii_lowercase(),
            b'9' => c.is_ascii_digit(),
            b'_' => c.is_ascii_digit() || c == b' ',
            t => t == c,
        })
}

fn normalize_dates(line: &str) -> String {
    let b = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut k = 0;
    while k < b.len() {
        if is_ctime(&b[k..]) {
            out.push_str("[DATE]");
            k += CTIME.len();
            continue;
        }
        let ch = line[k..].chars().next().unwrap_or(' ');
        out.push(ch);
        k += ch.len_utf8();
    }
    out
}

fn normalize_line(line: &str) -> String {
    if let Some(k) = line.find("returned after ") {
        return format!("{}returned after [TIME]", &line[..k]);
    }
    // A transfer's last line: `... in 412.7 ms, 2601.7 MB/s (...)`.
    let rated;
    let line = match line.find(" MB/s") {
        Some(m) if !line.contains("[RATE]") && line[..m].rfind(" in ").is_some() => {
            let k = line[..m].rfind(" in ").unwrap_or(m);
            rated = format!("{} in [TIME], [RATE] MB/s{}", &line[..k], &line[m + 5..]);
            rated.as_str()
        }
        _ => line,
    };
    // A relative path's folder (a scratch directory).
    if let Some(k) = line.find("a relative path starts in ") {
        return format!("{}a relative path starts in [DIR]", &line[..k]);
    }
    let line = &normalize_dates(line);
    // `info`'s age, a job's run time.
    if line.trim_start().starts_with("age ") {
        return format!("{}[TIME]", &line[..line.find("age").unwrap_or(0) + 3]);
    }
    for how in ["done", "failed"] {
        let marker = format!("] {how} after ");
        if let (Some(a), Some(b)) = (line.find(&marker), line.find(": "))
            && a < b
        {
            return format!("{}] {how} after [TIME]{}", &line[..a], &line[b..]);
        }
    }
    // A port: 4 or 5 digits after `:`, `', ` or `port `.
    let b = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut k = 0;
    while k < b.len() {
        let after_marker = line[..k].ends_with(':')
            || line[..k].ends_with("', ")
            || line[..k].ends_with("port ")
            || line[..k].ends_with("127.0.0.1 ");
        if after_marker && b[k].is_ascii_digit() {
            let end = (k..b.len())
                .find(|&j| !b[j].is_ascii_digit())
                .unwrap_or(b.len());
            if (4..=5).contains(&(end - k)) {
                out.push_str("[PORT]");
                k = end;
                continue;
            }
        }
        let ch = line[k..].chars().next().unwrap_or(' ');
        out.push(ch);
        k += ch.len_utf8();
    }
    out
}

/// The `--` words of a first line `# flags: ...`.
fn flags(script: &str) -> Vec<&str> {
    match script
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# flags:"))
    {
        Some(rest) => rest
            .split_whitespace()
            .filter(|w| w.starts_with("--"))
            .collect(),
        None => Vec::new(),
    }
}

fn transcript(name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let script = dir.join(format!("{name}.sp"));
    let expected = dir.join(format!("{name}.out"));
    let scratch = common::Scratch::new(name);
    let copy = scratch.path().join(format!("{name}.sp"));
    std::fs::copy(&script, &copy).expect("copy script");
    let text = std::fs::read_to_string(&script).expect("read script");
    let mut args = flags(&text);
    let file = format!("{name}.sp");
    args.push(&file);
    let run = common::run_in(scratch.path(), &args, None);
    let status = match run.status {
        Some(s) => format!("[exit status {s}]\n"),
        None => "[killed after 30 s]\n".into(),
    };
    // normalize_paths(false): snapbox would otherwise turn every `\` into
    // `/`, and a bytes repr like b'\xc0' would be written as b'/xc0'.
    Assert::new()
        .action_env("SNAPSHOTS")
        .normalize_paths(false)
        .eq(
            normalize(&run.output) + &status,
            Data::read_from(&expected, None),
        );
}

macro_rules! transcripts {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                transcript(stringify!($name));
            }
        )*
    };
}

transcripts!(
    tcp_echo,
    udp,
    unix_stream,
    sockopts,
    names,
    names_ntoa_len,
    tcp_states,
    peer_closed,
    conn_reset,
    conn_reset_linger,
    addr_in_use,
    time_wait,
    time_wait_reuse,
    refused,
    udp_refused,
    errors_parse,
    errors_name,
    errors_closed,
    errors_nonblocking_accept,
    errors_nonblocking_recv,
    errors_timeout,
    multicast,
    serve_echo,
    serve_discard,
    serve_daytime,
    serve_chat,
    serve_http,
    jobs_accept,
    jobs_rebound,
    jobs_implicit,
    select_poll,
    sticky,
    buffers,
    lifecycle,
    explain,
    oob,
    bulk_zeros,
    bulk_missing_file,
    python_tcp,
    python_udp,
    python_unix,
    python_errors,
    serve_udp,
    run_input,
    python_program
);

#[test]
fn flags_come_from_the_first_line() {
    assert_eq!(
        flags("# flags: --keep-going (every error shows)\ns = socket"),
        vec!["--keep-going"]
    );
    assert!(flags("s = socket\n# flags: --keep-going").is_empty());
}

#[test]
fn job_times_are_normalized() {
    assert_eq!(
        normalize_line("  [2] failed after 201.7 ms: d = recv x"),
        "  [2] failed after [TIME]: d = recv x"
    );
    assert_eq!(
        normalize_line("  [1] done after 804 µs: c = accept s"),
        "  [1] done after [TIME]: c = accept s"
    );
}

#[test]
fn rates_and_times_are_normalized() {
    assert_eq!(
        normalize_line("  sent 1024 zero bytes (1.0 KiB) in 100 µs, 10.1 MB/s"),
        "  sent 1024 zero bytes (1.0 KiB) in [TIME], [RATE] MB/s"
    );
    assert_eq!(
        normalize_line("    wrote x.bin: 5 bytes in 2.31 s, 0.0 MB/s (end of stream)"),
        "    wrote x.bin: 5 bytes in [TIME], [RATE] MB/s (end of stream)"
    );
}

#[test]
fn dates_and_ports_are_normalized() {
    assert_eq!(
        normalize_line(r"  -> b'Tue Mar  4 12:00:00 2025\r\n'  (26 bytes)"),
        r"  -> b'[DATE]\r\n'  (26 bytes)"
    );
    assert_eq!(
        normalize_line("try nc 127.0.0.1 40123 or 127.0.0.1:40124"),
        "try nc 127.0.0.1 [PORT] or 127.0.0.1:[PORT]"
    );
}

/// One session typed twice, in the shell's words and as the course's
/// Python lines: both print the same, line for line (the echoed commands
/// aside), because both become the same statements.
#[test]
fn python_lines_print_what_the_words_print() {
    let words = r#"
s = socket inet stream
setsockopt s SOL_SOCKET SO_REUSEADDR 1
bind s 127.0.0.1 0
listen s 5
a = getsockname s
k = socket
connect k a
c, addr = accept s
send k b"hello"
sendall k b"world"
data = recv c 1024
sendall c b"Receive your message"
msg = recv k 1024
getsockopt k SOL_SOCKET SO_REUSEADDR
settimeout c 0.05
gettimeout c
shutdown k write
recv c 1024 peek
recv c 1024
r, w, x = select read c s write c 0
u = socket inet dgram
bind u 127.0.0.1 0
v = socket inet dgram
sendto v b"ping" u
d, frm = recvfrom u 2
inet_aton "192.168.1.2"
htons 1
getservbyname "http" "tcp"
close c
close k
close s
close u
close v
"#;
    let python = r#"
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', 0))
s.listen(5)
a = s.getsockname()
k = socket.socket()
k.connect(a)
c, addr = s.accept()
k.send(b'hello')
k.sendall(b'world')
data = c.recv(1024)
c.sendall(b'Receive your message')
msg = k.recv(1024)
k.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
c.settimeout(0.05)
c.gettimeout()
k.shutdown(socket.SHUT_WR)
c.recv(1024, socket.MSG_PEEK)
c.recv(1024)
r, w, x = select.select([c, s], [c], [], 0)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('127.0.0.1', 0))
v = socket.socket(type=socket.SOCK_DGRAM)
v.sendto(b'ping', u.getsockname())
d, frm = u.recvfrom(2)
socket.inet_aton('192.168.1.2')
socket.htons(1)
socket.getservbyname('http', 'tcp')
c.close()
k.close()
s.close()
u.close()
v.close()
"#;
    let scratch = common::Scratch::new("python_twin");
    let run = |name: &str, text: &str| -> String {
        let file = format!("{name}.sp");
        std::fs::write(scratch.path().join(&file), text).expect("write script");
        let run = common::run_in(scratch.path(), &[&file], None);
        assert_eq!(run.status, Some(0), "{name} failed:\n{}", run.output);
        normalize(&run.output)
            .lines()
            .filter(|l| !l.starts_with("sockplay> "))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let (w, p) = (run("words", words), run("python", python));
    assert!(w.contains("data = b'hello' + b'world'"), "{w}");
    assert!(w.contains("2 sends merged"), "{w}");
    assert!(w.contains("truncated to 2"), "{w}");
    assert_eq!(w, p, "the Python lines printed otherwise than the words");
}

// Protocol debugging by hand (recvuntil and friends, the new socket calls).
transcripts!(recv_until, socket_kinds);

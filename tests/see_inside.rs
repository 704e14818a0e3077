//! The "see inside" features checked where a transcript cannot: output that
//! needs root (`states` captures the segments on lo), numbers the kernel
//! chooses that must only be non-zero (queue sizes), and facts that are
//! about more than one line (a job cancelled by `close` does not take the
//! data of the socket that reuses its descriptor; an explanation box shows
//! once, next to its note, in whatever order).
//!
//! Each test runs the real binary with `-c` in a scratch directory
//! (`common::run_in`: no colour, no rc file, at most 30 s), on 127.0.0.1
//! with ports the kernel picks.

mod common;

/// Runs `script` (one statement a line) with `-c --keep-going`; returns
/// the output, stdout and stderr merged.
fn run(tag: &str, script: &str) -> String {
    let scratch = common::Scratch::new(tag);
    let run = common::run_in(scratch.path(), &["--keep-going", "-c", script], None);
    assert!(
        run.status.is_some(),
        "sockplay was killed after 30 s:\n{}",
        run.output
    );
    run.output
}

/// The output of statement `stmt`: the lines after its `sockplay> stmt`
/// echo, up to the next prompt. Panics when the statement is not there.
fn section<'a>(out: &'a str, stmt: &str) -> Vec<&'a str> {
    let echo = format!("sockplay> {stmt}");
    let mut lines = out.lines().skip_while(|l| *l != echo);
    assert!(lines.next().is_some(), "no `{stmt}` in:\n{out}");
    lines.take_while(|l| !l.starts_with("sockplay> ")).collect()
}

/// The index of the first line at or after `from` that contains every one
/// of `needles`.
fn find_line(lines: &[&str], from: usize, needles: &[&str], out: &str) -> usize {
    (from..lines.len())
        .find(|&k| needles.iter().all(|n| lines[k].contains(n)))
        .unwrap_or_else(|| panic!("no line with {needles:?} after line {from} in:\n{out}"))
}

/// A row of the `sockets` table by name: its columns.
fn row<'a>(table: &[&'a str], name: &str) -> Vec<&'a str> {
    table
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| cols.len() >= 9 && cols[1] == name && cols[0] != "-")
        .unwrap_or_else(|| panic!("no row for {name} in {table:#?}"))
}

fn number(text: &str) -> u64 {
    text.parse()
        .unwrap_or_else(|_| panic!("`{text}` is not a number"))
}

const CONNECTED: &str = "s = socket tcp
bind s 127.0.0.1 0
listen s 5
k = socket tcp
connect k s
c = accept s
";

/// `states` after a connect, a send and a close on both sides shows the
/// three-way handshake and the four-way close in order. It captures on lo,
/// which needs root; without root the test says so and passes.
#[test]
fn states_show_the_handshake_and_the_close_in_order() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: `states` captures segments on lo, which needs root");
        return;
    }
    let out = run(
        "states",
        &format!("{CONNECTED}send k b\"hello\"\nrecv c\nclose k\nclose c\nstates"),
    );
    // A row's words stand under it (indented): one line a segment here.
    let mut rows: Vec<String> = Vec::new();
    for l in section(&out, "states") {
        match rows.last_mut() {
            Some(last) if l.starts_with("              ") => {
                last.push(' ');
                last.push_str(l.trim());
            }
            _ => rows.push(l.to_string()),
        }
    }
    let lines: Vec<&str> = rows.iter().map(String::as_str).collect();
    assert!(
        !lines.iter().any(|l| l.contains("no capture")),
        "running as root, the segments are captured:\n{out}"
    );
    let title = find_line(
        &lines,
        0,
        &["connection k 127.0.0.1:", "<-> c 127.0.0.1:"],
        &out,
    );
    let syn = find_line(&lines, title, &["SYN ", "k -> c", "handshake 1/3"], &out);
    let syn_ack = find_line(&lines, syn, &["SYN,ACK", "c -> k", "handshake 2/3"], &out);
    let ack = find_line(&lines, syn_ack, &["ACK", "k -> c", "handshake 3/3"], &out);
    let data = find_line(&lines, ack, &["k -> c", "5 bytes of data"], &out);
    let fin_k = find_line(
        &lines,
        data,
        &["FIN", "k -> c", "close 1/4: FIN from k"],
        &out,
    );
    // c's kernel may ACK k's FIN alone (close 2/4) or with its own FIN
    // (close 2/4 and 3/4 on one line): both are right.
    let ack_fin = find_line(&lines, fin_k + 1, &["c -> k", "close 2/4"], &out);
    let fin_c = find_line(
        &lines,
        ack_fin,
        &["FIN", "c -> k", "close 3/4: FIN from c"],
        &out,
    );
    let last = find_line(&lines, fin_c + 1, &["ACK", "k -> c", "close 4/4"], &out);
    assert!(
        title < syn && syn < syn_ack && syn_ack < ack && ack < data && data < fin_k,
        "in order:\n{out}"
    );
    assert!(
        fin_k < ack_fin && ack_fin <= fin_c && fin_c < last,
        "in order:\n{out}"
    );
    // (k may pass FIN_WAIT2 on the way: `k FIN_WAIT2 -> TIME_WAIT`.)
    assert!(
        lines[fin_c].contains("k TIME_WAIT") || lines[fin_c].contains("-> TIME_WAIT"),
        "c's FIN puts k in TIME_WAIT: {:?}",
        lines[fin_c]
    );
    assert!(
        lines[last].contains("c CLOSED"),
        "the last ACK closes c: {:?}",
        lines[last]
    );
}

/// `close c` cancels the job waiting on c, and the next socket, which gets
/// c's descriptor number, gets its own data: the cancelled job is not left
/// polling the reused descriptor.
#[test]
fn a_closed_sockets_job_does_not_take_the_data_of_the_reused_descriptor() {
    let out = run(
        "job-fd-reuse",
        &format!(
            "{CONNECTED}fileno c
r = recv c &
close c
n = socket tcp
fileno n
connect n s
m = accept s
send m b\"for n\"
# time for a job still polling the descriptor to take the bytes
sleep 0.3
recv n
jobs
wait"
        ),
    );
    let fd_c = section(&out, "fileno c").join("\n");
    let fd_n = section(&out, "fileno n").join("\n");
    assert!(
        fd_c.trim_start().starts_with("-> "),
        "fileno c: {fd_c:?}\n{out}"
    );
    assert_eq!(fd_c, fd_n, "n reuses c's descriptor:\n{out}");
    let fd = fd_c.trim_start().trim_start_matches("-> ");
    let created = section(&out, "n = socket tcp").join("\n");
    assert!(
        created.contains(&format!("<socket fd={fd} ")),
        "n's repr shows fd {fd}: {created:?}"
    );

    let close = section(&out, "close c");
    assert_eq!(
        close.first().map(|l| l.trim()),
        Some("[1] cancelled (c was closed): r = recv c"),
        "close says first that the job was cancelled:\n{out}"
    );
    assert!(close.iter().any(|l| l.contains("closed c (fd")), "{out}");

    let got = section(&out, "recv n");
    assert!(
        got.iter().any(|l| l.trim() == "-> b'for n'  (5 bytes)"),
        "n gets its data, not a cancelled job:\n{out}"
    );
    assert!(
        section(&out, "jobs").iter().any(|l| l.contains("no jobs")),
        "no job is left:\n{out}"
    );
    assert!(
        section(&out, "wait")
            .iter()
            .any(|l| l.contains("no jobs to wait for")),
        "{out}"
    );
    assert!(
        !out.contains("] done") && !out.contains("r = b'"),
        "the cancelled job never reports data:\n{out}"
    );
}

/// A peer that does not read: its receive queue and the sender's send
/// queue are full, as `sockets` and `info` show (the sizes are the
/// kernel's; they must only be more than 0); after the peer reads, the
/// sender is writable again.
#[test]
fn a_full_send_buffer_shows_in_the_queues() {
    let out = run(
        "buffers",
        "s = socket tcp
bind s 127.0.0.1 0
setsockopt s SO_RCVBUF 4096
listen s 5
k = socket tcp
setsockopt k SO_SNDBUF 4096
connect k s
c = accept s
setblocking k false
send k b\"a\" * 1000000
info k
sockets
data = recv c 1000000
select write k 2",
    );
    let sent = section(&out, "send k b\"a\" * 1000000").join("\n");
    let n = sent
        .trim_start()
        .strip_prefix("sent ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("a partial send: {sent:?}\n{out}"));
    assert!(
        (1..1_000_000).contains(&number(n)),
        "part of the data was taken: {sent:?}"
    );
    assert!(sent.contains("of 1000000"), "{sent:?}");

    let info = section(&out, "info k");
    let q = info
        .iter()
        .find_map(|l| l.trim().strip_prefix("send queue"))
        .unwrap_or_else(|| panic!("info shows the send queue:\n{out}"));
    let q = q.trim().trim_end_matches(" bytes");
    assert!(number(q) > 0, "k's send queue holds data: {q:?}\n{out}");

    let table = section(&out, "sockets");
    let k = row(&table, "k");
    let c = row(&table, "c");
    // FD NAME PROTO LOCAL PEER STATE RECV-Q SEND-Q MODE READY
    assert!(number(k[7]) > 0, "k's SEND-Q is not empty: {k:?}\n{out}");
    assert!(number(c[6]) > 0, "c's RECV-Q is not empty: {c:?}\n{out}");
    assert_eq!(k[8], "non-blocking", "{k:?}");
    assert!(!k[9].contains('W'), "k is not writable while full: {k:?}");

    let sel = section(&out, "select write k 2");
    assert!(
        sel.iter()
            .any(|l| l.trim_start().starts_with("k writable: ")),
        "after the peer reads, k is writable again:\n{out}"
    );
}

/// Sticky packets happen twice; the box that explains them shows once,
/// right next to the first "sends merged" note (before or after it).
#[test]
fn sticky_packets_are_explained_once_next_to_their_note() {
    let out = run(
        "sticky-once",
        &format!(
            "{CONNECTED}send k b\"hello\"
send k b\" world\"
recv c
send k b\"one\"
send k b\"two\"
recv c"
        ),
    );
    assert_eq!(
        out.matches("why: sticky packets").count(),
        1,
        "one box for two merges:\n{out}"
    );
    assert_eq!(
        out.matches("2 sends merged into one recv").count(),
        2,
        "each merge has its note:\n{out}"
    );
    let first = section(&out, "recv c");
    assert!(
        first.iter().any(|l| l.contains("why: sticky packets")),
        "the box belongs to the first merged recv:\n{out}"
    );
    assert!(
        first.iter().any(|l| l.contains("-> b'hello' + b' world'")),
        "{out}"
    );
}

/// `set explain off` hides the next explanation: the BrokenPipeError has
/// its hint but no box.
#[test]
fn set_explain_off_hides_the_explanations() {
    let out = run(
        "explain-off",
        &format!(
            "{CONNECTED}close k
set explain off
send c b\"first\"
send c b\"second\""
        ),
    );
    let set = section(&out, "set explain off");
    assert!(
        set.iter().any(|l| l.contains("explain = off")),
        "the setting is accepted:\n{out}"
    );
    let second = section(&out, "send c b\"second\"");
    assert!(
        second.iter().any(|l| l.contains("BrokenPipeError")),
        "{out}"
    );
    assert!(
        second.iter().any(|l| l.trim_start().starts_with("hint:")),
        "the hint stays: {out}"
    );
    assert!(
        !out.contains("why: BrokenPipeError"),
        "no box after set explain off:\n{out}"
    );
}

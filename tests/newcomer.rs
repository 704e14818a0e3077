//! What a newcomer trips over in the first minutes, through the real
//! binary (`sockplay -c ...` in a scratch directory, no colour): advice
//! that names the right socket, hints in the documented form, tables whose
//! columns cannot contradict each other, a reset connection called dead,
//! `reset`, and `help` that fits the terminal. (What is about typing is in
//! tests/pty_newcomer.rs.)

mod common;

use common::{Run, Scratch, run_in};

/// `sockplay -c CMDS` in a scratch directory.
fn run(tag: &str, cmds: &str) -> Run {
    let scratch = Scratch::new(&format!("newcomer-{tag}"));
    run_in(scratch.path(), &["-c", cmds], None)
}

/// The same with --keep-going, one statement a line: the lines after an
/// error run too.
fn run_on(tag: &str, cmds: &str) -> Run {
    let scratch = Scratch::new(&format!("newcomer-{tag}"));
    let lines = cmds.replace("; ", "\n");
    run_in(scratch.path(), &["--keep-going", "-c", &lines], None)
}

#[track_caller]
fn has(run: &Run, needle: &str) {
    assert!(
        run.output.contains(needle),
        "expected {needle:?} in the output:\n{}",
        run.output
    );
}

/// As `has`, the output's blanks and line breaks taken as one blank (help
/// wraps its prose to the terminal).
#[track_caller]
fn has_words(run: &Run, needle: &str) {
    let flat = run.output.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(needle),
        "expected {needle:?} in the output:\n{}",
        run.output
    );
}

#[track_caller]
fn lacks(run: &Run, needle: &str) {
    assert!(
        !run.output.contains(needle),
        "did not expect {needle:?} in the output:\n{}",
        run.output
    );
}

/// A listener, a client and the accepted connection: s, then `client`
/// connected to it, then c.
fn pair(client: &str) -> String {
    format!("s = socket tcp; bind s 127.0.0.1 0; listen s; {client}connect k s; c = accept s; ")
}

/// The "why" box, its lines joined (it wraps at 80 columns).
fn why_box(run: &Run) -> String {
    run.output
        .lines()
        .filter(|l| l.trim_start().starts_with('│'))
        .map(|l| l.trim_start().trim_start_matches('│').trim())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn sticky_packets_advice_frames_on_the_sending_socket() {
    let r = run(
        "sticky-named",
        &(pair("k = socket tcp; ") + "send k b\"one\"; send k b\"two\"; data = recv c 1024"),
    );
    assert_eq!(r.status, Some(0), "{}", r.output);
    has(&r, "why: sticky packets");
    let why = why_box(&r);
    // k sent the merged sends: k frames, c (which received) reads frames.
    assert!(
        why.contains("send with sendmsg k DATA framed, read with recvmsg c framed"),
        "{why}"
    );
    assert!(why.contains("sendmsg k DATA marker"), "{why}");
    assert!(!why.contains("sendmsg c"), "{why}");
}

#[test]
fn sticky_packets_advice_names_an_unnamed_sender_by_its_fd() {
    // The client has no name: fd 4 (s is 3).
    let cmds = "s = socket tcp; bind s 127.0.0.1 0; listen s; socket tcp; connect 4 s; \
                c = accept s; send 4 b\"one\"; send 4 b\"two\"; recv c";
    let r = run("sticky-fd", cmds);
    assert_eq!(r.status, Some(0), "{}", r.output);
    let why = why_box(&r);
    assert!(why.contains("send with sendmsg 4 DATA framed"), "{why}");
}

#[test]
fn sticky_packets_advice_says_the_sending_socket_when_it_is_gone() {
    let r = run(
        "sticky-gone",
        &(pair("k = socket tcp; ") + "send k b\"one\"; send k b\"two\"; close k; recv c"),
    );
    assert_eq!(r.status, Some(0), "{}", r.output);
    let why = why_box(&r);
    assert!(
        why.contains("sendmsg SOCK DATA framed on the sending socket, read with recvmsg c framed"),
        "{why}"
    );
    lacks(&r, "sendmsg c DATA");
}

#[test]
fn clear_in_a_script_writes_nothing() {
    let r = run("clear-script", "clear; echo \"after\"");
    assert_eq!(r.status, Some(0), "{}", r.output);
    assert_eq!(r.output, "sockplay> clear; echo \"after\"\n  after\n");
}

#[test]
fn a_lone_unknown_word_is_an_unknown_command_not_a_name_error() {
    let r = run("unknown-word", "exti");
    assert_eq!(r.status, Some(1), "{}", r.output);
    has(&r, "error: unknown command `exti`: did you mean `exit`?");
    lacks(&r, "NameError");
    lacks(&r, "quote it");
    // A typo of a name bound is still a NameError that names it.
    let r = run("typo-name", "data = 1; dta");
    has(&r, "NameError: name 'dta' is not defined");
    has(&r, "did you mean `data`?");
    // In an argument, a word is a name: quote it to make it text.
    let r = run("arg-name", "echo hello");
    has(&r, "NameError: name 'hello' is not defined");
}

/// A free port, chosen by the kernel (the listener closes at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn reset_closes_stops_forgets_and_a_fixed_port_binds_again() {
    let port = free_port();
    // The server closes first: its port's connection stays in TIME_WAIT.
    let cmds = format!(
        "s = socket tcp; setsockopt s SO_REUSEADDR 1; bind s 127.0.0.1 {port}; listen s; \
         k = socket tcp; connect k s; c = accept s; close c; recv k; \
         data = b\"x\"; p = serve discard; reset; sockets; vars; peers; \
         s = socket tcp; setsockopt s SO_REUSEADDR 1; bind s 127.0.0.1 {port}"
    );
    let r = run("reset", &cmds);
    assert_eq!(r.status, Some(0), "{}", r.output);
    has(&r, "closed 2 sockets: s (fd 3), k (fd 4)");
    has(&r, "stopped 1 built-in peer: 1 (discard on 127.0.0.1:");
    has(&r, "forgot 5 names: c, data, k, p, s");
    has(&r, "a fresh start, as in a new shell");
    // Nothing is left: the table, the names, the peers.
    has(&r, "# no sockets");
    has(&r, "s = <socket fd=3 AF_INET SOCK_STREAM>");
    has(&r, &format!("bound s to 127.0.0.1:{port}"));
    // Without SO_REUSEADDR the same bind fails: TIME_WAIT holds the port.
    let cmds = format!(
        "s = socket tcp; setsockopt s SO_REUSEADDR 1; bind s 127.0.0.1 {port}; listen s; \
         k = socket tcp; connect k s; c = accept s; close c; recv k; reset; \
         s = socket tcp; bind s 127.0.0.1 {port}"
    );
    let r = run("reset-no-reuse", &cmds);
    assert_eq!(r.status, Some(1), "{}", r.output);
    has(&r, "Address already in use");
}

#[test]
fn reset_with_nothing_says_so() {
    let r = run("reset-empty", "reset");
    assert_eq!(r.status, Some(0), "{}", r.output);
    has(&r, "nothing to reset: no socket, peer, job or name");
}

/// The text after `try: ` in a `serve` note, up to ` (or`.
fn try_line(out: &str) -> String {
    let at = out.find("try: ").expect("a try line") + "try: ".len();
    let rest = &out[at..];
    let end = rest
        .find(" (or")
        .unwrap_or_else(|| rest.find('\n').unwrap_or(rest.len()));
    rest[..end].to_string()
}

#[test]
fn serve_suggests_the_documented_host_port_form_and_it_works() {
    let scratch = Scratch::new("newcomer-serve-try");
    let limit = std::time::Duration::from_secs(20);
    let mut sp = common::proc::sockplay(scratch.path(), &[], limit);
    // TCP: the suggested line, pasted as it is, connects.
    let at = sp.mark();
    sp.line("a = serve echo");
    let out = sp.wait_from(at, "a = ('127.0.0.1'");
    let tcp = try_line(&out);
    assert!(
        regex::Regex::new(r"^k = socket tcp; connect k 127\.0\.0\.1 \d+$")
            .expect("regex")
            .is_match(&tcp),
        "not `connect k HOST PORT`: {tcp:?}"
    );
    let at = sp.mark();
    sp.line(&tcp);
    sp.wait_from(at, "(ESTABLISHED)");
    // UDP: sendto u DATA HOST PORT, the same form.
    let at = sp.mark();
    sp.line("b = serve echo udp");
    let out = sp.wait_from(at, "b = ('127.0.0.1'");
    let udp = try_line(&out);
    assert!(
        regex::Regex::new(r#"^u = socket udp; sendto u b"hi" 127\.0\.0\.1 \d+; recvfrom u$"#)
            .expect("regex")
            .is_match(&udp),
        "not `sendto u DATA HOST PORT`: {udp:?}"
    );
    let at = sp.mark();
    sp.line(&udp);
    sp.wait_from(at, "b'hi'");
    let out = sp.end_ok();
    assert!(!out.contains("Error"), "{out}");
}

/// The cells of a table's row under each heading (headings may hold one
/// blank: `CONNECTED NOW`; cells are parted by two blanks or more, and
/// right-aligned numbers end where their heading ends).
fn row_under<'a>(table: &'a str, heading_line: &str, row_start: &str, heading: &str) -> &'a str {
    let head = table
        .lines()
        .find(|l| l.contains(heading_line))
        .expect("the table's heading");
    let row = table
        .lines()
        .find(|l| l.trim_start().starts_with(row_start))
        .expect("the row");
    let at = head.find(heading).expect("the heading");
    let end = at + heading.len();
    // From the end of the heading back to the blank before the cell.
    let cell_end = end.min(row.len());
    let cell_start = row[..cell_end].rfind("  ").map_or(0, |k| k + 2);
    row[cell_start..cell_end].trim()
}

#[test]
fn peers_columns_say_connected_now_and_served_in_all() {
    let r = run(
        "peers-columns",
        "a = serve echo; k = socket tcp; connect k a; send k b\"hi\"; recv k; \
         h = serve http; peers; help peers",
    );
    assert_eq!(r.status, Some(0), "{}", r.output);
    let heading = "N  KIND  ADDRESS";
    has(
        &r,
        "STATE    CONNECTED NOW  SERVED IN ALL  BYTES-IN  BYTES-OUT  FILES",
    );
    lacks(&r, "SERVING");
    assert_eq!(
        row_under(&r.output, heading, "1  echo", "CONNECTED NOW"),
        "1"
    );
    assert_eq!(
        row_under(&r.output, heading, "1  echo", "SERVED IN ALL"),
        "1"
    );
    assert!(r.output.contains("built-in page"), "{}", r.output);
    // help peers says what each column counts.
    has_words(&r, "CONNECTED NOW the clients connected at this moment");
    has_words(
        &r,
        "SERVED IN ALL every connection it accepted since it started, those gone included",
    );
    has_words(&r, "FILES what an http peer serves");
}

/// The table's row of socket `name` (its NAME column).
fn row_of<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    out.lines()
        .filter(|l| {
            let mut w = l.split_whitespace();
            l.starts_with("  ")
                && w.next()
                    .is_some_and(|fd| fd == "-" || fd.parse::<i32>().is_ok())
                && w.next() == Some(name)
        })
        .collect()
}

#[test]
fn after_a_rst_the_table_and_recv_say_reset_and_dead() {
    // The tour: the client closes, the server sends twice (the first send
    // draws the RST, the second fails), then looks and reads.
    let r = run_on(
        "rst-tour",
        &(pair("k = socket tcp; ")
            // The RST comes back as the send returns, or a moment later:
            // expect state waits for it (up to a second).
            + "close k; recv c; send c b\"x\"; expect state c RESET; sockets; recv c; \
               send c b\"y\"; sockets; recv c"),
    );
    assert_eq!(r.status, Some(1), "the last send fails:\n{}", r.output);
    has(&r, "BrokenPipeError");
    let rows = row_of(&r.output, "c");
    assert!(rows.len() >= 2, "{}", r.output);
    for row in &rows {
        assert!(row.contains("CLOSED (reset)"), "{row:?}\n{}", r.output);
        assert!(!row.contains("CLOSE_WAIT"), "{row:?}");
    }
    has(
        &r,
        "b'': this connection was reset (RST) and is dead: every recv from now on returns b'', every send fails; close it",
    );
    // The recv before the RST still says the peer has closed (it had):
    // once, for the first recv only.
    assert_eq!(
        r.output
            .matches("nothing queued, but the peer has closed")
            .count(),
        1,
        "{}",
        r.output
    );
    assert_eq!(
        r.output.matches("b'' is end of stream").count(),
        1,
        "{}",
        r.output
    );
}

#[test]
fn a_connection_reset_by_unread_data_is_dead_too() {
    // The peer closes with bytes unread: its kernel sends RST.
    let cmds = pair("k = socket tcp; ")
        + "send k b\"never read\"; close c; recv k; sockets; recv k; expect state k RESET";
    let r = run_on("rst-unread", &cmds);
    has(&r, "ConnectionResetError");
    let rows = row_of(&r.output, "k");
    assert!(
        rows.iter().any(|row| row.contains("CLOSED (reset)")),
        "{}",
        r.output
    );
    has(&r, "reset (RST) and is dead");
    has(&r, "k is CLOSED (reset)");
    lacks(&r, "expect failed");
}

#[test]
fn the_advice_copied_as_it_is_says_what_data_stands_for() {
    let r = run(
        "advice-literally",
        &(pair("k = socket tcp; ") + "data = b\"x\"; sendmsg k DATA framed"),
    );
    assert_eq!(r.status, Some(1), "{}", r.output);
    has(&r, "NameError: name 'DATA' is not defined");
    has(
        &r,
        "hint: DATA in the usage stands for your bytes: b\"hello\", \"text\", or a name bound to bytes",
    );
    lacks(&r, "did you mean `data`");
}

#[test]
fn so_reuseaddr_after_bind_says_to_set_it_before() {
    let r = run(
        "reuse-after-bind",
        "s = socket tcp; bind s 127.0.0.1 0; listen s; setsockopt s SO_REUSEADDR 1; \
         t = socket tcp; setsockopt t SO_REUSEADDR 1; bind t 127.0.0.1 0; \
         k = socket tcp; connect k s; setsockopt k SO_REUSEADDR 1",
    );
    assert_eq!(r.status, Some(0), "{}", r.output);
    // Once, for s: t set it before bind, k is a connected client.
    assert_eq!(
        r.output
            .matches("is bound already: SO_REUSEADDR helps a bind that comes after it")
            .count(),
        1,
        "{}",
        r.output
    );
    has(&r, "! s is bound already");
}

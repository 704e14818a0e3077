//! What a review found using the newcomer features of issue 14 (reset,
//! the tables at 80 columns) beside the features that landed with them
//! (the lab), each kept as a test through the real binary.

mod common;

use common::{Scratch, run_in};

/// Whether this test process may make namespaces (root); prints why not.
fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let ok = unsafe { libc::geteuid() } == 0;
    if !ok {
        eprintln!("skipped: the lab needs root");
    }
    ok
}

/// `reset` numbers peers from 1 again, but the lab kept the numbers of the
/// peers started on its hosts: after a reset, `lab down` stopped the
/// learner's new peer 1, which ran on this machine. And reset said "as in
/// a new shell" while the lab stayed up: it now says that the lab stays.
#[test]
fn after_reset_lab_down_stops_no_peer_of_the_shell() {
    if !root() {
        return;
    }
    let s = Scratch::new("review-reset-lab");
    let run = run_in(
        s.path(),
        &[
            "-c",
            "lab up a b\non b x = serve echo udp\nreset\ny = serve echo\nlab down\npeers",
        ],
        None,
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(
        run.output
            .contains("and so does the lab (hosts a, b): lab down ends it"),
        "{}",
        run.output
    );
    assert!(
        !run.output.contains("lab down: stopped peer"),
        "{}",
        run.output
    );
    let table = run
        .output
        .rsplit("sockplay> peers")
        .next()
        .expect("peers table");
    assert!(table.contains("running"), "{}", run.output);
    assert!(!table.contains("stopped"), "{}", run.output);
}

/// `peers` at 80 columns: its columns were renamed so that they cannot be
/// read against each other (CONNECTED NOW, SERVED IN ALL), which made the
/// table 95 wide, and every row broke in two. It leaves out the byte
/// counts (and says so), as `sockets` leaves out its least needed columns.
#[test]
fn the_peers_table_fits_80_columns() {
    use common::pty::{TIMEOUT_MS, expect, run, send_line, set_columns};
    let s = Scratch::new("review-peers-80");
    let mut p = common::pty::spawn_with(s.path(), TIMEOUT_MS);
    set_columns(&p, 80);
    run(&mut p, "a = serve echo", "a = (");
    run(&mut p, "b = serve http .", "b = (");
    run(&mut p, "k = socket tcp; connect k a", "ESTABLISHED");
    send_line(&mut p, "peers");
    let table = expect(&mut p, "left out to fit the terminal");
    common::pty::wait_prompt(&mut p);
    for line in table.lines().skip(1) {
        let line = line.trim_end_matches('\r');
        assert!(line.chars().count() <= 80, "too wide: {line:?}\n{table}");
    }
    assert!(table.contains("CONNECTED NOW"), "{table}");
    assert!(table.contains("FILES"), "{table}");
    assert!(table.contains("# BYTES-IN, BYTES-OUT"), "{table}");
    // Wide enough, every column.
    set_columns(&p, 120);
    let wide = run(&mut p, "peers", "FILES");
    assert!(wide.contains("BYTES-OUT"), "{wide}");
    common::pty::leave(&mut p);
}

//! Lesson scripts: the format (narration, macdef and $NAME with arguments,
//! init, every kind of expect holding and failing with FILE:LINE and the
//! status), --check, --keep-going, `lesson`, `source`, and every bundled
//! lesson run with --check, as CI runs them.
//!
//! Each run is the real binary in a scratch directory, bounded in time
//! (30 s, see tests/common), without colour. Ports are always chosen by
//! the kernel.

mod common;

use common::{Run, Scratch, run_in};

/// Writes `script` as `name` in a fresh scratch directory and runs
/// `sockplay [flags] name`.
fn play(tag: &str, name: &str, script: &str, flags: &[&str]) -> Run {
    let scratch = Scratch::new(tag);
    std::fs::write(scratch.path().join(name), script).expect("write script");
    let mut args: Vec<&str> = flags.to_vec();
    args.push(name);
    run_in(scratch.path(), &args, None)
}

#[track_caller]
fn assert_has(run: &Run, needle: &str) {
    assert!(
        run.output.contains(needle),
        "expected {needle:?} in the output:\n{}",
        run.output
    );
}

#[track_caller]
fn assert_lacks(run: &Run, needle: &str) {
    assert!(
        !run.output.contains(needle),
        "did not expect {needle:?} in the output:\n{}",
        run.output
    );
}

const PAIR: &str = "\
s = socket tcp
bind s 127.0.0.1 0
listen s 5
k = socket tcp
connect k s
c, addr = accept s
";

#[test]
fn narration_is_shown_and_commands_echoed() {
    let run = play(
        "narration",
        "n.sp",
        "# The title\n# more words\necho \"hi\"\n",
        &[],
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert_has(
        &run,
        "# The title\n# more words\nsockplay> echo \"hi\"\n  hi\n",
    );
}

#[test]
fn macros_take_arguments_and_init_runs_first() {
    let script = "\
# before init
macdef init
echo \"init ran\"

macdef greet
echo $1 \"and\" $2

echo \"first command\"
$greet \"alice\" \"bob carol\"
expect \"alice and bob carol\"
";
    let run = play("macros", "m.sp", script, &[]);
    assert_eq!(run.status, Some(0), "{}", run.output);
    let init = run.output.find("init ran").expect("init ran");
    let first = run.output.find("first command").expect("first command");
    assert!(
        init < first,
        "init runs before the first command:\n{}",
        run.output
    );
    assert_has(&run, "sockplay> $greet \"alice\" \"bob carol\"");
    assert_has(&run, "sockplay> echo \"alice\" \"and\" \"bob carol\"");
    assert_has(&run, "✓ output has \"alice and bob carol\"");
}

#[test]
fn a_macro_missing_an_argument_fails_where_it_is_called() {
    let script = "macdef two\necho $1 $2\n\n$two \"only one\"\n";
    let run = play("macro-args", "m.sp", script, &[]);
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert_has(&run, "m.sp:4:1: $two uses $2");
    assert_has(&run, "but was given 1 argument");
}

#[test]
fn an_unknown_macro_is_an_error_with_a_suggestion() {
    let script = "macdef server\necho \"x\"\n\n$sever\n";
    let run = play("macro-unknown", "m.sp", script, &[]);
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert_has(&run, "m.sp:4:1: no macro `sever`");
    assert_has(&run, "did you mean `$server`?");
}

#[test]
fn every_kind_of_expect_holds() {
    let script = format!(
        "{PAIR}\
expect \"accepted a connection\"
expect /addr = \\('127\\.0\\.0\\.1', \\d+\\)/
expect state c ESTABLISHED
close k
expect state c CLOSE_WAIT
expect state k FIN_WAIT
k2 = socket tcp
connect k2 127.0.0.1 1
expect error ECONNREFUSED
expect error ConnectionRefusedError
expect error
"
    );
    let run = play("expect-ok", "e.sp", &script, &[]);
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert_has(&run, "✓ output has \"accepted a connection\"");
    assert_has(&run, "✓ output matches /addr = ");
    assert_has(&run, "✓ c is ESTABLISHED");
    assert_has(&run, "✓ c is CLOSE_WAIT");
    assert_has(&run, "✓ k is FIN_WAIT");
    assert_has(&run, "✓ failed with ECONNREFUSED, as expected");
    assert_has(&run, "✓ failed with ConnectionRefusedError, as expected");
    // The error itself is shown: it is the lesson.
    assert_has(&run, "ConnectionRefusedError: [Errno 111]");
}

#[test]
fn a_failed_output_expect_says_where_what_and_what_came() {
    let script = "echo \"hello\"\nexpect \"goodbye\"\necho \"not reached\"\n";
    let run = play("expect-text", "t.sp", script, &[]);
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert_has(
        &run,
        "  t.sp:2: expect failed\n    expected: output containing \"goodbye\"\n    got, from `echo \"hello\"`:\n      | hello\n",
    );
    assert_lacks(&run, "not reached");
}

#[test]
fn a_failed_regex_expect_stops_the_run() {
    let run = play(
        "expect-regex",
        "r.sp",
        "echo \"abc\"\nexpect /^x+$/\necho \"no\"\n",
        &[],
    );
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert_has(&run, "r.sp:2: expect failed");
    assert_has(&run, "expected: output matching /^x+$/");
    assert_lacks(&run, "sockplay> echo \"no\"");
}

#[test]
fn a_bad_regex_is_an_error_at_its_line() {
    let run = play("expect-badre", "r.sp", "echo \"abc\"\nexpect /a(/\n", &[]);
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert_has(&run, "r.sp:2:8: not a regular expression");
}

#[test]
fn a_failed_state_expect_names_the_state_seen() {
    let script = format!("{PAIR}expect state c CLOSE_WAIT\n");
    let run = play("expect-state", "s.sp", &script, &[]);
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert_has(&run, "s.sp:7: expect failed");
    assert_has(&run, "expected: c in state CLOSE_WAIT");
    assert_has(&run, "| c is ESTABLISHED (still after 1000 ms)");
}

#[test]
fn expect_error_after_a_success_fails() {
    let run = play(
        "expect-err-ok",
        "e.sp",
        "s = socket tcp\nexpect error EADDRINUSE\n",
        &[],
    );
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert_has(&run, "e.sp:2: expect failed");
    assert_has(&run, "expected: a failure with EADDRINUSE");
    assert_has(&run, "| it succeeded");
}

#[test]
fn expect_error_with_another_errno_fails() {
    let script = "k = socket tcp\nconnect k 127.0.0.1 1\nexpect error EPIPE\necho \"no\"\n";
    let run = play("expect-err-other", "e.sp", script, &[]);
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert_has(&run, "e.sp:3: expect failed");
    assert_has(&run, "expected: a failure with EPIPE");
    assert_has(&run, "| it failed with ConnectionRefusedError: [Errno 111]");
    assert_lacks(&run, "sockplay> echo \"no\"");
}

#[test]
fn an_unknown_errno_name_is_refused() {
    let script = "k = socket tcp\nconnect k 127.0.0.1 1\nexpect error ECONREFUSED\n";
    let run = play("expect-err-name", "e.sp", script, &[]);
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert_has(
        &run,
        "e.sp:3:14: `ECONREFUSED` is neither an errno name nor an exception",
    );
}

#[test]
fn an_unexpected_error_stops_the_script() {
    let script = "k = socket tcp\nconnect k 127.0.0.1 1\n# narration\necho \"no\"\n";
    let run = play("unexpected", "u.sp", script, &[]);
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert_has(&run, "u.sp:2:11: ConnectionRefusedError");
    assert_lacks(&run, "sockplay> echo \"no\"");
}

#[test]
fn the_look_ahead_skips_narration_and_covers_a_macro_call() {
    let script = "\
macdef refused
$1 = socket tcp
connect $1 127.0.0.1 1
echo \"not reached in the macro\"

$refused k
# the connect inside the macro failed, and that is expected:
expect error ECONNREFUSED
echo \"after\"
";
    let run = play("lookahead", "l.sp", script, &[]);
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert_lacks(&run, "not reached in the macro");
    assert_has(&run, "✓ failed with ECONNREFUSED, as expected");
    assert_has(&run, "sockplay> echo \"after\"");
}

#[test]
fn an_expect_on_the_same_line_checks_the_statements_before_it() {
    let run = play(
        "sameline",
        "l.sp",
        "echo \"one\"; expect \"one\"\nk = socket tcp; connect k 127.0.0.1 1; expect error ECONNREFUSED\n",
        &[],
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert_has(&run, "✓ output has \"one\"");
    assert_has(&run, "✓ failed with ECONNREFUSED, as expected");
}

#[test]
fn check_is_quiet_about_passing_expects_and_loud_about_failing_ones() {
    let ok = play(
        "check-ok",
        "c.sp",
        "echo \"x\"\nexpect \"x\"\nexpect /x/\n",
        &["--check"],
    );
    assert_eq!(ok.status, Some(0), "{}", ok.output);
    assert_lacks(&ok, "✓ output has");
    assert_has(&ok, "✓ c.sp: every command ran and 2 expects held");

    let bad = play(
        "check-bad",
        "c.sp",
        "echo \"x\"\nexpect \"y\"\necho \"z\"\n",
        &["--check"],
    );
    assert_eq!(bad.status, Some(1), "{}", bad.output);
    assert_has(&bad, "c.sp:2: expect failed");
    assert_lacks(&bad, "every command ran");
    assert_lacks(&bad, "sockplay> echo \"z\"");
}

#[test]
fn check_stops_at_the_first_failing_command() {
    let run = play(
        "check-err",
        "c.sp",
        "echo nope\necho \"later\"\n",
        &["--check"],
    );
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert_has(&run, "c.sp:1:6: NameError");
    assert_lacks(&run, "later");
}

#[test]
fn keep_going_runs_past_a_failed_expect_with_status_1() {
    let run = play(
        "keep-going",
        "k.sp",
        "echo \"x\"\nexpect \"y\"\necho \"z\"\n",
        &["--keep-going"],
    );
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert_has(&run, "k.sp:2: expect failed");
    assert_has(&run, "sockplay> echo \"z\"");
}

#[test]
fn source_runs_a_file_in_the_same_session() {
    let scratch = Scratch::new("source");
    std::fs::write(
        scratch.path().join("inner.sp"),
        "# inner\nx = \"from inner\"\nexpect \"from inner\"\n",
    )
    .expect("write");
    std::fs::write(
        scratch.path().join("outer.sp"),
        "source inner.sp\nexpect \"from inner\"\necho x\nexpect \"from inner\"\nsource missing.sp\n",
    )
    .expect("write");
    let run = run_in(scratch.path(), &["outer.sp"], None);
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert_has(&run, "sockplay> echo x\n  from inner\n");
    assert_has(&run, "outer.sp:5:8: FileNotFoundError: [Errno 2]");
}

#[test]
fn a_failed_expect_in_a_sourced_file_names_that_file() {
    let scratch = Scratch::new("source-fail");
    std::fs::write(
        scratch.path().join("inner.sp"),
        "echo \"a\"\nexpect \"b\"\n",
    )
    .expect("write");
    std::fs::write(
        scratch.path().join("outer.sp"),
        "source inner.sp\necho \"no\"\n",
    )
    .expect("write");
    let run = run_in(scratch.path(), &["outer.sp"], None);
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert_has(&run, "inner.sp:2: expect failed");
    assert_lacks(&run, "sockplay> echo \"no\"");
}

#[test]
fn a_file_that_sources_itself_stops_at_the_nesting_limit() {
    let run = play("self-source", "me.sp", "source me.sp\n", &[]);
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert_has(&run, "nest at most 16 deep");
}

#[test]
fn expect_gives_no_value_to_bind() {
    let run = play("macdef-bind", "m.sp", "x = expect \"a\"\n", &[]);
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert_has(&run, "`expect` gives no value to bind");
}

/// The example in docs/lessons.md runs and its expects hold.
#[test]
fn the_documented_example_runs() {
    let doc = include_str!("../docs/lessons.md");
    let start = doc.find("## An example\n\n```\n").expect("the example") + 18;
    let len = doc[start..].find("```").expect("its end");
    let run = play(
        "doc-example",
        "example.sp",
        &doc[start..start + len],
        &["--check"],
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert_has(&run, "✓ example.sp: every command ran and 5 expects held");
}

#[test]
fn the_lesson_command_lists_the_bundled_lessons() {
    let scratch = Scratch::new("lesson-list");
    let run = run_in(scratch.path(), &["-c", "lesson"], None);
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert_has(&run, "Lessons");
    assert_has(&run, "  1  Host names, addresses, ports and byte order");
    assert_has(&run, "  2  A TCP server and client, step by step");
    assert_has(&run, " 12  A chat with several clients");
}

#[test]
fn a_lesson_runs_from_the_shell_language_too() {
    let scratch = Scratch::new("lesson-cmd");
    let run = run_in(scratch.path(), &["-c", "lesson 1 check\nlesson 99"], None);
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert_has(&run, "✓ lessons/01-names.sp: every command ran and");
    assert_has(
        &run,
        "-c:2:8: there is no lesson 99: they are numbered 1 to 18",
    );
}

#[test]
fn an_unknown_lesson_number_is_refused() {
    let scratch = Scratch::new("lesson-none");
    let run = run_in(scratch.path(), &["--lesson", "0"], None);
    assert_eq!(run.status, Some(2), "{}", run.output);
    assert_has(&run, "there is no lesson 0");
}

/// `sockplay --lesson N --check`, run in an empty directory of its own
/// (its output, history and config kept outside it): the lesson must pass,
/// and leave that directory as empty as it found it (lesson 8 makes a
/// socket file there).
fn check_lesson(n: u32) {
    let scratch = Scratch::new(&format!("lesson-{n}"));
    let cwd = scratch.path().join("cwd");
    std::fs::create_dir(&cwd).expect("cwd");
    let out_path = scratch.path().join("output");
    let out = std::fs::File::create(&out_path).expect("output file");
    let mut child = std::process::Command::new(common::BIN)
        .args(["--color", "never", "--lesson", &n.to_string(), "--check"])
        .current_dir(&cwd)
        .env("SOCKPLAY_CONFIG_DIR", scratch.path().join("config"))
        .env("SOCKPLAY_HISTORY", scratch.path().join("history"))
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().expect("clone"))
        .stderr(out)
        .spawn()
        .expect("spawn sockplay");
    let status = common::wait_bounded(&mut child, std::time::Duration::from_secs(30));
    let run = Run {
        output: std::fs::read_to_string(&out_path).unwrap_or_default(),
        status,
    };
    assert_eq!(
        run.status,
        Some(0),
        "lesson {n} failed its check:\n{}",
        run.output
    );
    assert_has(&run, "every command ran and");
    assert_lacks(&run, "expect failed");
    let left: Vec<String> = std::fs::read_dir(&cwd)
        .expect("read cwd")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.is_empty(),
        "lesson {n} left {left:?} in the directory it ran in:\n{}",
        run.output
    );
}

macro_rules! lessons {
    ($($name:ident = $n:literal),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_lesson($n);
            }
        )*
    };
}

lessons!(
    lesson_01_names = 1,
    lesson_02_tcp = 2,
    lesson_03_clients_in_turn = 3,
    lesson_04_udp = 4,
    lesson_05_sticky = 5,
    lesson_06_broken_pipe = 6,
    lesson_07_options = 7,
    lesson_08_unix = 8,
    lesson_09_http = 9,
    lesson_10_handshake = 10,
    lesson_11_blocking = 11,
    lesson_12_chat = 12,
    lesson_13_python_lines = 13,
    lesson_17_c10k = 17,
    lesson_18_your_program = 18,
);

/// The lab's lessons (14 to 16) make network namespaces: as root (CI), or
/// skipped with the reason.
fn check_lab_lesson(n: u32) {
    // SAFETY: geteuid only reads the process's credentials.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: lesson {n} needs a lab, and a lab needs root (or sockplay --lab)");
        return;
    }
    check_lesson(n);
}

#[test]
fn lesson_14_loss() {
    check_lab_lesson(14);
}

#[test]
fn lesson_15_any_address() {
    check_lab_lesson(15);
}

#[test]
fn lesson_16_delay() {
    check_lab_lesson(16);
}

/// Lesson 10's `states` shows captured segments as root and sampled
/// states otherwise: its checks must hold either way. As root, run it once
/// more as `nobody` (setpriv), where the capture is not permitted.
#[test]
fn lesson_10_holds_without_root_too() {
    // SAFETY: geteuid only reads the process's credentials.
    if unsafe { libc::geteuid() } != 0 {
        // Not root: lesson_10_handshake already ran it without the capture.
        return;
    }
    if !common::have_peer("setpriv") {
        return;
    }
    let scratch = Scratch::new("lesson-10-nobody");
    let out_path = scratch.path().join(".output");
    let out = std::fs::File::create(&out_path).expect("output file");
    let mut child = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(common::BIN)
        .args(["--color", "never", "--lesson", "10", "--check"])
        // A directory `nobody` may enter; the lesson writes no file.
        .current_dir("/")
        .env("SOCKPLAY_CONFIG_DIR", scratch.path().join(".config"))
        .env("SOCKPLAY_HISTORY", scratch.path().join(".history"))
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().expect("clone"))
        .stderr(out)
        .spawn()
        .expect("spawn setpriv");
    let status = common::wait_bounded(&mut child, std::time::Duration::from_secs(30));
    let text = std::fs::read_to_string(&out_path).unwrap_or_default();
    assert_eq!(status, Some(0), "lesson 10 as nobody:\n{text}");
    assert!(text.contains("no capture of the segments"), "{text}");
    assert!(text.contains("every command ran and"), "{text}");
}

#[test]
fn every_bundled_lesson_is_checked_here() {
    assert_eq!(sockplay::lessons::LESSONS.len(), 18);
}

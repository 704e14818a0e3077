//! Attacks on sockplay, each kept as a test (issue 12): what a lesson, a
//! script, piped input or a peer tried, and what must happen instead.
//! Every run has a deadline; addresses are loopback; files live in a
//! scratch directory.

mod common;

use common::{PAIR, Run, Scratch, has, script};
use std::path::Path;
use std::process::{Command, Stdio};

fn read(p: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned()
}

/// The peer sends `evil` and closes, so a recvfile ends at once.
fn sending(lines: &str) -> String {
    format!("{PAIR}send k b\"evil\"\nclose k\n{lines}")
}

#[test]
fn a_script_never_replaces_a_file() {
    let s = Scratch::new("harden-replace");
    let victim = s.path().join("victim.txt");
    std::fs::write(&victim, "precious").expect("victim");
    let run = script(s.path(), &["--check"], &sending("recvfile c victim.txt\n"));
    assert_eq!(run.status, Some(1), "{}", run.output);
    has(&run, "FileExistsError");
    has(&run, "--allow-replace");
    assert_eq!(read(&victim), "precious");
    // Allowed by the flag that the error names.
    let run = script(
        s.path(),
        &["--allow-replace"],
        &sending("recvfile c victim.txt\n"),
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert_eq!(read(&victim), "evil");
}

#[test]
fn a_script_never_writes_through_a_symlink() {
    let s = Scratch::new("harden-link");
    let outside = Scratch::new("harden-link-outside");
    let victim = outside.path().join("bashrc");
    std::fs::write(&victim, "precious").expect("victim");
    let work = s.path();
    std::os::unix::fs::symlink(&victim, work.join("link.txt")).expect("link");
    std::os::unix::fs::symlink(outside.path(), work.join("sub")).expect("dir link");
    // A dangling link is followed by O_CREAT too: it must be refused.
    std::os::unix::fs::symlink(outside.path().join("new"), work.join("dangling"))
        .expect("dangling");
    for (target, what) in [
        ("link.txt", "symbolic link"),
        ("dangling", "symbolic link"),
        ("sub/new.bin", "symbolic link"),
    ] {
        // Even with replacing allowed: a link is never written through.
        let run = script(
            work,
            &["--allow-replace"],
            &sending(&format!("recvfile c {target}\n")),
        );
        assert_eq!(run.status, Some(1), "{target}: {}", run.output);
        has(&run, what);
    }
    assert_eq!(read(&victim), "precious");
    assert!(!outside.path().join("new").exists());
    assert!(!outside.path().join("new.bin").exists());
}

#[test]
fn a_script_writes_only_under_the_current_directory() {
    let s = Scratch::new("harden-where");
    let other = Scratch::new("harden-where-other");
    let abs = other.path().join("x.bin");
    let abs = abs.to_str().expect("utf-8 path");
    for target in [abs, "../x.bin", "./a/../../x.bin"] {
        let run = script(s.path(), &[], &sending(&format!("recvfile c {target}\n")));
        assert_eq!(run.status, Some(1), "{target}: {}", run.output);
        has(&run, "PermissionError");
        has(&run, "--allow-write");
    }
    assert!(!other.path().join("x.bin").exists());
    assert!(!s.path().parent().is_some_and(|p| p.join("x.bin").exists()));
    // --allow-write DIR opens that directory to new files.
    let dir = other.path().to_str().expect("utf-8 path");
    let run = script(
        s.path(),
        &["--allow-write", dir],
        &sending(&format!("recvfile c {abs}\n")),
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert_eq!(read(&other.path().join("x.bin")), "evil");
    // New files in the current directory (and in its folders) are fine.
    std::fs::create_dir(s.path().join("out")).expect("out");
    let run = script(s.path(), &[], &sending("recvfile c out/new.bin\n"));
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert_eq!(read(&s.path().join("out/new.bin")), "evil");
}

#[test]
fn a_script_cannot_widen_where_it_writes() {
    let s = Scratch::new("harden-widen");
    let run = script(s.path(), &[], "set write replace\n");
    assert_eq!(run.status, Some(1), "{}", run.output);
    has(&run, "--allow-replace");
    let run = script(s.path(), &[], "set write /\n");
    assert_eq!(run.status, Some(1), "{}", run.output);
    has(&run, "--allow-write");
}

#[test]
fn a_failed_recvfile_keeps_its_target_and_leaves_nothing() {
    let s = Scratch::new("harden-keep");
    let target = s.path().join("target.bin");
    std::fs::write(&target, "precious").expect("target");
    // The peer resets the connection: recvfile fails after some bytes.
    let text = format!(
        "{PAIR}send k b\"partial data\"\n\
         setsockopt k SO_LINGER 1 0\n\
         sleep 0.1\n\
         close k\n\
         recvfile c target.bin\n\
         expect error ECONNRESET\n\
         recvfile c fresh.bin\n"
    );
    let run = script(s.path(), &["--allow-replace", "--keep-going"], &text);
    assert_eq!(run.status, Some(0), "{}", run.output);
    has(&run, "ConnectionResetError");
    has(&run, "target.bin was left as it was");
    assert_eq!(read(&target), "precious", "{}", run.output);
    let left: Vec<String> = std::fs::read_dir(s.path())
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && n != "t.sp" && n != "target.bin")
        .collect();
    // fresh.bin was received whole (b'' at once: the connection is gone,
    // so 0 bytes) or not at all; no temporary file stays.
    assert!(
        left.iter().all(|n| n == "fresh.bin"),
        "left behind: {left:?}\n{}",
        run.output
    );
    let hidden: Vec<String> = std::fs::read_dir(s.path())
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("sockplay"))
        .collect();
    assert!(hidden.is_empty(), "temporary files left: {hidden:?}");
}

/// A file written from a script: sockplay `args` reading `lines` on stdin.
fn piped(dir: &Path, args: &[&str], lines: &str) -> Run {
    common::run_in(dir, args, Some(lines))
}

#[test]
fn piped_input_and_dash_c_are_scripts_too() {
    let s = Scratch::new("harden-piped");
    let victim = s.path().join("victim.txt");
    std::fs::write(&victim, "precious").expect("victim");
    let run = piped(s.path(), &[], &sending("recvfile c victim.txt\n"));
    has(&run, "FileExistsError");
    let run = common::run_in(s.path(), &["-c", &sending("recvfile c victim.txt\n")], None);
    has(&run, "FileExistsError");
    assert_eq!(read(&victim), "precious");
}

#[allow(dead_code)]
fn spawn_plain(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = common::command(dir, args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

#[test]
fn typed_at_the_prompt_replacing_a_file_asks_first() {
    use common::pty;
    let s = Scratch::new("harden-ask");
    let victim = s.path().join("v.txt");
    std::fs::write(&victim, "precious").expect("victim");
    let mut p = pty::spawn(s.path());
    for line in sending("").lines() {
        pty::send_line(&mut p, line);
        pty::wait_prompt(&mut p);
    }
    pty::send_line(&mut p, "recvfile c v.txt");
    pty::expect(&mut p, "v.txt exists: replace it? [y/N]");
    pty::send_line(&mut p, "n");
    pty::expect(&mut p, "FileExistsError");
    pty::expect(&mut p, "kept as it was");
    pty::wait_prompt(&mut p);
    assert_eq!(read(&victim), "precious");
    pty::send_line(&mut p, "recvfile c v.txt");
    pty::expect(&mut p, "replace it? [y/N]");
    pty::send_line(&mut p, "y");
    pty::expect(&mut p, "wrote v.txt: 4 bytes");
    pty::wait_prompt(&mut p);
    assert_eq!(read(&victim), "evil");
    // At the prompt a path may go anywhere the user can write.
    let other = Scratch::new("harden-ask-other");
    let elsewhere = other.path().join("x.bin");
    pty::run(
        &mut p,
        &format!("recvfile c {}", elsewhere.display()),
        "wrote",
    );
    assert!(elsewhere.exists());
    pty::leave(&mut p);
}

#[test]
fn a_script_binds_and_unlinks_socket_files_only_here() {
    let s = Scratch::new("harden-sock");
    let other = Scratch::new("harden-sock-other");
    // Another program's socket, outside the lesson's directory.
    let theirs = other.path().join("bus.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&theirs).expect("their socket");
    std::os::unix::fs::symlink(other.path(), s.path().join("sub")).expect("dir link");
    let theirs_s = theirs.to_str().expect("utf-8");
    let mine = other.path().join("mine.sock");
    let mine_s = mine.to_str().expect("utf-8");
    for (line, want) in [
        (format!("unlink {theirs_s}"), "PermissionError"),
        ("unlink sub/bus.sock".to_string(), "symbolic link"),
        (
            format!("x = socket unix; bind x {mine_s}"),
            "PermissionError",
        ),
        (
            "x = socket unix; bind x sub/mine.sock".to_string(),
            "symbolic link",
        ),
        (format!("a = serve echo {mine_s}"), "PermissionError"),
    ] {
        let run = script(s.path(), &[], &format!("{line}\n"));
        assert_eq!(run.status, Some(1), "{line}: {}", run.output);
        has(&run, want);
    }
    assert!(theirs.exists(), "their socket file was removed");
    assert!(!mine.exists());
    // Here is fine, and so is a directory allowed by the flag.
    let run = script(
        s.path(),
        &["--allow-write", other.path().to_str().expect("utf-8")],
        &format!(
            "x = socket unix\nbind x ./here.sock\nclose x\nunlink ./here.sock\ny = socket unix\nbind y {mine_s}\n"
        ),
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(mine.exists());
}

#[test]
fn a_script_reads_files_only_here() {
    let s = Scratch::new("harden-read");
    let other = Scratch::new("harden-read-other");
    let secret = other.path().join("id_rsa");
    std::fs::write(&secret, "secret").expect("secret");
    std::os::unix::fs::symlink(&secret, s.path().join("leak")).expect("link");
    let secret_s = secret.to_str().expect("utf-8");
    let other_s = other.path().to_str().expect("utf-8");
    for line in [
        format!("sendfile k {secret_s}"),
        "sendfile k leak".to_string(),
        format!("a = serve http {other_s}"),
    ] {
        let run = script(s.path(), &[], &format!("{PAIR}{line}\n"));
        assert_eq!(run.status, Some(1), "{line}: {}", run.output);
        has(&run, "PermissionError");
        has(&run, "--allow-read");
    }
    let run = script(
        s.path(),
        &["--allow-read", other_s],
        &format!("{PAIR}sendfile k leak\nclose k\nrecv c\n"),
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    has(&run, "b'secret'");
}

/// Runs sockplay on `text` (as the file `t.sp`) with its address space
/// limited to `kib` KiB (`ulimit -v`), so that a value that is too large
/// fails an allocation instead of taking the machine's memory.
fn limited(dir: &Path, kib: u64, args: &[&str], text: &str) -> Run {
    std::fs::write(dir.join("t.sp"), text).expect("write the script");
    let mut line = format!("ulimit -v {kib}; exec \"$0\" --color never");
    for a in args {
        line.push_str(&format!(" '{a}'"));
    }
    line.push_str(" t.sp");
    let out = Command::new("sh")
        .args(["-c", &line, common::BIN])
        .current_dir(dir)
        .env("SOCKPLAY_CONFIG_DIR", dir.join(".config"))
        .env("SOCKPLAY_HISTORY", dir.join(".history"))
        .stdin(Stdio::null())
        .output()
        .expect("run sockplay under ulimit");
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stderr));
    Run {
        output,
        status: out.status.code(),
    }
}

/// No abort, no panic, no allocation failure message from the runtime.
fn clean(run: &Run) {
    for bad in [
        "panicked",
        "memory allocation of",
        "Aborted",
        "RUST_BACKTRACE",
    ] {
        assert!(!run.output.contains(bad), "{bad:?} in:\n{}", run.output);
    }
    assert!(run.status.is_some(), "killed by a signal:\n{}", run.output);
}

#[test]
fn plus_has_the_size_limit_of_star() {
    let s = Scratch::new("harden-plus");
    let run = limited(
        s.path(),
        2_000_000,
        &[],
        "a = b\"x\" * 268435456\na = a + a\na = a + a\necho \"grown\"\n",
    );
    clean(&run);
    assert_eq!(run.status, Some(1), "{}", run.output);
    has(&run, "MemoryError");
    has(&run, "    a = a + a\n        ^^^^^");
    assert!(!run.output.contains("grown"), "{}", run.output);
    // Every other way of building a value has the same limit.
    for line in [
        "s = \"y\" * 268435456\nt = s + \"z\"",
        "a = b\"x\" * 134217728\nb = a + a + b\"!\"",
        "a = b\"x\" * 268435456\nt = (a, a, a)\necho t",
        "a = b\"x\" * 268435456\necho a a a a a a",
        "s = \"y\" * 268435456\nb = s.encode() + b\"!\"",
    ] {
        let run = limited(s.path(), 2_000_000, &["--keep-going"], &format!("{line}\n"));
        clean(&run);
        has(&run, "MemoryError");
    }
}

#[test]
fn a_stored_value_costs_its_size_once() {
    let s = Scratch::new("harden-once");
    // 256 MiB and a little: one copy fits in 600 MB of address space,
    // three (the value, its name, the item that showed it) did not.
    let run = limited(
        s.path(),
        600_000,
        &[],
        "a = b\"x\" * 268435456\nb = a\nt = (a, b)\nvars\necho \"stored\"\n",
    );
    clean(&run);
    assert_eq!(run.status, Some(0), "{}", run.output);
    has(&run, "  stored");
}

#[test]
fn a_value_that_does_not_fit_is_a_memory_error() {
    let s = Scratch::new("harden-nofit");
    // Not even one copy fits: the error says so, and the shell goes on.
    let run = limited(
        s.path(),
        250_000,
        &["--keep-going"],
        "a = b\"x\" * 268435456\nz = zeros 200M + b\"x\"\necho \"still here\"\n",
    );
    clean(&run);
    has(&run, "MemoryError");
    has(&run, "  still here");
}

#[test]
fn a_large_recv_into_a_name_takes_only_what_came() {
    let s = Scratch::new("harden-recv");
    let run = limited(
        s.path(),
        250_000,
        &[],
        &format!(
            "{PAIR}send k b\"hello\"\ndata = recv c 268435456\nsend k b\"again\"\nmore = recv c 268435456 waitall dontwait\necho \"done\"\n"
        ),
    );
    clean(&run);
    has(&run, "data = b'hello'");
    has(&run, "  done");
}

/// Runs `sh -c LINE` (with `$0` = sockplay) in `dir`, sealed, at most 120 s.
fn shell(dir: &Path, line: &str) -> Run {
    let mut child = Command::new("sh")
        .args(["-c", line, common::BIN])
        .current_dir(dir)
        .env("SOCKPLAY_CONFIG_DIR", dir.join(".config"))
        .env("SOCKPLAY_HISTORY", dir.join(".history"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut s);
        s
    });
    let mut o = Vec::new();
    let _ = std::io::Read::read_to_end(&mut out, &mut o);
    let status = common::wait_bounded(&mut child, std::time::Duration::from_secs(120));
    let mut output = String::from_utf8_lossy(&o).into_owned();
    output.push_str(&String::from_utf8_lossy(&t.join().unwrap_or_default()));
    Run { output, status }
}

#[test]
fn an_endless_line_on_stdin_is_a_clean_error() {
    let s = Scratch::new("harden-line");
    // 300 MB without a newline, then a line that must still run.
    let run = shell(
        s.path(),
        "ulimit -v 2000000; { head -c 300000000 /dev/zero | tr '\\0' a; printf '\\necho \"after\"\\n'; } \
         | \"$0\" --color never --keep-going",
    );
    clean(&run);
    assert_eq!(run.status, Some(1), "{}", run.output);
    has(&run, "<stdin>:1:");
    has(&run, "longer than 4 MiB");
    has(&run, "  after");
    // Without --keep-going the script stops there.
    let run = shell(
        s.path(),
        "ulimit -v 2000000; { head -c 5000000 /dev/zero | tr '\\0' a; printf '\\necho \"after\"\\n'; } \
         | \"$0\" --color never",
    );
    clean(&run);
    assert_eq!(run.status, Some(1), "{}", run.output);
    assert!(!run.output.contains("  after"), "{}", run.output);
}

#[test]
fn a_long_line_in_a_file_or_a_sourced_file_is_the_same_error() {
    let s = Scratch::new("harden-line-file");
    let mut long = vec![b'a'; 5 << 20];
    long.extend_from_slice(b"\necho \"after\"\n");
    std::fs::write(s.path().join("long.sp"), &long).expect("long.sp");
    let run = common::run_in(s.path(), &["--keep-going", "long.sp"], None);
    has(&run, "long.sp:1:");
    has(&run, "longer than 4 MiB");
    has(&run, "  after");
    let run = script(
        s.path(),
        &["--keep-going"],
        "source long.sp\necho \"next\"\n",
    );
    has(&run, "long.sp:1:");
    has(&run, "longer than 4 MiB");
    has(&run, "  next");
}

#[test]
fn invalid_utf8_in_a_script_points_at_the_line_and_byte() {
    let s = Scratch::new("harden-utf8");
    std::fs::write(
        s.path().join("bad.sp"),
        b"echo \"fine\"\necho \"a\xffb\"\necho \"end\"\n",
    )
    .expect("bad.sp");
    let run = common::run_in(s.path(), &["bad.sp"], None);
    assert_eq!(run.status, Some(1), "{}", run.output);
    has(&run, "bad.sp:2:");
    has(&run, "can't decode byte 0xff in position 7");
    // Nothing of the line ran as U+FFFD.
    assert!(!run.output.contains("a\u{fffd}b"), "{}", run.output);
    assert!(!run.output.contains("  end"), "{}", run.output);
    // The same on stdin, and through source.
    let run = common::run_in(s.path(), &[], Some("echo \"fine\"\nsource bad.sp\n"));
    has(&run, "bad.sp:2:");
    has(&run, "can't decode byte 0xff");
}

#[test]
fn paths_and_addresses_from_outside_reach_the_terminal_escaped() {
    let s = Scratch::new("harden-esc");
    // The working directory itself has ESC and BEL in its name (a hint
    // shows it).
    let dir = s.path().join("d\x1b[31m\x07");
    std::fs::create_dir(&dir).expect("dir");
    let text = format!(
        "{PAIR}\
         x = socket unix\n\
         bind x \"./a\\x1b[31m\\x07.sock\"\n\
         getsockname x\n\
         close x\n\
         unlink \"./a\\x1b[31m\\x07.sock\"\n\
         unlink \"./a\\x1b[31m\\x07.sock\"\n\
         u = socket unix-dgram\n\
         bind u \"./u\\x1b]0;t\\x07.sock\"\n\
         m = socket unix-dgram\n\
         bind m \"./m\\x1b[2J\\x07.sock\"\n\
         sendto m b\"hi\" \"./u\\x1b]0;t\\x07.sock\"\n\
         data, addr = recvfrom u\n\
         echo addr\n\
         unlink addr\n\
         sockets\n\
         info m\n\
         y = socket unix\n\
         connect y \"./no\\x1b[5m/x.sock\"\n\
         sendfile k \"missing\\x07.bin\"\n\
         p = serve echo \"./p\\x1b[1m\\x07.sock\"\n\
         peers\n\
         stop 1\n\
         echo \"--- end ---\"\n"
    );
    std::fs::write(dir.join("t.sp"), &text).expect("script");
    let out = Command::new(common::BIN)
        .args(["--color", "never", "--keep-going", "t.sp"])
        .current_dir(&dir)
        .env("SOCKPLAY_CONFIG_DIR", dir.join(".config"))
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let mut all = out.stdout.clone();
    all.extend_from_slice(&out.stderr);
    let text = String::from_utf8_lossy(&all);
    assert!(text.contains("--- end ---"), "{text}");
    for (k, line) in text.lines().enumerate() {
        assert!(
            !line.contains('\x1b') && !line.contains('\x07'),
            "raw ESC or BEL on line {}: {line:?}\n{text}",
            k + 1
        );
    }
    for want in [
        r"bound x to ./a\x1b[31m\x07.sock",
        r"the socket file ./a\x1b[31m\x07.sock",
        r"removed the socket file ./a\x1b[31m\x07.sock",
        r"there is no file ./a\x1b[31m\x07.sock",
        r"removed the socket file ./m\x1b[2J\x07.sock",
        r"d\x1b[31m\x07",
    ] {
        assert!(text.contains(want), "{want:?} in:\n{text}");
    }
}

#[test]
fn macro_fan_out_is_bounded() {
    let s = Scratch::new("harden-fanout");
    // Ten levels, each calling the next ten times: 10^10 calls.
    let mut text = String::new();
    for level in 0..10 {
        text.push_str(&format!("macdef m{level}\n"));
        for _ in 0..10 {
            if level == 9 {
                text.push_str("echo \"leaf\"\n");
            } else {
                text.push_str(&format!("$m{}\n", level + 1));
            }
        }
        text.push('\n');
    }
    text.push_str("$m0\necho \"after\"\n");
    let started = std::time::Instant::now();
    let run = script(s.path(), &["--keep-going"], &text);
    assert!(run.status.is_some(), "it had to be killed");
    assert_eq!(
        run.status,
        Some(1),
        "{}",
        common::proc::tail_of(&run.output, 2000)
    );
    has(&run, "expand");
    has(&run, "  after");
    eprintln!("stopped after {:?}", started.elapsed());
}
#[test]
fn sendfile_of_a_procfs_file_sends_its_real_content() {
    let s = Scratch::new("harden-proc");
    let run = script(
        s.path(),
        &["--allow-read", "/proc"],
        &format!(
            "{PAIR}n = sendfile k /proc/self/status\n\
             m = sendfile k /proc/cpuinfo\n\
             close k\n\
             d = recv c 1048576 waitall\n\
             echo d\n"
        ),
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    has(&run, "Name:");
    has(&run, "processor");
    assert!(!run.output.contains("n = 0"), "{}", run.output);
    assert!(!run.output.contains("m = 0"), "{}", run.output);
}

#[test]
fn a_missing_directory_is_said_so_for_serve_bind_and_source() {
    let s = Scratch::new("harden-nodir");
    let run = script(
        s.path(),
        &["--keep-going"],
        "a = serve echo ./nodir/e.sock\n\
         x = socket unix\n\
         bind x ./nodir/x.sock\n\
         source ./nodir/lesson.sp\n\
         source missing.sp\n",
    );
    assert!(
        !run.output.contains("the server must bind the path first"),
        "{}",
        run.output
    );
    has(&run, "there is no folder nodir");
    has(&run, "no such file or folder; a relative path starts in");
    // Typed at the prompt (where the kernel finds the folder missing).
    use common::pty;
    let mut p = pty::spawn(s.path());
    for line in [
        "a = serve echo ./nodir/e.sock",
        "x = socket unix; bind x ./nodir/x.sock",
    ] {
        pty::send_line(&mut p, line);
        let before = pty::expect(&mut p, "hint:");
        let hint = pty::wait_prompt(&mut p);
        assert!(before.contains("FileNotFoundError"), "{before}");
        assert!(hint.contains("there is no folder ./nodir"), "{hint}");
        assert!(!hint.contains("must bind"), "{hint}");
    }
    pty::leave(&mut p);
}

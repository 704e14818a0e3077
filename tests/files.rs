//! The files the shell writes when asked (`log`, `states save`, `diagram
//! save`, and `export`), through the real binary: one set of rules
//! (src/files.rs). A directory or a device is never opened for writing and
//! never called a file to remove; a missing directory is said as such; a
//! script (`-c`, a file, a lesson) writes only new files under the current
//! directory, so that a lesson cannot create `~/.profile` with bytes of its
//! choosing.
//!
//! Paths are in a scratch directory (and /dev/full, which is never
//! written); ports are the kernel's; every run is bounded (30 s).

mod common;

use common::Scratch;

fn run(scratch: &Scratch, script: &str) -> String {
    let run = common::run_in(scratch.path(), &["--keep-going", "-c", script], None);
    assert!(run.status.is_some(), "killed after 30 s:\n{}", run.output);
    run.output
}

/// The error lines of the statement `stmt` (its echo up to the next one).
fn after<'a>(out: &'a str, stmt: &str) -> &'a str {
    let at = out
        .find(&format!("{stmt}\n"))
        .unwrap_or_else(|| panic!("no {stmt:?} in:\n{out}"));
    let rest = &out[at + stmt.len()..];
    let end = rest.find("sockplay> ").unwrap_or(rest.len());
    &rest[..end]
}

/// (A device, /dev/full, typed in the shell: src/files.rs's tests.)
#[test]
fn a_directory_is_no_file_to_write_or_remove_and_a_missing_one_is_said() {
    let scratch = Scratch::new("files-kinds");
    std::fs::create_dir_all(scratch.path().join("sub")).expect("sub");
    let out = run(&scratch, "log sub\nlog nodir/x.log");
    let dir = after(&out, "log sub");
    assert!(
        dir.contains("sub is a directory: log writes a file"),
        "{out}"
    );
    assert!(
        !dir.contains("unlink") && !dir.contains("remove it"),
        "{out}"
    );
    let missing = after(&out, "log nodir/x.log");
    assert!(missing.contains("FileNotFoundError"), "{out}");
    assert!(missing.contains("there is no directory nodir"), "{out}");
    assert!(!missing.contains("UNIX socket"), "{out}");
}

#[test]
fn a_script_writes_only_new_files_under_the_current_directory() {
    let scratch = Scratch::new("files-scripted");
    let outside = scratch.path().join("outside");
    std::fs::create_dir_all(&outside).expect("outside");
    let here = scratch.path().join("here");
    std::fs::create_dir_all(&here).expect("here");
    let abs = outside.join("abs.log");
    std::os::unix::fs::symlink(&outside, here.join("out")).expect("link");
    let script = format!(
        "log {}\nlog ../up.log\nlog out/through.log\nlog ok.log\nlog off",
        abs.display()
    );
    let run = common::run_in(&here, &["--keep-going", "-c", &script], None);
    let out = run.output;
    assert_eq!(
        out.matches("a script or lesson writes only new files under the current directory")
            .count(),
        2,
        "{out}"
    );
    assert!(
        out.contains("is a symbolic link: a script or lesson does not write through one"),
        "{out}"
    );
    assert!(out.contains("log off: 0 chunks"), "{out}");
    assert!(!abs.exists(), "{out}");
    assert!(!scratch.path().join("up.log").exists(), "{out}");
    assert!(!outside.join("through.log").exists(), "{out}");
    assert!(here.join("ok.log").exists(), "{out}");
}

/// As root (or wherever the capture runs), `states save` and `diagram
/// save` follow the same rules.
#[test]
fn states_save_and_diagram_save_follow_the_same_rules() {
    let scratch = Scratch::new("files-wire");
    std::fs::create_dir_all(scratch.path().join("sub")).expect("sub");
    std::fs::write(scratch.path().join("old.pcap"), b"keep").expect("old");
    let out = run(
        &scratch,
        "s = socket tcp\nbind s 127.0.0.1 0\nlisten s\nk = socket tcp\nconnect k s\n\
         c = accept s\nstates save sub\nstates save old.pcap\nstates save /dev/full\n\
         diagram k save sub\ndiagram k save ../x.svg\nstates save new.pcap",
    );
    if out.contains("nothing was captured") {
        eprintln!("skipped: no capture here (root, or --lab)");
        return;
    }
    assert!(
        after(&out, "states save sub").contains("sub is a directory: states save writes a file"),
        "{out}"
    );
    assert!(
        after(&out, "states save old.pcap")
            .contains("old.pcap exists, and states save never replaces a file"),
        "{out}"
    );
    // /dev/full is outside the current directory: refused before anything
    // else (and no hint ever says to remove it).
    let dev = after(&out, "states save /dev/full");
    assert!(
        dev.contains("writes only new files under the current directory"),
        "{out}"
    );
    assert!(!out.contains("unlink /dev/full"), "{out}");
    assert!(
        after(&out, "diagram k save sub")
            .contains("sub is a directory: diagram save writes a file"),
        "{out}"
    );
    assert!(
        after(&out, "diagram k save ../x.svg").contains("under the current directory"),
        "{out}"
    );
    assert!(
        after(&out, "states save new.pcap").contains("wrote "),
        "{out}"
    );
    assert_eq!(
        std::fs::read(scratch.path().join("old.pcap")).expect("old"),
        b"keep"
    );
}

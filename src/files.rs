//! Creating the files the shell writes when asked (`export`, `record`,
//! `states save`, `diagram save`, `log`), by one set of rules:
//!
//! - an existing file is replaced only when asked (`force`, which only
//!   `export` and `record` have), and only a regular file: a directory or a
//!   device (/dev/full) is never opened for writing;
//! - a symbolic link is never followed (O_NOFOLLOW on the last part, and
//!   O_EXCL for a new file, which does not follow one either);
//! - from a script or a lesson (`scripted`), only a new file under the
//!   current directory: a relative path, no `..`, no symbolic link on the
//!   way, never an existing file (a lesson from elsewhere must not be able
//!   to write, say, `log ~/.profile` with bytes of its choosing);
//! - an error says what the name is, in the words of the command.
//!
//! In: a path and the rules. Out: the open file, or an error with a hint.

use crate::errors::ExecError;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path};

/// Opens `path` for writing (mode 0644) as described above; `force`
/// replaces an existing regular file.
pub fn create(path: &Path, force: bool, scripted: bool) -> Result<File, ExecError> {
    open(path, Some(force), scripted, 0o644, "export")
}

/// Creates `path` (mode `mode`) for a command that never replaces a file
/// (`cmd`, named in the errors).
pub fn create_new(path: &Path, scripted: bool, mode: u32, cmd: &str) -> Result<File, ExecError> {
    open(path, None, scripted, mode, cmd)
}

/// Creates `path` with `bytes` in it (mode 0644) for `cmd`, which never
/// replaces a file; a file left half written (the disk filled) is removed.
pub fn write_new(path: &Path, bytes: &[u8], scripted: bool, cmd: &str) -> Result<(), ExecError> {
    let mut f = create_new(path, scripted, 0o644, cmd)?;
    if let Err(e) = f.write_all(bytes).and_then(|()| f.flush()) {
        drop(f);
        let _ = std::fs::remove_file(path);
        return Err(named(ExecError::from(e), path).hint("the file could not be written there"));
    }
    Ok(())
}

/// The error, with the file's name as Python puts it (`...: 'x.pcap'`).
fn named(mut x: ExecError, path: &Path) -> ExecError {
    x.message = format!(
        "{}: {}",
        x.message,
        crate::value::str_repr(&path.display().to_string())
    );
    x
}

/// `force`: None for a command that never replaces a file.
fn open(
    path: &Path,
    force: Option<bool>,
    scripted: bool,
    mode: u32,
    cmd: &str,
) -> Result<File, ExecError> {
    let shown = crate::value::escape_controls(&path.display().to_string());
    if path.as_os_str().is_empty() {
        return Err(ExecError::usage(format!("{cmd} needs a file name")));
    }
    if scripted {
        let inside = path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside {
            return Err(ExecError::usage(format!(
                "a script or lesson writes only new files under the current directory, not {shown}"
            ))
            .hint("give a relative path without `..` (talk.py, capture.pcap)"));
        }
        // No symbolic link on the way (a directory link could lead out).
        let mut at = std::path::PathBuf::new();
        let parts: Vec<Component> = path.components().collect();
        for c in &parts[..parts.len().saturating_sub(1)] {
            at.push(c);
            if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(ExecError::usage(format!(
                    "{} is a symbolic link: a script or lesson does not write through one",
                    crate::value::escape_controls(&at.display().to_string())
                )));
            }
        }
    }
    let existing = std::fs::symlink_metadata(path).ok();
    if let Some(m) = &existing {
        if m.file_type().is_symlink() {
            return Err(ExecError::usage(format!(
                "{shown} is a symbolic link: sockplay does not write through one"
            ))
            .hint("remove the link, or pick another name"));
        }
        if m.is_dir() {
            return Err(
                ExecError::usage(format!("{shown} is a directory: {cmd} writes a file"))
                    .hint("give a file's name (in that directory: add /NAME)"),
            );
        }
        if !m.is_file() {
            return Err(ExecError::usage(format!(
                "{shown} exists and is not a regular file (a device, a pipe or a socket): {cmd} writes only files"
            ))
            .hint("pick another name"));
        }
        let replace = match force {
            Some(f) if !scripted => f,
            _ => false,
        };
        if !replace {
            return Err(named(ExecError::os(libc::EEXIST), path).hint(match force {
                None => format!(
                    "{shown} exists, and {cmd} never replaces a file: pick another name, or remove it first"
                ),
                Some(_) if scripted => {
                    format!("{shown} exists: a script or lesson only creates new files")
                }
                Some(_) => format!("{shown} exists: add force to replace it, or pick another name"),
            }));
        }
    }
    let mut o = OpenOptions::new();
    o.write(true).mode(mode).custom_flags(libc::O_NOFOLLOW);
    if existing.is_some() {
        o.truncate(true);
    } else {
        o.create_new(true);
    }
    o.open(path).map_err(|e| {
        let x = named(ExecError::from(e), path);
        let hint = match x.errno {
            Some(libc::ELOOP) => {
                format!("{shown} is a symbolic link: sockplay does not write through one")
            }
            Some(libc::EEXIST) => {
                format!("{shown} was made just now by someone else: pick another name")
            }
            Some(libc::ENOENT) | Some(libc::ENOTDIR) => match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => format!(
                    "there is no directory {}: sockplay makes files, not directories",
                    crate::value::escape_controls(&d.display().to_string())
                ),
                _ => "the file could not be made there".into(),
            },
            Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS) => {
                "this user may not write there: pick a directory of your own".into()
            }
            _ => "the file could not be made there".into(),
        };
        x.hint(hint)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("sockplay-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch dir");
        d
    }

    #[test]
    fn new_files_only_unless_forced_and_never_through_a_link() {
        let d = scratch("rules");
        let f = d.join("a.py");
        create(&f, false, false)
            .expect("new")
            .write_all(b"one")
            .expect("write");
        let e = create(&f, false, false).expect_err("exists");
        assert_eq!(e.errno, Some(libc::EEXIST));
        create(&f, true, false)
            .expect("forced")
            .write_all(b"2")
            .expect("write");
        assert_eq!(std::fs::read(&f).expect("read"), b"2");
        let target = d.join("target.txt");
        std::fs::write(&target, b"keep").expect("target");
        let link = d.join("link.py");
        std::os::unix::fs::symlink(&target, &link).expect("link");
        assert!(create(&link, true, false).is_err());
        assert!(create(&link, false, false).is_err());
        assert_eq!(std::fs::read(&target).expect("read"), b"keep");
        // A dangling link is not followed either.
        let dangling = d.join("dangling.py");
        std::os::unix::fs::symlink(d.join("nowhere.py"), &dangling).expect("link");
        assert!(create(&dangling, false, false).is_err());
        assert!(!d.join("nowhere.py").exists());
        assert!(
            create(&d, true, false).is_err(),
            "a directory is not replaced"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_device_or_a_directory_is_never_opened_nor_called_a_file_to_remove() {
        for p in ["/dev/full", "/dev/null", "/tmp"] {
            let e = create_new(Path::new(p), false, 0o644, "log").expect_err(p);
            assert_eq!(e.errno, None, "{p}: {e:?}");
            let said = format!("{} {}", e.message, e.hint.unwrap_or_default());
            assert!(!said.contains("remove"), "{said}");
        }
        let e = create_new(Path::new("/dev/full"), false, 0o644, "states save").expect_err("dev");
        assert!(
            e.message.contains("is not a regular file") && e.message.contains("states save"),
            "{e:?}"
        );
    }

    #[test]
    fn a_script_writes_only_new_files_below_here() {
        assert!(create(Path::new("/tmp/x.py"), false, true).is_err());
        assert!(create(Path::new("../x.py"), false, true).is_err());
        assert!(create(Path::new("a/../../x.py"), false, true).is_err());
    }
}

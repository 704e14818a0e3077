//! Creating the files `export` and `record` write, carefully: one small
//! function, so it can adopt the shell's general file-writing rules when
//! they come.
//!
//! - an existing file is replaced only when asked (`force`), and only a
//!   regular file;
//! - a symbolic link is never followed (O_NOFOLLOW on the last part, and
//!   O_EXCL for a new file, which does not follow one either);
//! - from a script or a lesson (`scripted`), only a new file under the
//!   current directory: a relative path, no `..`, no symbolic link on the
//!   way, never an existing file.

use crate::errors::ExecError;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path};

/// Opens `path` for writing as described above.
pub fn create(path: &Path, force: bool, scripted: bool) -> Result<File, ExecError> {
    let shown = crate::value::escape_controls(&path.display().to_string());
    if path.as_os_str().is_empty() {
        return Err(ExecError::usage("a file name: export talk.py"));
    }
    // A newline in the name would end the program's first comment (the
    // file's name) and start a line of code; no one types an escape or a
    // newline into a file name on purpose.
    if path.to_string_lossy().chars().any(char::is_control) {
        return Err(ExecError::usage(format!(
            "{shown} has control characters (a newline, an escape) in its name"
        ))
        .hint("name the file with printable characters: export talk.py"));
    }
    if scripted {
        let inside = path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside {
            return Err(ExecError::usage(format!(
                "a script or lesson writes only new files under the current directory, not {shown}"
            ))
            .hint("give a relative path without `..` (export talk.py)"));
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
        if !m.is_file() {
            return Err(ExecError::usage(format!(
                "{shown} exists and is not a regular file"
            )));
        }
        if scripted {
            return Err(ExecError::os(libc::EEXIST).hint(format!(
                "{shown} exists: a script or lesson only creates new files"
            )));
        }
        if !force {
            return Err(ExecError::os(libc::EEXIST).hint(format!(
                "{shown} exists: add force to replace it, or pick another name"
            )));
        }
    }
    let mut o = OpenOptions::new();
    o.write(true).mode(0o644).custom_flags(libc::O_NOFOLLOW);
    if existing.is_some() {
        o.truncate(true);
    } else {
        o.create_new(true);
    }
    o.open(path).map_err(|e| {
        let mut x = ExecError::from(e);
        // The errno's hint is about sockets (a UNIX path, a port below
        // 1024): say what it means for a file.
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => {
                crate::value::escape_controls(&d.display().to_string())
            }
            _ => "the current directory".into(),
        };
        x.hint = match x.errno {
            Some(libc::ELOOP) => Some(format!(
                "{shown} is a symbolic link: sockplay does not write through one"
            )),
            Some(libc::ENOENT) => Some(format!("the directory {dir} does not exist")),
            Some(libc::ENOTDIR) => Some(format!("{dir} is not a directory")),
            Some(libc::EACCES | libc::EPERM) => Some(format!("you may not create files in {dir}")),
            Some(libc::EROFS) => Some(format!("{dir} is on a read-only file system")),
            _ => x.hint,
        };
        x
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
    fn a_missing_directory_is_said_as_such() {
        let d = scratch("nodir");
        let e = create(&d.join("nodir").join("x.py"), false, false).expect_err("no dir");
        assert_eq!(e.errno, Some(libc::ENOENT));
        let hint = e.hint.unwrap_or_default();
        assert!(hint.contains("nodir does not exist"), "{hint}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_name_with_control_characters_is_refused() {
        let d = scratch("controls");
        for name in ["x\nprint(1)\n.py", "e\x1b[31m.py", "t\tab.py"] {
            let p = d.join(name);
            assert!(create(&p, false, false).is_err(), "{name:?}");
            assert!(!p.exists(), "{name:?}");
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_script_writes_only_new_files_below_here() {
        assert!(create(Path::new("/tmp/x.py"), false, true).is_err());
        assert!(create(Path::new("../x.py"), false, true).is_err());
        assert!(create(Path::new("a/../../x.py"), false, true).is_err());
    }
}

//! Creating the files `export` and `record` write: by the shell's one set
//! of file rules ([`crate::files`]): from a script or a lesson, only a new
//! file under the current directory (or `--allow-write DIR`), never
//! through a symbolic link, never replacing one (unless `--allow-replace`);
//! typed at the prompt, an existing file is replaced with `force`, and
//! without it the prompt asks first.

use crate::errors::ExecError;
use crate::exec::Session;
use crate::files::NewFile;
use std::path::Path;

/// Opens `path` to be written (a temporary file, put in place by
/// [`NewFile::commit`]).
pub fn create(session: &mut Session, path: &Path, force: bool) -> Result<NewFile, ExecError> {
    if path.as_os_str().is_empty() {
        return Err(ExecError::usage("a file name: export talk.py"));
    }
    // A newline in the name would end the program's first comment (the
    // file's name) and start a line of code; no one types an escape or a
    // newline into a file name on purpose.
    if path.to_string_lossy().chars().any(char::is_control) {
        return Err(ExecError::usage(format!(
            "{} has control characters (a newline, an escape) in its name",
            crate::value::escape_controls(&path.display().to_string())
        ))
        .hint("name the file with printable characters: export talk.py"));
    }
    session.new_file_forced(&path.to_string_lossy(), force)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::Who;
    use std::io::Write;

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("sockplay-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch dir");
        d
    }

    fn write(s: &mut Session, p: &Path, force: bool, text: &[u8]) -> Result<(), ExecError> {
        let mut f = create(s, p, force)?;
        f.file().write_all(text).expect("write");
        f.commit().map(|_| ())
    }

    #[test]
    fn new_files_only_unless_forced_and_never_through_a_link() {
        let d = scratch("rules");
        let mut s = Session::default();
        s.who = Who::Prompt;
        let f = d.join("a.py");
        write(&mut s, &f, false, b"one").expect("new");
        // At the prompt, with nobody to ask: not replaced without force.
        let e = write(&mut s, &f, false, b"x").expect_err("exists");
        assert_eq!(e.errno, Some(libc::EEXIST));
        write(&mut s, &f, true, b"2").expect("forced");
        assert_eq!(std::fs::read(&f).expect("read"), b"2");
        let target = d.join("target.txt");
        std::fs::write(&target, b"keep").expect("target");
        let link = d.join("link.py");
        std::os::unix::fs::symlink(&target, &link).expect("link");
        assert!(write(&mut s, &link, true, b"x").is_err());
        assert!(write(&mut s, &link, false, b"x").is_err());
        assert_eq!(std::fs::read(&target).expect("read"), b"keep");
        // A dangling link is not followed either.
        let dangling = d.join("dangling.py");
        std::os::unix::fs::symlink(d.join("nowhere.py"), &dangling).expect("link");
        assert!(write(&mut s, &dangling, false, b"x").is_err());
        assert!(!d.join("nowhere.py").exists());
        assert!(
            write(&mut s, &d, true, b"x").is_err(),
            "a directory is not replaced"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_missing_directory_is_said_as_such() {
        let d = scratch("nodir");
        let mut s = Session::default();
        s.who = Who::Prompt;
        let Err(e) = create(&mut s, &d.join("nodir").join("x.py"), false) else {
            panic!("no dir")
        };
        let hint = e.hint.unwrap_or_default();
        assert!(hint.contains("nodir: create it first"), "{hint}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_name_with_control_characters_is_refused() {
        let d = scratch("controls");
        let mut s = Session::default();
        for name in ["x\nprint(1)\n.py", "e\x1b[31m.py", "t\tab.py"] {
            let p = d.join(name);
            assert!(create(&mut s, &p, false).is_err(), "{name:?}");
            assert!(!p.exists(), "{name:?}");
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_script_writes_only_new_files_below_here() {
        let mut s = Session::default();
        s.who = Who::Script;
        assert!(create(&mut s, Path::new("/tmp/x.py"), false).is_err());
        assert!(create(&mut s, Path::new("../x.py"), false).is_err());
        assert!(create(&mut s, Path::new("a/../../x.py"), false).is_err());
    }
}

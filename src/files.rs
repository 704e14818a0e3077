//! Files that commands create, replace, remove or read on the user's
//! behalf: every one of them goes through this module, so that what a
//! script or a lesson may do to the file system is decided in one place.
//!
//! What flows in: a path as the command was given it, who gave it
//! ([`Who`]: typed at the prompt, or a script: a file, `-c`, piped input,
//! the rc file, a lesson, a macro), and what the user allowed
//! ([`Policy`]: `--allow-write DIR`, `--allow-read DIR`, `--allow-replace`,
//! or `set write ...` typed at the prompt). What flows out: an open file
//! ([`NewFile`], [`open_for_reading`]) or an [`ExecError`] that says why
//! not and which flag or setting would allow it.
//!
//! # The rules
//! A **script** (anything not typed at the prompt):
//! - creates files only under the current directory, or under a directory
//!   given with `--allow-write DIR`; an absolute path elsewhere, or a `..`,
//!   is refused;
//! - never goes through a symbolic link: not as the file itself (not even a
//!   dangling one, which `O_CREAT` would follow), not as any folder on the
//!   way from the allowed directory to the file;
//! - never replaces an existing file, unless sockplay was started with
//!   `--allow-replace` (and then only a regular file, never a link);
//! - reads files (`sendfile`, `source`, `serve http DIR`) only when they
//!   really are under the current directory or a directory given with
//!   `--allow-read DIR` or `--allow-write DIR` (links are followed, and
//!   where they lead is what counts);
//! - neither creates nor reads a hidden file or folder (a name that starts
//!   with `.`) under those directories: run from the home folder, a lesson
//!   must not make `~/.bash_aliases` (which every new shell runs) or send
//!   `~/.ssh/id_rsa`;
//! - creates and removes UNIX socket files (`bind`, `serve`, `unlink`)
//!   under the same rules as files it writes;
//! - runs no program (`run PROGRAM`, which could do all the rest and
//!   more) unless sockplay was started with `--allow-run`; the bundled
//!   lessons may;
//! - cannot change any of this (`set write` is refused in a script).
//!
//! **Typed at the prompt**, a path may go anywhere the user can write, but
//! replacing an existing file asks first (y/N), and a link is never
//! written through.
//!
//! # Writing a file ([`open_for_writing`])
//! The bytes go to a temporary file in the target's own directory
//! (`.sockplay-PID-N.part`, created with `O_CREAT|O_EXCL|O_NOFOLLOW`), and
//! [`NewFile::commit`] renames it onto the target at the end: with
//! `RENAME_NOREPLACE` for a new file (so a file that appeared meanwhile is
//! not replaced either), a plain rename when replacing was allowed. A
//! command that fails drops its `NewFile`, which removes the temporary
//! file: the target is never left half written or emptied. A signal that
//! ends the shell removes it too (see [`crate::exit`]).
//!
//! For another command that writes a file (`states save FILE.pcap`, `export
//! FILE.py`, `record FILE.sp`, `log FILE`): call
//! [`crate::exec::Session::new_file`] (which knows who typed the command
//! and what is allowed), write to [`NewFile::file`], then `commit()`; a
//! writer that goes on writing after it is visible (a log) commits first
//! and keeps the returned `File`.

use crate::errors::ExecError;
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Who gave the command that touches a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Who {
    /// Typed at the interactive prompt.
    Prompt,
    /// A script, a lesson, `-c`, piped input, the rc file or a macro.
    #[default]
    Script,
}

/// What scripts may do beyond the default (new files under the current
/// directory). Directories are kept canonical.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// Where scripts may also create files (and read them).
    pub write_dirs: Vec<PathBuf>,
    /// Where scripts may also read files.
    pub read_dirs: Vec<PathBuf>,
    /// Scripts may replace existing regular files.
    pub replace: bool,
    /// Scripts may start programs (`run`): a program does whatever it
    /// likes, beyond every rule here, so a script needs leave for it.
    pub run: bool,
}

impl Policy {
    /// `--allow-write DIR` / `set write DIR`: DIR made canonical (it must
    /// exist and be a directory).
    pub fn allow_write(&mut self, dir: &Path) -> io::Result<PathBuf> {
        let d = canonical_dir(dir)?;
        if !self.write_dirs.contains(&d) {
            self.write_dirs.push(d.clone());
        }
        Ok(d)
    }

    /// `--allow-read DIR`.
    pub fn allow_read(&mut self, dir: &Path) -> io::Result<PathBuf> {
        let d = canonical_dir(dir)?;
        if !self.read_dirs.contains(&d) {
            self.read_dirs.push(d.clone());
        }
        Ok(d)
    }

    /// The policy in words, for `set`: `here`, `here, replace, /srv/x`.
    pub fn describe(&self) -> String {
        let mut parts = vec!["here".to_string()];
        if self.replace {
            parts.push("replace".into());
        }
        if self.run {
            parts.push("run".into());
        }
        for d in &self.write_dirs {
            parts.push(shown(d));
        }
        parts.join(", ")
    }
}

fn canonical_dir(dir: &Path) -> io::Result<PathBuf> {
    let d = std::fs::canonicalize(dir)?;
    if !d.is_dir() {
        return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
    }
    Ok(d)
}

/// Asks the person at the prompt a yes/no question (`replace ./x.bin?`).
pub trait Confirm {
    /// True for yes. `what` is the question, already safe to show.
    fn confirm(&mut self, what: &str) -> bool;
}

/// Who asks, and what is allowed: what a command needs to touch a file.
pub struct Access<'a> {
    pub who: Who,
    pub policy: &'a Policy,
    /// The prompt's way of asking (None: nobody to ask, so no).
    pub confirm: Option<&'a mut dyn Confirm>,
    /// The command itself says to replace (`export x.py force`): at the
    /// prompt nothing is asked. A script still needs `--allow-replace`.
    pub force: bool,
}

/// A path as shown to the terminal: control characters and bytes that
/// are not UTF-8 escaped (`./a\x1b[31m.sock`).
pub fn shown(p: &Path) -> String {
    crate::value::path_text(p.as_os_str().as_bytes())
}

/// Python's words for a file that cannot be opened, with the path:
/// `FileNotFoundError: [Errno 2] No such file or directory: 'x.bin'`.
pub fn file_error(e: io::Error, path: &str) -> ExecError {
    let mut x = ExecError::from(e);
    x.message = format!("{}: {}", x.message, crate::value::str_repr(path));
    x.hint = match x.errno {
        Some(libc::ENOENT) => {
            let p = Path::new(path);
            let missing = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty() && !d.exists());
            Some(not_found_hint(p, missing))
        }
        Some(libc::EISDIR) => Some("that is a folder: give a file's path".into()),
        Some(libc::EACCES) | Some(libc::EPERM) => {
            Some("no permission to open that file here".into())
        }
        _ => x.hint,
    };
    x
}

/// The hint for a path that is not there: the first folder of it that is
/// missing (`missing`), and where a relative path starts.
fn not_found_hint(p: &Path, missing: Option<&Path>) -> String {
    let mut hint = match missing {
        Some(d) => format!("there is no folder {}: create it first (mkdir)", shown(d)),
        None => "no such file or folder".into(),
    };
    if p.is_relative()
        && let Ok(d) = std::env::current_dir()
    {
        hint.push_str(&format!("; a relative path starts in {}", shown(&d)));
    }
    hint
}

/// The hint for a UNIX socket path the kernel could not create (ENOENT):
/// its folder is missing. None when the folder is there.
pub fn missing_folder_hint(path: &Path) -> Option<String> {
    let parent = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => return None,
    };
    if parent.is_dir() {
        return None;
    }
    Some(format!(
        "there is no folder {}: create it first (mkdir), or give a path in a folder that exists",
        shown(parent)
    ))
}

/// The refusal of a script's path: PermissionError, why, and the flag.
fn refused(path: &str, why: &str, flag: &str) -> ExecError {
    ExecError::new(
        "PermissionError",
        format!("a script may not {why}: {}", crate::value::str_repr(path)),
    )
    .hint(flag.to_string())
}

const WRITE_FLAG: &str = "scripts and lessons create files only under the current directory; \
     start sockplay with --allow-write DIR to allow another (or type the command at the prompt)";
const READ_FLAG: &str = "scripts and lessons read files only under the current directory; \
     start sockplay with --allow-read DIR to allow another (or type the command at the prompt)";
const REPLACE_FLAG: &str = "a script never replaces a file: remove it or give another name, \
     or start sockplay with --allow-replace";
const HIDDEN_HINT: &str = "a hidden file (.bashrc, .ssh/...) is a program's setup, which \
     scripts and lessons neither make nor read; type the command at the prompt to do it";
const LINK_HINT: &str =
    "it is a symbolic link: sockplay never writes through one (give the real path)";

/// An open directory (O_PATH).
struct Dir(OwnedFd);

fn cstr(b: &[u8]) -> Result<CString, ExecError> {
    CString::new(b).map_err(|_| ExecError::new("ValueError", "embedded null byte"))
}

fn open_dir_at(at: RawFd, name: &[u8], follow: bool) -> io::Result<Dir> {
    let c = CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let mut flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    // SAFETY: a valid C string and a directory descriptor (or AT_FDCWD).
    let fd = unsafe { libc::openat(at, c.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns. Moved out of the
    // learner's numbers (a background recvfile holds it).
    Ok(Dir(crate::table::move_high(unsafe {
        OwnedFd::from_raw_fd(fd)
    })))
}

/// lstat relative to a directory: None when there is nothing there.
fn lstat_at(dir: RawFd, name: &CString) -> io::Result<Option<libc::stat>> {
    // SAFETY: stat is plain data that fstatat fills.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string, a directory descriptor and our stat.
    let rc = unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    if rc == 0 {
        return Ok(Some(st));
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ENOENT) {
        Ok(None)
    } else {
        Err(e)
    }
}

fn is_kind(st: &libc::stat, kind: libc::mode_t) -> bool {
    st.st_mode & libc::S_IFMT == kind
}

/// Where a new file goes: its directory (open) and its name in it.
struct Place {
    dir: Dir,
    name: CString,
}

/// The allowed directory that `path` (absolute, no `..`) lies under, and
/// the rest of it.
fn under<'a>(path: &'a Path, roots: &[PathBuf]) -> Option<(&'a Path, PathBuf)> {
    roots
        .iter()
        .find_map(|r| path.strip_prefix(r).ok().map(|rest| (rest, r.clone())))
}

/// The current directory and the write directories, canonical.
fn write_roots(policy: &Policy) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = std::env::current_dir().into_iter().collect();
    roots.extend(policy.write_dirs.iter().cloned());
    roots
}

/// The directory and name of `path` for a script: under an allowed
/// directory, no `..`, no link on the way. The name itself is checked by
/// the caller.
fn script_place(p: &Path, policy: &Policy, what: &str) -> Result<Place, ExecError> {
    // For messages only: the checks and the opens use the path's bytes.
    let text = p.to_string_lossy();
    let path: &str = &text;
    if p.components().any(|c| c == Component::ParentDir) {
        return Err(refused(
            path,
            &format!("{what} with `..` in its path"),
            WRITE_FLAG,
        ));
    }
    let (root, rest): (PathBuf, PathBuf) = if p.is_absolute() {
        let roots = write_roots(policy);
        match under(p, &roots) {
            Some((rest, root)) => (root, rest.to_path_buf()),
            None => {
                return Err(refused(
                    path,
                    &format!("{what} outside the current directory"),
                    WRITE_FLAG,
                ));
            }
        }
    } else {
        (PathBuf::from("."), p.to_path_buf())
    };
    let parts: Vec<&OsStr> = rest
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    if let Some(h) = parts.iter().find(|n| is_hidden(n)) {
        return Err(refused(
            path,
            &format!("{what} under a hidden name ({})", shown(Path::new(h))),
            HIDDEN_HINT,
        ));
    }
    let Some((last, folders)) = parts.split_last() else {
        return Err(file_error(io::Error::from_raw_os_error(libc::EISDIR), path));
    };
    let mut dir = open_dir_at(libc::AT_FDCWD, root.as_os_str().as_bytes(), true)
        .map_err(|e| file_error(e, path))?;
    // The folders walked, as the path gave them (for messages).
    let mut walked = if p.is_absolute() {
        root.clone()
    } else {
        PathBuf::new()
    };
    for f in folders {
        walked.push(f);
        let name = cstr(f.as_bytes())?;
        match lstat_at(dir.0.as_raw_fd(), &name).map_err(|e| file_error(e, path))? {
            None => {
                let mut x = file_error(io::Error::from_raw_os_error(libc::ENOENT), path);
                x.hint = Some(not_found_hint(p, Some(&walked)));
                return Err(x);
            }
            Some(st) if is_kind(&st, libc::S_IFLNK) => {
                return Err(refused(
                    path,
                    &format!("{what} through the symbolic link {}", shown(&walked)),
                    LINK_HINT,
                ));
            }
            Some(st) if !is_kind(&st, libc::S_IFDIR) => {
                return Err(file_error(
                    io::Error::from_raw_os_error(libc::ENOTDIR),
                    path,
                ));
            }
            Some(_) => {}
        }
        dir =
            open_dir_at(dir.0.as_raw_fd(), f.as_bytes(), false).map_err(|e| file_error(e, path))?;
    }
    Ok(Place {
        dir,
        name: cstr(last.as_bytes())?,
    })
}

/// The directory and name of `path` typed at the prompt: its folders are
/// followed as the user typed them.
fn prompt_place(path: &str) -> Result<Place, ExecError> {
    let p = Path::new(path);
    let name = match p.components().next_back() {
        Some(Component::Normal(n)) => n,
        _ => return Err(file_error(io::Error::from_raw_os_error(libc::EISDIR), path)),
    };
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let dir = open_dir_at(libc::AT_FDCWD, parent.as_os_str().as_bytes(), true)
        .map_err(|e| file_error(e, path))?;
    Ok(Place {
        dir,
        name: cstr(name.as_bytes())?,
    })
}

fn place(path: &str, access: &Access<'_>, what: &str) -> Result<Place, ExecError> {
    if path.is_empty() {
        return Err(file_error(io::Error::from_raw_os_error(libc::ENOENT), path));
    }
    match access.who {
        Who::Prompt => prompt_place(path),
        Who::Script => script_place(Path::new(path), access.policy, what),
    }
}

/// A file being written: a temporary file in the target's directory,
/// renamed onto the target by [`NewFile::commit`]; removed if dropped
/// before that.
pub struct NewFile {
    dir: Dir,
    tmp: CString,
    name: CString,
    file: File,
    /// Rename over an existing file (allowed, or confirmed).
    replace: bool,
    /// The path as shown.
    shown: String,
    committed: bool,
    /// Removes the temporary file if a signal ends the shell meanwhile.
    exit_hook: crate::exit::HookId,
}

static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

impl NewFile {
    /// The file to write to.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// The path, as shown to the terminal.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Whether an existing file is being replaced.
    pub fn replaces(&self) -> bool {
        self.replace
    }

    /// Puts the file in place of the target; returns it (still open, for a
    /// writer that goes on). For a new file, a file that appeared at the
    /// target meanwhile is not replaced (FileExistsError).
    pub fn commit(mut self) -> Result<File, ExecError> {
        let dfd = self.dir.0.as_raw_fd();
        let flags = if self.replace {
            0
        } else {
            libc::RENAME_NOREPLACE
        };
        // SAFETY: two valid C strings relative to our directory.
        let mut rc =
            unsafe { libc::renameat2(dfd, self.tmp.as_ptr(), dfd, self.name.as_ptr(), flags) };
        if rc != 0
            && !self.replace
            && io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL)
        {
            // A file system without RENAME_NOREPLACE: link() never
            // replaces either; the temporary name goes after.
            // SAFETY: as above.
            rc = unsafe { libc::linkat(dfd, self.tmp.as_ptr(), dfd, self.name.as_ptr(), 0) };
            if rc == 0 {
                // SAFETY: as above.
                unsafe { libc::unlinkat(dfd, self.tmp.as_ptr(), 0) };
            }
        }
        if rc != 0 {
            let e = io::Error::last_os_error();
            let mut x = ExecError::from(e);
            x.message = format!("{}: {}", x.message, self.shown);
            if x.is_errno(libc::EEXIST) {
                x.hint = Some(
                    "a file appeared there while this one was written; it was left alone".into(),
                );
            }
            return Err(x);
        }
        self.committed = true;
        crate::exit::unregister(self.exit_hook);
        // The same open file, for a writer that goes on (its descriptor
        // out of the learner's way too).
        let dup = self.file.try_clone()?;
        Ok(File::from(crate::table::move_high(dup.into())))
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        if !self.committed {
            crate::exit::unregister(self.exit_hook);
            // SAFETY: a valid C string relative to our directory.
            unsafe { libc::unlinkat(self.dir.0.as_raw_fd(), self.tmp.as_ptr(), 0) };
        }
    }
}

/// Registers the removal of a temporary file (relative to a directory it
/// holds open) for a shell ended by a signal.
fn remove_at_exit(dir: &Dir, tmp: &CString) -> Result<crate::exit::HookId, ExecError> {
    let dir = crate::table::move_high(dir.0.try_clone()?);
    let tmp = tmp.clone();
    Ok(crate::exit::register(
        "remove a temporary file",
        move || {
            // SAFETY: a valid C string relative to the directory.
            unsafe { libc::unlinkat(dir.as_raw_fd(), tmp.as_ptr(), 0) };
        },
    ))
}

/// Opens a file to write at `path` (see the module's rules). The target
/// is only replaced when [`NewFile::commit`] is called.
pub fn open_for_writing(path: &str, access: &mut Access<'_>) -> Result<NewFile, ExecError> {
    let place = place(path, access, "write a file")?;
    let dfd = place.dir.0.as_raw_fd();
    let shown_path = crate::value::path_text(path.as_bytes());
    let mut replace = false;
    let mut mode: libc::mode_t = 0o666;
    match lstat_at(dfd, &place.name).map_err(|e| file_error(e, path))? {
        None => {}
        Some(st) if is_kind(&st, libc::S_IFLNK) => {
            return Err(ExecError::new(
                "PermissionError",
                format!(
                    "will not write through a symbolic link: {}",
                    crate::value::str_repr(path)
                ),
            )
            .hint(LINK_HINT));
        }
        Some(st) if is_kind(&st, libc::S_IFDIR) => {
            return Err(file_error(io::Error::from_raw_os_error(libc::EISDIR), path));
        }
        Some(st) if !is_kind(&st, libc::S_IFREG) => {
            return Err(ExecError::usage(format!(
                "{shown_path} is not a regular file (a device, a pipe or a socket): it is left alone"
            )));
        }
        Some(st) => {
            let allowed = match access.who {
                Who::Script => access.policy.replace,
                Who::Prompt if access.force => true,
                Who::Prompt => match access.confirm.as_deref_mut() {
                    Some(c) => c.confirm(&format!("{shown_path} exists: replace it?")),
                    None => false,
                },
            };
            if !allowed {
                let mut x = file_error(io::Error::from_raw_os_error(libc::EEXIST), path);
                x.hint = Some(match access.who {
                    Who::Script => REPLACE_FLAG.into(),
                    Who::Prompt => "kept as it was; give another name to write a new file".into(),
                });
                return Err(x);
            }
            replace = true;
            // The replacement keeps the old file's permissions (not its
            // set-id bits).
            mode = st.st_mode & 0o777;
        }
    }
    let seq = TMP_SEQ.fetch_add(1, Ordering::SeqCst);
    let tmp = cstr(format!(".sockplay-{}-{seq}.part", std::process::id()).as_bytes())?;
    // SAFETY: a valid C string relative to our directory.
    let fd = unsafe {
        libc::openat(
            dfd,
            tmp.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            libc::c_uint::from(mode),
        )
    };
    if fd < 0 {
        return Err(file_error(io::Error::last_os_error(), path));
    }
    // SAFETY: a fresh descriptor nobody else owns.
    let file = unsafe { File::from_raw_fd(fd) };
    let exit_hook = match remove_at_exit(&place.dir, &tmp) {
        Ok(h) => h,
        Err(e) => {
            // SAFETY: as above.
            unsafe { libc::unlinkat(dfd, tmp.as_ptr(), 0) };
            return Err(e);
        }
    };
    if replace {
        // The umask applied at creation; the old file's bits are wanted.
        // SAFETY: our descriptor.
        unsafe { libc::fchmod(fd, mode) };
    }
    let file = File::from(crate::table::move_high(file.into()));
    Ok(NewFile {
        dir: place.dir,
        tmp,
        name: place.name,
        file,
        replace,
        shown: shown_path,
        committed: false,
        exit_hook,
    })
}

/// Checks that a script may create a UNIX socket file at `path` (`bind`,
/// `serve`): as for a new file, but the kernel creates it. The prompt may
/// bind anywhere.
pub fn check_socket_path(path: &[u8], access: &Access<'_>) -> Result<(), ExecError> {
    if access.who == Who::Prompt || path.first() == Some(&0) || path.is_empty() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(path);
    let place = script_place(
        Path::new(OsStr::from_bytes(path)),
        access.policy,
        "create a socket file",
    )?;
    if let Some(st) =
        lstat_at(place.dir.0.as_raw_fd(), &place.name).map_err(|e| file_error(e, &text))?
        && is_kind(&st, libc::S_IFLNK)
    {
        return Err(refused(
            &text,
            "bind a socket over a symbolic link",
            LINK_HINT,
        ));
    }
    Ok(())
}

/// Checks that `path` may be removed by `unlink` (which removes socket
/// files only): a script, only under the directories it may write to.
pub fn check_remove(path: &Path, access: &Access<'_>) -> Result<(), ExecError> {
    if access.who == Who::Prompt {
        return Ok(());
    }
    script_place(path, access.policy, "remove a file").map(|_| ())
}

/// Checks that a script may read `path` (`serve http DIR`): only where it
/// really leads under the current directory, `--allow-read` or
/// `--allow-write` directories, and not into a hidden file or folder.
pub fn check_read(path: &str, access: &Access<'_>) -> Result<(), ExecError> {
    if access.who == Who::Prompt {
        return Ok(());
    }
    let real = std::fs::canonicalize(path).map_err(|e| file_error(e, path))?;
    may_read(&real, path, access)
}

/// Whether a script may read the file whose real (canonical) path is
/// `real`; `path` is how the command gave it.
fn may_read(real: &Path, path: &str, access: &Access<'_>) -> Result<(), ExecError> {
    let mut roots = write_roots(access.policy);
    roots.extend(access.policy.read_dirs.iter().cloned());
    let mut hidden = None;
    for r in &roots {
        let Ok(rest) = real.strip_prefix(r) else {
            continue;
        };
        match rest.components().find(|c| is_hidden(c.as_os_str())) {
            None => return Ok(()),
            Some(h) => hidden = Some(h.as_os_str().to_owned()),
        }
    }
    match hidden {
        Some(h) => Err(refused(
            path,
            &format!("read a file under a hidden name ({})", shown(Path::new(&h))),
            HIDDEN_HINT,
        )),
        None => Err(refused(
            path,
            "read a file outside the current directory",
            READ_FLAG,
        )),
    }
}

/// Opens `path` to read (`sendfile`, `source`): for a script, only what
/// [`check_read`] allows, decided on the file actually opened (its path
/// from /proc/self/fd), so a link swapped in between a check and the open
/// changes nothing. The open never waits: a FIFO with no writer or a
/// device that would block opens at once (the caller refuses what is not
/// a regular file), where a plain open would hang the shell beyond the
/// reach of Ctrl-C.
pub fn open_for_reading(path: &str, access: &Access<'_>) -> Result<File, ExecError> {
    if path.is_empty() {
        return Err(file_error(io::Error::from_raw_os_error(libc::ENOENT), path));
    }
    let c = cstr(path.as_bytes())?;
    // SAFETY: a valid C string.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(file_error(io::Error::last_os_error(), path));
    }
    // SAFETY: a fresh descriptor nobody else owns.
    let file = unsafe { File::from_raw_fd(fd) };
    if access.who == Who::Script {
        let real = std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .or_else(|_| std::fs::canonicalize(path))
            .map_err(|e| file_error(e, path))?;
        may_read(&real, path, access)?;
    }
    // Reads wait as usual again (a regular file never makes them wait).
    // SAFETY: our descriptor; F_GETFL/F_SETFL take and give flags.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
}

/// A name that `ls` hides (`.bashrc`, `.ssh`): the files of the user's own
/// setup, which a lesson run in the home folder must not make or read
/// (`.bash_aliases` is run by every new shell).
fn is_hidden(name: &OsStr) -> bool {
    let b = name.as_bytes();
    b.first() == Some(&b'.') && b != b"." && b != b".."
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Yes(bool, usize);
    impl Confirm for Yes {
        fn confirm(&mut self, _: &str) -> bool {
            self.1 += 1;
            self.0
        }
    }

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sockplay-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch");
        d
    }

    #[test]
    fn a_new_file_appears_only_on_commit_and_a_dropped_one_leaves_nothing() {
        use std::io::Write;
        let d = scratch("commit");
        let target = d.join("out.bin");
        let target_s = target.to_str().expect("utf-8");
        let policy = Policy::default();
        let mut access = Access {
            who: Who::Prompt,
            policy: &policy,
            confirm: None,
            force: false,
        };
        let mut f = open_for_writing(target_s, &mut access).expect("open");
        f.file().write_all(b"hello").expect("write");
        assert!(!target.exists());
        f.commit().expect("commit");
        assert_eq!(std::fs::read(&target).expect("read"), b"hello");
        // Replacing at the prompt asks; no means no.
        let mut no = Yes(false, 0);
        let mut access = Access {
            who: Who::Prompt,
            policy: &policy,
            confirm: Some(&mut no),
            force: false,
        };
        let e = open_for_writing(target_s, &mut access)
            .err()
            .expect("refused");
        assert_eq!(e.exception, "FileExistsError");
        assert_eq!(no.1, 1);
        let mut yes = Yes(true, 0);
        let mut access = Access {
            who: Who::Prompt,
            policy: &policy,
            confirm: Some(&mut yes),
            force: false,
        };
        let mut f = open_for_writing(target_s, &mut access).expect("open");
        f.file().write_all(b"partial").expect("write");
        drop(f);
        assert_eq!(std::fs::read(&target).expect("read"), b"hello");
        let names: Vec<_> = std::fs::read_dir(&d).expect("ls").collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let _ = std::fs::remove_dir_all(&d);
    }
}

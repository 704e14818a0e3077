//! Starting a watched program: its argv, the start-up module in a private
//! directory, the report channel it inherits, its stdio, and a pidfd to
//! follow it (and to look at its sockets).

use std::ffi::OsString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

/// The start-up module, given to python3 as `sitecustomize.py`.
pub const HOOK: &str = include_str!("sitecustomize.py");

/// How the program's stdio is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stdio3 {
    /// The terminal (or whatever sockplay has): `input()` reads it.
    Inherit,
    /// sockplay's stdin is where its own commands come from (a pipe): the
    /// program gets /dev/null instead, and writes where sockplay does.
    NoInput,
    /// Pipes: sockplay feeds stdin (`input %N "text"`) and shows what the
    /// program writes, line by line (a background job).
    Pipes,
}

/// A temporary directory of this process only, removed on drop.
pub struct PrivateDir(pub PathBuf);

static DIRS: AtomicU64 = AtomicU64::new(0);

impl PrivateDir {
    pub fn new() -> std::io::Result<PrivateDir> {
        use std::os::unix::fs::DirBuilderExt;
        let n = DIRS.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("sockplay-watch-{}-{n}-{nanos}", std::process::id()));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        Ok(PrivateDir(dir))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A started program.
pub struct Launched {
    pub child: Child,
    pub pid: i32,
    /// Readable when the program has ended (None on kernels without
    /// pidfd_open: then its end is found by polling waitpid).
    pub pidfd: Option<OwnedFd>,
    /// sockplay's end of the report channel (non-blocking).
    pub reports: OwnedFd,
    /// The pipes of a background program (non-blocking, on sockplay's
    /// side).
    pub stdin: Option<std::fs::File>,
    pub stdout: Option<std::fs::File>,
    pub stderr: Option<std::fs::File>,
    /// Where it started (file names in reports are shown relative to it).
    pub cwd: PathBuf,
    /// The tracer of a program that is not Python (None: python3, or
    /// ptrace was refused): it alone may wait for the program.
    pub tracer: Option<super::ptrace::Tracer>,
    /// Said once, before the program's first line (why it is not traced).
    pub note: Option<String>,
    /// The start-up module's directory, removed when this is dropped.
    _dir: PrivateDir,
}

/// The command line as it will run: a `.py` file alone runs with python3.
pub fn resolve(argv: &[String]) -> Vec<String> {
    match argv.first() {
        Some(first) if first.ends_with(".py") && !is_executable(Path::new(first)) => {
            let mut v = vec!["python3".to_string()];
            v.extend(argv.iter().cloned());
            v
        }
        _ => argv.to_vec(),
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The fd the program's end of the report channel gets: high, out of the
/// way of the program's own sockets (its first is fd 3, as always).
pub fn channel_fd() -> RawFd {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct it is given.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    let cur = if rc == 0 {
        RawFd::try_from(lim.rlim_cur).unwrap_or(RawFd::MAX)
    } else {
        1024
    };
    (cur - 1).clamp(10, 1023)
}

fn socketpair() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: socketpair fills the two ints on success.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: two fresh descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Marks every descriptor from `low` on but `keep` close-on-exec (between
/// fork and exec: only system calls): the program gets none of them.
/// close_range(2) with CLOSE_RANGE_CLOEXEC (Linux 5.11), else one by one.
/// (Closing them outright would also close the pipe on which the standard
/// library reports a failed exec.)
fn cloexec_from(low: RawFd, keep: RawFd) {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range and fcntl take plain integers and touch only this
    // (forked) process's descriptor table.
    unsafe {
        let a = libc::syscall(
            libc::SYS_close_range,
            low as libc::c_uint,
            (keep - 1) as libc::c_uint,
            CLOSE_RANGE_CLOEXEC,
        );
        let b = libc::syscall(
            libc::SYS_close_range,
            (keep + 1) as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        );
        if a != 0 || b != 0 {
            for fd in low..4096 {
                if fd != keep {
                    let fl = libc::fcntl(fd, libc::F_GETFD);
                    if fl >= 0 {
                        libc::fcntl(fd, libc::F_SETFD, fl | libc::FD_CLOEXEC);
                    }
                }
            }
        }
    }
}

/// pidfd_open(2): a descriptor that turns readable when `pid` ends.
pub fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: a plain system call with two integer arguments.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: a fresh descriptor that we own.
    Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl >= 0 {
            libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
    }
}

/// The program's command: stdio, the start-up module's environment and
/// the report channel (not for a traced program), what runs between fork
/// and exec.
fn command(
    argv: &[String],
    stdio: Stdio3,
    dir: &PrivateDir,
    theirs: &OwnedFd,
    ino: u64,
    traced: bool,
) -> std::io::Result<Command> {
    let program = &argv[0];
    let target = channel_fd();
    let mut path = OsString::from(&dir.0);
    if let Some(old) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
        path.push(":");
        path.push(old);
    }
    let mut cmd = Command::new(program);
    cmd.args(&argv[1..]);
    if !traced {
        cmd.env("PYTHONPATH", path)
            .env("SOCKPLAY_WATCH", format!("{target}:{ino}"))
            // Its prints and its calls in the order they happen, whatever
            // its stdout is.
            .env("PYTHONUNBUFFERED", "1");
        cmd.env(
            "SOCKPLAY_WATCH_OUT",
            if stdio == Stdio3::Pipes {
                "report"
            } else {
                "sync"
            },
        );
    }
    match stdio {
        Stdio3::Inherit => {}
        Stdio3::NoInput => {
            cmd.stdin(Stdio::null());
        }
        Stdio3::Pipes => {
            cmd.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
        }
    }
    let src = theirs.as_raw_fd();
    // A traced program is told nothing: the tracer writes its reports.
    let give = !traced;
    let own_group = stdio == Stdio3::Pipes;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 clears FD_CLOEXEC on the copy: the program inherits it.
            if give && libc::dup2(src, target) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Nothing else: a descriptor sockplay was given open (by its
            // terminal, its parent) would take the program's fd 3.
            cloexec_from(3, target);
            // A background job has its own process group: Ctrl-C at the
            // shell's prompt does not reach it.
            if own_group {
                libc::setpgid(0, 0);
            }
            // The program ends with sockplay, however sockplay ends (even
            // SIGKILL): a watched program is never left running unwatched.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() == 1 {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    Ok(cmd)
}

/// Starts `argv` (resolved already) watched. In the foreground the
/// program asks sockplay to show its reports before each of its prints (it
/// writes to the terminal itself); with pipes, its prints come over the
/// report channel, in order with its calls.
pub fn launch(argv: &[String], stdio: Stdio3) -> std::io::Result<Launched> {
    let Some(program) = argv.first() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "no program to run",
        ));
    };
    let dir = PrivateDir::new()?;
    std::fs::write(dir.0.join("sitecustomize.py"), HOOK)?;
    let (ours, theirs) = socketpair()?;
    // sockplay's own descriptors go high: the shell's next socket is
    // numbered as if the program had not started.
    let ours = crate::table::move_high(ours);
    set_nonblocking(ours.as_raw_fd());
    // SAFETY: fstat fills the struct it is given.
    let ino = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(theirs.as_raw_fd(), &mut st) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        st.st_ino
    };
    let traced = super::ptrace::wanted(argv) && super::ptrace::runnable(program);
    let mut note = None;
    let (mut child, tracer) = if traced && super::ptrace::would_lose_privilege(program) {
        note = Some(format!(
            "{} is set-user-ID: it is not traced (a traced program loses its privilege); only its sockets are shown",
            crate::value::escape_controls(program)
        ));
        (
            command(argv, stdio, &dir, &theirs, ino, false)?.spawn()?,
            None,
        )
    } else if traced {
        let copy = theirs.try_clone()?;
        let sync = stdio != Stdio3::Pipes;
        match super::ptrace::spawn(command(argv, stdio, &dir, &theirs, ino, true)?, copy, sync) {
            Ok(x) => x,
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                note = Some(
                    "ptrace is not allowed here (a container's or the system's policy): the program's calls are not traced; only its sockets are shown".into(),
                );
                (
                    command(argv, stdio, &dir, &theirs, ino, false)?.spawn()?,
                    None,
                )
            }
            Err(e) => return Err(e),
        }
    } else {
        (
            command(argv, stdio, &dir, &theirs, ino, false)?.spawn()?,
            None,
        )
    };
    drop(theirs);
    let pid = child.id() as i32;
    let pidfd = pidfd_open(pid).map(crate::table::move_high);
    let high = |fd: OwnedFd| {
        let fd = crate::table::move_high(fd);
        set_nonblocking(fd.as_raw_fd());
        std::fs::File::from(fd)
    };
    let stdin = child.stdin.take().map(|p| high(OwnedFd::from(p)));
    let stdout = child.stdout.take().map(|p| high(OwnedFd::from(p)));
    let stderr = child.stderr.take().map(|p| high(OwnedFd::from(p)));
    Ok(Launched {
        child,
        pid,
        pidfd,
        reports: ours,
        stdin,
        stdout,
        stderr,
        cwd: std::env::current_dir().unwrap_or_default(),
        tracer,
        note,
        _dir: dir,
    })
}

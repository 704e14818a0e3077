//! The socket calls of a program that is not Python (nc, curl, socat, a C
//! program), traced with ptrace(2) and told in the start-up module's own
//! report lines (see [`super::proto`]), so that the tracker makes the same
//! items of them.
//!
//! In: the program's `Command`, spawned here, on a thread of its own: with
//! PTRACE_TRACEME the tracer is the thread that forked, and only that
//! thread may make ptrace requests and wait for the tracees (it waits with
//! `__WNOTHREAD`, so it never reaps another child of sockplay's). Threads
//! and children are followed (TRACECLONE, TRACEFORK, TRACEVFORK), and
//! EXITKILL ends them all if sockplay dies. Every signal the program gets
//! is passed on unchanged (Ctrl-C reaches it as it would untraced).
//!
//! Only the calls that matter stop it: before exec the child installs a
//! seccomp filter (see [`filter`]) that returns SECCOMP_RET_TRACE for the
//! socket calls (and read, write, close, dup2/dup3, close_range, which may
//! be on a socket) and lets every other call run at full speed; the tracer
//! resumes with PTRACE_CONT, and with PTRACE_SYSCALL only from a seccomp
//! stop to the exit of a call it reports. Where the filter cannot be
//! installed, every call stops at its entry and exit, as strace does.
//!
//! Out: report frames written on the report channel (the end the Python
//! program would inherit), read by the pump as any program's; the main
//! process's exit status, which only this thread may reap.
//!
//! What it reads: the registers at each system call's entry and exit
//! (PTRACE_GET_SYSCALL_INFO), the program's memory for addresses and data
//! (process_vm_readv), and, for what only the socket knows (its local
//! address, its accept queue, whether it is ready, its TCP state), a copy
//! of the program's descriptor taken with pidfd_getfd(2), asked and closed
//! at once. A call that would wait (a blocking socket that is not ready)
//! is reported before it waits, as the module does.
//!
//! What it cannot know, it does not say: there is no source line (the
//! header shows the program's name and the system call instead), and a
//! `read`/`write` on a socket is reported as the `recv`/`send` it is (with
//! flags 0), its header naming the real call.

use super::proto::MAX_FRAME;
use std::collections::HashMap;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

mod calls;
mod inspect;

use inspect::*;

/// At most this many bytes of a call's data go in its report (as the
/// module's DATA_MAX).
const DATA_MAX: usize = 65536;

// x86_64 system call numbers.
#[cfg(target_arch = "x86_64")]
mod nr {
    pub const READ: u64 = 0;
    pub const WRITE: u64 = 1;
    pub const CLOSE: u64 = 3;
    pub const DUP2: u64 = 33;
    pub const SOCKET: u64 = 41;
    pub const CONNECT: u64 = 42;
    pub const ACCEPT: u64 = 43;
    pub const SENDTO: u64 = 44;
    pub const RECVFROM: u64 = 45;
    pub const SHUTDOWN: u64 = 48;
    pub const BIND: u64 = 49;
    pub const LISTEN: u64 = 50;
    pub const SOCKETPAIR: u64 = 53;
    pub const SETSOCKOPT: u64 = 54;
    pub const EXECVE: u64 = 59;
    pub const ACCEPT4: u64 = 288;
    pub const DUP3: u64 = 292;
    pub const EXECVEAT: u64 = 322;
    pub const CLOSE_RANGE: u64 = 436;
}

/// The system calls the seccomp filter hands to the tracer: those
/// [`Trace::entry`] reports, and those that change what a descriptor is
/// (dup2, dup3, close_range). Every other call runs without a stop.
#[cfg(target_arch = "x86_64")]
///
/// Not execve: the filter is in place before the tracer has asked for
/// seccomp stops, and until then a SECCOMP_RET_TRACE call fails with
/// ENOSYS (the program's own exec would).
const TRACED: [u64; 17] = [
    nr::READ,
    nr::WRITE,
    nr::CLOSE,
    nr::DUP2,
    nr::SOCKET,
    nr::CONNECT,
    nr::ACCEPT,
    nr::SENDTO,
    nr::RECVFROM,
    nr::SHUTDOWN,
    nr::BIND,
    nr::LISTEN,
    nr::SOCKETPAIR,
    nr::SETSOCKOPT,
    nr::ACCEPT4,
    nr::DUP3,
    nr::CLOSE_RANGE,
];

/// AUDIT_ARCH_X86_64: a call made through another ABI (i386's int 0x80,
/// x32) has other numbers; the filter lets it run.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// The seccomp program: SECCOMP_RET_TRACE for the calls in [`TRACED`]
/// (the tracer gets a stop at their entry), SECCOMP_RET_ALLOW for every
/// other. Built before fork: nothing is allocated between fork and exec.
fn filter() -> Vec<libc::sock_filter> {
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jeq = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let n = TRACED.len() as u8;
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    // seccomp_data: nr at offset 0, arch at 4.
    let mut f = vec![
        stmt(load, 4),
        // Another ABI: to the ALLOW after the list.
        jeq(AUDIT_ARCH_X86_64, 0, n + 1),
        stmt(load, 0),
    ];
    for (j, &nr) in TRACED.iter().enumerate() {
        // To the TRACE at the end: past the rest of the list and ALLOW.
        f.push(jeq(nr as u32, n - j as u8, 0));
    }
    f.push(stmt(ret, libc::SECCOMP_RET_ALLOW));
    f.push(stmt(ret, libc::SECCOMP_RET_TRACE));
    f
}

/// Installs `prog` in the calling process (the child, before exec). Root
/// needs no PR_SET_NO_NEW_PRIVS (which would keep a set-user-ID program
/// it runs from gaining anything); another user does. A failure leaves
/// the program without a filter: the tracer then stops every call.
///
/// SAFETY (of the caller): async-signal-safe (prctl, syscall), no
/// allocation.
unsafe fn install_filter(prog: &libc::sock_fprog) {
    let p = prog as *const libc::sock_fprog;
    // SAFETY: seccomp reads the program it is given, which outlives it.
    unsafe {
        if libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, p) == 0 {
            return;
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 {
            libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, p);
        }
    }
}

/// How many seccomp filters `pid` has (`Seccomp_filters:` in its status,
/// Linux 5.9), or its seccomp mode where that line is missing.
fn seccomp_filters(pid: &str) -> i64 {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    let field = |name: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    field("Seccomp_filters:")
        .or_else(|| field("Seccomp:"))
        .unwrap_or(0)
}

/// Whether this program is traced: anything but python3 (which has the
/// start-up module) on a machine whose system call numbers are known here.
pub fn wanted(argv: &[String]) -> bool {
    let Some(first) = argv.first() else {
        return false;
    };
    let base = std::path::Path::new(first)
        .file_name()
        .map_or_else(|| first.clone(), |n| n.to_string_lossy().into_owned());
    cfg!(target_arch = "x86_64") && !base.starts_with("python")
}

/// Whether `program` names a file exec can run (PATH searched as exec
/// does): executable, and an ELF binary or a `#!` script whose interpreter
/// is one. A traced child whose exec fails cannot tell sockplay why: its
/// report of the error is a write, which the seccomp filter turns into
/// ENOSYS until the tracer has asked for seccomp stops, and the child then
/// aborts into a signal stop that only the tracer, still inside the spawn,
/// could let go (a hang). So a program that will not start is started
/// untraced, and its error is the usual one. (An exec that fails for want
/// of memory or with arguments too long still would hang: not checked.)
pub fn runnable(program: &str) -> bool {
    runnable_at(program, 0)
}

fn runnable_at(program: &str, depth: u8) -> bool {
    use std::io::Read as _;
    use std::os::unix::ffi::OsStrExt;
    let ok = |p: &std::path::Path| {
        let executable = p.is_file()
            && std::ffi::CString::new(p.as_os_str().as_bytes())
                // SAFETY: access reads the NUL-terminated path.
                .is_ok_and(|c| unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0);
        if !executable {
            return false;
        }
        // Its first bytes: exec runs ELF, and `#!` scripts (through their
        // interpreter, which must be runnable itself; the kernel follows a
        // few levels).
        let mut head = [0u8; 256];
        let n = std::fs::File::open(p)
            .and_then(|mut f| f.read(&mut head))
            .unwrap_or(0);
        let head = &head[..n];
        if head.starts_with(b"\x7fELF") {
            return true;
        }
        let Some(line) = head.strip_prefix(b"#!") else {
            return false;
        };
        let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
        let interp = String::from_utf8_lossy(line);
        match interp.split_whitespace().next() {
            Some(i) if i.starts_with('/') && depth < 4 => runnable_at(i, depth + 1),
            _ => false,
        }
    };
    if program.contains('/') {
        return ok(std::path::Path::new(program));
    }
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| ok(&d.join(program))))
}

/// A program that ptrace would change: set-user-ID or set-group-ID, run by
/// someone who is not root (the kernel runs it without its privilege when
/// it is traced).
pub fn would_lose_privilege(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return false;
    }
    let path = if program.contains('/') {
        Some(std::path::PathBuf::from(program))
    } else {
        std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(program))
                .find(|c| c.is_file())
        })
    };
    path.and_then(|p| std::fs::metadata(p).ok())
        .is_some_and(|m| m.permissions().mode() & 0o6000 != 0)
}

/// What the tracer thread shares with the pump.
#[derive(Default)]
pub struct Shared {
    /// The main process's wait status, once it has ended.
    pub status: Option<i32>,
}

/// The tracer of one program.
pub struct Tracer {
    pub shared: Arc<Mutex<Shared>>,
    _thread: std::thread::JoinHandle<()>,
}

impl Tracer {
    /// The main process's end, if it came.
    pub fn status(&self) -> Option<std::process::ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        let s = self.shared.lock().ok()?.status?;
        Some(std::process::ExitStatus::from_raw(s))
    }
}

/// Spawns `cmd` traced, on a thread that then follows it, writing its
/// reports on `channel`. Returns the child (not to be waited for by anyone
/// but the tracer) and the tracer, or, when ptrace is refused, the child
/// spawned untraced and None.
pub fn spawn(
    mut cmd: Command,
    channel: OwnedFd,
    sync_writes: bool,
) -> std::io::Result<(Child, Option<Tracer>)> {
    let shared = Arc::new(Mutex::new(Shared::default()));
    let (tx, rx) = std::sync::mpsc::channel::<std::io::Result<(Child, bool)>>();
    let sh = shared.clone();
    let thread = std::thread::Builder::new()
        .name("sockplay-ptrace".into())
        .spawn(move || {
            let mut code = filter();
            let prog = libc::sock_fprog {
                len: code.len() as u16,
                filter: code.as_mut_ptr(),
            };
            // The pointer crosses into the closure as a number: the
            // program it points to lives until the spawn returns.
            let prog_at = &prog as *const libc::sock_fprog as usize;
            // SAFETY: ptrace(PTRACE_TRACEME), prctl and seccomp are
            // async-signal-safe; `prog` outlives the spawn.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    install_filter(&*(prog_at as *const libc::sock_fprog));
                    Ok(())
                });
            }
            let child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                    // The spawn failed before exec: the program has not run.
                    // It runs untraced (a fresh Command would lose the
                    // first hook's setup, so the traced one is rebuilt by
                    // the caller).
                    let _ = tx.send(Err(e));
                    return;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            drop(code);
            let pid = child.id() as i32;
            let _ = tx.send(Ok((child, true)));
            let stream = UnixStream::from(channel);
            let mut t = Trace::new(pid, stream, sh, sync_writes);
            t.run();
        })?;
    match rx.recv() {
        Ok(Ok((child, _))) => Ok((
            child,
            Some(Tracer {
                shared,
                _thread: thread,
            }),
        )),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => Err(std::io::Error::other("the tracer thread ended")),
    }
}

/// The registers at a stop (PTRACE_GET_SYSCALL_INFO's struct).
#[repr(C)]
#[derive(Default)]
struct SysInfo {
    op: u8,
    _pad: [u8; 3],
    arch: u32,
    ip: u64,
    sp: u64,
    /// entry: nr, args[6]; exit: rval, is_error.
    data: [u64; 7],
}

const OP_ENTRY: u8 = 1;
const OP_EXIT: u8 = 2;
/// A seccomp stop: the call's entry, as OP_ENTRY's data.
const OP_SECCOMP: u8 = 3;

/// A call seen at its entry, waiting for its exit.
struct Pending {
    nr: u64,
    args: [u64; 6],
    t0: u64,
    /// Reported before it ran (W or B): the head to end it with.
    begun: bool,
    /// What was learnt at entry (accept's queue, recv's datagram size,
    /// send's queue, close's state...).
    pre: Vec<String>,
    /// The socket's type (SOCK_STREAM...), when it is one.
    kind: i32,
}

/// One traced thread.
#[derive(Default)]
struct Thread {
    tgid: i32,
    pending: Option<Pending>,
    /// The call restarted after a signal (same number, same fd): its wait
    /// was said already.
    restarting: Option<(u64, u64)>,
}

/// One traced process.
struct Proc {
    name: String,
    pidfd: Option<OwnedFd>,
    /// fd -> the socket's type, or None when it is not a socket (learnt
    /// once; forgotten when the descriptor is closed or replaced).
    fds: HashMap<i32, Option<i32>>,
}

struct Trace {
    main: i32,
    out: Option<UnixStream>,
    shared: Arc<Mutex<Shared>>,
    threads: HashMap<i32, Thread>,
    procs: HashMap<i32, Proc>,
    /// Pids reported by a fork/clone event whose first stop is still due.
    expected: std::collections::HashSet<i32>,
    /// Reports were sent since the last sync.
    dirty: bool,
    /// The program writes to the terminal itself (the foreground): its
    /// writes there wait for its reports to be shown.
    sync_writes: bool,
    /// The seccomp filter is in the program: it stops only at the calls
    /// in [`TRACED`] (a seccomp stop, at their entry), and is let go with
    /// PTRACE_CONT, or PTRACE_SYSCALL from a seccomp stop to that call's
    /// exit when it is one to report. Without it, every call stops twice.
    seccomp: bool,
}

impl Trace {
    fn new(main: i32, out: UnixStream, shared: Arc<Mutex<Shared>>, sync_writes: bool) -> Trace {
        Trace {
            main,
            out: Some(out),
            shared,
            threads: HashMap::new(),
            procs: HashMap::new(),
            expected: Default::default(),
            dirty: false,
            sync_writes,
            seccomp: false,
        }
    }

    /// The program is about to write to the terminal: what was reported
    /// before is shown first (the module's sync: sockplay answers a byte
    /// once it has shown every report before).
    fn sync(&mut self, pid: i32) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        self.send(&format!("Y\t{pid}\n"), &[]);
        let Some(o) = &mut self.out else { return };
        let mut b = [0u8; 1];
        let _ = o.set_read_timeout(Some(std::time::Duration::from_secs(1)));
        let _ = std::io::Read::read(o, &mut b);
    }

    fn send(&mut self, msg: &str, data: &[u8]) {
        self.dirty = true;
        let Some(o) = &mut self.out else { return };
        let len = msg.len() + data.len();
        if len > MAX_FRAME {
            return;
        }
        let mut frame = Vec::with_capacity(4 + len);
        frame.extend_from_slice(&(len as u32).to_le_bytes());
        frame.extend_from_slice(msg.as_bytes());
        frame.extend_from_slice(data);
        if o.write_all(&frame).is_err() {
            // Nobody reads any more: the program goes on, untold.
            self.out = None;
        }
    }

    fn hello(&mut self, pid: i32) {
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ppid = ppid_of(pid);
        self.send(&format!("H\t{pid}\t{ppid}\t{}\n", esc(&cwd)), &[]);
    }

    fn add_proc(&mut self, pid: i32, fds: HashMap<i32, Option<i32>>) {
        let pidfd = super::launch::pidfd_open(pid);
        self.procs.insert(
            pid,
            Proc {
                name: comm(pid),
                pidfd,
                fds,
            },
        );
    }

    /// The main loop: every stop of every tracee, until none is left.
    fn run(&mut self) {
        let main = self.main;
        let mut st = 0;
        // The stop after exec (PTRACE_TRACEME).
        // SAFETY: waitpid of our own tracee.
        let r = unsafe { libc::waitpid(main, &mut st, libc::__WALL) };
        if r != main || !libc::WIFSTOPPED(st) {
            if r == main {
                self.finish(main, st);
            }
            return;
        }
        // Our filter is there when the program has one more than sockplay.
        self.seccomp = seccomp_filters(&main.to_string()) > seccomp_filters("self");
        let mut opts = libc::PTRACE_O_TRACESYSGOOD
            | libc::PTRACE_O_TRACECLONE
            | libc::PTRACE_O_TRACEFORK
            | libc::PTRACE_O_TRACEVFORK
            | libc::PTRACE_O_TRACEEXEC
            | libc::PTRACE_O_EXITKILL;
        // Always: were the filter there unseen, its calls would fail with
        // ENOSYS without this option.
        opts |= libc::PTRACE_O_TRACESECCOMP;
        // SAFETY: ptrace requests on our stopped tracee.
        unsafe {
            libc::ptrace(libc::PTRACE_SETOPTIONS, main, 0, opts as libc::c_long);
        }
        self.threads.insert(
            main,
            Thread {
                tgid: main,
                ..Default::default()
            },
        );
        self.add_proc(main, HashMap::new());
        self.hello(main);
        self.resume(main, 0);
        loop {
            // SAFETY: waits for our own tracees only (__WNOTHREAD): the
            // shell's other children are not this thread's.
            let pid = unsafe { libc::waitpid(-1, &mut st, libc::__WALL | libc::__WNOTHREAD) };
            if pid < 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                break;
            }
            if libc::WIFEXITED(st) || libc::WIFSIGNALED(st) {
                self.finish(pid, st);
                continue;
            }
            if !libc::WIFSTOPPED(st) {
                continue;
            }
            let sig = libc::WSTOPSIG(st);
            let event = (st >> 16) & 0xff;
            if !self.threads.contains_key(&pid) {
                // A new thread or process, at its first stop (before or
                // after its parent's event).
                self.adopt(pid);
                if sig == libc::SIGSTOP {
                    self.expected.remove(&pid);
                    self.resume(pid, 0);
                    continue;
                }
            }
            if sig == libc::SIGTRAP | 0x80 {
                self.syscall_stop(pid);
                self.resume(pid, 0);
            } else if sig == libc::SIGTRAP && event == libc::PTRACE_EVENT_SECCOMP {
                // The entry of a call in the filter: on to its exit when
                // it is one to report (a read of a file is not).
                self.syscall_stop(pid);
                self.resume(pid, 0);
            } else if sig == libc::SIGTRAP && event != 0 {
                self.event(pid, event);
                self.resume(pid, 0);
            } else if sig == libc::SIGSTOP && self.expected.remove(&pid) {
                self.resume(pid, 0);
            } else {
                // A signal for the program: passed on unchanged.
                self.resume(pid, sig);
            }
        }
    }

    /// A tracee seen for the first time.
    fn adopt(&mut self, pid: i32) {
        let tgid = tgid_of(pid).unwrap_or(pid);
        self.threads.insert(
            pid,
            Thread {
                tgid,
                ..Default::default()
            },
        );
        if tgid == pid && !self.procs.contains_key(&pid) {
            // A forked process holds copies of its parent's descriptors.
            let ppid = ppid_of(pid);
            let fds = self
                .threads
                .get(&ppid)
                .and_then(|t| self.procs.get(&t.tgid))
                .map(|p| p.fds.clone())
                .unwrap_or_default();
            self.add_proc(pid, fds);
            self.hello(pid);
        }
    }

    fn event(&mut self, pid: i32, event: i32) {
        match event {
            libc::PTRACE_EVENT_CLONE | libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK => {
                let mut new: libc::c_ulong = 0;
                // SAFETY: GETEVENTMSG writes one unsigned long.
                unsafe {
                    libc::ptrace(
                        libc::PTRACE_GETEVENTMSG,
                        pid,
                        0,
                        &mut new as *mut libc::c_ulong,
                    );
                }
                let new = new as i32;
                if new > 0 && !self.threads.contains_key(&new) {
                    self.expected.insert(new);
                    self.adopt(new);
                }
            }
            libc::PTRACE_EVENT_EXEC => {
                // A new program in this process: its name, and its
                // descriptors as they are after exec (close-on-exec ones
                // are gone) are learnt afresh. The thread that called exec
                // now has the process's pid.
                let mut former: libc::c_ulong = 0;
                // SAFETY: GETEVENTMSG writes one unsigned long.
                unsafe {
                    libc::ptrace(
                        libc::PTRACE_GETEVENTMSG,
                        pid,
                        0,
                        &mut former as *mut libc::c_ulong,
                    );
                }
                let former = former as i32;
                if former != pid
                    && let Some(t) = self.threads.remove(&former)
                {
                    self.threads.insert(pid, t);
                }
                let tgid = self.threads.get(&pid).map_or(pid, |t| t.tgid);
                self.threads.retain(|&tid, t| t.tgid != tgid || tid == pid);
                if let Some(p) = self.procs.get_mut(&tgid) {
                    p.name = comm(pid);
                    p.fds.clear();
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, pid: i32, st: i32) {
        if pid == self.main
            && let Ok(mut s) = self.shared.lock()
        {
            s.status = Some(st);
        }
        if let Some(t) = self.threads.remove(&pid)
            && t.tgid == pid
        {
            self.procs.remove(&pid);
        }
    }

    fn syscall_stop(&mut self, tid: i32) {
        let mut info = SysInfo::default();
        // SAFETY: the kernel writes at most the size given.
        let n = unsafe {
            libc::ptrace(
                libc::PTRACE_GET_SYSCALL_INFO,
                tid,
                std::mem::size_of::<SysInfo>(),
                &mut info as *mut SysInfo,
            )
        };
        if n <= 0 {
            return;
        }
        match info.op {
            OP_ENTRY | OP_SECCOMP => {
                let nr = info.data[0];
                let mut args = [0u64; 6];
                args.copy_from_slice(&info.data[1..7]);
                self.entry(tid, nr, args);
            }
            OP_EXIT => {
                let rval = info.data[0] as i64;
                let Some(p) = self.threads.get_mut(&tid).and_then(|t| t.pending.take()) else {
                    return;
                };
                self.exit(tid, p, rval);
            }
            _ => {}
        }
    }

    fn tgid(&self, tid: i32) -> i32 {
        self.threads.get(&tid).map_or(tid, |t| t.tgid)
    }

    /// Our copy of the program's descriptor (closed when dropped).
    fn getfd(&self, tgid: i32, fd: i32) -> Option<OwnedFd> {
        let pidfd = self.procs.get(&tgid)?.pidfd.as_ref()?;
        // SAFETY: pidfd_getfd with a pidfd we hold; the result is ours.
        let r = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
        if r < 0 {
            return None;
        }
        // SAFETY: a fresh descriptor that nothing else owns.
        Some(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
    }

    /// The socket type of the program's `fd`, or None when it is not a
    /// socket (asked once, then remembered).
    fn socket_kind(&mut self, tgid: i32, fd: i32) -> Option<i32> {
        if fd < 0 {
            return None;
        }
        if let Some(k) = self.procs.get(&tgid).and_then(|p| p.fds.get(&fd)) {
            return *k;
        }
        let link = std::fs::read_link(format!("/proc/{tgid}/fd/{fd}")).ok()?;
        let kind = if link.to_string_lossy().starts_with("socket:") {
            self.getfd(tgid, fd)
                .map(|c| int_opt(c.as_raw_fd(), libc::SOL_SOCKET, libc::SO_TYPE))
        } else {
            None
        };
        if let Some(p) = self.procs.get_mut(&tgid) {
            p.fds.insert(fd, kind);
        }
        kind
    }

    fn forget_fd(&mut self, tgid: i32, fd: i32) {
        if let Some(p) = self.procs.get_mut(&tgid) {
            p.fds.remove(&fd);
        }
    }

    /// The head of a report: `KIND pid tid thread loc via call fd t0`.
    fn head(&self, kind: char, tid: i32, call: &str, shown: &str, fd: i64, t0: u64) -> String {
        let tgid = self.tgid(tid);
        let name = self.procs.get(&tgid).map_or("?", |p| p.name.as_str());
        let thread = if tid == tgid {
            "MainThread".to_string()
        } else {
            format!("thread {tid}")
        };
        // No source line: the "place" is the system call and its fd, so
        // that repeats of one call go under one header, as a line's do.
        let _ = call;
        let loc = shown
            .bytes()
            .fold(2_166_136_261u32, |h, b| {
                (h ^ u32::from(b)).wrapping_mul(16_777_619)
            })
            .max(1);
        format!(
            "{kind}\t{tgid}\t{tid}\t{}\t{loc}\t{}\t{call}\t{fd}\t{t0}",
            esc(&thread),
            esc(&format!("{name}: {shown}"))
        )
    }
}

impl Trace {
    /// Lets a stopped tracee go on: to its next system call without the
    /// filter; with it, to the exit of the call it is in when that is to
    /// be reported (PTRACE_SYSCALL), else to the next call in the filter
    /// or signal (PTRACE_CONT).
    fn resume(&self, pid: i32, sig: i32) {
        let mid_call = self.threads.get(&pid).is_some_and(|t| t.pending.is_some());
        let req = if !self.seccomp || mid_call {
            libc::PTRACE_SYSCALL
        } else {
            libc::PTRACE_CONT
        };
        // SAFETY: a ptrace request on our stopped tracee.
        unsafe {
            libc::ptrace(req, pid, 0, sig as libc::c_long);
        }
    }
}

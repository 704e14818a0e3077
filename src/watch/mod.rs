//! Real programs under sockplay's eye: `sockplay watch PROGRAM` and, in the
//! shell, `run PROGRAM ... [&]`.
//!
//! In: a command line. The program runs unchanged, in the machine's
//! python3 (a `.py` file alone runs with it), with the terminal as its
//! stdin, stdout and stderr (in the background: pipes, fed by `input %N`).
//! python3 is given a start-up module (`sitecustomize.py`, embedded here,
//! written to a private directory that is removed afterwards, first on
//! PYTHONPATH; it chains to any other sitecustomize) that replaces
//! `socket.socket` with a subclass reporting each call, and wraps select,
//! poll, epoll (so selectors and socketserver) and the socket module's
//! functions. The reports come over a socket the program inherits (at a
//! high fd, so its own sockets are numbered as always).
//!
//! Out: the shell's own [`Item`]s, rendered by the one renderer: a header
//! per call (the thread, `file:line` and the program's line), then what the
//! shell says for the same call: waits and what they wait for, values as
//! Python shows them, the sends a recv took (the session's message
//! boundaries, shared with the shell's own sockets), errors in Python's
//! words with their hint, the classic moments explained once. And the
//! exit status, which `sockplay watch` returns. A program that is not
//! Python (nc, curl, a C program) is traced with ptrace (see [`ptrace`]):
//! its socket system calls become the same reports, its header the
//! program's name and the system call (there is no source line). Where
//! ptrace is refused (a container's policy, a set-user-ID program run by
//! a user), a note says so and its sockets are read from /proc (see
//! [`peek`]).
//!
//! Why this mechanism: it needs no privilege and no change to the program;
//! it sees the calls as Python makes them (the source line, the thread,
//! the bytes), which strace or an LD_PRELOAD shim would see only as system
//! calls, without the Python line; and it is cheap: a call that does not
//! wait costs a few microseconds (its report is queued and written in
//! batches), a call that waits says so before it waits. For a program that
//! is not Python, ptrace is the one way that needs no privilege (one's own
//! child), works for static binaries (an LD_PRELOAD shim does not), and
//! sees the bytes; a seccomp filter put in the program before exec stops
//! it only at the socket calls (and read/write/close, whose descriptor the
//! filter cannot tell apart): 100 MB through nc took 3.5x its untraced time
//! where stopping at every call took 8.8x.

pub mod job;
pub mod launch;
pub mod peek;
pub mod proto;
pub mod ptrace;
pub mod pump;
pub mod track;

pub use job::{Program, Programs};

use crate::errors::ExecError;
use crate::exec::{Item, Sink};
use launch::Stdio3;
use pump::{Ended, Watched};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use track::{Context, Setup, Tracker};

/// How much is said.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Level {
    /// Each call and what it returned (or raised).
    Quiet,
    /// Everything the shell says for the same call.
    #[default]
    Normal,
    /// Also the waits that are not on sockets (sleep, join, input) and the
    /// polls a library makes for the program (socketserver's).
    Verbose,
}

/// The program's name for messages: `tcp_server.py` for `python3
/// tcp_server.py`, else the program itself.
pub fn program_name(argv: &[String]) -> String {
    let base = |s: &str| {
        std::path::Path::new(s)
            .file_name()
            .map_or_else(|| s.to_string(), |n| n.to_string_lossy().into_owned())
    };
    let first = argv.first().map(String::as_str).unwrap_or("");
    let name = if base(first).starts_with("python") {
        let mut name = base(first);
        let mut it = argv.iter().skip(1);
        while let Some(a) = it.next() {
            match a.as_str() {
                "-c" => {
                    name = format!("{} -c", base(first));
                    break;
                }
                "-m" => {
                    name = it.next().map_or(name, |m| m.clone());
                    break;
                }
                a if a.starts_with('-') => {}
                a => {
                    name = base(a);
                    break;
                }
            }
        }
        name
    } else {
        base(first)
    };
    crate::value::escape_controls(&name)
}

/// The error of a program that could not start.
pub fn launch_error(e: std::io::Error, program: &str) -> ExecError {
    let mut x = ExecError::from(e);
    let shown = crate::value::escape_controls(program);
    if x.is_errno(libc::ENOENT) {
        x.message = format!("No such file or directory: '{shown}'");
        x.hint = Some(format!(
            "there is no program `{shown}` on PATH (a Python file runs as: run python3 FILE.py)"
        ));
    } else if x.is_errno(libc::EACCES) {
        x.hint = Some(format!(
            "`{shown}` is not executable: chmod +x it, or run it with its interpreter (python3 FILE.py)"
        ));
    }
    x
}

/// Whether a Ctrl-C typed at the terminal reaches the program by itself:
/// sockplay is the terminal's foreground process group, and so is its
/// child.
fn terminal_sends_sigint() -> bool {
    // SAFETY: plain queries of this process and its terminal.
    unsafe {
        let fg = libc::tcgetpgrp(0);
        fg > 0 && fg == libc::getpgrp()
    }
}

/// Runs `argv` in the foreground, watched, until it ends: its items go to
/// `out` as they come. Ctrl-C (the `interrupt` flag) goes to the program;
/// a second one, a second after, kills it.
pub fn foreground(
    argv: &[String],
    level: Level,
    ctx: Context,
    stdio: Stdio3,
    interrupt: &AtomicBool,
    out: &mut dyn Sink,
) -> Result<Ended, ExecError> {
    let argv = launch::resolve(argv);
    let launched = launch::launch(&argv, stdio)
        .map_err(|e| launch_error(e, argv.first().map_or("", String::as_str)))?;
    let setup = Setup {
        job: None,
        level,
        foreground: true,
        cwd: launched.cwd.clone(),
        main_pid: launched.pid,
    };
    let tracker = Tracker::new(setup, ctx);
    let mut w = Watched::new(launched, tracker, String::new());
    let mut proc_watch = peek::ProcWatch::new(w.launched.pid, String::new());
    let mut first_interrupt: Option<Instant> = None;
    let tty = terminal_sends_sigint();
    let mut out = Counted { out, n: 0 };
    let out = &mut out;
    loop {
        // What a step said is seen now (stdout may be a pipe, which the
        // printer fills in large pieces).
        if out.n > 0 {
            out.n = 0;
            out.out.idle();
        }
        if let Some(end) = w.step(Duration::from_millis(20), out) {
            for it in proc_watch.finish() {
                out.emit(it);
            }
            return Ok(end);
        }
        if !w.tracker.hooked && w.started.elapsed() > Duration::from_millis(150) {
            for it in proc_watch.poll() {
                out.emit(it);
            }
        }
        if interrupt.swap(false, Ordering::SeqCst) {
            match first_interrupt {
                None => {
                    first_interrupt = Some(Instant::now());
                    if !tty {
                        w.signal(libc::SIGINT, false);
                    }
                }
                Some(t) if t.elapsed() >= Duration::from_secs(1) => {
                    out.emit(Item::Warn(
                        "the program is still running after Ctrl-C: killed (SIGKILL)".into(),
                    ));
                    w.signal(libc::SIGKILL, false);
                }
                Some(_) => {}
            }
        }
    }
}

/// A sink that counts what goes through it.
struct Counted<'a> {
    out: &'a mut dyn Sink,
    n: usize,
}

impl Sink for Counted<'_> {
    fn emit(&mut self, item: Item) {
        self.n += 1;
        self.out.emit(item);
    }

    fn idle(&mut self) {
        self.out.idle();
    }
}

/// `sockplay watch [-q|-v] PROGRAM [ARGS...]`: runs the program watched,
/// printing its calls; returns its exit status (127 when it could not
/// start).
pub fn cli(argv: &[String], level: Level, interrupt: &AtomicBool) -> i32 {
    use std::io::IsTerminal;
    let mut out = crate::script::PrintSink;
    let stdio = Stdio3::Inherit;
    let _ = std::io::stdin().is_terminal();
    let name = program_name(&launch::resolve(argv));
    match foreground(argv, level, Context::default(), stdio, interrupt, &mut out) {
        Ok(end) => {
            if level != Level::Quiet || end.code() != 0 {
                out.emit(Item::Note(format!(
                    "{name} {} after {}",
                    end.words(),
                    crate::wait::human(end.elapsed)
                )));
            }
            // The wire view is the shell's: it captures the segments and
            // draws them beside both ends' calls.
            if level != Level::Quiet && !end.connections.is_empty() {
                let shown = argv
                    .iter()
                    .map(|a| crate::value::escape_controls(a))
                    .collect::<Vec<_>>()
                    .join(" ");
                out.emit(Item::Note(format!(
                    "the segments of its connections and their sequence diagram (`states`, `diagram`) are the shell's: run it inside sockplay (`run {shown} &`, then play its peer and type `diagram`)"
                )));
            }
            crate::script::flush_out();
            end.code()
        }
        Err(e) => {
            crate::script::print_error(&crate::render::exec_error(
                &e,
                &crate::render::Origin {
                    file: None,
                    line: 0,
                    text: "",
                },
            ));
            127
        }
    }
}

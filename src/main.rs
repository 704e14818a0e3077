//! The `sockplay` command: the interactive shell, or a script from a file,
//! from `-c`, or piped on stdin. All of them go through the same
//! parse -> execute -> render path.

use clap::{Parser, ValueEnum};
use sockplay::exec::Session;
use sockplay::input::{Lines, text_lines};
use sockplay::play::PlayOptions;
use sockplay::script::Runner;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum When {
    Auto,
    Always,
    Never,
}

/// An interactive playground for BSD sockets: type the calls of a socket
/// program one at a time and see what the kernel does.
#[derive(Parser, Debug)]
#[command(
    name = "sockplay",
    version,
    about,
    after_help = "Watch a program of yours: sockplay watch [-q|-v] PROGRAM [ARGS]... (sockplay watch --help)"
)]
struct Args {
    /// A script to replay (one command per line; `#` lines are narration;
    /// see docs/lessons.md).
    file: Option<PathBuf>,

    /// Run these commands (separated by `;` or newlines) and exit.
    #[arg(short = 'c', value_name = "COMMANDS", conflicts_with = "file")]
    commands: Option<String>,

    /// Run bundled lesson N (`lesson` in the shell lists them).
    #[arg(long, value_name = "N", conflicts_with_all = ["file", "commands"])]
    lesson: Option<i64>,

    /// Teacher mode: show each command, then wait for Enter before running
    /// it (q then Enter leaves). Keys are read from the terminal.
    #[arg(long, conflicts_with = "check")]
    step: bool,

    /// Stop with status 1 at the first failing command or failed expect;
    /// quiet about the expects that hold.
    #[arg(long, conflicts_with = "keep_going")]
    check: bool,

    /// In a script, go on after a failing command or expect (the status is
    /// still 1).
    #[arg(long)]
    keep_going: bool,

    /// Colour the output: auto (when stdout is a terminal and NO_COLOR is
    /// unset), always, or never.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    color: When,

    /// Do not run the sockplayrc file at start.
    #[arg(long)]
    no_rc: bool,

    /// Scripts and lessons may also create files under DIR (by default
    /// only under the current directory); repeatable.
    #[arg(long, value_name = "DIR")]
    allow_write: Vec<PathBuf>,

    /// Scripts and lessons may also read files under DIR (sendfile,
    /// source, serve http DIR); repeatable.
    #[arg(long, value_name = "DIR")]
    allow_read: Vec<PathBuf>,

    /// Scripts and lessons may replace existing files (never through a
    /// symbolic link); by default they only create new ones.
    #[arg(long)]
    allow_replace: bool,

    /// Scripts and lessons may start programs (`run`); by default only
    /// commands typed at the prompt and the bundled lessons may.
    #[arg(long)]
    allow_run: bool,

    /// Run in a network of the shell's own (a user and a network
    /// namespace), where `states` and `diagram` capture without root. Its
    /// loopback is its own: servers elsewhere on this machine cannot be
    /// reached from it.
    #[arg(long)]
    lab: bool,
}

/// `sockplay watch`: run a program (a Python program: python3 FILE.py, or
/// FILE.py) and show each socket call it makes as it makes it, with its
/// file:line and the line itself. Its stdin, stdout and stderr are the
/// terminal; the status is the program's.
#[derive(Parser, Debug)]
#[command(name = "sockplay watch", version)]
struct WatchArgs {
    /// Only each call and what it returned (or raised).
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
    /// Also the waits that are not on sockets (sleep, join, input) and the
    /// polls a library makes for the program (socketserver's).
    #[arg(short, long)]
    verbose: bool,
    /// Colour the output: auto (when stdout is a terminal and NO_COLOR is
    /// unset), always, or never.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    color: When,
    /// The program and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PROGRAM [ARGS]..."
    )]
    program: Vec<String>,
}

/// `sockplay [--color WHEN] watch ...`: the arguments of `watch` (with a
/// colour given before the word), when the command line is that. (A
/// subcommand of clap would clash with the script FILE positional.)
fn watch_args() -> Option<WatchArgs> {
    let args: Vec<String> = std::env::args().collect();
    let mut k = 1;
    let mut color: Option<String> = None;
    while let Some(a) = args.get(k) {
        if a == "--color" {
            color = args.get(k + 1).cloned();
            k += 2;
        } else if let Some(c) = a.strip_prefix("--color=") {
            color = Some(c.to_string());
            k += 1;
        } else {
            break;
        }
    }
    if args.get(k).map(String::as_str) != Some("watch") {
        return None;
    }
    let mut rest = vec!["sockplay watch".to_string()];
    if let Some(c) = color {
        rest.push("--color".into());
        rest.push(c);
    }
    rest.extend(args[k + 1..].iter().cloned());
    Some(WatchArgs::parse_from(rest))
}

fn use_color(when: When) -> bool {
    match when {
        When::Always => true,
        When::Never => false,
        When::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// SOCKPLAY_CONFIG_DIR, else the platform's config directory.
fn config_dir() -> Option<PathBuf> {
    match std::env::var_os("SOCKPLAY_CONFIG_DIR") {
        Some(d) => Some(PathBuf::from(d)),
        None => dirs::config_dir().map(|d| d.join("sockplay")),
    }
}

/// SOCKPLAY_HISTORY, else a file under the platform's data directory.
fn history_path() -> Option<PathBuf> {
    match std::env::var_os("SOCKPLAY_HISTORY") {
        Some(p) => Some(PathBuf::from(p)),
        None => dirs::data_dir().map(|d| d.join("sockplay").join("history")),
    }
}

/// Raises the soft limit on open descriptors to the hard limit. The soft
/// limit is often 1024, and a learner (or the scale benchmark) may hold
/// 10,000 sockets at once; the hard limit is the administrator's, and is
/// left alone. Failing leaves the limit as it was (EMFILE then says so).
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write one rlimit we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Whether a script (known whole: a file or `-c`) may ask for `states` or
/// `diagram`, itself or through a lesson or a file it runs: if it never
/// says any of those words, the packet capture (root) and the sampled
/// states behind those views are not kept, and each statement is cheaper.
/// The interactive shell, piped input and `--lesson` keep them always.
fn mentions_states(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    ["states", "diagram", "lesson", "source", "step"]
        .iter()
        .any(|w| t.contains(w))
}

/// A script file that cannot be read: said, and status 2.
fn cannot_read(file: &std::path::Path, e: std::io::Error) -> i32 {
    eprintln!(
        "sockplay: cannot read {}: {e}",
        sockplay::files::shown(file)
    );
    2
}

fn main() {
    raise_fd_limit();
    // The helper process of `c10k` (this program again): it holds the
    // other ends of the connections.
    if std::env::var_os(sockplay::exec::HOLD_ENV).is_some() {
        sockplay::exec::hold_connections();
    }
    if let Some(w) = watch_args() {
        use sockplay::watch::Level;
        colored::control::set_override(use_color(w.color));
        let interrupt = sockplay::wait::install_sigint();
        let level = match (w.quiet, w.verbose) {
            (true, _) => Level::Quiet,
            (_, true) => Level::Verbose,
            _ => Level::Normal,
        };
        let status = sockplay::watch::cli(&w.program, level, &interrupt);
        sockplay::script::flush_out();
        std::process::exit(status);
    }
    sockplay::table::move_inherited_fds();
    let args = Args::parse();
    // First, while the process has one thread: the kernel makes a user
    // namespace only for such a process.
    let lab = args.lab.then(sockplay::wire::userns::enter);
    // SIGTERM, SIGHUP and SIGQUIT end the shell through the same clean-up
    // as every other way out (after the lab: its thread is the second).
    sockplay::exit::install();
    let color = use_color(args.color);
    colored::control::set_override(color);
    let interrupt = sockplay::wait::install_sigint();
    // `help` fits a terminal's width (80 columns elsewhere).
    sockplay::render::set_width(sockplay::script::stdout_columns());
    let mut runner = Runner::new(Session::new(interrupt));
    runner.session.settings.color = format!("{:?}", args.color).to_ascii_lowercase();
    let policy = &mut runner.session.files;
    policy.replace = args.allow_replace;
    policy.run = args.allow_run;
    for (dirs, write) in [(&args.allow_write, true), (&args.allow_read, false)] {
        for d in dirs {
            let done = if write {
                policy.allow_write(d)
            } else {
                policy.allow_read(d)
            };
            if let Err(e) = done {
                eprintln!(
                    "sockplay: --allow-{} {}: {e}",
                    if write { "write" } else { "read" },
                    sockplay::files::shown(d)
                );
                sockplay::exit::exit(2);
            }
        }
    }
    if let Some(lab) = lab {
        let item = match &lab {
            Ok(said) => sockplay::exec::Item::Note(said.clone()),
            Err(why) => sockplay::exec::Item::Warn(format!(
                "lab: no network of this shell's own: {why}; `states` shows the TCP states sampled after each command"
            )),
        };
        sockplay::script::say(&sockplay::render::item(&item));
        runner.session.own_net = Some(lab);
    }

    let opts = PlayOptions {
        step: args.step,
        check: args.check,
        keep_going: args.keep_going,
    };
    let status = if let Some(n) = args.lesson {
        match sockplay::lessons::get(n) {
            Some(lesson) => {
                // Its socket files go when it ends (run_lines closes every
                // socket, then removes them).
                runner.session.in_lesson = 1;
                runner.run_lines(&mut text_lines(lesson.text), &lesson.path(), opts)
            }
            None => {
                eprintln!(
                    "sockplay: there is no lesson {n}: they are numbered 1 to {} (`lesson` in the shell lists them)",
                    sockplay::lessons::LESSONS.len()
                );
                2
            }
        }
    } else if let Some(cmds) = &args.commands {
        runner.session.watch_states = mentions_states(cmds);
        runner.journal.on = sockplay::export::journal::wanted_by(cmds);
        runner.run_lines(&mut text_lines(cmds), "-c", opts)
    } else if let Some(file) = &args.file {
        // Read twice, line by line (never whole: a file may be larger than
        // the memory): once to see whether it asks for `states`, `export`
        // or `record`, once to run it.
        match Lines::file(file) {
            Ok(first) => {
                let (mut states, mut journal) = (false, false);
                for l in first.flatten() {
                    states |= mentions_states(&l);
                    journal |= sockplay::export::journal::wanted_by(&l);
                }
                runner.session.watch_states = states;
                runner.journal.on = journal;
                match Lines::file(file) {
                    Ok(mut lines) => {
                        runner.run_lines(&mut lines, &sockplay::files::shown(file), opts)
                    }
                    Err(e) => cannot_read(file, e),
                }
            }
            Err(e) => cannot_read(file, e),
        }
    } else if std::io::stdin().is_terminal() && (args.step || args.check) {
        eprintln!("sockplay: --step and --check replay a script: give a FILE or --lesson N");
        2
    } else if std::io::stdin().is_terminal() {
        let rc = config_dir()
            .map(|d| d.join("sockplayrc"))
            .filter(|_| !args.no_rc);
        // The shell stops the peers itself (and says so).
        sockplay::exit::exit(sockplay::repl::run(runner, history_path(), rc, color))
    } else {
        // The commands come from stdin: a program `run` in the foreground
        // must not read them.
        runner.session.program_stdin = false;
        runner.session.stdin_is_script = true;
        let mut lines = Lines::stdin(std::sync::Arc::clone(&runner.session.interrupt));
        runner.run_lines(&mut lines, "<stdin>", opts)
    };
    // exit() runs no destructors: stop the peers' threads (bounded) here.
    runner.session.stop_peers();
    sockplay::exit::exit(status);
}

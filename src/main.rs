//! The `sockplay` command: the interactive shell, or a script from a file,
//! from `-c`, or piped on stdin. All of them go through the same
//! parse -> execute -> render path.

use clap::{Parser, ValueEnum};
use sockplay::exec::Session;
use sockplay::play::PlayOptions;
use sockplay::script::{Runner, lines_of};
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
#[command(name = "sockplay", version, about)]
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

    /// Run in a network of the shell's own (a user and a network
    /// namespace), where `states` and `diagram` capture without root. Its
    /// loopback is its own: servers elsewhere on this machine cannot be
    /// reached from it.
    #[arg(long)]
    lab: bool,
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

fn main() {
    raise_fd_limit();
    // The helper process of `c10k` (this program again): it holds the
    // other ends of the connections.
    if std::env::var_os(sockplay::exec::HOLD_ENV).is_some() {
        sockplay::exec::hold_connections();
    }
    let args = Args::parse();
    // First, while the process has one thread: the kernel makes a user
    // namespace only for such a process.
    let lab = args.lab.then(sockplay::wire::userns::enter);
    let color = use_color(args.color);
    colored::control::set_override(color);
    let interrupt = sockplay::wait::install_sigint();
    let mut runner = Runner::new(Session::new(interrupt));
    runner.session.settings.color = format!("{:?}", args.color).to_ascii_lowercase();
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
                let mut lines = lesson.text.lines().map(str::to_string);
                runner.run_lines(&mut lines, &lesson.path(), opts)
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
        let mut lines = cmds.lines().map(str::to_string);
        runner.run_lines(&mut lines, "-c", opts)
    } else if let Some(file) = &args.file {
        match std::fs::read(file) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                runner.session.watch_states = mentions_states(&text);
                runner.journal.on = sockplay::export::journal::wanted_by(&text);
                let mut lines = text.lines().map(str::to_string);
                runner.run_lines(&mut lines, &file.display().to_string(), opts)
            }
            Err(e) => {
                eprintln!("sockplay: cannot read {}: {e}", file.display());
                2
            }
        }
    } else if std::io::stdin().is_terminal() && (args.step || args.check) {
        eprintln!("sockplay: --step and --check replay a script: give a FILE or --lesson N");
        2
    } else if std::io::stdin().is_terminal() {
        let rc = config_dir()
            .map(|d| d.join("sockplayrc"))
            .filter(|_| !args.no_rc);
        // The shell stops the peers itself (and says so).
        std::process::exit(sockplay::repl::run(runner, history_path(), rc, color))
    } else {
        let stdin = std::io::stdin();
        runner.session.stdin_is_script = true;
        let mut lines = lines_of(stdin.lock());
        runner.run_lines(&mut lines, "<stdin>", opts)
    };
    // exit() runs no destructors: stop the peers' threads (bounded) here.
    runner.session.stop_peers();
    sockplay::script::flush_out();
    std::process::exit(status);
}

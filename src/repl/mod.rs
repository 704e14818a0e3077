//! The interactive shell: rustyline with one Helper that completes command
//! words, socket names, options, families and types from the command
//! table; hints the usage of the command being typed; colours keywords;
//! keeps history under the data directory.
//!
//! Here the loop (read, run, report jobs, prompt for missing arguments);
//! `editor.rs` the Helper (completion, hints, colours), `fds.rs` the
//! descriptors held low while the editor opens its own.

mod editor;
mod fds;

pub use editor::{Names, ShellHelper, highlight_line, names_of};

use crate::script::{LineEnd, Runner};
use crate::spec::{self, ArgKind};
use crate::value::Value;
use colored::Colorize;
use fds::{hold_low_fds, hold_low_fds_for_editor, release_low_fds};
use rustyline::error::ReadlineError;
use rustyline::history::{DefaultHistory, History};
use rustyline::{CompletionType, Config, Editor};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// Job reports held while a command runs.
#[derive(Default)]
struct Held {
    busy: bool,
    pending: Vec<String>,
    /// Reports past [`HELD_MAX`], not kept.
    dropped: usize,
}

/// How many job reports are held while a command runs.
const HELD_MAX: usize = 10_000;

/// Runs the interactive shell until Ctrl-D or quit; returns the status.
/// `rc` is the sockplayrc file to run after the banner, if any.
pub fn run(mut runner: Runner, history: Option<PathBuf>, rc: Option<PathBuf>, color: bool) -> i32 {
    let config = Config::builder()
        // Lines are added by hand: the answers to argument prompts are not
        // history, the completed command is.
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .max_history_size(5000)
        .map(|b| b.build())
        .unwrap_or_default();
    // The line editor keeps descriptors of its own (the terminal, the
    // printer's pipe). Low numbers are held while it opens them, so that the
    // learner's first socket is fd 3, as in a Python program.
    let placeholders = hold_low_fds();
    let mut rl: Editor<ShellHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(rl) => rl,
        Err(e) => {
            eprintln!("sockplay: cannot start the line editor: {e}");
            return 1;
        }
    };
    // A job's report goes above the prompt without disturbing the line
    // being typed.
    // While a command runs, reports are held and printed when it ends, so
    // they never land inside its output; at the prompt they go at once.
    let held: Arc<Mutex<Held>> = Arc::default();
    if let Ok(printer) = rl.create_external_printer() {
        let printer = Mutex::new(printer);
        let held = Arc::clone(&held);
        runner.session.job_printer = Some(Arc::new(move |items: Vec<crate::exec::Item>| {
            let width = crate::render::screen_width();
            let mut text: String = items
                .iter()
                .map(|it| {
                    let t = crate::render::item(it);
                    match width {
                        Some(w) => crate::script::fitted(it, &t, w),
                        None => t,
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            text.push('\n');
            let Ok(mut h) = held.lock() else { return };
            if h.busy {
                // A program flooding while a command runs: the first
                // lines are kept, the rest counted.
                if h.pending.len() < HELD_MAX {
                    h.pending.push(text);
                } else {
                    h.dropped += 1;
                }
            } else if let Ok(mut p) = printer.lock() {
                let _ = rustyline::ExternalPrinter::print(&mut *p, text);
            }
        }));
    }
    drop(placeholders);
    runner.session.confirm = Some(Box::new(AskAtPrompt {
        interrupt: Arc::clone(&runner.session.interrupt),
    }));
    let names = Arc::new(Mutex::new(Names::default()));
    rl.set_helper(Some(ShellHelper::new(Arc::clone(&names), color)));
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    println!(
        "{} {}",
        "sockplay".bold().blue(),
        // Two lines, each within 80 columns: one line was cut mid-word.
        "- BSD sockets, one call at a time. `help` lists the commands,\nTab completes, Ctrl-C interrupts a call, Ctrl-D leaves.".dimmed()
    );
    if let Some(rc) = rc
        && let Ok(mut lines) = crate::input::Lines::file(&rc)
    {
        runner.run_rc(&mut lines, &crate::files::shown(&rc));
    }
    let prompt = (
        crate::render::PROMPT.to_string(),
        crate::render::prompt_styled(),
    );
    let macro_prompt = (
        crate::render::MACRO_PROMPT.to_string(),
        crate::render::macro_prompt_styled(),
    );
    let mut line_no = 0;
    let status = loop {
        if let Ok(mut n) = names.lock() {
            *n = names_of(&runner);
        }
        // The lines of a macro being defined get a prompt of their own.
        hold_low_fds_for_editor();
        let read = if runner.collecting_macro() {
            rl.readline(&macro_prompt)
        } else {
            rl.readline(&prompt)
        };
        release_low_fds();
        match read {
            Ok(line) => {
                line_no += 1;
                // `bind` alone asks for the socket, host and port.
                let line = if runner.collecting_macro() {
                    line
                } else {
                    let Some(line) = fill_missing(&mut rl, &runner, line) else {
                        continue;
                    };
                    line
                };
                if !line.trim().is_empty() {
                    let _ = rl.add_history_entry(line.as_str());
                }
                // Saved at once, so a closed terminal loses nothing.
                save_history(&mut rl, history.as_deref());
                runner.session.interrupt.store(false, Ordering::SeqCst);
                // The terminal may have been resized since the last line.
                crate::render::set_width(crate::script::stdout_columns());
                if let Ok(mut h) = held.lock() {
                    h.busy = true;
                }
                let end = runner.run_unit(&line, None, line_no);
                // Before the prompt (stdout may be a file while the shell
                // reads a terminal).
                crate::script::flush_out();
                if let Ok(mut h) = held.lock() {
                    h.busy = false;
                    for text in h.pending.drain(..) {
                        crate::script::say(text.trim_end_matches('\n'));
                    }
                    if h.dropped > 0 {
                        crate::script::say(&format!(
                            "  {}",
                            format!(
                                "# {} more lines of the background jobs not shown",
                                h.dropped
                            )
                            .dimmed()
                        ));
                        h.dropped = 0;
                    }
                    crate::script::flush_out();
                }
                if let LineEnd::Quit(code) = end {
                    break code;
                }
            }
            Err(ReadlineError::Interrupted) => {
                runner.cancel_macro();
                continue;
            }
            Err(ReadlineError::Eof) => break 0,
            Err(e) => {
                eprintln!("sockplay: {e}");
                break 1;
            }
        }
    };
    runner.end_recording();
    let n = runner.session.table.len();
    runner.session.close_all(&mut crate::script::PrintSink);
    if n > 0 {
        crate::script::say(&format!(
            "  {}",
            format!("# closed {n} socket{}", if n == 1 { "" } else { "s" }).dimmed()
        ));
    }
    let p = runner.session.stop_peers();
    if p > 0 {
        crate::script::say(&format!(
            "  {}",
            format!("# stopped {p} peer{}", if p == 1 { "" } else { "s" }).dimmed()
        ));
    }
    crate::script::flush_out();
    save_history(&mut rl, history.as_deref());
    status
}

/// Asks for the arguments a command was typed without (the C teaching
/// tool's prompts): `bind` alone asks for the socket (Enter takes the last
/// one used), the host and the port. Returns the completed line, shown so
/// the learner sees its full form, or None when a prompt is cancelled.
fn fill_missing(
    rl: &mut Editor<ShellHelper, DefaultHistory>,
    runner: &Runner,
    line: String,
) -> Option<String> {
    use crate::syntax::{ErrorKind, parse_line};
    let mut line = line;
    let mut asked = false;
    for _ in 0..6 {
        let Err(e) = parse_line(&line) else { break };
        let ErrorKind::MissingArgument { command, arg, .. } = &e.kind else {
            break;
        };
        // Only a missing argument at the end of the line is asked for.
        if e.span.start < line.trim_end().len() || line.contains(';') {
            break;
        }
        let spec = spec::lookup(command)?;
        let kind = spec.args.iter().find(|a| a.name == *arg).map(|a| a.kind);
        let answer = ask(rl, runner, spec, kind, arg, &line)?;
        line = format!("{} {}", line.trim_end(), answer);
        asked = true;
    }
    if asked {
        crate::script::say(&format!("  {}", format!("-> {line}").dimmed()));
    }
    Some(line)
}

/// One prompt (two for an address: host, then port).
fn ask(
    rl: &mut Editor<ShellHelper, DefaultHistory>,
    runner: &Runner,
    spec: &spec::CmdSpec,
    kind: Option<ArgKind>,
    arg: &str,
    line: &str,
) -> Option<String> {
    let mut read = |label: &str, default: Option<&str>| -> Option<String> {
        let prompt = match default {
            Some(d) => format!("  {label} [{d}]: "),
            None => format!("  {label}: "),
        };
        hold_low_fds_for_editor();
        let answer = rl.readline(&prompt);
        release_low_fds();
        let answer = answer.ok()?;
        let answer = answer.trim().to_string();
        match (answer.is_empty(), default) {
            (false, _) => Some(answer),
            (true, Some(d)) => Some(d.to_string()),
            (true, None) => None,
        }
    };
    match kind {
        Some(ArgKind::Sock) => {
            let last = runner
                .session
                .table
                .last
                .and_then(|h| runner.session.table.get(h))
                .map(|e| e.label());
            let last = last
                .filter(|l| !l.starts_with("fd "))
                .or_else(|| runner.session.table.last.map(|h| h.fd.to_string()));
            read("socket", last.as_deref())
        }
        Some(ArgKind::Addr) => {
            // The socket named before decides: a UNIX socket has a path.
            let unix = line
                .split_whitespace()
                .nth(1)
                .and_then(|w| runner.session.vars.get(w))
                .and_then(|v| match v {
                    Value::Socket(h) => runner.session.table.get(*h),
                    _ => None,
                })
                .is_some_and(|e| e.family == crate::syntax::ast::Family::Unix);
            if unix {
                return read("path", None);
            }
            let host_default = if spec.cmd == spec::Cmd::Bind {
                "0.0.0.0"
            } else {
                "127.0.0.1"
            };
            let host = read("host", Some(host_default))?;
            if host.contains(['/', ':']) || host.starts_with(['.', '@']) {
                return Some(host);
            }
            let port_default = (spec.cmd == spec::Cmd::Bind).then_some("0");
            let port = read("port", port_default)?;
            Some(format!("{host} {port}"))
        }
        Some(ArgKind::Data) => read("data (\"text\", b\"bytes\" or a name)", None),
        _ => read(arg, None),
    }
}

/// Asks the person at the prompt before a file is replaced: the question,
/// then a line from the terminal; only `y` or `yes` is yes (Enter, Ctrl-C
/// and the end of input are no).
struct AskAtPrompt {
    interrupt: Arc<std::sync::atomic::AtomicBool>,
}

impl crate::files::Confirm for AskAtPrompt {
    fn confirm(&mut self, what: &str) -> bool {
        crate::script::flush_out();
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "{}", crate::render::confirm_question(what));
            let _ = out.flush();
        }
        let answer = crate::input::read_answer(0, &self.interrupt);
        let yes = answer
            .as_deref()
            .map(|a| a.trim().to_ascii_lowercase())
            .is_some_and(|a| a == "y" || a == "yes");
        if answer.is_none() {
            // Ctrl-C or the end of input: the terminal has no newline yet.
            crate::script::say("");
        }
        yes
    }
}

fn save_history(rl: &mut Editor<ShellHelper, DefaultHistory>, path: Option<&std::path::Path>) {
    let Some(h) = path else { return };
    if rl.history().is_empty() {
        return;
    }
    if let Some(dir) = h.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = rl.save_history(h);
}

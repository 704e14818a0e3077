//! The session, written out: as a Python program (`export FILE.py`) and
//! as a lesson (`record FILE.sp` ... `record stop`).
//!
//! What flows in: the [`Journal`] the script runner keeps of every
//! statement it runs (the statement, how its socket arguments resolved,
//! a summary of each value it showed, its error, the jobs it started and
//! collected, the ports the kernel chose), and, for `record`, each line
//! as typed with the output it printed. What flows out: text (a Python
//! program, or lines of a lesson) and the files it is written to (through
//! [`files::create`] alone, which is the shell's [`crate::files`]), and
//! items saying what was written. Nothing
//! here makes a socket call.
//!
//! The Python of each command is the `python` template of its row in
//! [`crate::spec`]: the one place a command's Python form is written.
//!
//! - `journal.rs`: what is kept of each statement.
//! - `python.rs`: the journal as one program; `split.rs`: as two, one per
//!   end; `peers.rs`: the built-in peers as socketservers; `pyexpr.rs`:
//!   values as Python source.
//! - `record.rs`: typed lines as a lesson, with generated `expect`s.
//! - `files.rs`: creating a file, by the shell's one set of file rules.

pub mod files;
pub mod journal;
mod peers;
mod pyexpr;
pub mod python;
pub mod record;
pub mod split;

pub use journal::Journal;
pub use record::Recorder;

use crate::errors::ExecError;
use crate::exec::Item;
use crate::script::Runner;
use crate::syntax::ast::{Command, Expr, Spanned};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Runs `export` or `record` (the script runner's directives); returns
/// what to show. What a script or lesson may write is the shell's one set
/// of file rules ([`crate::files`]; the session knows who typed the line).
pub fn run(runner: &mut Runner, cmd: &Command) -> Result<Vec<Item>, ExecError> {
    match cmd {
        Command::Export { path, split, force } => {
            let p = path_of(path)?;
            export(runner, &p, *split, *force).map_err(|e| e.at(path.span))
        }
        Command::Record { path, force } => record::command(runner, path.as_ref(), *force),
        _ => Ok(Vec::new()),
    }
}

/// A file name argument as a path.
pub(crate) fn path_of(e: &Spanned<Expr>) -> Result<PathBuf, ExecError> {
    match &e.node {
        Expr::Word(w) | Expr::Str(w) => Ok(PathBuf::from(w)),
        Expr::Var(w) => Ok(PathBuf::from(w)),
        _ => Err(ExecError::usage("a file name: export talk.py").at(e.span)),
    }
}

fn export(
    runner: &mut Runner,
    path: &Path,
    split: bool,
    force: bool,
) -> Result<Vec<Item>, ExecError> {
    if !runner.journal.on {
        // Not reachable from a script (it says `export`), but said rather
        // than written empty.
        return Err(ExecError::usage(
            "this run keeps no journal of its statements",
        ));
    }
    if runner.journal.full {
        return Err(ExecError::usage(format!(
            "the session ran more than {} statements: export writes sessions typed by hand",
            journal::MAX_STEPS
        )));
    }
    // A job the shell has printed the end of is the session's already.
    runner.session.collect_printed_jobs();
    runner.journal.take_ended(&mut runner.session);
    let finished = runner
        .session
        .jobs
        .iter()
        .filter(|j| j.is_finished())
        .map(|j| j.id)
        .collect();
    if split {
        return split::export(runner, path, force, finished);
    }
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let input = python::Input {
        journal: &runner.journal,
        finished_jobs: finished,
        file: name,
        run: format!("python3 {}", shell_word(path)),
    };
    let program = python::write(&input, &python::All, &[]);
    write_file(&mut runner.session, path, &program.text, force)?;
    Ok(report(
        path,
        &program,
        &format!("python3 {}", shell_word(path)),
    ))
}

/// Writes `text` to a new file (or a replaced one, with force), whole or
/// not at all.
pub(crate) fn write_file(
    session: &mut crate::exec::Session,
    path: &Path,
    text: &str,
    force: bool,
) -> Result<(), ExecError> {
    let mut f = files::create(session, path, force)?;
    f.file()
        .write_all(text.as_bytes())
        .map_err(ExecError::from)?;
    f.commit().map(|_| ())
}

/// What `export` says it wrote.
pub(crate) fn report(path: &Path, p: &python::Program, run: &str) -> Vec<Item> {
    let shown = crate::value::escape_controls(&path.display().to_string());
    let mut items = vec![Item::Done(format!(
        "wrote {shown}: {} statement{} as Python",
        p.written,
        if p.written == 1 { "" } else { "s" }
    ))];
    let mut left = Vec::new();
    if !p.views.is_empty() {
        let v: Vec<&str> = p.views.iter().map(String::as_str).collect();
        left.push(format!(
            "{} (views of the shell, no Python call)",
            v.join(", ")
        ));
    }
    if p.commented > 0 {
        left.push(format!(
            "{} as comments (they failed in ways Python would not, or never ran)",
            p.commented
        ));
    }
    if p.lab {
        left.push(
            "the lab (every host is this machine, 127.0.0.1, and lab net's faults are not in it)"
                .into(),
        );
    }
    if !left.is_empty() {
        items.push(Item::Note(format!("left out: {}", left.join("; "))));
    }
    items.push(Item::Note(format!("run it: {run}")));
    items
}

/// A path as a shell word (quoted when it needs to be).
pub(crate) fn shell_word(path: &Path) -> String {
    let s = crate::value::escape_controls(&path.display().to_string());
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/+,=".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

//! Background jobs: `c = accept s &` runs the waiting half of a call on a
//! thread of its own, so one terminal can play both ends of a connection.
//!
//! The thread gets a detached context (the socket, its mode, a kill flag)
//! and reports through a sink of its own: what it waits for becomes the
//! job's state (for `jobs`), everything else its report. When it ends, the
//! report is printed at once above the prompt (the interactive shell gives
//! a printer) or kept until `wait` (scripts, so that a lesson prints the
//! same every time). Names are bound, and accepted sockets added to the
//! table, on the session's own thread when the job is collected.

use crate::errors::ExecError;
use crate::exec::io::{Ctx, Work, describe_adopt};
use crate::exec::{Item, JobEnd, Ret, Shown, Sink, value_items};
use crate::value::Value;
use crate::wait::Cancel;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Prints a finished job's items at once (the interactive shell's
/// external printer).
pub type JobPrinter = Arc<dyn Fn(Vec<Item>) + Send + Sync>;

/// What a job's thread runs: given the job's cancel flags, it reports
/// through the sink (a wait or a progress line becomes the job's state)
/// and returns the job's result. A call's waiting half is one (see
/// [`Jobs::start`]); so is following a program run with `run ... &`.
pub(crate) type Task = Box<dyn FnOnce(&Cancel, &mut dyn Sink) -> Result<Ret, ExecError> + Send>;

/// How long `start` waits for a new job to say what it waits for, so the
/// start line can say it (a thread starts in microseconds; this is a bound,
/// not a delay).
const FIRST_NEWS: Duration = Duration::from_millis(500);

/// What the thread leaves for the session.
struct Finished {
    result: Result<Ret, ExecError>,
    /// The report (JobEnded with the call's items inside).
    report: Item,
    /// Already printed by the printer.
    printed: bool,
}

#[derive(Default)]
struct Shared {
    /// What the call waits for now (`waits for a client ...`).
    waiting: Option<String>,
    finished: Option<Finished>,
}

/// One background job.
pub struct Job {
    pub id: usize,
    /// The statement, without its `&`.
    pub desc: String,
    pub targets: Vec<String>,
    /// Its targets that the foreground bound since it started: the newer
    /// binding stands, so the job neither binds them nor is waited for by
    /// a statement that uses them (a script using `addr` after its own
    /// `data, addr = recvfrom u` waited for ever for a job whose datagram
    /// only a later line would send).
    pub released: Vec<String>,
    /// The socket it works on.
    pub fd: i32,
    pub started: Instant,
    kill: Arc<AtomicBool>,
    shared: Arc<Mutex<Shared>>,
    thread: Option<JoinHandle<()>>,
}

impl Job {
    pub fn is_finished(&self) -> bool {
        self.shared
            .lock()
            .map(|s| s.finished.is_some())
            .unwrap_or(true)
    }

    /// `running: waits for ...` or `done`.
    pub fn state(&self) -> String {
        match self.shared.lock() {
            Ok(s) => match (&s.finished, &s.waiting) {
                (Some(f), _) => match &f.report {
                    Item::JobEnded {
                        how: JobEnd::Done, ..
                    } => "done".into(),
                    Item::JobEnded {
                        how: JobEnd::Failed(e),
                        ..
                    } => format!("failed: {e}"),
                    Item::JobEnded {
                        how: JobEnd::Cancelled(why),
                        ..
                    } => format!("cancelled: {why}"),
                    _ => "done".into(),
                },
                (None, Some(w)) => format!("running: {w}"),
                (None, None) => "running".into(),
            },
            Err(_) => "unknown".into(),
        }
    }

    /// Stops the job and waits for its thread (it notices within one poll
    /// slice).
    fn stop(&mut self) {
        self.kill.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The sink of a job's thread.
struct JobSink {
    shared: Arc<Mutex<Shared>>,
    items: Vec<Item>,
}

impl Sink for JobSink {
    fn emit(&mut self, item: Item) {
        match item {
            Item::Waiting { call, what, queue } => {
                if let Ok(mut s) = self.shared.lock() {
                    s.waiting = Some(format!("{call} waits for {what} - {queue}"));
                }
            }
            Item::Progress(p) => {
                if let Ok(mut s) = self.shared.lock() {
                    s.waiting = Some(p);
                }
            }
            other => self.items.push(other),
        }
    }
}

/// A job's result, collected by the session.
pub(crate) struct Collected {
    pub(crate) id: usize,
    /// The socket the job worked on.
    pub(crate) fd: i32,
    pub(crate) targets: Vec<String>,
    /// Targets bound since by the foreground (see [`Job::released`]).
    pub(crate) released: Vec<String>,
    pub(crate) result: Result<Ret, ExecError>,
    /// The report, when it was not printed yet.
    pub(crate) report: Option<Item>,
    /// The report, printed or not (for the session's journal of jobs).
    pub(crate) ended: Item,
}

/// The jobs of a session.
#[derive(Default)]
pub struct Jobs {
    list: Vec<Job>,
    next: usize,
}

impl Jobs {
    /// Starts `work` on a thread. Returns the item that says so.
    pub(crate) fn start(
        &mut self,
        desc: String,
        targets: Vec<String>,
        ctx: Ctx,
        work: Work,
        printer: Option<JobPrinter>,
    ) -> Item {
        let fd = ctx.h.fd;
        let task: Task = Box::new(move |cancel: &Cancel, sink: &mut dyn Sink| {
            // A job is stopped by `kill` or by closing its socket, not by
            // Ctrl-C (that belongs to the foreground call).
            let ctx = Ctx {
                cancel: cancel.clone(),
                ..ctx
            };
            let label = ctx.label.clone();
            work(&ctx, sink).map_err(|mut e| {
                if let Some(h) = &e.hint {
                    e.hint = Some(h.replace("{s}", &label));
                }
                e
            })
        });
        self.start_task(desc, targets, fd, task, printer)
    }

    /// The number the next job will have.
    pub fn next_id(&self) -> usize {
        self.next + 1
    }

    /// Starts `task` on a thread, as job [`Jobs::next_id`]; `fd` is the
    /// socket it works on (-1 for none). Returns the item that says so.
    pub(crate) fn start_task(
        &mut self,
        desc: String,
        targets: Vec<String>,
        fd: i32,
        task: Task,
        printer: Option<JobPrinter>,
    ) -> Item {
        self.next += 1;
        let id = self.next;
        let kill = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let cancel = Cancel::new(vec![Arc::clone(&kill)]);
        let started = Instant::now();
        let thread = {
            let shared = Arc::clone(&shared);
            let desc = desc.clone();
            let targets = targets.clone();
            let kill = Arc::clone(&kill);
            std::thread::Builder::new()
                .name(format!("job-{id}"))
                .spawn(move || {
                    let mut sink = JobSink {
                        shared: Arc::clone(&shared),
                        items: Vec::new(),
                    };
                    let result = task(&cancel, &mut sink);
                    let mut items = sink.items;
                    let how = match &result {
                        Ok(ret) => {
                            items.extend(report_values(&targets, ret));
                            JobEnd::Done
                        }
                        Err(_) if kill.load(Ordering::SeqCst) => JobEnd::Cancelled(String::new()),
                        Err(e) => JobEnd::Failed(e.clone()),
                    };
                    let report = Item::JobEnded {
                        id,
                        desc,
                        elapsed: started.elapsed(),
                        how,
                        items,
                    };
                    let cancelled = kill.load(Ordering::SeqCst);
                    let printed = match (&printer, cancelled) {
                        (Some(p), false) => {
                            p(vec![report.clone()]);
                            true
                        }
                        _ => false,
                    };
                    if let Ok(mut s) = shared.lock() {
                        s.finished = Some(Finished {
                            result,
                            report,
                            printed,
                        });
                    }
                })
        };
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                // No thread: the job fails at once, visibly.
                if let Ok(mut s) = shared.lock() {
                    let err = ExecError::from(e);
                    s.finished = Some(Finished {
                        result: Err(err.clone()),
                        report: Item::JobEnded {
                            id,
                            desc: desc.clone(),
                            elapsed: Duration::ZERO,
                            how: JobEnd::Failed(err),
                            items: Vec::new(),
                        },
                        printed: false,
                    });
                }
                None
            }
        };
        // Wait (briefly) for the first news, so the start line can say what
        // the job waits for.
        let until = Instant::now() + FIRST_NEWS;
        let state = loop {
            let news = shared
                .lock()
                .ok()
                .and_then(|s| match (&s.waiting, &s.finished) {
                    (Some(w), _) => Some(w.clone()),
                    (None, Some(f)) => Some(match &f.result {
                        Ok(_) => "finished at once".to_string(),
                        Err(e) => format!("failed at once: {e}"),
                    }),
                    _ => None,
                });
            if let Some(n) = news {
                break n;
            }
            if Instant::now() >= until {
                break "running".to_string();
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        self.list.push(Job {
            id,
            desc: desc.clone(),
            targets,
            released: Vec::new(),
            fd,
            started,
            kill,
            shared,
            thread,
        });
        Item::JobStarted { id, desc, state }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Job> {
        self.list.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// `jobs`: every job not yet collected.
    pub fn rows(&self) -> Vec<(usize, String, String, Duration)> {
        self.list
            .iter()
            .map(|j| (j.id, j.desc.clone(), j.state(), j.started.elapsed()))
            .collect()
    }

    /// Ids of jobs whose names include one of `words`.
    pub fn binding_any(&self, words: &[&str]) -> Vec<usize> {
        self.list
            .iter()
            .filter(|j| {
                j.targets
                    .iter()
                    .any(|t| words.contains(&t.as_str()) && !j.released.contains(t))
            })
            .map(|j| j.id)
            .collect()
    }

    /// The foreground bound `name`: the jobs that would bind it leave it.
    pub fn release(&mut self, name: &str) {
        for j in &mut self.list {
            if j.targets.iter().any(|t| t == name) && !j.released.iter().any(|t| t == name) {
                j.released.push(name.to_string());
            }
        }
    }

    /// Ids of the jobs working on socket `fd`.
    pub fn on_fd(&self, fd: i32) -> Vec<usize> {
        self.list
            .iter()
            .filter(|j| j.fd == fd)
            .map(|j| j.id)
            .collect()
    }

    pub fn has(&self, id: usize) -> bool {
        self.list.iter().any(|j| j.id == id)
    }

    pub fn ids(&self) -> Vec<usize> {
        self.list.iter().map(|j| j.id).collect()
    }

    /// Finished jobs whose report was printed already (the interactive
    /// shell collects them silently before each statement).
    pub fn printed_ids(&self) -> Vec<usize> {
        self.list
            .iter()
            .filter(|j| {
                j.shared
                    .lock()
                    .map(|s| s.finished.as_ref().is_some_and(|f| f.printed))
                    .unwrap_or(false)
            })
            .map(|j| j.id)
            .collect()
    }

    /// Waits until job `id` finishes, or `cancel` is set (Ctrl-C).
    pub fn wait_for(&self, id: usize, cancel: &Cancel) -> bool {
        self.wait_until(id, cancel, None)
    }

    /// As [`Jobs::wait_for`], giving up at `deadline` (false then too).
    pub fn wait_until(&self, id: usize, cancel: &Cancel, deadline: Option<Instant>) -> bool {
        loop {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            match self.list.iter().find(|j| j.id == id) {
                None => return true,
                Some(j) if j.is_finished() => return true,
                Some(_) => {}
            }
            if crate::wait::sleep(Duration::from_millis(10), cancel).is_err() {
                return false;
            }
        }
    }

    /// Kills job `id` (if running), joins it and takes its result.
    pub(crate) fn kill(&mut self, id: usize, why: &str) -> Option<Collected> {
        let j = self.list.iter_mut().find(|j| j.id == id)?;
        let was_running = !j.is_finished();
        j.stop();
        let mut c = self.collect(id)?;
        if was_running
            && let Some(Item::JobEnded {
                how: how @ JobEnd::Cancelled(_),
                ..
            }) = &mut c.report
        {
            *how = JobEnd::Cancelled(why.to_string());
        }
        if was_running
            && let Item::JobEnded {
                how: how @ JobEnd::Cancelled(_),
                ..
            } = &mut c.ended
        {
            *how = JobEnd::Cancelled(why.to_string());
        }
        Some(c)
    }

    /// Takes a finished job out of the list.
    pub(crate) fn collect(&mut self, id: usize) -> Option<Collected> {
        let k = self
            .list
            .iter()
            .position(|j| j.id == id && j.is_finished())?;
        let mut j = self.list.remove(k);
        if let Some(t) = j.thread.take() {
            let _ = t.join();
        }
        let fin = j.shared.lock().ok()?.finished.take()?;
        Some(Collected {
            id,
            fd: j.fd,
            targets: j.targets,
            released: j.released,
            result: fin.result,
            ended: fin.report.clone(),
            report: (!fin.printed).then_some(fin.report),
        })
    }
}

impl Drop for Jobs {
    fn drop(&mut self) {
        for j in &mut self.list {
            j.stop();
        }
    }
}

/// The value lines of a finished job, shown from the thread (the socket an
/// accept returned is described from the socket itself).
fn report_values(targets: &[String], ret: &Ret) -> Vec<Item> {
    let shown = Shown {
        said: ret.said,
        none_shown: ret.none_shown,
    };
    let mut items = value_items(targets, &ret.values, ret.view, shown, &ret.pieces, &|v| {
        let Value::Socket(h) = v else { return None };
        ret.adopt.iter().find(|a| a.handle == *h).map(|a| {
            let mut d = describe_adopt(a);
            d.names = targets.first().cloned().into_iter().collect();
            d
        })
    });
    items.extend(ret.after.iter().cloned());
    items
}

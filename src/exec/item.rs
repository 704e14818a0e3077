//! What the executor reports: the [`Item`]s a statement emits (and the
//! socket descriptions and table rows inside them), the [`Sink`] they go
//! to, the [`Flow`] a statement returns, and the helpers that turn a call's
//! values into items, and the moment types an item carries ([`Moment`],
//! [`Ends`]; their texts stay in explain.rs). Apart from the
//! [`super::Session`] because the
//! renderer, the tests and the watched programs' reports use these types
//! without the executor's state.

use super::Piece;
use crate::errors::ExecError;
use crate::spec::Cmd;
use crate::syntax::ast::{Family, SockKind, View};
use crate::table::Entry;
use crate::value::Value;
use socket2::Socket;
use std::time::Duration;

/// A socket as the renderer shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct SockDesc {
    pub fd: i32,
    pub names: Vec<String>,
    pub family: Family,
    pub kind: SockKind,
    pub local: Option<String>,
    pub peer: Option<String>,
    pub state: String,
    pub closed: bool,
}

/// One row of the socket table, already in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The fd, or `-` for a connection closed by the learner that the
    /// kernel still has.
    pub fd: String,
    pub names: String,
    pub proto: String,
    pub local: String,
    pub peer: String,
    pub state: String,
    pub recv_q: String,
    pub send_q: String,
    pub mode: String,
    pub ready: String,
    /// Which program holds it (`[1] tcp_server.py`), for the sockets of
    /// programs run from the shell; empty for the shell's own.
    pub owner: String,
    /// The lab host it is on (`-`: sockplay's own); empty while no lab is
    /// up, and then the column is not shown.
    pub host: String,
}

/// What a statement reports, in order.
// Items live for one line of output; boxing the large value variant would
// only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// Before a call that will wait: the call, what it waits for, and the
    /// queue that matters (`accept queue 0/5`).
    Waiting {
        call: String,
        what: String,
        queue: String,
    },
    /// A call that did not have to wait, and why.
    NoWait(String),
    /// The call returned after waiting this long.
    Waited(Duration),
    /// What the call did, in words.
    Done(String),
    /// A value: bound to a name, or the statement's result. For received
    /// bytes, `pieces` says which sends of a connection in this shell they
    /// came from (empty when unknown).
    Value {
        name: Option<String>,
        value: Value,
        view: View,
        sock: Option<SockDesc>,
        pieces: Vec<Piece>,
    },
    /// A line that replaces itself while a long call waits (on a terminal).
    Progress(String),
    /// A background job started: `[1] c = accept s` and what it waits for.
    JobStarted {
        id: usize,
        desc: String,
        state: String,
    },
    /// A background job ended: how, and what it reported.
    JobEnded {
        id: usize,
        desc: String,
        elapsed: Duration,
        how: JobEnd,
        items: Vec<Item>,
    },
    /// `jobs`: (id, statement, state, elapsed).
    Jobs(Vec<(usize, String, String, Duration)>),
    /// Something worth knowing (dim).
    Note(String),
    /// Something that may surprise (yellow).
    Warn(String),
    /// The socket table.
    Table(Vec<Row>),
    /// Labelled lines (`info`).
    Fields(String, Vec<(String, String)>),
    /// `help` for everything, or for one command.
    Help(Option<Cmd>),
    /// `echo` output: one line of text, already safe.
    Echo(String),
    /// A classic moment (BrokenPipe, b'', sticky packets...): the session
    /// explains the first of each kind and drops the rest.
    Moment(Moment, Ends),
    /// The explanation of a moment.
    Explain(Moment, Ends),
    /// A table of events over time (`states`): a title, the column heads
    /// and the rows.
    Timeline {
        title: String,
        head: Vec<&'static str>,
        rows: Vec<Vec<String>>,
    },
    /// `vars`.
    Vars(Vec<(String, Value, Option<SockDesc>)>),
    /// `set` with no arguments: the settings.
    Settings(Vec<(String, String)>),
    /// `peers`: the built-in peers.
    Peers(Vec<crate::peers::PeerRow>),
    /// `peers log N`: what one peer received.
    PeerLog(crate::peers::PeerLog),
    /// `lesson`: the bundled lessons, by number and title.
    Lessons(Vec<(usize, String)>),
    /// A watched program's call (see [`crate::watch`]): who made it (the
    /// job, a forked process, the thread, when there are several), where
    /// (`file:line`) and the program's line itself. The call's report
    /// follows as the shell's own items.
    Call {
        who: String,
        at: String,
        source: String,
    },
    /// A watched program's call waits: the call, what it waits for, the
    /// queue that matters, and how to stop it (the program's wait, not the
    /// shell's: Ctrl-C is not always the way).
    ProgramWaiting {
        call: String,
        what: String,
        queue: String,
        stop: String,
    },
    /// A watched program's call raised: the exception in Python's words.
    Raised(ExecError),
    /// A line a background program wrote (stdout, or stderr when `err`),
    /// already escaped, shown after its job's tag.
    Output {
        who: String,
        text: String,
        err: bool,
    },
    /// `interactive`: bytes as they went (sent) or arrived (received), and
    /// the sends of this shell they came from.
    Traffic {
        sent: bool,
        bytes: Vec<u8>,
        pieces: Vec<Piece>,
    },
    /// `clear`: the screen is cleared (on a terminal; nothing elsewhere).
    ClearScreen,
    /// `diagram`: a connection's sequence diagram.
    Diagram(crate::wire::ladder::Ladder),
}

/// How a background job ended.
#[derive(Clone, Debug, PartialEq)]
pub enum JobEnd {
    Done,
    Failed(ExecError),
    /// Killed: by `kill`, by closing its socket, or at exit.
    Cancelled(String),
}

/// Where items go.
pub trait Sink {
    fn emit(&mut self, item: Item);

    /// The call is about to take a while without saying anything (a long
    /// transfer, `sleep`): a sink that gathers output writes it out now.
    fn idle(&mut self) {}
}

impl Sink for Vec<Item> {
    fn emit(&mut self, item: Item) {
        self.push(item);
    }
}

/// How the shell goes on after a statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit(i32),
}

/// The renderer's view of a table entry.
pub fn describe(e: &Entry) -> SockDesc {
    describe_socket(e.fd(), &e.sock, e.family, e.kind, e.names.clone())
}

/// The renderer's view of a socket.
pub(crate) fn describe_socket(
    fd: i32,
    sock: &Socket,
    family: Family,
    kind: SockKind,
    names: Vec<String>,
) -> SockDesc {
    let local = sock
        .local_addr()
        .ok()
        .filter(crate::table::is_bound)
        .filter(|a| {
            kind != SockKind::Raw || a.as_socket().is_some_and(|s| !s.ip().is_unspecified())
        });
    // An IP socket with no port has no peer and no TCP state worth showing
    // (CLOSED): two calls saved on every new socket.
    if local.is_none() && family != Family::Unix {
        return SockDesc {
            fd,
            names,
            family,
            kind,
            local: None,
            peer: None,
            state: String::new(),
            closed: false,
        };
    }
    let peer = sock.peer_addr().ok().filter(crate::table::is_bound);
    let state = if family != Family::Unix && kind == SockKind::Stream {
        crate::table::tcp_info(sock)
            .map(|t| crate::table::tcp_state_name(t.state).to_string())
            .unwrap_or_default()
    } else {
        String::new()
    };
    SockDesc {
        fd,
        names,
        family,
        kind,
        local: local.as_ref().map(crate::value::addr_short),
        peer: peer.as_ref().map(crate::value::addr_short),
        state,
        closed: false,
    }
}

/// Which unbound values are worth a line.
#[derive(Clone, Copy)]
pub(crate) struct Shown {
    /// The call's report said the value already (`sent 7 bytes`).
    pub said: bool,
    /// None is a real answer (gettimeout), not "nothing".
    pub none_shown: bool,
}

/// The items that show a call's values: `name = value` for each target,
/// the rest (or all, with no target) as `-> value`; two unbound values
/// (accept, recvfrom) as the tuple Python returns. A value the call
/// already said is shown only when bound.
pub(crate) fn value_items(
    targets: &[String],
    values: &[Value],
    view: View,
    shown: Shown,
    pieces: &[Piece],
    desc: &dyn Fn(&Value) -> Option<SockDesc>,
) -> Vec<Item> {
    let mut items = Vec::new();
    if targets.is_empty() && values.len() == 2 && view == View::Repr && !shown.said {
        items.push(Item::Value {
            name: None,
            value: Value::Tuple(values.to_vec()),
            view,
            sock: desc(&values[0]),
            pieces: Vec::new(),
        });
        return items;
    }
    for (k, v) in values.iter().enumerate() {
        let name = targets.get(k).cloned();
        if name.is_none() && ((matches!(v, Value::None) && !shown.none_shown) || shown.said) {
            continue;
        }
        items.push(Item::Value {
            name,
            value: v.clone(),
            view: if k == 0 { view } else { View::Repr },
            sock: desc(v),
            pieces: if k == 0 { pieces.to_vec() } else { Vec::new() },
        });
    }
    items
}

/// The sockets a moment concerns, by the names the shell knows them by,
/// so that advice names the socket to type it on (sticky packets: the
/// sender frames, the receiver reads frames back).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ends {
    /// The socket that sent the bytes, when this shell holds it.
    pub sender: Option<String>,
    /// The socket that received them.
    pub receiver: Option<String>,
    /// The sender or the receiver is a watched program's socket, by its
    /// name in the program (`connfd`): the advice for that end is the
    /// program's Python, since the shell cannot type on it.
    pub sender_py: Option<String>,
    pub receiver_py: Option<String>,
}

impl Ends {
    pub fn none() -> Ends {
        Ends::default()
    }
}

/// A moment worth an explanation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Moment {
    BrokenPipe,
    Reset,
    TimeWait,
    EndOfStream,
    Sticky,
    Truncated,
    WouldBlock,
}

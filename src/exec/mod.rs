//! Running statements: one function per command over the socket table.
//!
//! The executor never prints. It reports what happens as [`Item`]s through
//! a [`Sink`], as it happens (a wait is announced before it starts), and
//! returns how the shell should go on ([`Flow`]) or an [`ExecError`]. The
//! renderer turns items into text; tests collect them.

mod calls;
mod eval;
mod names;
mod opts;
mod serve;
mod shell;

use crate::errors::ExecError;
use crate::spec::Cmd;
use crate::syntax::ast::{Command, Family, SockKind, Statement, View};
use crate::table::{Entry, Table};
use crate::value::Value;
use crate::wait::Cancel;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
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
    pub fd: i32,
    pub names: String,
    pub proto: String,
    pub local: String,
    pub peer: String,
    pub state: String,
    pub recv_q: String,
    pub send_q: String,
    pub mode: String,
    pub ready: String,
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
    /// A value: bound to a name, or the statement's result.
    Value {
        name: Option<String>,
        value: Value,
        view: View,
        sock: Option<SockDesc>,
    },
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
    /// `vars`.
    Vars(Vec<(String, Value, Option<SockDesc>)>),
    /// `set` with no arguments: the settings.
    Settings(Vec<(String, String)>),
    /// `peers`: the built-in peers.
    Peers(Vec<crate::peers::PeerRow>),
    /// `peers log N`: what one peer received.
    PeerLog(crate::peers::PeerLog),
}

/// Where items go.
pub trait Sink {
    fn emit(&mut self, item: Item);
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

/// Shell settings changed by `set`.
#[derive(Clone, Debug)]
pub struct Settings {
    pub display: View,
    /// `auto`, `always` or `never`; the front end applies it.
    pub color: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            display: View::Repr,
            color: "auto".into(),
        }
    }
}

/// The state of one shell: its sockets, its names, its settings.
pub struct Session {
    pub table: Table,
    pub vars: BTreeMap<String, Value>,
    pub settings: Settings,
    /// Set by Ctrl-C; cleared before each statement by the front end.
    pub interrupt: Arc<AtomicBool>,
    /// The built-in peers (`serve`).
    pub peers: crate::peers::Peers,
    /// Told once: "Python needs bytes".
    told_str_encoding: bool,
    /// Told once: how to list, inspect and stop peers.
    told_peers: bool,
}

/// What a command returns before names are bound: its values (the first
/// is the main one; `accept` and `recvfrom` add the address), and how to
/// show bytes.
pub(crate) struct Ret {
    values: Vec<Value>,
    view: View,
    /// The command's own report already says the value (`sent 7 bytes`):
    /// show it only when it is bound to a name.
    said: bool,
    /// Notes to show after the values (`6 more bytes still queued`).
    after: Vec<Item>,
}

impl Ret {
    fn none() -> Ret {
        Ret {
            values: vec![Value::None],
            view: View::Repr,
            said: false,
            after: Vec::new(),
        }
    }
    fn one(v: Value) -> Ret {
        Ret {
            values: vec![v],
            view: View::Repr,
            said: false,
            after: Vec::new(),
        }
    }
    fn two(a: Value, b: Value) -> Ret {
        Ret {
            values: vec![a, b],
            view: View::Repr,
            said: false,
            after: Vec::new(),
        }
    }
    fn said(v: Value) -> Ret {
        Ret {
            values: vec![v],
            view: View::Repr,
            said: true,
            after: Vec::new(),
        }
    }
}

impl Default for Session {
    fn default() -> Self {
        Session::new(Arc::new(AtomicBool::new(false)))
    }
}

impl Session {
    pub fn new(interrupt: Arc<AtomicBool>) -> Self {
        Session {
            table: Table::new(),
            vars: BTreeMap::new(),
            settings: Settings::default(),
            interrupt,
            peers: crate::peers::Peers::default(),
            told_str_encoding: false,
            told_peers: false,
        }
    }

    /// The cancel flags of a foreground call.
    pub fn cancel(&self) -> Cancel {
        Cancel::new(vec![Arc::clone(&self.interrupt)])
    }

    /// Runs one statement.
    pub fn run(&mut self, stmt: &Statement, out: &mut dyn Sink) -> Result<Flow, ExecError> {
        if let Some(span) = stmt.background {
            return Err(ExecError::usage(
                "background jobs (`&`) are not available yet: run the call without `&` \
                 (Ctrl-C interrupts it if it waits too long)",
            )
            .at(span));
        }
        let returns = returns(&stmt.command);
        if stmt.targets.len() > 1 && stmt.targets.len() != returns {
            let t = &stmt.targets[1];
            return Err(ExecError::new(
                "ValueError",
                format!(
                    "not enough values to unpack (expected {}, got {returns})",
                    stmt.targets.len()
                ),
            )
            .at(t.span)
            .hint("only accept and recvfrom return two values: c, addr = accept s"));
        }
        if let Command::Quit { code } = &stmt.command {
            let code = match code {
                Some(e) => self.int(e)? as i32,
                None => 0,
            };
            return Ok(Flow::Quit(code));
        }
        let ret = self.command(&stmt.command, out)?;
        self.bind_and_show(stmt, ret, out);
        Ok(Flow::Continue)
    }

    fn bind_and_show(&mut self, stmt: &Statement, ret: Ret, out: &mut dyn Sink) {
        let Ret {
            values,
            view,
            said,
            after,
        } = ret;
        self.show_values(stmt, values, view, said, out);
        for it in after {
            out.emit(it);
        }
    }

    fn show_values(
        &mut self,
        stmt: &Statement,
        values: Vec<Value>,
        view: View,
        said: bool,
        out: &mut dyn Sink,
    ) {
        if stmt.targets.is_empty() {
            if said {
                return;
            }
            // Unbound: show the main value, or both for accept/recvfrom.
            for v in values {
                if matches!(v, Value::None) {
                    continue;
                }
                let sock = self.desc_of(&v);
                out.emit(Item::Value {
                    name: None,
                    value: v,
                    view,
                    sock,
                });
            }
            return;
        }
        let mut values = values.into_iter();
        for (k, t) in stmt.targets.iter().enumerate() {
            let v = values.next().unwrap_or(Value::None);
            self.assign(&t.node, v.clone());
            let sock = self.desc_of(&v);
            out.emit(Item::Value {
                name: Some(t.node.clone()),
                value: v,
                view: if k == 0 { view } else { View::Repr },
                sock,
            });
        }
        // `c = accept s`: the address is still shown, just not bound.
        for v in values {
            if matches!(v, Value::None) {
                continue;
            }
            let sock = self.desc_of(&v);
            out.emit(Item::Value {
                name: None,
                value: v,
                view: View::Repr,
                sock,
            });
        }
    }

    /// Binds a name, keeping the table's names in step.
    pub fn assign(&mut self, name: &str, v: Value) {
        let h = match &v {
            Value::Socket(h) => Some(*h),
            _ => None,
        };
        if h.is_some() || matches!(self.vars.get(name), Some(Value::Socket(_))) {
            self.table.name(name, h);
        }
        self.vars.insert(name.to_string(), v);
    }

    /// How the renderer shows a socket value.
    pub fn desc_of(&self, v: &Value) -> Option<SockDesc> {
        let Value::Socket(h) = v else { return None };
        Some(match self.table.get(*h) {
            Some(e) => describe(e),
            None => SockDesc {
                fd: h.fd,
                names: Vec::new(),
                family: Family::Inet,
                kind: SockKind::Stream,
                local: None,
                peer: None,
                state: "closed".into(),
                closed: true,
            },
        })
    }

    fn command(&mut self, cmd: &Command, out: &mut dyn Sink) -> Result<Ret, ExecError> {
        use Command as C;
        match cmd {
            C::Socket { family, kind } => self.socket(*family, *kind),
            C::Bind { sock, addr } => self.bind(sock, addr, out),
            C::Listen { sock, backlog } => self.listen(sock, backlog.as_ref(), out),
            C::Accept { sock } => self.accept(sock, out),
            C::Connect { sock, addr } => self.connect(sock, addr, out),
            C::Send { sock, data, flags } => self.send(sock, data, flags, out),
            C::SendAll { sock, data } => self.sendall(sock, data, out),
            C::Recv {
                sock,
                size,
                flags,
                view,
            } => self.recv(sock, size.as_ref(), flags, *view, out),
            C::SendTo {
                sock,
                data,
                addr,
                flags,
            } => self.sendto(sock, data, addr, flags, out),
            C::RecvFrom {
                sock,
                size,
                flags,
                view,
            } => self.recvfrom(sock, size.as_ref(), flags, *view, out),
            C::Close { sock } => self.close(sock, out),
            C::Shutdown { sock, how } => self.shutdown(sock, *how, out),
            C::SetSockOpt {
                sock,
                level,
                option,
                values,
            } => self.setsockopt(sock, level.as_ref(), option, values, out),
            C::GetSockOpt {
                sock,
                level,
                option,
            } => self.getsockopt(sock, level.as_ref(), option, out),
            C::GetSockName { sock } => self.getsockname(sock),
            C::GetPeerName { sock } => self.getpeername(sock),
            C::Fileno { sock } => {
                let h = self.sock(sock)?;
                Ok(Ret::one(Value::Int(i64::from(h.fd))))
            }
            C::GetFamily { sock } => {
                let e = self.entry(sock)?;
                Ok(Ret::one(Value::Family(e.family)))
            }
            C::GetType { sock } => {
                let e = self.entry(sock)?;
                Ok(Ret::one(Value::Kind(e.kind)))
            }
            C::SetBlocking { sock, flag } => self.setblocking(sock, flag, out),
            C::SetTimeout { sock, seconds } => self.settimeout(sock, seconds, out),
            C::GetTimeout { sock } => self.gettimeout(sock),
            C::Sockets => self.sockets(out),
            C::Info { sock } => self.info(sock, out),
            C::GetHostName => names::gethostname(),
            C::GetHostByName { host } => {
                names::gethostbyname(&self.text(host)?).map_err(|e| e.at(host.span))
            }
            C::GetHostByNameEx { host } => {
                names::gethostbyname_ex(&self.text(host)?).map_err(|e| e.at(host.span))
            }
            C::GetHostByAddr { host } => {
                names::gethostbyaddr(&self.text(host)?).map_err(|e| e.at(host.span))
            }
            C::GetAddrInfo {
                host,
                port,
                family,
                kind,
            } => {
                let h = self.text(host)?;
                let p = match port {
                    Some(p) => Some(self.text(p)?),
                    None => None,
                };
                names::getaddrinfo(&h, p.as_deref(), *family, *kind).map_err(|e| e.at(host.span))
            }
            C::GetFqdn { host } => {
                let h = match host {
                    Some(h) => Some(self.text(h)?),
                    None => None,
                };
                names::getfqdn(h.as_deref())
            }
            C::InetAton { text } => {
                names::inet_aton(&self.text(text)?).map_err(|e| e.at(text.span))
            }
            C::InetNtoa { data } => {
                names::inet_ntoa(&self.data(data)?).map_err(|e| e.at(data.span))
            }
            C::InetPton { family, text } => {
                names::inet_pton(*family, &self.text(text)?).map_err(|e| e.at(text.span))
            }
            C::InetNtop { family, data } => {
                names::inet_ntop(*family, &self.data(data)?).map_err(|e| e.at(data.span))
            }
            C::GetServByName { name, proto } => {
                let p = match proto {
                    Some(p) => Some(self.text(p)?),
                    None => None,
                };
                names::getservbyname(&self.text(name)?, p.as_deref()).map_err(|e| e.at(name.span))
            }
            C::GetServByPort { port, proto } => {
                let p = match proto {
                    Some(p) => Some(self.text(p)?),
                    None => None,
                };
                names::getservbyport(self.int(port)?, p.as_deref()).map_err(|e| e.at(port.span))
            }
            C::ByteOrder { op, value } => {
                names::byte_order(*op, self.int(value)?).map_err(|e| e.at(value.span))
            }
            C::Help { topic } => self.help(topic.as_ref(), out),
            C::Echo { values } => self.echo(values, out),
            C::Sleep { seconds } => self.sleep(seconds),
            C::Quit { .. } => Ok(Ret::none()),
            C::Set { key, value } => self.set(key.as_ref(), value.as_ref(), out),
            C::Vars => self.vars_cmd(out),
            C::Serve { kind, addr, dir } => self.serve(*kind, addr.as_ref(), dir.as_ref(), out),
            C::Peers { log, peer } => self.peers_cmd(*log, peer.as_ref(), out),
            C::Stop { peer } => self.stop_cmd(peer, out),
            C::Value(e) => {
                let v = self.eval(e)?;
                Ok(Ret::one(v))
            }
        }
    }

    /// Closes every socket (Ctrl-D, quit, end of a script).
    pub fn close_all(&mut self) {
        self.table.clear();
    }

    /// Stops every built-in peer (Ctrl-D, quit, end of a script); returns
    /// how many were running.
    pub fn stop_peers(&mut self) -> usize {
        self.peers.stop_all()
    }
}

/// How many values a command gives to `a, b = ...`.
fn returns(cmd: &Command) -> usize {
    match cmd {
        Command::Accept { .. } | Command::RecvFrom { .. } => 2,
        _ => 1,
    }
}

/// The renderer's view of a table entry.
pub fn describe(e: &Entry) -> SockDesc {
    let local = e.sock.local_addr().ok().filter(crate::table::is_bound);
    let peer = e.sock.peer_addr().ok();
    let state = crate::table::tcp_state(e)
        .map(str::to_string)
        .unwrap_or_default();
    SockDesc {
        fd: e.fd(),
        names: e.names.clone(),
        family: e.family,
        kind: e.kind,
        local: local.as_ref().map(crate::value::addr_short),
        peer: peer.as_ref().map(crate::value::addr_short),
        state,
        closed: false,
    }
}

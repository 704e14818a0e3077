//! Parsed arguments to the typed [`Command`]: one arm per command, taking
//! its arguments in the order the command table gives them. Apart from the
//! parsing because it only reshapes what was parsed; it reads no text.

use super::{Arg, Discard};
use crate::spec::Cmd;
use crate::syntax::ast::*;

/// Takes parsed arguments out by position. The parser put each one there
/// according to the same spec, so a mismatch is a bug in this file; it
/// degrades to an empty value rather than a panic.
struct Take(Vec<Option<Arg>>);

impl Take {
    fn get(&mut self, k: usize) -> Option<Arg> {
        self.0.get_mut(k).and_then(Option::take)
    }
    fn sock(&mut self, k: usize) -> Spanned<SockRef> {
        match self.get(k) {
            Some(Arg::Sock(s)) => s,
            _ => Spanned::new(SockRef::Last, Span::default()),
        }
    }
    fn addr(&mut self, k: usize) -> AddrExpr {
        match self.get(k) {
            Some(Arg::Addr(a)) => a,
            _ => AddrExpr::Word(Spanned::new(String::new(), Span::default())),
        }
    }
    fn expr(&mut self, k: usize) -> Spanned<Expr> {
        self.opt_expr(k)
            .unwrap_or(Spanned::new(Expr::None, Span::default()))
    }
    fn opt_expr(&mut self, k: usize) -> Option<Spanned<Expr>> {
        match self.get(k) {
            Some(Arg::Expr(e)) => Some(e),
            _ => None,
        }
    }
    fn exprs(&mut self, k: usize) -> Vec<Spanned<Expr>> {
        match self.get(k) {
            Some(Arg::Exprs(v)) => v,
            _ => Vec::new(),
        }
    }
    fn framing(&mut self, k: usize) -> Framing {
        match self.get(k) {
            Some(Arg::Framing(f)) => f,
            _ => Framing::Length,
        }
    }
    fn groups(&mut self, k: usize) -> ([Vec<Spanned<SockRef>>; 3], Option<Spanned<Expr>>) {
        match self.get(k) {
            Some(Arg::Groups(g, t)) => (g, t),
            _ => (Default::default(), None),
        }
    }
    fn jobs(&mut self, k: usize) -> Vec<Spanned<i64>> {
        match self.get(k) {
            Some(Arg::Jobs(j)) => j,
            _ => Vec::new(),
        }
    }
    fn word(&mut self, k: usize) -> Option<Spanned<String>> {
        match self.get(k) {
            Some(Arg::Word(w)) => Some(w),
            _ => None,
        }
    }
    fn sock_spec(&mut self, k: usize) -> (Option<Family>, Option<SockKind>, Option<i32>) {
        match self.get(k) {
            Some(Arg::SockSpec(f, t, p)) => (f, t, p),
            _ => (None, None, None),
        }
    }
    fn family(&mut self, k: usize) -> Family {
        match self.get(k) {
            Some(Arg::Family(f)) => f,
            _ => Family::Inet,
        }
    }
    fn how(&mut self, k: usize) -> How {
        match self.get(k) {
            Some(Arg::How(h)) => h,
            _ => How::Both,
        }
    }
    fn level_opt(&mut self, k: usize) -> (Option<Spanned<String>>, Spanned<String>) {
        match self.get(k) {
            Some(Arg::LevelOpt(l, o)) => (l, o),
            _ => (None, Spanned::new(String::new(), Span::default())),
        }
    }
    fn send_flags(&mut self, k: usize) -> Vec<SendFlag> {
        match self.get(k) {
            Some(Arg::SendFlags(f)) => f,
            _ => Vec::new(),
        }
    }
    fn recv_flags(&mut self, k: usize) -> (Vec<RecvFlag>, Option<View>, Option<Discard>) {
        match self.get(k) {
            Some(Arg::RecvFlags(f, v, d)) => (f, v, d),
            _ => (Vec::new(), None, None),
        }
    }
}

/// Parsed arguments -> the typed command.
pub(super) fn build(cmd: Cmd, args: Vec<Option<Arg>>) -> Command {
    let mut a = Take(args);
    match cmd {
        Cmd::Socket => {
            let (family, kind, proto) = a.sock_spec(0);
            Command::Socket {
                family,
                kind,
                proto,
            }
        }
        Cmd::Bind => Command::Bind {
            sock: a.sock(0),
            addr: a.addr(1),
        },
        Cmd::Listen => Command::Listen {
            sock: a.sock(0),
            backlog: a.opt_expr(1),
        },
        Cmd::Accept => Command::Accept { sock: a.sock(0) },
        Cmd::Connect => Command::Connect {
            sock: a.sock(0),
            addr: a.addr(1),
        },
        Cmd::Send => Command::Send {
            sock: a.sock(0),
            data: a.expr(1),
            flags: a.send_flags(2),
        },
        Cmd::SendAll => Command::SendAll {
            sock: a.sock(0),
            data: a.expr(1),
        },
        Cmd::Recv => {
            let sock = a.sock(0);
            let size = a.opt_expr(1);
            let (flags, view, discard) = a.recv_flags(2);
            if let Some(d) = discard {
                return Command::RecvBulk {
                    sock,
                    into: BulkInto::Discard,
                    limit: size.or(d.limit),
                };
            }
            Command::Recv {
                sock,
                size,
                flags,
                view,
                decode: false,
            }
        }
        Cmd::SendTo => Command::SendTo {
            sock: a.sock(0),
            data: a.expr(1),
            addr: a.addr(2),
            flags: a.send_flags(3),
        },
        Cmd::RecvFrom => {
            let sock = a.sock(0);
            let size = a.opt_expr(1);
            let (flags, view, _) = a.recv_flags(2);
            Command::RecvFrom {
                sock,
                size,
                flags,
                view,
            }
        }
        Cmd::SendFile => Command::SendFile {
            sock: a.sock(0),
            path: a.expr(1),
        },
        Cmd::RecvFile => {
            let sock = a.sock(0);
            let path = a.expr(1);
            Command::RecvBulk {
                sock,
                into: BulkInto::File(path),
                limit: a.opt_expr(2),
            }
        }
        Cmd::Close => Command::Close { sock: a.sock(0) },
        Cmd::Shutdown => Command::Shutdown {
            sock: a.sock(0),
            how: a.how(1),
        },
        Cmd::SetSockOpt => {
            let sock = a.sock(0);
            let (level, option) = a.level_opt(1);
            Command::SetSockOpt {
                sock,
                level,
                option,
                values: a.exprs(2),
            }
        }
        Cmd::GetSockOpt => {
            let sock = a.sock(0);
            let (level, option) = a.level_opt(1);
            Command::GetSockOpt {
                sock,
                level,
                option,
            }
        }
        Cmd::GetSockName => Command::GetSockName { sock: a.sock(0) },
        Cmd::GetPeerName => Command::GetPeerName { sock: a.sock(0) },
        Cmd::Fileno => Command::Fileno { sock: a.sock(0) },
        Cmd::Family => Command::GetFamily { sock: a.sock(0) },
        Cmd::Type => Command::GetType { sock: a.sock(0) },
        Cmd::SetBlocking => Command::SetBlocking {
            sock: a.sock(0),
            flag: a.expr(1),
        },
        Cmd::SetTimeout => Command::SetTimeout {
            sock: a.sock(0),
            seconds: a.expr(1),
        },
        Cmd::GetTimeout => Command::GetTimeout { sock: a.sock(0) },
        Cmd::Sockets => Command::Sockets,
        Cmd::Info => Command::Info { sock: a.sock(0) },
        Cmd::GetHostName => Command::GetHostName,
        Cmd::GetHostByName => Command::GetHostByName { host: a.expr(0) },
        Cmd::GetHostByNameEx => Command::GetHostByNameEx { host: a.expr(0) },
        Cmd::GetHostByAddr => Command::GetHostByAddr { host: a.expr(0) },
        Cmd::GetAddrInfo => {
            let host = a.expr(0);
            let port = a.opt_expr(1);
            let (family, kind, _) = a.sock_spec(2);
            Command::GetAddrInfo {
                host,
                port,
                family,
                kind,
            }
        }
        Cmd::GetFqdn => Command::GetFqdn {
            host: a.opt_expr(0),
        },
        Cmd::InetAton => Command::InetAton { text: a.expr(0) },
        Cmd::InetNtoa => Command::InetNtoa { data: a.expr(0) },
        Cmd::InetPton => Command::InetPton {
            family: a.family(0),
            text: a.expr(1),
        },
        Cmd::InetNtop => Command::InetNtop {
            family: a.family(0),
            data: a.expr(1),
        },
        Cmd::GetServByName => Command::GetServByName {
            name: a.expr(0),
            proto: a.opt_expr(1),
        },
        Cmd::GetServByPort => Command::GetServByPort {
            port: a.expr(0),
            proto: a.opt_expr(1),
        },
        Cmd::Htons => Command::ByteOrder {
            op: ByteOrderOp::Htons,
            value: a.expr(0),
        },
        Cmd::Ntohs => Command::ByteOrder {
            op: ByteOrderOp::Ntohs,
            value: a.expr(0),
        },
        Cmd::Htonl => Command::ByteOrder {
            op: ByteOrderOp::Htonl,
            value: a.expr(0),
        },
        Cmd::Ntohl => Command::ByteOrder {
            op: ByteOrderOp::Ntohl,
            value: a.expr(0),
        },
        Cmd::Help => Command::Help { topic: a.word(0) },
        Cmd::Echo => Command::Echo { values: a.exprs(0) },
        Cmd::Sleep => Command::Sleep { seconds: a.expr(0) },
        Cmd::Quit => Command::Quit {
            code: a.opt_expr(0),
        },
        Cmd::Set => {
            let key = a.word(0);
            Command::Set {
                key,
                value: a.opt_expr(1),
            }
        }
        Cmd::Vars => Command::Vars,
        Cmd::Clear => Command::Clear,
        Cmd::Reset => Command::Reset,
        Cmd::Unlink => Command::Unlink { path: a.expr(0) },
        Cmd::Join | Cmd::Leave => Command::Membership {
            join: cmd == Cmd::Join,
            sock: a.sock(0),
            group: a.expr(1),
            interface: a.opt_expr(2),
        },
        Cmd::States | Cmd::Diagram => {
            let (sock, absolute, save) = match a.get(0) {
                Some(Arg::Wire(s, abs, save)) => (s, abs, save),
                _ => (None, false, None),
            };
            if cmd == Cmd::States {
                Command::States {
                    sock,
                    absolute,
                    save,
                }
            } else {
                Command::Diagram {
                    sock,
                    absolute,
                    save,
                }
            }
        }
        Cmd::SendMsg => Command::SendMsg {
            sock: a.sock(0),
            data: a.expr(1),
            framing: a.framing(2),
        },
        Cmd::RecvMsg => Command::RecvMsg {
            sock: a.sock(0),
            framing: a.framing(1),
        },
        Cmd::Select | Cmd::Poll => {
            let ([read, write, except], timeout) = a.groups(0);
            if cmd == Cmd::Select {
                Command::Select {
                    read,
                    write,
                    except,
                    timeout,
                }
            } else {
                Command::Poll {
                    read,
                    write,
                    except,
                    timeout,
                }
            }
        }
        Cmd::Jobs => Command::Jobs,
        Cmd::Wait => Command::Wait { jobs: a.jobs(0) },
        Cmd::Kill => Command::Kill { jobs: a.jobs(0) },
        Cmd::Serve => {
            let (word, udp) = match a.get(0) {
                Some(Arg::Peer(w, udp)) => (Some(w), udp),
                _ => (None, false),
            };
            let kind = match word.map(|w| w.node.to_ascii_lowercase()).as_deref() {
                Some("discard") => PeerKind::Discard,
                Some("daytime") => PeerKind::Daytime,
                Some("chat") => PeerKind::Chat,
                Some("http") => PeerKind::Http,
                _ => PeerKind::Echo,
            };
            let addr = match a.get(1) {
                Some(Arg::Addr(x)) => Some(x),
                _ => None,
            };
            Command::Serve {
                kind,
                udp,
                addr,
                dir: a.opt_expr(2),
            }
        }
        Cmd::Peers => Command::Peers {
            log: a.word(0).is_some(),
            peer: a.opt_expr(1),
        },
        Cmd::Stop => Command::Stop { peer: a.expr(0) },
        Cmd::Source | Cmd::Step => Command::Source {
            path: a.expr(0),
            step: cmd == Cmd::Step,
        },
        Cmd::Lesson => {
            let number = a.opt_expr(0);
            let mode = match a.get(1) {
                Some(Arg::LessonMode(m)) => Some(m),
                _ => None,
            };
            Command::Lesson { number, mode }
        }
        Cmd::Expect => match a.get(0) {
            Some(Arg::Expect(e)) => Command::Expect(e),
            _ => Command::Expect(Expectation::Error(None)),
        },
        Cmd::RecvUntil | Cmd::RecvLine | Cmd::RecvN | Cmd::RecvAll => {
            let sock = a.sock(0);
            let (until, opts_at) = match cmd {
                Cmd::RecvUntil => (Until::Delim(a.expr(1)), 2),
                Cmd::RecvN => (Until::Count(a.expr(1)), 2),
                Cmd::RecvLine => (Until::Line, 1),
                _ => (Until::All, 1),
            };
            let (drop, timeout, view) = match a.get(opts_at) {
                Some(Arg::UntilOpts(d, t, v)) => (d, t, v),
                _ => (false, None, None),
            };
            Command::RecvUntil {
                sock,
                until,
                drop,
                timeout,
                view,
            }
        }
        Cmd::SocketPair => {
            let (family, kind, _) = a.sock_spec(0);
            Command::SocketPair { family, kind }
        }
        Cmd::Dup => Command::Dup { sock: a.sock(0) },
        Cmd::GetNameInfo => Command::GetNameInfo {
            addr: a.addr(0),
            flags: a.opt_expr(1),
        },
        Cmd::GetProtoByName => Command::GetProtoByName { name: a.expr(0) },
        Cmd::Epoll => match a.get(0) {
            Some(Arg::Epoll(name, op)) => Command::Epoll { ep: Some(name), op },
            _ => Command::Epoll {
                ep: None,
                op: EpollOp::Show,
            },
        },
        Cmd::C10k => Command::C10k { n: a.opt_expr(0) },
        Cmd::Interactive => Command::Interactive {
            sock: a.sock(0),
            crlf: a
                .word(1)
                .is_some_and(|w| w.node.eq_ignore_ascii_case("crlf")),
        },
        Cmd::Log => {
            let path = a.opt_expr(0);
            let hex = a
                .word(1)
                .is_some_and(|w| w.node.eq_ignore_ascii_case("hex"));
            Command::Log { path, hex }
        }
        Cmd::Lab => Command::Lab(match a.get(0) {
            Some(Arg::Lab(l)) => l,
            _ => LabCmd::Show,
        }),
        Cmd::On => {
            let host = a
                .word(0)
                .unwrap_or(Spanned::new(String::new(), Span::default()));
            let stmt = match a.get(1) {
                Some(Arg::Stmt(s)) => s,
                _ => Box::new(Statement {
                    targets: Vec::new(),
                    command: Command::Value(Spanned::new(Expr::None, Span::default())),
                    command_span: Span::default(),
                    background: None,
                    span: Span::default(),
                }),
            };
            Command::On { host, stmt }
        }
        Cmd::MacDef => Command::MacDef {
            name: a
                .word(0)
                .unwrap_or(Spanned::new(String::new(), Span::default())),
        },
        Cmd::Run => Command::Run {
            argv: match a.get(0) {
                Some(Arg::Argv(w)) => w,
                _ => Vec::new(),
            },
        },
        Cmd::Input => Command::Input {
            job: a
                .jobs(0)
                .into_iter()
                .next()
                .unwrap_or(Spanned::new(0, Span::default())),
            data: a.opt_expr(1),
        },
        Cmd::Export | Cmd::Record => {
            let path = a.opt_expr(0);
            let flags = match a.get(1) {
                Some(Arg::Flags(w)) => w,
                _ => Vec::new(),
            };
            let has = |f: &str| flags.iter().any(|w| w.node.eq_ignore_ascii_case(f));
            if cmd == Cmd::Export {
                Command::Export {
                    path: path.unwrap_or(Spanned::new(Expr::None, Span::default())),
                    split: has("split"),
                    force: has("force"),
                }
            } else {
                Command::Record {
                    path,
                    force: has("force"),
                }
            }
        }
    }
}

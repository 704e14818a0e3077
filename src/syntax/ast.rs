//! The typed tree a line of input becomes.
//!
//! Nothing here knows the surface syntax: the word-per-argument language of
//! the shell and a future Python-call surface (`s.bind(('0.0.0.0', 9900))`)
//! both produce these types. Every node that came from a token carries the
//! [`Span`] of that token, so errors found later (an unknown variable, a bad
//! option value) can still point at the exact place in the line.

use std::fmt;

/// A byte range in the source text (half open).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// The span shifted right by `by` bytes (for statements parsed out of a
    /// longer source).
    pub fn shift(self, by: usize) -> Span {
        Span::new(self.start + by, self.end + by)
    }
}

/// A value together with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(node: T, span: Span) -> Self {
        Spanned { node, span }
    }
}

/// One statement: `[targets =] command [&]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// Names bound to the result: `c = accept s` has one, `c, addr = accept s` two.
    pub targets: Vec<Spanned<String>>,
    pub command: Command,
    /// Where the command word (or the expression of a plain assignment) is.
    pub command_span: Span,
    /// A trailing `&`: run as a background job.
    pub background: Option<Span>,
    /// The whole statement.
    pub span: Span,
}

/// Which socket a command acts on.
#[derive(Clone, Debug, PartialEq)]
pub enum SockRef {
    /// A name bound by an assignment (`s`, `c`).
    Name(String),
    /// A raw file-descriptor number (`send 5 "x"`).
    Fd(i32),
    /// `.`: the last socket a command used.
    Last,
}

/// A value expression: data to send, a number, a flag.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `"text"`: a str; encoded as UTF-8 when sent.
    Str(String),
    /// `b"bytes"` or `x"de ad"`.
    Bytes(Vec<u8>),
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    /// A variable name.
    Var(String),
    /// `"ab" * 1000`.
    Repeat(Box<Spanned<Expr>>, Box<Spanned<Expr>>),
    /// `a + b + c`.
    Concat(Vec<Spanned<Expr>>),
    /// `zeros 1G`: that many zero bytes, made as they are sent (never held
    /// in memory whole). The size is an expression (`zeros n`).
    Zeros(Box<Spanned<Expr>>),
    /// `(a, b)`: a tuple (Python's address `('127.0.0.1', 9000)`).
    Tuple(Vec<Spanned<Expr>>),
    /// `x.encode()`: a str as its UTF-8 bytes.
    Encode(Box<Spanned<Expr>>),
    /// `x.decode()`: bytes as UTF-8 text.
    Decode(Box<Spanned<Expr>>),
    /// A bare word that is not a variable stays a Word so commands that take
    /// literal text (host names, option names, paths) can use it.
    Word(String),
}

/// Where the bytes of a bulk receive go.
#[derive(Clone, Debug, PartialEq)]
pub enum BulkInto {
    /// Read and dropped (`recv c discard`): a load generator's sink.
    Discard,
    /// Written to a file, created or truncated first (`recvfile c PATH`).
    File(Spanned<Expr>),
}

/// Where to bind, connect or send to.
#[derive(Clone, Debug, PartialEq)]
pub enum AddrExpr {
    /// `host port`, `host:port`, `[v6]:port`, `* port`; `host` is `None` for
    /// `*` and the empty host `""` (any address).
    HostPort {
        host: Option<Spanned<String>>,
        port: Spanned<Expr>,
    },
    /// A UNIX socket path (`./app.sock`, `/tmp/x`, or a quoted string).
    Path(Spanned<String>),
    /// A Linux abstract-namespace name (`@name`).
    Abstract(Spanned<String>),
    /// One bare word: a variable holding an address, a socket whose bound
    /// address is meant (`connect c s`), or a UNIX path when the socket is
    /// AF_UNIX. The executor decides, because only it knows the names.
    Word(Spanned<String>),
    /// Any other value that evaluates to an address: a `(HOST, PORT)`
    /// tuple of variables, from the Python surface.
    Value(Spanned<Expr>),
}

impl AddrExpr {
    pub fn span(&self) -> Span {
        match self {
            AddrExpr::HostPort { host, port } => match host {
                Some(h) => h.span.to(port.span),
                None => port.span,
            },
            AddrExpr::Path(p) | AddrExpr::Abstract(p) | AddrExpr::Word(p) => p.span,
            AddrExpr::Value(e) => e.span,
        }
    }
}

/// Address family named in `socket` or `inet_pton`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Inet,
    Inet6,
    Unix,
}

/// Socket type named in `socket`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockKind {
    Stream,
    Dgram,
    /// SOCK_SEQPACKET: connected like a stream, each message kept whole
    /// like a datagram (AF_UNIX on Linux).
    SeqPacket,
    /// SOCK_RAW: whole IP packets (root or CAP_NET_RAW).
    Raw,
}

impl SockKind {
    /// Each receive returns one message whole (or cut): no byte stream.
    pub fn keeps_boundaries(self) -> bool {
        self != SockKind::Stream
    }
}

/// `shutdown` direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    Read,
    Write,
    Both,
}

/// Flags on `send`/`sendto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendFlag {
    Oob,
    DontWait,
    NoSignal,
    More,
}

/// Flags on `recv`/`recvfrom`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvFlag {
    Peek,
    WaitAll,
    Oob,
    DontWait,
}

/// How received bytes are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// Python's bytes repr, `b'hi\r\n'`.
    Repr,
    /// A hexdump with offsets and an ASCII column.
    Hex,
    /// Decoded as UTF-8 text, control characters escaped.
    Text,
}

/// How `sendmsg`/`recvmsg` mark where a message ends, or (the real
/// sendmsg(2)/recvmsg(2)) what ancillary data goes with it.
#[derive(Clone, Debug, PartialEq)]
pub enum Framing {
    /// A 4-byte big-endian length before the bytes.
    Length,
    /// A marker after the bytes.
    Marker(Spanned<Expr>),
    /// sendmsg(2) with SCM_RIGHTS: these sockets' descriptors go along.
    Fds(Vec<Spanned<SockRef>>),
    /// sendmsg(2) with SCM_CREDENTIALS: this process's pid, uid and gid.
    Creds,
    /// recvmsg(2) with room for this many descriptors (and credentials).
    Ancillary(Option<Spanned<Expr>>),
}

/// Where `recvuntil`, `recvline`, `recvn` and `recvall` stop.
#[derive(Clone, Debug, PartialEq)]
pub enum Until {
    /// After this delimiter (`recvuntil`).
    Delim(Spanned<Expr>),
    /// After `\n` (`recvline`).
    Line,
    /// After exactly this many bytes (`recvn`).
    Count(Spanned<Expr>),
    /// At the end of the stream (`recvall`).
    All,
}

/// What `epoll EP ...` does.
#[derive(Clone, Debug, PartialEq)]
pub enum EpollOp {
    /// `epoll ep`: what it watches.
    Show,
    /// `epoll ep add s in out`: register.
    Add(Spanned<SockRef>, Vec<Spanned<String>>),
    /// `epoll ep mod s out`: modify.
    Modify(Spanned<SockRef>, Vec<Spanned<String>>),
    /// `epoll ep del s`: unregister.
    Delete(Spanned<SockRef>),
    /// `epoll ep wait [seconds]`: poll.
    Wait(Option<Spanned<Expr>>),
    /// `epoll ep close`.
    Close,
}

/// What a built-in peer (`serve`) does with its clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerKind {
    /// Sends back every byte it receives.
    Echo,
    /// Reads and drops every byte (RFC 863).
    Discard,
    /// Sends the date and time, then closes (RFC 867).
    Daytime,
    /// Relays each line to every other client, tagged with its sender.
    Chat,
    /// Answers GET and HEAD with files from a directory (or a built-in page).
    Http,
}

impl PeerKind {
    pub fn name(self) -> &'static str {
        match self {
            PeerKind::Echo => "echo",
            PeerKind::Discard => "discard",
            PeerKind::Daytime => "daytime",
            PeerKind::Chat => "chat",
            PeerKind::Http => "http",
        }
    }
}

/// `htons` and friends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOrderOp {
    Htons,
    Ntohs,
    Htonl,
    Ntohl,
}

/// Everything a statement can do. The executor matches on this.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// `socket [family] [type]`; `None` means Python's default (inet, stream).
    Socket {
        family: Option<Family>,
        kind: Option<SockKind>,
        /// The protocol (`socket raw icmp`: IPPROTO_ICMP); None is 0.
        proto: Option<i32>,
    },
    Bind {
        sock: Spanned<SockRef>,
        addr: AddrExpr,
    },
    Listen {
        sock: Spanned<SockRef>,
        backlog: Option<Spanned<Expr>>,
    },
    Accept {
        sock: Spanned<SockRef>,
    },
    Connect {
        sock: Spanned<SockRef>,
        addr: AddrExpr,
    },
    Send {
        sock: Spanned<SockRef>,
        data: Spanned<Expr>,
        flags: Vec<SendFlag>,
    },
    SendAll {
        sock: Spanned<SockRef>,
        data: Spanned<Expr>,
    },
    Recv {
        sock: Spanned<SockRef>,
        size: Option<Spanned<Expr>>,
        flags: Vec<RecvFlag>,
        view: Option<View>,
        /// Python's `.recv(n).decode()`: the bytes bound as a str.
        decode: bool,
    },
    SendTo {
        sock: Spanned<SockRef>,
        data: Spanned<Expr>,
        addr: AddrExpr,
        flags: Vec<SendFlag>,
    },
    RecvFrom {
        sock: Spanned<SockRef>,
        size: Option<Spanned<Expr>>,
        flags: Vec<RecvFlag>,
        view: Option<View>,
    },
    /// A whole file to a stream socket (`socket.sendfile`).
    SendFile {
        sock: Spanned<SockRef>,
        path: Spanned<Expr>,
    },
    /// Receive until end of stream, or until `limit` bytes, into a file or
    /// nowhere.
    RecvBulk {
        sock: Spanned<SockRef>,
        into: BulkInto,
        limit: Option<Spanned<Expr>>,
    },
    Close {
        sock: Spanned<SockRef>,
    },
    Shutdown {
        sock: Spanned<SockRef>,
        how: How,
    },
    SetSockOpt {
        sock: Spanned<SockRef>,
        level: Option<Spanned<String>>,
        option: Spanned<String>,
        values: Vec<Spanned<Expr>>,
    },
    GetSockOpt {
        sock: Spanned<SockRef>,
        level: Option<Spanned<String>>,
        option: Spanned<String>,
    },
    GetSockName {
        sock: Spanned<SockRef>,
    },
    GetPeerName {
        sock: Spanned<SockRef>,
    },
    Fileno {
        sock: Spanned<SockRef>,
    },
    GetFamily {
        sock: Spanned<SockRef>,
    },
    GetType {
        sock: Spanned<SockRef>,
    },
    SetBlocking {
        sock: Spanned<SockRef>,
        flag: Spanned<Expr>,
    },
    SetTimeout {
        sock: Spanned<SockRef>,
        seconds: Spanned<Expr>,
    },
    GetTimeout {
        sock: Spanned<SockRef>,
    },
    /// The socket table.
    Sockets,
    /// One socket in full.
    Info {
        sock: Spanned<SockRef>,
    },
    GetHostName,
    GetHostByName {
        host: Spanned<Expr>,
    },
    GetHostByNameEx {
        host: Spanned<Expr>,
    },
    GetHostByAddr {
        host: Spanned<Expr>,
    },
    GetAddrInfo {
        host: Spanned<Expr>,
        port: Option<Spanned<Expr>>,
        family: Option<Family>,
        kind: Option<SockKind>,
    },
    GetFqdn {
        host: Option<Spanned<Expr>>,
    },
    InetAton {
        text: Spanned<Expr>,
    },
    InetNtoa {
        data: Spanned<Expr>,
    },
    InetPton {
        family: Family,
        text: Spanned<Expr>,
    },
    InetNtop {
        family: Family,
        data: Spanned<Expr>,
    },
    GetServByName {
        name: Spanned<Expr>,
        proto: Option<Spanned<Expr>>,
    },
    GetServByPort {
        port: Spanned<Expr>,
        proto: Option<Spanned<Expr>>,
    },
    ByteOrder {
        op: ByteOrderOp,
        value: Spanned<Expr>,
    },
    Help {
        topic: Option<Spanned<String>>,
    },
    Echo {
        values: Vec<Spanned<Expr>>,
    },
    Sleep {
        seconds: Spanned<Expr>,
    },
    Quit {
        code: Option<Spanned<Expr>>,
    },
    /// `set display hex`: a shell setting.
    Set {
        key: Option<Spanned<String>>,
        value: Option<Spanned<Expr>>,
    },
    /// The variables and what they hold.
    Vars,
    /// Clear the terminal's screen.
    Clear,
    /// Close every socket, stop every peer, cancel every job, forget every
    /// name: start again without leaving.
    Reset,
    /// Remove a UNIX socket file.
    Unlink {
        path: Spanned<Expr>,
    },
    /// `select read s k write c 2.5`: which sockets are ready (Python's
    /// select.select), waiting up to `timeout` seconds (forever if None).
    Select {
        read: Vec<Spanned<SockRef>>,
        write: Vec<Spanned<SockRef>>,
        except: Vec<Spanned<SockRef>>,
        timeout: Option<Spanned<Expr>>,
    },
    /// `poll in s k out c 2500`: Python's poll object in one go; the
    /// timeout is in milliseconds, as poll() takes it.
    Poll {
        read: Vec<Spanned<SockRef>>,
        write: Vec<Spanned<SockRef>>,
        except: Vec<Spanned<SockRef>>,
        timeout: Option<Spanned<Expr>>,
    },
    /// Send one message with a length prefix or an end marker.
    SendMsg {
        sock: Spanned<SockRef>,
        data: Spanned<Expr>,
        framing: Framing,
    },
    /// Receive exactly one message sent that way.
    RecvMsg {
        sock: Spanned<SockRef>,
        framing: Framing,
    },
    /// Join (or leave) a multicast group.
    Membership {
        join: bool,
        sock: Spanned<SockRef>,
        group: Spanned<Expr>,
        interface: Option<Spanned<Expr>>,
    },
    /// The TCP states over time, read off the segments: `states [sock]
    /// [absolute] [save FILE.pcap]`.
    States {
        sock: Option<Spanned<SockRef>>,
        /// Sequence numbers as sent, not relative.
        absolute: bool,
        /// Write the captured packets to this pcap file instead.
        save: Option<Spanned<Expr>>,
    },
    /// A connection's sequence diagram: `diagram [sock] [absolute] [save
    /// FILE.svg]`.
    Diagram {
        sock: Option<Spanned<SockRef>>,
        absolute: bool,
        /// Write it as SVG to this file instead.
        save: Option<Spanned<Expr>>,
    },
    /// The background jobs.
    Jobs,
    /// Wait for jobs (all when empty).
    Wait {
        jobs: Vec<Spanned<i64>>,
    },
    /// Cancel jobs.
    Kill {
        jobs: Vec<Spanned<i64>>,
    },
    /// `serve KIND [ADDR] [DIR]`: start a built-in peer in the background.
    /// Unlike `bind`, an address without a host (`serve echo 9000`) means
    /// 127.0.0.1; every address is only used when written (`* 9000` is
    /// parsed as host `0.0.0.0`). `addr` None means 127.0.0.1, port 0.
    Serve {
        kind: PeerKind,
        /// `serve echo udp`: on a UDP socket (echo, discard, daytime).
        udp: bool,
        addr: Option<AddrExpr>,
        dir: Option<Spanned<Expr>>,
    },
    /// `peers` lists the built-in peers; `peers log [N]` shows what one received.
    Peers {
        log: bool,
        peer: Option<Spanned<Expr>>,
    },
    /// `stop N` (or `stop all`): stop a built-in peer.
    Stop {
        peer: Spanned<Expr>,
    },
    /// `source FILE` (or `step FILE`): run a script in this shell.
    Source {
        path: Spanned<Expr>,
        step: bool,
    },
    /// `lesson [N] [step|check]`: list the bundled lessons, or run one.
    Lesson {
        number: Option<Spanned<Expr>>,
        mode: Option<LessonMode>,
    },
    /// `expect ...`: check what the previous command did.
    Expect(Expectation),
    /// `macdef NAME`: the lines up to the next empty line are a macro.
    MacDef {
        name: Spanned<String>,
    },
    /// A plain expression (`x = "ab" * 3`, or just `x` to show it).
    Value(Spanned<Expr>),
    /// Python's `import socket`: the modules are built in; says so.
    Import {
        modules: Vec<Spanned<String>>,
    },
    /// `run [-q|-v] PROGRAM ARGS... [&]`: a program, watched.
    Run {
        argv: Vec<Spanned<String>>,
    },
    /// `input JOB ["text" | eof]`: a line for a background program's stdin.
    Input {
        job: Spanned<i64>,
        data: Option<Spanned<Expr>>,
    },
    /// `export FILE.py [split] [force]`: the session so far as a Python
    /// program (src/export).
    Export {
        path: Spanned<Expr>,
        split: bool,
        force: bool,
    },
    /// Python's `print(a, s.recv(1024).decode(), s.family)`: the calls run
    /// (with their waits shown), then the line Python prints: each part's
    /// str(), separated by blanks.
    Print {
        args: Vec<PrintArg>,
    },
    /// `record FILE.sp [force]` starts saving the session as a lesson,
    /// `record stop` (the bare word) ends it, `record` alone says whether
    /// one is on.
    Record {
        path: Option<Spanned<Expr>>,
        force: bool,
    },
    /// `lab ...`: the lab's hosts and network.
    Lab(LabCmd),
    /// `on HOST STATEMENT`: one statement inside a lab host.
    On {
        host: Spanned<String>,
        stmt: Box<Statement>,
    },
    /// `recvuntil`, `recvline`, `recvn`, `recvall`: receive until a
    /// delimiter, a count or the end, within one timeout budget.
    RecvUntil {
        sock: Spanned<SockRef>,
        until: Until,
        /// Leave the delimiter out of the answer.
        drop: bool,
        /// The budget for the whole call (else the socket's timeout).
        timeout: Option<Spanned<Expr>>,
        view: Option<View>,
    },
    /// `log FILE [hex]`, `log off`, `log`: the traffic log.
    Log {
        path: Option<Spanned<Expr>>,
        hex: bool,
    },
    /// `interactive sock [crlf]`: the keyboard talks to the socket.
    Interactive {
        sock: Spanned<SockRef>,
        crlf: bool,
    },
    /// `a, b = socketpair [unix] [stream|dgram|seqpacket]`.
    SocketPair {
        family: Option<Family>,
        kind: Option<SockKind>,
    },
    /// `d = dup s`: a second descriptor of the same socket.
    Dup {
        sock: Spanned<SockRef>,
    },
    /// `getnameinfo ADDR [flags]`.
    GetNameInfo {
        addr: AddrExpr,
        flags: Option<Spanned<Expr>>,
    },
    /// `getprotobyname NAME`.
    GetProtoByName {
        name: Spanned<Expr>,
    },
    /// `ep = epoll` (no name: create), or `epoll ep OP ...`.
    Epoll {
        ep: Option<Spanned<String>>,
        op: EpollOp,
    },
    /// `c10k [N]`: N connections, and what select, poll and epoll cost
    /// waiting on them, measured.
    C10k {
        n: Option<Spanned<Expr>>,
    },
}

/// One argument of Python's `print()`.
#[derive(Clone, Debug, PartialEq)]
pub enum PrintArg {
    /// A value (`'from'`, `data`).
    Value(Spanned<Expr>),
    /// A call whose result is printed (`c.getpeername()`).
    Call(Box<Command>),
}

/// What `lab` does.
#[derive(Clone, Debug, PartialEq)]
pub enum LabCmd {
    /// `lab`: the hosts, their addresses and links, the faults.
    Show,
    /// `lab up a b c`: one host per name.
    Up(Vec<Spanned<String>>),
    /// `lab down`: everything goes.
    Down,
    /// `lab net [HOST] loss 30% delay 100ms ...`: faults on a host's link
    /// (every host's without HOST); settings not named stay as they were.
    Net {
        host: Option<Spanned<String>>,
        settings: Vec<Spanned<NetSetting>>,
    },
    /// `lab net [HOST] clear`: no faults.
    Clear { host: Option<Spanned<String>> },
}

/// One fault of `lab net`, as tc-netem(8) names it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NetSetting {
    /// Chance of loss, 0..=1 (written as a percentage).
    Loss(f64),
    Delay(std::time::Duration),
    Jitter(std::time::Duration),
    Reorder(f64),
    Duplicate(f64),
    /// Bits per second.
    Rate(u64),
}

/// How a bundled lesson runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LessonMode {
    /// One command per Enter.
    Step,
    /// Quiet about passing expects.
    Check,
}

/// What `expect` checks about the previous command.
#[derive(Clone, Debug, PartialEq)]
pub enum Expectation {
    /// Its output contains this text.
    Output(Spanned<String>),
    /// Its output matches this regular expression.
    Regex(Spanned<String>),
    /// It failed: with this errno (`ECONNREFUSED`) or exception
    /// (`TimeoutError`), or with any error when None.
    Error(Option<Spanned<String>>),
    /// The socket's state now (`CLOSE_WAIT`; `FIN_WAIT` matches both
    /// FIN_WAIT1 and FIN_WAIT2).
    State {
        sock: Spanned<SockRef>,
        state: Spanned<String>,
    },
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Inet => "AF_INET",
            Family::Inet6 => "AF_INET6",
            Family::Unix => "AF_UNIX",
        })
    }
}

impl fmt::Display for SockKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SockKind::Stream => "SOCK_STREAM",
            SockKind::Dgram => "SOCK_DGRAM",
            SockKind::SeqPacket => "SOCK_SEQPACKET",
            SockKind::Raw => "SOCK_RAW",
        })
    }
}

//! The table of socket options (`setsockopt`/`getsockopt`): their levels,
//! names, value kinds and help, and the lookups by name and level. Apart
//! from the command table because it describes the kernel's options, not
//! the shell's words.

/// Option levels, as Python names them.
pub static LEVELS: &[&str] = &[
    "SOL_SOCKET",
    "IPPROTO_TCP",
    "SOL_TCP",
    "IPPROTO_IP",
    "SOL_IP",
    "IPPROTO_IPV6",
    "SOL_IPV6",
    "IPPROTO_UDP",
];

/// How an option's value is read and written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptKind {
    Int,
    /// An int that means on (non-zero) or off.
    Bool,
    /// `struct linger`: on/off and seconds.
    Linger,
    /// `struct timeval`: seconds.
    Time,
    /// Read-only: the pending error (an errno).
    Error,
    /// Read-only int.
    ReadOnly,
    /// An IPv4 address (`struct in_addr`), given as text.
    Addr4,
}

/// A socket option: its name, level and number, and what it does.
#[derive(Clone, Copy, Debug)]
pub struct OptSpec {
    pub name: &'static str,
    pub level_name: &'static str,
    pub level: i32,
    pub number: i32,
    pub kind: OptKind,
    pub doc: &'static str,
}

macro_rules! opt {
    ($name:ident, $level:ident, $kind:ident, $doc:literal) => {
        OptSpec {
            name: stringify!($name),
            level_name: stringify!($level),
            level: libc::$level,
            number: libc::$name,
            kind: OptKind::$kind,
            doc: $doc,
        }
    };
}

/// The options the shell knows (and completes), as Python names them.
pub static OPTIONS: &[OptSpec] = &[
    opt!(
        SO_REUSEADDR,
        SOL_SOCKET,
        Bool,
        "bind may reuse an address whose old connections are in TIME_WAIT, if the socket that left them set it too: servers set it before bind, every time"
    ),
    opt!(
        SO_REUSEPORT,
        SOL_SOCKET,
        Bool,
        "several sockets may bind the same address and port; the kernel spreads connections"
    ),
    opt!(
        SO_RCVBUF,
        SOL_SOCKET,
        Int,
        "receive buffer size (the kernel doubles what you set, for bookkeeping)"
    ),
    opt!(
        SO_SNDBUF,
        SOL_SOCKET,
        Int,
        "send buffer size (the kernel doubles what you set, for bookkeeping)"
    ),
    opt!(
        SO_KEEPALIVE,
        SOL_SOCKET,
        Bool,
        "probe an idle connection to find a dead peer"
    ),
    opt!(
        SO_LINGER,
        SOL_SOCKET,
        Linger,
        "what close does with unsent data; on with 0 seconds makes close send RST"
    ),
    opt!(
        SO_BROADCAST,
        SOL_SOCKET,
        Bool,
        "allow sending to a broadcast address (UDP)"
    ),
    opt!(
        SO_ERROR,
        SOL_SOCKET,
        Error,
        "the pending error, cleared by reading it (how a non-blocking connect reports failure)"
    ),
    opt!(
        SO_TYPE,
        SOL_SOCKET,
        ReadOnly,
        "the socket type: 1 SOCK_STREAM, 2 SOCK_DGRAM"
    ),
    opt!(
        SO_RCVTIMEO,
        SOL_SOCKET,
        Time,
        "kernel timeout for a blocking receive (it then fails with EAGAIN)"
    ),
    opt!(
        SO_SNDTIMEO,
        SOL_SOCKET,
        Time,
        "kernel timeout for a blocking send (it then fails with EAGAIN)"
    ),
    opt!(
        SO_OOBINLINE,
        SOL_SOCKET,
        Bool,
        "urgent (OOB) data arrives in the normal stream"
    ),
    opt!(
        SO_RCVLOWAT,
        SOL_SOCKET,
        Int,
        "a receive waits for at least this many bytes"
    ),
    opt!(
        SO_SNDLOWAT,
        SOL_SOCKET,
        Int,
        "minimum free space for send (fixed at 1 on Linux)"
    ),
    opt!(
        SO_ACCEPTCONN,
        SOL_SOCKET,
        ReadOnly,
        "1 when the socket is listening"
    ),
    opt!(
        SO_DOMAIN,
        SOL_SOCKET,
        ReadOnly,
        "the family: 2 AF_INET, 10 AF_INET6, 1 AF_UNIX"
    ),
    opt!(
        SO_PROTOCOL,
        SOL_SOCKET,
        ReadOnly,
        "the protocol: 6 TCP, 17 UDP"
    ),
    opt!(
        SO_PASSCRED,
        SOL_SOCKET,
        Bool,
        "a UNIX socket receives the sender's credentials (pid, uid, gid) with each message: recvmsg ... fds shows them"
    ),
    opt!(
        SO_PRIORITY,
        SOL_SOCKET,
        Int,
        "queueing priority of the socket's packets"
    ),
    opt!(
        TCP_NODELAY,
        IPPROTO_TCP,
        Bool,
        "send small segments at once instead of waiting to merge them (Nagle off)"
    ),
    opt!(
        TCP_MAXSEG,
        IPPROTO_TCP,
        Int,
        "the largest segment TCP sends (MSS)"
    ),
    opt!(
        TCP_KEEPIDLE,
        IPPROTO_TCP,
        Int,
        "seconds idle before the first keepalive probe"
    ),
    opt!(
        TCP_KEEPINTVL,
        IPPROTO_TCP,
        Int,
        "seconds between keepalive probes"
    ),
    opt!(
        TCP_KEEPCNT,
        IPPROTO_TCP,
        Int,
        "probes without answer before the connection is dropped"
    ),
    opt!(
        TCP_CORK,
        IPPROTO_TCP,
        Bool,
        "hold partial segments until uncorked (or 200 ms)"
    ),
    opt!(
        TCP_QUICKACK,
        IPPROTO_TCP,
        Bool,
        "acknowledge at once instead of delaying ACKs"
    ),
    opt!(
        IP_TTL,
        IPPROTO_IP,
        Int,
        "time to live of outgoing packets (hops)"
    ),
    opt!(
        IP_TOS,
        IPPROTO_IP,
        Int,
        "type of service byte of outgoing packets"
    ),
    opt!(
        IP_MULTICAST_TTL,
        IPPROTO_IP,
        Int,
        "time to live of outgoing multicast packets"
    ),
    opt!(
        IP_MULTICAST_LOOP,
        IPPROTO_IP,
        Bool,
        "multicast sent is also delivered to this host"
    ),
    opt!(
        IP_MULTICAST_IF,
        IPPROTO_IP,
        Addr4,
        "the interface (by its address) multicast is sent from: 127.0.0.1 keeps it on loopback"
    ),
    opt!(
        IPV6_V6ONLY,
        IPPROTO_IPV6,
        Bool,
        "an AF_INET6 socket takes IPv6 only (no IPv4-mapped addresses)"
    ),
    opt!(
        IPV6_UNICAST_HOPS,
        IPPROTO_IPV6,
        Int,
        "hop limit of outgoing IPv6 packets"
    ),
];

/// An option by name (case-insensitive; `socket.` prefix allowed).
pub fn option(name: &str) -> Option<&'static OptSpec> {
    let n = name.strip_prefix("socket.").unwrap_or(name);
    OPTIONS.iter().find(|o| o.name.eq_ignore_ascii_case(n))
}

/// The Python name of a level constant.
pub fn level_name(level: i32) -> &'static str {
    match level {
        libc::SOL_SOCKET => "SOL_SOCKET",
        libc::IPPROTO_TCP => "IPPROTO_TCP",
        libc::IPPROTO_IP => "IPPROTO_IP",
        libc::IPPROTO_IPV6 => "IPPROTO_IPV6",
        libc::IPPROTO_UDP => "IPPROTO_UDP",
        _ => "that level",
    }
}

/// The level constant of a level name.
pub fn level(name: &str) -> Option<i32> {
    let n = name
        .strip_prefix("socket.")
        .unwrap_or(name)
        .to_ascii_uppercase();
    Some(match n.as_str() {
        "SOL_SOCKET" => libc::SOL_SOCKET,
        "IPPROTO_TCP" | "SOL_TCP" => libc::IPPROTO_TCP,
        "IPPROTO_IP" | "SOL_IP" => libc::IPPROTO_IP,
        "IPPROTO_IPV6" | "SOL_IPV6" => libc::IPPROTO_IPV6,
        "IPPROTO_UDP" | "SOL_UDP" => libc::IPPROTO_UDP,
        _ => return None,
    })
}

//! The data of the command table: one `spec!` row per command (name,
//! aliases, arguments, help, Python form), in the order `help` lists them.
//! Apart from the code that reads it (lookup, usage, did-you-mean in
//! `spec/mod.rs`) because it is long, grows with every command, and is
//! where others append theirs.

use super::ArgKind as K;
use super::{ArgKind, ArgSpec, Cmd, CmdSpec, Group};

const fn req(name: &'static str, kind: ArgKind) -> ArgSpec {
    ArgSpec {
        name,
        kind,
        optional: false,
    }
}

const fn opt(name: &'static str, kind: ArgKind) -> ArgSpec {
    ArgSpec {
        name,
        kind,
        optional: true,
    }
}

const SOCK: ArgSpec = req("sock", K::Sock);

macro_rules! spec {
    ($cmd:ident, $name:literal, [$($alias:literal),*], [$($arg:expr),*], $group:ident, $summary:literal, $details:expr, $python:literal) => {
        CmdSpec {
            cmd: Cmd::$cmd,
            name: $name,
            aliases: &[$($alias),*],
            args: &[$($arg),*],
            summary: $summary,
            details: $details,
            python: $python,
            group: Group::$group,
        }
    };
}

/// What `help` says of the timeout of the receives that stop at a
/// delimiter or a count (the rule pwntools users ask about).
macro_rules! budget {
    () => {
        " The timeout is one budget for the whole call: the socket's (settimeout), or `timeout S` here, counted from the start across every read; pwntools restarts its timeout at each read, sockplay does not. When the time is up (TimeoutError), the peer closes first (EOFError) or no delimiter comes within 1 MiB (ValueError), what arrived is held for the next receive, never lost."
    };
}

/// The table. Order is the order of `help`.
pub static SPECS: &[CmdSpec] = &[
    spec!(
        Socket,
        "socket",
        [],
        [opt("family type", K::SockSpec)],
        Calls,
        "create a socket",
        "family inet | inet6 | unix, type stream | dgram | seqpacket | raw, then a protocol if the type needs one; or one of tcp udp tcp6 udp6 unix unix-dgram unix-seqpacket. `socket inet6 tcp` is tcp6 (the family written wins). Bare `socket` is inet stream (TCP), as in Python. `socket unix seqpacket`: connected like a stream, each message kept whole like a datagram. `socket raw icmp` (or `socket inet raw icmp`, `socket inet6 raw icmpv6`, a protocol number): whole IP packets, root only (PermissionError otherwise); recvfrom shows the IP header.",
        "{ret:s} = socket.socket({family:AF_INET}, {type:SOCK_STREAM})"
    ),
    spec!(
        Bind,
        "bind",
        [],
        [SOCK, req("addr", K::Addr)],
        Calls,
        "give the socket its local address",
        "host port, host:port, [v6]:port, * port (every address), a UNIX path or @name. Port 0 lets the kernel pick a free port.",
        "{sock:s}.bind({addr:('0.0.0.0', 9900)})"
    ),
    spec!(
        Listen,
        "listen",
        [],
        [SOCK, opt("backlog", K::Number)],
        Calls,
        "make a stream socket wait for connections",
        "The kernel completes handshakes on its own and queues the connections (up to backlog) until accept takes them.",
        "{sock:s}.listen({backlog:5})"
    ),
    spec!(
        Accept,
        "accept",
        [],
        [SOCK],
        Calls,
        "take the next connection from the accept queue",
        "Waits while the accept queue is empty. Returns a new socket for the connection and the client's address: c, addr = accept s.",
        "{ret:c, addr} = {sock:s}.accept()"
    ),
    spec!(
        Connect,
        "connect",
        [],
        [SOCK, req("addr", K::Addr)],
        Calls,
        "connect to a server",
        "The address is host port, a UNIX path, or the name of a socket of this shell (its bound address). For UDP it only fixes the peer.",
        "{sock:s}.connect({addr:('127.0.0.1', 9900)})"
    ),
    spec!(
        Send,
        "send",
        [],
        [SOCK, req("data", K::Data), opt("flags", K::SendFlags)],
        Calls,
        "send bytes, once",
        "Prints how many bytes the kernel took. Text is sent as UTF-8. Flags: oob (urgent data), dontwait, nosignal, more, or Python's names MSG_OOB, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_MORE, joined with | if you like (MSG_DONTWAIT|MSG_NOSIGNAL). `send c zeros 1G` sends that many zero bytes, made as they go (a load generator).",
        "{ret:n} = {sock:c}.send({data:b'hello'}{flags})"
    ),
    spec!(
        SendAll,
        "sendall",
        [],
        [SOCK, req("data", K::Data)],
        Calls,
        "send every byte",
        "Calls send until every byte is taken (waiting for buffer space as needed).",
        "{sock:c}.sendall({data:b'hello'})"
    ),
    spec!(
        Recv,
        "recv",
        [],
        [SOCK, opt("size", K::Number), opt("flags", K::RecvFlags)],
        Calls,
        "receive up to size bytes",
        "Default size 1024. Waits while the receive queue is empty; b'' means the peer closed. Flags: peek waitall oob dontwait, or Python's names MSG_PEEK MSG_WAITALL MSG_OOB MSG_DONTWAIT (joined with | if you like: MSG_PEEK|MSG_DONTWAIT); views: hex repr text. `recv c discard [size]` reads until end of stream (or size bytes, 512K, 1G) and drops the bytes: a load generator's sink.",
        "{ret:data} = {sock:c}.recv({size:1024}{flags}){decode}\n[discard] while {sock:c}.recv(65536): pass\n[discard limit] left = {limit:1 << 20}\n[discard limit] while left > 0 and (d := {sock:c}.recv(min(left, 65536))): left -= len(d)"
    ),
    spec!(
        SendTo,
        "sendto",
        [],
        [
            SOCK,
            req("data", K::Data),
            req("addr", K::Addr),
            opt("flags", K::SendFlags)
        ],
        Calls,
        "send one datagram to an address",
        "For UDP (and UNIX datagram) sockets; the address is written as for connect.",
        "{sock:u}.sendto({data:b'hi'}{flags}, {addr:('127.0.0.1', 9999)})"
    ),
    spec!(
        RecvFrom,
        "recvfrom",
        [],
        [SOCK, opt("size", K::Number), opt("flags", K::RecvFlags)],
        Calls,
        "receive one datagram and its sender",
        "data, addr = recvfrom u 1024. A datagram longer than size is cut, and the rest is lost.",
        "{ret:data, addr} = {sock:u}.recvfrom({size:1024}{flags})"
    ),
    spec!(
        SendFile,
        "sendfile",
        [],
        [SOCK, req("path", K::Path)],
        Calls,
        "send a whole file, zero-copy",
        "sendfile(2): the file's pages go from the page cache to the socket without passing through the shell. A stream socket, blocking or with a timeout (as Python's socket.sendfile). A progress bar on a terminal, the rate at the end; Ctrl-C interrupts.",
        "with open({path:'big.bin'}, 'rb') as f: {sock:c}.sendfile(f)"
    ),
    spec!(
        RecvFile,
        "recvfile",
        [],
        [SOCK, req("path", K::Path), opt("size", K::Number)],
        Calls,
        "receive into a file until end of stream (or size bytes)",
        "Writes what arrives until the peer closes its side, or until size bytes (512K, 1G: binary units), into a temporary file that becomes the file only when the transfer ends well (a failed one leaves the file as it was). At the prompt, replacing a file asks first; a script only creates new files under the current directory (--allow-write DIR, --allow-replace widen that). splice(2) moves the bytes to the file without copying them through the shell.",
        "with open({path:'big.bin'}, 'wb') as f:\n    while (d := {sock:c}.recv(1 << 20)): f.write(d)\n[limit] with open({path:'big.bin'}, 'wb') as f:\n[limit]     left = {limit:1 << 20}\n[limit]     while left > 0 and (d := {sock:c}.recv(min(left, 1 << 20))): left -= f.write(d)"
    ),
    spec!(
        Close,
        "close",
        [],
        [SOCK],
        Calls,
        "close the socket",
        "Frees the descriptor. A TCP connection sends FIN (or RST when unread data remains).",
        "{sock:s}.close()"
    ),
    spec!(
        Shutdown,
        "shutdown",
        [],
        [SOCK, req("how", K::How)],
        Calls,
        "close one direction of a connection",
        "read, write or both. write sends FIN: the peer's recv gets b'' while it can still send back.",
        "{sock:c}.shutdown({how:SHUT_WR})"
    ),
    spec!(
        SetSockOpt,
        "setsockopt",
        [],
        [SOCK, req("option", K::LevelOpt), req("value", K::Values)],
        Options,
        "set a socket option",
        "setsockopt s SO_REUSEADDR 1; the level may be given as in Python: setsockopt s SOL_SOCKET SO_REUSEADDR 1. SO_LINGER takes two values (on, seconds).",
        "{sock:s}.setsockopt({level:SOL_SOCKET}, {option:SO_REUSEADDR}, {value:1})"
    ),
    spec!(
        SendMsg,
        "sendmsg",
        [],
        [
            SOCK,
            req("data", K::Data),
            opt("framed | marker M | fds SOCK... | creds", K::Framing)
        ],
        Calls,
        "send one message, framed so it keeps its boundary; or with ancillary data",
        "Two kinds. The course's remedies for sticky packets (the shell's helpers, plain bytes on the wire): framed (the default) puts a 4-byte big-endian length first, marker M puts M after the data; recvmsg reads exactly one message back. The real sendmsg(2) with ancillary data, on a UNIX socket: fds SOCK... passes those sockets' descriptors to the process at the other end (SCM_RIGHTS, as socket.send_fds): what it then sends on them, their other ends here receive; creds sends this process's pid, uid and gid (SCM_CREDENTIALS), which a receiver with SO_PASSCRED set sees.",
        "{sock:c}.sendall(struct.pack('!I', len({data:data})) + {data:data})\n[marker] {sock:c}.sendall({data:data} + {marker:b'\\n'})\n[fds] socket.send_fds({sock:u}, [{data:data}], [{fds:k.fileno()}])\n[creds] {sock:u}.sendmsg([{data:data}], [(SOL_SOCKET, SCM_CREDENTIALS, struct.pack('3i', os.getpid(), os.getuid(), os.getgid()))])"
    ),
    spec!(
        RecvMsg,
        "recvmsg",
        [],
        [SOCK, opt("framed | marker M | fds [N]", K::Framing)],
        Calls,
        "receive exactly one framed message; or a message with its ancillary data",
        "framed reads the 4-byte length, then that many bytes; marker M reads up to M (and removes it), holding the next message for the next receive (the shell's helpers). fds [N] is the real recvmsg(2) on a UNIX socket: data, fds = recvmsg u fds reads one message (up to 64 KiB) with room for N descriptors (16 by default; more make MSG_CTRUNC, and the kernel closes them), as socket.recv_fds. Each socket received joins the table (its fd, or `.` for the last); any other descriptor (a file, a pipe) is named and closed. Credentials (SCM_CREDENTIALS, with SO_PASSCRED set) and other control messages are shown.",
        "{tmp:n}, = struct.unpack('!I', recv_exactly({sock:c}, 4))\n{ret:data} = recv_exactly({sock:c}, {tmp:n})\n[marker] {ret:data} = recv_until({sock:c}, {marker:b'\\n'})\n[fds] {ret:data, fds, flags, addr} = socket.recv_fds({sock:u}, 65536, {maxfds:16})"
    ),
    spec!(
        RecvUntil,
        "recvuntil",
        [],
        [
            SOCK,
            req("delim", K::Data),
            opt("drop | timeout S | hex", K::UntilOpts)
        ],
        Calls,
        "receive up to and including a delimiter (pwntools' recvuntil)",
        concat!(
            "pwntools: tube.recvuntil(delim). Reads as often as needed until DELIM arrives, and returns the bytes up to it (with it; `drop` leaves it out). The bytes read past it are held for the socket's next receive: every receive takes held bytes first, and sockets shows them in RECV-Q as held+kernel (3+12).",
            budget!()
        ),
        ""
    ),
    spec!(
        RecvLine,
        "recvline",
        [],
        [SOCK, opt("drop | timeout S | hex", K::UntilOpts)],
        Calls,
        "receive one line, up to and including \\n",
        concat!(
            "pwntools: tube.recvline(); Python: sock.makefile('rb').readline(). recvuntil sock b\"\\n\": the line with its \\n (a \\r before it stays; `drop` leaves the \\n out). Bytes past the line are held for the next receive.",
            budget!()
        ),
        ""
    ),
    spec!(
        RecvN,
        "recvn",
        [],
        [
            SOCK,
            req("n", K::Number),
            opt("timeout S | hex", K::UntilOpts)
        ],
        Calls,
        "receive exactly n bytes",
        concat!(
            "pwntools: tube.recvn(n); Python: a loop of recv. Reads until n bytes have come (however the peer's sends were cut or merged) and takes no more. EOFError if the peer closes first.",
            budget!()
        ),
        ""
    ),
    spec!(
        RecvAll,
        "recvall",
        [],
        [SOCK, opt("timeout S | hex", K::UntilOpts)],
        Calls,
        "receive everything until the peer closes",
        concat!(
            "pwntools: tube.recvall(); Python: while (d := s.recv(4096)): .... Reads until the end of the stream (b''), up to 256 MiB (recvfile or recv c discard for more).",
            budget!()
        ),
        ""
    ),
    spec!(
        SocketPair,
        "socketpair",
        [],
        [opt("unix type", K::SockSpec)],
        Calls,
        "two connected sockets, no address needed",
        "a, b = socketpair: two AF_UNIX stream sockets already connected to each other (socketpair unix dgram or seqpacket for the other types): what one sends the other receives. Linux makes them of UNIX sockets only. What a parent process and its child talk over; one end can be given to another program with sendmsg ... fds.",
        "{ret:a, b} = socket.socketpair({family:AF_UNIX}, {type:SOCK_STREAM})"
    ),
    spec!(
        Dup,
        "dup",
        [],
        [SOCK],
        Calls,
        "a second descriptor of the same socket",
        "d = dup s: a new fd (the lowest free) for s's socket, with s's timeout. Both send and receive on the one socket; close one and the socket lives on while the other is open (close says so); shutdown through either shuts it for both.",
        "{ret:d} = {sock:s}.dup()"
    ),
    spec!(
        Interactive,
        "interactive",
        [],
        [SOCK, opt("crlf", K::LineEnd)],
        Calls,
        "talk to the socket from the keyboard, like nc",
        "Each line typed is sent with \\n (crlf: with \\r\\n, as telnet and HTTP want); what arrives is shown as it arrives, escaped (a peer's control bytes never reach the terminal raw). Ctrl-D at the start of a line, Ctrl-] then Enter (telnet's escape), or Ctrl-C returns to the prompt; the socket stays open. Bytes held by recvuntil show first. When the input is a file or a pipe (sockplay -c ... < request.txt), its lines are sent, then what arrives is shown until the peer closes. Every byte goes to the log, if one is on.",
        ""
    ),
    spec!(
        Log,
        "log",
        [],
        [opt("file | off", K::Path), opt("hex", K::LogView)],
        Shell,
        "log every byte sent and received to a file (like socat -v)",
        "log FILE: from now on every byte any command sends or receives is written to FILE, with its direction (> sent, < received), the time, the socket and its peer, as text like socat -v (a newline of the data ends a line; \\r \\t \\\\ \\xNN stand for the other bytes; length= says how many). log FILE hex writes hexdumps instead (like socat -x). The file must be new: an existing file (or a link) is never written over. The zero-copy transfers (sendfile, send zeros, recvfile, recv discard) get one line with their size. The programs run from the shell (run python3 FILE.py, with or without &) are logged too, their sockets named as states names them ([1] conn (fd 4)), stamped when they made the call (a call's first 64 KiB shown). log shows what is being logged; log off ends it.",
        ""
    ),
    spec!(
        GetSockOpt,
        "getsockopt",
        [],
        [SOCK, req("option", K::LevelOpt)],
        Options,
        "read a socket option",
        "getsockopt s SO_RCVBUF (the level may be given as in Python).",
        "{sock:s}.getsockopt({level:SOL_SOCKET}, {option:SO_RCVBUF})\n[linger] struct.unpack('ii', {sock:s}.getsockopt({level:SOL_SOCKET}, {option:SO_LINGER}, 8))\n[time] struct.unpack('ll', {sock:s}.getsockopt({level:SOL_SOCKET}, {option:SO_RCVTIMEO}, 16))\n[addr] socket.inet_ntoa({sock:s}.getsockopt({level:IPPROTO_IP}, {option:IP_MULTICAST_IF}, 4))"
    ),
    spec!(
        Join,
        "join",
        [],
        [SOCK, req("group", K::Text), opt("interface", K::Text)],
        Options,
        "join a multicast group",
        "join u 224.1.1.1 127.0.0.1: datagrams sent to the group (and u's port) now reach u. The interface is given by its address (default: any); on one machine use 127.0.0.1, and have the sender set IP_MULTICAST_IF 127.0.0.1.",
        "{sock:u}.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, struct.pack('4s4s', socket.inet_aton({group:'224.1.1.1'}), socket.inet_aton({iface:'127.0.0.1'})))"
    ),
    spec!(
        Leave,
        "leave",
        [],
        [SOCK, req("group", K::Text), opt("interface", K::Text)],
        Options,
        "leave a multicast group",
        "",
        "{sock:u}.setsockopt(IPPROTO_IP, IP_DROP_MEMBERSHIP, struct.pack('4s4s', socket.inet_aton({group:'224.1.1.1'}), socket.inet_aton({iface:'127.0.0.1'})))"
    ),
    spec!(
        GetSockName,
        "getsockname",
        [],
        [SOCK],
        Options,
        "the socket's local address",
        "",
        "{sock:s}.getsockname()"
    ),
    spec!(
        GetPeerName,
        "getpeername",
        [],
        [SOCK],
        Options,
        "the connected peer's address",
        "",
        "{sock:c}.getpeername()"
    ),
    spec!(
        Fileno,
        "fileno",
        [],
        [SOCK],
        Options,
        "the socket's file descriptor number",
        "",
        "{sock:s}.fileno()"
    ),
    spec!(
        Family,
        "family",
        [],
        [SOCK],
        Options,
        "the socket's address family",
        "",
        "{sock:s}.family"
    ),
    spec!(
        Type,
        "type",
        [],
        [SOCK],
        Options,
        "the socket's type",
        "",
        "{sock:s}.type"
    ),
    spec!(
        SetBlocking,
        "setblocking",
        [],
        [SOCK, req("flag", K::Bool)],
        Options,
        "blocking (true) or non-blocking (false)",
        "A non-blocking socket raises BlockingIOError instead of waiting.",
        "{sock:s}.setblocking({flag:False})"
    ),
    spec!(
        SetTimeout,
        "settimeout",
        [],
        [SOCK, req("seconds", K::Number)],
        Options,
        "wait at most this long, then TimeoutError",
        "none waits forever (blocking); 0 is non-blocking.",
        "{sock:s}.settimeout({seconds:2.5})"
    ),
    spec!(
        GetTimeout,
        "gettimeout",
        [],
        [SOCK],
        Options,
        "the socket's timeout",
        "None when blocking, 0.0 when non-blocking.",
        "{sock:s}.gettimeout()"
    ),
    spec!(
        Sockets,
        "sockets",
        ["ls", "status", "="],
        [],
        Options,
        "the socket table",
        "Every socket with its names, addresses, TCP state, queues (accept queue for a listener), mode, and readiness now: R readable, W writable, E error or urgent data. CLOSED (reset) is a connection that was reset (RST): it is dead, close it.",
        ""
    ),
    spec!(
        Info,
        "info",
        [],
        [SOCK],
        Options,
        "one socket in full",
        "Addresses, state, queues, TCP_INFO (rtt, cwnd, retransmits), buffers and options.",
        ""
    ),
    spec!(
        States,
        "states",
        [],
        [opt("sock", K::WireView)],
        Options,
        "each connection's segments, numbers and TCP states over time",
        "Every TCP segment of this shell's connections, as tcpdump and Wireshark read it: sequence and acknowledgment numbers relative to each side's first (`absolute` shows them as sent), the length, the window (scaled), a SYN's options (MSS, window scale, SACK permitted, timestamps), the states each segment moves the two ends to (the three-way handshake, the four-way close), and Wireshark's names for retransmissions, duplicate ACKs, zero windows and window updates. A reset keeps its rows, with why it came (data to a closed socket, SO_LINGER 0, a SYN to a closed port). A UDP socket shows its datagrams, and the ICMP port unreachable behind a ConnectionRefusedError. `states save FILE.pcap` writes what was captured for Wireshark (FILE.pcapng: with comments); it never follows a link, and replaces a file only if you say yes at the prompt. It captures on the loopback interface, which needs root, or `sockplay --lab` (a network of the shell's own); otherwise the states sampled after each command are shown.",
        "(tcpdump -i lo -n; ss -tan)"
    ),
    spec!(
        Diagram,
        "diagram",
        [],
        [opt("sock", K::WireView)],
        Options,
        "a connection's sequence diagram (ladder), as text or SVG",
        "A column for each end, named as in this shell, an arrow for each segment with its flags, seq, ack and length, the calls on each side that caused them (connect, accept returned, send #1, recv took #1 #2, close) and each end's state in between: the ladder textbooks draw. Without a socket, the last connection used. It fits 80 columns, in ASCII when the terminal has no UTF-8 or colour. `diagram save FILE.svg` writes it as a picture for slides (the shell asks before it replaces a file; a script never replaces one). Needs the capture (root, or `sockplay --lab`).",
        "(Wireshark: Statistics > Flow Graph)"
    ),
    spec!(
        GetHostName,
        "gethostname",
        [],
        [],
        Names,
        "this machine's host name",
        "",
        "socket.gethostname()"
    ),
    spec!(
        GetHostByName,
        "gethostbyname",
        [],
        [req("host", K::Text)],
        Names,
        "the IPv4 address of a host name",
        "",
        "socket.gethostbyname({host:'localhost'})"
    ),
    spec!(
        GetHostByNameEx,
        "gethostbyname_ex",
        [],
        [req("host", K::Text)],
        Names,
        "(name, aliases, addresses) of a host name",
        "",
        "socket.gethostbyname_ex({host:'localhost'})"
    ),
    spec!(
        GetHostByAddr,
        "gethostbyaddr",
        [],
        [req("host", K::Text)],
        Names,
        "(name, aliases, addresses) of an address",
        "A reverse lookup, in /etc/hosts or DNS.",
        "socket.gethostbyaddr({host:'127.0.0.1'})"
    ),
    spec!(
        GetAddrInfo,
        "getaddrinfo",
        [],
        [
            req("host", K::Text),
            opt("port", K::Text),
            opt("family type", K::SockSpec)
        ],
        Names,
        "every address a host and port resolve to",
        "Each with its family, type, protocol, canonical name and address.",
        "socket.getaddrinfo({host:'localhost'}, {port:80}{family}{type})"
    ),
    spec!(
        GetFqdn,
        "getfqdn",
        [],
        [opt("host", K::Text)],
        Names,
        "the fully qualified name of a host",
        "This machine by default.",
        "socket.getfqdn({host})"
    ),
    spec!(
        InetAton,
        "inet_aton",
        [],
        [req("ip", K::Text)],
        Names,
        "dotted IPv4 text to 4 packed bytes",
        "",
        "socket.inet_aton({ip:'192.168.1.2'})"
    ),
    spec!(
        InetNtoa,
        "inet_ntoa",
        [],
        [req("packed", K::Data)],
        Names,
        "4 packed bytes to dotted IPv4 text",
        "",
        "socket.inet_ntoa({packed:b'\\xc0\\xa8\\x01\\x02'})"
    ),
    spec!(
        InetPton,
        "inet_pton",
        [],
        [req("family", K::Family), req("ip", K::Text)],
        Names,
        "IPv4 or IPv6 text to packed bytes",
        "",
        "socket.inet_pton({family:AF_INET6}, {ip:'::1'})"
    ),
    spec!(
        InetNtop,
        "inet_ntop",
        [],
        [req("family", K::Family), req("packed", K::Data)],
        Names,
        "packed bytes to IPv4 or IPv6 text",
        "",
        "socket.inet_ntop({family:AF_INET6}, {packed:packed})"
    ),
    spec!(
        GetServByName,
        "getservbyname",
        [],
        [req("service", K::Text), opt("proto", K::Text)],
        Names,
        "the port of a service",
        "From /etc/services.",
        "socket.getservbyname({name:'mysql'}{proto})"
    ),
    spec!(
        GetServByPort,
        "getservbyport",
        [],
        [req("port", K::Number), opt("proto", K::Text)],
        Names,
        "the service of a port",
        "From /etc/services.",
        "socket.getservbyport({port:80}{proto})"
    ),
    spec!(
        GetNameInfo,
        "getnameinfo",
        [],
        [req("addr", K::Addr), opt("flags", K::Text)],
        Names,
        "the host and service names of an address",
        "getnameinfo 127.0.0.1 80 gives ('localhost', 'http'): the reverse of getaddrinfo, from /etc/hosts, DNS and /etc/services. Flags (joined with |): NI_NUMERICHOST, NI_NUMERICSERV (numbers, no look-up), NI_NAMEREQD (an error rather than a number), NI_NOFQDN, NI_DGRAM (the UDP service).",
        "{ret:names} = socket.getnameinfo({addr:('127.0.0.1', 80)}, {flags:0})"
    ),
    spec!(
        GetProtoByName,
        "getprotobyname",
        [],
        [req("name", K::Text)],
        Names,
        "the number of a protocol",
        "From /etc/protocols: tcp is 6, udp 17, icmp 1. The number is what socket's third argument takes (socket inet raw 1).",
        "{ret:n} = socket.getprotobyname({name:'tcp'})"
    ),
    spec!(
        Htons,
        "htons",
        [],
        [req("n", K::Number)],
        Names,
        "16-bit host to network byte order",
        "",
        "socket.htons({n:9900})"
    ),
    spec!(
        Ntohs,
        "ntohs",
        [],
        [req("n", K::Number)],
        Names,
        "16-bit network to host byte order",
        "",
        "socket.ntohs({n:n})"
    ),
    spec!(
        Htonl,
        "htonl",
        [],
        [req("n", K::Number)],
        Names,
        "32-bit host to network byte order",
        "",
        "socket.htonl({n:n})"
    ),
    spec!(
        Ntohl,
        "ntohl",
        [],
        [req("n", K::Number)],
        Names,
        "32-bit network to host byte order",
        "",
        "socket.ntohl({n:n})"
    ),
    spec!(
        Serve,
        "serve",
        [],
        [
            req("kind", K::PeerKind),
            opt("addr", K::PeerAddr),
            opt("dir", K::Text)
        ],
        Peers,
        "start a built-in peer in the background: echo, discard, daytime, chat or http (echo, discard, daytime also over udp)",
        "It listens on 127.0.0.1, port chosen by the kernel, unless an address is given (`serve echo 9000`; `* 9000` for every address; a path for a UNIX socket). Its address is the value: a = serve echo, then connect k a. echo sends back what it gets; discard drops it; daytime sends the time and closes; chat relays each line to the other clients as <userN> line; http answers GET and HEAD with the files of DIR (`serve http 127.0.0.1 0 ./www`, or `serve http ./www`), or a built-in page. `udp` after the kind serves datagrams instead (`a = serve echo udp`, then sendto u b\"hi\" a; recvfrom u): echo sends each datagram back to its sender, discard drops it, daytime answers it with the time; with a path, on a UNIX datagram socket.",
        ""
    ),
    spec!(
        Peers,
        "peers",
        [],
        [opt("log", K::PeersView), opt("n", K::Number)],
        Peers,
        "the built-in peers, or what one received (peers log N)",
        "The table: N the peer's number (stop N, peers log N); KIND; ADDRESS where it listens; STATE running, stopped, or why it ended; CONNECTED NOW the clients connected at this moment (- for UDP, which has no connections); SERVED IN ALL every connection it accepted since it started, those gone included (for UDP, the senders it heard from); BYTES-IN and BYTES-OUT in all; FILES what an http peer serves (its directory, or its built-in page). `peers log N` shows each chunk peer N read from each client, as Python's bytes repr, and its connections and closes (the last 64 KiB are kept).",
        ""
    ),
    spec!(
        Stop,
        "stop",
        [],
        [req("n", K::Number)],
        Peers,
        "stop a built-in peer (stop all stops every one)",
        "Closes its listening socket and every client connection; `peers log N` still shows what it received.",
        ""
    ),
    spec!(
        Help,
        "help",
        ["?"],
        [opt("command", K::Topic)],
        Shell,
        "list the commands, or explain one",
        "help bind; help SO_REUSEADDR explains an option.",
        ""
    ),
    spec!(
        Echo,
        "echo",
        ["print"],
        [opt("values", K::Values)],
        Shell,
        "print values",
        "Bytes are shown as b'...'.",
        "print({values:'hello', data})"
    ),
    spec!(
        Sleep,
        "sleep",
        [],
        [req("seconds", K::Number)],
        Shell,
        "pause",
        "Ctrl-C interrupts.",
        "time.sleep({seconds:1})"
    ),
    spec!(
        Quit,
        "quit",
        ["exit"],
        [opt("status", K::Number)],
        Shell,
        "close every socket and leave",
        "Ctrl-D does the same.",
        "sys.exit({status})"
    ),
    spec!(
        Set,
        "set",
        [],
        [opt("setting", K::SetKey), opt("value", K::Text)],
        Shell,
        "show or change a setting",
        "set display repr | hex | text: how received bytes are shown; set explain on | off: the explanations of the classic moments; set color auto | always | never.",
        ""
    ),
    spec!(
        Unlink,
        "unlink",
        [],
        [req("path", K::Text)],
        Calls,
        "remove a UNIX socket file",
        "What the course does before binding a path again: bind fails with EADDRINUSE while the file of an earlier run is there. Only socket files are removed; a missing file is not an error.",
        "if os.path.exists({path:path}): os.unlink({path:path})"
    ),
    spec!(
        Vars,
        "vars",
        [],
        [],
        Shell,
        "the names you have bound",
        "",
        "dir()"
    ),
    spec!(
        Select,
        "select",
        [],
        [req(
            "read s... [write s...] [except s...] [timeout]",
            K::Groups
        )],
        Jobs,
        "wait until one of several sockets is ready",
        "Python's select.select: r, w, x = select read s k write c 2.5 waits up to 2.5 s (forever without a timeout) and says why each socket is ready. Sockets are named, not numbered: a number is the timeout.",
        "{ret:r, w, x} = select.select([{read:s, k}], [{write:c}], [{except}]{timeout:, 2.5})"
    ),
    spec!(
        Poll,
        "poll",
        [],
        [req("in s... [out s...] [pri s...] [ms]", K::Groups)],
        Jobs,
        "poll several sockets for events",
        "Python's poll object in one go: poll in s k out c 2500 registers POLLIN for s and k, POLLOUT for c, and waits up to 2500 ms. Returns [(fd, events)].",
        "{tmp:p} = select.poll()\n{register:p.register(s, select.POLLIN)}\n{ret:events} = {tmp:p}.poll({timeout:2500})"
    ),
    spec!(
        Epoll,
        "epoll",
        [],
        [opt(
            "ep add|mod|del sock [in out pri rdhup et oneshot] | ep wait [timeout] | ep close",
            K::EpollOp
        )],
        Jobs,
        "epoll: a kernel list of sockets to watch, and a wait on it",
        "ep = epoll creates one (Python's select.epoll()); epoll ep add s in registers s for EPOLLIN (out, pri, rdhup; et makes it edge-triggered, oneshot disarms it after one report); epoll ep mod s out changes the events; epoll ep del s removes it; events = epoll ep wait 2.5 waits up to 2.5 s (none or nothing: forever) and returns [(fd, events)], saying why each socket is ready, as select does; epoll ep lists what it watches; epoll ep close. Unlike select and poll the kernel keeps the list between waits, so a wait costs the ready sockets, not the watched ones: c10k measures it.",
        "ep = select.epoll()\nep.register(s, select.EPOLLIN)\nevents = ep.poll(2.5)"
    ),
    spec!(
        C10k,
        "c10k",
        [],
        [opt("n", K::Number)],
        Jobs,
        "open n connections (10,000) and measure select, poll and epoll waiting on them",
        "The C10K question, measured live: n TCP connections to 127.0.0.1 (their other ends in a helper process, so that this shell holds n descriptors, not 2n), plus one socket with data waiting. select cannot take them (fd_set holds descriptors 0 to 1023: Python's ValueError: filedescriptor out of range in select()); poll and epoll wait on all of them, and each is timed, median of many calls. The soft limit on descriptors was raised to the hard one at start; when the hard limit is lower than n needs, c10k says so and measures as many as fit. Everything is closed at the end.",
        ""
    ),
    spec!(
        Jobs,
        "jobs",
        [],
        [],
        Jobs,
        "the background jobs and what they wait for",
        "A call ending in `&` runs in the background: c = accept s &. Its result is printed when it ends and its names are bound.",
        "{thread:t} = threading.Thread(target={target:job}, daemon=True)\n{thread:t}.start()"
    ),
    spec!(
        Wait,
        "wait",
        [],
        [opt("jobs", K::Jobs)],
        Jobs,
        "wait until background jobs end",
        "wait waits for all of them, wait %1 for one. Ctrl-C stops waiting (the jobs go on). In a script, wait is where a job's result is printed.",
        "{thread:t}.join()"
    ),
    spec!(
        Kill,
        "kill",
        [],
        [req("jobs", K::Jobs)],
        Jobs,
        "cancel background jobs",
        "kill %1. Closing the socket a job waits on cancels the job too.",
        ""
    ),
    spec!(
        Source,
        "source",
        [],
        [req("file", K::Text)],
        Scripts,
        "run the commands of a script file here",
        "In this shell, with its sockets and names: what the file creates stays. It stops at the first failing command or failed expect. Narration (# lines), macdef, $MACRO and expect work as in `sockplay FILE`.",
        "exec(open('file').read())"
    ),
    spec!(
        Step,
        "step",
        [],
        [req("file", K::Text)],
        Scripts,
        "run a script one command per Enter (teacher mode)",
        "Shows each step's narration and its command as if typed, then waits: Enter runs it, q then Enter leaves.",
        ""
    ),
    spec!(
        Lesson,
        "lesson",
        [],
        [opt("n", K::Number), opt("step | check", K::LessonMode)],
        Scripts,
        "list the bundled lessons, or run one",
        "lesson alone lists them; lesson 2 runs lesson 2 here at full speed; lesson 2 step waits for Enter before each command; lesson 2 check shows only what fails.",
        ""
    ),
    spec!(
        Expect,
        "expect",
        [],
        [req(
            "\"text\" | /regex/ | error [ERRNO] | state sock STATE",
            K::Expectation
        )],
        Scripts,
        "check what the previous command did",
        "expect \"text\" (in its output), expect /regex/, expect error ECONNREFUSED (it failed with that errno or exception), expect state c CLOSE_WAIT (c's state now; FIN_WAIT matches FIN_WAIT1 and FIN_WAIT2). A failed expect stops a script with status 1.",
        "assert"
    ),
    spec!(
        MacDef,
        "macdef",
        [],
        [req("name", K::MacroName)],
        Scripts,
        "define a macro: the lines up to the next empty line",
        "$name arg... runs it with $1...$9 replaced by the arguments; a macro named init runs when its file is loaded, before the first command.",
        "def name(*args): ..."
    ),
    spec!(
        Run,
        "run",
        [],
        [req("[-q|-v] program [args]...", K::Argv)],
        Jobs,
        "run a program and show each socket call it makes",
        "The program runs unchanged (a Python program: run python3 tcp_server.py, or run tcp_server.py); each socket call it makes is shown as it makes it, with its file:line and the line itself, in the shell's words: what it waits for, what it returned, the sends a recv took, errors and their hint. Without `&` it has the terminal (input() reads it, Ctrl-C goes to it, not to the shell). With `&` it is a background job: its lines are shown after its job number, `input %1 \"text\"` types a line for it, `kill %1` ends it, `sockets` lists its sockets (OWNER), `connect k %1` connects to where it listens, `states` and `diagram` show its connections (its calls drawn on its side). With a lab up, `on a run server.py &` runs it inside host a (lab down ends it). A socket passed to it (sendmsg u DATA fds c) becomes one of its own. -q: only each call and its result; -v: also sleeps, joins and a library's own polls. A program that is not Python (nc, curl) has its socket system calls traced with ptrace: socket, bind, listen, accept, connect, read/write/send/recv on a socket, shutdown, close; each shown under the program's name and the call, read(fd 3), with no source line; where ptrace is refused, only its sockets are shown, from /proc. A script or lesson runs a program only when sockplay was started with --allow-run (the bundled lessons always may). Outside the shell: sockplay watch PROGRAM (help watch).",
        "subprocess.run(['python3', 'tcp_server.py'])"
    ),
    spec!(
        Input,
        "input",
        [],
        [req("job", K::Job), opt("\"text\" | eof", K::Data)],
        Jobs,
        "type a line for a program run in the background",
        "input %1 \"hello\" writes hello and a newline to job 1's stdin: a Python program's input() returns 'hello', another program's next read of its stdin gets it. input %1 \"\" is an empty line; input %1 eof closes its stdin (its next read gets the end of its input).",
        "proc.stdin.write(b'hello\\n')"
    ),
    spec!(
        Export,
        "export",
        [],
        [req("file.py", K::Path), opt("split | force", K::FileFlags)],
        Scripts,
        "write the session so far as a Python program",
        "Each command that ran becomes its Python call (the form `help CMD` shows), with the same names; each value the shell showed is printed; a job (`&`) becomes a thread, joined where the shell took its result; a built-in peer becomes a socketserver in a thread; a call that failed is kept in try/except that prints the same error, so the program runs to its end as the session did (an error Python would not raise, and a call interrupted with Ctrl-C, are comments). `split` writes one program per end, FILE_server.py and FILE_client.py, to run together: the server first. An existing file is replaced with `force` (without it the prompt asks), a symbolic link never; a script or lesson may only create new files under the current directory. Then: python3 FILE.py.",
        ""
    ),
    spec!(
        Record,
        "record",
        [],
        [opt("file.sp | stop", K::Path), opt("force", K::FileFlags)],
        Scripts,
        "save what you type as a lesson: record FILE.sp ... record stop",
        "From now on each line is saved to FILE.sp as a lesson (docs/lessons.md): the commands as typed, a line starting with # as narration, and after each command `expect` lines for what it showed that will show again (values, errors, states; never ports the kernel picked, descriptors or times). A port the kernel picked, typed back as a number, is saved as the socket's name (connect k s), so the lesson runs again anywhere. `record stop` ends it (quit and Ctrl-D too); `record` alone says whether one is on. Check it with sockplay FILE.sp --check. An existing file is replaced with `force` (without it the prompt asks; a script never replaces one).",
        ""
    ),
    spec!(
        Lab,
        "lab",
        [],
        [opt("up HOSTS | down | net [HOST] FAULTS", K::Lab)],
        Lab,
        "hosts on a network of their own, whose links lose, delay and reorder packets",
        "lab up a b [c ...] makes one host per name, each a network namespace with its own address (10.99.0.1, 10.99.0.2, ... in order) on a link to a switch; the names resolve in sockplay (connect k b 9000, gethostbyname b). `on HOST` runs a statement there. lab alone shows the hosts, addresses, links, faults and what each link did. lab net [HOST] loss N% delay Dms [jitter Jms] reorder N% duplicate N% rate R sets faults on what HOST sends (every host's without HOST), as tc-netem does on a host's eth0; settings not named stay; lab net [HOST] clear removes them. Rates as tc writes them: 1mbit, 64kbit (bps, kbps, mbps are bytes per second). lab down closes the lab's sockets and peers and removes everything; quit, the end of a script, Ctrl-D and a signal do too. Works as root, or inside a user namespace (sockplay --lab, unshare -Urn).",
        "(ip netns; ip link add ... type veth; tc qdisc add dev eth0 root netem loss 30%)"
    ),
    spec!(
        On,
        "on",
        [],
        [req("host", K::Host), req("statement", K::Statement)],
        Lab,
        "run one statement inside a lab host",
        "on b s = socket tcp makes s on host b: it stays there, and later calls on it need no `on` (bind s b 9000, listen s). Sockets made without `on` are sockplay's own, on this machine's network, which does not reach the lab. `sockets` shows each socket's HOST while a lab is up. on b gethostname answers b.",
        ""
    ),
    spec!(
        Clear,
        "clear",
        ["cls"],
        [],
        Shell,
        "clear the screen (Ctrl-L too)",
        "On a terminal only: in a script or a pipe it writes nothing. The sockets, names and peers stay; `reset` starts again.",
        ""
    ),
    spec!(
        Reset,
        "reset",
        [],
        [],
        Shell,
        "start again: close every socket, stop every peer, forget every name",
        "Cancels the background jobs (a program run with run ... & is ended, its processes too), closes every socket (the next one is fd 3 again), stops the built-in peers (numbered from 1 again), and forgets the names you bound and the connections states and diagram showed; says what it did. The settings, macros, history, the traffic log (log FILE) and a lab's hosts stay, and the shell does not leave. A port bound before can be bound again at once if SO_REUSEADDR was set on the new socket before bind (connections the old one closed first may be in TIME_WAIT).",
        ""
    ),
];

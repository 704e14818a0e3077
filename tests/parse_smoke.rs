use sockplay::syntax::parse_line;

#[test]
fn smoke() {
    for l in [
        "s = socket inet stream",
        "s = socket tcp",
        "socket",
        "bind s 0.0.0.0 9900",
        "bind s 0.0.0.0:9900",
        "bind s [::1]:9900",
        "bind s * 9900",
        "bind x ./app.sock",
        "bind x @name",
        "listen s 5",
        "c = accept s",
        "c, addr = accept s",
        "connect c 127.0.0.1 9900",
        "connect c s",
        "send c \"hello\\r\\n\"",
        "data = recv c 1024",
        "recv c peek",
        "recv c 64 hex",
        "sendto u \"hi\" 127.0.0.1 9999",
        "data, addr = recvfrom u 1024",
        "sendto u data addr",
        "close c ; shutdown c write",
        "setsockopt s SO_REUSEADDR 1",
        "setsockopt s SOL_SOCKET SO_REUSEADDR 1",
        "getsockopt s SO_RCVBUF",
        "getsockname s ; getpeername c ; fileno s",
        "setblocking s false ; settimeout s 2.5 ; settimeout s none",
        "sockets", "ls", "=",
        "gethostname ; gethostbyname localhost ; gethostbyaddr 127.0.0.1",
        "inet_aton 192.168.1.2 ; inet_ntoa b\"\\xc0\\xa8\\x01\\x02\" ; getservbyname mysql",
        "help ; help bind ; quit",
        "send c \"ab\" * 1000",
        "send c a + b",
        "c = accept s &",
        "x = \"ab\" * 3",
        "x",
        "send 5 x\"de ad\"",
    ] {
        match parse_line(l) {
            Ok(v) => println!("{l}\n  {v:?}"),
            Err(e) => panic!("{l}: {e} at {:?}", e.span),
        }
    }
    for l in ["bnid s 1", "bind 9900 s", "shutdown c wrte", "send c \"abc", "bind s", "listen s 5 6", "send = 3"] {
        match parse_line(l) {
            Ok(v) => panic!("{l} parsed: {v:?}"),
            Err(e) => println!("{l}: {e} [{}..{}]", e.span.start, e.span.end),
        }
    }
}

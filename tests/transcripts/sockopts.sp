# Socket options, in the short form (setsockopt s SO_REUSEADDR 1) and in
# Python's form with the level (s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)),
# and the socket object's attributes, as in the course's sock_attr.py.
s = socket tcp
getsockopt s SO_REUSEADDR
setsockopt s SOL_SOCKET SO_REUSEADDR 1
getsockopt s SOL_SOCKET SO_REUSEADDR
setsockopt s SO_REUSEPORT 1
getsockopt s SOL_SOCKET SO_REUSEPORT
# buffer sizes: the kernel keeps twice what you ask
setsockopt s SO_RCVBUF 8192
getsockopt s SO_RCVBUF
setsockopt s SOL_SOCKET SO_SNDBUF 16384
getsockopt s SOL_SOCKET SO_SNDBUF
setsockopt s SO_KEEPALIVE 1
getsockopt s SO_KEEPALIVE
getsockopt s SO_LINGER
setsockopt s SOL_SOCKET SO_LINGER 1 5
getsockopt s SOL_SOCKET SO_LINGER
setsockopt s SO_LINGER 1 0
getsockopt s SO_LINGER
getsockopt s SOL_SOCKET SO_ERROR
getsockopt s SO_TYPE
getsockopt s SO_RCVTIMEO
setsockopt s SO_RCVTIMEO 2.5
getsockopt s SOL_SOCKET SO_RCVTIMEO
setsockopt s SOL_SOCKET SO_SNDTIMEO 0.5
getsockopt s SO_SNDTIMEO
getsockopt s TCP_NODELAY
setsockopt s IPPROTO_TCP TCP_NODELAY 1
getsockopt s IPPROTO_TCP TCP_NODELAY
setsockopt s IP_TTL 32
getsockopt s IPPROTO_IP IP_TTL
u = socket udp
getsockopt u SOL_SOCKET SO_BROADCAST
setsockopt u SO_BROADCAST 1
getsockopt u SO_BROADCAST
getsockopt u SO_TYPE
s6 = socket tcp6
setsockopt s6 IPPROTO_IPV6 IPV6_V6ONLY 1
getsockopt s6 IPV6_V6ONLY
# the socket object: s.family, s.type, s.fileno(), s.getsockname()
family s
type s
fileno s
getsockname s
family s6
type u
getsockname u
bind s 127.0.0.1 0
getsockname s
listen s
k = socket tcp
connect k s
c, addr = accept s
getpeername c
getpeername k
# timeouts: settimeout(t), setblocking(False) == settimeout(0.0)
settimeout k 2.5
gettimeout k
setblocking k false
gettimeout k
settimeout k 0.2
gettimeout k
settimeout k none
setblocking k true
# a misspelt option
setsockopt s SO_REUSEADR 1

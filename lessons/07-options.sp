# Lesson 7: Socket options, and SO_REUSEADDR after TIME_WAIT
# The course's "socket object" section: s.family, s.type, s.fileno(),
# s.getsockname(), s.getpeername(), and setsockopt/getsockopt.
#
s = socket tcp
family s
expect "AF_INET"
type s
expect "SOCK_STREAM"
# fileno(): the number the OS gives this I/O (文件描述符). 0, 1 and 2 are
# stdin, stdout and stderr, so sockets get 3 and up.
fileno s
# setsockopt(level, option, value) changes how the socket behaves. Set
# options right after socket(), before bind. SO_REUSEADDR is the one every
# server in the course sets ("端口立即释放"):
setsockopt s SOL_SOCKET SO_REUSEADDR 1
getsockopt s SOL_SOCKET SO_REUSEADDR
expect "-> 1"
bind s 127.0.0.1 0
getsockname s
expect "('127.0.0.1', "
# Keep the address in a variable: the server will restart on it.
a = getsockname s
listen s 5
k = socket tcp
connect k s
c, addr = accept s
# getpeername(): the address at the other end: the client's.
getpeername c
expect "('127.0.0.1', "
# Other options: the receive buffer's size (the kernel doubles what you
# set, for its own bookkeeping) and TCP_NODELAY (level IPPROTO_TCP: send
# small writes at once).
setsockopt c SO_RCVBUF 65536
getsockopt c SO_RCVBUF
expect "131072"
setsockopt c IPPROTO_TCP TCP_NODELAY 1
getsockopt c TCP_NODELAY
expect "-> 1"
# Now the server closes the connection first (active close), then the
# client, and the server stops. The server's side goes to TIME_WAIT:
# the kernel keeps it about 60 s, so late packets cannot confuse a new
# connection. Meanwhile the port counts as in use.
close c
close k
expect state c TIME_WAIT
close s
sockets
expect "TIME_WAIT"
# The server restarts at once on the same address, WITHOUT SO_REUSEADDR:
s = socket tcp
bind s a
expect error EADDRINUSE
close s
# With SO_REUSEADDR set before bind, as the course's servers do, the
# restart binds despite TIME_WAIT.
s = socket tcp
setsockopt s SOL_SOCKET SO_REUSEADDR 1
bind s a
expect "bound s to 127.0.0.1:"
listen s 5
expect state s LISTEN
close s

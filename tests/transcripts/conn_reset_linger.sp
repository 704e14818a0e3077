# flags: --keep-going
# SO_LINGER on with 0 seconds: close aborts the connection with RST
# (Python: c.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack('ii', 1, 0))).
s = socket tcp
bind s 127.0.0.1 0
listen s 5
k = socket tcp
connect k s
c, addr = accept s
n = send c b"last words"
setsockopt c SO_LINGER 1 0
close c
# data that arrived before the RST can still be read
data = recv k 1024
n = send k b"hello?"
# no TIME_WAIT: the table has no row for c, whose close was a RST; k is CLOSED (reset): dead
sockets
# the reset was reported once: from now on k reads end of stream
recv k

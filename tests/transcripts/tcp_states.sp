# TCP states in the socket table: LISTEN, ESTABLISHED, and after the
# client closes, CLOSE_WAIT on the server's side of the connection.
s = socket tcp
bind s 127.0.0.1 0
sockets
listen s 5
k = socket tcp
connect k s
# the three-way handshake is done: the connection waits in s's accept queue
sockets
c, addr = accept s
sockets
info c
close k
# k is closed, so it has left the table; c has received k's FIN
sockets
info c
data = recv c 1024
close c
sockets
# half-close: shutdown k write sends FIN, but k can still receive
k = socket tcp
connect k s
c, addr = accept s
send k b"request"
shutdown k write
data = recv c 1024
data = recv c 1024
n = send c b"reply"
data = recv k 1024
sockets
close c
close k
close s

# flags: --keep-going (the script goes on after an error)
# A connection's life in the socket table: the close of one side, then
# the other, and a half-close (shutdown write).
s = socket tcp
bind s 127.0.0.1 0
listen s 5
k = socket tcp
connect k s
c = accept s
send k b"hello"
recv c
# k closes first: its FIN puts c in CLOSE_WAIT; k's row stays, closed by you
close k
sockets
recv c
# c closes too: the four-way close is done, k waits in TIME_WAIT
close c
sockets
# half-close: k stops sending but can still receive
k = socket tcp
connect k s
c = accept s
send k b"question"
shutdown k write
sockets
data = recv c
data = recv c
send c b"answer"
data = recv k
send k b"more?"
close c
data = recv k
close k
close s

# The course's first TCP server and client (tcp_server.py / tcp_client.py),
# both ends in one shell.
s = socket inet stream
setsockopt s SOL_SOCKET SO_REUSEADDR 1
bind s 127.0.0.1 0
listen s 5
k = socket tcp
connect k s
c, addr = accept s
n = send k "hello"
data = recv c 1024
n = send c b"Receive your message"
recv k 1024
send k b"##"
recv c 1024
close c
close k
close s
sockets

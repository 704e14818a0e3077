# Closing a socket that still has unread data sends RST instead of FIN:
# the peer's next recv raises ConnectionResetError instead of returning b''.
s = socket tcp
bind s 127.0.0.1 0
listen s 5
k = socket tcp
connect k s
c, addr = accept s
send k b"never read"
close c
data = recv k 1024

# Local (AF_UNIX) stream sockets, as in the course's unix_server.py /
# unix_client.py: the address is a file path instead of (host, port).
x = socket unix
bind x ./app.sock
listen x 5
getsockname x
k = socket unix stream
connect k ./app.sock
c, addr = accept x
getpeername k
send k "hello"
data = recv c 1024
sendall c b"Receive your message"
data = recv k 1024
close k
# the client is gone: recv returns b'' (the course's `if not data: break`)
data = recv c 1024
close c
close x
# Linux abstract namespace: @name, no file on disk
a = socket unix
bind a @sockplay-unix-stream-test
getsockname a
listen a
b = socket unix
connect b @sockplay-unix-stream-test
c, addr = accept a
send b b"hi"
recv c
sockets
close b
close c
close a
# ./app.sock is still on disk, so binding it again fails
# (the course removes it first: if os.path.exists(f): os.unlink(f))
y = socket unix
bind y ./app.sock

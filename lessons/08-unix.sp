# Lesson 8: AF_UNIX stream sockets (本地套接字)
# A UNIX socket connects two programs on the same machine. Its address is
# a file path instead of (host, port); no network is involved.
# A socket file left by an earlier run would make bind fail
# (EADDRINUSE): like the course's os.unlink(path), remove it first.
unlink ./lesson8.sock
s = socket unix
expect "AF_UNIX SOCK_STREAM"
# bind creates the socket file ./lesson8.sock in the current directory.
bind s ./lesson8.sock
expect "created the socket file"
listen s 5
expect state s listening
# The client connects to the same path.
k = socket unix
connect k ./lesson8.sock
expect state k connected
c, addr = accept s
# The client never bound a path, so its address is empty: ''.
expect "addr = ''"
sockets
# From here it is a stream socket like TCP: send, recv, b'' at the end.
send k b"hello over a UNIX socket"
data = recv c 1024
expect "b'hello over a UNIX socket'"
send k b"one"
send k b"two"
# Stream sockets keep no boundaries here either (粘包):
data = recv c 1024
expect "b'onetwo'"
close k
data = recv c 1024
expect "data = b''"
close c
close s
# The file stays after close: a server removes it before binding again
# (os.unlink), or its next bind fails with EADDRINUSE.
s = socket unix
bind s ./lesson8.sock
expect error EADDRINUSE
close s
# A server removes its file when it stops, too: nothing is left behind.
unlink ./lesson8.sock
expect "removed the socket file ./lesson8.sock"

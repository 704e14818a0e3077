# Lesson 2: A TCP server and client, step by step
# The course's tcp_server.py and tcp_client.py, one call at a time, in one
# terminal: s is the server's listening socket (sockfd), k the client, and
# c the server's socket for that one client (connfd).
#
# Server, step 1: socket(). AF_INET + SOCK_STREAM is TCP (流式套接字).
s = socket tcp
expect "SOCK_STREAM"
# Step 2: bind() gives the server its address. Port 0 lets the kernel pick
# a free port, so this lesson never collides with another program.
bind s 127.0.0.1 0
expect "chosen by the kernel"
# Step 3: listen() makes s a listening socket, with a queue of 5 (监听队列).
listen s 5
expect state s LISTEN
# Step 4: accept() waits for a client (a blocking call, 阻塞函数).
# `&` runs it in the background, so that this terminal can be the client too.
c, addr = accept s &
expect "waits for a client"
# The client: a socket of the same type, then connect() to the server's
# address (`connect k s` means: the address s is bound to).
k = socket tcp
connect k s
expect state k ESTABLISHED
# `wait` shows what the background accept returned: a NEW socket c for
# this client, and the client's address. s goes on listening.
wait
expect "accepted a connection"
expect state c ESTABLISHED
expect state s LISTEN
sockets
# The client sends. send() returns how many bytes the kernel took.
send k b"hello"
expect "sent 5 bytes"
# The server receives: recv(1024) returns at most 1024 bytes.
data = recv c 1024
expect "data = b'hello'"
# The server answers, as tcp_server.py does: n = connfd.send(...)
n = send c b"Receive your message"
expect "n = 20"
data = recv k 1024
expect "b'Receive your message'"
# When nothing has been sent, recv waits (it blocks): here in the background.
data = recv c 1024 &
expect "waits for data"
# The client's "##" is the course's sign to stop; it wakes the server's recv.
send k b"##"
wait
expect "data = b'##'"
# Closing: the client closes its socket (the program ends).
close k
expect state c CLOSE_WAIT
# The server's recv now returns b'' at once: the client has left.
recv c 1024
expect "b''"
# The server closes c, then (when it stops) the listening socket s.
close c
close s
# Both programs are done: socket, bind, listen, accept, recv/send, close on
# the server; socket, connect, send/recv, close on the client.

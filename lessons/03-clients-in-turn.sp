# Lesson 3: A server that serves several clients in turn
# The course's server with two loops: the outer loop accepts a client, the
# inner loop receives from it until recv returns b'' (the client left),
# then the server closes that connection and accepts the next client.
#     while True:
#         connfd, addr = sockfd.accept()
#         while True:
#             data = connfd.recv(1024)
#             if not data: break
#             connfd.send(b"Receive your message")
#         connfd.close()
#
macdef client
$1 = socket tcp
connect $1 s

# The server: socket, bind, listen.
s = socket tcp
bind s 127.0.0.1 0
listen s 5
expect state s LISTEN
# Two clients connect, one after the other, before the server accepts
# ($client NAME: a socket, then connect).
# The kernel completes both handshakes by itself: both connections wait
# in s's accept queue (2 of 5).
$client k1
$client k2
sockets
expect "2/5"
# The second client can even send already: its bytes wait in the kernel
# until the server gets to it.
send k2 b"I am the second client"
expect "sent 22 bytes"
# Outer loop, first turn: accept takes the oldest connection: k1's.
c, addr = accept s
expect "accepted a connection"
getpeername c
# Inner loop: recv, answer, again.
send k1 b"hello from k1"
data = recv c 1024
expect "b'hello from k1'"
send c b"Receive your message"
recv k1 1024
expect "b'Receive your message'"
# k1 leaves. The server's recv returns b'': `if not data: break`.
close k1
data = recv c 1024
expect "data = b''"
# End of the inner loop: close this client's socket.
close c
# Outer loop, second turn: k2 has been waiting in the accept queue.
c, addr = accept s
expect "already waiting in the accept queue"
# Its bytes were kept for it.
data = recv c 1024
expect "b'I am the second client'"
send c b"Receive your message"
recv k2 1024
expect "b'Receive your message'"
close k2
data = recv c 1024
expect "data = b''"
close c
# The next accept would wait: the queue is empty. A server that serves
# one client at a time makes the others wait; lesson 12 (chat) serves
# several clients at the same time with select.
sockets
expect "0/5"
close s

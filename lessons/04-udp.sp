# Lesson 4: A UDP server and client, and datagram truncation
# UDP (数据报套接字, SOCK_DGRAM) has no connection: no listen, no accept.
# Each sendto() is one datagram (数据报), with the address it goes to;
# each recvfrom() returns one datagram and the address it came from.
#
# The server: socket and bind, as in the course's udp_server.py.
u = socket udp
expect "SOCK_DGRAM"
bind u 127.0.0.1 0
# The client needs no bind: its first sendto gives it a port.
k = socket udp
sendto k b"hello" u
expect "sent 5 bytes"
# The server learns the client's address from recvfrom...
data, addr = recvfrom u 1024
expect "data = b'hello'"
# ...and answers to that address.
sendto u b"got your message" addr
data, addr = recvfrom k 1024
expect "b'got your message'"
# Datagrams keep their boundaries: two sendto, two recvfrom.
# (TCP would run them together: lesson 5.)
sendto k b"one" u
sendto k b"two" u
data, addr = recvfrom u 1024
expect "data = b'one'"
data, addr = recvfrom u 1024
expect "data = b'two'"
# The course's server receives with recvfrom(5). A datagram longer than the
# buffer is cut, and the rest is lost: the next recvfrom does not get it.
sendto k b"hello, server!" u
data, addr = recvfrom u 5
expect "data = b'hello'"
expect "9 bytes lost"
# Nothing is left of it: the queue is empty.
sockets
expect state u bound
# A UDP socket may connect(): that only fixes its peer, so that send and
# recv work without an address. No packet is sent.
connect k u
send k b"via connect"
recv u 1024
expect "b'via connect'"
close k
close u

# The course's UDP server and client (udp_server.py / udp_client.py):
# no listen, no accept; every recvfrom takes one whole datagram and says
# who sent it, and the server answers with sendto to that address.
u = socket inet dgram
bind u 127.0.0.1 0
a = getsockname u
k = socket udp
n = sendto k "hello" a
data, addr = recvfrom u 1024
# the course replies '收到你的消息'.encode(): 6 characters, 18 bytes of UTF-8
n = sendto u "收到你的消息" addr
data, addr = recvfrom k 1024
# the client never called bind: its first sendto bound it to a port the kernel chose
getsockname k
# message boundaries: two sendto are two datagrams, read by two recvfrom
sendto k b"one" a
sendto k b"two" a
data, addr = recvfrom u 1024
data, addr = recvfrom u 1024
# the course's server reads with recvfrom(5): a longer datagram is cut,
# and the rest of it is lost (the next recvfrom gets the next datagram)
sendto k b"hello world" a
sendto k b"next" a
data, addr = recvfrom u 5
data, addr = recvfrom u 5
close k
close u

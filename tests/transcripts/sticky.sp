# Sticky packets (粘包): TCP keeps no message boundaries. Two sends can
# arrive as one recv, and one send can be read by several recvs.
s = socket tcp
bind s 127.0.0.1 0
listen s 5
k = socket tcp
connect k s
c = accept s
send k b"hello"
send k b" world"
data = recv c 1024
# one send read in two recvs
send k "abcdefghijkl"
recv c 4
recv c
# remedy 1: a 4-byte length before each message (struct.pack('!I', n))
sendmsg k b"hello"
sendmsg k b"world"
recvmsg c
recvmsg c
# remedy 2: a marker after each message; the next one stays queued
sendmsg k b"GET / HTTP/1.0" marker b"\r\n"
sendmsg k b"Host: example" marker b"\r\n"
recvmsg c marker b"\r\n"
recvmsg c marker b"\r\n"
# the frame is plain bytes on the wire: a plain recv sees the length
sendmsg k b"abc"
recv c

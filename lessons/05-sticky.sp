# Lesson 5: Sticky packets (粘包) and the course's three remedies
# TCP is a byte stream: it keeps the order of the bytes, not the
# boundaries between sends. Two quick sends can arrive as one recv.
#
s = socket tcp
bind s 127.0.0.1 0
listen s 5
k = socket tcp
connect k s
c, addr = accept s
expect state c ESTABLISHED
# The client sends two messages, one right after the other...
send k b"hello"
send k b"world"
# ...and the server's one recv gets both, stuck together: 粘包.
# (sockplay colours each send's part: `b'hello' + b'world'`.)
data = recv c 1024
expect "b'hello' + b'world'"
expect "(10 bytes)"
# If each message means something alone, the receiver must find the
# boundaries itself. The course gives three remedies.
#
# Remedy 1: an end marker (结尾标志) after each message. The receiver reads
# up to the marker. sendmsg/recvmsg ... marker M do that here
# (sendall(data + b'#'), then recv until b'#').
sendmsg k b"hello" marker b"#"
sendmsg k b"world" marker b"#"
# On the wire, the messages and their markers:
recv c 1024 peek
expect /b'hello#' \+ b'world#'/
recvmsg c marker b"#"
expect "b'hello'"
recvmsg c marker b"#"
expect "b'world'"
# The marker must never occur inside a message.
#
# Remedy 2: a structure (数据结构体) with the length first: 4 bytes,
# big-endian (struct.pack('!I', len(data))), then the data. The receiver
# reads 4 bytes, then exactly that many.
sendmsg k b"hello" framed
sendmsg k b"world" framed
# On the wire: a length, then the bytes, twice: 00 00 00 05 hello ...
recv c 1024 peek
expect r"b'\x00\x00\x00\x05hello"
recvmsg c framed
expect "b'hello'"
recvmsg c framed
expect "b'world'"
# Remedy 3: a pause between sends (延迟), so that the receiver takes each
# message before the next arrives. The server waits in recv (background);
# the client sends, pauses, sends again.
data = recv c 1024 &
send k b"hello"
sleep 0.2
wait
expect "data = b'hello'"
data = recv c 1024 &
send k b"world"
sleep 0.2
wait
expect "data = b'world'"
# It works only while the receiver keeps up, and it slows every message:
# the marker or the length is the reliable remedy.
close k
close c
close s

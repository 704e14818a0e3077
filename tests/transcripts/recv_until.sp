# flags: --keep-going
# Receives that stop where a protocol stops (pwntools' names): what is read
# past the delimiter is held for the next receive, and sockets shows it.
s = socket tcp
bind s 127.0.0.1 0
listen s
k = socket tcp
connect k s
c = accept s
send k b"GET / HTTP/1.0\r\nHost: x\r\n"
send k b"\r\nBODY"
line = recvline c
headers = recvuntil c b"\r\n\r\n" drop
sockets
# a recv takes the held bytes first (and the kernel's after them)
send k b"MORE"
recv c
# exactly n bytes, across two sends
send k b"abc"
send k b"defgh"
recvn c 5
# one budget for the whole call: the 3 bytes that came are held, not lost
settimeout c 0.2
recvline c
sockets
# a peek sees them too (they came before a failed call, no delimiter)
recv c 3 peek
send k b"\n"
recvline c drop
# the peer closes before the delimiter: EOFError, the bytes are held
send k b"tail"
shutdown k write
recvuntil c b"END"
recvall c
recvline c

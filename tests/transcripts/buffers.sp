# flags: --keep-going (the script goes on after an error)
# A peer that does not read: the receive buffer fills, then the send
# buffer, and a non-blocking send takes only what fits. How much fits is
# the kernel's choice, so the counts are not part of the transcript.
s = socket tcp
bind s 127.0.0.1 0
# the accepted socket inherits the listener's receive buffer
setsockopt s SO_RCVBUF 4096
listen s 5
k = socket tcp
setsockopt k SO_SNDBUF 4096
connect k s
c = accept s
getsockopt c SO_RCVBUF
setblocking k false
send k b"a" * 1000000
# a blocking send waits for space; with a timeout it gives up
settimeout k 0.5
sendall k b"a" * 1000000
# now both buffers are full: a non-blocking send fails at once
setblocking k false
send k b"x"
info k
sockets
# the peer reads: space again
data = recv c 1000000
select write k 2
send k b"x"

# A load generator: zeros made as they are sent, read and dropped by a
# receiver in the background; both ends in one shell. Sizes are binary.
s = socket tcp
bind s 127.0.0.1 0
listen s
k = socket tcp
connect k s
c, addr = accept s
r = recv c discard &
send k zeros 64M
sendall k zeros 1.5M
send k b"end"
close k
wait
r
# A limit: the rest stays queued for the next call.
k = socket tcp
connect k s
c2, addr = accept s
send k zeros 10K
n = recv c2 discard 4K
shutdown k write
n = recv c2 discard
close c2

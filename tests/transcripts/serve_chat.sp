# chat relays each line to the other clients, tagged with its sender (like
# ncat --chat). Both sockets are created first, so their fds do not depend
# on when the peer accepts.
a = serve chat
k1 = socket tcp
k2 = socket tcp
connect k1 a
recv k1
connect k2 a
recv k2
recv k1
send k1 b"hello\n"
recv k2
send k2 b"hi user1\n"
recv k1
close k2
recv k1
peers
peers log 1
stop 1
recv k1
close k1

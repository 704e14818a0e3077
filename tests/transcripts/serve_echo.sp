# The built-in echo peer: one terminal is enough to play the client.
a = serve echo
k = socket tcp
connect k a
send k b"hello, echo\n"
recv k
peers
close k
peers log 1
stop 1
peers
# A peer on a UNIX socket path: the file goes away with the peer.
e = serve echo ./echo.sock
u = socket unix
connect u e
sendall u b"over AF_UNIX"
recv u
stop 2
close u

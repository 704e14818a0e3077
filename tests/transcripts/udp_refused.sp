# UDP has no connection, but a connected UDP socket learns that nothing
# listens: the kernel's ICMP "port unreachable" for an earlier datagram
# makes the next call raise ConnectionRefusedError.
p = socket udp
bind p 127.0.0.1 0
a = getsockname p
close p
k = socket udp
connect k a
settimeout k 1
n = send k b"anyone?"
data = recv k 1024

# flags: --keep-going (the last line's error shows)
# echo, discard and daytime over UDP: each datagram is answered on its own,
# to the address it came from.
a = serve echo udp
u = socket udp
sendto u b"hello" a
recvfrom u
v = socket udp
sendto v b"from v" a
recvfrom v
b = serve daytime udp
sendto u b"" b
recvfrom u
c = serve discard udp
sendto u b"x" * 100 c
peers
peers log 1
stop 1
peers log 3
serve chat udp

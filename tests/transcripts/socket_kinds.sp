# flags: --keep-going
# The kinds of socket beyond TCP and UDP, and Python's names for flags.
k = socket inet6 tcp
type k
# SOCK_SEQPACKET: connected like TCP, each message kept whole like UDP
u = socket unix seqpacket
bind u ./seq.sock
listen u
a = socket unix seqpacket
connect a ./seq.sock
b = accept u
send a b"one"
send a b"two"
recv b
recv b 2
# a raw socket needs its protocol
r = socket inet raw
# Python's flag names, joined with |
send a b"peek me" MSG_DONTWAIT|MSG_NOSIGNAL
recv b 1024 MSG_PEEK | MSG_DONTWAIT
recv b MSG_DONTWAIT
recv b MSG_DONTWAIT
# multicast options belong to UDP sockets
t = socket tcp
setsockopt t IP_MULTICAST_TTL 2
sockets

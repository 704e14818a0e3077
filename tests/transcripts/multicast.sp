# flags: --keep-going (the script goes on after the refused broadcast)
# Broadcast and multicast on loopback, and `.` for the last socket used.
r = socket udp
setsockopt r SO_REUSEADDR 1
bind r 0.0.0.0 0
p = getsockname r
# multicast: r joins a group on the loopback interface
join r 224.1.1.1 127.0.0.1
u = socket udp
setsockopt u IP_MULTICAST_IF 127.0.0.1
getsockopt u IP_MULTICAST_IF
sendto u b"hi group" 224.1.1.1 p
data, addr = recvfrom r
leave r 224.1.1.1 127.0.0.1
# broadcast needs SO_BROADCAST on the sender
b = socket udp
sendto b b"hi all" 127.255.255.255 p
setsockopt b SO_BROADCAST 1
sendto b b"hi all" 127.255.255.255 p
data, addr = recvfrom r
# `.` is the socket the last command used (here r)
getsockname .
close .
sockets

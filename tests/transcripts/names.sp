# Host names, addresses, services and byte order, as in the course's
# ipython session (socket.gethostname(), socket.inet_aton(...), ...).
gethostname
gethostbyname localhost
gethostbyname_ex localhost
gethostbyaddr 127.0.0.1
getaddrinfo localhost 80 stream
getaddrinfo localhost 80 inet stream
getfqdn
# dotted text <-> packed bytes
inet_aton 192.168.1.2
inet_ntoa b"\xc0\xa8\x01\x02"
p = inet_pton inet6 ::1
inet_ntop inet6 p
inet_pton inet 127.0.0.1
# services from /etc/services
getservbyname mysql
getservbyname http
getservbyname ssh tcp
getservbyport 22
getservbyport 80 tcp
# network byte order is big-endian; this machine is little-endian
htons 1
ntohs 256
htons 80
htonl 1
ntohl 16777216
# every part of a dotted address is 0..255
inet_aton 300.1.1.1

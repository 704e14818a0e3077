# Lesson 1: Host names, addresses, ports and byte order
# Before any socket: how a program names a computer, and a program on it.
# Each command is a function of Python's socket module:
# gethostname is socket.gethostname(), and so on.
#
# gethostname(): this computer's name (计算机名). Yours is different.
gethostname
# gethostbyname(): the IPv4 address of a name. 'localhost' is this
# machine itself, for tests on one computer (本地测试).
gethostbyname localhost
expect "'127.0.0.1'"
# gethostbyaddr(): the way back: (name, aliases, addresses).
gethostbyaddr 127.0.0.1
expect "['127.0.0.1']"
# An IPv4 address is 32 bits, written as four numbers 0..255
# (点分十进制). inet_aton() packs the text into those 4 bytes:
# 192 = 0xc0, 168 = 0xa8, then 1 and 2.
inet_aton 192.168.1.2
expect r"b'\xc0\xa8\x01\x02'"
# inet_ntoa() turns 4 bytes back into dotted text.
inet_ntoa b"\xc0\xa8\x01\x02"
expect "'192.168.1.2'"
# 300 does not fit in a byte: that is not an IPv4 address.
inet_aton 300.1.1.1
expect error OSError
# A port (端口号, 1..65535) tells apart the programs of one host.
# Well-known services have fixed ports: getservbyname() looks them up
# in /etc/services.
getservbyname mysql
expect "3306"
getservbyname http
expect "-> 80"
# A socket address is a (host, port) pair: ('127.0.0.1', 9900) in Python.
# Port 0 asks the kernel for any free port; getsockname() tells which.
s = socket tcp
bind s 127.0.0.1 0
expect "chosen by the kernel"
getsockname s
expect "('127.0.0.1', "
close s
# Network byte order (网络字节序) is big-endian: the most significant
# byte first. This PC (x86) is little-endian, so htons() ("host to
# network short") swaps the 2 bytes of a port: 1 goes on the wire as
# 00 01, which read in this PC's order is 256.
htons 1
expect "-> 256"
ntohs 256
expect "-> 1"
# htonl() does the same with 4 bytes (an IPv4 address):
# 1 -> 00 00 00 01 -> 16777216.
htonl 1
expect "16777216"
# Python's socket calls convert for you: bind(('127.0.0.1', 9900))
# needs no htons.

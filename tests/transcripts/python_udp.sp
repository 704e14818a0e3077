# The course's UDP server and client (sock / s), as Python lines.
import socket
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(('127.0.0.1', 0))
ADDR = sock.getsockname()
s = socket.socket(type=socket.SOCK_DGRAM)
s.sendto(b'Michael', ADDR)
data, addr = sock.recvfrom(1024)
sock.sendto(b'Hello, ' + data + b'!', addr)
print(s.recv(1024).decode('utf-8'))
s.sendto(b'a longer datagram', ADDR)
sock.recvfrom(4)
s.close()
sock.close()

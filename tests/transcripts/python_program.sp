# flags: --keep-going (every line shows what it does)
# The course's programs, pasted line by line: what only a whole program
# does gets one message; print() prints what python3 prints.
from socket import *
import os
sock_file = './prog.sock'
if os.path.exists(sock_file): os.unlink(sock_file)
sockfd = socket(AF_UNIX, SOCK_STREAM)
sockfd.bind(sock_file)
sockfd.listen(5)
c = socket(AF_UNIX, SOCK_STREAM)
c.connect(sock_file)
connfd, addr = sockfd.accept()
c.send('你好\n'.encode())
print(connfd.recv(1024).decode())
print(sockfd.family, sockfd.type)
print("Connect from", addr)
data = b'##'
if not data: break
data += b'x'
if data == b'##':
info = data.decode().split(' ')[1]
info = 'the name of a command is a variable'
print(info)
users = {}
msg = ','.join(['a', 'b'])
os.path.exists(sock_file)
x = b'abc\xe4\xbd'.decode()
sockfd.close()
if os.path.exists(sock_file): os.unlink(sock_file)

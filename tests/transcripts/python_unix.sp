# The course's AF_UNIX server and client, as Python lines.
from socket import *
import os
sock_file = './sock'
sockfd = socket(AF_UNIX,SOCK_STREAM)
sockfd.bind(sock_file)
sockfd.listen(5)
k = socket(AF_UNIX,SOCK_STREAM)
k.connect(sock_file)
c,addr = sockfd.accept()
k.send('hi'.encode())
data = c.recv(1024)
print(data.decode())
c.close(); k.close(); sockfd.close()
os.unlink(sock_file)

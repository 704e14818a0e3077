# flags: --keep-going (every error shows)
# What the Python surface does not take: each error points at its token
# and says what to write instead.
import threading
sk = socket.socket()
sk.bnid(('127.0.0.1', 0))
sk.bind()
sk.listen(5, 6)
s2 = socket.socket(socket.AF_INTE, socket.SOCK_STREAM)
sk.send(b'Hello, %s!' % name)
msg = input("Msg>>")
while True:
sk.recv(1024)[0]
t = threading.Thread(target=handle)
sk.send(dat=b'x')
sk.connect(('127.0.0.1', 9)
data = b'\xff\xfe'
data.decode()
d = sk.accept()
sk.setsockopt(1, 2, 1)
socket.setdefaulttimeout(2)
b'\xff'.decode('latin-1')
else = 3
else
ADDR = ('127.0.0.1', 0)
sk.bind(ADDR)
sk.close()
help python

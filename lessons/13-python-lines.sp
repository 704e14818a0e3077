# Lesson 13: The course's own Python lines
# sockplay also takes the lines of the course's programs as they are
# written: each becomes the same call as the shell's words. This is the
# course's tcp_server.py (sk) and tcp_client.py (client), line by line, with
# the loops unrolled: sockplay runs one call a line.
#
# `import socket` is taken: the socket module is built in.
import socket
expect "built in"
# Server: sk = socket.socket() is TCP, as socket tcp is.
sk = socket.socket()
expect "SOCK_STREAM"
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
expect "SO_REUSEADDR = 1"
# bind takes Python's (host, port) tuple. Port 0: the kernel picks one.
sk.bind(('127.0.0.1', 0))
expect "chosen by the kernel"
sk.listen(5)
expect state sk LISTEN
# The address the server is bound to, as a tuple, for the client.
ADDR = sk.getsockname()
expect /ADDR = \('127\.0\.0\.1', \d+\)/
# accept() waits: `&` runs it in the background, so this shell can be the
# client too (the course runs the client in a second terminal).
conn, addr = sk.accept() &
expect "waits for a client"
client = socket.socket()
client.connect(ADDR)
expect state client ESTABLISHED
wait
expect "accepted a connection"
# The client sends text: .encode('utf-8') makes it bytes, as in Python.
client.send('你好'.encode('utf-8'))
expect "sent 6 bytes"
# recv(...).decode('utf-8') binds a str, as Python's does.
msg = conn.recv(1024).decode('utf-8')
expect "msg = '你好'"
# print(...) shows a value as Python's print would.
print('receive:', msg)
expect "receive: 你好"
conn.send(b'Receive your message')
expect "sent 20 bytes"
data = client.recv(1024)
expect "data = b'Receive your message'"
# What sockplay does not run, it says, pointing at the token: a loop (one
# call a line; a macro repeats calls), input() (write the value itself).
while True:
expect error
msg = input('Msg>>')
expect error
# The client leaves: close() sends a FIN.
client.close()
expect state conn CLOSE_WAIT
conn.recv(1024)
expect "b''"
conn.close()
sk.close()
# `help python` lists the Python lines sockplay takes, each with the
# shell's own words for it.
help python
expect "bind sk 127.0.0.1"

# Lesson 9: An HTTP server answering a real HTTP request
# HTTP (超文本传输协议) is an application protocol on top of TCP: the
# client sends a request as text, the server answers with a response.
#   request:  request line, headers, an empty line (, a body)
#   response: status line, headers, an empty line, the body
# Both ends are here: s is the course's HTTP server, k plays the browser.
#
s = socket tcp
setsockopt s SOL_SOCKET SO_REUSEADDR 1
bind s 127.0.0.1 0
listen s 3
k = socket tcp
connect k s
# The browser's request: the request line GET / HTTP/1.1 (method, path,
# version), headers as "Name: value", and an empty line (\r\n\r\n) to end.
sendall k b"GET / HTTP/1.1\r\nHost: localhost\r\nAccept: text/html\r\n\r\n"
# The server: connfd, addr = sockfd.accept(); request = connfd.recv(4096)
c, addr = accept s
# (`text` shows the bytes as lines of text; \r is shown as \r.)
request = recv c 4096 text
expect "GET / HTTP/1.1"
expect "Host: localhost"
# The server reads the request line (request.splitlines()[0]) and its
# path, '/', and builds the response: status line, a header, an empty
# line, then the body (the page).
body = b"<h1>Hello from sockplay</h1>"
response = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + body
send c response
expect "sent 72 bytes"
# The course's server closes the connection after its answer: for the
# browser that ends the body.
close c
# The browser reads the response: status line, headers, empty line, body.
recv k 4096 text
expect "HTTP/1.1 200 OK"
expect "Content-Type: text/html"
expect "<h1>Hello from sockplay</h1>"
# Then b'': the server closed, the page is complete.
recv k 4096
expect "b''"
close k
# A path the server does not know gets 404 Not Found.
k = socket tcp
connect k s
sendall k b"GET /nothing HTTP/1.1\r\nHost: localhost\r\n\r\n"
c, addr = accept s
request = recv c 4096
expect "GET /nothing HTTP/1.1"
send c b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n<h1>Sorry...</h1>"
close c
recv k 4096 text
expect "HTTP/1.1 404 Not Found"
close k
close s
# The built-in peer `serve http` is a complete server of this kind: try
# it with your own socket, or with curl or a browser at its address.
a = serve http
k = socket tcp
connect k a
sendall k b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
# Its head ends at the empty line: read up to \r\n\r\n, then the body.
head = recvmsg k marker b"\r\n\r\n"
expect "HTTP/1.1 200 OK"
expect /Content-Length: \d+/
# Content-Length says how long the body is: the client knows where it ends.
body = recv k 4096
expect "<html"
close k
stop all

# The http peer's built-in page, asked for by hand, as the course's HTTP
# server answers: the status line, the headers, a blank line, the body.
h = serve http
k = socket tcp
connect k h
send k b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
recv k 4096 text
recv k
close k
k = socket tcp
connect k h
send k b"GET /missing HTTP/1.1\r\nHost: localhost\r\n\r\n"
recv k 4096
recv k
close k
peers log 1
stop 1

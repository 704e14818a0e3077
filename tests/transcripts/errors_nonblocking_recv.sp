# A non-blocking recv with nothing queued raises BlockingIOError; once data
# is queued it returns it.
s = socket tcp
bind s 127.0.0.1 0
listen s 5
k = socket tcp
connect k s
c, addr = accept s
setblocking c false
send k b"ping"
data = recv c 1024
data = recv c 1024

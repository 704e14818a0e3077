# setblocking(False): a call that would wait raises BlockingIOError at once.
s = socket tcp
bind s 127.0.0.1 0
listen s 5
setblocking s false
c, addr = accept s

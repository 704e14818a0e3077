# Two sockets cannot bind the same address and port: the second bind
# raises OSError: [Errno 98] Address already in use.
first = socket tcp
bind first 127.0.0.1 0
a = getsockname first
s = socket tcp
bind s a

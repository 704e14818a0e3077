# The same restart with SO_REUSEADDR set before bind, as the course's
# servers do (s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)): the port is
# still held by a connection in TIME_WAIT, and bind succeeds anyway.
# (Linux lets it only when the old socket had SO_REUSEADDR set too.)
old = socket tcp
setsockopt old SO_REUSEADDR 1
bind old 127.0.0.1 0
a = getsockname old
listen old 5
k = socket tcp
connect k old
c, addr = accept old
close c
close k
close old
s = socket tcp
setsockopt s SOL_SOCKET SO_REUSEADDR 1
bind s a
listen s 5
k = socket tcp
connect k s
c, addr = accept s
close k
close c
close s

# Restarting a server right after it closed a connection first: its side
# of that connection sits in TIME_WAIT for a minute and holds the port,
# so a new socket without SO_REUSEADDR cannot bind it.
old = socket tcp
setsockopt old SO_REUSEADDR 1
bind old 127.0.0.1 0
a = getsockname old
listen old 5
k = socket tcp
connect k old
c, addr = accept old
# the server closes first (active close), then the client
close c
close k
close old
s = socket tcp
bind s a

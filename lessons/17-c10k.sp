# Lesson 17: Ten thousand connections: select, poll and epoll (C10K)
# A server with many clients waits on all of them at once and serves the
# ones that are ready. select and poll take the whole list at every call;
# epoll keeps the list in the kernel. With a few sockets it makes no
# difference. With ten thousand it is the whole difference.
#
macdef init
s = socket tcp
bind s 127.0.0.1 0
listen s 5
k = socket tcp
connect k s
c, addr = accept s

# epoll by hand: create one, and give it the sockets to watch, once.
ep = epoll
expect "an epoll instance"
epoll ep add s in
epoll ep add c in
epoll ep
expect "EPOLLIN"
# Nothing is ready: a wait with timeout 0 returns at once, empty.
events = epoll ep wait 0
expect "nothing ready"
# A client sends: c is ready, and epoll says why, as select does.
send k b"hello"
events = epoll ep wait 1
expect "c): EPOLLIN - 5 bytes queued: recv will not block"
recv c
# A second client in the accept queue: s is ready.
k2 = socket tcp
connect k2 s
events = epoll ep wait 1
expect "connection waiting in the accept queue"
epoll ep del s
epoll ep close
# select works on the same sockets, but its set (fd_set) has room for
# descriptors 0 to 1023 only: FD_SETSIZE. And poll and select hand the
# kernel every socket at every call. Now ten thousand connections (the
# other ends in a helper process), and the cost of finding the one socket
# with data among them, measured on this machine:
c10k 10000
expect /TCP connections open/
expect /poll on [0-9]+ sockets/
expect /epoll on [0-9]+ sockets/
# Past fd 1023 select cannot even be asked (Python: ValueError); poll's
# time grows with the number of sockets; epoll_wait's does not.

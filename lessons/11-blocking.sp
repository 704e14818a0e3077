# Lesson 11: Blocking, timeouts and non-blocking sockets
# A blocking call (阻塞) waits until it can finish: accept for a client,
# recv for data. Python's settimeout and setblocking change that.
#
macdef init
s = socket tcp
bind s 127.0.0.1 0
listen s 5
k = socket tcp
connect k s
c, addr = accept s

# Blocking (the default): recv with nothing queued waits. In the background:
gettimeout c
expect "None"
data = recv c 1024 &
expect "receive queue empty"
jobs
expect "waits"
# Data arrives: the waiting recv returns.
send k b"wake up"
wait
expect "data = b'wake up'"
# A timeout: settimeout(0.5) waits at most half a second, then raises
# TimeoutError (socket.timeout in older Pythons).
settimeout c 0.5
gettimeout c
expect "0.5"
recv c 1024
expect error TimeoutError
# The socket still works afterwards.
send k b"in time"
recv c 1024
expect "b'in time'"
# Non-blocking: setblocking(False), the same as settimeout(0). A call that
# would wait raises BlockingIOError (EAGAIN) at once instead.
setblocking c false
gettimeout c
expect "0.0"
recv c 1024
expect error EAGAIN
expect error BlockingIOError
# accept on a non-blocking listener with no client waiting:
setblocking s false
accept s
expect error EAGAIN
# So a non-blocking program asks first which socket is ready: select.
# Nothing is ready yet (0.2 s timeout):
r, w, x = select read s c 0.2
expect "r = []"
# A new client connects and k sends: now both are readable.
k2 = socket tcp
connect k2 s
send k b"ready"
r, w, x = select read s c 1
expect "s readable"
expect "c readable"
c2, addr = accept s
recv c 1024
expect "b'ready'"
# Back to blocking: setblocking(True), or settimeout(None).
setblocking c true
gettimeout c
expect "None"
close k2
close c2
close k
close c
close s

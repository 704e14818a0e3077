# flags: --keep-going (the script goes on after an error)
# The classic moments are explained the first time they happen, once.
s = socket tcp
bind s 127.0.0.1 0
listen s 5
k = socket tcp
connect k s
c = accept s
close k
# b'' twice: one explanation
recv c
recv c
# BrokenPipeError twice: one explanation
send c b"first"
send c b"second"
send c b"third"
# ConnectionResetError twice: one explanation
k = socket tcp
connect k s
c = accept s
send k b"unread"
close c
recv k
k = socket tcp
connect k s
c = accept s
send k b"unread"
close c
recv k
# BlockingIOError twice: one explanation
setblocking s false
accept s
accept s

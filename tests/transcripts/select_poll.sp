# flags: --keep-going (the script goes on after an error)
# select and poll: which sockets are ready, and why.
s = socket tcp
bind s 127.0.0.1 0
listen s 5
k = socket tcp
connect k s
# a listener is readable when a connection waits in its accept queue
select read s 0
c = accept s
# nothing ready: select waits for its timeout, then returns empty lists
select read s c 0.1
# data queued: readable; buffer space: writable
send k b"hello"
select read c
r, w, x = select read s c write k 0
poll in s c out k 100
p = poll in c 0
# urgent (OOB) data is an exceptional condition (POLLPRI)
send k "!" oob
select read c except c 0
poll pri c 0
# the peer's close: readable, and recv returns b'' at once
k2 = socket tcp
connect k2 s
c2 = accept s
close k2
select read c2 0
poll in c2 0
r, w, x = select read c2 0
# mistakes
select
a, b, c, d = select s

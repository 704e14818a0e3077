# flags: --keep-going (the script goes on after an error)
# Urgent (out-of-band) data: send k "!" oob sends one byte marked urgent;
# select's except list and recv's oob flag see it apart from the stream.
s = socket tcp
bind s 127.0.0.1 0
listen s 5
k = socket tcp
# no Nagle: each send leaves at once, so what is queued is predictable
setsockopt k TCP_NODELAY 1
connect k s
c = accept s
send k "!" oob
select read c except c 0
recv c 1 oob
# read already: there is no urgent byte any more
recv c 1 oob
# urgent data between normal data: recv stops at the urgent byte's place
send k b"ab"
send k b"?" oob
send k b"cd"
select read c except c 0
recv c
recv c 1 oob
recv c

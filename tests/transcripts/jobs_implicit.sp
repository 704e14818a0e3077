# A statement that uses a name a background job will bind waits for that
# job first: no `wait` is needed.
s = socket tcp
bind s 127.0.0.1 0
listen s 5
k = socket tcp
c = accept s &
connect k s
send k b"x"
# recv c needs c: the accept job ends first, then the recv runs
recv c
jobs
# a job still running when its name is used: the note says so
settimeout s 0.3
c2 = accept s &
send c2 b"never sent"

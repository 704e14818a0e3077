# flags: --keep-going (the script goes on after an error)
# Background jobs: `c = accept s &` waits on a thread of its own, so one
# script plays both ends. In a script a job's report is printed at `wait`.
s = socket tcp
bind s 127.0.0.1 0
listen s 5
c = accept s &
jobs
k = socket tcp
connect k s
wait
# the job has ended: c is bound, and it works
jobs
send k b"ping"
recv c
send c b"pong"
recv k
# a job can fail: its error is its report, and d is not bound
x = socket udp
bind x 127.0.0.1 0
settimeout x 0.2
d = recv x &
wait
jobs
d
# kill cancels a waiting job
r = recv c &
jobs
kill %3
jobs
kill %3
wait %3
# closing the socket a job waits on cancels the job
r = recv c &
close c
jobs
# the next socket gets c's descriptor number, and no job polls it
n = socket tcp
jobs
wait

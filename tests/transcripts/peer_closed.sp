# The course: "if the other end exits, recv returns an empty string at
# once; trying to send after the other end has exited raises BrokenPipeError".
s = socket tcp
bind s 127.0.0.1 0
listen s 5
k = socket tcp
connect k s
c, addr = accept s
close k
data = recv c 1024
data = recv c 1024
# the first send still succeeds: the bytes leave, and k's side answers RST
n = send c b"anyone there?"
# the second one fails
n = send c b"hello?"

# Lesson 10: The three-way handshake and the four-way close
# Read off the TCP states in `sockets`, `expect state` and `states`, and
# the numbers each segment carries.
# (`states` and `diagram` show each segment when sockplay may capture on
# the loopback interface: as root, or started as `sockplay --lab`;
# otherwise `states` shows the states seen after each command. The checks
# of this lesson hold either way.)
#
s = socket tcp
bind s 127.0.0.1 0
listen s 5
expect state s LISTEN
k = socket tcp
# A new socket has no connection yet: CLOSED.
expect state k CLOSED
# The three-way handshake (三次握手) is done by connect() and the kernel:
#   1. k sends SYN: "may I connect?"               k SYN_SENT
#   2. the listener's kernel answers SYN-ACK       s's new connection SYN_RECV
#   3. k sends ACK: both ends ESTABLISHED
connect k s
expect state k ESTABLISHED
# accept() took no part: the established connection waits in s's accept
# queue (1/5) until accept takes it.
sockets
expect "1/5"
c, addr = accept s
expect state c ESTABLISHED
# states reads the segments off the loopback interface (as root or with
# --lab; without them, the states sampled after each command):
states
expect /handshake 3\/3|no capture/
# Each segment carries two numbers. seq: where its bytes start in the
# sender's stream, counted from a random first number (the ISN, 初始序号);
# ack: the next byte it expects from the other side. A SYN counts as one
# byte, so the SYN-ACK acknowledges the client's ISN + 1: shown relative
# to the ISN (as Wireshark shows them), its seq is 0 and its ack is 1.
expect /SYN,ACK\s+c -> k\s+0\s+1\s|no capture/
# The four-way close (四次挥手). k closes first (the active side, 主动方):
#   1. k sends FIN: "I am done sending"          k FIN_WAIT1
#   2. c's kernel ACKs at once                   k FIN_WAIT2, c CLOSE_WAIT
close k
expect state c CLOSE_WAIT
# Which of FIN_WAIT1 and FIN_WAIT2 k shows depends on when the ACK came:
expect state k FIN_WAIT
sockets
expect "CLOSE_WAIT"
# c reads the end of the stream (b''), as a server does before it closes:
recv c 1024
expect "b''"
#   3. c closes: it sends its FIN               c LAST_ACK
#   4. k ACKs it: c is CLOSED; k waits in TIME_WAIT (about 60 s)
close c
expect state k TIME_WAIT
sockets
expect "TIME_WAIT"
# The whole story: every state each end went through.
states
expect /close 4\/4|no capture/
# The same as the ladder textbooks draw: time runs down, one arrow per
# segment, the calls that caused them and each end's state beside it.
# (`diagram k save handshake.svg` would draw it for slides.)
diagram k
expect /TIME_WAIT|no diagram/
close s

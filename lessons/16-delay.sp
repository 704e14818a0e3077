# Lesson 16: A delay of 100 ms, in the handshake and in the RTT
# On loopback a round trip takes microseconds. Across a continent it takes
# about 100 ms: here the lab's link adds that. (A lab needs root, or a
# user namespace: sockplay --lab.)
lab up a b
on b s = socket tcp
bind s b 9000
listen s
on a k = socket tcp
# Everything b sends now waits 100 ms on b's link.
lab net b delay 100ms
expect "b's link: delay 100ms"
# connect sends SYN and waits for the SYN-ACK: one round trip, 100 ms.
connect k b 9000
expect /returned after (1\d\d|[2-9]\d\d)(\.\d)? ms/
# The handshake step by step, as the switch delivered it: the SYN-ACK
# arrives 100 ms after the SYN.
states
expect /(1\d\d|[2-9]\d\d)\.\d+ ms +SYN,ACK/
c, addr = accept s
# A message and its answer: the kernel measures each round trip.
send k b"ping"
recv c
send c b"pong"
recv k
expect "b'pong'"
# TCP_INFO's rtt is the smoothed round-trip time: at least the 100 ms.
info k
expect /rtt (1\d\d|[2-9]\d\d)\.\d+ ms/
lab down

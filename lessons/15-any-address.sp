# Lesson 15: 127.0.0.1, 0.0.0.0 and '' seen from another host
# A server binds an address: which of its host's addresses it listens on.
# On one machine every test connects from 127.0.0.1 and they all look the
# same; from a second host they do not. (A lab needs root, or a user
# namespace: sockplay --lab.)
lab up a b
expect "b 10.99.0.2"
# Three servers on host b, one per address:
on b s1 = socket tcp
bind s1 127.0.0.1 9001
listen s1
on b s2 = socket tcp
bind s2 0.0.0.0 9002
listen s2
# '' is Python's (and the course's) way to write 0.0.0.0: every address.
on b s3 = socket tcp
bind s3 "" 9003
expect "bound s3 to 0.0.0.0:9003"
listen s3
sockets
expect /s1 +b +TCP +127\.0\.0\.1:9001/
# From host a, b is 10.99.0.2. The server bound to 127.0.0.1 listens on
# b's loopback only: the SYN to 10.99.0.2:9001 finds no listener, and b's
# kernel answers with a reset.
on a k1 = socket tcp
connect k1 b 9001
expect error ECONNREFUSED
# 0.0.0.0 and '' take connections on every address of b, 10.99.0.2 too.
on a k2 = socket tcp
connect k2 b 9002
expect "connected k2 from 10.99.0.1:"
on a k3 = socket tcp
connect k3 b 9003
expect "connected k3 from 10.99.0.1:"
# On b itself, 127.0.0.1 reaches the first server (b's own loopback).
on b k4 = socket tcp
connect k4 127.0.0.1 9001
expect "connected k4 from 127.0.0.1:"
# And a's 127.0.0.1 is a's own: nothing of b's is there.
on a k5 = socket tcp
connect k5 127.0.0.1 9001
expect error ECONNREFUSED
# The server sees where each client came from:
c2, addr = accept s2
expect "('10.99.0.1', "
c4, addr = accept s1
expect "('127.0.0.1', "
lab down

# Lesson 14: Loss: UDP loses datagrams, TCP sends them again
# A lab of two hosts, a and b, on a network that loses packets. (A lab
# needs root, or a user namespace: sockplay --lab.)
#
# Each host is a network namespace with its own address; a switch joins
# them, and `lab net` makes a link lose packets as a bad cable or a busy
# Wi-Fi would.
lab up a b
expect "a 10.99.0.1, b 10.99.0.2"
# A UDP server on b that drops what it gets and counts it, and a client
# on a. `on HOST` runs one statement on that host.
on b serve discard udp * 9999
on a k = socket udp
# a's link now loses 30% of what a sends (as `tc qdisc ... netem loss
# 30%` would on a's eth0).
lab net a loss 30%
expect "a's link: loss 30%"
macdef send10
sendto k b"datagram" b 9999
sendto k b"datagram" b 9999
sendto k b"datagram" b 9999
sendto k b"datagram" b 9999
sendto k b"datagram" b 9999
sendto k b"datagram" b 9999
sendto k b"datagram" b 9999
sendto k b"datagram" b 9999
sendto k b"datagram" b 9999
sendto k b"datagram" b 9999

# 40 datagrams of 8 bytes: every sendto says "sent", none fails.
$send10
$send10
$send10
$send10
expect "sent 8 bytes"
# What the link did: 40 frames sent, some lost (about 12).
lab
expect /a .*loss 30% +40 frames, \d+ lost/
# What arrived: fewer than 320 bytes (the peer has had a moment to read
# them). UDP does not notice a loss, does not say so and does not send
# again: the application must cope.
sleep 0.3
peers
expect /discard\/udp .* 0\.0\.0\.0:9999 .* running .* ([0-9]{1,2}|[12][0-9][0-9]|30[0-9]|31[0-2]) +0 /
#
# Now TCP over the same link. The connection is made first, on a clean
# network, so the lesson does not wait on lost handshakes.
lab net a clear
on b s = socket tcp
bind s b 9000
listen s
on a t = socket tcp
connect t b 9000
c, addr = accept s
settimeout c 30
lab net a loss 30%
# 40000 bytes: about 28 segments, of which about 8 are lost...
sendall t b"x" * 40000
# ...yet every byte arrives, in order: TCP sent the lost segments again
# (it waits for their acknowledgment, and resends when it does not come).
recv c discard 40000
expect "received and discarded 40000 bytes"
# TCP_INFO counts the retransmissions ("total").
info t
expect /retransmits \d+ \(total [1-9]\d*\)/
# Each segment as the switch saw it: LOST, then sent again, which
# Wireshark names a TCP Retransmission.
states
expect "LOST on a's link"
expect "TCP Retransmission"
lab down

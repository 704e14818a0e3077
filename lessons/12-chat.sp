# Lesson 12: A chat with several clients
# A chat server relays each line a client sends to all the others. Part 1
# uses sockplay's built-in chat server; part 2 builds one by hand, with
# select to serve several clients at the same time.
# Messages end with "\n" (an end marker, lesson 5): recvmsg ... marker b"\n"
# reads exactly one line.
#
# Part 1: `serve chat` starts a chat server in the background; a is its
# address. (Others could join from other terminals with nc.)
a = serve chat
expect "chat server on 127.0.0.1:"
macdef client
$1 = socket tcp
connect $1 a
recvmsg $1 marker b"\n"

# $client NAME makes a client: a socket, connect, and the server's greeting.
$client alice
expect "you are <user1>"
$client bob
expect "you are <user2>"
expect "already connected: <user1>"
# alice is told that bob came:
recvmsg alice marker b"\n"
expect "<user2> is connected"
sendmsg alice b"hello everyone" marker b"\n"
recvmsg bob marker b"\n"
expect "b'<user1> hello everyone'"
sendmsg bob b"hi alice" marker b"\n"
recvmsg alice marker b"\n"
expect "b'<user2> hi alice'"
close bob
recvmsg alice marker b"\n"
expect "<user2> is disconnected"
close alice
stop all
#
# Part 2: the chat server by hand. s accepts two clients, k1 and k2.
s = socket tcp
setsockopt s SO_REUSEADDR 1
bind s 127.0.0.1 0
listen s 5
k1 = socket tcp
connect k1 s
c1, addr = accept s
k2 = socket tcp
connect k2 s
c2, addr = accept s
# Which client will speak next? recv on the wrong one would block. select
# waits on all of them at once and says which is readable.
sendmsg k2 b"who is there?" marker b"\n"
r, w, x = select read c1 c2 1
expect "c2 readable"
# The server reads the line from c2 and relays it to the others: c1.
line = recvmsg c2 marker b"\n"
expect "b'who is there?'"
sendmsg c1 b"<k2> " + line marker b"\n"
recvmsg k1 marker b"\n"
expect "b'<k2> who is there?'"
# And the other way round.
sendmsg k1 b"me, k1" marker b"\n"
r, w, x = select read c1 c2 1
expect "c1 readable"
line = recvmsg c1 marker b"\n"
sendmsg c2 b"<k1> " + line marker b"\n"
recvmsg k2 marker b"\n"
expect "b'<k1> me, k1'"
# A real server loops: select, read the ready sockets, relay; a client
# whose recv returns b'' has left and is closed.
close k1
r, w, x = select read c1 c2 1
expect "c1 readable"
recv c1
expect "b''"
close c1
close k2
close c2
close s

# Lesson 6: recv after the peer closed, and BrokenPipeError
# The course's two rules for a connection whose other end has left:
#   - recv returns b'' at once (no more waiting): the stream has ended;
#   - send then raises BrokenPipeError (the first send may still pass).
#
# init sets up a server s, a client k and the server's connection c,
# as in lesson 2.
macdef init
s = socket tcp
bind s 127.0.0.1 0
listen s 5
k = socket tcp
connect k s
c, addr = accept s

expect state c ESTABLISHED
# The client sends its last words, then closes (the program exits).
send k b"bye"
close k
# c is now in CLOSE_WAIT: the peer has closed, c has not.
expect state c CLOSE_WAIT
# The data sent before the close is still delivered, in order.
data = recv c 1024
expect "data = b'bye'"
# Then recv returns b'' at once: the end of the stream, not "no data yet".
# That is why the course's servers write `if not data: break`.
data = recv c 1024
expect "data = b''"
# And again: every recv from now on returns b''.
data = recv c 1024
expect "data = b''"
# A server that does not check for b'' and sends anyway: the first send
# still works (the bytes leave; the client's kernel answers with RST,
# reset: nobody is there to read them)...
send c b"Receive your message"
expect "sent 20 bytes"
# ...and the next send raises BrokenPipeError (EPIPE). Python ignores the
# SIGPIPE signal, so this is an exception, not the end of the program.
send c b"Receive your message"
expect error EPIPE
expect error BrokenPipeError
# The connection is gone: after the reset, c is CLOSED, and the table
# says why: CLOSED (reset). It is dead, not waiting for anything.
expect state c CLOSED
sockets
expect "CLOSED (reset)"
# A recv on it returns b'' at once, and says so: a dead connection.
data = recv c 1024
expect "reset (RST) and is dead"
# The server closes its side and goes on with the next client.
close c
close s

# discard (RFC 863) reads everything and answers nothing.
z = serve discard
k = socket tcp
connect k z
sendall k b"into the void\r\n"
close k
peers
peers log 1

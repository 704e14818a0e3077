# Connecting where nothing listens: the kernel answers the SYN with RST and
# connect raises ConnectionRefusedError. To find such a port, bind a socket
# to port 0 (the kernel picks a free port), note it, and close the socket.
p = socket tcp
bind p 127.0.0.1 0
a = getsockname p
close p
k = socket tcp
connect k a

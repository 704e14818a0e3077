# A closed socket cannot be used again: Python raises
# OSError: [Errno 9] Bad file descriptor.
s = socket tcp
bind s 127.0.0.1 0
close s
listen s 5

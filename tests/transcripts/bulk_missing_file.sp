# The course's upload homework with a typo in the file's name: Python's
# error, pointing at the path.
s = socket tcp
bind s 127.0.0.1 0
listen s
k = socket tcp
connect k s
sendfile k big_fiel.bin

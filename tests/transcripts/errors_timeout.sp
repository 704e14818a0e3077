# settimeout(0.2): a call waits at most 0.2 s, then raises TimeoutError.
s = socket tcp
bind s 127.0.0.1 0
listen s 5
k = socket tcp
connect k s
c, addr = accept s
settimeout k 0.2
data = recv k 1024

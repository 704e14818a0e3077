# A job will bind `data, addr`; the foreground binds them first, then
# answers the job's socket at `addr`. The foreground's binding stands: using
# `addr` does not wait for the job (whose datagram only that use sends).
u = socket udp
bind u 127.0.0.1 0
v = socket udp
bind v 127.0.0.1 0
sendto v b"ping" u
data, addr = recvfrom v 1024 &
data, addr = recvfrom u 1024
sendto u b"HELLO" addr
wait
print(data, addr)

# daytime (RFC 867) sends the date and time, then closes.
d = serve daytime 127.0.0.1 0
k = socket tcp
# The peer may close before connect even reports: ESTABLISHED or CLOSE_WAIT.
connect k d
recv k
recv k
close k
peers log 1

# inet_ntoa takes exactly 4 packed bytes (an IPv4 address)
inet_ntoa b"\xc0\xa8\x01\x02"
inet_ntoa b"\xc0\xa8\x01"

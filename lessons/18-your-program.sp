# Lesson 18: Your own program, under sockplay's eye
# A real Python program, unchanged, run by sockplay: each socket call it
# makes is shown as it makes it, with its line, what it waits for and what
# it got. Here it is the course's tcp_server.py, and this shell plays its
# client (tcp_client.py) by hand.
#
# `run ... &` runs it in the background, as job [1]: its lines start with
# [1]. (The lesson gives the program with python3 -c, so that it needs no
# file; yours runs the same way: run python3 tcp_server.py &. Its address
# is 127.0.0.1 and its port 0: the kernel picks one, so the lesson never
# collides with another program.)
run python3 -c "from socket import *\nsockfd = socket(AF_INET,SOCK_STREAM)\nsockfd.bind(('127.0.0.1',0))\nsockfd.listen(5)\nprint(\"Waiting for connect...\")\nconnfd,addr = sockfd.accept()\nprint(\"Connect from\",addr)\nwhile True:\n    data = connfd.recv(1024).decode()\n    if data == \"##\":\n        break\n    print(data)\n    n = connfd.send(b'Receive your message')\n    print(\"发送了%d字节\" % n)\nconnfd.close()\nsockfd.close()" &
expect "sockfd is listening on 127.0.0.1:"
expect "[1] | Waiting for connect..."
expect "accept(fd 3) waits for a client"
# The server waits in accept(). `jobs` says where the program is.
jobs
expect "waits for a client"
# The client: a socket, connected to where job 1 listens (%1 is its
# address). The server's accept returns: a new socket, connfd, for us.
k = socket tcp
connect k %1
expect state k ESTABLISHED
expect "accepted a connection from 127.0.0.1:"
expect "connfd = <socket fd=4"
expect "[1] | Connect from ('127.0.0.1', "
# The program's sockets and ours, side by side (OWNER says whose).
sockets
expect /sockfd +TCP +127\.0\.0\.1:\d+ +- +LISTEN/
expect "[1] python3 -c"
# The client sends: the server's recv(1024) returns what we sent, the
# server prints it, and answers.
send k b"hello"
expect "-> b'hello'  (5 bytes)"
expect "[1] | hello"
expect "sent 20 bytes: b'Receive your message'"
recv k
expect "b'Receive your message'"
# "##" ends the server's loop: it closes connfd and sockfd, and ends.
send k b"##"
expect "-> b'##'  (2 bytes)"
expect "closed connfd (fd 4 is free again)"
wait
expect "exited with status 0"
# The server closed first: our recv returns b'', the end of the stream.
recv k
expect "b''"
close k
# `run` without `&` runs a program in the foreground (Ctrl-C goes to it);
# `sockplay watch python3 tcp_server.py` does the same outside the shell.

# 10-handshake
echo "todo"

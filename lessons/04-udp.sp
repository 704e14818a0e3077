# 04-udp
echo "todo"

# 12-chat
echo "todo"

# 11-blocking
echo "todo"

# 09-http
echo "todo"

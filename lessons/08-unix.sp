# 08-unix
echo "todo"

# 02-tcp
echo "todo"

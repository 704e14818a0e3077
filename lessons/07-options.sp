# 07-options
echo "todo"

# 01-names
echo "todo"

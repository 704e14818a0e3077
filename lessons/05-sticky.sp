# 05-sticky
echo "todo"

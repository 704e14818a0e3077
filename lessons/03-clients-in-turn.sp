# 03-clients-in-turn
echo "todo"

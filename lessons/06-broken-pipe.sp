# 06-broken-pipe
echo "todo"

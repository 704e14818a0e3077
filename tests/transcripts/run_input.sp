# flags: --keep-going --allow-run (every error shows; run is allowed)
# `run` and `input`: their help, and what they say when they cannot.
help run
help input
help watch
input %3 "x"
k = socket tcp
connect k %2
run no-such-program-here
run sh -c "echo one; echo two"
run sh -c "exit 3"

# A socket name that was never bound: Python's NameError.
s = socket tcp
connect c s

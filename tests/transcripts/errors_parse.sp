# A misspelt command: the error points at the word and suggests the nearest
# command; nothing on the line runs.
s = socket tcp
bnid s 127.0.0.1 0

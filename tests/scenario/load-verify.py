"""Checks a p_load recording: every thread's pwrite calls are in the store
once each, in program order, as many as the program counted.

usage: load-verify.py COUNTS LOG
COUNTS holds p_load's "PID T COUNT" lines; LOG is `retro-replay log --json
-c pwrite STORE`.  Prints the totals; exits 1 with the first problems."""
import json, sys
want = {}
for line in open(sys.argv[1]):
    pid, t, n = map(int, line.split())
    want[(pid, t)] = n
nxt = {k: 0 for k in want}
bad = 0
total = 0
for line in open(sys.argv[2]):
    o = json.loads(line)
    off = o["args"][3]
    key = (o["pid"], off >> 32)
    i = off & 0xffffffff
    total += 1
    if key not in nxt:
        bad += 1
        if bad < 5: print("a call of no thread the program knows: pid %d offset %#x" % (o["pid"], off))
        continue
    if i != nxt[key] or o["ret"] != 8:
        bad += 1
        if bad < 5: print("pid %d thread %d: call %d where %d was due (ret %s)" % (key[0], key[1], i, nxt[key], o["ret"]))
    nxt[key] = i + 1
for k, n in want.items():
    if nxt[k] != n:
        bad += 1
        if bad < 10: print("pid %d thread %d: %d calls in the store, %d made" % (k[0], k[1], nxt[k], n))
print("pwrite calls: %d recorded, %d made" % (total, sum(want.values())))
sys.exit(1 if bad or total != sum(want.values()) else 0)

#!/bin/sh
# Load: LOAD_PROCS processes (64) of LOAD_THREADS threads (8) record pwrite
# calls into one store for LOAD_MS milliseconds (2000; bench/load.sh runs
# 60000), each thread paced to about LOAD_RATE calls a second (300; 0: as
# fast as it goes).  Nothing is lost or duplicated: every thread's calls
# are in the store once each, in program order, as many as the program
# counted.  Prints one "load:" line with the figures bench/load.sh reports.
. "$SCENARIO_LIB"

NP=${LOAD_PROCS:-64} NT=${LOAD_THREADS:-8} MS=${LOAD_MS:-2000} RATE=${LOAD_RATE:-300}
S=$WORK/store
mkdir "$WORK/f"
cat >"$WORK/run.sh" <<SH
for i in \$(seq 1 $NP); do
	"$PROGS/p_load" "$WORK/f/\$i" $NT $MS $RATE >"$WORK/f/\$i.out" &
done
wait
SH
t0=$(date +%s%N)
rr record -q -o "$S" -- sh "$WORK/run.sh" || fail "the load exited $?"
t1=$(date +%s%N)
cat "$WORK"/f/*.out >"$WORK/counts"
expect_eq "threads that reported" $((NP * NT)) "$(wc -l <"$WORK/counts")"
t2=$(date +%s%N)
rr log --json -c pwrite "$S" >"$WORK/log"
t3=$(date +%s%N)
python3 - "$WORK/counts" "$WORK/log" <<'PY' >"$WORK/verdict" || { cat "$WORK/verdict"; fail "calls lost, duplicated or out of order"; }
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
PY
actions=$(rr ps --json "$S" | json_map 'o["actions"]' | awk '{ s += $1 } END { print s }')
expect_status "fsck" 0 rr fsck "$S"
rr log "$S" | grep -q '!!!' && fail "loss markers: $(rr log "$S" | grep '!!!' | head -3)"
bytes=$(du -sb "$S" | cut -f1)
echo "load: procs $NP threads $NT ms $MS rate $RATE pwrite $(sed -n 's/pwrite calls: \([0-9]*\) recorded.*/\1/p' "$WORK/verdict") actions $actions store_bytes $bytes record_ns $((t1 - t0)) log_ns $((t3 - t2))"
pass

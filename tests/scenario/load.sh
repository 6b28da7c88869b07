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
python3 "$(dirname "$SCENARIO_LIB")/load-verify.py" "$WORK/counts" "$WORK/log" >"$WORK/verdict" || { cat "$WORK/verdict"; fail "calls lost, duplicated or out of order"; }
actions=$(rr ps --json "$S" | json_map 'o["actions"]' | awk '{ s += $1 } END { print s }')
expect_status "fsck" 0 rr fsck "$S"
rr log "$S" | grep -q '!!!' && fail "loss markers: $(rr log "$S" | grep '!!!' | head -3)"
bytes=$(du -sb "$S" | cut -f1)
echo "load: procs $NP threads $NT ms $MS rate $RATE pwrite $(sed -n 's/pwrite calls: \([0-9]*\) recorded.*/\1/p' "$WORK/verdict") actions $actions store_bytes $bytes record_ns $((t1 - t0)) log_ns $((t3 - t2))"
pass

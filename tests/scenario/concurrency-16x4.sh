#!/bin/sh
# 16 independent processes with 4 threads each, recording into one store at
# once (which none of them has created yet): every call recorded exactly
# once, per-thread order intact.
. "$SCENARIO_LIB"

S=$WORK/store N=2000
mkfifo "$WORK/go"
for i in $(seq 1 16); do
	( read -r _ <"$WORK/go"
	  LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S "$PROGS/p_threads" "$WORK/f$i" 4 $N ) &
done
# release all 16 at once.  Opened read-write, the FIFO has a writer until
# every reader is done: a subshell slow to open it still finds its line
# (opened write-only and closed at once, it could wait forever).
exec 9<>"$WORK/go"
for i in $(seq 1 16); do echo go >&9; done
wait
exec 9>&-
rr log --json -c pwrite "$S" |
	json_map '"%d %d %d" % (o["proc"], o["thread"], o["args"][3])' >"$WORK/w"
expect_eq "pwrite count" $((16 * 4 * N)) "$(wc -l <"$WORK/w")"
python3 - "$WORK/w" $N <<'PY'
import sys, collections
n = int(sys.argv[2])
seen = collections.defaultdict(list)
for line in open(sys.argv[1]):
    p, t, off = map(int, line.split())
    seen[(p, t)].append(off)
assert len(seen) == 64, "expected 64 threads, got %d" % len(seen)
procs = {p for p, t in seen}
assert len(procs) == 16, "expected 16 processes, got %d" % len(procs)
for (p, t), offs in seen.items():
    base = offs[0] - offs[0] % 1000000
    want = [base + i for i in range(n)]
    # the log is in timeline order: per thread it must be program order
    assert offs == want, "proc %d thread %d out of order or missing" % (p, t)
PY
expect_status "fsck" 0 rr fsck "$S"
pass

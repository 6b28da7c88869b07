#!/bin/sh
# The times the recording gives calls are the kernel's CLOCK_MONOTONIC:
# each recorded pwrite of two processes lies between the program's own
# clock readings before and after it, give or take 50 ns.  The recorder reads the TSC and
# extrapolates from the kernel's clock where it can (lib/recorder.c,
# now()); a wrong rate, a stale anchor or a time that goes back would put
# calls outside their brackets.  Both ways are tried: RETRO_TSC=0 reads the
# kernel's clock every time.
#
# A process need not measure the TSC's rate itself: it gets it with an exec
# from a process that had it ("exec"), or from the store's shared map,
# where a process that measured it left it ("again": a second recording
# into the store of the first).
. "$SCENARIO_LIB"

for tsc in 1 0 exec again; do
	S=$WORK/store$tsc
	mkdir -p "$WORK/rec$tsc"
	a=$WORK/rec$tsc/a b=$WORK/rec$tsc/b
	case $tsc in
	exec) # sh lives 50 ms, time enough to measure the rate, then execs
		RETRO_TSC=1 rr record -q -o "$S" -- sh -c \
			'sleep 0.05; exec "$0" "$@"' "$PROGS/p_stamps" "$a" "$b" ;;
	again) S=$WORK/storeexec
		RETRO_TSC=1 rr record -q -o "$S" -- "$PROGS/p_stamps" "$a" "$b" ;;
	*) RETRO_TSC=$tsc rr record -q -o "$S" -- "$PROGS/p_stamps" "$a" "$b" ;;
	esac >"$WORK/rec$tsc/stamps" ||
		fail "recording p_stamps failed ($tsc)"
	rr log --json --call pwrite "$S" >"$WORK/log$tsc" 2>&1 ||
		fail "log failed: $(cat "$WORK/log$tsc")"
	out=$(python3 - "$WORK/rec$tsc/stamps" "$WORK/log$tsc" <<'PY'
import json, sys
brackets = {}
for line in open(sys.argv[1]):
    path, i, t0, t1 = line.split()
    brackets[(path, int(i))] = (int(t0), int(t1))
SLOP = 50  # ns; a clock read between two TSC reads: about half of ~25 ns
seen, bad = 0, []
for line in open(sys.argv[2]):
    o = json.loads(line)
    if not o["call"].startswith("pwrite"):
        continue
    key = (o["path"], o["args"][3])
    if key not in brackets:
        continue
    t0, t1 = brackets[key]
    s = o["mono_start_ns"]
    e = s + (o["end_ns"] - o["start_ns"])
    seen += 1
    if not (t0 - SLOP <= s <= e <= t1 + SLOP):
        bad.append("%s %d: %d..%d not within %d..%d" % (key[0], key[1], s, e, t0, t1))
print(seen, len(bad))
for b in bad[:5]:
    print(b)
PY
)
	expect_eq "pwrites within their brackets (RETRO_TSC=$tsc)" "600 0" "$out"
done
pass

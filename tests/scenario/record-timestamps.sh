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
#
# The TSC is used where the kernel's clocksource is the TSC, or kvm-clock
# read by the vDSO ([vvar_vclock] mapped, kernels since 6.13): there each
# process must say, at RETRO_FAST_DEBUG=1, that its timestamps came from
# the TSC, so that the brackets test that path and not the clock reads.
. "$SCENARIO_LIB"

cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource \
	2>/dev/null || :)
case $cs in
tsc) machine_tsc=1 ;;
kvm-clock) if grep -q '\[vvar_vclock\]$' /proc/self/maps; then
		machine_tsc=1
	else
		machine_tsc=0
	fi ;;
*) machine_tsc=0 ;;
esac
export RETRO_FAST_DEBUG=1

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
	esac >"$WORK/rec$tsc/stamps" 2>"$WORK/rec$tsc/err" ||
		fail "recording p_stamps failed ($tsc): $(cat "$WORK/rec$tsc/err")"
	n=$(grep -c ': timestamps from the TSC$' "$WORK/rec$tsc/err" || :)
	if [ "$tsc" = 0 ]; then
		expect_eq "processes on the TSC with RETRO_TSC=0" 0 "$n"
	elif [ "$machine_tsc" = 1 ] && [ "$n" -lt 2 ]; then
		fail "RETRO_TSC=$tsc on a $cs clock: $n processes said their" \
			"timestamps came from the TSC, want 2 or more:" \
			"$(cat "$WORK/rec$tsc/err")"
	fi
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

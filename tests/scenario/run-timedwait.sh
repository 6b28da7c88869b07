#!/bin/sh
# Timed waits on V: a condition variable (REALTIME and MONOTONIC) and poll
# of a pipe, each once timing out and once woken by another thread that
# sleeps first.  Consistent replay squeezes the timeouts to their deadlines
# and the woken waits to their wakers' moments; the program sees the same
# returns and the same elapsed times as when recorded.
. "$SCENARIO_LIB"
need_mount_ns

S=$WORK/store
rr record -q -o "$S" -- "$PROGS/p_timedwait" >"$WORK/recorded"

# within [lo, lo + 60] ms: the recorded waits, and the replayed ones
within() { # label value lo
	[ "$2" -ge "$3" ] && [ "$2" -le $(( $3 + 60 )) ] ||
		fail "$1: ${2} ms, expected about $3 ($(tr '\n' '|' <"$4"))"
}
check_out() { # file
	f=$1
	set -- $(grep '^cond-timeout:' "$f") && [ "$2" = ETIMEDOUT ] &&
		within cond-timeout "$4" 500 "$f" || fail "cond-timeout: $*"
	set -- $(grep '^cond-mono-timeout:' "$f") && [ "$2" = ETIMEDOUT ] &&
		within cond-mono-timeout "$4" 400 "$f" || fail "cond-mono: $*"
	set -- $(grep '^cond-signal:' "$f") && [ "$2" = 0 ] && [ "$4" = 1 ] &&
		within cond-signal "$6" 300 "$f" || fail "cond-signal: $*"
	set -- $(grep '^poll-timeout:' "$f") && [ "$2" = 0 ] &&
		within poll-timeout "$6" 600 "$f" || fail "poll-timeout: $*"
	set -- $(grep '^poll-data:' "$f") && [ "$2" = 1 ] &&
		within poll-data "$6" 200 "$f" || fail "poll-data: $*"
}
check_out "$WORK/recorded"

start=$(date +%s%N)
expect_status "consistent replay" 0 rr run -q "$S" --shepherd p_timedwait \
	--root "$WORK/root" --report "$WORK/r.json"
took=$(( ($(date +%s%N) - start) / 1000000 ))
check_out "$WORK/out"
[ "$took" -lt 1000 ] ||
	fail "the replay took $took ms of the recorded 2 s: not squeezed"
expect_eq "report" "0 []" "$(python3 -c "import json,sys; o=json.load(open(sys.argv[1])); print(len(o['divergences']), o['unsupported'])" "$WORK/r.json")"

# naive: squeezed too, but the clocks are the host's, so the waits
# that timed out see almost no time pass
expect_status "naive replay" 0 rr run -q "$S" --shepherd p_timedwait \
	--root "$WORK/root2" --naive
set -- $(grep '^cond-timeout:' "$WORK/out")
[ "$2" = ETIMEDOUT ] && [ "$4" -lt 400 ] ||
	fail "naive: the 500 ms timeout was not squeezed: $*"
pass

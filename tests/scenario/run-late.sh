#!/bin/sh
# A recording that ran late still replays byte for byte.  p_alarm's alarm
# of 2 s cuts a sleep(10); here the process is stopped at 1 s and let go
# at 3 s, so the alarm rings while it is stopped and the sleep returns at
# ~3 s: the program prints "moved 3.0".  A consistent replay squeezes the
# sleep, and its clock follows the recording: after the sleep it reads
# what the recording read, not the alarm's 2 s.  (Before, the replayed
# clock stood at the alarm's deadline until the next recorded action, and
# a machine loaded enough to run a program late made run-alarm diverge.)
. "$SCENARIO_LIB"
need_mount_ns

S=$WORK/store
OUT=$WORK/rec/said
mkdir "$WORK/rec"
record_paused "$S" "$OUT" 1 2 "$PROGS/p_alarm"
first=$(head -1 "$OUT")
case "$first" in
"sleep: left about 8, moved 3."*", rang 1") ;;
*) fail "the recording did not run late as arranged: $first" ;;
esac

expect_status "consistent replay" 0 rr run -q "$S" --shepherd p_alarm \
	--root "$WORK/r1"
expect_eq "replayed output" "$(cat "$OUT")" "$(cat "$WORK/r1$OUT")"
pass

#!/bin/sh
# A recording that ran late still replays byte for byte.  p_alarm's alarm
# of 2 s cuts a sleep(10); here the process is stopped at 1 s and let go
# at 3 s, so the alarm rings while it is stopped and the sleep returns at
# ~3 s: the program prints "moved 3.0".  A consistent replay squeezes the
# sleep, and its clock follows the recording: after the sleep it reads
# what the recording read, not the alarm's 2 s.  (Before, the replayed
# clock stood at the alarm's deadline until the next recorded action, and
# a machine loaded enough to run a program late made run-alarm diverge.)
# The same for a poll that timed out late: p_timedwait stopped from 1.45 s
# to 1.95 s, inside its poll of 600 ms (from ~1.2 s), prints more than
# "monotonic 0.6" for it; the replayed poll times out where the recorded
# one did, not at its 600 ms.
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

S2=$WORK/store2
OUT2=$WORK/rec/said2
record_paused "$S2" "$OUT2" 1.45 0.5 "$PROGS/p_timedwait"
line=$(grep '^poll-timeout:' "$OUT2")
case "$line" in
"poll-timeout: 0 revents 0 monotonic 0.6" | "")
	fail "the recording's poll was not stopped as arranged: $line" ;;
esac
expect_status "consistent replay of the late poll" 0 rr run -q "$S2" \
	--shepherd p_timedwait --root "$WORK/r2"
expect_eq "replayed output (poll)" "$(cat "$OUT2")" "$(cat "$WORK/r2$OUT2")"
pass

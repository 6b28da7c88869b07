#!/bin/sh
# Clock reads recorded one by one (RETRO_TIME_READS=1) are fed back: each
# live read of a shepherded thread is matched with its recorded one and
# reads V at that one's moment (lib/shepherd.c, retro_shep_clock_read).
# p_timedwait is stopped from 0.2 s to 0.9 s, inside its first wait (a
# condition variable's 500 ms timeout, not a recorded call): the wait
# returns at ~0.9 s and it prints "realtime 0.9".  The consistent replay
# must print the same; reading V alone it printed 0.5, the timeout.
. "$SCENARIO_LIB"
need_mount_ns

S=$WORK/store
OUT=$WORK/rec/said
mkdir "$WORK/rec"
export RETRO_TIME_READS=1
record_paused "$S" "$OUT" 0.2 0.7 "$PROGS/p_timedwait"
unset RETRO_TIME_READS
first=$(head -1 "$OUT")
case "$first" in
"cond-timeout: ETIMEDOUT realtime 0.5") fail "the recording was not stopped in its first wait: $first" ;;
"cond-timeout: ETIMEDOUT realtime "*) ;;
*) fail "unexpected first line: $first" ;;
esac
[ "$(rr log -c clock_gettime "$S" | grep -c clock_gettime)" -gt 10 ] ||
	fail "the clock reads were not recorded"

expect_status "consistent replay" 0 rr run -q "$S" --shepherd p_timedwait \
	--root "$WORK/r1"
expect_eq "replayed output" "$(cat "$OUT")" "$(cat "$WORK/r1$OUT")"
pass

#!/bin/sh
# Inputs from outside, fed from the recording: p_random prints 16 bytes of
# getrandom and 16 of /dev/urandom.  A consistent replay gets the recorded
# bytes back, so it prints the same and nothing diverges; a naive replay
# gets live ones, and its output diverges.
. "$SCENARIO_LIB"
need_mount_ns

S=$WORK/store
OUT=$WORK/rec/said
mkdir "$WORK/rec"
rr record -q -o "$S" -- "$PROGS/p_random" >"$OUT"
[ "$(wc -l <"$OUT")" = 2 ] || fail "recorded: $(cat "$OUT")"

expect_status "consistent replay" 0 rr run -q "$S" --shepherd p_random \
	--root "$WORK/r1"
expect_eq "the recorded random bytes" "$(cat "$OUT")" "$(cat "$WORK/r1$OUT")"

expect_status "naive replay" 1 rr run -q "$S" --shepherd p_random --naive \
	--root "$WORK/r2"
[ "$(cat "$WORK/r2$OUT")" != "$(cat "$OUT")" ] ||
	fail "naive: the same 32 random bytes twice"
pass

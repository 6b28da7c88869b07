#!/bin/sh
# alarm on V: p_alarm's alarm(2) cuts a sleep(10) short, alarm(1) a
# nanosleep and a clock_nanosleep of 10 s, a periodic setitimer of 300 ms
# three nanosleeps of 1 s; each returns as interrupted,
# and alarm(1) a pipe read (EINTR without SA_RESTART; with it the read goes
# on until a child's write 2 s later),
# with what was left, after the SIGALRM handler ran, and the clock moved by
# the alarm's delay, not the sleep's.  Consistent replay gives the
# recorded output byte for byte in a few ms; naive replay, whose alarm is
# the host's, does not.
. "$SCENARIO_LIB"
need_mount_ns

S=$WORK/store
OUT=$WORK/rec/said
mkdir "$WORK/rec"
rr record -q -o "$S" -- "$PROGS/p_alarm" >"$OUT"
said="sleep: left about 8, moved 2.0, rang 1
nanosleep: -1 EINTR, rem 9, moved 1.0, rang 2
clock_nanosleep: EINTR, rem 9, moved 1.0, rang 3
alarm(0): 5
setitimer: 3 of 3 sleeps cut, moved 0.9, rang 3, interval 0.3, next in (0, 0.3]
pipe read: -1 EINTR, moved 1.0, rang 7
restarted read: 1 x, moved 2.0, rang 8"
expect_late "recorded" "$said" "$(cat "$OUT")"

start=$(date +%s%N)
expect_status "consistent replay" 0 rr run -q "$S" --shepherd p_alarm \
	--root "$WORK/r1" --report "$WORK/r1.json"
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "replayed output" "$(cat "$OUT")" "$(cat "$WORK/r1$OUT")"
[ "$took" -lt 2000 ] || fail "the replay took $took ms of a 7 s recording"
expect_eq "nothing unsupported" "[]" \
	"$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['unsupported'])" "$WORK/r1.json")"

# naive: the sleeps are squeezed but the host's alarm never gets to ring
# inside them: the output differs, and is a divergence
expect_status "naive replay" 1 rr run -q "$S" --shepherd p_alarm --naive \
	--root "$WORK/r2"
grep -q "divergence at .* write $OUT" "$WORK/out" ||
	fail "naive: no divergence on the output: $(cat "$WORK/out")"
pass

#!/bin/sh
# The driver's fast lane (lib/shepherd.h, struct retro_sh_lane): a
# shepherded thread's CALL and SLEEP messages and their answers go through
# memory it shares with the driver; its other messages, the doorbell that
# wakes a driver asleep in poll, and answers that carry bytes go on the
# socket.  The same replays give the same results three ways: with lanes;
# without (RETRO_SH_LANE=0, the socket alone); and with every process on
# one CPU, where nobody spins, so threads sleep on the lane's futex and the
# driver is woken by doorbells:
#   - p_random: getrandom's and /dev/urandom's recorded bytes come back,
#     answers that carry bytes;
#   - p_threads: 4 threads of 150 pwrites each, every thread with its own
#     lane, the file as recorded;
#   - sh running p_sleeps then p_random: forked children, sleeps.
# Then: an ended thread's lane is unmapped (p_lanes), and a raw clone's
# child gets its own connection (p_rawfork).
. "$SCENARIO_LIB"
need_mount_ns

S=$WORK/store
mkdir "$WORK/rec"
rr record -q -o "$S" -- sh -c '"$1/p_sleeps" >"$2/sleeps"; "$1/p_random" >"$2/random"; "$1/p_threads" "$2/t" 4 150' \
	sh "$PROGS" "$WORK/rec" || fail "recording failed"
[ "$(wc -l <"$WORK/rec/random")" = 2 ] || fail "recorded: $(cat "$WORK/rec/random")"

PIN=
if command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
	PIN="taskset -c 0"
fi
for mode in lane socket one-cpu; do
	[ $mode = one-cpu ] && [ -z "$PIN" ] && continue
	root=$WORK/root-$mode
	rc=0
	case $mode in
	lane) RETRO_RUN_DEBUG=1 rr run -q "$S" --shepherd 1 \
		--root "$root" --report "$WORK/rep-$mode" \
		2>"$WORK/err-$mode" ;;
	socket) RETRO_SH_LANE=0 RETRO_RUN_DEBUG=1 rr run -q "$S" \
		--shepherd 1 --root "$root" --report "$WORK/rep-$mode" \
		2>"$WORK/err-$mode" ;;
	one-cpu) RETRO_RUN_DEBUG=1 $PIN "$RETRO_REPLAY" run -q "$S" \
		--shepherd 1 --root "$root" --report "$WORK/rep-$mode" \
		2>"$WORK/err-$mode" ;;
	esac || rc=$?
	[ $rc = 0 ] || fail "$mode: run exited $rc: $(tail -5 "$WORK/err-$mode")"
	expect_eq "$mode: divergences" "0" \
		"$(json_map 'len(o["divergences"])' <"$WORK/rep-$mode")"
	expect_eq "$mode: the recorded random bytes" "$(cat "$WORK/rec/random")" \
		"$(cat "$root$WORK/rec/random")"
	expect_eq "$mode: p_sleeps' lines" "$(wc -l <"$WORK/rec/sleeps")" \
		"$(wc -l <"$root$WORK/rec/sleeps")"
	cmp "$WORK/rec/t" "$root$WORK/rec/t" ||
		fail "$mode: p_threads' file differs from the recorded one"
	lanes=$(grep -c ': a lane$' "$WORK/err-$mode" || true)
	if [ $mode = socket ]; then
		expect_eq "$mode: threads with a lane" 0 "$lanes"
	else
		# sh, its three children, p_threads' four threads
		[ "$lanes" -ge 8 ] ||
			fail "$mode: $lanes threads had a lane, not 8 or more"
	fi
done

# An ended thread's lane goes with it: 20 threads, one after another, and
# then the process has one lane left, its main thread's.  (The count is
# the replay's own, so that write diverges from the recorded 0: status 1.)
S2=$WORK/store2
rr record -q -o "$S2" -- "$PROGS/p_lanes" "$WORK/rec/lines" "$WORK/rec/count" 20 ||
	fail "recording p_lanes failed"
expect_eq "lanes when recorded" 0 "$(cat "$WORK/rec/count")"
st=0
rr run -q "$S2" --shepherd p_lanes --root "$WORK/root-lanes" 2>/dev/null || st=$?
[ $st -le 1 ] || fail "run of p_lanes exited $st"
expect_eq "lanes left after 20 threads ended" 1 \
	"$(cat "$WORK/root-lanes$WORK/rec/count")"
expect_eq "the threads' lines" 20 "$(wc -l <"$WORK/root-lanes$WORK/rec/lines")"

# A child of a raw clone (no atfork handler runs in it; the trap layer's
# fork hook is what gives it its own connection and lane): both processes
# re-executed, no divergence, both files.
S3=$WORK/store3
rr record -q -o "$S3" -- "$PROGS/p_rawfork" "$WORK/rec/a" "$WORK/rec/b" \
	>"$WORK/rec/said" || fail "recording p_rawfork failed"
expect_eq "p_rawfork's processes" 2 "$(rr ps --json "$S3" | grep -c p_rawfork)"
expect_status "replay of p_rawfork" 0 rr run -q "$S3" --shepherd 1 \
	--root "$WORK/root-raw"
expect_eq "the child's file" child "$(cat "$WORK/root-raw$WORK/rec/a")"
expect_eq "the parent's file" parent "$(cat "$WORK/root-raw$WORK/rec/b")"
expect_eq "the child's raw write" "raw child" "$(cat "$WORK/root-raw$WORK/rec/said")"
pass

#!/bin/sh
# A shepherded process waiting for a peer child: a shell starts a child
# that sleeps 1 s and exits 7, then execs p_waiter, which waits for it.
# Re-executed from its exec, p_waiter has no such child in the replay (the
# shell's fork is not replayed): the driver answers its waitpid with the
# child's recorded status, at the child's recorded exit on V.  The output
# is the recorded one, byte for byte, and the replay takes a fraction of
# the second.  Without the answer, waitpid would fail with ECHILD.
#
# The other way round: a peer shell waits for a shepherded child,
# p_exitcode, which exits with the number in a file.  Its status is
# checked against the recorded one: the same input is no divergence;
# --set-file changing the number is, on the shell's wait.
. "$SCENARIO_LIB"
need_mount_ns

S=$WORK/store
OUT=$WORK/rec/said
mkdir "$WORK/rec"
rr record -q -o "$S" -- sh -c "(sleep 1; exit 7) & exec $PROGS/p_waiter \$!" >"$OUT"
said="waitpid: that child, exited 7, after 1.0 s"
expect_late "recorded" "$said" "$(cat "$OUT")"
said=$(cat "$OUT")

start=$(date +%s%N)
expect_status "consistent replay" 0 rr run -q "$S" --shepherd p_waiter \
	--root "$WORK/r1" --report "$WORK/r1.json"
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "replayed output" "$said" "$(cat "$WORK/r1$OUT")"
[ "$took" -lt 900 ] || fail "the replay took $took ms: the child's second was not squeezed"
# the child stayed a peer: only p_waiter was re-executed
expect_eq "shepherded" "1" \
	"$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['shepherded']))" "$WORK/r1.json")"

S2=$WORK/store2
echo 3 >"$WORK/rec/code"
echo 5 >"$WORK/five"
rr record -q -o "$S2" -- sh -c "$PROGS/p_exitcode $WORK/rec/code; echo \$? >$WORK/rec/got" ||
	fail "recording the shell failed"
expect_eq "recorded status" "3" "$(cat "$WORK/rec/got")"
expect_status "consistent replay of the child" 0 rr run -q "$S2" \
	--shepherd p_exitcode --root "$WORK/r2" --report "$WORK/r2.json"
expect_status "the child exits 5 instead" 1 rr run -q "$S2" \
	--shepherd p_exitcode --root "$WORK/r3" --report "$WORK/r3.json" \
	--set-file "$WORK/rec/code=$WORK/five"
expect_eq "the shell's wait diverges" "wait3 process 2 exit 3 exit 5" \
	"$(python3 -c "import json,sys; o=json.load(open(sys.argv[1])); print(*[' '.join((d['call'], d['path'], d['expected'], d['observed'])) for d in o['divergences'] if d['call'].startswith('wait')])" "$WORK/r3.json")"

# The same both ways with waitid: a shepherded waitid for a peer child is
# answered with its recorded end (siginfo filled in), and a peer's waitid
# that returned a shepherded child is checked.
rr record -q -o "$WORK/store5" -- sh -c "(sleep 1; exit 7) & exec $PROGS/p_waiter --waitid \$!" \
	>"$WORK/rec/waitid"
grep -q "^waitid: that child, exited 7, after" "$WORK/rec/waitid" ||
	fail "recorded waitid: $(cat "$WORK/rec/waitid")"
expect_status "consistent replay, waitid" 0 rr run -q "$WORK/store5" \
	--shepherd p_waiter --root "$WORK/r5"
expect_eq "replayed output, waitid" "$(cat "$WORK/rec/waitid")" \
	"$(cat "$WORK/r5$WORK/rec/waitid")"
rr record -q -o "$WORK/store6" -- "$PROGS/p_waiter" --run "$PROGS/p_exitcode" \
	"$WORK/rec/code" >"$WORK/rec/run"
expect_eq "recorded waitid of a child" "waitid: exited 3" "$(cat "$WORK/rec/run")"
expect_status "consistent replay of the child, waitid" 0 rr run -q \
	"$WORK/store6" --shepherd p_exitcode --root "$WORK/r6"
expect_status "the child exits 5 instead, waitid" 1 rr run -q "$WORK/store6" \
	--shepherd p_exitcode --root "$WORK/r7" --report "$WORK/r7.json" \
	--set-file "$WORK/rec/code=$WORK/five"
expect_eq "the peer's waitid diverges" "waitid exit 3 exit 5" \
	"$(python3 -c "import json,sys; o=json.load(open(sys.argv[1])); print(*[' '.join((d['call'], d['expected'], d['observed'])) for d in o['divergences'] if d['call'].startswith('wait')])" "$WORK/r7.json")"

# A child made before the exec whose recording starts after it (it first
# ran after its parent's exec) is still the parent's peer child: the
# fork's time decides, not the child's first recorded action.  Once
# misjudged as made by the exec'd image, it was re-executed with it, and
# p_waiter's wait found no child.  p_waiter --late-child makes its child
# SCHED_IDLE, and on one CPU it then often runs after the exec (when the
# parent does not block on its way); tried until a recording shows that
# order.  When 15 recordings never do, this case is skipped, and says so:
# the order is the scheduler's to choose.
command -v taskset >/dev/null || { echo "SKIP: no taskset"; exit 77; }
tries=0
late=1
while :; do
	S3=$WORK/store3.$tries
	taskset -c 0 "$RETRO_REPLAY" record -q -o "$S3" -- \
		"$PROGS/p_waiter" --late-child >"$WORK/rec/late"
	rr log "$S3" >"$WORK/late.log"
	img=$(awk '/exec.d image/ { print $1; exit }' "$WORK/late.log")
	kid=$(awk '$2 ~ /^2:/ && $3 == "+++" && $4 == "start" { print $1; exit }' "$WORK/late.log")
	[ -n "$img" ] && [ -n "$kid" ] || fail "no exec'd image or child start in the log of $S3"
	awk -v i="$img" -v k="$kid" 'BEGIN { exit !(k > i) }' && break
	tries=$((tries + 1))
	if [ "$tries" -ge 15 ]; then
		echo "note: in 15 recordings the child always started before the exec: the late-child case is not tried"
		late=0
		break
	fi
done
# (an idle-class child on a loaded CPU can take well over its second)
grep -q "^waitpid: that child, exited 7, after [0-9.]* s$" "$WORK/rec/late" ||
	fail "recorded, late child: $(cat "$WORK/rec/late")"
# either order must replay; the late one is the case that failed
expect_status "consistent replay, late child ($late)" 0 rr run -q "$S3" \
	--shepherd 1 --root "$WORK/r4"
expect_eq "replayed output, late child" "$(cat "$WORK/rec/late")" \
	"$(cat "$WORK/r4$WORK/rec/late")"
pass

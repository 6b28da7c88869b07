#!/bin/sh
# Names drawn at random (mkdtemp, mkstemp, mkstemps, mkostemp; relative
# and absolute templates): glibc draws them from the stack's address and
# a clock read inside libc, which no re-execution repeats.  Consistent
# replay makes the recorded names instead (the driver sends the recorded
# name when only the random part differs), so the program prints what it
# printed and its later calls on those files match the recording; naive
# replay does not, and diverges at the first one.
. "$SCENARIO_LIB"
need_mount_ns

D=$WORK/tmp
S=$WORK/store
mkdir "$D" "$WORK/rec"
# 100 more mkstemp names: glibc calls getrandom for about one in twenty
# (when its clock-drawn value is unfair), and such a call is not made
# again in the replay, or is made where it was not: the replay must step
# over it.  Recorded again (up to 5 times) until one is in the recording.
tries=0
while :; do
	rm -rf "$S" "$D"/*
	rr record -q -o "$S" -- "$PROGS/p_tempnames" "$D" 100 >"$WORK/rec/said"
	rr log "$S" | grep -q "getrandom(" && break
	tries=$((tries + 1))
	[ "$tries" -lt 5 ] || fail "no getrandom in 5 recordings of 104 names"
done
[ "$(wc -l <"$WORK/rec/said")" = 104 ] || fail "recorded: $(cat "$WORK/rec/said")"
grep -q "(failed)" "$WORK/rec/said" && fail "recorded: $(cat "$WORK/rec/said")"
# what the recording made goes: the root starts from the recorded state
rm -rf "$D"/*
# the roots live outside $WORK, which the recording writes in
ROOTS=$(mktemp -d "${TMPDIR:-/tmp}/retro-roots.XXXXXX")
trap 'rm -rf "$ROOTS"; cleanup' EXIT

expect_status "consistent replay" 0 rr run -q "$S" --shepherd p_tempnames \
	--root "$ROOTS/r1" --report "$WORK/r1.json"
expect_eq "the recorded names" "$(cat "$WORK/rec/said")" \
	"$(cat "$ROOTS/r1$WORK/rec/said")"
for name in $(awk '{ print $2 }' "$WORK/rec/said"); do
	case $name in /*) p=$name ;; *) p=$D/$name ;; esac
	[ -e "$ROOTS/r1$p" ] || fail "$p was not made in the root"
done
expect_eq "divergences" 0 \
	"$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['divergences']))" "$WORK/r1.json")"
[ -z "$(ls "$D")" ] || fail "the replay wrote outside its root: $(ls "$D")"

expect_status "naive replay" 1 rr run -q "$S" --shepherd p_tempnames \
	--root "$ROOTS/r2" --naive
grep -q "divergence at .*mkdir $D/d\." "$WORK/out" ||
	fail "naive: no divergence at mkdtemp's mkdir: $(cat "$WORK/out")"
pass

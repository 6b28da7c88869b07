#!/bin/sh
# The Quick start's demo (demo/run.sh, run by ./setup.sh) works as README
# tells it: the reader saw "safe", the consistent replay keeps that, the
# naive one does not, and check names the writer's one-second sleep.
. "$SCENARIO_LIB"

demo=$(dirname "$SCENARIO_LIB")/../../demo/run.sh
TMPDIR=$WORK "$demo" >"$WORK/out" 2>&1 || fail "demo exited $?: $(tail -5 "$WORK/out")"
for want in "reader saw: safe" \
	"consistent replay: 0 divergences" \
	"naive replay: 1 divergence;" \
	"1 finding in"; do
	grep -qF "$want" "$WORK/out" || fail "no \"$want\" in: $(cat "$WORK/out")"
done
# the sleep lasted a second, and a little more on a loaded machine
grep -qE "slack from: nanosleep 1\.0[0-9]{2} s by sleep" "$WORK/out" ||
	fail "check does not name the writer's sleep: $(cat "$WORK/out")"
# what the reader could see at 0.5 s, and the end
S=$(sed -n 's/^The store is in \(.*\); try: .*/\1/p' "$WORK/out")
F=$(dirname "$S")/files/flag
expect_eq "cat --at 0.5" safe "$(rr cat --at 0.5 "$S" "$F")"
expect_eq "cat at the end" "not safe" "$(rr cat "$S" "$F")"
pass

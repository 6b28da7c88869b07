#!/bin/sh
# The Quick start's demo (demo/run.sh, run by ./setup.sh) works as README
# tells it: the reader saw "safe", the consistent replay keeps that, the
# naive one does not, and check names the writer's one-second sleep.
. "$SCENARIO_LIB"

demo=$(dirname "$SCENARIO_LIB")/../../demo/run.sh
rc=0
TMPDIR=$WORK "$demo" >"$WORK/out" 2>&1 || rc=$?
# The replays' roots stay for the user, as run says ("root: DIR").  run
# puts a root under $TMPDIR unless the recording wrote there, and this one
# wrote $WORK/out (the demo's own output), so they went to /var/tmp: they
# go with the test, as $WORK does (every run of the suite left two).
roots=$(sed -n 's/^root: \(\/.*\/retro-root\.[A-Za-z0-9]*\)$/\1/p' "$WORK/out")
trap 'for r in $roots; do rm -rf "$r"; done; cleanup' EXIT
[ "$rc" -eq 0 ] || fail "demo exited $rc: $(tail -5 "$WORK/out")"
expect_eq "replay roots named" 2 "$(echo "$roots" | grep -c retro-root)"
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

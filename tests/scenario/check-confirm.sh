#!/bin/sh
# check --confirm replays a finding: the writer/reader's finding is
# confirmed (naive replay of the writer changes what the reader saw,
# consistent replay does not), and --scale shows the margin: the writer's
# 1 s sleep at half length still lands its write after the reader's read
# at 0.3 s, at a fifth it does not.  Also run --scale by itself, and
# --min-slack.
. "$SCENARIO_LIB"
need_mount_ns

D=$WORK/data
S=$WORK/store
mkdir "$D"
printf safe >"$D/in"
rr record -q -o "$S" -- sh -c "'$PROGS/writer' '$D/in' '$D/F' 1000 & \
	'$PROGS/reader' '$D/F' '$D/out' 300; wait" >/dev/null
report() { python3 -c "import json,sys; o=json.load(open(sys.argv[1])); print($2)" "$1"; }

for f in 0.5 0.2; do
	expect_status "check --confirm --scale $f" 1 rr check "$S" --json \
		--confirm --scale $f
	cp "$WORK/out" "$WORK/c$f.json"
done
expect_eq "confirmed" "True False" \
	"$(report "$WORK/c0.5.json" 'o["findings"][0]["confirm"]["naive_diverged"], o["findings"][0]["confirm"]["consistent_diverged"]' | tr -d '(),')"
expect_eq "x0.5: margin holds" False \
	"$(report "$WORK/c0.5.json" 'o["findings"][0]["confirm"]["scaled_diverged"]')"
expect_eq "x0.2: margin gone" True \
	"$(report "$WORK/c0.2.json" 'o["findings"][0]["confirm"]["scaled_diverged"]')"
expect_status "human --confirm" 1 rr check "$S" --confirm
grep -q "(confirmed)" "$WORK/out" || fail "human: $(cat "$WORK/out")"

# run --scale directly: the reader's read diverges at 0.2, not at 0.5
expect_status "run --scale 0.5" 0 rr run -q "$S" --shepherd writer \
	--scale 0.5 --root "$WORK/r1"
expect_status "run --scale 0.2" 1 rr run -q "$S" --shepherd writer \
	--scale 0.2 --root "$WORK/r2"
expect_status "run --scale with --naive" 2 rr run -q "$S" --shepherd writer \
	--scale 0.2 --naive --root "$WORK/r3"

# --min-slack: the finding's ~0.7 s slack is above 0.1 s: exit 0
expect_status "--min-slack 0.1" 0 rr check "$S" --min-slack 0.1
grep -q "above --min-slack" "$WORK/out" || fail "min-slack: $(cat "$WORK/out")"
expect_status "--min-slack 5" 1 rr check "$S" --min-slack 5
expect_status "--min-slack junk" 2 rr check "$S" --min-slack soon
pass

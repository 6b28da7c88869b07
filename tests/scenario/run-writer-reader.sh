#!/bin/sh
# The writer/reader scenario of semantics.md, replayed: consistent replay
# squeezes the writer's sleep without changing what the reader saw; naive
# replay shows the reader's read diverging; changed input, --propagate and
# --drop behave as Retro's repair does.  The host's files are never touched.
. "$SCENARIO_LIB"
need_mount_ns

D=$WORK/data
S=$WORK/store
mkdir "$D"
printf safe >"$D/in"
rr record -q -o "$S" -- sh -c "'$PROGS/writer' '$D/in' '$D/F' 1000 & \
	'$PROGS/reader' '$D/F' '$D/out' 300; wait" >/dev/null
expect_eq "recorded: the reader saw" safe "$(cat "$D/out")"
expect_eq "recorded: F at the end" "not safe" "$(cat "$D/F")"
reader=$(rr ps --json "$S" | json_map 'o["id"] if o["program"] == "reader" else None')
writer=$(rr ps --json "$S" | json_map 'o["id"] if o["program"] == "writer" else None')

# what the report says, with python3
report() { python3 -c "import json,sys; o=json.load(open(sys.argv[1])); print($2)" "$1"; }

# 1. consistent: fast, no divergence, the root holds the final content
expect_status "consistent replay" 0 rr run "$S" --shepherd writer \
	--root "$WORK/r1" --report "$WORK/r1.json"
grep -q "^writer: done$" "$WORK/out" || fail "the writer's stdout did not pass through"
expect_eq "consistent: divergences" "[]" "$(report "$WORK/r1.json" 'o["divergences"]')"
expect_eq "consistent: shepherded" "[$writer]" "$(report "$WORK/r1.json" 'o["shepherded"]')"
expect_eq "consistent: squeezed to under a fifth" True \
	"$(report "$WORK/r1.json" 'o["wall_ns"] * 5 < o["virtual_ns"] and o["virtual_ns"] >= 1000000000')"
expect_eq "consistent: F in the root" "not safe" "$(cat "$WORK/r1$D/F")"
expect_eq "consistent: the reader's output in the root" safe "$(cat "$WORK/r1$D/out")"

# 2. naive: the squeezed sleep lets "not safe" land before the reader's read
expect_status "naive replay" 1 rr run "$S" --shepherd writer --naive \
	--root "$WORK/r2" --report "$WORK/r2.json"
expect_eq "naive: the reader's read diverges" \
	"[('peer', $reader, 'read', '$D/F', 'safe', 'not safe')]" \
	"$(report "$WORK/r2.json" '[(d["kind"], d["proc"], d["call"], d["path"], d["expected"], d["observed"]) for d in o["divergences"]]')"
expect_eq "naive: the reader is tainted" "[$reader]" \
	"$(report "$WORK/r2.json" '[t["proc"] for t in o["tainted"]]')"
grep -q "reader.c:" "$WORK/r2.json" || fail "naive: no call site in the report"

# 3. --set-file: the writer now writes "not safe" first; the reader diverges
printf 'not safe' >"$WORK/ns"
expect_status "set-file replay" 1 rr run "$S" --shepherd writer \
	--set-file "$D/in=$WORK/ns" --root "$WORK/r3" --report "$WORK/r3.json"
expect_eq "set-file: divergences" \
	"[('shepherded', $writer, 'write'), ('peer', $reader, 'read')]" \
	"$(report "$WORK/r3.json" '[(d["kind"], d["proc"], d["call"]) for d in o["divergences"]]')"

# ... and --propagate re-executes the reader too
expect_status "propagate" 1 rr run "$S" --shepherd writer --propagate \
	--set-file "$D/in=$WORK/ns" --root "$WORK/r4" --report "$WORK/r4.json"
expect_eq "propagate: shepherded" "$(python3 -c "print(sorted([$writer, $reader]))")" \
	"$(report "$WORK/r4.json" 'sorted(o["shepherded"])')"
expect_eq "propagate: passes" 2 "$(report "$WORK/r4.json" 'o["passes"]')"
expect_eq "propagate: the re-executed reader wrote what it saw" "not safe" \
	"$(cat "$WORK/r4$D/out")"

# 4. --drop writer: the writer's writes never happen; the reader diverges
expect_status "drop" 1 rr run "$S" --shepherd reader --drop writer \
	--root "$WORK/r5" --report "$WORK/r5.json"
expect_eq "drop: the reader diverges" True \
	"$(report "$WORK/r5.json" 'all(d["proc"] == '$reader' for d in o["divergences"]) and len(o["divergences"]) > 0')"
[ ! -e "$WORK/r5$D/F" ] || [ -c "$WORK/r5$D/F" ] ||
	fail "drop: F exists in the root though its writer was dropped"

# 5. nothing outside the roots was written
expect_eq "host F" "not safe" "$(cat "$D/F")"
expect_eq "host out" safe "$(cat "$D/out")"
expect_eq "host in" safe "$(cat "$D/in")"

# 6. contents that differ only after the first 48 bytes, all that a
# divergence shows of each: it shows them from a little before the first
# difference, and says where
long=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
printf '%sx\n' "$long" >"$D/long"
rr record -q -o "$WORK/s6" -- sh -c "'$PROGS/writer' '$D/long' '$D/copy' 0; \
	'$PROGS/reader' '$D/copy' '$D/copy2' 0"
w6=$(rr ps --json "$WORK/s6" | json_map 'o["id"] if o["program"] == "writer" else None')
printf '%sy\n' "$long" >"$WORK/long2"
expect_status "set-file, a late difference" 1 rr run "$WORK/s6" \
	--shepherd "$w6" --set-file "$D/long=$WORK/long2" --root "$WORK/r6" \
	--report "$WORK/r6.json"
grep -q 'write '"$D"'/copy: expected \.\.\."aaaaaaaaaaaaaaaax\\n", observed \.\.\."aaaaaaaaaaaaaaaay\\n" (they differ from byte 50)' \
	"$WORK/out" || fail "a late difference, shown: $(cat "$WORK/out")"
expect_eq "a late difference, in the report" "[50]" \
	"$(report "$WORK/r6.json" '[d["differs_at"] for d in o["divergences"] if d["call"] == "write"]')"
pass

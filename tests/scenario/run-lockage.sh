#!/bin/sh
# File times on V.  A shell writes a lock file; its child, re-executed,
# sleeps 700 ms and judges the lock by its age (stat against the clock),
# then writes a file of its own and reads its age back after 300 ms.
# Consistent replay shows both ages as recorded, though the peer's write
# and its own happen during the replay; naive replay, on the host's
# clocks, finds the lock fresh and diverges on what it prints.  Also: what
# stdio still buffers at exit is recorded.
. "$SCENARIO_LIB"
need_mount_ns

D=$WORK/data
S=$WORK/store
mkdir "$D"
rr record -q -o "$S" -- sh -c "echo \$\$ > '$D/L'; \
	'$PROGS/p_lockage' '$D/L' 700 '$D/own' > '$D/said'" >/dev/null
expect_late "recorded" "lock age 0.7: stale
own age 0.3" "$(cat "$D/said")"
# the output was written by exit's stdio flush: recorded all the same
rr log "$S" --call write | grep -q 'write(1</.*/said>, "lock age [0-9.]*: stale' ||
	fail "the program's buffered stdout was not recorded: $(rr log "$S" --call write)"
id=$(rr ps --json "$S" | json_map 'o["id"] if o["program"] == "p_lockage" else None')

expect_status "consistent replay" 0 rr run -q "$S" --shepherd p_lockage \
	--root "$WORK/r1"
expect_eq "consistent: what it said" "$(cat "$D/said")" "$(cat "$WORK/r1$D/said")"

expect_status "naive replay" 1 rr run -q "$S" --shepherd p_lockage \
	--root "$WORK/r2" --naive
expect_late "naive: what it said" "lock age 0.0: fresh
own age 0.0" "$(cat "$WORK/r2$D/said")"
grep -q "divergence at .*shepherded $id (p_lockage) write $D/said" "$WORK/out" ||
	fail "naive: no divergence on the output: $(cat "$WORK/out")"
pass

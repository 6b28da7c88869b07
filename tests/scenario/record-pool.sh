#!/bin/sh
# The spool's pool (lib/spool.h): record's periodic import zeroes the
# segments it has imported and the recording threads make their next
# segments from them.  Small fixed segments (RETRO_SPOOL_SIZE) make four
# threads rotate hundreds of times during a 1.5 s recording.  Some
# segments must come from the pool, and nothing may be lost, duplicated
# or reordered for it: every call is in the store once, in program order.
# After the recording no pool file is left in the spool.
. "$SCENARIO_LIB"

S=$WORK/store
RETRO_SPOOL_SIZE=65536 rr record --stats -q -o "$S" -- \
	"$PROGS/p_load" "$WORK/f" 4 1500 20000 >"$WORK/counts" 2>"$WORK/stats" ||
	fail "p_load exited $? ($(cat "$WORK/stats"))"
reused=$(sed -n 's/.*; \([0-9]*\) made from the pages of imported ones.*/\1/p' "$WORK/stats")
[ -n "$reused" ] || fail "no --stats line: $(cat "$WORK/stats")"
[ "$reused" -gt 0 ] || fail "no segment was made from the pool: $(cat "$WORK/stats")"
rr log --json -c pwrite "$S" >"$WORK/log"
python3 "$(dirname "$SCENARIO_LIB")/load-verify.py" "$WORK/counts" "$WORK/log" >"$WORK/verdict" ||
	{ cat "$WORK/verdict"; fail "calls lost, duplicated or out of order"; }
expect_status "fsck" 0 rr fsck "$S"
rr log "$S" | grep -q '!!!' && fail "loss markers: $(rr log "$S" | grep '!!!' | head -3)"
spool=$(cat "$S/SPOOL")
left=$(ls "$spool" 2>/dev/null | grep -c '^free-' || true)
expect_eq "pool files left in $spool" 0 "$left"
pass

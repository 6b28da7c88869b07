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

# The importer reads a segment's `sealed` before its `used`.  The other
# order lost the records appended between the two reads when the writer
# sealed meanwhile: the import took the seal with the shorter `used`, and
# pooled the segment as whole.  Every pread of record's own waiting a
# millisecond (RETRO_REPLAY_FAULT) lost calls so in every run.
S3=$WORK/store3
RETRO_REPLAY_FAULT=pread:SLOW:0 RETRO_SPOOL_SIZE=65536 rr record -q -o "$S3" -- \
	"$PROGS/p_load" "$WORK/h" 4 1500 20000 >"$WORK/counts3" 2>"$WORK/stats3" ||
	fail "p_load with slow imports exited $? ($(cat "$WORK/stats3"))"
rr log --json -c pwrite "$S3" >"$WORK/log3"
python3 "$(dirname "$SCENARIO_LIB")/load-verify.py" "$WORK/counts3" "$WORK/log3" >"$WORK/verdict3" ||
	{ cat "$WORK/verdict3"; fail "slow imports: calls lost, duplicated or out of order"; }
expect_status "RETRO_REPLAY_FAULT malformed" 2 env RETRO_REPLAY_FAULT=pread:SLOWLY:0 "$RETRO_REPLAY" fsck "$S3"

# A pool file reads as a new segment: all zero, whatever was in it (a
# record half-written by a killed writer must not find a finished one's
# bytes under it).  Checked inside a recording, once record's imports
# have pooled the segments of an 8-thread load.  (The import zeroes only
# as far as a segment was written; zeroing only its header fails this.)
S2=$WORK/store2
RETRO_SPOOL_SIZE=65536 rr record -q -o "$S2" -- sh -c '
	"$1" "$2" 8 300 4000 >/dev/null
	exec python3 -c "
import glob, sys, time
spool = open(sys.argv[1] + \"/SPOOL\").read().strip()
n = 0
for _ in range(60):  # until record has pooled some (it imports every 20-320 ms)
    for f in glob.glob(spool + \"/free-*\"):
        try:
            b = open(f, \"rb\").read()
        except FileNotFoundError:
            continue  # taken meanwhile
        n += 1
        if b.count(0) != len(b):
            sys.exit(\"not zero: \" + f)
    if n:
        break
    time.sleep(0.05)
print(n, \"pool files, all zero\")
" "$3"
' sh "$PROGS/p_load" "$WORK/g" "$S2" >"$WORK/zero" 2>&1 ||
	fail "a pool file is not all zero: $(cat "$WORK/zero")"
grep -q '^[1-9][0-9]* pool files, all zero$' "$WORK/zero" ||
	fail "no pool file to check: $(cat "$WORK/zero")"
pass

#!/bin/sh
# A full disk (the spool cannot grow) or a full map (LMDB cannot take the
# import) never stops the program.  The first is marked as a loss in the
# store and shown by log; the second loses nothing: the spool is kept and a
# later import with room takes it.
. "$SCENARIO_LIB"

S=$WORK/store
# RETRO_FAULT makes lib/'s fallocate fail with ENOSPC after the first
# segment (the fault-injection seam of os.h; the first success is the
# process-id counter), with tiny segments.
out=$(RETRO_FAULT=fallocate:ENOSPC:2 RETRO_SPOOL_SIZE=65536 \
	rr record -q -o "$S" -- "$PROGS/p_threads" "$WORK/f" 1 3000 && echo ok)
expect_eq "program unaffected" "ok" "$out"
rr log "$S" >"$WORK/log" 2>"$WORK/err"
grep -q "LOST.*No space left on device" "$WORK/log" || fail "no loss marker in log"
grep -q "not recorded" "$WORK/err" || fail "no warning from log"
expect_status "fsck accepts what remains" 0 rr fsck "$S"
grep -q "loss marker" "$WORK/out" || fail "fsck does not mention the loss"

# map full: a 64 KiB map cannot hold the import
S2=$WORK/store2
RETRO_MAPSIZE=65536 rr record -q -o "$S2" -- "$PROGS/p_threads" "$WORK/g" 2 5000 ||
	fail "program failed with a full map"
[ "$(find "$S2/spool" $(cat "$S2/SPOOL" 2>/dev/null) -name "*.seg" | wc -l)" -gt 0 ] || fail "spool not kept after a full map"
# fsck accepts what is there and counts what waits in the spool
expect_status "fsck after a full map" 0 env RETRO_MAPSIZE=65536 "$RETRO_REPLAY" fsck "$S2"
grep -q "spool: [1-9][0-9]* segment(s) awaiting import" "$WORK/out" ||
	fail "fsck does not show the kept spool: $(cat "$WORK/out")"
rr import "$S2" >"$WORK/imp"
expect_eq "all imported later" 10000 "$(rr log --json -c pwrite "$S2" | wc -l)"
pass

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

# The shared map's `used` goes on counting past its end when loss records
# no longer fit (they count in `overflow`): log and fsck still read the
# records the file holds.  Before, such a map was taken as empty.
S3=$WORK/store3
cp -R "$S" "$S3" || fail "cannot copy $S"
python3 - "$S3/shared.map" <<'PY' || fail "cannot write a loss record"
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(8)
    used, = struct.unpack("<Q", f.read(8))
    # one more record (magic, proc 1, thread 9, ENOSPC, since, until,
    # count 77), then `used` far past the end and 5 that did not fit
    f.seek(64 + used)
    f.write(struct.pack("<IIIiqqQ", 0x534f4c52, 1, 9, 28, 1000, 2000, 77))
    f.seek(8)
    f.write(struct.pack("<QQ", 1 << 30, 5))
PY
rr log "$S3" >"$WORK/log3" 2>"$WORK/err3"
grep -q "1:p_threads/9 *!!! LOST 77 call(s)" "$WORK/log3" ||
	fail "log does not show the loss record of an overflowed shared map"
grep -q "warning: 5 more loss marker(s) did not fit in $S3/shared.map" \
	"$WORK/err3" || fail "log does not warn of the markers that did not fit: $(cat "$WORK/err3")"
expect_status "fsck of an overflowed shared map" 0 rr fsck "$S3"
grep -q "shared map: [0-9]* loss marker(s)" "$WORK/out" ||
	fail "fsck does not count the overflowed shared map's losses: $(cat "$WORK/out")"

# A foreign shared map: a sparse 1 TiB file whose `used` says it is all
# records.  Readers look at the first MiB only (no version made it
# bigger), so log and fsck end at once rather than read it all.
truncate -s 1T "$S3/shared.map" 2>/dev/null || fail "cannot grow $S3/shared.map"
python3 - "$S3/shared.map" <<'PY' || fail "cannot write $S3/shared.map"
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(8)
    f.write(struct.pack("<Q", 1 << 40))
PY
timeout 30 "$RETRO_REPLAY" log "$S3" >/dev/null 2>&1 ||
	fail "log of a store with a 1 TiB shared map did not end within 30 s (or failed)"
timeout 30 "$RETRO_REPLAY" fsck "$S3" >/dev/null 2>&1 ||
	fail "fsck of a store with a 1 TiB shared map did not end within 30 s (or failed)"

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

# A thread's pwrites name the file by the path its main thread interned,
# in the main thread's own segment.  When the thread's segments are
# imported and the main thread's is not (a full map stopped its import, as
# above, or it is still being written), the store's actions name a path
# the store lacks yet: fsck accepts that while a segment awaiting import
# holds the path, and counts it, but not once that segment is gone.
S4=$WORK/store4
LD_PRELOAD="$RETRO_SHIM" RETRO_STORE="$S4" \
	"$PROGS/p_threads" "$WORK/h" 1 300 kill 2>/dev/null && fail "p_threads did not kill itself"
main=$(find "$S4/spool" $(cat "$S4/SPOOL" 2>/dev/null) -name "p1-i0-t1-s*.seg")
[ -n "$main" ] || fail "no segment of the main thread in the spool"
mkdir "$WORK/aside"
mv $main "$WORK/aside/" || fail "cannot move $main"
rr import "$S4" >"$WORK/imp" || fail "import of the thread's segments failed"
expect_status "fsck with the interning segment gone" 1 rr fsck "$S4"
grep -q "process 1 seq [0-9]* (pwrite): object path missing" "$WORK/out" ||
	fail "fsck does not say the path is missing: $(cat "$WORK/out")"
mkdir -p -m 0700 "$S4/spool"
mv "$WORK/aside/"*.seg "$S4/spool/" || fail "cannot move the segment back"
expect_status "fsck with the interning segment awaiting import" 0 rr fsck "$S4"
grep -q "; 300 reference(s) to paths that segments awaiting import hold" \
	"$WORK/out" || fail "fsck does not count the references that wait: $(cat "$WORK/out")"
rr import "$S4" >"$WORK/imp" || fail "import of the main thread's segment failed"
expect_status "fsck once all is imported" 0 rr fsck "$S4"
grep -q "awaiting import hold" "$WORK/out" &&
	fail "fsck still counts references as waiting: $(cat "$WORK/out")"
pass

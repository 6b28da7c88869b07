#!/bin/sh
# import --live takes a snapshot of the segments of processes still
# recording, and their later records are imported later: whole, once,
# with the actions that were in flight at the snapshot as they ended.
# (Before, the snapshot removed each segment file under its writer, and
# every record after it was lost.)
. "$SCENARIO_LIB"

S=$WORK/store
mkfifo "$WORK/go" "$WORK/ready"
LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S python3 -c '
import os, sys
f, go, ready = sys.argv[1:4]
fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
for i in range(10):
    os.write(fd, b"line %d\n" % i)
open(ready, "w").close()  # the first ten are written
open(go).read()           # in flight at the snapshot
for i in range(10, 20):
    os.write(fd, b"line %d\n" % i)
os.close(fd)' "$WORK/f" "$WORK/go" "$WORK/ready" &
writer=$!
cat "$WORK/ready"
expect_status "import --live" 0 rr import --live "$S"
grep -q '^imported [1-9][0-9]* segment(s)' "$WORK/out" || fail "import --live: $(cat "$WORK/out")"
expect_eq "writes in the snapshot" 10 "$(rr log -c write "$S" | grep -c "<$WORK/f>")"
expect_status "fsck after the snapshot" 0 rr fsck "$S"
echo >"$WORK/go"
wait $writer || fail "the writer failed"
expect_eq "writes once the writer ended" 20 "$(rr log -c write "$S" | grep -c "<$WORK/f>")"
expect_eq "cat" "$(cat "$WORK/f")" "$(rr cat "$S" "$WORK/f")"
expect_eq "actions in flight" "" "$(rr log "$S" | grep '<in flight>')"
expect_status "fsck at the end" 0 rr fsck "$S"
expect_eq "segments left in the spool" "" \
	"$(ls "$(cat "$S/SPOOL")" 2>/dev/null | grep '\.seg$' || true)"
pass

#!/bin/sh
# Records bigger than a segment.  A thread's next segment is made the size
# of the record it must hold, and before that record it gets the records a
# new segment starts with (the modules', the clock's): sized for the record
# alone, a write of 5 MB (over the 4 MiB a segment has by default) and an
# environment of 200 KB found them in the way in every new segment, and
# were dropped without a loss marker.  Both are in the store, whole.
. "$SCENARIO_LIB"

S=$WORK/store
rr record -q -o "$S" -- python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"w" * 5000000)
os.close(fd)' "$WORK/f" || fail "the program failed"
expect_eq "one write of 5,000,000 bytes logged" 1 \
	"$(rr log -c write "$S" | grep -c "<$WORK/f>, \"ww.*, 5000000) = 5000000 @0$")"
rr cat "$S" "$WORK/f" >"$WORK/got" || fail "cat failed"
cmp -s "$WORK/got" "$WORK/f" || fail "cat does not give the 5,000,000 bytes written"
rr log "$S" | grep -q '!!!' && fail "loss marked: $(rr log "$S" | grep '!!!' | head -2)"

# 200,000 bytes of environment: kept whole, and run re-creates it.
X=$(python3 -c 'print("z" * 100000)')
A1=$X A2=$X rr record -q -o "$WORK/s2" -- /bin/true
rr log "$WORK/s2" | grep -q '+++ cwd .* 2[0-9][0-9][0-9][0-9][0-9] bytes of environment$' ||
	fail "the environment is not recorded whole: $(rr log "$WORK/s2" | grep '+++ cwd')"
expect_status "run with 200,000 bytes of environment" 0 rr run "$WORK/s2" --shepherd 1 --root "$WORK/root2"

# Past 256 KiB the entries that do not fit are left out, log says so, and
# run will not re-create the process from the rest.
A1=$X A2=$X A3=$X rr record -q -o "$WORK/s3" -- /bin/true
rr log "$WORK/s3" | grep -q '+++ cwd .* bytes of environment (entries left out past it)$' ||
	fail "a cut environment is not said: $(rr log "$WORK/s3" | grep '+++ cwd')"
expect_status "run with a cut environment" 2 rr run "$WORK/s3" --shepherd 1 --root "$WORK/root3"
grep -q 'process 1 (true): its environment was recorded only in part' "$WORK/err" ||
	fail "run does not say why: $(cat "$WORK/err")"
pass

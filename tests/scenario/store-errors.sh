#!/bin/sh
# Foreign, mis-versioned, symlinked and corrupt stores fail with a message
# naming the path and the reason, and exit 2 (or 1 for fsck's verdict);
# the recorded program is never affected.
. "$SCENARIO_LIB"

# a directory that is not a store
mkdir "$WORK/foreign"
echo data >"$WORK/foreign/file"
expect_status "foreign store" 2 rr ps "$WORK/foreign"
grep -q "$WORK/foreign.*not empty and holds no retro store\|$WORK/foreign.*no FORMAT" "$WORK/err" ||
	fail "foreign message: $(cat "$WORK/err")"
expect_status "record into a foreign dir" 2 rr record -q -o "$WORK/foreign" -- true
grep -q "$WORK/foreign" "$WORK/err" || fail "record foreign message"

# the program still runs, unrecorded, with one warning on stderr
out=$(LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$WORK/foreign sh -c 'echo ran' 2>"$WORK/warn")
expect_eq "program unaffected" "ran" "$out"
grep -q "retro: not recording.*$WORK/foreign" "$WORK/warn" || fail "warning: $(cat "$WORK/warn")"

# another format version
rr record -q -o "$WORK/s" -- true
echo "retro-store 99" >"$WORK/s/FORMAT"
expect_status "other version" 2 rr log "$WORK/s"
grep -q "version 99" "$WORK/err" || fail "version message: $(cat "$WORK/err")"

# a symlink at the store path is refused
rr record -q -o "$WORK/real" -- true
ln -s "$WORK/real" "$WORK/link"
expect_status "symlinked store" 2 rr ps "$WORK/link"
grep -q "symbolic link" "$WORK/err" || fail "symlink message"

# no such store
expect_status "missing store" 2 rr ps "$WORK/nothing"
grep -q "$WORK/nothing: no such store" "$WORK/err" || fail "missing message"

# permissions: 0700 directory, 0600 files, whatever the umask
(umask 0; rr record -q -o "$WORK/perm" -- true)
expect_eq "store dir mode" 700 "$(stat -c %a "$WORK/perm")"
for f in data.mdb lock.mdb FORMAT; do
	expect_eq "$f mode" 600 "$(stat -c %a "$WORK/perm/$f")"
done

# corruption: overwrite the middle of data.mdb with garbage.  fsck must
# report it (exit 1), readers must fail cleanly (exit 2), nobody crashes.
rr record -q -o "$WORK/c" -- sh -c "echo hello > $WORK/h; cat $WORK/h"
size=$(stat -c %s "$WORK/c/data.mdb")
python3 - "$WORK/c/data.mdb" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
# every page after the two meta pages: flip bytes in the payload area
for page in range(2, len(b) // 4096):
    for off in range(200, 4096, 97):
        b[page * 4096 + off] ^= 0x5a
open(p, "wb").write(b)
PY
set +e
rr fsck "$WORK/c" >"$WORK/out" 2>&1; st=$?
set -e
[ "$st" = 1 ] || { cat "$WORK/out"; fail "fsck of a corrupt store exited $st"; }
grep -q "PROBLEMS FOUND\|CORRUPT" "$WORK/out" || fail "fsck verdict: $(cat "$WORK/out")"
for cmd in ps log files; do
	set +e
	rr $cmd "$WORK/c" >/dev/null 2>"$WORK/err"; st=$?
	set -e
	[ "$st" -le 2 ] || fail "$cmd on a corrupt store exited $st: $(cat "$WORK/err")"
done
pass

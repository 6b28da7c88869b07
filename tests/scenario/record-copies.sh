#!/bin/sh
# Bytes that reach a file without passing through a write(2) buffer are
# read back after the call (or from the mapping) and kept, so `cat`
# rebuilds them exactly: copy_file_range, sendfile, splice, a writable
# shared mapping at msync, munmap and exit, fallocate; and coreutils cp.
. "$SCENARIO_LIB"

D=$WORK/d S=$WORK/store
mkdir -p "$D"
out=$(rr record -q -o "$S" -- "$PROGS/p_copies" "$D")
expect_eq "program output" "p_copies done" "$out"

for f in a b c m m2 f; do
	rr cat "$S" "$D/$f" >"$WORK/$f.cat" || fail "cat $f"
	cmp "$D/$f" "$WORK/$f.cat" || fail "$f: recorded bytes differ from the file"
done
expect_eq "a" "0167896789abcdef" "$(cat "$WORK/a.cat")"
expect_eq "b" "[abcdef" "$(cat "$WORK/b.cat")"
expect_eq "c" "through a pipe" "$(cat "$WORK/c.cat")"
expect_eq "m" "mapped-2" "$(cat "$WORK/m.cat")"
expect_eq "m2" "atexit" "$(cat "$WORK/m2.cat")"
# the mapping's first landing, at msync
rr log --json -c landed -P "$D/m" "$S" | json_map 'bytes.fromhex(o["data_hex"]).decode()' >"$WORK/landed"
printf 'mapped-1\nmapped-2\n' >"$WORK/want"
diff -u "$WORK/want" "$WORK/landed" || fail "mapping landings"
expect_eq "fallocate grew f" 4 "$(rr files --json "$S" | json_map 'o["versions"][-1]["size"] if o["path"].endswith("/f") else None')"
expect_eq "futimens recorded" 1 "$(rr log --json -c futimens "$S" | wc -l)"

# coreutils cp copies with copy_file_range
printf 'copied by cp\n' >"$D/src2"
rr record -q -o "$WORK/s2" -- cp "$D/src2" "$D/dst2"
rr cat "$WORK/s2" "$D/dst2" | cmp - "$D/src2" || fail "cp"
pass

#!/bin/sh
# A file workload: every call in order with its result and object, and the
# exact bytes `cat` rebuilds at the end and before the first change.
. "$SCENARIO_LIB"

D=$WORK/d S=$WORK/store
mkdir -p "$D"
printf 'OLD\n' >"$D/old"

out=$(rr record -q -o "$S" -- "$PROGS/p_files" "$D")
expect_eq "program output" "p_files done" "$out"

rr log --json -p p_files "$S" |
	json_map '"%s %s %s %s" % (o["call"], o["ret"], o.get("path","-").replace("'"$D"'/", ""), o.get("offset","-")) if o.get("path","").startswith("'"$D"'/") else None' \
	>"$WORK/calls"
cat >"$WORK/want" <<'WANT'
open 3 a.txt -
write 6 a.txt 0
pwrite 1 a.txt -
dup 4 a.txt -
write 6 a.txt 6
close 0 a.txt -
close 0 a.txt -
open 3 a.txt -
write 5 a.txt 12
close 0 a.txt -
stat 0 a.txt -
preimage 0 old -
rename 0 a.txt -
creat 3 b.txt -
write 10 b.txt 0
ftruncate 0 b.txt -
close 0 b.txt -
open 3 gone -
close 0 gone -
unlink 0 gone -
open -1 gone -
open -1 b.txt -
WANT
diff -u "$WORK/want" "$WORK/calls" || fail "log differs"

# errno of the failed opens, and the created flags (an exclusive create
# is known to make its file without a stat before it: not when it fails)
rr log --json -p p_files -c open "$S" |
	json_map '"%s %s %s" % (o["ret"], o["errno"], o.get("created", False))' >"$WORK/opens"
printf '3 0 True\n3 0 False\n3 0 True\n-1 2 False\n-1 17 False\n' >"$WORK/want"
diff -u "$WORK/want" "$WORK/opens" || fail "open results differ"

rr cat "$S" "$D/old" >"$WORK/old.end"
printf 'Jello\nworld\ntail\n' >"$WORK/want"
cmp "$WORK/want" "$WORK/old.end" || fail "cat old at the end"

rr cat --at 0 "$S" "$D/old" >"$WORK/old.start"
printf 'OLD\n' >"$WORK/want"
cmp "$WORK/want" "$WORK/old.start" || fail "cat old before the recording"

expect_eq "b.txt" "0123" "$(rr cat "$S" "$D/b.txt")"
expect_status "cat of an unlinked file" 1 rr cat "$S" "$D/gone"
grep -q "did not exist" "$WORK/err" || fail "cat gone: $(cat "$WORK/err")"
expect_status "cat of a renamed-away file" 1 rr cat "$S" "$D/a.txt"

# cat with a relative path resolves against the caller's cwd
expect_eq "relative cat" "0123" "$(cd "$D" && rr cat "$S" b.txt)"

rr files --json "$S" |
	json_map '"%s %s %d %s" % (o["path"].replace("'"$D"'/", ""), o["initial"], len(o["versions"]), o["versions"][-1]["state"])' \
	>"$WORK/files"
cat >"$WORK/want" <<'WANT'
a.txt absent 6 absent
b.txt absent 3 file
gone absent 2 absent
old file 1 file
WANT
diff -u "$WORK/want" "$WORK/files" || fail "files differ"

# call sites are symbolized when shown: function and file:line (tests are
# built with -g)
rr log --stacks -c pwrite "$S" >"$WORK/stacks"
grep -q "at main (p_files.c:[0-9]*)" "$WORK/stacks" ||
	fail "call site: $(cat "$WORK/stacks")"
# libdw is loaded for that, and only for that (the loader's own trace)
LD_DEBUG=files rr log --stacks -c pwrite "$S" 2>"$WORK/ld" >/dev/null
grep -q "file=libdw" "$WORK/ld" || fail "log --stacks did not load libdw"
LD_DEBUG=files rr log -c pwrite "$S" 2>"$WORK/ld" >/dev/null
grep -q "file=libdw" "$WORK/ld" && fail "log without --stacks loaded libdw"

expect_status "fsck" 0 rr fsck "$S"
grep -q "OK" "$WORK/out" || fail "fsck verdict"

# Both ends of a pipe are named as the kernel names them, pipe:[INODE]
# (the shim takes the inode from one fstat, not from /proc/self/fd)
P=$WORK/pipes
want=$(rr record -q -o "$P" -- sh -c 'echo hi | readlink /proc/self/fd/0')
case $want in pipe:\[[0-9]*\]) ;; *) fail "readlink of a pipe: $want" ;; esac
rr log --json "$P" |
	json_map '"%s %s" % (o["args"][0], o["path"]) if o["proc"] == 1 and o["call"] == "close" and o.get("path","").startswith("pipe:") else None' |
	sort -u >"$WORK/pipe-ends"
printf '3 %s\n4 %s\n' "$want" "$want" >"$WORK/pipe-want"
diff -u "$WORK/pipe-want" "$WORK/pipe-ends" || fail "pipe ends misnamed"
pass

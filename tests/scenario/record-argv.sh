#!/bin/sh
# The arguments of every recorded process image, as `ps` shows them, are
# what /proc/PID/cmdline held when the image started: empty and spaced
# arguments kept apart, an exec'd image's own, and a forked child's those
# of its parent as they are then (a child may have rewritten them).
# A new image takes them from the arguments the loader hands the shim's
# constructor, without reading /proc, up to 256 KiB; a forked child reads
# them up to 4 KiB from the memory they are in, or from /proc when a
# process title ran past their end.  A cut command line says so in ps and
# log.
. "$SCENARIO_LIB"

# ps --json on stdin: each process's argv as one JSON line (PROGRAM: only
# the processes running it), sorted; TAIL=1: from the second argument on
# for a forked child
argvs() {
	python3 -c '
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    if len(sys.argv) > 1 and o["program"] != sys.argv[1]:
        continue
    a = o["argv"][1:] if o["parent"] and "'"${TAIL:-}"'" else o["argv"]
    print(json.dumps(a))' "$@" | sort
}
argv_of() { rr ps --json "$1" | argvs "$2"; }

S=$WORK/store
rr record -q -o "$S" -- /bin/echo "a b" "" 'c	d' >/dev/null
expect_eq "spaced and empty arguments" '["/bin/echo", "a b", "", "c\td"]' "$(argv_of "$S" echo)"

# An exec'd image; a shell's subshell, a forked child that keeps its
# parent's arguments, and the two programs it runs.
rr record -q -o "$WORK/s2" -- sh -c 'exec /bin/true one "two three"' >/dev/null
expect_eq "exec'd image" '["/bin/true", "one", "two three"]' "$(argv_of "$WORK/s2" true)"
rr record -q -o "$WORK/s3" -- sh -c '(/bin/true x; /bin/true y; :); :' >/dev/null
printf '%s\n' '["/bin/true", "x"]' '["/bin/true", "y"]' \
	'["sh", "-c", "(/bin/true x; /bin/true y; :); :"]' \
	'["sh", "-c", "(/bin/true x; /bin/true y; :); :"]' >"$WORK/want3"
rr ps --json "$WORK/s3" | argvs >"$WORK/got3"
diff -u "$WORK/want3" "$WORK/got3" || fail "forked child's and exec'd images' arguments"

# A new image keeps up to 256 KiB of arguments: 5,000 bytes whole; three
# of 100,000 bytes, the first 262,144 bytes of them, said to be cut.
long=$(python3 -c 'print("x" * 2500)')
rr record -q -o "$WORK/s4" -- /bin/true "$long" "$long" >/dev/null
expect_eq "5,000 bytes of arguments, whole" \
	"[\"/bin/true\", \"$long\", \"$long\"]" "$(argv_of "$WORK/s4" true)"
expect_eq "5,000 bytes: not cut" false \
	"$(rr ps --json "$WORK/s4" | json_map 'str(o["argv_cut"]).lower()')"
huge=$(python3 -c 'print("y" * 100000)')
rr record -q -o "$WORK/s6" -- /bin/true "$huge" "$huge" "$huge" >/dev/null
python3 -c '
import json
want = ("/bin/true\0" + ("y" * 100000 + "\0") * 3).encode()[:262144]
print(json.dumps([a.decode() for a in want.split(b"\0")]))' >"$WORK/want6"
expect_eq "300,000 bytes of arguments: the first 256 KiB" "$(cat "$WORK/want6")" "$(argv_of "$WORK/s6" true)"
expect_eq "300,000 bytes: cut" true \
	"$(rr ps --json "$WORK/s6" | json_map 'str(o["argv_cut"]).lower()')"
rr ps "$WORK/s6" | grep -q '\[argv cut at 262144 bytes\]$' || fail "ps does not say the argv was cut: $(rr ps "$WORK/s6" | cut -c1-80)"
rr log "$WORK/s6" | grep -q '+++ start .*(cut at 262144 bytes)$' || fail "log does not say the argv was cut"

# run re-executes a program with its recorded arguments: 100,000 bytes
# whole (before, the first 4,096), and refuses a command line that was cut
# rather than run another command.
rr record -q -o "$WORK/s8" -- /bin/true "$huge" >/dev/null
expect_status "run: 100,000 bytes of arguments" 0 rr run "$WORK/s8" --shepherd 1 --root "$WORK/root8"
grep -q '^consistent replay' "$WORK/out" || fail "run of s8: $(cat "$WORK/out" "$WORK/err")"
expect_status "run: arguments cut" 2 rr run "$WORK/s6" --shepherd 1 --root "$WORK/root6"
grep -q 'process 1 (true): its arguments were recorded only in part (the first 262144 bytes)' "$WORK/err" ||
	fail "run does not say why: $(cat "$WORK/err")"

# A forked child's arguments are read up to 4,096 bytes.
rr record -q -o "$WORK/s7" -- sh -c '(/bin/true; :); : '"$long$long" >/dev/null
rr ps --json "$WORK/s7" | json_map '"%s %s %d" % (o["parent"] > 0 and o["program"] == "dash", str(o["argv_cut"]).lower(), len("\0".join(o["argv"])))' |
	grep '^True' >"$WORK/got7"
expect_eq "a forked shell's 5,000 bytes of arguments: 4,096 of them" "True true 4096" "$(cat "$WORK/got7")"

# A forked child that rewrote its arguments in place before it recorded
# anything of its own shows what /proc showed (the rewritten bytes).
rr record -q -o "$WORK/s5" -- "$PROGS/p_argv_fork" abcdef >/dev/null
expect_eq "forked child after rewriting its arguments" \
	"$(printf '%s\n' '["ABCDEF"]' "[\"$PROGS/p_argv_fork\", \"abcdef\"]" | sort)" \
	"$(rr ps --json "$WORK/s5" | TAIL=1 argvs)"

# A title written over the 0 that ended the last argument, as
# setproctitle() does when it runs on into the environment: /proc then
# gives only the first string, and the forked child's record says what
# /proc said (the child prints what it read there).
rr record -q -o "$WORK/s9" -- "$PROGS/p_argv_fork" abcdef title >"$WORK/title9"
want=$(python3 -c '
import json, sys
b = open(sys.argv[1], "rb").read()
print(json.dumps([a.decode() for a in b[:-1].split(b"\0")] if b.endswith(b"\0") else None))' "$WORK/title9")
expect_eq "what /proc gave the child" "[\"$PROGS/p_argv_fork\"]" "$want"
expect_eq "forked child after a title past its arguments' end" "$want" \
	"$(rr ps --json "$WORK/s9" | TAIL= argvs p_argv_fork | grep -v '"abcdef"')"
pass

#!/bin/sh
# The arguments of every recorded process image, as `ps` shows them, are
# what /proc/PID/cmdline held when the image started: empty and spaced
# arguments kept apart, a long command line cut at 4096 bytes as the
# recorder reads it, an exec'd image's own, and a forked child's those of
# its parent (read from /proc then: a child may have rewritten them).  A
# new image takes them from the arguments the loader hands the shim's
# constructor, without reading /proc.
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

# 5,000 bytes of arguments: the first 4,096 bytes of the command line.
long=$(python3 -c 'print("x" * 2500)')
rr record -q -o "$WORK/s4" -- /bin/true "$long" "$long" >/dev/null
python3 -c '
import json, sys
want = ("/bin/true\0" + "x" * 2500 + "\0" + "x" * 2500 + "\0").encode()[:4096]
want = [a.decode() for a in want.split(b"\0")]
if want[-1] == "":
    want.pop()
print(json.dumps(want))' >"$WORK/want4"
expect_eq "long command line, cut at 4096 bytes" "$(cat "$WORK/want4")" "$(argv_of "$WORK/s4" true)"

# A forked child that rewrote its arguments in place before it recorded
# anything of its own shows what /proc showed (the rewritten bytes).
rr record -q -o "$WORK/s5" -- "$PROGS/p_argv_fork" abcdef >/dev/null
expect_eq "forked child after rewriting its arguments" \
	"$(printf '%s\n' '["ABCDEF"]' "[\"$PROGS/p_argv_fork\", \"abcdef\"]" | sort)" \
	"$(rr ps --json "$WORK/s5" | TAIL=1 argvs)"
pass

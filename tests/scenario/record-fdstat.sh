#!/bin/sh
# fstat by descriptor as libc makes it: fstatat(fd, "", AT_EMPTY_PATH), and
# statx the same way.  The recorded path is the descriptor's file, as
# for a write to it, taken from the shim's table of descriptors: no
# readlinkat of /proc/self/fd/N to spell it out (lib/recorder.c,
# fstat_of_fd).  p_fdstat opens 20 files and stats each both ways, then
# a pipe.
. "$SCENARIO_LIB"

D=$WORK/d
mkdir "$D"
for i in $(seq 0 19); do printf '%*s' $i '' >"$D/f$i"; done
S=$WORK/s
rr record -q -o "$S" -- "$PROGS/p_fdstat" "$D" 20 >"$WORK/out" ||
	fail "p_fdstat exited $?"
expect_eq "sizes as the program saw them" \
	"$(for i in $(seq 0 19); do echo "f$i $i $i"; done; echo "pipe ok")" \
	"$(cat "$WORK/out")"
for c in fstatat statx; do
	rr log --json -c $c "$S" | json_map 'o.get("path", "")' |
		grep "^$D/" >"$WORK/$c" || :
	expect_eq "$c: the files' paths" \
		"$(for i in $(seq 0 19); do echo "$D/f$i"; done)" "$(cat "$WORK/$c")"
done

if ! command -v strace >/dev/null 2>&1 ||
	! strace -f -qq -o /dev/null true >/dev/null 2>&1; then
	echo "strace cannot trace here: the readlinkats are not counted"
	pass
	exit 0
fi
strace -f -qq -o "$WORK/st" -e trace=readlinkat,openat \
	env LD_PRELOAD="$RETRO_SHIM" RETRO_STORE="$WORK/s2" \
	"$PROGS/p_fdstat" "$D" 20 >/dev/null ||
	fail "the recorded p_fdstat under strace failed"
# The start names the descriptors the process inherited so; the files and
# the pipe are known from their open and pipe, stdout from the start: from
# the first file's open on, none is asked of /proc.
n=$(awk -v f="\"$D/f0\"" 'index($0, "openat(") && index($0, f) { on = 1 }
	on && /readlinkat\(AT_FDCWD, "\/proc\/self\/fd\// { n++ }
	END { print n + 0 }' "$WORK/st")
expect_eq "readlinkats of descriptors after the first open" 0 "$n"
pass

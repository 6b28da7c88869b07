#!/bin/sh
# Recording where /proc is not mounted (a mount namespace without it).  The
# shim cannot learn the executable or inherited descriptors' objects, so
# those are recorded as "" (fsck accepts an empty path), and no importer
# can tell whether a segment's writer still runs: record imports what was
# sealed and leaves the rest, which an import with /proc back takes.
# Needs unshare(1) and the right to unmount /proc: skipped otherwise.
. "$SCENARIO_LIB"

unshare -m sh -c 'umount -l /proc' 2>/dev/null || {
	echo "SKIP: $TEST_NAME: cannot make a mount namespace without /proc"
	exit 77
}
S=$WORK/store
out=$(unshare -m sh -c 'umount -l /proc && exec "$@"' sh \
	"$RETRO_REPLAY" record -q -o "$S" -- sh -c \
	'echo one >"$1"; (echo two >>"$1") & wait; cat "$1"' sh "$WORK/f" \
	2>"$WORK/rec.err") || fail "record without /proc exited $?"
expect_eq "the command's output" "one
two" "$out"
# what it left, it says, even with -q
if rr fsck "$S" | grep -q "^spool: 0 segment"; then
	[ ! -s "$WORK/rec.err" ] || fail "record said: $(cat "$WORK/rec.err")"
else
	grep -q "segment(s) left in the spool: without /proc" "$WORK/rec.err" ||
		fail "record did not say what it left: $(cat "$WORK/rec.err")"
fi
expect_status "fsck without /proc" 0 unshare -m sh -c \
	'umount -l /proc && exec "$@"' sh "$RETRO_REPLAY" fsck "$S"
# The subshell's segment was sealed when it ended, but the shell's first
# segments are only sealed when it exits; whether each writer still runs
# could not be asked, so any that record did not take are still in the
# spool, and an import with /proc takes them now.
rr import "$S" >/dev/null 2>&1 || fail "import with /proc back"
expect_status "fsck" 0 rr fsck "$S"
grep -q "0 segment(s) awaiting import" "$WORK/out" ||
	fail "segments left after the import: $(cat "$WORK/out")"
expect_eq "writes recorded" 'write(1<'"$WORK"'/f>, "one\n", 4) = 4
write(1<'"$WORK"'/f>, "two\n", 4) = 4' \
	"$(rr log -c write "$S" | sed -n 's/^.*\(write(1<.*\) @.*$/\1/p')"
pass

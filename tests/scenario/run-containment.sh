#!/bin/sh
# Nothing outside the replay root is ever written, whatever paths the
# recording names: a write through a symlinked directory, paths with "..",
# a path outside the directory of the rest; by a peer (applied by the
# driver) and by a shepherded process (run for real).
. "$SCENARIO_LIB"
need_mount_ns

D=$WORK/data
OUT=$WORK/outside
S=$WORK/store
mkdir -p "$D/sub" "$OUT"
ln -s "$OUT" "$D/link"
# the roots live outside $WORK, which the recording writes in
ROOTS=$(mktemp -d "${TMPDIR:-/tmp}/retro-roots.XXXXXX")
trap 'rm -rf "$ROOTS"; cleanup' EXIT

# the peer: writes through the symlink, through "..", and next to $D
rr record -q -o "$S" -- sh -c "echo a > '$D/link/x'; echo b > '$D/sub/../y';
	echo c > '$D/../w'; echo d > '$D/z'"
# the process to re-execute: an independent program, after the peer
rr record -q -o "$S" -- sh -c "cat '$D/z' > '$D/copy'"
expect_eq "recorded through the link" a "$(cat "$OUT/x")"
rm "$OUT/x" "$D/y" "$WORK/w" "$D/z" "$D/copy"
before=$(cd "$WORK" && find . \( -path ./store -o -path ./out -o -path ./err \) -prune -o -print | sort)

expect_status "replay" 0 rr run -q "$S" --shepherd 2 --root "$ROOTS/r1"
expect_eq "the copy in the root" d "$(cat "$ROOTS/r1$D/copy")"
expect_eq "y in the root" b "$(cat "$ROOTS/r1$D/y")"
expect_eq "w in the root" c "$(cat "$ROOTS/r1$WORK/w")"
[ ! -e "$ROOTS/r1$OUT/x" ] || fail "the peer's write through the symlink landed in the root's $OUT"

# a shepherded process writing through the symlink: refused, not escaped
expect_status "shepherded writer replay" 0 rr run -q "$S" --shepherd 1 --root "$ROOTS/r2"
[ ! -e "$OUT/x" ] || fail "a shepherded write went through the symlink to the host"

# without --root, the root goes where the recording did not write: here
# $TMPDIR is $WORK, which it wrote in
expect_status "default root" 0 env TMPDIR="$WORK" "$RETRO_REPLAY" run -q "$S" --shepherd 2
root=$(sed -n 's/^root: //p' "$WORK/out")
case $root in
"$WORK"/*|"") fail "the default root is $root, inside what the recording wrote" ;;
esac
expect_eq "the copy in the default root" d "$(cat "$root$D/copy")"
rm -rf "$root"

after=$(cd "$WORK" && find . \( -path ./store -o -path ./out -o -path ./err \) -prune -o -print | sort)
expect_eq "the host tree, before and after the replays" "$before" "$after"
pass

#!/bin/sh
# A crafted recording that reaches outside the directory it works in (an
# absolute symlink to a directory outside, "..", a directory swapped for a
# symlink half-way, a hard link and a symlink to files outside) is
# replayed, with the program as a peer (its actions applied by the driver)
# and re-executed (shepherded), naive and consistent: nothing outside the
# replay root changes.  A guard tree is hashed before and after.
. "$SCENARIO_LIB"
need_mount_ns

D=$WORK/data G=$WORK/guard S=$WORK/store
ROOTS=$(mktemp -d "${TMPDIR:-/tmp}/retro-roots.XXXXXX")
trap 'rm -rf "$ROOTS"; cleanup' EXIT
mkdir -p "$D/sub" "$G/dir"
echo guard >"$G/target"
echo inner >"$G/dir/f"
echo data >"$D/sub/x"
cp -a "$G" "$WORK/guard.orig"

# the craft, recorded for real (it writes into the guard natively)
cat >"$WORK/craft.sh" <<SH
ln -s "$G" "$D/abs"
echo a >"$D/abs/f1"
echo b >"$D/sub/../../guard/f2"
mkdir "$D/dir"
echo c >"$D/dir/f3"
mv "$D/dir" "$D/dir.old"
ln -s "$G" "$D/dir"
echo d >"$D/dir/f4"
echo d2 >"$D/dir/dir/f"
ln "$G/target" "$D/hard"
echo e >>"$D/hard"
ln -s "$G/target" "$D/fl"
echo f >"$D/fl"
rm "$D/abs/dir/f"
mv "$D/dir.old/f3" "$D/abs/f5"
SH
rr record -q -o "$S" -- sh "$WORK/craft.sh"
expect_eq "the craft reached the guard natively" "f" "$(cat "$G/target")"
# the process to re-execute while the craft is a peer
rr record -q -o "$S" -- sh -c "cat '$D/sub/x' > '$D/copy'"

# back to the state before the recording, then the guard's fingerprint
rm -rf "$G" "$D"
cp -a "$WORK/guard.orig" "$G"
mkdir -p "$D/sub"
echo data >"$D/sub/x"
fingerprint() {
	(cd "$WORK" && find . \( -path ./store -o -path ./out -o -path ./err \) -prune -o \
		-printf '%p %y %m %s %i %l\n' | sort
	 find "$G" -type f -exec sha256sum {} + | sort)
}
# out and err exist before: on tmpfs a directory's size counts its entries
: >"$WORK/out"
: >"$WORK/err"
before=$(fingerprint)

n=0
for how in "--shepherd 2" "--shepherd 2 --naive" "--shepherd 1" "--shepherd 1 --naive"; do
	n=$((n + 1))
	set +e
	rr run -q "$S" $how --root "$ROOTS/r$n" >"$WORK/out" 2>"$WORK/err"
	st=$?
	set -e
	[ $st -le 1 ] || fail "run $how exited $st: $(cat "$WORK/err")"
	after=$(fingerprint)
	if [ "$before" != "$after" ]; then
		echo "$before" >"$WORK/fp.before"
		echo "$after" >"$WORK/fp.after"
		diff -u "$WORK/fp.before" "$WORK/fp.after" >&2 || true
		fail "run $how changed something outside its root"
	fi
done
# the replays did replay: the copy and the renamed file are in the roots
expect_eq "the copy in the root" data "$(cat "$ROOTS/r1$D/copy")"
expect_eq "the guard's target as it was" guard "$(cat "$G/target")"
pass

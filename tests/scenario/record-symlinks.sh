#!/bin/sh
# A file changed through a symbolic link (to it, or to a directory on its
# way) is recorded under the name the kernel gives it: at its first change
# the descriptor is bound to that name, its pre-image is the target's, and
# so are its writes.  (Before, they were all taken for the link's path:
# cat of the target missed the writes made through the link, and the link
# read as a regular file.)
. "$SCENARIO_LIB"

D=$WORK/d
mkdir "$D" "$D/real"
echo orig >"$D/target"
echo inner >"$D/real/f"
ln -s target "$D/link"
ln -s real "$D/dirlink"
S=$WORK/store
rr record -q -o "$S" -- sh -c "
	echo 'via link' >>'$D/link'
	echo direct >>'$D/target'
	echo 'via dirlink' >>'$D/dirlink/f'"
expect_eq "target" "$(cat "$D/target")" "$(rr cat "$S" "$D/target")"
expect_eq "real/f" "$(cat "$D/real/f")" "$(rr cat "$S" "$D/real/f")"
expect_status "the link is not a file the recording changed" 1 rr cat "$S" "$D/link"
rr log "$S" | grep -q "pre-image of \"$D/target\"" || fail "no pre-image of the target"
rr log "$S" | grep -q "pre-image of \"$D/link\"" && fail "a pre-image of the link"
rr log "$S" | grep -q "write(1<$D/real/f>, \"via dirlink" ||
	fail "the write through dirlink is not the file's: $(rr log "$S" | grep dirlink)"
expect_status "fsck" 0 rr fsck "$S"
pass

#!/bin/sh
# Children killed (SIGKILL) while they start, some while their spool
# segment is being made, leave a sound store: a segment is published under
# its name only with its header complete, so no importer finds one empty
# or without a header ("unreadable"), and what a killed child left half
# made (NAME.new) goes once it is a minute old.  (CPython's test_os kills a
# child during its exec; before, ps and fsck then reported the store.)
. "$SCENARIO_LIB"

S=$WORK/store
out=$(rr record -q -o "$S" -- "$PROGS/p_killkids" 100 "$WORK/f")
expect_eq "every child killed" "killed 100" "$out"
expect_status "fsck after the kills" 0 rr fsck "$S"
grep -q "OK" "$WORK/out" || fail "fsck: $(cat "$WORK/out")"
rr ps "$S" >"$WORK/ps" 2>"$WORK/err"
expect_eq "ps: no complaint" "" "$(cat "$WORK/err")"
grep -q p_killkids "$WORK/ps" || fail "the parent is not in the recording"

# what a killed child leaves: an old NAME.new goes, a young one stays (its
# process may still be making it), and neither is a problem for fsck
spool=$(cat "$S/SPOOL")
# record's last import removed the spool if nothing was left in it: made
# again as a recorder makes it (0700; a spool others may enter is not used)
mkdir -p -m 0700 "$spool"
: >"$spool/p900-i0-t1-s0.seg.new"
touch -d '2 minutes ago' "$spool/p900-i0-t1-s0.seg.new"
: >"$spool/p901-i0-t1-s0.seg.new"
expect_status "fsck with NAME.new files" 0 rr fsck "$S"
expect_status "import" 0 rr import "$S"
[ ! -e "$spool/p900-i0-t1-s0.seg.new" ] || fail "an old NAME.new was kept"
[ -e "$spool/p901-i0-t1-s0.seg.new" ] || fail "a young NAME.new was removed"
# a published segment without a header is still reported
: >"$spool/p902-i0-t1-s0.seg"
expect_status "fsck with an empty segment" 1 rr fsck "$S"
grep -q "p902-i0-t1-s0.seg" "$WORK/out" ||
	fail "fsck does not name the empty segment: $(cat "$WORK/out")"
pass

#!/bin/sh
# A getdents64 keeps the entries it returned, and only those: the
# recorder reserves room for the whole buffer before the call (32 KiB
# from readdir) and gives back what the call did not fill
# (lib/recorder.c, trim).  Listing a small directory 200 times took 10
# segments (32 KiB to 4 MiB) when every listing held its 32 KiB, and 4
# now: the room is still asked for before the call, so a segment with
# less than 32 KiB left is still rotated.  The listings' records stay
# whole: each in the log with its entries, and the store passes fsck.
. "$SCENARIO_LIB"

N=200
S=$WORK/store
mkdir "$WORK/d" && : >"$WORK/d/a" && : >"$WORK/d/bb" || fail "cannot make $WORK/d"
D=$(cd "$WORK/d" && pwd -P)
# LD_PRELOAD alone: nothing imports (or removes a segment) until the
# process exits, so the segments it counts are all it made
out=$(LD_PRELOAD="$RETRO_SHIM" RETRO_STORE="$S" "$PROGS/p_dirents" "$D" $N) ||
	fail "p_dirents failed: $out"
echo "$out"
entries=${out#entries }
entries=${entries%% *}
segs=${out##* }
expect_eq "entries listed" 4 "$entries"
[ "$segs" -ge 1 ] && [ "$segs" -le 5 ] ||
	fail "$N listings of a 4-entry directory took $segs segments (at most 5 expected)"
rr log -c getdents64 "$S" >"$WORK/log"
expect_eq "listings with their entries" $N \
	"$(grep -c "^ *[0-9.]* 1:p_dirents *getdents64(3<$D>, \".*, 32768) = [1-9][0-9]*\$" "$WORK/log")"
expect_eq "listings at the end" $N \
	"$(grep -c "^ *[0-9.]* 1:p_dirents *getdents64(3<$D>, \"\", 32768) = 0\$" "$WORK/log")"
expect_status "fsck" 0 rr fsck "$S"
pass

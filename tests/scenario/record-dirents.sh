#!/bin/sh
# A getdents64 keeps the entries it returned, and only those: the
# recorder reserves room for the whole buffer before the call (32 KiB
# from readdir) and gives back what the call did not fill
# (lib/recorder.c, trim).  Listing a small directory 200 times took 10
# segments (32 KiB to 4 MiB) when every listing held its 32 KiB, and 4
# now: the room is still asked for before the call, so a segment with
# less than 32 KiB left is still rotated.  The listings' records stay
# whole: each in the log with its entries, and the store passes fsck;
# also when a signal handler lists the directory inside a listing.
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

# Listings from a signal handler, inside the listing they interrupt when
# they come during one: the handler's records then follow an action that
# has not given back its room yet, which stays as a pad between them.
# Every listing ends with one getdents64 that returns 0, and every one
# keeps exactly the bytes it returned.
S2=$WORK/store2
out=$(rr record -q -o "$S2" -- "$PROGS/p_dirents" "$D" 2000 alarm) ||
	fail "p_dirents with alarms failed: $out"
echo "$out"
main=$(echo "$out" | sed -n 's/^listings \([0-9]*\) handler [0-9]*$/\1/p')
handler=$(echo "$out" | sed -n 's/^listings [0-9]* handler \([0-9]*\)$/\1/p')
expect_eq "listings of the main loop" 2000 "$main"
rr log --json -c getdents64 "$S2" >"$WORK/json"
python3 - "$WORK/json" $((main + handler)) <<'PY' || fail "getdents64 records do not match the listings"
import collections, json, sys
recs = [json.loads(line) for line in open(sys.argv[1])]
ends = sum(1 for a in recs if a["ret"] == 0)
# the directory's whole listing, as most calls returned it; a call that
# returned part of it (a signal pending) returned a piece of those bytes
full = collections.Counter(a["data_hex"] for a in recs
                           if a["ret"] > 0).most_common(1)[0][0]
wrong = sum(1 for a in recs if a["ret"] != 0 and
            (a["ret"] < 0 or a.get("data_len") != a["ret"] or
             len(a["data_hex"]) != 2 * a["ret"] or a["data_hex"] not in full))
print("listings ended: %d of %s; records whose bytes are not what they "
      "returned: %d" % (ends, sys.argv[2], wrong))
sys.exit(0 if ends == int(sys.argv[2]) and wrong == 0 else 1)
PY
expect_status "fsck with alarms" 0 rr fsck "$S2"
pass

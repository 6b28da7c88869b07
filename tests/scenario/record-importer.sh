#!/bin/sh
# The importer's lock, STORE/IMPORTER (lib/store_int.h).  While record
# holds it, a recorded process that exits only seals its segments and
# record's imports take them; once nobody holds it, a process imports its
# own at exit, as it always did.  Nothing is left behind either way:
#   - under record, record's imports take every process's segments
#     (before, each process imported its own and --stats said 0);
#   - a process that outlives record imports its own after record let go;
#   - with the lock held by someone else, a process leaves its segments in
#     the spool, and imports them itself when the lock is free.
. "$SCENARIO_LIB"

S=$WORK/store
mkdir "$WORK/w"
rr record --stats -q -o "$S" -- sh -c 'echo a > "$1"; cat "$1"' sh \
	"$WORK/w/f" >"$WORK/out" 2>"$WORK/stats"
expect_eq "output" "a" "$(cat "$WORK/out")"
segs=$(sed -n 's/^retro: record imported \([0-9]*\) segment.*/\1/p' "$WORK/stats")
[ -n "$segs" ] || fail "no --stats line: $(cat "$WORK/stats")"
[ "$segs" -ge 2 ] ||
	fail "record's imports took $segs segment(s), not the two processes': $(cat "$WORK/stats")"
expect_eq "programs" "dash cat" "$(rr ps --json "$S" | json_map "o['program']" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "cat's copy" "1" "$(rr log -c copy_file_range "$S" | grep -c "cat.*w/f>.* = 2$" || true)"
expect_status "fsck" 0 rr fsck "$S"

# a process that outlives record: record has let go, so it imports itself
spool=$(cat "$S/SPOOL")
rr record -q -o "$S" -- sh -c '(sleep 0.5; echo late > "$1"; touch "$1.done") &' \
	sh "$WORK/w/g"
i=0
while [ ! -e "$WORK/w/g.done" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -e "$WORK/w/g.done" ] || fail "the background process did not finish"
# its exit import may still be running: wait for the spool to empty,
# without any command that would import for it
i=0
while ls "$spool" 2>/dev/null | grep -q '\.seg$' && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
expect_eq "segments left in the spool by a process that outlived record" "" \
	"$(ls "$spool" 2>/dev/null | grep '\.seg$' || true)"
expect_eq "late write" "late" "$(rr cat "$S" "$WORK/w/g")"

# the lock held: the process leaves its segment; free: it imports it
flock -s "$S/IMPORTER" sleep 3 &
holder=$!
sleep 0.3
LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S sh -c 'echo held > "$1"' sh "$WORK/w/h"
[ -n "$(ls "$spool" 2>/dev/null | grep '\.seg$' || true)" ] ||
	fail "with the importer's lock held, the process imported its own segments"
wait $holder
expect_eq "imported later" "held" "$(rr cat "$S" "$WORK/w/h")"
LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S sh -c 'echo free > "$1"' sh "$WORK/w/k"
expect_eq "segments left with the lock free" "" \
	"$(ls "$spool" 2>/dev/null | grep '\.seg$' || true)"
expect_eq "imported at exit" "free" "$(rr cat "$S" "$WORK/w/k")"

# liblmdb is loaded only by a process that opens the store (lib/mdb.c):
# under record, none does; the exit import just above loaded it itself.
rr record -q -o "$S" -- sh -c 'grep -c liblmdb "/proc/$$/maps" || true' \
	>"$WORK/maps" || fail "recording the maps check failed"
expect_eq "liblmdb mappings in a process recorded under record" "0" \
	"$(cat "$WORK/maps")"
expect_status "fsck at the end" 0 rr fsck "$S"

# A spool that is gone holds nothing to import: an import does not make it
# again (before, every import did: the last one of each record, and ps's).
spool=$(cat "$S/SPOOL")
[ ! -e "$spool" ] || fail "the spool $spool is still there after record"
if command -v strace >/dev/null 2>&1 &&
	strace -f -qq -o /dev/null true >/dev/null 2>&1; then
	# (how many times a record makes it is not fixed: an import while
	# the command starts may find it empty and remove it, and the
	# command's first segment makes it again)
	"$RETRO_REPLAY" record -q -o "$S" -- true || fail "recording true failed"
	[ ! -e "$spool" ] || fail "the spool $spool is still there after record"
	strace -f -qq -e trace=mkdir,mkdirat -o "$WORK/mk2" \
		"$RETRO_REPLAY" ps "$S" >/dev/null || fail "ps failed"
	expect_eq "spool directories made by ps" 0 \
		"$(grep -c "\"$spool\"" "$WORK/mk2" || true)"
fi
pass

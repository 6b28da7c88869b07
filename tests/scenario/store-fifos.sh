#!/bin/sh
# A FIFO in place of one of a store's files (FORMAT, data.mdb, SPOOL,
# shared.map, a spool segment) never hangs a reader: each command ends
# within 20 s with an exit status and, for an error, a message.
. "$SCENARIO_LIB"

RETRO_SPOOL_BASE=none rr record -q -o "$WORK/s" -- sh -c "echo x > $WORK/f"
expect_status "the intact store" 0 rr fsck "$WORK/s"

for what in FORMAT data.mdb SPOOL shared.map spool/p9-i0-t1-s0.seg; do
	S=$WORK/s-$(echo "$what" | tr / _)
	cp -r "$WORK/s" "$S"
	rm -f "$S/$what"
	mkfifo "$S/$what"
	for cmd in ps log files check fsck; do
		set +e
		timeout 20 "$RETRO_REPLAY" "$cmd" "$S" >"$WORK/out" 2>"$WORK/err"
		st=$?
		set -e
		[ "$st" != 124 ] || fail "$cmd hangs on a FIFO as $what"
		[ "$st" -lt 128 ] || fail "$cmd on a FIFO as $what died: $st"
		if [ "$st" = 2 ]; then
			[ -s "$WORK/err" ] || [ -s "$WORK/out" ] ||
				fail "$cmd on a FIFO as $what: exit 2 without a message"
		fi
	done
done
# where the damage is the store's own metadata, the message says which
expect_status "FORMAT as a FIFO" 2 rr ps "$WORK/s-FORMAT"
grep -q "FORMAT is not a regular file" "$WORK/err" || fail "FORMAT: $(cat "$WORK/err")"
expect_status "data.mdb as a FIFO" 2 rr ps --no-import "$WORK/s-data.mdb"
grep -q "data.mdb is not a regular file" "$WORK/err" || fail "data.mdb: $(cat "$WORK/err")"
expect_status "a FIFO as a segment" 1 rr fsck "$WORK/s-spool_p9-i0-t1-s0.seg"
grep -q "p9-i0-t1-s0.seg: unreadable" "$WORK/out" || fail "segment: $(cat "$WORK/out")"
pass

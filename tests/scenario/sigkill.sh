#!/bin/sh
# SIGKILL at any moment loses no call that had returned: the writer
# acknowledges each write after it returns, the test kills it after k
# acknowledgements, and every acknowledged write must be in the store,
# which fsck accepts.
. "$SCENARIO_LIB"

for k in 1 7 50 333 2000; do
	S=$WORK/store$k F=$WORK/f$k
	mkfifo "$WORK/ack$k"
	LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S "$PROGS/p_kill" "$F" 100000 \
		3>"$WORK/ack$k" &
	pid=$!
	# keep the reading end open (no SIGPIPE), read k acknowledgements,
	# then kill at once
	exec 4<"$WORK/ack$k"
	head -c "$k" <&4 >/dev/null
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	exec 4<&-
	expect_status "fsck before import (k=$k)" 0 rr fsck "$S"
	n=$(rr log --json -c write -P "$F" "$S" | json_map 'o["ret"] if o["state"] == "done" else None' | wc -l)
	[ "$n" -ge "$k" ] || fail "k=$k: only $n of $k acknowledged writes recorded"
	lines=$(wc -l <"$F")
	[ "$n" -le "$lines" ] || fail "k=$k: $n writes recorded, file has $lines lines"
	# the bytes are exactly what the file holds, up to what was recorded
	rr cat "$S" "$F" >"$WORK/cat$k"
	head -n "$n" "$F" | cmp - "$WORK/cat$k" || fail "k=$k: content differs"
	expect_status "fsck after import (k=$k)" 0 rr fsck "$S"
	rr ps --json "$S" | json_map 'o["status"]' >"$WORK/st"
	expect_eq "status of the killed process" "killed?" "$(cat "$WORK/st")"
done
pass

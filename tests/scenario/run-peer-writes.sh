#!/bin/sh
# The driver holds a peer's run of writes back and applies them in one go
# (a window per file), but a re-executed process must still find each of
# them in the file from its recorded moment on.  A peer writes bursts of
# 300 small records all over a growing file, busy-waiting in between (no
# recorded call between two bursts); a watcher, re-executed, reads the
# whole file between the bursts and prints a checksum.  The replay
# prints what was recorded, and leaves the file as recorded.
. "$SCENARIO_LIB"
need_mount_ns

S=$WORK/store
mkdir "$WORK/w"
: >"$WORK/w/f"
rr record -q -o "$S" -- sh -c "'$PROGS/p_scribe' peer '$WORK/w/f' 6 &
	'$PROGS/p_scribe' watch '$WORK/w/f' 6 > '$WORK/w/out'; wait"
[ "$(wc -l <"$WORK/w/out")" -eq 6 ] || fail "recorded: $(cat "$WORK/w/out")"
id=$(rr ps --json "$S" | json_map 'o["id"] if o["argv"][1:2] == ["watch"] else None')
[ -n "$id" ] || fail "no watcher in $(rr ps "$S")"

expect_status "replay" 0 rr run -q "$S" --shepherd "$id" --root "$WORK/root"
expect_eq "what the watcher saw" "$(cat "$WORK/w/out")" \
	"$(cat "$WORK/root$WORK/w/out")"
cmp "$WORK/w/f" "$WORK/root$WORK/w/f" ||
	fail "the peer's file differs from the recorded one"
pass

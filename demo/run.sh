#!/bin/sh
# The demo: two independent programs share a file as a flag.  The writer
# writes "safe", sleeps, then "not safe"; the reader, started a little
# later, reads the flag while the writer sleeps.  Both record into one
# store, on one timeline; then we look inside.
set -eu
cd "$(dirname "$0")/.."
RR=${RETRO_REPLAY:-$PWD/replay/retro-replay}
D=$(mktemp -d "${TMPDIR:-/tmp}/retro-demo.XXXXXX")
S=$D/store F=$D/files/flag
mkdir "$D/files"

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

say "retro-replay record -o $S -- sh -c 'echo safe > $F; sleep 1; echo \"not safe\" > $F'  &"
"$RR" record -q -o "$S" -- sh -c "echo safe > $F; sleep 1; echo 'not safe' > $F" &
writer=$!
sleep 0.4
say "retro-replay record -o $S -- sh -c 'read v < $F; echo \"reader saw: \$v\"'"
"$RR" record -q -o "$S" -- sh -c "read v < $F; echo \"reader saw: \$v\""
wait $writer

say "retro-replay ps $S"
"$RR" ps "$S"
say "retro-replay log -P $F $S"
"$RR" log -P "$F" "$S"
say "retro-replay cat --at 0.5 $S $F     # what the reader could see"
"$RR" cat --at 0.5 "$S" "$F"
say "retro-replay cat $S $F              # the end"
"$RR" cat "$S" "$F"
say "retro-replay files $S"
"$RR" files "$S"
say "retro-replay fsck $S"
"$RR" fsck "$S"

# Re-execute the writer (process 1) with its sleep squeezed, two ways.
# Consistent replay finds nothing (exit 0); naive replay finds the reader's
# read (exit 1).  Anything else is a failure of the demo.
say "retro-replay run $S --shepherd 1           # consistent: virtual time"
rc=0; "$RR" run -q "$S" --shepherd 1 || rc=$?
[ "$rc" = 0 ] || { echo "demo: consistent replay exited $rc, not 0" >&2; exit 1; }
say "retro-replay run $S --shepherd 1 --naive   # naive: the sleep as a lock breaks"
rc=0; "$RR" run -q "$S" --shepherd 1 --naive || rc=$?
[ "$rc" = 1 ] || { echo "demo: naive replay exited $rc, not 1" >&2; exit 1; }

# And without replaying anything: the analysis of the recording names the
# sleep the reader relies on (exit 1: a finding).
say "retro-replay check $S                      # which sleep is a lock?"
rc=0; "$RR" check "$S" || rc=$?
[ "$rc" = 1 ] || { echo "demo: check exited $rc, not 1" >&2; exit 1; }
echo
echo "Both replays squeezed the writer's one-second sleep.  The consistent one"
echo "kept the reader's observation; the naive one moved 'not safe' before it."
echo "check found the same assumption from the recording alone."
echo "The store is in $S; try: $RR log --stacks $S"


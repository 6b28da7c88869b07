#!/bin/sh
# Call sites of calls a signal handler makes.  p_sigsites recurses to a new
# depth in each of 200 rounds and there sends itself SIGUSR1; the handler
# writes a line.  Each write's site is the handler's own chain
# (in_handler <- on_usr1), cut where the shim delivered the signal: what
# lies beyond is where the signal came, not where the write was made.  And
# a chain found once serves every later call from the same frames at
# another depth: the process unwinds a handful of stacks, not one for each
# round (its kill() from dive's frames, a new stack pointer each time;
# its handler's write, on a new one too).
. "$SCENARIO_LIB"

rounds=200
S=$WORK/s
RETRO_STACK_DEBUG=1 "$RETRO_REPLAY" record -q -o "$S" -- \
	"$PROGS/p_sigsites" "$WORK/out" $rounds 2>"$WORK/debug" ||
	fail "p_sigsites exited $?: $(cat "$WORK/debug")"
expect_eq "lines written" $rounds "$(wc -l <"$WORK/out")"
rr log --json --stacks -c write "$S" >"$WORK/log"
python3 - "$WORK/log" "$WORK/out" $rounds <<'PY' || fail "the handler's call sites are not its own"
import json, sys
log, path, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
acts = [o for o in map(json.loads, open(log)) if o.get("path") == path]
bad = 0
for o in acts:
    frames = [f.split(" (")[0] for f in o.get("site", "").split(" <- ")]
    if frames != ["in_handler", "on_usr1"]:
        bad += 1
        if bad <= 3:
            print("write %d: site %r" % (o["seq"], o.get("site")))
if len(acts) != rounds:
    print("%d writes recorded, %d made" % (len(acts), rounds))
    bad += 1
sys.exit(1 if bad else 0)
PY
unwound=$(sed -n 's/^retro: chains of .*p_sigsites: [0-9]* noted before, [0-9]* calls took one, \([0-9]*\) unwound.*/\1/p' "$WORK/debug")
[ -n "$unwound" ] || fail "no chains line: $(cat "$WORK/debug")"
[ "$unwound" -le 20 ] || fail "$unwound stacks unwound for $rounds rounds: $(cat "$WORK/debug")"
expect_status "fsck" 0 rr fsck "$S"
pass

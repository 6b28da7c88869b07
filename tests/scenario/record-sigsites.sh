#!/bin/sh
# Call sites of calls a signal handler makes.  p_sigsites recurses to a new
# depth in each of 300 rounds and there sends itself SIGUSR1; the handler
# writes a line.  Each write's site is the handler's own chain
# (in_handler <- on_usr1), cut where the shim delivered the signal: what
# lies beyond is where the signal came, not where the write was made.  And
# a chain found once serves every later call from the same frames at
# another depth: the process unwinds a handful of stacks, not one for each
# round (its kill() from dive's frames, a new stack pointer each time;
# its handler's write, on a new one too).  Each of those calls takes an
# entry of the thread's stack cache (lib/recorder.c, scache_take): 300
# rounds go round its 256 entries, and every kill() still has its own
# site, eight of dive's frames.
. "$SCENARIO_LIB"

rounds=300
S=$WORK/s
RETRO_STACK_DEBUG=1 "$RETRO_REPLAY" record -q -o "$S" -- \
	"$PROGS/p_sigsites" "$WORK/out" $rounds 2>"$WORK/debug" ||
	fail "p_sigsites exited $?: $(cat "$WORK/debug")"
expect_eq "lines written" $rounds "$(wc -l <"$WORK/out")"
rr log --json --stacks -c write,kill "$S" >"$WORK/log"
python3 - "$WORK/log" "$WORK/out" $rounds <<'PY' || fail "call sites differ from the callers"
import json, sys
log, path, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
acts = list(map(json.loads, open(log)))
writes = [o for o in acts if o["call"] == "write" and o.get("path") == path]
kills = [o for o in acts if o["call"] == "kill"]
want = {"write": ["in_handler", "on_usr1"], "kill": ["dive"] * 8}
bad = 0
for o in writes + kills:
    frames = [f.split(" (")[0].split(".")[0]
              for f in o.get("site", "").split(" <- ")]
    if frames != want[o["call"]]:
        bad += 1
        if bad <= 3:
            print("%s %d: site %r" % (o["call"], o["seq"], o.get("site")))
if len(writes) != rounds or len(kills) != rounds:
    print("%d writes and %d kills recorded, %d of each made" %
          (len(writes), len(kills), rounds))
    bad += 1
sys.exit(1 if bad else 0)
PY
unwound=$(sed -n 's/^retro: chains of .*p_sigsites: [0-9]* noted before, [0-9]* calls took one, \([0-9]*\) unwound.*/\1/p' "$WORK/debug")
[ -n "$unwound" ] || fail "no chains line: $(cat "$WORK/debug")"
[ "$unwound" -le 20 ] || fail "$unwound stacks unwound for $rounds rounds: $(cat "$WORK/debug")"
expect_status "fsck" 0 rr fsck "$S"
pass

#!/bin/sh
# Recording from inside signal handlers: two timers send signals every few
# hundred microseconds, the handlers (nesting) open, append, close and read
# the clock while three threads do the same outside them.  No deadlock, no
# crash, and every call is in the store exactly once, with the trap layer
# and without it (a handler that interrupts the recorder's own work runs
# when the recorder lets go).  SIGHANDLER_MS sets how long the program runs.
. "$SCENARIO_LIB"

MS=${SIGHANDLER_MS:-600}
for mode in trap no-trap; do
	D=$WORK/d-$mode S=$WORK/s-$mode
	mkdir "$D"
	opt=; [ $mode = no-trap ] && opt=--no-trap
	set +e
	RETRO_TIME_READS=1 timeout 120 "$RETRO_REPLAY" record $opt -q -o "$S" -- \
		"$PROGS/p_sighandler" "$D" 3 "$MS" >"$WORK/out-$mode" 2>"$WORK/err-$mode"
	st=$?
	set -e
	[ $st = 0 ] || fail "$mode: p_sighandler exited $st (124: it hung): $(cat "$WORK/err-$mode")"
	grep -q "^failures 0$" "$WORK/out-$mode" || fail "$mode: calls failed: $(cat "$WORK/out-$mode")"
	expect_eq "$mode: handlers as the program set them" \
		"sigaction reports the handler: 1 signal: 1" \
		"$(head -2 "$WORK/out-$mode" | tr '\n' ' ' | sed 's/ $//')"
	rr log --json -c open,write,close,clock_gettime "$S" >"$WORK/log-$mode"
	python3 - "$WORK/out-$mode" "$WORK/log-$mode" "$D" $mode <<'PY' || fail "$mode: the store and the program disagree"
import collections, json, os, sys
printed = {}
for line in open(sys.argv[1]):
    k, _, v = line.rpartition(" ")
    if k.startswith(("h-", "m")):
        printed[k] = int(v)
calls = collections.Counter()
realtime = 0
for line in open(sys.argv[2]):
    o = json.loads(line)
    if o["call"] == "clock_gettime":
        realtime += o["args"][0] == 0
        continue
    name = os.path.basename(o.get("path", ""))
    if name in printed and (o["call"] != "write" or o["ret"] == 1):
        calls[(o["call"], name)] += 1
ok = True
for name, n in sorted(printed.items()):
    size = os.path.getsize(os.path.join(sys.argv[3], name))
    got = [calls[(c, name)] for c in ("open", "write", "close")]
    if got != [n, n, n] or size != n:
        print("%s: program %d, file %d bytes, store open/write/close %s" % (name, n, size, got))
        ok = False
if printed["h-alrm"] < 20 or printed["h-usr1"] < 20:
    print("too few signals to mean anything: %s" % printed); ok = False
# each append reads CLOCK_REALTIME once (the loops read CLOCK_MONOTONIC)
if realtime != sum(printed.values()):
    print("CLOCK_REALTIME reads: %d recorded, %d made" % (realtime, sum(printed.values())))
    ok = False
print("%s: %s" % (sys.argv[4], printed))
sys.exit(0 if ok else 1)
PY
	rr log "$S" | grep -q '!!!' && fail "$mode: losses: $(rr log "$S" | grep '!!!' | head -3)"
	expect_status "$mode: fsck" 0 rr fsck "$S"
done
pass

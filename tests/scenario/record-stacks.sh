#!/bin/sh
# Every recorded call names the call chain it was made from, also when
# many call sites alternate: p_stacks writes from twelve functions, each at
# a recursion depth of 0 to 2 and from one of two callers with alike
# frames, 40 rounds.  The recorder caches the stacks it unwinds, keyed by
# return address and stack pointer, and checks each hit against the stack
# (lib/recorder.c, capture_stack): the site of every write must be its
# writer, as deep as it was called, under the caller that called it.
# (The cache had one entry per slot, chosen by the key's low bits; two hot
# sites that met in one slot, as ASLR decided at each run, unwound at
# every call.  Which stacks are unwound is not visible in the recording:
# this checks that the cache that replaced it answers right.)
# In the mode "fork" each round is a forked child of its own: the writes
# are sites only children reach, at the same stack pointer under either
# caller, and the children share what they unwound (ssc_get): a shared
# entry must be taken only where the stack holds its chain.  In the modes
# "learned", a first p_stacks runs before, in the same recording, and the
# second takes the chains the first noted (lstack_get), with the same
# check.  In the mode "segments" the writes fill several small segments
# (RETRO_SPOOL_SIZE): each segment must carry the records of the chains
# its actions name, also for a cached chain already written in an earlier
# segment (lib/recorder.c, stack_cache.seen); an action whose chain its
# segment lacks is imported without a site.
. "$SCENARIO_LIB"

for mode in --trap --no-trap fork learned learned-fork segments; do
	S=$WORK/store$mode
	rounds=40
	case $mode in
	fork) opt= arg=fork ;;
	learned) opt= arg= ;;
	learned-fork) opt= arg=fork ;;
	segments) opt= arg= ;;
	*) opt=$mode arg= ;;
	esac
	case $mode in
	learned*)
		# A second p_stacks in the same recording takes the chains
		# the first unwound (lib/recorder.c, lstack_get): a chain
		# noted under one caller must be taken only where the stack
		# holds it.
		RETRO_STACK_DEBUG=1 rr record -q -o "$S" -- sh -c \
			'"$1" "$2.first" "$3" $4 && "$1" "$2" "$3" $4' sh \
			"$PROGS/p_stacks" "$WORK/out$mode" $rounds "$arg" \
			2>"$WORK/debug$mode" || fail "$mode: exit status $?"
		# (the first p_stacks and its children found none noted)
		took=$(sed -n 's/^retro: chains of .*p_stacks: [1-9][0-9]* noted before, \([0-9]*\) calls took one.*/\1/p' \
			"$WORK/debug$mode" | awk '{ n += $1 } END { print n + 0 }')
		[ "$took" -ge 10 ] ||
			fail "$mode: the second p_stacks took $took noted chains: $(cat "$WORK/debug$mode")"
		;;
	segments)
		rounds=300
		RETRO_SPOOL_SIZE=65536 rr record -q -o "$S" -- \
			"$PROGS/p_stacks" "$WORK/out$mode" $rounds ||
			fail "$mode: exit status $?"
		;;
	*)
		rr record $opt -q -o "$S" -- "$PROGS/p_stacks" "$WORK/out$mode" $rounds $arg ||
			fail "$mode: exit status $?"
		;;
	esac
	rr log --json --stacks -c write "$S" >"$WORK/log$mode"
	got=$(json_map 'o["seq"] if o.get("path") == "'"$WORK/out$mode"'" else None' <"$WORK/log$mode" | wc -l)
	expect_eq "$mode: writes" $((rounds * 12)) "$got"
	python3 - "$WORK/log$mode" "$WORK/out$mode" <<'PY' || fail "$mode: call sites differ from the writers"
import json, sys
log, path = sys.argv[1], sys.argv[2]
acts = [o for o in map(json.loads, open(log)) if o.get("path") == path]
acts.sort(key=lambda o: (o["proc"], o["seq"]))
bad = 0
for i, o in enumerate(acts):
    r, n = divmod(i, 12)
    want_by = "a" if (r + n) % 2 else "b"
    want_depth = (r * 7 + n) % 3
    line = bytes.fromhex(o["data_hex"]).decode()
    frames = [f.split(" (")[0] for f in o.get("site", "").split(" <- ")]
    w = "w%d" % n
    deep = 0
    while deep < len(frames) and frames[deep] == w:
        deep += 1
    caller = frames[deep] if deep < len(frames) else None
    if line != "%s %s\n" % (w, want_by) or deep != want_depth + 1 or \
            caller != want_by:
        bad += 1
        if bad <= 5:
            print("write %d: %r, site %s; expected %s at depth %d under %s"
                  % (i, line, o.get("site"), w, want_depth, want_by))
sys.exit(1 if bad else 0)
PY
	expect_status "$mode: fsck" 0 rr fsck "$S"
done
pass

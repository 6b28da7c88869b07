#!/bin/sh
# check reads the store as it analyses it: its memory does not grow with
# the recording.  Two million recorded pwrites (some 290 MB as loaded
# actions, which check held before) are analysed in well under 64 MiB,
# and the analysis's own structures stay small.
. "$SCENARIO_LIB"

S=$WORK/store
mkdir "$WORK/w"
rr record -q -o "$S" -- "$PROGS/p_scribe" fill "$WORK/w/f" 2000000 ||
	fail "recording failed"
rr check --json "$S" >"$WORK/c.json"
python3 - "$WORK/c.json" <<'PY' || fail "$(cat "$WORK/c.json")"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["actions"] >= 2000000, o["actions"]
assert o["max_rss_bytes"] < 64 << 20, o["max_rss_bytes"]
assert o["analysis_bytes"] < 1 << 20, o["analysis_bytes"]
PY
pass

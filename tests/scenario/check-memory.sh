#!/bin/sh
# check, log and ps read the store as they go: their memory does not grow
# with the recording.  Two million recorded pwrites (some 290 MB as loaded
# actions, which these commands held before) are analysed, listed and
# summed up in well under 64 MiB each, and the analysis's own structures
# stay small.
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
# log and ps: their peak resident memory, as the kernel counts it
python3 - "$RETRO_REPLAY" "$S" <<'PY' || fail "log or ps grew with the recording"
import resource, subprocess, sys
for cmd in (["log"], ["log", "--json"], ["ps"]):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    n = 0
    with subprocess.Popen([sys.argv[1]] + cmd + [sys.argv[2]],
                          stdout=subprocess.PIPE) as p:
        for line in p.stdout:
            n += 1
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert p.returncode == 0, (cmd, p.returncode)
    assert n >= (2000000 if cmd[0] == "log" else 1), (cmd, n)
    # ru_maxrss of children is the largest of them so far, in KiB
    assert rss < 64 << 10, (cmd, rss, before)
PY
pass

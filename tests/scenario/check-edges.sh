#!/bin/sh
# check: the cases that check-clean.sh and check-findings.sh
# do not pin down.  Each case is independent
# and every failing case is listed (not only the first).
#  clean (no finding), where only the named edge orders a blind write:
#   (1) anonymous pipe, (2) FIFO  [repeated: the pipe write's end can be
#       recorded after the read that returned its bytes]
#   (3) flock(1), (4) parent writes then forks a child that overwrites,
#   (5) O_EXCL create after the holder's unlink (no stat before it),
#   (6) two `cat F > out` readers (coreutils cat uses copy_file_range),
#   (7) kill -> signal handler (semantics.md: kill -> signal delivery),
#   (7b) rename publishing that the reader does not poll for
#  findings:
#   (8) O_APPEND and shared stdout: none by default, both with --all
#   (9) `sleep 1; cp src f`: the sleep that supplied the slack is named
#   (10) an age check (stat of mtime) before the holder refreshes it (touch)
#   (11) --min-slack inf / 1e30 still exits 1
. "$SCENARIO_LIB"

D=$WORK/data
mkdir "$D"
bad=0
nok() { echo "FAIL: $TEST_NAME: $*" >&2; bad=1; }
nfind() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$1"; }
# clean NAME: the store $WORK/NAME.store has no findings (check exits 0)
clean() {
	set +e; rr check --json "$WORK/$1.store" >"$WORK/$1.json"; rc=$?; set -e
	[ "$rc" = 0 ] && [ "$(nfind "$WORK/$1.json")" = 0 ] ||
		nok "$1: expected no finding, exit $rc: $(rr check "$WORK/$1.store")"
}

# (1), (2): repeated, since the bug they expose depends on scheduling
mkfifo "$D/ff"
for i in 1 2 3 4 5; do
	rr record -q -o "$WORK/pipe$i.store" -- sh -c "cd '$D'; \
		(echo a > P; sleep 0.2; echo go) | (read x; echo b > P)" >/dev/null
	clean pipe$i
	rr record -q -o "$WORK/fifo$i.store" -- sh -c "cd '$D'; \
		(echo a > Q; sleep 0.2; echo go > ff) & (read x < ff; echo b > Q); wait" >/dev/null
	clean fifo$i
done

# (3) flock, the second holder writing blindly
rr record -q -o "$WORK/flock.store" -- sh -c "cd '$D'; : > L; \
	flock L sh -c 'sleep 0.3; echo 1 > C' & \
	(sleep 0.05; flock L sh -c 'echo 2 > C') & wait" >/dev/null
expect_eq "flock: recorded" 2 "$(cat "$D/C")"
clean flock

# (4) the parent writes K, sleeps, forks a child that overwrites K
rr record -q -o "$WORK/fork.store" -- sh -c "cd '$D'; echo a > K; sleep 0.2; \
	(echo b > K) & wait" >/dev/null
clean fork

# (5) O_EXCL lock file taken in turn by two programs that never stat it.
# The second starts trying once the first says, through the FIFO held,
# that it has the lock: an order of the tries, not of the two writes of
# E, which only the lock orders.  (It waited 0.3 s before, and the
# first, slower to start under a loaded make check, sometimes took the
# lock only after the second had come and gone.)
cat >"$WORK/excl.py" <<'EOF'
import os, sys, time
lock, counter, hold, val, role, fifo = sys.argv[1:7]
if role == "second":
    with open(fifo) as f:
        f.read()
while True:
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        break
    except FileExistsError:
        time.sleep(0.02)
os.close(fd)
if role == "first":
    with open(fifo, "w") as f:
        f.write("held\n")
time.sleep(float(hold))
with open(counter, "w") as f:  # blind: only the lock orders it
    f.write(val + "\n")
os.unlink(lock)
EOF
mkfifo "$D/held"
rr record -q -o "$WORK/excl.store" -- sh -c "cd '$D'; \
	python3 '$WORK/excl.py' X E 0.5 1 first held & \
	python3 '$WORK/excl.py' X E 0 2 second held & wait" >/dev/null
expect_eq "excl: recorded" 2 "$(cat "$D/E")"
[ "$(rr log "$WORK/excl.store" -P "$D/X" | grep -c EEXIST)" -ge 1 ] ||
	nok "excl: the second program never found the lock taken"
clean excl

# (6) two readers with cat, no writer after the first write
rr record -q -o "$WORK/cat.store" -- sh -c "cd '$D'; echo x > R; \
	(sleep 0.2; cat R > o1) & (sleep 0.5; cat R > o2) & wait" >/dev/null
clean cat

# (7) a hand-off by signal: A writes S then signals B, whose handler
# overwrites S.  B says it has its handler through a FIFO: a poll of a
# pid file here once drew a finding, when B wrote the file just after
# A's first look at it (a zero-slack look that the poll repeated; see
# the session 12 note).
cat >"$WORK/sig.sh" <<'EOF'
trap 'echo b > S; exit 0' USR1
echo ready > up
while :; do sleep 0.05; done
EOF
mkfifo "$D/up"
rr record -q -o "$WORK/sig.store" -- sh -c "cd '$D'; sh '$WORK/sig.sh' & \
	read x < up; echo a > S; kill -USR1 \$!; wait" >/dev/null
expect_eq "sig: recorded" b "$(cat "$D/S")"
clean sig

# (7b) rename publishing without polling: the reader opens F once, after
# the writer renamed the new version in; it saw the entry the rename made,
# which orders it after the rename and the write before it
echo old >"$D/F"
rr record -q -o "$WORK/ren.store" -- sh -c "cd '$D'; \
	(echo new > F.tmp; mv F.tmp F) & (sleep 0.3; cat F > seen) & wait" >/dev/null
expect_eq "ren: recorded" new "$(cat "$D/seen")"
clean ren

# (8) appends and shared standard output
rr record -q -o "$WORK/app.store" -- sh -c "cd '$D'; \
	(sleep 0.2; echo a >> log; echo A) & (sleep 0.5; echo b >> log; echo B) & wait" \
	>"$D/stdout"
clean app
set +e; rr check --all --json "$WORK/app.store" >"$WORK/all.json"; rc=$?; set -e
paths=$(python3 -c 'import json,sys; print(" ".join(sorted(f["path"] for f in json.load(open(sys.argv[1]))["findings"])))' "$WORK/all.json")
[ "$rc" = 1 ] && [ "$paths" = "$D/log $D/stdout" ] ||
	nok "--all: exit $rc, findings on: $paths"

# (9) the sleep before an external command that overwrites
printf x >"$D/src"
rr record -q -o "$WORK/cp.store" -- sh -c "cd '$D'; \
	sh -c 'echo a > T; sleep 1; cp src T; true' & \
	sh -c 'sleep 0.5; read v < T'; wait" >/dev/null
set +e; rr check --json "$WORK/cp.store" >"$WORK/cp.json"; rc=$?; set -e
python3 - "$WORK/cp.json" <<'PY' || nok "cp: exit $rc; $(rr check "$WORK/cp.store")"
import json, sys
f = json.load(open(sys.argv[1]))["findings"]
assert len(f) == 1 and f[0]["second"]["program"] == "cp", f
assert any(9e8 <= s["duration_ns"] <= 1.1e9 for s in f[0]["sleeps"]), f[0]["sleeps"]
PY

# ... and --confirm re-executes the shell that slept (cp's parent), not
# cp: squeezed naively, cp overwrites T before the reader reads it; with
# the sleep x 0.2 too, and not with x 0.7
for sc in 0.2 0.7; do
	set +e; rr check --json --confirm --scale $sc "$WORK/cp.store" >"$WORK/cpc.json"; set -e
	python3 - "$WORK/cpc.json" "$sc" <<'PY' || nok "cp --confirm --scale $sc: $(cat "$WORK/cpc.json")"
import json, sys
o = json.load(open(sys.argv[1]))
f = o["findings"][0]
k = f["confirm"]
assert k["shepherded"] != f["second"]["proc"], k
assert k["naive_diverged"] is True and k["consistent_diverged"] is False, k
assert k["confirmed"] is True, k
assert k["scaled_diverged"] is (sys.argv[2] == "0.2"), k
PY
done

# (10) an age check: B reads L's mtime at 0.6 s; A refreshes it at 1 s
rr record -q -o "$WORK/age.store" -- sh -c "cd '$D'; : > A; \
	(sleep 1; touch A) & (sleep 0.6; stat -c %Y A > age) & wait" >/dev/null
set +e; rr check "$WORK/age.store" >/dev/null; rc=$?; set -e
[ "$rc" = 1 ] || nok "age: stat of the mtime, then touch: exit $rc, expected 1"

# (11) a huge --min-slack keeps every finding failing
for m in inf 1e30; do
	set +e; rr check "$WORK/cp.store" --min-slack $m >/dev/null; rc=$?; set -e
	[ "$rc" = 1 ] || nok "--min-slack $m: exit $rc, expected 1"
done

[ "$bad" = 0 ] || exit 1
pass

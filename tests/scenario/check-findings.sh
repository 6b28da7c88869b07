#!/bin/sh
# check: timing dependencies are found, each with its slack and the sleeps
# that supplied it.  Each scenario is recorded into a store of its own:
# (a) the writer/reader of semantics.md, a sleep used as a lock; (b) a lock
# judged stale because it is still there after a sleep; (c) a polling loop
# that gives up on a timeout (a finding) and one that waits until it sees
# the flag (none); (d) two writers whose final content depends on who slept
# longer; (e) the same with two writers into one FIFO.  Slacks are
# asserted as ranges, never exact.
. "$SCENARIO_LIB"

D=$WORK/data
mkdir "$D"
MS=1000000

# jexpr FILE EXPR: EXPR evaluated with python3, `o` the JSON document and
# `f` its first finding on $P (the one of least slack), None if there is none
jexpr() {
	python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
on = [x for x in o["findings"] if x["path"] == sys.argv[3]]
f = on[0] if on else None
print(eval(sys.argv[2]))' "$1" "$2" "${P:-}"
}

# expect_true NAME WHAT EXPR: EXPR holds on $WORK/NAME.json
expect_true() {
	got=$(jexpr "$WORK/$1.json" "$3" 2>&1) || got="error: $got"
	[ "$got" = True ] ||
		fail "$1: $2: $3 is $got in:
$(python3 -m json.tool "$WORK/$1.json")"
}

# found NAME: check on $WORK/NAME.store exits 1, both as JSON (kept in
# $WORK/NAME.json) and for humans, where the path $P and its slack are named
found() {
	s=$WORK/$1.store
	expect_status "$1: check" 1 rr check "$s" --json
	cp "$WORK/out" "$WORK/$1.json"
	jexpr "$WORK/$1.json" 'o' >/dev/null ||
		fail "$1: check --json printed no JSON document: $(cat "$WORK/out")"
	expect_true "$1" "a finding on $P" 'f is not None'
	expect_true "$1" "sorted by slack" \
		'[x["slack_ns"] for x in o["findings"]] == sorted(x["slack_ns"] for x in o["findings"])'
	expect_true "$1" "processes" "o['processes'] == $(rr ps --json "$s" | wc -l)"
	expect_true "$1" "actions counted" 'o["actions"] > 0'
	expect_true "$1" "first before second" \
		'f["first"]["start_ns"] + f["slack_ns"] <= f["second"]["start_ns"]'
	expect_status "$1: check, human" 1 rr check "$s"
	grep -qF "$P" "$WORK/out" || fail "$1: human output does not name $P: $(cat "$WORK/out")"
	grep -q "slack" "$WORK/out" || fail "$1: human output does not say slack: $(cat "$WORK/out")"
}

# proc STORE PROGRAM: the id of the one process that ran PROGRAM
proc() { rr ps --json "$1" | json_map 'o["id"] if o["program"] == "'"$2"'" else None'; }
pid() { rr ps --json "$1" | json_map 'o["pid"] if o["id"] == '"$2"' else None'; }
# procs_on STORE PATH CALL-PREFIX: the processes with such calls on PATH, by
# their first such call's time
procs_on() {
	rr log --json "$1" -P "$2" | json_map \
		'o["proc"] if o["call"].startswith("'"$3"'") and o["state"] == "done" else None' |
		awk '!seen[$0]++'
}

# (a) sleep as a lock: the writer sleeps 1000 ms and overwrites F; the
# reader reads F at 300 ms.  Exactly as in run-writer-reader.sh.
X=$D/wr; mkdir "$X"
S=$WORK/wr.store
printf safe >"$X/in"
rr record -q -o "$S" -- sh -c "'$PROGS/writer' '$X/in' '$X/F' 1000 & \
	'$PROGS/reader' '$X/F' '$X/out' 300; wait" >/dev/null
expect_eq "wr: recorded: the reader saw" safe "$(cat "$X/out")"
P=$X/F
found wr
reader=$(proc "$S" reader)
writer=$(proc "$S" writer)
expect_true wr "findings only on F" '{x["path"] for x in o["findings"]} == {"'"$P"'"}'
expect_true wr "kind" 'f["kind"] == "content"'
expect_true wr "first: the reader's read" \
	'(f["first"]["proc"], f["first"]["pid"], f["first"]["program"], f["first"]["call"]) == '"($reader, $(pid "$S" "$reader"), 'reader', 'read')"
expect_true wr "second: the writer's overwrite (its O_TRUNC open or its write)" \
	'(f["second"]["proc"], f["second"]["pid"], f["second"]["program"]) == '"($writer, $(pid "$S" "$writer"), 'writer') and f['second']['call'] in ('write', 'open')"
expect_true wr "call sites" '"reader.c:" in f["first"]["site"] and "writer.c:" in f["second"]["site"]'
expect_true wr "the read at about 300 ms" "250*$MS <= f['first']['start_ns'] <= 600*$MS"
expect_true wr "slack in 0.5..1.0 s" "500*$MS <= f['slack_ns'] <= 1000*$MS"
expect_true wr "the writer's sleep of about 1 s supplied it" \
	"any(900*$MS <= s['duration_ns'] <= 1100*$MS and 'writer.c:' in s['site'] for s in f['sleeps'])"

# (b) a lock judged stale: A creates L, sleeps 1 s, removes L; B sleeps
# 0.6 s and takes any lock still there after its sleep for a stale one.
# B's look at L precedes A's removal only because A slept.
X=$D/stale; mkdir "$X"
S=$WORK/stale.store
rr record -q -o "$S" -- sh -c "cd '$X'; (: > L; sleep 1; rm -f L) & \
	(sleep 0.6; if [ -e L ]; then echo stale > verdict; else echo free > verdict; fi) & \
	wait" >/dev/null
expect_eq "stale: recorded" stale "$(cat "$X/verdict")"
P=$X/L
found stale
looker=$(procs_on "$S" "$P" stat)
remover=$(procs_on "$S" "$P" unlink)
{ [ -n "$looker" ] && [ -n "$remover" ]; } || fail "stale: no stat or no unlink of L: $(rr log "$S" -P "$P")"
expect_true stale "findings only on L" '{x["path"] for x in o["findings"]} == {"'"$P"'"}'
expect_true stale "kind" 'f["kind"] == "entry"'
expect_true stale "first: B's look" \
	'f["first"]["proc"] == '"$looker"' and f["first"]["program"] == "dash" and f["first"]["call"].startswith("stat")'
expect_true stale "second: A's removal" \
	'f["second"]["proc"] == '"$remover"' and f["second"]["program"] == "rm" and f["second"]["call"].startswith("unlink")'
expect_true stale "slack about 0.4 s" "250*$MS <= f['slack_ns'] <= 550*$MS"

# (c) polling with a timeout: A creates flag after 1 s; B looks three times,
# 0.1 s apart, then gives up and proceeds.  Only B's last look counts: one
# finding, on it.
X=$D/poll; mkdir "$X"
S=$WORK/poll.store
rr record -q -o "$S" -- sh -c "cd '$X'; (sleep 1; : > flag) & \
	for i in 1 2 3; do [ -e flag ] && break; sleep 0.1; done; \
	if [ -e flag ]; then echo seen > out; else echo 'gave up' > out; fi; wait" >/dev/null
expect_eq "poll: recorded" "gave up" "$(cat "$X/out")"
P=$X/flag
found poll
poller=$(procs_on "$S" "$P" stat)
creator=$(procs_on "$S" "$P" open)
last=$(rr log --json "$S" -P "$P" | json_map \
	'o["start_ns"] if o["proc"] == '"$poller"' and o["call"].startswith("stat") else None' | tail -n 1)
expect_eq "poll: B looked four times" 4 "$(rr log "$S" -P "$P" | grep -c stat)"
expect_true poll "exactly one finding" 'len(o["findings"]) == 1'
expect_true poll "first: B's last look" \
	'(f["first"]["proc"], f["first"]["start_ns"]) == '"($poller, $last)"' and f["first"]["call"].startswith("stat")'
expect_true poll "second: A's create" \
	'f["second"]["proc"] == '"$creator"' and f["second"]["call"].startswith("open")'
expect_true poll "slack" "500*$MS <= f['slack_ns'] <= 900*$MS"

# ... and the same loop without the timeout, waiting until it sees the flag:
# synchronized by its last look, no finding
X=$D/poll2; mkdir "$X"
S=$WORK/poll2.store
rr record -q -o "$S" -- sh -c "cd '$X'; (sleep 0.5; : > flag) & \
	until [ -e flag ]; do sleep 0.1; done; echo seen > out; wait" >/dev/null
expect_eq "poll2: recorded" seen "$(cat "$X/out")"
[ "$(rr log "$S" -P "$X/flag" | grep -c 'stat.*ENOENT')" -ge 2 ] ||
	fail "poll2: B did not look more than once before the flag: $(rr log "$S" -P "$X/flag")"
expect_status "poll2: check" 0 rr check "$S" --json
cp "$WORK/out" "$WORK/poll2.json"
expect_true poll2 "no findings" 'o["findings"] == []'

# (d) two writers: the final content of F depends only on who slept longer
X=$D/ww; mkdir "$X"
S=$WORK/ww.store
rr record -q -o "$S" -- sh -c "(sleep 0.2; echo a > '$X/F') & \
	(sleep 0.5; echo b > '$X/F') & wait" >/dev/null
expect_eq "ww: recorded" b "$(cat "$X/F")"
P=$X/F
found ww
# shellcheck disable=SC2046
set -- $(procs_on "$S" "$P" open)
[ $# = 2 ] || fail "ww: expected two writers of F: $(rr log "$S" -P "$P")"
expect_true ww "findings only on F" '{x["path"] for x in o["findings"]} == {"'"$P"'"}'
expect_true ww "kind" 'f["kind"] == "content"'
expect_true ww "first: the writer of a, second: the writer of b" \
	'(f["first"]["proc"], f["second"]["proc"]) == '"($1, $2)"
expect_true ww "slack about 0.3 s" "200*$MS <= f['slack_ns'] <= 420*$MS"
expect_true ww "the 0.5 s sleep listed" \
	"any(450*$MS <= s['duration_ns'] <= 600*$MS for s in f['sleeps'])"

# (e) two writers into one FIFO: which line the reader gets first depends
# only on who slept longer (an anonymous pipe shared the same way is
# shared output, left out unless --all)
X=$D/fifo; mkdir "$X"
S=$WORK/fifo.store
rr record -q -o "$S" -- sh -c "cd '$X'; mkfifo f; (sleep 0.2; echo a) > f & \
	(sleep 0.5; echo b) > f & cat f > got; wait" >/dev/null
expect_eq "fifo: recorded" "a
b" "$(cat "$X/got")"
P=$X/f
found fifo
expect_true fifo "one finding, on the FIFO's bytes" \
	'len(o["findings"]) == 1 and f["kind"] == "stream" and f["conflict"] == "write-write"'
expect_true fifo "both writes" \
	'f["first"]["call"] == "write" and f["second"]["call"] == "write"'
expect_true fifo "slack about 0.3 s" "200*$MS <= f['slack_ns'] <= 420*$MS"
pass

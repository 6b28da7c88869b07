#!/bin/sh
# Two shepherded processes hand off through a real pipe with sleeps between
# lines; children (the sleeps) are shepherded and matched to their recorded
# processes by fork order, counted from the start of the image that made
# them.  A shepherded loop polls a file that a peer
# writes later, with sleep between looks.
. "$SCENARIO_LIB"
need_mount_ns

S=$WORK/store
mkdir "$WORK/o"
rr record -q -o "$S" -- sh -c 'for i in 1 2 3; do echo line$i; sleep 0.3; done |
	(while read l; do echo "got $l"; done)' >"$WORK/o/recorded"
expect_eq "recorded" "got line1 got line2 got line3" "$(echo $(cat "$WORK/o/recorded"))"
expect_status "pipe replay" 0 rr run -q "$S" --shepherd 1 --root "$WORK/r1" \
	--report "$WORK/r1.json"
# its standard output was a file of the recording: reopened in the root
expect_eq "replayed output" "got line1 got line2 got line3" \
	"$(echo $(cat "$WORK/r1$WORK/o/recorded"))"
python3 -c "import json,sys; o=json.load(open(sys.argv[1])); sys.exit(not(o['divergences']==[] and len(o['shepherded'])==6 and o['wall_ns']*3 < o['virtual_ns']))" "$WORK/r1.json" ||
	fail "pipe replay report: $(cat "$WORK/r1.json")"
# a side of the pipeline is a fork of the shell that never exec'd: it
# cannot be re-created alone, and run says so
expect_status "a fork without exec, alone" 2 rr run -q "$S" --shepherd 2 \
	--root "$WORK/r0"
grep -q "never exec'd: it can only be re-executed with its parent" "$WORK/err" ||
	fail "a fork without exec: $(cat "$WORK/err")"

# polling: the poller looks every 0.2 s until the flag says go; a peer (an
# independent program recording into the same store) writes it at about
# 0.7 s.  Consistent replay of the poller sees the flag at the same look
# as recorded.
D=$WORK/data
mkdir "$D"
S2=$WORK/store2
rr record -q -o "$S2" -- sh -c "n=0; until [ -s '$D/flag' ]; do n=\$((n+1)); sleep 0.2; done
	echo looks \$n > '$D/looks'" &
sleep 0.7
rr record -q -o "$S2" -- sh -c "echo go > '$D/flag'"
wait
recorded=$(cat "$D/looks")
expect_status "polling replay" 0 rr run -q "$S2" --shepherd 1 --root "$WORK/r2"
expect_eq "looks" "$recorded" "$(cat "$WORK/r2$D/looks")"
# The same with both CPUs busy, five times: a sleep child that ends while
# its parent waits for it, not yet woken, must hold the peers back (the
# flag came two looks early when the driver saw the child gone before it
# marked its parent as waking).
busy=""
for i in 1 2; do
	(while :; do :; done) &
	busy="$busy $!"
done
trap 'kill $busy 2>/dev/null || true; cleanup' EXIT
for i in 1 2 3 4 5; do
	expect_status "polling replay, busy CPUs ($i)" 0 \
		rr run -q "$S2" --shepherd 1 --root "$WORK/rb$i"
	expect_eq "looks, busy CPUs ($i)" "$recorded" "$(cat "$WORK/rb$i$D/looks")"
done
kill $busy
busy=""

# A shepherded consumer (awk) reading a pipe fed by a peer producer that
# sleeps between lines: the driver feeds it the producer's recorded bytes
# when V reaches each write, and ends the pipe after the producer's last
# action on it.
S3=$WORK/store3
rr record -q -o "$S3" -- sh -c 'for i in 1 2 3; do echo line$i; sleep 0.3; done |
	awk "{ print \"got \" \$0 }"' >"$WORK/o/recorded3"
expect_eq "recorded consumer" "got line1 got line2 got line3" "$(echo $(cat "$WORK/o/recorded3"))"
consumer=$(rr ps --json "$S3" | json_map 'o["id"] if o["program"] == "mawk" or o["program"] == "gawk" or o["program"] == "awk" else None')
[ -n "$consumer" ] || fail "no awk in: $(rr ps "$S3")"
expect_status "fed consumer replay" 0 rr run -q "$S3" --shepherd "$consumer" \
	--root "$WORK/r3" --report "$WORK/r3.json"
expect_eq "consumer output in the root" "got line1 got line2 got line3" \
	"$(echo $(cat "$WORK/r3$WORK/o/recorded3"))"
python3 -c "import json,sys; o=json.load(open(sys.argv[1])); sys.exit(not(o['divergences']==[] and o['shepherded']==[$consumer] and o['wall_ns']*3 < o['virtual_ns']))" "$WORK/r3.json" ||
	fail "fed consumer report: $(cat "$WORK/r3.json")"

# A forked subshell that execs a shell which forks in turn: the new
# image's children are matched counting its forks from its exec, not
# from the process's start (the pre-exec sleep was taken for the first).
S4=$WORK/store4
rr record -q -o "$S4" -- sh -c '(sleep 0.1; echo a; exec sh -c "sleep 0.2; echo b; sleep 0.3; echo c"); echo d' \
	>"$WORK/o/recorded4"
expect_eq "recorded exec and forks" "a b c d" "$(echo $(cat "$WORK/o/recorded4"))"
expect_status "exec and forks replay" 0 rr run -q "$S4" --shepherd 1 \
	--root "$WORK/r4" --report "$WORK/r4.json"
expect_eq "exec and forks output" "a b c d" "$(echo $(cat "$WORK/r4$WORK/o/recorded4"))"
pass

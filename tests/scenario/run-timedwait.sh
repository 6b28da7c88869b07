#!/bin/sh
# Timed waits on V: a condition variable (REALTIME and MONOTONIC), poll
# of a pipe, a semaphore and epoll, each once timing out and once woken by
# another thread that sleeps first.  Consistent replay squeezes the timeouts to their deadlines
# and the woken waits to their wakers' moments: the program returns the
# same and sees the same elapsed times as recorded (in tenths of a second),
# so what it prints is no divergence.
. "$SCENARIO_LIB"
need_mount_ns

S=$WORK/store
OUT=$WORK/rec/said
mkdir "$WORK/rec"
rr record -q -o "$S" -- "$PROGS/p_timedwait" >"$OUT"
said="cond-timeout: ETIMEDOUT realtime 0.5
cond-mono-timeout: ETIMEDOUT monotonic 0.4
cond-signal: 0 flag 1 realtime 0.3
poll-timeout: 0 revents 0 monotonic 0.6
poll-data: 1 revents 1 monotonic 0.2
sem-timeout: -1 ETIMEDOUT realtime 0.7
sem-post: 0 monotonic 0.3
epoll-timeout: 0 monotonic 0.8
epoll-data: 1 events 1 monotonic 0.2"
expect_late "recorded" "$said" "$(cat "$OUT")"
said=$(cat "$OUT")

start=$(date +%s%N)
expect_status "consistent replay" 0 rr run -q "$S" --shepherd p_timedwait \
	--root "$WORK/root" --report "$WORK/r.json"
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "consistent: what it said" "$said" "$(cat "$WORK/root$OUT")"
[ "$took" -lt 1500 ] ||
	fail "the replay took $took ms of the recorded 3.7 s: not squeezed"
expect_eq "report" "0 []" "$(python3 -c "import json,sys; o=json.load(open(sys.argv[1])); print(len(o['divergences']), o['unsupported'])" "$WORK/r.json")"

# naive: squeezed too, but on the host's clocks: the waits that timed out
# see no time pass, and what it prints diverges
expect_status "naive replay" 1 rr run -q "$S" --shepherd p_timedwait \
	--root "$WORK/root2" --naive
expect_late "naive: the timeout" "cond-timeout: ETIMEDOUT realtime 0.0" \
	"$(head -n 1 "$WORK/root2$OUT")"
pass

#!/bin/sh
# POSIX timers and timerfds run on the replay's virtual clock: a periodic
# timer_create timer interrupting sleeps, timer_gettime, a blocking
# timerfd read, a periodic timerfd's count, poll and epoll ended by a
# timerfd's expiry, and a poll whose set does not hold the timerfd that
# expires during it.  The replayed program prints what it printed when
# recorded (the times each took, in tenths of a second), and the 3 s of
# waiting are squeezed.  Then the waits for a signal (pause, sigsuspend,
# sigwaitinfo, sigtimedwait, sigwait) that such timers end: before they
# were on V, pause hung the replay, its alarm never coming.  And raw futex
# waits made through syscall() (p_futex), which ran in real time.
. "$SCENARIO_LIB"
need_mount_ns

S=$WORK/store
mkdir "$WORK/w"
rr record -q -o "$S" -- "$PROGS/p_timers" >"$WORK/w/out"
said="timer: 3 rings in 0.9 s, code SI_TIMER, value 42
timer_gettime: 2.0 s left
timerfd: 1 after 0.5 s
timerfd periodic: 10 in 1.05 s
poll: 1 after 0.2 s
epoll: 1 after 0.2 s
poll elsewhere: 0 after 0.3 s
its timerfd: 1"
expect_late "recorded" "$said" "$(cat "$WORK/w/out")"
said=$(cat "$WORK/w/out")

start=$(date +%s%N)
expect_status "replay" 0 rr run -q "$S" --shepherd p_timers \
	--root "$WORK/root" --report "$WORK/r.json"
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "replayed" "$said" "$(cat "$WORK/root$WORK/w/out")"
[ "$took" -lt 3000 ] || fail "the replay took $took ms: the timers were not squeezed"
expect_eq "unsupported" "[]" "$(python3 -c "import json,sys; print([u['call'] for u in json.load(open(sys.argv[1]))['unsupported']])" "$WORK/r.json")"

S2=$WORK/store2
rr record -q -o "$S2" -- "$PROGS/p_sigwaits" >"$WORK/w/out2"
said="pause: -1 Interrupted system call, rang 1, after 1.0 s
sigsuspend: -1 Interrupted system call, rang 2, after 0.4 s
sigwaitinfo: SIGUSR2 value 7, after 0.6 s
sigtimedwait: -1 Resource temporarily unavailable, after 0.3 s
sigwait: 0 SIGALRM, after 1.0 s"
expect_late "p_sigwaits recorded" "$said" "$(cat "$WORK/w/out2")"
said=$(cat "$WORK/w/out2")
start=$(date +%s%N)
expect_status "p_sigwaits replay" 0 timeout 60 "$RETRO_REPLAY" run -q "$S2" \
	--shepherd p_sigwaits --root "$WORK/root2"
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "p_sigwaits replayed" "$said" "$(cat "$WORK/root2$WORK/w/out2")"
[ "$took" -lt 3000 ] || fail "the replay took $took ms: the waits were not squeezed"

S3=$WORK/store3
rr record -q -o "$S3" -- "$PROGS/p_futex" >"$WORK/w/out3"
said="wait 1 s: -1 Connection timed out after 1.0 s
wait until +0.5 s: -1 Connection timed out after 0.5 s
wait 5 s, woken: 0 woken after 0.3 s"
expect_late "p_futex recorded" "$said" "$(cat "$WORK/w/out3")"
said=$(cat "$WORK/w/out3")
expect_status "p_futex replay" 0 rr run -q "$S3" --shepherd p_futex \
	--root "$WORK/root3"
expect_eq "p_futex replayed" "$said" "$(cat "$WORK/root3$WORK/w/out3")"

# a timer that starts a thread stays the host's, and the report says so
S4=$WORK/store4
rr record -q -o "$S4" -- "$PROGS/p_timers" thread >"$WORK/w/out4"
expect_eq "thread timer recorded" "thread timer fired" "$(cat "$WORK/w/out4")"
rr run -q "$S4" --shepherd p_timers --root "$WORK/root4" \
	--report "$WORK/r4.json" >/dev/null 2>&1
expect_eq "thread timer replayed" "thread timer fired" \
	"$(cat "$WORK/root4$WORK/w/out4")"
expect_eq "thread timer unsupported" "['timer_create']" "$(python3 -c "import json,sys; print([u['call'] for u in json.load(open(sys.argv[1]))['unsupported']])" "$WORK/r4.json")"
pass

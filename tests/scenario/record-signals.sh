#!/bin/sh
# Signals, errno and EINTR: recording changes none of them.  Sleeps
# interrupted by a signal return what they return natively (the value,
# errno EINTR, the time left), a read interrupted by a SA_RESTART handler
# restarts and one without returns EINTR, and every intercepted call
# leaves errno as libc does, on success and on failure; with the trap
# layer and without it.
. "$SCENARIO_LIB"

# compare_rem NATIVE RECORDED: identical but for the "rem N" values (ms
# left of a 1 s sleep interrupted after 200 or 300 ms), which must agree
# within 150 ms and lie where an interruption leaves them
compare_rem() {
	python3 - "$1" "$2" <<'PY' || fail "sleep results differ from the native run"
import re, sys
a = open(sys.argv[1]).read().splitlines()
b = open(sys.argv[2]).read().splitlines()
ok = len(a) == len(b)
for x, y in zip(a, b):
    rx = re.sub(r"rem (\d+)", "rem N", x)
    ry = re.sub(r"rem (\d+)", "rem N", y)
    if rx != ry:
        print("native:   " + x + "\nrecorded: " + y); ok = False; continue
    for u, v in zip(re.findall(r"rem (\d+)", x), re.findall(r"rem (\d+)", y)):
        u, v = int(u), int(v)
        if abs(u - v) > 150 or not (300 <= v <= 810):
            print("remaining time: native %d ms, recorded %d ms" % (u, v)); ok = False
sys.exit(0 if ok else 1)
PY
}

"$PROGS/p_sigsleep" >"$WORK/native"
# the native run itself has the semantics we expect (rem values aside)
sed 's/rem [0-9][0-9]*/rem N/' "$WORK/native" >"$WORK/native.n"
cat >"$WORK/want" <<'W'
nanosleep: -1 EINTR rem N hits 1
clock_nanosleep: 4 errno unchanged rem N hits 1
clock_nanosleep realtime: 4 rem N hits 1
clock_nanosleep abs: 4 rem untouched 1 hits 1
sleep: 2 EINTR hits 1
usleep: -1 EINTR hits 1
raw nanosleep: -1 EINTR rem N hits 1
short nanosleep: 0 unchanged
invalid nanosleep: -1 EINVAL
read SA_RESTART: 1 unchanged x hits 1
read no SA_RESTART: -1 EINTR - hits 1
raw read SA_RESTART: 1 unchanged x hits 1
raw read no SA_RESTART: -1 EINTR - hits 1
asm read SA_RESTART: 1 unchanged x hits 1
asm read no SA_RESTART: -1 EINTR - hits 1
W
diff -u "$WORK/want" "$WORK/native.n" || fail "native semantics"

for mode in trap no-trap; do
	S=$WORK/s-$mode
	opt=; [ $mode = no-trap ] && opt=--no-trap
	rr record $opt -q -o "$S" -- "$PROGS/p_sigsleep" >"$WORK/rec-$mode"
	compare_rem "$WORK/native" "$WORK/rec-$mode"
	# the recording holds the interrupted sleeps with their results and
	# the time they said was left
	# (the pipe writers' 400 ms sleeps aside)
	rr log --json -p p_sigsleep -c nanosleep,clock_nanosleep,usleep,sleep,read "$S" |
		json_map '"%s %s %s" % (o["call"], o["ret"], o["errno"]) if o["args"][0] != 400000000 else None' >"$WORK/calls"
	cat >"$WORK/want" <<'W'
nanosleep -1 4
clock_nanosleep 4 4
clock_nanosleep 4 4
clock_nanosleep 4 4
sleep 2 0
usleep -1 4
nanosleep -1 4
nanosleep 0 0
nanosleep -1 22
read 1 0
read -1 4
read 1 0
read -1 4
read 1 0
read -1 4
W
	# the raw calls go through syscall(), which the shim interposes:
	# seen with the trap layer and without it; the asm reads only with it
	[ $mode = no-trap ] && sed -i '14,15d' "$WORK/want"
	diff -u "$WORK/want" "$WORK/calls" || fail "$mode: recorded sleeps and reads"
	# the remaining time in the store is the one the program printed
	rem_log=$(rr log --json -p p_sigsleep -c nanosleep "$S" |
		json_map 'o["args"][1] // 1000000 if o["ret"] == -1 and o["errno"] == 4 else None' | head -1)
	rem_out=$(sed -n 's/^nanosleep: .* rem \([0-9]*\) .*/\1/p' "$WORK/rec-$mode")
	expect_eq "$mode: recorded remaining time" "$rem_out" "$rem_log"
done

# errno across every intercepted call
mkdir "$WORK/n" "$WORK/r" "$WORK/t"
"$PROGS/p_errno" "$WORK/n" >"$WORK/errno.native"
grep -q "^close cwd: ok unchanged$" "$WORK/errno.native" || fail "p_errno did not finish"
RETRO_TIME_READS=1 rr record -q -o "$WORK/se" -- "$PROGS/p_errno" "$WORK/r" >"$WORK/errno.trap"
diff -u "$WORK/errno.native" "$WORK/errno.trap" || fail "errno differs when recorded"
RETRO_TIME_READS=1 rr record --no-trap -q -o "$WORK/se2" -- "$PROGS/p_errno" "$WORK/t" >"$WORK/errno.notrap"
diff -u "$WORK/errno.native" "$WORK/errno.notrap" || fail "errno differs when recorded without the trap layer"
# a lone thread that cancels itself: cancelled at its read, recorded or not
expect_eq "p_cancel" "cancelled" "$("$PROGS/p_cancel")"
expect_eq "p_cancel recorded" "cancelled" \
	"$(rr record -q -o "$WORK/sc" -- "$PROGS/p_cancel")"
# and the failures are in the store with the errno the program saw
expect_eq "a failed open recorded" "-1 2" \
	"$(rr log --json -c open -P "$WORK/r/none/x" "$WORK/se" | json_map '"%s %s" % (o["ret"], o["errno"])')"
expect_status "fsck" 0 rr fsck "$WORK/se"
pass

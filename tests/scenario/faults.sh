#!/bin/sh
# Fault injection into lib/'s own calls (RETRO_FAULT=NAME:WHAT:SKIP[:COUNT],
# the retro_os table): under EINTR, short reads and writes, EMFILE (made up
# and real) and a store directory deleted mid-recording, the recorded
# program's output is unchanged, what is lost is marked and log shows it,
# and fsck accepts what remains.  ENOSPC and MDB_MAP_FULL: loss.sh.
. "$SCENARIO_LIB"

N=3000
prog() { "$PROGS/p_threads" "$WORK/x" 2 $N 2>"$WORK/perr" && echo ok; }
pwrites() { rr log --json -c pwrite "$1" 2>/dev/null | wc -l; }

# EINTR, three times in a row, in each call lib/ makes while it creates a
# store, opens and rotates segments (64 KiB) and imports: repeated, so
# nothing is lost.  The control (EIO every time) shows the call is on the
# path for those where a hard error shows.
for name in openat fallocate ftruncate fstatat mkdirat read write flock \
	getdents64 unlinkat renameat fcntl getrandom readlinkat; do
	S=$WORK/eintr-$name
	out=$(RETRO_FAULT=$name:EINTR:0:3 RETRO_SPOOL_SIZE=65536 \
		LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S prog)
	expect_eq "EINTR in $name: program unaffected" ok "$out"
	expect_eq "EINTR in $name: no warning" "" "$(cat "$WORK/perr")"
	expect_eq "EINTR in $name: every call recorded" $((2 * N)) "$(pwrites "$S")"
	rr log "$S" | grep -q '!!!' && fail "EINTR in $name: $(rr log "$S" | grep '!!!' | head -2)"
	expect_status "EINTR in $name: fsck" 0 rr fsck "$S"
	case $name in
	openat|fallocate|fstatat|mkdirat|read|write|flock|renameat)
		S=$WORK/eio-$name
		# lib/ reads a store's FORMAT when the store exists already
		# (the process's argv comes from its constructor, not /proc)
		[ "$name" = read ] && LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S /bin/true
		out=$(RETRO_FAULT=$name:EIO:0 RETRO_SPOOL_SIZE=65536 \
			LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S prog)
		expect_eq "EIO in $name: program unaffected" ok "$out"
		# not recorded at all, or the process's argv missing
		grep -q "retro: not recording" "$WORK/perr" ||
			rr log "$S" | grep -q '+++ start .* argv \[\]' ||
			fail "EIO in $name made no difference: the call is not on the path"
		;;
	esac
done

# A store whose creation fails at a write (its spool's link, its SPOOL
# file, its FORMAT) leaves no spool directory behind in shared memory:
# one that no store names only waited there for the next store's sweep.
B=$WORK/spoolbase
mkdir -m 700 "$B" || fail "cannot make $B"
RETRO_SPOOL_BASE=$B RETRO_FAULT=write:EIO:0 LD_PRELOAD=$RETRO_SHIM \
	RETRO_STORE=$WORK/eio-write-base /bin/true 2>/dev/null ||
	fail "a failed store creation failed the program"
expect_eq "spool directories left by a failed store creation" "" "$(ls -A "$B")"

# short reads and writes, every time: lib/ finishes them
for name in read pread write getrandom; do
	S=$WORK/short-$name
	out=$(RETRO_FAULT=$name:SHORT:0 RETRO_SPOOL_SIZE=65536 \
		LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S prog)
	expect_eq "short $name: program unaffected" ok "$out"
	expect_eq "short $name: no warning" "" "$(cat "$WORK/perr")"
	expect_eq "short $name: every call recorded" $((2 * N)) "$(pwrites "$S")"
	grep -q '^retro-store [0-9]*$' "$S/FORMAT" || fail "short $name: FORMAT is $(cat "$S/FORMAT")"
	expect_status "short $name: fsck" 0 rr fsck "$S"
done

# EMFILE while a segment is opened: the calls until the retry are lost,
# marked, and counted: every pwrite is recorded or counted lost.  The count
# may also take in the few other calls of the threads it hit (their ends,
# the main thread's close and exit): which segment openings the three
# failures hit depends on whether record's import had a pool file ready.
# The 14 skipped are the shim's openat calls before them (its store's
# files, the clocksource and /proc/self/maps of tsc_init, ...).
S=$WORK/emfile
out=$(RETRO_FAULT=openat:EMFILE:14:3 RETRO_SPOOL_SIZE=65536 rr record -q -o "$S" -- \
	"$PROGS/p_threads" "$WORK/x" 2 $N && echo ok)
expect_eq "EMFILE: program unaffected" ok "$out"
rr log "$S" >"$WORK/log" 2>"$WORK/err"
grep -q '!!! LOST [0-9]* call(s) from here: Too many open files' "$WORK/log" ||
	fail "EMFILE: no loss marker"
grep -q "call(s) were not recorded" "$WORK/err" || fail "EMFILE: no warning from log"
lost=$(sed -n 's/.*!!! LOST \([0-9]*\) call(s).*/\1/p' "$WORK/log" | awk '{ s += $1 } END { print s }')
rec=$(pwrites "$S")
[ "$rec" -lt $((2 * N)) ] && [ $((rec + lost)) -ge $((2 * N)) ] &&
	[ $((rec + lost)) -le $((2 * N + 8)) ] ||
	fail "EMFILE: $rec pwrite recorded and $lost lost, of $((2 * N))"
expect_status "EMFILE: fsck" 0 rr fsck "$S"
grep -q "loss marker" "$WORK/out" || fail "EMFILE: fsck does not count the loss"

# a real EMFILE: the program uses every descriptor it may have, and starts
# a thread then (which the shim cannot open a segment for)
"$PROGS/p_emfile" "$WORK/m.native" >"$WORK/emfile.native"
rr record -q -o "$WORK/m" -- "$PROGS/p_emfile" "$WORK/m.rec" >"$WORK/emfile.rec"
diff -u "$WORK/emfile.native" "$WORK/emfile.rec" || fail "the program at its descriptor limit behaves differently"
rr log "$WORK/m" 2>/dev/null | grep -q '!!! LOST 100 call(s) from here: Too many open files' ||
	fail "real EMFILE: the thread's loss is not marked: $(rr log "$WORK/m" 2>&1 | grep '!!!')"
expect_eq "real EMFILE: the rest recorded" "after" \
	"$(rr cat "$WORK/m" "$WORK/m.rec" | head -1)"
expect_status "real EMFILE: fsck" 0 rr fsck "$WORK/m"

# the store deleted mid-recording.  Without record: each process imports
# at its exit, so nothing of it is lost; the store is made again around
# its spool and says what happened.
S=$WORK/del1
LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S RETRO_SPOOL_SIZE=65536 \
	"$PROGS/p_load" "$WORK/y" 2 1500 2000 >"$WORK/del1.out" &
pid=$!
while [ ! -e "$S/FORMAT" ]; do sleep 0.05; done
sleep 0.3
rm -rf "$S"
wait $pid || fail "deleted store: the program failed"
expect_eq "deleted store: the program's output" 2 "$(wc -l <"$WORK/del1.out")"
rr log "$S" >"$WORK/log"
grep -q "!!! the store was deleted or replaced while this process recorded" "$WORK/log" ||
	fail "deleted store: no marker"
made=$(awk '{ s += $3 } END { print s }' "$WORK/del1.out")
expect_eq "deleted store: every call of the process kept" "$made" "$(pwrites "$S")"
expect_status "deleted store: fsck" 0 rr fsck "$S"
grep -q "loss marker" "$WORK/out" || fail "deleted store: fsck does not count the marker"

# With record, which imports every second: what it imported before the
# deletion is gone; each thread's calls resume, in order, where the new
# store starts
S=$WORK/del2
RETRO_SPOOL_SIZE=65536 "$RETRO_REPLAY" record -q -o "$S" -- \
	"$PROGS/p_load" "$WORK/z" 2 4000 2000 >"$WORK/del2.out" 2>"$WORK/del2.err" &
pid=$!
# until something of each thread has been imported (record's import or
# this one; each thread's first segment is imported once it is sealed, and
# the two need not be sealed in the same tick)
both() {
	rr log --json -c pwrite "$S" 2>/dev/null | python3 -c '
import json, sys
print(len({json.loads(l)["args"][3] >> 32 for l in sys.stdin}))'
}
k=0
until [ -e "$S/FORMAT" ] && [ "$(both)" = 2 ]; do
	k=$((k + 1))
	[ $k -lt 200 ] || fail "deleted store under record: not each thread imported after 200 looks"
	sleep 0.05
done
rm -rf "$S"
wait $pid || fail "deleted store under record: exit $?: $(cat "$WORK/del2.err")"
expect_eq "deleted store under record: the program's output" 2 "$(wc -l <"$WORK/del2.out")"
grep -q "retro: warning: $S was deleted during the recording" "$WORK/del2.err" ||
	fail "deleted store under record: no warning: $(cat "$WORK/del2.err")"
rr log "$S" | grep -q "!!! the store was deleted or replaced" || fail "deleted store under record: no marker"
rr log --json -c pwrite "$S" | python3 -c '
import json, sys, collections
seqs = collections.defaultdict(list)
for line in sys.stdin:
    off = json.loads(line)["args"][3]
    seqs[off >> 32].append(off & 0xffffffff)
assert sorted(seqs) == [1, 2], sorted(seqs)
for t, s in seqs.items():
    assert s == list(range(s[0], s[0] + len(s))), "thread %d: not contiguous" % t
    assert s[0] > 0, "thread %d: nothing was imported before the deletion" % t
' || fail "deleted store under record: what remains"
expect_status "deleted store under record: fsck" 0 rr fsck "$S"
# No segment for a while, from the start (fallocate fails while the first
# segments are made): the path the main thread's open interned then is
# written once a thread has a segment again, so the other threads' pwrites
# on that descriptor refer to a path the store has.  fsck accepts what
# remains, and log shows the loss.
S=$WORK/nopath
out=$(RETRO_FAULT=fallocate:ENOSPC:1:3 LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S prog)
expect_eq "no segment at first: program unaffected" ok "$out"
expect_status "no segment at first: fsck" 0 rr fsck "$S"
rr log "$S" | grep -q LOST || fail "no segment at first: no LOST line"
pass

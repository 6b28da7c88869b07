#!/bin/sh
# The recorder's fast path for an open and a close (lib/recorder.c,
# retro_fast_open) records what the general way records: a program making
# the opens and closes it takes and those beside it that it leaves to the
# general way, from one thread and after a second thread ran (libc's
# wrappers then), recorded with RETRO_FAST=0 and with the fast path, with
# the trap layer armed and with --no-trap: the logs are the same but for
# the times, call sites included, and RETRO_FAST_DEBUG counts the calls
# the fast path took.
. "$SCENARIO_LIB"

# norm STORE DIR: every action after the start, without its times and
# ids, DIR written D, a pipe's inode number left out
norm() {
	rr log --json --stacks -p p_fastpath "$1" |
		json_map '(None if o["call"] in ("start", "image") else
		    " ".join(str(o.get(k)) for k in ("thread", "seq", "call",
		    "state", "ret", "errno", "path", "args", "created",
		    "offset", "site")))' |
		sed -e "s|$2|D|g" -e 's/pipe:\[[0-9]*\]/pipe/g'
}

for trap in "" --no-trap; do
	for fast in 0 1; do
		S=$WORK/store$fast$trap
		mkdir "$WORK/d$fast$trap"
		D=$(cd "$WORK/d$fast$trap" && pwd -P)
		out=$(RETRO_FAST=$fast RETRO_FAST_DEBUG=1 rr record -q $trap \
			-o "$S" -- "$PROGS/p_fastpath" "$D" 2>"$WORK/err")
		expect_eq "output (RETRO_FAST=$fast $trap)" "p_fastpath done" "$out"
		grep "calls through the fast path" "$WORK/err" | sort \
			>"$WORK/counts$fast$trap"
		norm "$S" "$D" >"$WORK/log$fast$trap"
		expect_status "fsck" 0 rr fsck "$S"
		# every action completed after it began
		rr log --json -p p_fastpath "$S" |
			json_map '"late" if o["end_ns"] < o["start_ns"] else None' \
			>"$WORK/late"
		expect_eq "actions ending before they start" "" "$(cat "$WORK/late")"
	done
	diff -u "$WORK/log0$trap" "$WORK/log1$trap" >"$WORK/diff" || {
		head -20 "$WORK/diff"
		fail "the fast path's log differs from the general way's ($trap)"
	}
	expect_eq "calls through the fast path with RETRO_FAST=0 ($trap)" \
		"retro: thread 1: 0 calls through the fast path
retro: thread 2: 0 calls through the fast path" "$(cat "$WORK/counts0$trap")"
done
# 24 of a round's 28 opens and closes (not the openat from a directory
# fd, the O_CREAT open, close(-1), the close of a closed descriptor),
# twice, and the close after the setup: 49.  Without the trap layer the
# second thread's first call makes its state, the general way.
expect_eq "calls through the fast path" \
	"retro: thread 1: 49 calls through the fast path
retro: thread 2: 24 calls through the fast path" "$(cat "$WORK/counts1")"
expect_eq "calls through the fast path (--no-trap)" \
	"retro: thread 1: 49 calls through the fast path
retro: thread 2: 23 calls through the fast path" "$(cat "$WORK/counts1--no-trap")"
# what the fast path leaves alone is in the log: an openat from a
# directory descriptor, an O_CREAT open, the failures
expect_eq "openat from a directory fd" 3 \
	"$(grep -c "openat done 4 0 D/f \[3," "$WORK/log1")"
expect_eq "O_CREAT opens" 3 "$(grep -c "open done 4 0 D/g \[" "$WORK/log1")"
expect_eq "O_CREAT opens that made the file" 1 \
	"$(grep -c "open done 4 0 D/g .* True" "$WORK/log1")"
expect_eq "failed opens, errno ENOENT" 3 \
	"$(grep -c "open done -1 2 D/missing" "$WORK/log1")"
expect_eq "close(-1), EBADF" 3 \
	"$(grep -c "close done -1 9 None \[-1\]" "$WORK/log1")"
pass

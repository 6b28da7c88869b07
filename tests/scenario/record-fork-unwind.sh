#!/bin/sh
# A fork while another thread is inside libunwind: libunwind holds locks of
# its own while it unwinds, and a child forked meanwhile used to wait for
# one forever at its first unwind (a recorded CPython test_threading hung
# so, now and then).  A fork now waits until no thread is inside libunwind
# (lib/recorder.c, unw_enter).  p_forkunwind forks 200 times while a second
# thread unwinds almost all the time; before, some ten children a run were
# stuck.
. "$SCENARIO_LIB"

out=$(rr record -q -o "$WORK/s" -- "$PROGS/p_forkunwind" 200) ||
	fail "p_forkunwind: exit status $?"
expect_eq "children stuck" "forks: 200, children stuck: 0" "$out"
expect_eq "processes recorded" 201 "$(rr ps --json "$WORK/s" | wc -l)"
expect_status "fsck" 0 rr fsck "$WORK/s"
pass

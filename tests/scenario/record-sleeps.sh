#!/bin/sh
# Sleeps and timed waits are recorded with their arguments; clock reads
# are counted, and recorded one by one with RETRO_TIME_READS=1.
. "$SCENARIO_LIB"

S=$WORK/store
out=$(rr record -q -o "$S" -- "$PROGS/p_sleeps")
expect_eq "output" "p_sleeps done 102" "$out"

rr log --json -p p_sleeps "$S" |
	json_map '"%s %s" % (o["call"], o["args"]) if o["call"] in ("nanosleep","clock_nanosleep","usleep","poll","select","alarm","sleep","ppoll","pselect") else None' >"$WORK/calls"
head -2 "$WORK/calls" >"$WORK/head"
expect_eq "nanosleep" "nanosleep [2000000, 0]" "$(sed -n 1p "$WORK/calls")"
sed -n 2p "$WORK/calls" | grep -q '^clock_nanosleep \[1, 1, [0-9]*, 0\]$' ||
	fail "clock_nanosleep: $(sed -n 2p "$WORK/calls")"
expect_eq "usleep" "usleep [1500]" "$(sed -n 3p "$WORK/calls")"
expect_eq "poll" "poll [0, 0, 4]" "$(sed -n 4p "$WORK/calls")"
expect_eq "select" "select [0, 0, 0, 0, 3000000]" "$(sed -n 5p "$WORK/calls")"
expect_eq "alarm" "alarm [0]" "$(sed -n 6p "$WORK/calls")"
expect_eq "no other sleep" 6 "$(wc -l <"$WORK/calls")"

# The sleep really took its time: nanosleep's interval covers 2 ms.
rr log --json -p p_sleeps -c nanosleep "$S" |
	json_map 'o["end_ns"] - o["start_ns"] >= 2000000' >"$WORK/long"
expect_eq "nanosleep duration" "True" "$(cat "$WORK/long")"

# 101 clock_gettime + 1 time, counted, not logged
expect_eq "time reads counted" 102 \
	"$(rr ps --json "$S" | json_map 'o["time_reads"]')"

S2=$WORK/store2
RETRO_TIME_READS=1 rr record -q -o "$S2" -- "$PROGS/p_sleeps" >/dev/null
expect_eq "time reads recorded" 101 \
	"$(rr log --json -c clock_gettime "$S2" | wc -l)"
pass

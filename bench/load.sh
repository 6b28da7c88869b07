#!/bin/sh
# bench/load.sh: 64 processes x 8 threads recording pwrite calls into one
# store for BENCH_LOAD_S seconds (60), each thread paced to BENCH_LOAD_RATE
# calls a second (300; 0: as fast as it goes).  Runs the load scenario
# test (tests/scenario/load.sh), which checks that nothing was lost or
# duplicated, and prints its figures as a Markdown table: actions, store
# size, the recording's wall time, throughput in actions/s and store MB/s.
# Run by `make bench-load`, which passes RETRO_SHIM, RETRO_REPLAY, PROGS
# and SCENARIO_LIB.
set -u
die() { echo "load.sh: $*" >&2; exit 1; }
for v in RETRO_SHIM RETRO_REPLAY PROGS SCENARIO_LIB; do
	eval "p=\${$v:-}"
	[ -n "$p" ] || die "$v is not set (run it with make bench-load)"
done
export RETRO_SHIM RETRO_REPLAY PROGS SCENARIO_LIB
S=${BENCH_LOAD_S:-60}
out=$(LOAD_MS=$((S * 1000)) LOAD_RATE=${BENCH_LOAD_RATE:-300} \
	LOAD_PROCS=${BENCH_LOAD_PROCS:-64} LOAD_THREADS=${BENCH_LOAD_THREADS:-8} \
	sh "$(dirname "$0")/../tests/scenario/load.sh" 2>&1)
st=$?
echo "$out" | grep -v '^load:' >&2
line=$(echo "$out" | grep '^load:') || die "the load test printed no figures (exit $st)"
[ $st = 0 ] && verdict="nothing lost or duplicated" || verdict="FAILED (see above)"
echo "$line" | awk -v verdict="$verdict" '{
	for (i = 2; i < NF; i += 2) v[$i] = $(i + 1)
	s = v["record_ns"] / 1e9
	mb = v["store_bytes"] / 1048576
	print "| processes x threads | seconds | pace (calls/s/thread) | pwrite recorded | actions | record wall s | actions/s | store MiB | store MiB/s | bytes/action | log --json s | check |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	printf "| %d x %d | %d | %s | %d | %d | %.1f | %.0f | %.1f | %.2f | %.1f | %.1f | %s |\n",
		v["procs"], v["threads"], v["ms"] / 1000, v["rate"] == 0 ? "unpaced" : v["rate"],
		v["pwrite"], v["actions"], s, v["actions"] / s, mb, mb / s,
		v["store_bytes"] / v["actions"], v["log_ns"] / 1e9, verdict
}'
exit $st

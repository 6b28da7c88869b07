#!/bin/sh
# bench/scale.sh: how the cost of log, files and check grows with the
# number of recorded actions, 10^3 to 10^7 (BENCH_SCALE_MAX), and the
# memory check uses.  Run by `make bench-scale`, which passes RETRO_SHIM,
# BENCH_CALLS and RETRO_REPLAY as for bench/run.sh.  Each store is two
# bench_calls processes recording open+close+pwrite at the same time into
# one store.  Prints a Markdown table, and writes bench/scale.svg (a
# log-log plot) when python3 is there.
set -u
die() { echo "scale.sh: $*" >&2; exit 1; }
for v in RETRO_SHIM BENCH_CALLS RETRO_REPLAY; do
	eval "p=\${$v:-}"
	[ -n "$p" ] || die "$v is not set (run it with make bench-scale)"
done
MAX=${BENCH_SCALE_MAX:-10000000}
T=$(mktemp -d "${TMPDIR:-/tmp}/retro-scale.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }

echo "| actions | record s | log s | files s | check s | check analysis s | check max RSS MiB | check findings |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
: >"$T/data"
n=1000
while [ "$n" -le "$MAX" ]; do
	S=$T/s$n
	it=$(( n / 6 ))
	t0=$(now)
	LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S "$BENCH_CALLS" mix $it >/dev/null &
	LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S "$BENCH_CALLS" mix $it >/dev/null
	wait
	t1=$(now)
	"$RETRO_REPLAY" log "$S" >/dev/null || die "log failed on $S"
	t2=$(now)
	"$RETRO_REPLAY" files "$S" >/dev/null || die "files failed on $S"
	t3=$(now)
	"$RETRO_REPLAY" check --json "$S" >"$T/c.json"
	[ $? -le 1 ] || die "check failed on $S"
	t4=$(now)
	set -- $(python3 -c "import json,sys; o=json.load(open(sys.argv[1])); print(o['actions'], o['seconds'], o['max_rss_bytes']//1048576, len(o['findings']))" "$T/c.json")
	echo "| $1 | $(secs $t0 $t1) | $(secs $t1 $t2) | $(secs $t2 $t3) | $(secs $t3 $t4) | $2 | $3 | $4 |"
	echo "$1 $(secs $t1 $t2) $(secs $t2 $t3) $(secs $t3 $t4) $3" >>"$T/data"
	rm -rf "$S"
	n=$(( n * 10 ))
done
if command -v python3 >/dev/null; then
	python3 "$(dirname "$0")/plot.py" "$T/data" "$(dirname "$0")/scale.svg" &&
		echo && echo "plot: $(dirname "$0")/scale.svg"
fi

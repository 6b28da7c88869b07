#!/bin/sh
# bench/scale.sh: how the cost of log, files, check and run grows with the
# number of recorded actions, 10^3 to 10^7 (BENCH_SCALE_MAX), and the
# memory check uses.  Run by `make bench-scale`, which passes RETRO_SHIM,
# BENCH_CALLS and RETRO_REPLAY as for bench/run.sh.  Each store is two
# bench_calls processes recording open+close+pwrite at the same time into
# one store, each in its own directory.  `run` re-executes the first of
# them (shepherded: every one of its calls a driver round trip) while the
# second's recorded actions are merged as a peer's.
#
# Every figure is the median of BENCH_SCALE_ROUNDS (5) fresh recordings,
# with min and max; sizes above 10^6 take BENCH_SCALE_BIG_ROUNDS (1)
# because one round of 10^7 takes minutes.  Prints a Markdown table, and
# writes bench/scale.svg (a log-log plot of the medians) when python3 is
# there.
set -u
die() { echo "scale.sh: $*" >&2; exit 1; }
for v in RETRO_SHIM BENCH_CALLS RETRO_REPLAY; do
	eval "p=\${$v:-}"
	[ -n "$p" ] || die "$v is not set (run it with make bench-scale)"
done
MAX=${BENCH_SCALE_MAX:-10000000}
ROUNDS=${BENCH_SCALE_ROUNDS:-5}
BIG_ROUNDS=${BENCH_SCALE_BIG_ROUNDS:-1}
T=$(mktemp -d "${TMPDIR:-/tmp}/retro-scale.XXXXXX") || exit 1
# the replay root lies outside every directory the recording changes
R=$(mktemp -d "${TMPDIR:-/tmp}/retro-scale-root.XXXXXX") || exit 1
trap 'rm -rf "$T" "$R"' EXIT
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'; }
# stats FILE: "median min max" of FILE's numbers
stats() {
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.17g %.17g %.17g\n", m, v[1], v[NR] }'
}
# show FILE DECIMALS: "median (min-max)", or the median alone of one run
show() {
	set -- $(stats "$1") "$2"
	if [ "$(wc -l <"$T/$cur.rec")" -gt 1 ]; then
		printf "%.${4}f (%.${4}f-%.${4}f)" "$1" "$2" "$3"
	else
		printf "%.${4}f" "$1"
	fi
}

echo "| actions | rounds | record s | log s | files s | check s | check analysis s | check max RSS MiB | run s | run divergences | check findings |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
: >"$T/data"
n=1000
while [ "$n" -le "$MAX" ]; do
	cur=n$n
	rounds=$ROUNDS
	[ "$n" -gt 1000000 ] && rounds=$BIG_ROUNDS
	it=$(( n / 6 ))
	for f in rec log files check ana rss run; do : >"$T/$cur.$f"; done
	r=0
	while [ "$r" -lt "$rounds" ]; do
		r=$(( r + 1 ))
		S=$T/s
		rm -rf "$S" "$T/data.d" "$R/root"
		mkdir "$T/data.d"
		t0=$(now)
		LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S BENCH_QUIET=1 BENCH_DIR=$T/data.d/a \
			"$BENCH_CALLS" mix $it >/dev/null &
		LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S BENCH_QUIET=1 BENCH_DIR=$T/data.d/b \
			"$BENCH_CALLS" mix $it >/dev/null
		wait
		t1=$(now)
		"$RETRO_REPLAY" log "$S" >/dev/null || die "log failed on $S"
		t2=$(now)
		"$RETRO_REPLAY" files "$S" >/dev/null || die "files failed on $S"
		t3=$(now)
		"$RETRO_REPLAY" check --json "$S" >"$T/c.json"
		[ $? -le 1 ] || die "check failed on $S"
		t4=$(now)
		# what the recording made goes (not data.d, which it found),
		# so that the replay's root starts from the recorded state alone
		rm -rf "$T/data.d/a" "$T/data.d/b"
		"$RETRO_REPLAY" run -q "$S" --shepherd 1 --root "$R/root" \
			--report "$T/report.json" >/dev/null 2>"$T/run.err"
		[ $? -le 1 ] || { cat "$T/run.err" >&2; die "run failed on $S"; }
		t5=$(now)
		set -- $(python3 -c "import json,sys; o=json.load(open(sys.argv[1])); print(o['actions'], o['seconds'], o['max_rss_bytes']/1048576, len(o['findings']))" "$T/c.json")
		acts=$1 findings=$4
		divs=$(python3 -c "import json,sys; o=json.load(open(sys.argv[1])); print(len(o.get('divergences', [])))" "$T/report.json")
		secs "$t0" "$t1" >>"$T/$cur.rec"
		secs "$t1" "$t2" >>"$T/$cur.log"
		secs "$t2" "$t3" >>"$T/$cur.files"
		secs "$t3" "$t4" >>"$T/$cur.check"
		echo "$2" >>"$T/$cur.ana"
		echo "$3" >>"$T/$cur.rss"
		secs "$t4" "$t5" >>"$T/$cur.run"
	done
	echo "| $acts | $rounds | $(show "$T/$cur.rec" 2) | $(show "$T/$cur.log" 2) | $(show "$T/$cur.files" 2) | $(show "$T/$cur.check" 2) | $(show "$T/$cur.ana" 3) | $(show "$T/$cur.rss" 0) | $(show "$T/$cur.run" 2) | $divs | $findings |"
	med() { set -- $(stats "$1"); echo "$1"; }
	echo "$acts $(med "$T/$cur.log") $(med "$T/$cur.files") $(med "$T/$cur.check") $(med "$T/$cur.rss") $(med "$T/$cur.run")" >>"$T/data"
	rm -rf "$T/s" "$R/root"
	n=$(( n * 10 ))
done
if command -v python3 >/dev/null; then
	python3 "$(dirname "$0")/plot.py" "$T/data" "$(dirname "$0")/scale.svg" &&
		echo && echo "plot: $(dirname "$0")/scale.svg"
fi

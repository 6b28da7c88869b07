#!/bin/sh
# bench/replay.sh: what `retro-replay run` costs and gains.  Run by
# `make bench-replay`, which passes RETRO_SHIM, RETRO_REPLAY and
# BENCH_REPLAY (bench/bench_replay).  Three measurements, each against a
# target, printed as Markdown tables:
#
#  1. squeeze ratio: a program that sleeps BENCH_SLEEP_S seconds (default
#     60) in 100 ms nanosleeps, writing a line after each, recorded once and
#     replayed shepherded (consistent and --naive); libfaketime at x1000 and
#     the native run for comparison.  Target: >= 1000x.
#  2. driver round trip: BENCH_N_RT (100000) cheap calls the driver
#     answers (8-byte pwrites; 0 ns nanosleeps), recorded once, replayed
#     shepherded: (replay wall - native wall) / N.  Target: <= 5 us.  The
#     same with every process pinned to CPU 0, and a bare socket round
#     trip between two processes (the floor), for comparison.
#  3. peer actions merged per second: a peer making BENCH_N_MERGE (1000000)
#     pwrites next to a tiny process, recorded together; only the tiny one
#     is re-executed: peer actions / replay wall.  Target: >= 1e6/s.
#
# Each figure is the median of BENCH_ROUNDS (5) runs with min and max,
# except the native and recorded runs of the sleeping program (one each:
# they take BENCH_SLEEP_S).  "replay wall" is wall_ns of run's --report
# (from the replay's start to its end, the peers' remaining actions
# included); "command" is the whole retro-replay run process, loading the
# store and setting up the root included.  Exits 0 whether or not the
# targets are met; nonzero when a recording or a replay fails (status 2).
set -u
die() { echo "replay.sh: $*" >&2; exit 1; }
for v in RETRO_SHIM RETRO_REPLAY BENCH_REPLAY; do
	eval "p=\${$v:-}"
	[ -n "$p" ] || die "$v is not set (run it with make bench-replay)"
done
export RETRO_SHIM
ROUNDS=${BENCH_ROUNDS:-5}
SLEEP_S=${BENCH_SLEEP_S:-60}
N_RT=${BENCH_N_RT:-100000}
N_MERGE=${BENCH_N_MERGE:-1000000}
FAKETIME_LIB=${FAKETIME_LIB:-/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1}
[ "$ROUNDS" -ge 1 ] && [ "$SLEEP_S" -ge 1 ] && [ "$N_RT" -ge 1 ] &&
	[ "$N_MERGE" -ge 1 ] || die "BENCH_ROUNDS, BENCH_SLEEP_S, BENCH_N_RT and BENCH_N_MERGE must be counts >= 1"
NSLEEPS=$(( SLEEP_S * 10 ))

T=$(mktemp -d "${TMPDIR:-/tmp}/retro-bench-replay.XXXXXX") || exit 1
cleanup() {
	# a store's spool lives in shared memory; STORE/SPOOL names it
	for f in "$T"/*/SPOOL; do
		[ -f "$f" ] && rm -rf "$(cat "$f")"
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

now() { date +%s%N; }
# fmt NS: seconds with 3 decimals
fmt() { awk -v a="$1" 'BEGIN { printf "%.3f", a / 1e9 }'; }
# stats FILE: "median min max" of the numbers in FILE, one a line
stats() {
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan nan nan"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.17g %.17g %.17g\n", m, v[1], v[NR] }'
}
# show FILE SCALE DECIMALS: "median (min-max)" of FILE's numbers / SCALE
show() {
	set -- $(stats "$1") "$2" "$3"
	awk -v m="$1" -v lo="$2" -v hi="$3" -v s="$4" -v d="$5" 'BEGIN {
		f = "%." d "f"
		printf f " (" f "-" f ")", m / s, lo / s, hi / s }'
}
# target VALUE OP LIMIT: "met" or "MISSED"
target() {
	awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
		ok = op == ">=" ? v >= l : v <= l
		print ok ? "met" : "**MISSED**" }'
}
median() { set -- $(stats "$1"); echo "$1"; }

# record STORE CMD...: records CMD into a new store; dies if it fails
record() {
	s=$1
	shift
	"$RETRO_REPLAY" record -q -o "$s" -- "$@" >"$T/rec.out" 2>"$T/rec.err" ||
		{ cat "$T/rec.err" >&2; die "recording failed: $*"; }
}
# psfield STORE ARG1 FIELD: FIELD of the recorded process whose argv[1]
# is ARG1 (ps --json, one object a line)
psfield() {
	grep "\"argv\":\[\"[^\"]*\",\"$2\"" "$T/ps.$(basename "$1")" |
		sed -n "1s/.*\"$3\":\([0-9]*\).*/\1/p"
}
pslist() { "$RETRO_REPLAY" ps --json "$1" >"$T/ps.$(basename "$1")" || die "ps failed on $1"; }

# replay NAME STORE SEL [OPTION...]: one replay into a fresh root (run under
# $PFX, e.g. taskset, when set); appends
# the report's wall_ns to $T/NAME.wall, virtual_ns to NAME.virt, the whole
# command's wall to NAME.cmd, the exit status to NAME.rc; dies on status 2
PFX=
nreplay=0
replay() {
	name=$1 s=$2 sel=$3
	shift 3
	nreplay=$(( nreplay + 1 ))
	root=$T/root$nreplay
	t0=$(now)
	$PFX "$RETRO_REPLAY" run -q "$s" --shepherd "$sel" --root "$root" \
		--report "$T/report.json" "$@" >"$T/run.out" 2>"$T/run.err"
	rc=$?
	t1=$(now)
	if [ $rc -ge 2 ]; then
		cat "$T/run.err" >&2
		die "replay failed (status $rc): run $s --shepherd $sel $*"
	fi
	sed -n 's/.*"wall_ns":\([0-9]*\).*/\1/p' "$T/report.json" >>"$T/$name.wall"
	sed -n 's/.*"virtual_ns":\([0-9]*\).*/\1/p' "$T/report.json" >>"$T/$name.virt"
	echo $(( t1 - t0 )) >>"$T/$name.cmd"
	echo $rc >>"$T/$name.rc"
	rm -rf "$root" "$T/report.json"
}
# timed NAME CMD...: appends CMD's wall ns (run under $PFX) to
# $T/NAME.wall; dies if it fails
timed() {
	name=$1
	shift
	t0=$(now)
	$PFX "$@" >/dev/null 2>"$T/timed.err" ||
		{ cat "$T/timed.err" >&2; die "failed: $*"; }
	t1=$(now)
	echo $(( t1 - t0 )) >>"$T/$name.wall"
}
# divnote NAME: a remark when some replays of NAME found divergences
divnote() {
	k=$(grep -c '^1$' "$T/$1.rc")
	[ "$k" -eq 0 ] || printf ' (%s of %s replays: divergences)' "$k" "$ROUNDS"
}

echo "## retro-replay run benchmark"
echo
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "- machine: ${cpu:-unknown CPU}, $(nproc) cores, Linux $(uname -r), $(uname -m)"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); TMPDIR on $(df -PT "$T" | awk 'NR == 2 { print $2 }')"
echo "- rounds: $ROUNDS; BENCH_SLEEP_S=$SLEEP_S ($NSLEEPS x 100 ms); BENCH_N_RT=$N_RT; BENCH_N_MERGE=$N_MERGE"
echo

# ---- 1. squeeze ratio -------------------------------------------------------

mkdir "$T/d" || die "mkdir $T/d"
echo "squeeze: recording ${SLEEP_S} s of sleeps, then the native run (another ${SLEEP_S} s)" >&2
t0=$(now)
record "$T/s_sleep" "$BENCH_REPLAY" sleeps "$T/d/ticks" "$NSLEEPS" 100
t1=$(now)
rec_cmd=$(( t1 - t0 ))
pslist "$T/s_sleep"
id=$(psfield "$T/s_sleep" sleeps id)
st=$(psfield "$T/s_sleep" sleeps start_ns)
en=$(psfield "$T/s_sleep" sleeps end_ns)
[ -n "$id" ] && [ -n "$st" ] && [ -n "$en" ] || die "no sleeps process in ps of $T/s_sleep"
recdur=$(( en - st ))
timed native_sleep "$BENCH_REPLAY" sleeps "$T/d/ticks-native" "$NSLEEPS" 100
natdur=$(cat "$T/native_sleep.wall")

# faketime: install it when missing and we may
ftnote=
if [ ! -e "$FAKETIME_LIB" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
	echo "squeeze: libfaketime missing: apt-get install -y faketime" >&2
	apt-get install -y faketime >"$T/apt.log" 2>&1 ||
		echo "squeeze: apt-get install faketime failed (see below)" >&2
fi
if [ ! -e "$FAKETIME_LIB" ]; then
	ftnote="libfaketime not found at $FAKETIME_LIB (set FAKETIME_LIB, or install the Debian package faketime; not installed automatically unless root with apt-get)"
fi

i=0
while [ $i -lt "$ROUNDS" ]; do
	echo "squeeze: round $(( i + 1 )) of $ROUNDS" >&2
	replay cons "$T/s_sleep" "$id"
	replay naive "$T/s_sleep" "$id" --naive
	if [ -z "$ftnote" ]; then
		rm -f "$T/d/ticks-ft"
		timed ft env FAKETIME="+0 x1000" LD_PRELOAD="$FAKETIME_LIB" \
			"$BENCH_REPLAY" sleeps "$T/d/ticks-ft" "$NSLEEPS" 100
	fi
	i=$(( i + 1 ))
done
for f in cons naive ft; do
	[ -f "$T/$f.wall" ] || continue
	awk -v d="$([ $f = ft ] && echo "$natdur" || echo "$recdur")" \
		'{ printf "%.17g\n", d / $1 }' "$T/$f.wall" >"$T/$f.ratio"
done
for f in cons naive; do
	awk -v d="$recdur" '{ printf "%.17g\n", d / $1 }' "$T/$f.cmd" >"$T/$f.cmdratio"
done

echo "### 1. Squeeze ratio: $NSLEEPS x nanosleep(100 ms) + write, ${SLEEP_S} s of sleeps"
echo
echo "| run | program's duration s | wall s, median (min-max) | ratio, median (min-max) | target >= 1000x | whole command s | ratio of whole command |"
echo "|---|---:|---:|---:|---|---:|---:|"
echo "| native, no preload (1 run) | $(fmt "$natdur") | $(fmt "$natdur") | 1 | | | |"
echo "| recording (\`record\`, 1 run) | $(fmt "$recdur") | $(fmt "$rec_cmd") | | | | |"
for f in cons naive; do
	label="\`run --shepherd\`, consistent"
	[ $f = naive ] && label="\`run --shepherd --naive\`"
	echo "| $label$(divnote $f) | $(fmt "$recdur") | $(show "$T/$f.wall" 1e9 3) | $(show "$T/$f.ratio" 1 0) | $(target "$(median "$T/$f.ratio")" ">=" 1000) | $(show "$T/$f.cmd" 1e9 3) | $(show "$T/$f.cmdratio" 1 0) |"
done
if [ -z "$ftnote" ]; then
	echo "| libfaketime \`FAKETIME=\"+0 x1000\"\` | $(fmt "$natdur") | $(show "$T/ft.wall" 1e9 3) | $(show "$T/ft.ratio" 1 0) | (comparison: x1000 caps it at 1000x) | | |"
else
	echo "| libfaketime | | | | | | |"
fi
echo
echo "Program's duration: the recorded process's end - start (\`ps --json\`) for the replays; the native run's wall time for libfaketime.  Wall: the report's \`wall_ns\` for the replays; the process's wall time for native and libfaketime."
[ -n "$ftnote" ] && echo "libfaketime column empty: $ftnote."
[ -s "$T/naive.virt" ] && echo "Virtual time covered (report \`virtual_ns\`, median): consistent $(fmt "$(median "$T/cons.virt")") s, naive $(fmt "$(median "$T/naive.virt")") s."
echo

# ---- 2. driver round trip ---------------------------------------------------

# Pinned: every process on CPU 0, so that no answer wakes a thread on the
# other CPU (on a VM a cross-CPU wake-up is an IPI to another vCPU).
PIN=
if command -v taskset >/dev/null && [ "$(nproc)" -gt 1 ] &&
	taskset -c 0 true 2>/dev/null; then
	PIN="taskset -c 0"
fi
: >"$T/rows2"
for mode in pwrite nsleep0; do
	if [ $mode = pwrite ]; then
		set -- pwrite "$T/d/rt" "$N_RT"
	else
		set -- nsleep0 "$N_RT"
	fi
	echo "round trip: $mode" >&2
	record "$T/s_$mode" "$BENCH_REPLAY" "$@"
	pslist "$T/s_$mode"
	id=$(psfield "$T/s_$mode" $mode id)
	[ -n "$id" ] || die "no $mode process in ps of $T/s_$mode"
	for pin in no yes; do
		[ $pin = yes ] && [ -z "$PIN" ] && continue
		PFX=
		[ $pin = yes ] && PFX=$PIN
		k=${mode}_$pin
		i=0
		while [ $i -lt "$ROUNDS" ]; do
			timed nat_$k "$BENCH_REPLAY" "$@"
			replay rt_$k "$T/s_$mode" "$id"
			i=$(( i + 1 ))
		done
		PFX=
		nat=$(median "$T/nat_$k.wall")
		if [ $mode = pwrite ]; then
			# (replay - native) / N, each replay against the native median
			awk -v n="$nat" -v c="$N_RT" '{ printf "%.17g\n", ($1 - n) / c }' \
				"$T/rt_$k.wall" >"$T/rt_$k.per"
			label="pwrite 8 B: (replay - native) / N"
		else
			# the replay does not issue the sleep: nothing to subtract
			awk -v c="$N_RT" '{ printf "%.17g\n", $1 / c }' \
				"$T/rt_$k.wall" >"$T/rt_$k.per"
			label="nanosleep 0 ns: replay / N"
		fi
		if [ $pin = yes ]; then
			label="$label, all on CPU 0 (\`$PIN\`)"
			tgt="(comparison)"
		else
			tgt=$(target "$(median "$T/rt_$k.per")" "<=" 5000)
		fi
		echo "| $label$(divnote rt_$k) | $(show "$T/nat_$k.wall" 1e9 3) | $(show "$T/rt_$k.wall" 1e9 3) | $(show "$T/rt_$k.per" 1e3 2) | $tgt | $(show "$T/rt_$k.cmd" 1e9 3) |" >>"$T/rows2"
	done
done
# The floor: a bare round trip between two processes, no retro
echo "round trip: bare socket round trips" >&2
for pin in no yes; do
	[ $pin = yes ] && [ -z "$PIN" ] && continue
	PFX=
	[ $pin = yes ] && PFX=$PIN
	i=0
	while [ $i -lt "$ROUNDS" ]; do
		$PFX "$BENCH_REPLAY" pingpong "$N_RT" >>"$T/pp_$pin" ||
			die "bench_replay pingpong failed"
		i=$(( i + 1 ))
	done
	PFX=
	label="bare SOCK_SEQPACKET round trip between 2 processes, no retro"
	[ $pin = yes ] && label="$label, both on CPU 0"
	echo "| $label | | | $(show "$T/pp_$pin" 1e3 2) | (floor) | |" >>"$T/rows2"
done
echo "### 2. Driver round trip per shepherded call, N = $N_RT"
echo
echo "| program | native s, median (min-max) | replay wall s, median (min-max) | per call us, median (min-max) | target <= 5 us | whole command s |"
echo "|---|---:|---:|---:|---|---:|"
cat "$T/rows2"
echo
echo "Natively, nanosleep of 0 ns still costs a system call and a timer (the program sets its timer slack to 1 ns); a replay answers it from the driver and does not issue it, so its rows are the round trip plus the shim's own work, with nothing subtracted.  The bare round trip is \`bench_replay pingpong\`: a 200-byte message and a 32-byte answer over a socket pair, the answering process polling first, as the shim and the driver do."
echo

# ---- 3. peer actions merged per second --------------------------------------

echo "merge: recording a peer of $N_MERGE pwrites next to a tiny process" >&2
record "$T/s_merge" sh -c '"$1" peer "$2" "$3" & "$1" tiny "$4"; wait' sh \
	"$BENCH_REPLAY" "$T/d/peer" "$N_MERGE" "$T/d/tiny"
pslist "$T/s_merge"
tiny=$(psfield "$T/s_merge" tiny id)
pacts=$(psfield "$T/s_merge" peer actions)
[ -n "$tiny" ] && [ -n "$pacts" ] || die "no tiny or peer process in ps of $T/s_merge"
i=0
while [ $i -lt "$ROUNDS" ]; do
	echo "merge: round $(( i + 1 )) of $ROUNDS" >&2
	replay merge "$T/s_merge" "$tiny"
	i=$(( i + 1 ))
done
awk -v m="$pacts" '{ printf "%.17g\n", m / ($1 / 1e9) }' "$T/merge.wall" >"$T/merge.rate"
awk -v m="$pacts" '{ printf "%.17g\n", m / ($1 / 1e9) }' "$T/merge.cmd" >"$T/merge.cmdrate"

echo "### 3. Peer actions merged per second: $N_MERGE peer pwrites, the tiny process re-executed"
echo
echo "| peer actions recorded | replay wall s, median (min-max) | merged/s, median (min-max) | target >= 1000000/s | whole command s | merged/s of whole command |"
echo "|---:|---:|---:|---|---:|---:|"
echo "| $pacts$(divnote merge) | $(show "$T/merge.wall" 1e9 3) | $(show "$T/merge.rate" 1 0) | $(target "$(median "$T/merge.rate")" ">=" 1000000) | $(show "$T/merge.cmd" 1e9 3) | $(show "$T/merge.cmdrate" 1 0) |"
echo
echo "Peer actions: the peer's recorded actions as \`ps --json\` counts them ($N_MERGE pwrites plus its open, close, start and end)."
exit 0

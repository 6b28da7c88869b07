#!/bin/sh
# bench/run.sh: what recording costs per call, against native and strace.
#
# Run by `make bench-calls`, which passes the built programs (bench/run,
# which `make bench` runs, measures the same calls and more, against
# strace, ltrace and libfaketime, and rewrites BENCHMARKS.md):
#   RETRO_SHIM    shim/.libs/libretro.so
#   BENCH_CALLS   bench/bench_calls (the program that is timed and recorded)
#   STORE_SIZE    bench/store_size
#   RETRO_REPLAY  replay/retro-replay
#
# For each call (pwrite of 64 bytes, open+close, clock_gettime) it runs
# BENCH_ROUNDS paired rounds of native and recorded (LD_PRELOAD, a fresh
# store each time), alternating which goes first, and a few rounds under
# strace; it reports medians.  Then it records a mix of open+close and
# pwrite and measures the store bytes per action.  A missed target is
# printed as MISSED; the exit status is 0 all the same (a benchmark, not a
# test).  Tunables: BENCH_ROUNDS, BENCH_STRACE_ROUNDS, BENCH_N_PWRITE,
# BENCH_N_OPENCLOSE, BENCH_N_CLOCK, BENCH_N_STRACE, BENCH_N_MIX, TMPDIR
# (where the stores and the files written go).

set -u

die() {
	echo "run.sh: $*" >&2
	exit 1
}

for v in RETRO_SHIM BENCH_CALLS STORE_SIZE RETRO_REPLAY; do
	eval "p=\${$v:-}"
	[ -n "$p" ] || die "$v is not set (run it with make bench-calls)"
	[ -e "$p" ] || die "$v: $p does not exist"
done

ROUNDS=${BENCH_ROUNDS:-7}
SROUNDS=${BENCH_STRACE_ROUNDS:-3}
N_PWRITE=${BENCH_N_PWRITE:-300000}
N_OPENCLOSE=${BENCH_N_OPENCLOSE:-150000}
N_CLOCK=${BENCH_N_CLOCK:-10000000}
N_STRACE=${BENCH_N_STRACE:-20000}
N_MIX=${BENCH_N_MIX:-100000}

# Clock reads must be only counted, and nothing else may be preloaded.
unset RETRO_TIME_READS LD_PRELOAD RETRO_STORE

work=$(mktemp -d "${TMPDIR:-/tmp}/retro-bench-run.XXXXXX") ||
	die "cannot make a temporary directory"
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT PIPE TERM

have_strace=0
if command -v strace >/dev/null 2>&1; then
	if strace -f -qq -o /dev/null true >/dev/null 2>&1; then
		have_strace=1
	else
		strace_note="strace is installed but cannot trace here (ptrace denied?)"
	fi
else
	strace_note="strace is not installed (apt-get install strace): its column is empty"
fi

# ns per iteration printed by bench_calls (third field).
native() {
	"$BENCH_CALLS" "${1#trap:}" "$2" | awk '{ print $3 }'
}

recorded() {
	store="$work/store.$1.$3"
	case $1 in
	trap:*) m=${1#trap:} trap=1 ;;
	*) m=$1 trap=0 ;;
	esac
	LD_PRELOAD="$RETRO_SHIM" RETRO_STORE="$store" RETRO_TRAP=$trap \
		"$BENCH_CALLS" "$m" "$2" | awk '{ print $3 }'
}

traced() {
	strace -f -qq -o /dev/null "$BENCH_CALLS" "${1#trap:}" "$2" |
		awk '{ print $3 }'
}

# strace with tracer and tracee on one CPU: on a VM, waking a tracer on
# another CPU costs more than the tracing itself.  Shown in the details.
traced_pinned() {
	taskset -c 0 strace -f -qq -o /dev/null "$BENCH_CALLS" "${1#trap:}" "$2" |
		awk '{ print $3 }'
}
have_taskset=0
taskset -c 0 true >/dev/null 2>&1 && have_taskset=1

median() {
	sort -n | awk '{ v[NR] = $1 }
		END { if (NR == 0) print "";
		      else if (NR % 2) print v[(NR + 1) / 2];
		      else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Checks that the recorded run did record: its actions (or, for clock
# reads, its counted reads) must be at least n.
check_recorded() {
	# (sh has no locals: names of our own, not the caller's $mode and $n)
	cr_mode=${1#trap:} cr_n=$2 cr_store=$3
	json=$("$RETRO_REPLAY" ps --json "$cr_store" 2>/dev/null)
	case $cr_mode in
	clock) field=time_reads ;;
	*) field=actions ;;
	esac
	got=$(printf '%s\n' "$json" | grep bench_calls |
		sed -n "s/.*\"$field\":\([0-9]*\).*/\1/p" | head -n 1)
	if [ -z "$got" ] || [ "$got" -lt "$cr_n" ]; then
		echo "run.sh: WARNING: the recorded $cr_mode run shows ${got:-no} $field (expected >= $cr_n): the shim may not be interposing" >&2
		return 1
	fi
	return 0
}

fstype=$(stat -f -c %T "$work" 2>/dev/null || echo unknown)
echo "retro bench: $(nproc 2>/dev/null || echo '?') CPU(s), $(uname -sr), stores on $fstype ($work)"
echo "rounds: $ROUNDS paired native/retro, $SROUNDS under strace; N: pwrite $N_PWRITE, open+close $N_OPENCLOSE, clock_gettime $N_CLOCK, strace $N_STRACE"
echo

rows=""
details=""
for mode in pwrite openclose clock trap:pwrite trap:openclose trap:rawpwrite; do
	case $mode in
	pwrite) n=$N_PWRITE label="pwrite 64 B, trap layer off" target=150 ;;
	trap:pwrite) n=$N_PWRITE label="pwrite 64 B, trap layer armed (default)" target=150 ;;
	trap:openclose) n=$N_OPENCLOSE label="open+close, trap layer armed (default)" target=300 ;;
	trap:rawpwrite) n=$((N_PWRITE / 10))
		label="syscall(SYS_pwrite64), trapped" target=- ;;
	openclose) n=$N_OPENCLOSE label="open+close, trap layer off" target=300 ;;
	clock) n=$N_CLOCK label="clock_gettime (counted)" target=10 ;;
	esac
	: >"$work/native"
	: >"$work/retro"
	: >"$work/strace"
	: >"$work/pairs"
	pinned=
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		if [ $((r % 2)) -eq 1 ]; then
			a=$(native "$mode" "$n")
			b=$(recorded "$mode" "$n" "$r")
		else
			b=$(recorded "$mode" "$n" "$r")
			a=$(native "$mode" "$n")
		fi
		[ -n "$a" ] && [ -n "$b" ] || die "$mode: bench_calls failed"
		if [ "$r" -eq 1 ]; then
			check_recorded "$mode" "$n" "$work/store.$mode.$r" ||
				label="$label (NOT RECORDED?)"
		fi
		rm -rf "$work/store.$mode.$r"
		echo "$a" >>"$work/native"
		echo "$b" >>"$work/retro"
		echo "$a $b" | awk '{ printf "%.1f\n", $2 - $1 }' >>"$work/pairs"
		if [ "$have_strace" = 1 ] && [ "$r" -le "$SROUNDS" ]; then
			s=$(traced "$mode" "$N_STRACE")
			[ -n "$s" ] && echo "$s" >>"$work/strace"
		fi
		if [ "$have_strace" = 1 ] && [ "$have_taskset" = 1 ] &&
			[ "$r" -eq 1 ]; then
			pinned=$(traced_pinned "$mode" "$N_STRACE")
		fi
		r=$((r + 1))
	done
	nat=$(median <"$work/native")
	ret=$(median <"$work/retro")
	str=$(median <"$work/strace")
	added=$(echo "$nat $ret" | awk '{ printf "%.1f", $2 - $1 }')
	if [ "$target" = - ]; then
		tgt="(no target)"
	else
		tgt="<= $target $(echo "$added $target" | awk '{ print ($1 <= $2) ? "met" : "MISSED" }')"
	fi
	rows="$rows| $label | $nat | $ret | $added | $tgt | ${str:-n/a} |
"
	details="$details  $label: native $(tr '\n' ' ' <"$work/native")
    retro  $(tr '\n' ' ' <"$work/retro")
    paired added $(tr '\n' ' ' <"$work/pairs")(median $(median <"$work/pairs"))
    strace $(tr '\n' ' ' <"$work/strace")${pinned:+(pinned to one CPU: $pinned)}
"
done

echo "| call | native ns | retro ns | added ns | target | strace ns |"
echo "|---|---:|---:|---:|---|---:|"
printf '%s' "$rows"
echo
[ "$have_strace" = 1 ] || echo "note: $strace_note"

# Store size: a mix of open+close and pwrite, all recorded in one store.
store="$work/store.mix"
mix=$(LD_PRELOAD="$RETRO_SHIM" RETRO_STORE="$store" \
	"$BENCH_CALLS" mix "$N_MIX" | awk '{ print $3 }')
"$STORE_SIZE" "$store" >"$work/size" || die "store_size failed"
"$RETRO_REPLAY" fsck "$store" >"$work/fsck" 2>&1 ||
	echo "run.sh: WARNING: fsck of the mix store failed: $(cat "$work/fsck")" >&2
awk -v n="$N_MIX" '
	$1 == "actions" { acts = $2 }
	$1 == "bytes_per_action" { bpa = $2 }
	$1 == "chunk_pages_per_action" { ppa = $2 }
	$1 == "dbi" { b[$2] = $6; e[$2] = $4 }
	END {
		v = (bpa <= 32) ? "met" : "MISSED"
		printf "store: %s bytes/action (chunks+paths+stacks+modules, blobs excluded) over %s actions of %s x (open+close+pwrite); target <= 32 %s\n", bpa, acts, n, v
		printf "  chunks %.0f B in %.0f chunks, paths %.0f B, stacks %.0f B, modules %.0f B; blobs %.0f B (excluded); LMDB pages of chunks: %s bytes/action\n", b["chunks"], e["chunks"], b["paths"], b["stacks"], b["modules"], b["blobs"], ppa
	}' "$work/size"
echo
echo "per round (ns per call):"
printf '%s' "$details"
echo "  mix (open+close+pwrite, recorded, no warm-up): $mix ns per iteration"
exit 0

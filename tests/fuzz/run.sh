#!/bin/sh
# Runs the libFuzzer targets built by build.sh, one after another:
#   tests/fuzz/run.sh SRCDIR BUILDDIR SECONDS [TARGET...]
# Each starts from its seeds (tests/fuzz/corpus/TARGET) and reproducers
# (tests/fuzz/regress/TARGET); what it finds new goes to
# BUILDDIR/tests/fuzz/work/TARGET, a crash's input to
# BUILDDIR/tests/fuzz/artifacts/.  Exits 1 when any target failed (a crash,
# a leak, a timeout of 10 s on one input, more than 2 GB of memory).
set -eu
src=$1 bld=$2 secs=$3
shift 3
[ $# -gt 0 ] || set -- chunk spool store
fail=0
for t in "$@"; do
	bin=$bld/tests/fuzz/bin/fuzz-$t
	work=$bld/tests/fuzz/work/$t
	mkdir -p "$work" "$bld/tests/fuzz/artifacts"
	echo "fuzz: $t for $secs s"
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-malloc_limit_mb=1024 -close_fd_mask=3 -print_final_stats=1 \
		-artifact_prefix="$bld/tests/fuzz/artifacts/$t-" \
		"$work" "$src/tests/fuzz/corpus/$t" "$src/tests/fuzz/regress/$t" \
		>"$bld/tests/fuzz/$t.log" 2>&1; then
		grep -E '^stat::number_of_executed_units|^Done' \
			"$bld/tests/fuzz/$t.log" | sed "s/^/fuzz: $t: /"
	else
		echo "fuzz: $t FAILED (log: $bld/tests/fuzz/$t.log):"
		grep -A30 '^==[0-9]*==ERROR\|runtime error\|^SUMMARY\|ERROR: libFuzzer' \
			"$bld/tests/fuzz/$t.log" | head -60
		fail=1
	fi
done
exit $fail

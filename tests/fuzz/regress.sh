#!/bin/sh
# make check: every seed (tests/fuzz/corpus) and every reproducer of a
# fixed crash (tests/fuzz/regress) through the fuzz targets, built with the
# project's compiler and driver.c instead of libFuzzer.
set -eu
: "${FUZZ_SRC:?}" "${FUZZ_BIN:?}"
for t in chunk spool store; do
	"$FUZZ_BIN/replay-$t" "$FUZZ_SRC/corpus/$t" "$FUZZ_SRC/regress/$t" \
		2>"$FUZZ_BIN/regress-$t.log" || {
		tail -20 "$FUZZ_BIN/regress-$t.log" >&2
		echo "FAIL: fuzz regressions: $t (the last input named above)" >&2
		exit 1
	}
	tail -1 "$FUZZ_BIN/regress-$t.log" | sed "s/^replay:/$t:/"
done
echo "PASS: fuzz-regress"

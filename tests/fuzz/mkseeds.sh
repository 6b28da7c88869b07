#!/bin/sh
# Regenerates the seed corpus (tests/fuzz/corpus/) from real recordings of
# the test programs:
#   tests/fuzz/mkseeds.sh BUILDDIR      (run from anywhere; after make check
#                                        has built the test programs)
# fuzz_store gets each store's tables, fuzz_chunk each store's chunks,
# fuzz_spool the segments a killed process left in its spool.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
bld=$(cd "$1" && pwd)
rr=$bld/replay/retro-replay
shim=$bld/shim/.libs/libretro.so
progs=$bld/tests/progs
mkseed=$bld/tests/fuzz/mkseed
out=$src/tests/fuzz/corpus
work=$(mktemp -d "${TMPDIR:-/tmp}/retro-seeds.XXXXXX")
trap 'rm -rf "$work"' EXIT
export RETRO_SPOOL_BASE=none

rm -rf "$out"
mkdir -p "$out/chunk" "$out/spool" "$out/store"

seed_store() { # NAME STORE
	"$mkseed" store "$2" "$out/store/$1"
	mkdir -p "$work/chunks-$1"
	"$mkseed" chunks "$2" "$work/chunks-$1"
	for c in "$work/chunks-$1"/*; do
		cp "$c" "$out/chunk/$1-$(basename "$c")"
	done
}

# files: create, write, append, pwrite, rename, truncate, unlink, stat, dup
mkdir "$work/files"
echo OLD >"$work/files/old"
"$rr" record -q -o "$work/s-files" -- "$progs/p_files" "$work/files"
seed_store files "$work/s-files"

# processes, pipes and exec: a shell pipeline
"$rr" record -q -o "$work/s-sh" -- sh -c \
	"echo hi > $work/f; cat $work/f | tr a-z A-Z > $work/g; mv $work/g $work/h; rm $work/f"
seed_store sh "$work/s-sh"

# threads
"$rr" record -q -o "$work/s-threads" -- "$progs/p_threads" "$work/t" 4 10
seed_store threads "$work/s-threads"

# a writer that relies on a sleep, and a reader: what check reports
printf safe >"$work/in"
"$rr" record -q -o "$work/s-wr" -- sh -c \
	"$progs/writer $work/in $work/F 300 & $progs/reader $work/F $work/out 100; wait"
seed_store wr "$work/s-wr"

# the spool a killed shell leaves behind (small segments)
LD_PRELOAD=$shim RETRO_STORE=$work/s-kill RETRO_SPOOL_SIZE=65536 \
	sh -c "echo a > $work/k; cat $work/k >/dev/null; kill -9 \$\$" || true
n=0
for s in "$work/s-kill/spool"/*.seg; do
	"$mkseed" segment "$s" "$out/spool/$(basename "$s")"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "mkseeds: the killed shell left no segment" >&2; exit 1; }
du -sh "$out"/*

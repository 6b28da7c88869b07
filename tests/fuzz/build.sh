#!/bin/sh
# Builds the libFuzzer targets with clang, ASan and UBSan:
#   tests/fuzz/build.sh SRCDIR BUILDDIR
# into BUILDDIR/tests/fuzz/bin/fuzz-{chunk,spool,store}.  `make fuzz` runs
# it with the libraries configure found (FUZZ_LIBS); FUZZ_CC names the
# compiler (default clang).  The gcc build is not touched.
set -eu
src=$1 bld=$2
cc=${FUZZ_CC:-clang}
libs=${FUZZ_LIBS:--llmdb -lunwind -ldw -lelf -ldl -lpthread}
out=$bld/tests/fuzz/bin
obj=$out/obj

command -v "$cc" >/dev/null || {
	echo "fuzz: $cc not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
	exit 1
}
mkdir -p "$obj"
flags="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
-fno-sanitize-recover=all -std=gnu11 -DHAVE_CONFIG_H -DRETRO_LIBDIR=\"/nonexistent\"
-I$bld -I$src/include
-I$src/lib ${FUZZ_CFLAGS:-}"

# Everything the targets reach is instrumented for coverage: lib/ and
# retro-replay's commands (all but main.c).
srcs=$(ls "$src"/lib/*.c "$src"/replay/*.c "$src"/tests/fuzz/common.c |
	grep -v '/replay/main\.c$')
objs=""
for s in $srcs; do
	o=$obj/$(echo "$s" | sed "s|^$src/||; s|/|_|g; s|\.c$|.o|")
	objs="$objs $o"
	# rebuilt when the source or any header is newer than the object
	if [ -f "$o" ] && [ -z "$(find "$s" "$0" "$src/lib" "$src/include" \
		"$src/replay" "$src/tests/fuzz" -name '*.[ch]' -newer "$o" \
		2>/dev/null | head -1)" ]; then
		continue
	fi
	echo "  CC (fuzz) $s"
	# shellcheck disable=SC2086
	$cc $flags -fsanitize=fuzzer-no-link -c "$s" -o "$o"
done
for t in chunk spool store; do
	echo "  CCLD (fuzz) fuzz-$t"
	# shellcheck disable=SC2086
	$cc $flags -fsanitize=fuzzer "$src/tests/fuzz/fuzz_$t.c" $objs $libs \
		-o "$out/fuzz-$t"
done

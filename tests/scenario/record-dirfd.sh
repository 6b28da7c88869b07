#!/bin/sh
# Paths relative to directory descriptors, and what the recorder asks of
# the kernel on its own to make them absolute and to find call sites:
#   - openat(dirfd, name) is logged at dirfd's directory, also after that
#     directory was renamed by the process and after the descriptor's
#     number was reused for another directory (lib/recorder.c, dir_path);
#   - a directory's path is asked of the kernel (readlinkat of
#     /proc/self/fd/N) once, not at every call: 100 files cost no 100
#     readlinkat;
#   - unwinding call sites blocks no signals: libunwind's sigprocmask,
#     two per frame stepped, is the recorder's own and a no-op under its
#     guard (unw_sigprocmask).  The build before made 2 per frame: ~6,000
#     rt_sigprocmask for these 100 calls from new stacks.
. "$SCENARIO_LIB"

N=100
S=$WORK/store
mkdir "$WORK/d"
D=$(cd "$WORK/d" && pwd -P)
out=$(rr record -q -o "$S" -- "$PROGS/p_dirfd" "$D" $N)
expect_eq "descriptors" "3 3" "$out"
rr log -c openat "$S" >"$WORK/log"
expect_eq "files made through the fd of $D/a" $N \
	"$(grep -c "openat(3, \"$D/a/f[0-9]*\", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 4 (created)\$" "$WORK/log")"
expect_eq "through it after its directory became $D/c" 1 \
	"$(grep -c "openat(3, \"$D/c/g\"" "$WORK/log")"
expect_eq "through fd 3 reused for $D/b" 1 \
	"$(grep -c "openat(3, \"$D/b/h\"" "$WORK/log")"
expect_eq "f$((N - 1))'s bytes" "f$((N - 1))" "$(rr cat "$S" "$D/a/f$((N - 1))")"
expect_status "fsck" 0 rr fsck "$S"

# What the recorder itself asks of the kernel, counted by strace.
if ! command -v strace >/dev/null 2>&1 ||
	! strace -f -qq -o /dev/null true >/dev/null 2>&1; then
	echo "strace cannot trace here: the counts are not checked"
	pass
	exit 0
fi
count() { # LABEL COMMAND...: rt_sigprocmask and readlinkat calls of a run
	label=$1
	shift
	rm -rf "$WORK/e" && mkdir "$WORK/e" || fail "cannot make $WORK/e"
	strace -f -qq -o "$WORK/st.$label" -e trace=rt_sigprocmask,readlinkat \
		"$@" "$PROGS/p_dirfd" "$WORK/e" $N >/dev/null ||
		fail "$label run of p_dirfd failed"
	sigs=$(grep -c 'rt_sigprocmask(' "$WORK/st.$label" || true)
	links=$(grep -c 'readlinkat(' "$WORK/st.$label" || true)
}
count native env
nsigs=$sigs nlinks=$links
count recorded env LD_PRELOAD="$RETRO_SHIM" RETRO_STORE="$WORK/store2"
echo "rt_sigprocmask: $nsigs native, $sigs recorded; readlinkat: $nlinks native, $links recorded"
[ $((sigs - nsigs)) -le 20 ] ||
	fail "recording added $((sigs - nsigs)) rt_sigprocmask calls for $N calls (at most 20 expected)"
[ $((links - nlinks)) -le 20 ] ||
	fail "recording added $((links - nlinks)) readlinkat calls for $N calls through one directory fd (at most 20 expected)"
pass

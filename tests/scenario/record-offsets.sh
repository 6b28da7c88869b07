#!/bin/sh
# Where a write without an offset argument landed: the shim keeps a file's
# offset itself where nothing it cannot see moves it, and asks the kernel
# elsewhere (lib/recorder.c, off_usable).  p_offsets writes in each
# situation that decides which; every file rebuilt by `cat` must be the
# file written, whichever way each offset was found.  RETRO_OFFSET_CHECK=2
# says each write placed from a kept offset and compares that offset
# with the kernel's (a difference ends the process with SIGABRT): the
# lists below are the writes that may be placed so, at their offsets.
. "$SCENARIO_LIB"

# phase: the offsets of the writes placed from kept offsets, in order
expected_kept() {
	case $1 in
	a) echo "0 2 1 5" ;;  # created; lseek SET and END learnt
	b) echo "0 2 1" ;;    # reopened: kept once fstat said regular
	c) echo "0" ;;        # after dup and F_DUPFD: asked
	d) echo "0 0" ;;      # O_APPEND, and F_SETFL: asked
	f) echo "0 0 2" ;;    # after fork: only the file opened since
	g) echo "0" ;;        # after posix_spawn: asked
	h) echo "0 3" ;;      # writev; readv moved it
	i) echo "0 0 8" ;;    # sendfile moved it: asked once, kept again
	j) echo "0 2 6" ;;    # pwritev2 at -1 is a writev; RWF_APPEND: asked
	m) echo "0" ;;        # sent to another process: asked
	t) echo "" ;;         # a second thread: nothing kept
	esac
}

# the files each phase writes, and what they hold
expected_file() {
	case $1 in
	a) printf 'AaA22A333' ;;
	b) printf 'BbB2456789' ;;
	c) printf 'C1C2C3C4C5' ;;
	d) printf 'DDDDD1D2' ;;
	e) printf 'E1E2' ;;
	f) printf 'F1FcFpFq' ;;
	f2) printf 'G1G2' ;;
	g) printf 'G1GsGp' ;;
	h) printf 'H1Hh2' ;;
	i) printf 'I1SRC-I2I3' ;;
	i-src) printf 'SRC-s' ;;
	j) printf 'J1J2J3J4' ;;
	m) printf 'M1McMp' ;;
	t) printf 'T1T2' ;;
	esac
}

files_of() {
	case $1 in
	d) echo "d e" ;;
	f) echo "f f2" ;;
	i) echo "i i-src" ;;
	*) echo "$1" ;;
	esac
}

for ph in a b c d f g h i j m t; do
	D=$WORK/$ph
	mkdir "$D"
	out=$(RETRO_OFFSET_CHECK=2 rr record -q -o "$D/store" -- \
		"$PROGS/p_offsets" "$D" "$ph" 2>"$D/err") ||
		fail "phase $ph: exit status $?: $out $(cat "$D/err")"
	expect_eq "phase $ph: output" "offsets ok" "$out"
	grep -q 'offset cache wrong' "$D/err" &&
		fail "phase $ph: $(grep 'offset cache wrong' "$D/err")"
	kept=$(sed -n 's/^retro: offset kept: fd [0-9]* at //p' "$D/err" | tr '\n' ' ')
	expect_eq "phase $ph: writes placed from kept offsets" \
		"$(expected_kept "$ph")" "${kept% }"
	for f in $(files_of "$ph"); do
		expect_eq "phase $ph: $f as written" "$(expected_file "$f")" \
			"$(cat "$D/$f")"
		expect_eq "phase $ph: $f rebuilt by cat" "$(expected_file "$f")" \
			"$(rr cat "$D/store" "$D/$f")"
	done
done

# the offsets the log shows for phase a's writes, kept or asked alike
got=$(rr log "$WORK/a/store" --path "$WORK/a/a" --call write |
	sed -n 's/.* @\([0-9]*\)$/\1/p' | tr '\n' ' ')
expect_eq "phase a: logged offsets" "0 2 1 5" "${got% }"

# A signal handler writing to the file the loop writes: the handler's
# write may come while the loop's is in flight, and then neither keeps
# an offset.  Nothing placed from a kept offset may be wrong (SIGABRT).
D=$WORK/s
mkdir "$D"
out=$(RETRO_OFFSET_CHECK=1 rr record -q -o "$D/store" -- \
	"$PROGS/p_offsets" "$D" s 2>"$D/err") ||
	fail "phase s: exit status $?: $out $(cat "$D/err")"
expect_eq "phase s: output" "offsets ok" "$out"
[ -s "$D/err" ] && fail "phase s: $(cat "$D/err")"

# Every phase in one process, with the trap layer off and with the cache
# off: no offset kept, every file as written.  (Without the trap layer
# pwritev2 is not seen: libc's function is not interposed; phase j is
# left out there.)
for how in --no-trap cache-off; do
	D=$WORK/all$how
	mkdir "$D"
	if [ "$how" = --no-trap ]; then
		files="a b c d e f f2 g h i i-src m t"
		out=$(RETRO_OFFSET_CHECK=2 rr record -q --no-trap -o "$D/store" -- \
			"$PROGS/p_offsets" "$D" a b c d f g h i m t 2>"$D/err")
	else
		files="a b c d e f f2 g h i i-src j m t"
		out=$(RETRO_OFFSET_CHECK=2 RETRO_OFFSET_CACHE=0 rr record -q \
			-o "$D/store" -- "$PROGS/p_offsets" "$D" a b c d f g h i j m t \
			2>"$D/err")
	fi || fail "$how: exit status $?: $out $(cat "$D/err")"
	expect_eq "$how: output" "offsets ok" "$out"
	[ -s "$D/err" ] && fail "$how: $(cat "$D/err")"
	for f in $files; do
		expect_eq "$how: $f rebuilt by cat" "$(expected_file "$f")" \
			"$(rr cat "$D/store" "$D/$f")"
	done
done
expect_status "fsck" 0 rr fsck "$WORK/a/store"
pass

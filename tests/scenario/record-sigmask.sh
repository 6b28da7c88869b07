#!/bin/sh
# A signal mask set through libc (pthread_sigmask, sigprocmask) holds under
# recording as without it: a blocked signal stays pending, unblocking it
# delivers it before the call returns, sigtimedwait and sigwait take it.
# (With the trap layer, glibc's rt_sigprocmask is handled inside the SIGSYS
# handler, and a mask set there was undone by the handler's return.)
# The same calls made many times from the same sites go through the
# rewritten sites' stub (lib/rewrite.c), which makes most of them itself:
# the program's view of SIGSYS in its mask, and the kernel's errors, stay.
. "$SCENARIO_LIB"

expected=$(printf 'block ok\nunblock ok\nsetmask ok\nhot sites ok\nsigwait ok')
expect_eq "natively" "$expected" "$("$PROGS/p_sigmask")"
for mode in --trap --no-trap; do
	S=$WORK/store$mode
	out=$(rr record $mode -q -o "$S" -- "$PROGS/p_sigmask") ||
		fail "$mode: exit status $?: $out"
	expect_eq "recorded $mode" "$expected" "$out"
	expect_status "$mode: fsck" 0 rr fsck "$S"
done

# the point of the hot rounds: their rt_sigprocmask (14) and ioctl (16)
# sites were rewritten, not trapped at each of their 32 rounds
out=$(RETRO_TRAP_DEBUG=1 rr record -q -o "$WORK/store-debug" -- "$PROGS/p_sigmask" 2>"$WORK/traps") ||
	fail "debug run: exit status $?: $out"
expect_eq "debug run" "$expected" "$out"
for nr in 14 16; do
	n=$(grep -c "^T[0-9]* $nr\$" "$WORK/traps" || true)
	[ "$n" -le 24 ] || fail "system call $nr trapped $n times: its sites were not rewritten"
done
pass

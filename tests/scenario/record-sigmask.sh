#!/bin/sh
# A signal mask set through libc (pthread_sigmask, sigprocmask) holds under
# recording as without it: a blocked signal stays pending, unblocking it
# delivers it before the call returns, sigtimedwait and sigwait take it.
# (With the trap layer, glibc's rt_sigprocmask is handled inside the SIGSYS
# handler, and a mask set there was undone by the handler's return.)
. "$SCENARIO_LIB"

expected=$(printf 'block ok\nunblock ok\nsetmask ok\nsigwait ok')
expect_eq "natively" "$expected" "$("$PROGS/p_sigmask")"
for mode in --trap --no-trap; do
	S=$WORK/store$mode
	out=$(rr record $mode -q -o "$S" -- "$PROGS/p_sigmask") ||
		fail "$mode: exit status $?: $out"
	expect_eq "recorded $mode" "$expected" "$out"
	expect_status "$mode: fsck" 0 rr fsck "$S"
done
pass

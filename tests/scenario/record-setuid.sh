#!/bin/sh
# A setuid program (for another user: the loader ignores LD_PRELOAD for
# it) is not silently missing: record warns before it starts one as the
# command, and after a recording during which a recorded process started
# one, which log shows with its path; the rest is recorded.  Needs root
# (to make a file setuid for another user).
. "$SCENARIO_LIB"

if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1; then
	echo "SKIP: $TEST_NAME: needs root and the user nobody"
	exit 77
fi
cp /bin/true "$WORK/suid"
chown nobody "$WORK/suid"
chmod 4755 "$WORK/suid"
cp /bin/true "$WORK/plain"

# On a nosuid mount (a container's /tmp) the bit does nothing: the loader
# preloads the shim, so there is nothing to warn about and the program
# is recorded.
case ",$(findmnt -no OPTIONS -T "$WORK" 2>/dev/null)," in
*,nosuid,*)
	expect_status "setuid bit on a nosuid mount" 0 rr record -q -o "$WORK/s0" -- \
		sh -c "'$WORK/suid'"
	expect_eq "no warning on a nosuid mount" "" "$(cat "$WORK/err")"
	rr ps "$WORK/s0" | grep -q " $WORK/suid" ||
		fail "the program was not recorded: $(rr ps "$WORK/s0")"
	pass
	exit 0 ;;
esac

# the command itself, by path and through PATH
expect_status "setuid command" 0 rr record -o "$WORK/s1" -- "$WORK/suid"
grep -q "retro: warning: $WORK/suid is setuid/setgid: the loader ignores LD_PRELOAD" "$WORK/err" ||
	fail "no warning for the command: $(cat "$WORK/err")"
expect_status "setuid command through PATH" 0 env PATH="$WORK:$PATH" "$RETRO_REPLAY" record -q -o "$WORK/s1" -- suid
grep -q "retro: warning: $WORK/suid is setuid/setgid" "$WORK/err" ||
	fail "no warning for the command found through PATH: $(cat "$WORK/err")"
# no_new_privs: the bit does nothing either, and nothing is said
if command -v setpriv >/dev/null; then
	expect_status "setuid command under no_new_privs" 0 \
		setpriv --no-new-privs "$RETRO_REPLAY" record -q -o "$WORK/s3" -- "$WORK/suid"
	expect_eq "no warning under no_new_privs" "" "$(cat "$WORK/err")"
fi
# a plain program: no warning
expect_status "plain command" 0 rr record -q -o "$WORK/s1" -- "$WORK/plain"
expect_eq "no warning for a plain program" "" "$(cat "$WORK/err")"

# started by a recorded process: the store says so, and record too
expect_status "setuid child" 0 rr record -q -o "$WORK/s2" -- sh -c "'$WORK/suid'; echo after > '$WORK/after'"
grep -q "retro: warning: 1 setuid/setgid program(s) started" "$WORK/err" ||
	fail "no warning after the recording: $(cat "$WORK/err")"
rr log "$WORK/s2" | grep -q "!!! unsupported: a setuid/setgid program .*\"$WORK/suid\"" ||
	fail "log does not show it: $(rr log "$WORK/s2" | grep '!!!')"
expect_eq "the rest recorded" after "$(rr cat "$WORK/s2" "$WORK/after")"
# setgid too (chgrp first: it clears the bits)
chown root:"$(id -g nobody)" "$WORK/suid"
chmod 2755 "$WORK/suid"
expect_status "setgid child" 0 rr record -q -o "$WORK/s3" -- sh -c "'$WORK/suid'"
grep -q "retro: warning: 1 setuid/setgid program(s) started" "$WORK/err" ||
	fail "no warning for a setgid program: $(cat "$WORK/err")"
pass

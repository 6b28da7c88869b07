#!/bin/sh
# Setting the clock moves V, never the host's clock.  p_settime sets the
# realtime clock forward by the seconds in a file: recorded with 0, then
# replayed with 3600 through --set-file.  The replay runs in a user
# namespace, where the kernel refuses to set the host's clock, so a shim
# that let the call through would show EPERM here rather than move this
# machine's clock.  Also: the replay itself works without privilege.
. "$SCENARIO_LIB"
need_mount_ns
unshare -Urm true 2>/dev/null ||
	{ echo "SKIP: $TEST_NAME: no unprivileged user namespaces"; exit 77; }

D=$WORK/data
S=$WORK/store
mkdir "$D"
echo 0 >"$D/off"
echo 3600 >"$WORK/hour"
rr record -q -o "$S" -- "$PROGS/p_settime" "$D/off" >"$D/said"
case $(head -n 1 "$D/said") in
"settime: 0")
	# it could set the clock: V moves by the hour, the host's does not
	moved="settime: 0
moved: 3600" status=1 ;;
"settime: EPERM")
	# it could not: neither can its replay
	moved="settime: EPERM
moved: 0" status=0 ;;
*) fail "recorded: $(cat "$D/said")" ;;
esac

before=$(date +%s)
expect_status "replay, another offset" $status unshare -Ur "$RETRO_REPLAY" run -q \
	"$S" --shepherd p_settime --root "$WORK/r1" --set-file "$D/off=$WORK/hour"
after=$(date +%s)
expect_eq "what it saw" "$moved" "$(cat "$WORK/r1$D/said")"
[ $(( after - before )) -lt 600 ] ||
	fail "the host's clock moved by $(( after - before )) s"
[ $status = 0 ] || grep -q "divergence at .* write $D/said" "$WORK/out" ||
	fail "no divergence on what it printed: $(cat "$WORK/out")"

# the same offset: the same output, no divergence
expect_status "replay, same offset" 0 unshare -Ur "$RETRO_REPLAY" run -q \
	"$S" --shepherd p_settime --root "$WORK/r2"
expect_eq "same offset" "$(cat "$D/said")" "$(cat "$WORK/r2$D/said")"
pass

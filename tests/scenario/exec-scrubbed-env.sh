#!/bin/sh
# An exec with an empty environment (execve with envp={NULL}, env -i) still
# records the new program, and the program sees exactly the environment
# it was given: nothing of the shim's.  RETRO_FOLLOW=0 opts out.
. "$SCENARIO_LIB"

S=$WORK/store
rr record -q -o "$S" -- "$PROGS/p_exec" "$PROGS/p_env" "$WORK/marker" >"$WORK/out"
expect_eq "environment as given" "count: 0" "$(cat "$WORK/out")"
rr ps --json "$S" | json_map '"%s %s %s" % (o["id"], o["program"], o["images"])' >"$WORK/ps"
expect_eq "one process, two images" "1 p_env 2" "$(cat "$WORK/ps")"
expect_eq "new image recorded" "seen" "$(rr cat "$S" "$WORK/marker")"

# env -i, through a shell
rr record -q -o "$WORK/s2" -- sh -c "env -i $PROGS/p_env $WORK/m2" >"$WORK/out"
expect_eq "env -i environment" "count: 0" "$(cat "$WORK/out")"
expect_eq "env -i recorded" "seen" "$(rr cat "$WORK/s2" "$WORK/m2")"

# A custom environment keeps its own variables, and only those.
rr record -q -o "$WORK/s3" -- sh -c "env -i FOO=bar $PROGS/p_env $WORK/m3" >"$WORK/out"
printf 'env: FOO=bar\ncount: 1\n' >"$WORK/want"
diff -u "$WORK/want" "$WORK/out" || fail "custom environment"

# A preload of its own: the shim goes in front of it for the exec (the
# program still records) and is taken out at the start, so the program
# sees its LD_PRELOAD as given (the exec's handoff carries it)
lib=$(ldd "$PROGS/p_env" | awk '/libc\.so/ { print $3 }')
[ -e "$lib" ] || fail "no libc path from ldd: $lib"
rr record -q -o "$WORK/s5" -- sh -c "env -i LD_PRELOAD=$lib FOO=bar $PROGS/p_env $WORK/m5" >"$WORK/out"
printf 'env: FOO=bar\nenv: LD_PRELOAD=%s\ncount: 2\n' "$lib" >"$WORK/want"
diff -u "$WORK/want" "$WORK/out" || fail "its own preload"
expect_eq "its own preload: recorded" "seen" "$(rr cat "$WORK/s5" "$WORK/m5")"

# Opting out: the scrubbed program runs unrecorded.
RETRO_FOLLOW=0 rr record -q -o "$WORK/s4" -- "$PROGS/p_exec" "$PROGS/p_env" "$WORK/m4" >/dev/null
expect_status "opted out" 1 rr cat "$WORK/s4" "$WORK/m4"
pass

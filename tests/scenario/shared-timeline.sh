#!/bin/sh
# Independent programs pointed at one store share one timeline: the log
# interleaves their actions by time, ps lists both.
. "$SCENARIO_LIB"

S=$WORK/store
LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S sh -c "echo one > $WORK/a"
LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S sh -c "echo two > $WORK/b"
LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S sh -c "echo three >> $WORK/a"
rr ps --json "$S" | json_map 'o["id"]' | tr '\n' ' ' >"$WORK/ids"
expect_eq "three processes" "1 2 3 " "$(cat "$WORK/ids")"
rr log --json -c write "$S" | json_map '"%s %s" % (o["proc"], o["path"].replace("'"$WORK"'/", ""))' >"$WORK/w"
printf '1 a\n2 b\n3 a\n' >"$WORK/want"
diff -u "$WORK/want" "$WORK/w" || fail "timeline order"
printf 'one\nthree\n' >"$WORK/want"
rr cat "$S" "$WORK/a" | cmp - "$WORK/want" || fail "a content"
# a relative RETRO_STORE is taken from the cwd at start
(cd "$WORK" && LD_PRELOAD=$RETRO_SHIM RETRO_STORE=rel sh -c "echo x > $WORK/c")
expect_eq "relative store" "x" "$(rr cat "$WORK/rel" "$WORK/c")"
pass

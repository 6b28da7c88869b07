#!/bin/sh
# A program that closes every descriptor and dup2s over high numbers keeps
# being recorded, and recording does not change the descriptor numbers a
# program gets (the shim keeps none in the low range: libunwind's own pipe
# is moved to the top of the table).
. "$SCENARIO_LIB"

S=$WORK/store
rr record -q -o "$S" -- "$PROGS/p_closeall" "$WORK/f" || fail "program failed"
expect_eq "file content" "after closeall" "$(cat "$WORK/f")"
expect_eq "recorded content" "after closeall" "$(rr cat "$S" "$WORK/f")"
expect_eq "closes recorded" 1024 \
	"$(rr log --json -c close "$S" | json_map 'o["args"][0] if o["args"][0] < 1024 and o["seq"] < 3000 else None' | sort -un | wc -l)"
native=$("$PROGS/p_fdnum" /etc/hostname)
recorded=$(rr record -q -o "$WORK/s2" -- "$PROGS/p_fdnum" /etc/hostname)
expect_eq "descriptor numbers" "$native" "$recorded"
# ... also when another library's constructor makes the first call
recorded=$(rr record -q -o "$WORK/s3" -- sh -c "exec $PROGS/p_fdnum /etc/hostname")
expect_eq "descriptor numbers after exec" "$native" "$recorded"
pass

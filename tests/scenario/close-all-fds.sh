#!/bin/sh
# A program that closes every descriptor and dup2s over high numbers keeps
# being recorded: the shim holds no descriptor of its own.
. "$SCENARIO_LIB"

S=$WORK/store
rr record -q -o "$S" -- "$PROGS/p_closeall" "$WORK/f" || fail "program failed"
expect_eq "file content" "after closeall" "$(cat "$WORK/f")"
expect_eq "recorded content" "after closeall" "$(rr cat "$S" "$WORK/f")"
expect_eq "closes recorded" 1024 \
	"$(rr log --json -c close "$S" | json_map 'o["args"][0] if o["args"][0] < 1024 and o["seq"] < 3000 else None' | sort -un | wc -l)"
pass

#!/bin/sh
# Inputs from outside the model keep their bytes: getrandom and
# /dev/urandom reads are stored exactly as the program got them.
. "$SCENARIO_LIB"

S=$WORK/store
rr record -q -o "$S" -- "$PROGS/p_random" >"$WORK/out"
# (glibc's own getrandom for malloc, seen by the trap layer, asks for 8)
rr log --json -c getrandom "$S" | json_map 'o["data_hex"] if o["ret"] == 16 else None' >"$WORK/g"
expect_eq "getrandom bytes" "$(sed -n 1p "$WORK/out")" "$(cat "$WORK/g")"
rr log --json -c read -P /dev/urandom "$S" | json_map 'o["data_hex"]' >"$WORK/u"
expect_eq "urandom bytes" "$(sed -n 2p "$WORK/out")" "$(cat "$WORK/u")"
pass

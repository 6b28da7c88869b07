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

# /dev/random keeps its bytes as well; /dev/zero and /dev/shm, under /dev
# but neither a random device nor a terminal (the shim tells them apart by
# the name's first byte after /dev/, then compares), keep none.
S2=$WORK/store2
rr record -q -o "$S2" -- sh -c 'head -c 16 /dev/random | od -An -tx1 | tr -d " \n"
	head -c 16 /dev/zero >/dev/null
	echo shm >/dev/shm/retro-test.$$; head -c 3 /dev/shm/retro-test.$$ >/dev/null
	rm -f /dev/shm/retro-test.$$' >"$WORK/out2"
rr log --json -c read -P /dev/random "$S2" | json_map 'o.get("data_hex")' | head -1 >"$WORK/r"
expect_eq "random bytes" "$(cat "$WORK/out2")" "$(cat "$WORK/r")"
expect_eq "/dev/zero: no bytes kept" "" \
	"$(rr log --json -c read -P /dev/zero "$S2" | json_map 'o.get("data_hex")')"
expect_eq "/dev/shm: no bytes kept" "" \
	"$(rr log --json -c read "$S2" | json_map 'o.get("data_hex") if "/dev/shm/" in o.get("path", "") else None')"
[ "$(rr log --json -c read "$S2" | json_map 'o["path"] if "/dev/shm/" in o.get("path", "") else None' | wc -l)" -ge 1 ] ||
	fail "no read of the /dev/shm file recorded"
pass

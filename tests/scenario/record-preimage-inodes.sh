#!/bin/sh
# Every file that existed before the recording gets its pre-image on its
# first change, whatever its inode number.  Pre-images are claimed per
# inode; the claim's key once lost the inode number's lowest bit, so two
# files whose numbers differ only there (often neighbours: made one after
# the other) shared one claim, and the second file's pre-image was missing
# (record-files.sh failed now and then for this).
. "$SCENARIO_LIB"

D=$WORK/d
mkdir "$D"
# two files whose inode numbers are 2n and 2n + 1: file systems mostly
# number files made one after the other in sequence, but other work on the
# machine takes numbers in between, so make more until there is a pair
pair="" i=0
while [ -z "$pair" ] && [ $i -lt 4000 ]; do
	for j in $(seq 1 100); do
		i=$((i + 1))
		echo "before $i" >"$D/f$i"
	done
	pair=$(ls -i "$D" | sort -n | awk 'prev != "" && $1 == pino + 1 && pino % 2 == 0 { print prev, $2; exit }
		{ prev = $2; pino = $1 }')
done
if [ -z "$pair" ]; then
	echo "SKIP: $TEST_NAME: no two of 4000 new files got inode numbers 2n, 2n+1"
	exit 77
fi
set -- $pair
A=$D/$1 B=$D/$2
S=$WORK/store
rr record -q -o "$S" -- sh -c "echo more >>'$A'; echo more >>'$B'"
rr log --json -c preimage "$S" | json_map 'o["path"]' | sort >"$WORK/pre"
expect_eq "pre-images of both ($(ls -i "$A" "$B" | paste -sd " "))" \
	"$(printf '%s\n' "$A" "$B" | sort)" "$(cat "$WORK/pre")"
expect_eq "cat of the second before its change" "before ${2#f}" \
	"$(rr cat --at 0 "$S" "$B")"

# Claims are per process: a forked child (the subshell) gets its own
# pre-image at its first change of a file its parent changed before, and
# none at its second.  (The child salts the claims it inherits instead of
# zeroing them: lib/recorder.c, inode_claim.)
S2=$WORK/store2
rr record -q -o "$S2" -- sh -c "echo p >>'$A'; (echo c >>'$A'; echo c2 >>'$A'); echo p2 >>'$A'"
expect_eq "pre-images by process" "1 2" \
	"$(rr log --json -c preimage "$S2" | json_map 'o["proc"]' | paste -sd " ")"
expect_eq "the bytes of the child's pre-image" "$(printf 'before %s\nmore\np' "${1#f}")" \
	"$(rr log --json -c preimage "$S2" | sed -n 2p |
		json_map 'bytes.fromhex(o["data_hex"]).decode().rstrip()')"
pass

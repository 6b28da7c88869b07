#!/bin/sh
# Every record a reader takes from the store is checked: a path record,
# an exit status and a module record whose bytes were changed inside an
# intact LMDB page make ps, log, files, cat and check fail with a message
# naming the record (exit 2), and fsck list it (exit 1).  Blobs and chunks
# have their own tests (store-errors.sh).
. "$SCENARIO_LIB"

mkdir "$WORK/d"
echo OLD >"$WORK/d/old"
RETRO_SPOOL_BASE=none rr record -q -o "$WORK/s" -- "$PROGS/p_files" "$WORK/d"
expect_status "the intact store" 0 rr fsck "$WORK/s"
pid=$(rr ps --json "$WORK/s" | json_map 'o["pid"]' | head -1)

# damage KIND: a copy of the store with one kind of record changed
damage() {
	rm -rf "$WORK/$1"
	cp -r "$WORK/s" "$WORK/$1"
	python3 - "$WORK/$1/data.mdb" "$1" "$WORK/d" "$pid" "$(cd "$PROGS" && pwd -P)" <<'PY'
import struct, sys
path, kind, d, pid, progs = sys.argv[1:4] + [int(sys.argv[4]), sys.argv[5]]
b = bytearray(open(path, "rb").read())
n = 0
if kind == "path":
    # a.txt is named by no argv or environment: only by its path record
    needle = (d + "/a.txt").encode()
    i = b.find(needle)
    while i >= 0:
        b[i + len(needle) - 1] ^= 0x01
        n += 1
        i = b.find(needle, i + 1)
elif kind == "status":
    # leaf node: data size 12, flags 0, key size 12, key = be32 pid + be64 t
    node = struct.pack("<HHHH", 12, 0, 0, 12) + struct.pack(">I", pid)
    i = b.find(node)
    if i >= 0:
        b[i + 8 + 12] ^= 0x01  # the status's low byte
        n = 1
elif kind == "module":
    # a module record: build-id length 20, the build-id, the program's path
    needle = (progs + "/p_files").encode()
    i = b.find(needle)
    while i >= 0:
        if i >= 21 and b[i - 21] == 20:
            b[i - 20] ^= 0x01
            n += 1
        i = b.find(needle, i + 1)
assert n, "nothing to damage for " + kind
open(path, "wb").write(b)
PY
}

for kind in path status module; do
	damage "$kind"
	S=$WORK/$kind
	case $kind in
	path) rec="path record" ;;
	status) rec="exit-status record" ;;
	module) rec="module record" ;;
	esac
	for cmd in ps log files check; do
		expect_status "$cmd, damaged $kind" 2 rr "$cmd" --no-import "$S"
		grep -q "$S: .*$rec .*fails its check" "$WORK/err" ||
			fail "$cmd, damaged $kind: message: $(cat "$WORK/err")"
	done
	expect_status "cat, damaged $kind" 2 rr cat --no-import "$S" "$WORK/d/old"
	grep -q "$rec .*fails its check" "$WORK/err" ||
		fail "cat, damaged $kind: message: $(cat "$WORK/err")"
	expect_status "fsck, damaged $kind" 1 rr fsck "$S"
	grep -q "problem: $rec .*fails its check" "$WORK/out" ||
		fail "fsck, damaged $kind: $(cat "$WORK/out")"
done
pass

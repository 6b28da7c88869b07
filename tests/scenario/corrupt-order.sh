#!/bin/sh
# A damaged page whose entries are out of key order (two of a leaf's node
# offsets swapped: every byte of every entry is intact, only their order
# is wrong, which liblmdb never checks) makes each reader stop with an
# error that names the table and the store (exit 2), and fsck report the
# table as damaged (exit 1).  One copy of the store for the paths table,
# one for the chunks (the actions), each damaged in the first leaf of the
# table's tree.
. "$SCENARIO_LIB"

S=$WORK/store
mkdir "$WORK/d"
(cd "$WORK" && RETRO_SPOOL_BASE=none rr record -q -o "$S" -- sh -c \
	'i=0; while [ $i -lt 40 ]; do echo $i > d/f$i; i=$((i+1)); done
	 cat d/f1 d/f2 > d/both')
expect_status "the intact store" 0 rr fsck "$S"

python3 - "$S" "$WORK" <<'PY'
import os, shutil, struct, sys
src, work = sys.argv[1], sys.argv[2]
data = open(os.path.join(src, "data.mdb"), "rb").read()
PS = 4096

def meta():
    # the newer of the two meta pages: MDB_meta after the 16-byte header
    best = None
    for pg in (0, 1):
        o = pg * PS + 16
        txnid = struct.unpack_from("<Q", data, o + 24 + 96 + 8)[0]
        if best is None or txnid > best[0]:
            best = (txnid, o)
    return best[1]

def node(pg, i):
    ptr = struct.unpack_from("<H", data, pg * PS + 16 + 2 * i)[0]
    return pg * PS + ptr

def nkeys(pg):
    lower = struct.unpack_from("<H", data, pg * PS + 12)[0]
    return (lower - 16) // 2

def first_leaf(root):
    pg = root
    while True:
        flags = struct.unpack_from("<H", data, pg * PS + 10)[0]
        if flags & 2:
            return pg
        assert flags & 1, "page %d is neither branch nor leaf" % pg
        lo, hi, fl = struct.unpack_from("<HHH", data, node(pg, 0))
        pg = lo | hi << 16 | fl << 32

# the named tables are the main table's entries: name -> MDB_db
main_root = struct.unpack_from("<Q", data, meta() + 24 + 48 + 40)[0]
tables = {}
leaf = first_leaf(main_root)
for i in range(nkeys(leaf)):
    o = node(leaf, i)
    ksize = struct.unpack_from("<H", data, o + 6)[0]
    name = data[o + 8:o + 8 + ksize].decode()
    tables[name] = struct.unpack_from("<Q", data, o + 8 + ksize + 40)[0]

for name in ("paths", "chunks"):
    pg = first_leaf(tables[name])
    assert nkeys(pg) >= 2, "%s: one entry in its first leaf" % name
    b = bytearray(data)
    o = pg * PS + 16
    p0, p1 = struct.unpack_from("<HH", b, o)
    struct.pack_into("<HH", b, o, p1, p0)
    d = os.path.join(work, "v-" + name)
    os.makedirs(d)
    for f in ("FORMAT", "shared.map"):
        shutil.copy(os.path.join(src, f), d)
    os.mkdir(os.path.join(d, "spool"), 0o700)
    os.chmod(d, 0o700)
    open(os.path.join(d, "data.mdb"), "wb").write(b)
PY

# the table's name in the readers' message (lib/reader.c) and in fsck's
for t in paths:path:paths chunks:action:actions; do
	table=${t%%:*} reader=${t#*:} fsck=${t##*:}
	reader=${reader%:*}
	v=$WORK/v-$table
	for cmd in ps log files check; do
		set +e
		timeout 60 "$RETRO_REPLAY" "$cmd" --no-import "$v" >/dev/null 2>"$WORK/err"
		st=$?
		set -e
		expect_eq "$cmd on v-$table: exit status ($(cat "$WORK/err"))" 2 "$st"
		grep -qF "$v" "$WORK/err" ||
			fail "$cmd on v-$table: the store is not named: $(cat "$WORK/err")"
		grep -qF "the $reader table's keys are out of order (a damaged page)" "$WORK/err" ||
			fail "$cmd on v-$table: $(cat "$WORK/err")"
	done
	set +e
	timeout 60 "$RETRO_REPLAY" fsck "$v" >"$WORK/err" 2>&1
	st=$?
	set -e
	expect_eq "fsck on v-$table: exit status ($(head -5 "$WORK/err"))" 1 "$st"
	grep -q "^problem: $fsck: keys out of order: the table is damaged" "$WORK/err" ||
		fail "fsck on v-$table: $(head -5 "$WORK/err")"
done
pass

#!/bin/sh
# A flipped byte in an LMDB branch or leaf page (LMDB keeps no checksums)
# never crashes a reader: ps, log, files, cat and check exit 0 or with a
# clear error naming the store (2), fsck with its verdict (1).  Each of a
# fixed list of damages (node offsets, page bounds, key and value sizes,
# child page numbers, a cycle) goes into its own copy of one store.
# Then two copies whose damage is only an order (two node offsets of a
# table's first leaf swapped: every entry intact, in the wrong order, which
# liblmdb never checks): there each reader must stop with an error naming
# the table and the store (exit 2), and fsck report that table.
. "$SCENARIO_LIB"

S=$WORK/store
mkdir "$WORK/d"
# a few hundred paths: the tables need branch pages
(cd "$WORK" && RETRO_SPOOL_BASE=none rr record -q -o "$S" -- sh -c \
	'i=0; while [ $i -lt 400 ]; do echo $i > d/f$i; i=$((i+1)); done
	 cat d/f1 d/f2 > d/both')
expect_status "the intact store" 0 rr fsck "$S"

python3 - "$S" "$WORK/v" <<'PY'
import os, shutil, struct, sys
src, out = sys.argv[1], sys.argv[2]
data = open(os.path.join(src, "data.mdb"), "rb").read()
PS = 4096
pages = []  # (pgno, flags) of branch and leaf pages
pg = 2  # 0 and 1 are the meta pages
while pg < len(data) // PS:
    o = pg * PS
    flags, lower, upper = struct.unpack_from("<HHH", data, o + 10)
    if flags & 4:  # overflow: its page count is where lower/upper are
        pg += max(1, struct.unpack_from("<I", data, o + 12)[0])
        continue
    if flags & 3 and 16 < lower <= upper <= PS:
        pages.append((pg, flags))
    pg += 1
branches = [p for p in pages if p[1] & 1]
leaves = [p for p in pages if p[1] & 2]
assert branches, "no branch page: the recording is too small"
picked = branches + leaves[:: max(1, len(leaves) // 8)]
n = 0
def copy(d, b):
    os.makedirs(d)
    for f in ("FORMAT", "shared.map"):
        shutil.copy(os.path.join(src, f), d)
    os.mkdir(os.path.join(d, "spool"), 0o700)
    os.chmod(d, 0o700)
    open(os.path.join(d, "data.mdb"), "wb").write(b)
def variant(name, pg, edits):
    global n
    b = bytearray(data)
    for off, fmt, val in edits:
        struct.pack_into(fmt, b, pg * PS + off, val)
    copy(os.path.join(out, "%02d-%s-p%d" % (n, name, pg)), b)
    n += 1
for pg, flags in picked:
    o = pg * PS
    ptr = struct.unpack_from("<H", data, o + 16)[0]
    variant("bounds", pg, [(12, "<H", 0xFFF0), (14, "<H", 0x0010)])
    variant("nodeptr", pg, [(16, "<H", (ptr + 0x7FF0) & 0xFFFF)])
    variant("ksize", pg, [(ptr + 6, "<H", 0xFFFF)])
    if flags & 1:
        variant("child-far", pg, [(ptr, "<H", 0xFFFF), (ptr + 2, "<H", 0xFFFF)])
        variant("child-self", pg, [(ptr, "<H", pg & 0xFFFF), (ptr + 2, "<H", pg >> 16)])
    else:
        variant("dsize", pg, [(ptr, "<H", 0xFFFF), (ptr + 2, "<H", 0x7FFF)])
# impossible bounds on every other leaf as well: on some, liblmdb's
# MDB_NEXT goes round in circles (a walk must notice its keys repeat)
for pg, flags in leaves:
    if (pg, flags) not in picked:
        variant("bounds", pg, [(12, "<H", 0xFFF0), (14, "<H", 0x0010)])

# The order damages, in v-order/TABLE (beside v/, out of the loop below).
def node(pg, i):
    return pg * PS + struct.unpack_from("<H", data, pg * PS + 16 + 2 * i)[0]
def nkeys(pg):
    return (struct.unpack_from("<H", data, pg * PS + 12)[0] - 16) // 2
def first_leaf(pg):
    while not struct.unpack_from("<H", data, pg * PS + 10)[0] & 2:
        lo, hi, fl = struct.unpack_from("<HHH", data, node(pg, 0))
        pg = lo | hi << 16 | fl << 32  # a branch node's child
    return pg
# the newer meta page; its main table lists the named ones (MDB_db each)
m = max((16, PS + 16), key=lambda o: struct.unpack_from("<Q", data, o + 128)[0])
main = first_leaf(struct.unpack_from("<Q", data, m + 24 + 48 + 40)[0])
roots = {}
for i in range(nkeys(main)):
    o = node(main, i)
    ks = struct.unpack_from("<H", data, o + 6)[0]
    roots[data[o + 8:o + 8 + ks].decode()] = \
        struct.unpack_from("<Q", data, o + 8 + ks + 40)[0]
for name in ("paths", "chunks"):
    pg = first_leaf(roots[name])
    assert nkeys(pg) >= 2, "%s: one entry in its first leaf" % name
    b = bytearray(data)
    p0, p1 = struct.unpack_from("<HH", b, pg * PS + 16)
    struct.pack_into("<HH", b, pg * PS + 16, p1, p0)
    copy(os.path.join(out + "-order", name), b)
print(n)
PY

crashed=0 guarded=0
for v in "$WORK"/v/*; do
	for cmd in ps log files "cat:$WORK/d/both" check fsck; do
		set +e
		# a reader that loops for ever is a failure, not a hang
		case $cmd in
		cat:*) timeout 60 "$RETRO_REPLAY" cat --no-import "$v" "${cmd#cat:}" >/dev/null 2>"$WORK/err" ;;
		fsck) timeout 60 "$RETRO_REPLAY" fsck "$v" >"$WORK/err" 2>&1 ;;
		*) timeout 60 "$RETRO_REPLAY" "$cmd" --no-import "$v" >/dev/null 2>"$WORK/err" ;;
		esac
		st=$?
		set -e
		name="${cmd%%:*} on $(basename "$v")"
		[ "$st" -ne 124 ] || fail "$name did not end within 60 s"
		[ "$st" -lt 128 ] || fail "$name died of signal $((st - 128)): $(cat "$WORK/err")"
		case ${cmd%%:*}:$st in
		fsck:1) grep -q "PROBLEMS FOUND\|CORRUPT" "$WORK/err" ||
			fail "$name: verdict: $(cat "$WORK/err")" ;;
		fsck:0) ;;
		fsck:*) fail "$name exited $st: $(cat "$WORK/err")" ;;
		*:0 | check:1 | cat:1) ;;
		*:2) grep -qF "$v" "$WORK/err" ||
			fail "$name: exit 2 without naming the store: $(cat "$WORK/err")" ;;
		*) fail "$name exited $st: $(cat "$WORK/err")" ;;
		esac
		if grep -q "the store is corrupt: reading it crashed" "$WORK/err"; then
			guarded=$((guarded + 1))
		fi
		if grep -q "crashed the checker" "$WORK/err"; then
			crashed=$((crashed + 1))
		fi
	done
done
echo "readers stopped by the crash guard: $guarded; fsck checker crashes reported: $crashed"

# A store from a run of this test where one such page sent fsck's walk of
# the blobs round in circles (it ran for hours; its environment blob's
# values are overwritten with x): every reader ends, fsck with its verdict
L=$WORK/walk-loop
mkdir -m 700 "$L" "$L/spool"
cp "$S/FORMAT" "$L/"
truncate -s 1M "$L/shared.map"
python3 -c 'import lzma, sys; sys.stdout.buffer.write(lzma.open(sys.argv[1]).read())' \
	"$(dirname "$SCENARIO_LIB")/data/walk-loop.mdb.xz" >"$L/data.mdb"
chmod 600 "$L"/*
set +e
timeout 60 "$RETRO_REPLAY" fsck "$L" >"$WORK/err" 2>&1
st=$?
set -e
[ "$st" -ne 124 ] || fail "fsck of walk-loop did not end within 60 s"
expect_eq "fsck of walk-loop" 1 "$st"
grep -q "^problem: blobs: keys out of order" "$WORK/err" ||
	fail "fsck of walk-loop: $(head -5 "$WORK/err")"
for cmd in ps log files check; do
	set +e
	timeout 60 "$RETRO_REPLAY" "$cmd" --no-import "$L" >/dev/null 2>"$WORK/err"
	st=$?
	set -e
	case $st in 0 | 1 | 2) ;; *) fail "$cmd on walk-loop exited $st: $(cat "$WORK/err")" ;; esac
done
# The order damages: the table's name in the readers' message (lib/reader.c)
# and in fsck's
for t in paths:path:paths chunks:action:actions; do
	table=${t%%:*} reader=${t#*:} fsck=${t##*:}
	reader=${reader%:*}
	v=$WORK/v-order/$table
	for cmd in ps log files check; do
		set +e
		timeout 60 "$RETRO_REPLAY" "$cmd" --no-import "$v" >/dev/null 2>"$WORK/err"
		st=$?
		set -e
		expect_eq "$cmd on the $table out of order: exit status ($(cat "$WORK/err"))" 2 "$st"
		grep -qF "$v" "$WORK/err" ||
			fail "$cmd on the $table out of order: the store is not named: $(cat "$WORK/err")"
		grep -qF "the $reader table's keys are out of order (a damaged page)" "$WORK/err" ||
			fail "$cmd on the $table out of order: $(cat "$WORK/err")"
	done
	set +e
	timeout 60 "$RETRO_REPLAY" fsck "$v" >"$WORK/err" 2>&1
	st=$?
	set -e
	expect_eq "fsck on the $table out of order: exit status ($(head -5 "$WORK/err"))" 1 "$st"
	grep -q "^problem: $fsck: keys out of order: the table is damaged" "$WORK/err" ||
		fail "fsck on the $table out of order: $(head -5 "$WORK/err")"
done
# The damages above include ones that do crash liblmdb: the guard has to
# have turned some of those crashes into errors.
[ "$guarded" -gt 0 ] || fail "no damage reached the crash guard"
pass

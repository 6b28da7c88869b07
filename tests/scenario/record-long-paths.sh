#!/bin/sh
# Paths the recorder cannot keep as they are.  A failed open of a 10,000-
# byte path is recorded with the path cut (ending "...(cut)"): interned
# whole, the importer refused its segment and every call in it was lost,
# the write after it too.  A file made in a working directory deeper than
# PATH_MAX (getcwd fails there) is recorded as "?/NAME", never as "/NAME",
# which is another file.  fsck makes the importer's checks of each spool
# segment, and says when no import would take one.
. "$SCENARIO_LIB"

S=$WORK/store
rr record -q -o "$S" -- python3 -c '
import os, sys
try:
    os.open("/" + "x" * 10000, os.O_RDONLY)
except OSError as e:
    assert e.errno == 36, e
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"after the long path\n")
os.close(fd)' "$WORK/f" || fail "the program failed"
expect_eq "the write after the long path" "after the long path" "$(rr cat "$S" "$WORK/f")"
rr log --json "$S" | json_map '"%s %d %s" % (o["errno"], len(o["path"]), o["path"][-12:]) if "xxxxxxxx" in o.get("path", "") else None' >"$WORK/cut"
expect_eq "the long path, cut to 8,191 bytes" "36 8191 xxxx...(cut)" "$(cat "$WORK/cut")"
expect_status "fsck" 0 rr fsck "$S"

# 25 directories of 200 bytes: 5,000 bytes deep.
rr record -q -o "$WORK/s2" -- python3 -c '
import os, sys
os.chdir(sys.argv[1])
for i in range(25):
    os.mkdir("d" * 200)
    os.chdir("d" * 200)
with open("leaf.txt", "w") as f:
    f.write("deep\n")' "$WORK" || fail "the deep program failed"
rr log "$WORK/s2" | grep -q 'open[0-9]*("?/leaf.txt", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 3 (created)' ||
	fail "the deep file is not ?/leaf.txt: $(rr log "$WORK/s2" | grep leaf | head -2)"
expect_status "no /leaf.txt in the recording" 1 rr cat "$WORK/s2" /leaf.txt
expect_eq "?/leaf.txt" "deep" "$(rr cat "$WORK/s2" '?/leaf.txt')"
rm -rf "$WORK/$(printf 'd%.0s' $(seq 200))"

# A directory the recorder can name (3,750 bytes) and a relative path of
# 3,819 more: the file's whole absolute path, 7,591 bytes.
mkdir "$WORK/m"
rr record -q -o "$WORK/s4" -- python3 -c '
import os, sys
os.chdir(sys.argv[1])
for i in range(15):
    os.mkdir("e" * 249)
    os.chdir("e" * 249)
rel = "/".join(["f" * 200] * 19)
os.makedirs(rel)
with open(rel + "/x.txt", "w") as f:
    f.write("long\n")' "$WORK/m" || fail "the long-path program failed"
want=$(python3 -c 'import sys; print(len(sys.argv[1]) + 15 * 250 + 19 * 201 + 6)' "$WORK/m")
rr log --json "$WORK/s4" | json_map 'len(o["path"]) if o["call"].startswith("open") and o.get("path", "").endswith("/x.txt") else None' >"$WORK/len"
expect_eq "a path of $want bytes, whole" "$want" "$(cat "$WORK/len")"
rm -rf "$WORK/m"

# A segment whose path record says more bytes than it holds: the walk of
# its records passes, the importer's checks do not.
S3=$WORK/s3
RETRO_IMPORT=0 LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$S3 /bin/true
spool=$(cat "$S3/SPOOL")
python3 - "$spool" <<'PY' || fail "no path record to damage"
import glob, struct, sys
for f in sorted(glob.glob(sys.argv[1] + "/p*.seg")):
    b = bytearray(open(f, "rb").read())
    used = struct.unpack_from("<Q", b, 24)[0]
    off = 4096
    while off + 8 <= 4096 + used:
        n, typ = struct.unpack_from("<IH", b, off)
        if n == 0:
            break
        if typ == 2:  # REC_PATH: hdr, id, len
            struct.pack_into("<I", b, off + 16, 9000)
            open(f, "r+b").write(b)
            sys.exit(0)
        off += n
sys.exit(1)
PY
expect_status "fsck of the damaged segment" 1 rr fsck "$S3"
grep -q "spool segment .*p1-i0-t1-s0.seg: .*(no import takes it)" "$WORK/out" ||
	fail "fsck does not name the segment: $(cat "$WORK/out")"
pass

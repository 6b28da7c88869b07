#!/bin/sh
# Sites a process's trap layer rewrote are noted in the spool directory
# (lib/rewrite.c, "sites learned across processes"), and the next process
# of the same program in the same recording rewrites them at its start
# instead of trapping at them first.  The recording is the same either
# way: the program's output, the bytes it wrote, its writes and their call
# sites.  A program that never ran in the recording learns nothing from
# another's sites, and a damaged file of sites rewrites nothing it should
# not: the run is recorded as without one, and the file is started again.
# The notes go with the spool when the recording ends.
. "$SCENARIO_LIB"

S=$WORK/store
# Everything below runs in one recording.  p_rewrite writes into
# $WORK/NAME, its traps into $WORK/NAME.traps.
cat >"$WORK/steps.sh" <<'STEPS'
W=$1 PROGS=$2 SP=$(cat "$1/store/SPOOL")
run() { mkdir "$W/$1"; "$PROGS/p_rewrite" "$W/$1" >"$W/$1.out" 2>"$W/$1.traps"; }
run first
ls "$SP" >"$W/spool.first"
run second
mkdir "$W/fp"
"$PROGS/p_fastpath" "$W/fp" >/dev/null 2>"$W/fp.traps"
# each entry's offset moved by one byte, well formed, its checksum made again
for f in "$SP"/sites-*; do
	python3 - "$f" <<'PY'
import struct, sys
p = sys.argv[1]
b = open(p, "rb").read()
out = b""
for i in range(0, len(b) - len(b) % 16, 16):
    off, nr, rf, k, tag, s = struct.unpack("<IiBBHI", b[i:i + 16])
    e = struct.pack("<IiBBH", off + 1, nr, rf, k, tag)
    h = 2166136261
    for c in e:
        h = ((h ^ c) * 16777619) & 0xffffffff
    out += e + struct.pack("<I", h)
open(p, "wb").write(out)
PY
done
run shifted
for f in "$SP"/sites-*; do
	head -c 1000 /dev/urandom >"$f"
done
run garbage
run again
STEPS
RETRO_TRAP_DEBUG=1 rr record -q -o "$S" -- sh "$WORK/steps.sh" "$WORK" "$PROGS" 2>"$WORK/steps.err" ||
	fail "the recorded steps failed: $(grep -v "^T[0-9]\\|^retro: site" "$WORK/steps.err")"
for r in first second shifted garbage again; do
	expect_eq "$r: output" "stdio: 0
threads: 0 failed
child: exit 0
no SA_RESTART: first a
  second none, Interrupted system call
SA_RESTART: first a
  second b
errno: 4242" "$(cat "$WORK/$r.out")"
done
writes() { grep -c "^T[0-9]* 1$" "$WORK/$1.traps" || true; }
learned() { sed -n 's/^retro: site: \([0-9]*\) learned, rewritten at the start$/\1/p' "$WORK/$1.traps"; }
# NAME's writes and their call sites (two frames), counted
sites() {
	rr log --json --stacks -c write "$S" |
		json_map 'o["path"].rsplit("/", 1)[1] + " " + (" <- ".join(f.split(" (")[0] for f in o["site"].split(" <- ")[:2]) if "site" in o else "NO SITE") if o.get("path", "").startswith("'"$WORK/$1"'/") else None' |
		sort | uniq -c
}

expect_eq "the first run learned nothing at its start" "" "$(learned first)"
[ "$(writes first)" -ge 4 ] || fail "the first run's writes trapped only $(writes first) times"
grep -q "^sites-" "$WORK/spool.first" || fail "no sites noted: $(cat "$WORK/spool.first")"

n=$(learned second)
[ -n "$n" ] && [ "$n" -ge 1 ] || fail "the second run rewrote no learned site at its start"
expect_eq "the second run's writes that trapped" 0 "$(writes second)"
[ "$(grep -c '^T' "$WORK/second.traps")" -lt "$(grep -c '^T' "$WORK/first.traps")" ] ||
	fail "the second run trapped no less than the first"
for f in stdio t0 t1 t2 t3 child errno; do
	rr cat "$S" "$WORK/second/$f" >"$WORK/got" 2>"$WORK/err" ||
		fail "$f not recorded: $(cat "$WORK/err")"
	cmp -s "$WORK/got" "$WORK/second/$f" || fail "$f: recorded bytes differ"
done
sites first >"$WORK/first.sites"
grep -q "1000 stdio .* <- " "$WORK/first.sites" ||
	fail "no 1000 stdio writes: $(cat "$WORK/first.sites")"

# another program, first run in this spool: none of p_rewrite's sites
expect_eq "another program's first run" "" "$(learned fp)"

# damaged files: entries moved by a byte, then garbage.  The sites are not
# where the entries say: nothing is rewritten at the start, and the run
# is as the first.  The garbage run started its file again with what it
# learned, which the next run rewrites at its start.
expect_eq "entries moved by a byte: sites rewritten at the start" "0" "$(learned shifted)"
[ "$(writes shifted)" -ge 4 ] || fail "moved entries: writes trapped only $(writes shifted) times"
expect_eq "garbage: sites rewritten at the start" "0" "$(learned garbage)"
n=$(learned again)
[ -n "$n" ] && [ "$n" -ge 1 ] || fail "after the garbage, no learned site rewritten at the start"
expect_eq "after the garbage: writes that trapped" 0 "$(writes again)"
for r in second shifted garbage again; do
	sites $r >"$WORK/$r.sites"
	sed "s/ $r\// first\//" "$WORK/$r.sites" | diff -u "$WORK/first.sites" - ||
		fail "$r: writes or their sites differ"
done
expect_eq "the spool after the recording" "" "$(ls -d "$(cat "$S/SPOOL")" 2>/dev/null)"

# RETRO_REWRITE=0 rewrites nothing, learned or not
mkdir "$WORK/off1" "$WORK/off2"
RETRO_TRAP_DEBUG=1 RETRO_REWRITE=0 rr record -q -o "$S" -- sh -c \
	'"$1/p_rewrite" "$2/off1" >/dev/null; "$1/p_rewrite" "$2/off2" >/dev/null' \
	sh "$PROGS" "$WORK" 2>"$WORK/off.traps"
expect_eq "RETRO_REWRITE=0: sites rewritten at the start" "" "$(learned off)"
expect_status "fsck" 0 rr fsck "$S"
pass

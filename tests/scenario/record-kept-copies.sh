#!/bin/sh
# Kept bytes of 2,048 or more are copied into the spool by the kernel
# (process_vm_writev on the recording process itself, lib/recorder.c,
# data_copyv), smaller ones by memcpy; under a seccomp filter that refuses
# process_vm_writev the recorder copies them all itself.  Either way the
# store holds the same bytes: a pre-image of 9,000, writes of 10,000,
# 5,000 (pwrite), 4,500 (writev of three), 100 and 2,048, 3,000 into a
# pipe, 4,096 read from /dev/urandom and written again; and the same with
# the spool on the disk, in STORE/spool (RETRO_SPOOL_BASE=none), where the
# kernel writes into a file system's pages.  RETRO_FAST_DEBUG counts the
# copies the kernel made.
. "$SCENARIO_LIB"

# pat K N: N bytes of p_bigcopy's pattern K
pat() {
	python3 -c 'import sys; k, n = int(sys.argv[1]), int(sys.argv[2])
sys.stdout.buffer.write(bytes((i * (2 * k + 1) + k) & 0xff for i in range(n)))' "$1" "$2"
}

# The file as p_bigcopy leaves it.
{
	pat 1 3000
	pat 2 5000
	pat 1 10000 | tail -c 2000
	pat 3 1000
	pat 4 2000
	pat 5 1500
	pat 6 100
	pat 7 2048
} >"$WORK/want"
expect_eq "expected size" 16648 "$(wc -c <"$WORK/want")"
head -c 9000 /dev/urandom >"$WORK/before"

for mode in allow deny disk; do
	mkdir "$WORK/$mode"
	D=$(cd "$WORK/$mode" && pwd -P)
	S=$WORK/store-$mode
	cp "$WORK/before" "$D/f"
	base=${RETRO_SPOOL_BASE-} filter=$mode
	[ $mode = disk ] && base=none filter=allow
	out=$(RETRO_SPOOL_BASE=$base RETRO_FAST_DEBUG=1 rr record -q -o "$S" \
		-- "$PROGS/p_bigcopy" "$D/f" "$D/r" $filter 2>"$WORK/err-$mode") ||
		fail "p_bigcopy $mode failed: $(cat "$WORK/err-$mode")"
	expect_eq "output ($mode)" "p_bigcopy done" "$out"
	cmp -s "$D/f" "$WORK/want" || fail "p_bigcopy $mode wrote other bytes"
	expect_status "fsck ($mode)" 0 rr fsck "$S"

	rr cat --at 0 "$S" "$D/f" >"$WORK/got" || fail "cat --at 0 ($mode)"
	cmp -s "$WORK/got" "$WORK/before" ||
		fail "the pre-image of 9,000 bytes differs ($mode)"
	# the first write alone, before the pwrite over its middle
	at=$(rr log --json -c write "$S" |
		json_map '"%.9f" % (o["end_ns"] / 1e9) if o["ret"] == 10000 else None')
	rr cat --at "$at" "$S" "$D/f" >"$WORK/got" || fail "cat --at $at ($mode)"
	pat 1 10000 | cmp -s - "$WORK/got" ||
		fail "the write of 10,000 bytes differs ($mode)"
	rr cat "$S" "$D/f" >"$WORK/got" || fail "cat ($mode)"
	cmp -s "$WORK/got" "$WORK/want" || fail "the file at the end differs ($mode)"
	rr cat "$S" "$D/r" >"$WORK/got" || fail "cat of the random copy ($mode)"
	cmp -s "$WORK/got" "$D/r" || fail "the 4,096 random bytes written differ ($mode)"
	# what the read returned is kept too, whole (compared by their sums)
	expect_eq "bytes read from /dev/urandom ($mode)" \
		"$(od -An -v -tx1 "$D/r" | tr -d ' \n' | md5sum)" \
		"$(rr log --json -c read "$S" | json_map 'o.get("data_hex") if o["path"] == "/dev/urandom" else None' | tr -d '\n' | md5sum)"
	expect_eq "bytes written into the pipe ($mode)" \
		"$(pat 8 3000 | od -An -v -tx1 | tr -d ' \n' | md5sum)" \
		"$(rr log --json -c write "$S" | json_map 'o.get("data_hex") if o["ret"] == 3000 else None' | tr -d '\n' | md5sum)"
	rr log "$S" | grep -q '!!!' && fail "loss marked ($mode)"
done

# allow: the pre-image, 10,000, 5,000, 4,500, 2,048, the pipe's 3,000,
# the 4,096 read and written: 8; the 100 bytes by memcpy
expect_eq "copies the kernel made" \
	"retro: thread 1: 8 kept copies made by the kernel" \
	"$(grep 'kept copies' "$WORK/err-allow")"
expect_eq "copies the kernel made under the filter" "" \
	"$(grep 'kept copies' "$WORK/err-deny")"
[ -d "$WORK/store-disk/spool" ] || fail "the disk case's spool is not in the store"
[ -n "${RETRO_SPOOL_BASE-}" ] || [ -f "$WORK/store-allow/SPOOL" ] ||
	fail "the spool of the first case is not in shared memory"
expect_eq "copies the kernel made, the spool on the disk" \
	"retro: thread 1: 8 kept copies made by the kernel" \
	"$(grep 'kept copies' "$WORK/err-disk")"
pass

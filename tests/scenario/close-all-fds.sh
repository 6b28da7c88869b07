#!/bin/sh
# A program that closes every descriptor and dup2s over high numbers keeps
# being recorded, and recording does not change the descriptor numbers a
# program gets, nor the set of descriptors it has: the shim keeps none of
# its own open (libunwind's address-validation pipe, opened at the first
# unwind, is closed once the recorder validates addresses without it).
. "$SCENARIO_LIB"

S=$WORK/store
rr record -q -o "$S" -- "$PROGS/p_closeall" "$WORK/f" || fail "program failed"
expect_eq "file content" "after closeall" "$(cat "$WORK/f")"
expect_eq "recorded content" "after closeall" "$(rr cat "$S" "$WORK/f")"
expect_eq "closes recorded" 1024 \
	"$(rr log --json -c close "$S" | json_map 'o["args"][0] if o["args"][0] < 1024 and o["seq"] < 3000 else None' | sort -un | wc -l)"
native=$("$PROGS/p_fdnum" /etc/hostname)
recorded=$(rr record -q -o "$WORK/s2" -- "$PROGS/p_fdnum" /etc/hostname)
expect_eq "descriptor numbers" "$native" "$recorded"
# ... also when another library's constructor makes the first call
recorded=$(rr record -q -o "$WORK/s3" -- sh -c "exec $PROGS/p_fdnum /etc/hostname")
expect_eq "descriptor numbers after exec" "$native" "$recorded"
# every open descriptor, probed up to the limit, in the program and in a
# forked child, with and without the trap layer, and after an exec
native=$("$PROGS/p_fdlist" "$WORK/l0")
for mode in --trap --no-trap; do
	recorded=$(rr record $mode -q -o "$WORK/s4$mode" -- "$PROGS/p_fdlist" "$WORK/l$mode")
	expect_eq "open descriptors ($mode)" "$native" "$recorded"
	expect_eq "recorded ($mode)" abc "$(rr cat "$WORK/s4$mode" "$WORK/l$mode")"
done
recorded=$(rr record -q -o "$WORK/s5" -- sh -c "exec $PROGS/p_fdlist $WORK/l5")
expect_eq "open descriptors after exec" "$native" "$recorded"
# the unwinder's address check without a descriptor is process_vm_readv; a
# program whose seccomp filter refuses it keeps its call sites recorded
# (libunwind's own check, and its pipe, come back)
rr record -q -o "$WORK/s6" -- "$PROGS/p_vmdeny" "$WORK/l6" || fail "p_vmdeny failed"
expect_eq "p_vmdeny wrote" xxxx "$(cat "$WORK/l6")"
expect_eq "call sites of the four writes" "site site site site" \
	"$(rr log --stacks -c write "$WORK/s6" | sed -n 's/^ *at \([a-z_]*\) .*/\1/p' | paste -sd " ")"
# the descriptors a process starts with are in its recording: inherited
# ones (fd 7), and in a forked child those its parent made, the highest
# last (the walk of the table stops at the highest known)
rr record -q -o "$WORK/s7" -- bash -c "exec 9>$WORK/nine 300>$WORK/big; cat /dev/null; true" \
	7>"$WORK/seven" || fail "the shell failed"
expect_eq "cat's descriptors" "7 $WORK/seven
9 $WORK/nine
300 $WORK/big" "$(rr log -c fdinfo "$WORK/s7" | sed -n 's/.* 2:cat  *--- fd \([0-9]*\) is "\(.*\)"$/\1 \2/p' | grep "^[0-9]* $WORK/")"
# the pipe libunwind opens as the shim starts is closed before the program
# runs, and never moved up near RLIMIT_NOFILE: the kernel's descriptor
# table keeps the size it has natively (it grew to 32768 here)
expect_eq "descriptor table size" "$(grep FDSize /proc/self/status)" \
	"$(rr record -q -o "$WORK/s8" -- grep FDSize /proc/self/status)"
pass

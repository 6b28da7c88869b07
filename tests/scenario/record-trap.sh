#!/bin/sh
# The trap layer (RETRO_TRAP=1, Syscall User Dispatch) records what the
# PLT layer cannot see: the program's own syscall instructions, stdio's
# internal writes, internal calls of glibc; raw syscall() is recorded by
# the shim's own syscall(), without a trap.  The program's behaviour is unchanged: its signal
# handlers, its own SIGSYS handler, a fully blocked mask, threads, fork.
. "$SCENARIO_LIB"

D=$WORK/d S=$WORK/store
mkdir -p "$D"
native=$("$PROGS/p_raw" "$D")
rm -f "$D"/*
out=$(RETRO_TRAP=1 rr record -q -o "$S" -- "$PROGS/p_raw" "$D")
expect_eq "output as without recording" "$native" "$out"
expect_eq "output" "usr1 1 sys 1 child 0" "$out"

for f in raw asm stdio blocked thread child openat2 alarm; do
	rr cat "$S" "$D/$f" >"$WORK/$f" 2>"$WORK/err" ||
		fail "$f not recorded: $(cat "$WORK/err")"
	cmp "$D/$f" "$WORK/$f" || fail "$f: recorded bytes differ"
done
expect_eq "raw write" "raw bytes" "$(cat "$WORK/raw")"
expect_eq "asm write" "asm bytes" "$(cat "$WORK/asm")"
# p_raw's raw clone(CLONE_VM) onto a new stack went through the trampoline:
# the child ran and wrote its file (the program checks its exit status)
expect_eq "cloned child ran" "cloned" "$(cat "$D/clone")"
expect_eq "stdio write" "stdio 42" "$(cat "$WORK/stdio")"

# the raw calls are there as the calls they are
rr log --json -p p_raw "$S" |
	json_map 'o["call"] if o.get("path","").endswith("/raw") else None' >"$WORK/raw.calls"
printf 'openat\nwrite\nclose\n' >"$WORK/want"
diff -u "$WORK/want" "$WORK/raw.calls" || fail "raw calls"
rr log --json -p p_raw "$S" |
	json_map 'o["call"] if o.get("path","").endswith("/asm") else None' >"$WORK/asm.calls"
printf 'open\nwrite\nclose\n' >"$WORK/want"
diff -u "$WORK/want" "$WORK/asm.calls" || fail "asm calls"
# a trapped call has its call site, unwound from the trapped registers:
# the function with the syscall instruction, then p_raw's main at the
# line that called it
src=$(dirname "$SCENARIO_LIB")/../progs/p_raw.c
line=$(grep -n 'asm_syscall3(SYS_write, fd, (long)"asm bytes' "$src" | cut -d: -f1)
rr log --stacks -c write "$S" | grep -A1 '/asm>' | sed -n 's/^ *at //p' >"$WORK/site"
grep -q "^asm_syscall3 (p_raw.c:[0-9]*) <- main (p_raw.c:$line) <- " "$WORK/site" ||
	fail "trapped call site: $(cat "$WORK/site") (want asm_syscall3 <- main (p_raw.c:$line))"
# syscall()'s: the line that called syscall()
line=$(grep -n 'syscall(SYS_write, fd, "raw bytes' "$src" | cut -d: -f1)
rr log --stacks -c write "$S" | grep -A1 '/raw>' | sed -n 's/^ *at //p' >"$WORK/site"
grep -q "^main (p_raw.c:$line) <- " "$WORK/site" ||
	fail "syscall() call site: $(cat "$WORK/site") (want main (p_raw.c:$line))"
expect_eq "raw clock_nanosleep" 1 \
	"$(rr log --json -c clock_nanosleep "$S" | json_map 'o["args"][2]' | grep -c '^1000000$')"

# nothing twice: a call the PLT layer records is not trapped again
S2=$WORK/store2
RETRO_TRAP=1 rr record -q -o "$S2" -- "$PROGS/p_files" "$D" >/dev/null 2>&1 || true
expect_eq "one pwrite" 1 "$(rr log --json -c pwrite "$S2" | wc -l)"

# sh and coreutils, with the layer armed
printf 'OLD\n' >"$D/old"
RETRO_TRAP=1 rr record -q -o "$WORK/s3" -- sh -c "echo hi > $D/sh; cat $D/sh > $D/sh2; ls $D > $D/ls"
expect_eq "cat through the trap layer" "hi" "$(rr cat "$WORK/s3" "$D/sh2")"
rr cat "$WORK/s3" "$D/ls" | cmp - "$D/ls" || fail "ls output"
# what cannot be recorded is said: io_uring (p_raw sets one up) ...
rr log "$S" | grep -q '!!! unsupported: io_uring' || fail "io_uring not reported"
# ... and a statically linked program
RETRO_TRAP=1 rr record -q -o "$WORK/s4" -- sh -c "$PROGS/p_static $D/static"
rr log "$WORK/s4" | grep -q "!!! unsupported: a statically linked program.*p_static" ||
	fail "static program not reported: $(rr log "$WORK/s4" | tail -3)"
expect_eq "static program ran" "static" "$(cat "$D/static")"
# system() and popen(): glibc's internal posix_spawn clones onto a stack of
# its own with CLONE_VM | CLONE_VFORK; the children are recorded and linked
native=$("$PROGS/p_system" "$D/sys.native")
out=$(rr record -q -o "$WORK/s6" -- "$PROGS/p_system" "$D/sys")
expect_eq "system/popen output" "$native" "$out"
expect_eq "system/popen" "system 0 popen from-popen pclose 0 spawn-missing ENOENT" "$out"
expect_eq "system's shell recorded" "from-system" "$(rr cat "$WORK/s6" "$D/sys")"
rr ps --json "$WORK/s6" | json_map '"%s %s" % (o["parent"], o["program"])' >"$WORK/tree"
printf '0 p_system\n1 dash\n1 dash\n' >"$WORK/want"
diff -u "$WORK/want" "$WORK/tree" || fail "system/popen tree"

# ... and a setuid program owned by another user (only root can make one)
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	cp "$PROGS/p_static" "$WORK/suid"
	chown nobody "$WORK/suid"
	chmod 4755 "$WORK/suid"
	chmod 755 "$WORK"
	rr record -q -o "$WORK/s7" -- sh -c "$WORK/suid /dev/null"
	# on a nosuid mount (a container's /tmp) the bit does nothing: what
	# is left to say is that the program is static
	case ",$(findmnt -no OPTIONS -T "$WORK" 2>/dev/null)," in
	*,nosuid,*) want="a statically linked program" ;;
	*) want="a setuid/setgid program" ;;
	esac
	rr log "$WORK/s7" | grep -q "!!! unsupported: $want.*suid" ||
		fail "setuid program not reported as $want: $(rr log "$WORK/s7" | tail -3)"
else
	echo "setuid check needs root: not run"
fi

# where the kernel refuses the layer: one event says so, recording goes on
RETRO_TRAP=1 RETRO_FAULT=prctl:EINVAL:0 rr record -q -o "$WORK/s5" -- sh -c "echo x > $D/nt"
rr log "$WORK/s5" | grep -q "!!! the trap layer is not available (Invalid argument)" ||
	fail "no notrap event"
expect_eq "recorded without the layer" "x" "$(rr cat "$WORK/s5" "$D/nt")"
expect_status "fsck" 0 rr fsck "$S"
pass

#!/bin/sh
# record exits with the recorded command's status, finds the shim in the
# build tree by itself, and ps shows the process tree with statuses.
. "$SCENARIO_LIB"

S=$WORK/store
expect_status "exit 3" 3 rr record -q -o "$S" -- sh -c 'exit 3'
expect_status "killed" 137 rr record -q -o "$S" -- sh -c 'kill -9 $$'
expect_status "missing command" 127 rr record -q -o "$S" -- /nonexistent/cmd
grep -q "/nonexistent/cmd" "$WORK/err" || fail "missing command message"
# nothing ran, and no spool made for it stays behind in shared memory
sp=$(cat "$S/SPOOL" 2>/dev/null || true)
[ -z "$sp" ] || [ ! -e "$sp" ] || fail "missing command: its spool $sp stayed: $(ls -a "$sp")"

# Without RETRO_SHIM the build-tree shim is found next to the binary.
(unset RETRO_SHIM; rr record -q -o "$WORK/s2" -- sh -c 'true') ||
	fail "record without RETRO_SHIM"
rr ps --json "$WORK/s2" | json_map 'o["program"]' >"$WORK/progs"
expect_eq "recorded without RETRO_SHIM" "dash" "$(head -1 "$WORK/progs")"

rr ps --json "$S" | json_map '"%s %s" % (o["program"], o["status"])' >"$WORK/ps"
cat >"$WORK/want" <<'WANT'
dash exit 3
dash signal 9 (Killed)
WANT
diff -u "$WORK/want" "$WORK/ps" || fail "ps statuses"

# A child: the parent is recorded, the tree links them.
rr record -q -o "$WORK/s3" -- sh -c '/bin/true; exit 0'
rr ps --json "$WORK/s3" | json_map '"%s %s %s" % (o["id"], o["parent"], o["program"])' >"$WORK/tree"
printf '1 0 dash\n2 1 true\n' >"$WORK/want"
diff -u "$WORK/want" "$WORK/tree" || fail "process tree"

# posix_spawn: the child program is recorded and linked to its parent,
# with the status the parent's waitpid saw.
out=$(rr record -q -o "$WORK/s4" -- "$PROGS/p_spawn" /bin/sh -c 'exit 0')
expect_eq "spawn output" "child ok" "$out"
rr ps --json "$WORK/s4" | json_map '"%s %s %s %s" % (o["id"], o["parent"], o["program"], o["status"])' >"$WORK/tree"
printf '1 0 p_spawn exit 0\n2 1 dash exit 0\n' >"$WORK/want"
diff -u "$WORK/want" "$WORK/tree" || fail "spawn tree"

# A forked child that leaves with _exit or _Exit does not write its copy of
# the parent's stdio buffer (the shim once flushed it as it finished).
for how in "" _Exit; do
	rr record -q -o "$WORK/s5$how" -- "$PROGS/p_forkexit" $how >"$WORK/fe"
	expect_eq "stdio after _exit$how" "buffered once" "$(cat "$WORK/fe")"
done

# record keeps its store open while the command runs: the command gets
# the descriptors it gets natively, none of LMDB's (data.mdb has no
# O_CLOEXEC of its own).
fds='for f in /proc/$$/fd/*; do printf "%s %s\n" "${f##*/}" "$(readlink "$f" | sed "s/:\[.*//")"; done'
sh -c "$fds" 3>&- 4>&- 5>&- | cat >"$WORK/fd.native"
rr record -q -o "$WORK/s6" -- sh -c "$fds" 3>&- 4>&- 5>&- | cat >"$WORK/fd.rec"
diff -u "$WORK/fd.native" "$WORK/fd.rec" || fail "descriptors under record"
grep -q mdb "$WORK/fd.rec" && fail "an LMDB descriptor reached the command"

# record starts the command as execvp would, without a fork's copy of its
# own memory (vfork): a file that cannot be run exits 126 with a message,
# a script without "#!" runs with /bin/sh, and the command's signal
# dispositions and mask are those a shell gives it, with SIGINT ignored
# when it was ignored where record started.
printf 'echo no-shebang ran\n' >"$WORK/script"
chmod -x "$WORK/script"
expect_status "not executable" 126 rr record -q -o "$S" -- "$WORK/script"
grep -q "$WORK/script: Permission denied" "$WORK/err" || fail "not executable message: $(cat "$WORK/err")"
chmod +x "$WORK/script"
expect_eq "script without #!" "no-shebang ran" "$(rr record -q -o "$S" -- "$WORK/script")"
sigs='grep -E "^Sig(Ign|Blk)" /proc/self/status'
sh -c "$sigs" >"$WORK/sig.native"
rr record -q -o "$S" -- sh -c "$sigs" >"$WORK/sig.rec"
diff -u "$WORK/sig.native" "$WORK/sig.rec" || fail "signal dispositions under record"
(trap '' INT; sh -c "$sigs") >"$WORK/sig.native"
(trap '' INT; rr record -q -o "$S" -- sh -c "$sigs") >"$WORK/sig.rec"
diff -u "$WORK/sig.native" "$WORK/sig.rec" || fail "an ignored SIGINT under record"

expect_status "--help" 0 rr record --help
grep -q "usage: retro-replay record" "$WORK/out" || fail "record --help"
pass

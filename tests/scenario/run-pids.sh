#!/bin/sh
# Re-executed processes see the pids they saw when recorded: their own,
# their children's (fork, waitpid), their parent's and their threads' ids,
# though the recorded processes' pids were long reused.  A shell writing $$ and
# $PPID into a file is the everyday case: with live pids, its bytes
# would differ and the replay would diverge.
. "$SCENARIO_LIB"
need_mount_ns
need_pid_ns

S=$WORK/store
mkdir "$WORK/w"
# other processes take pids meanwhile, so that the recorded ones are not
# simply one after the other (a replay must give them, not count on it)
( while :; do /bin/true; done ) &
burner=$!
rr record -q -o "$S" -- "$PROGS/p_pids" "$WORK/w/kid" >"$WORK/w/out"
kill "$burner"
said=$(cat "$WORK/w/out")
# what the recording saw: the child's own lines agree with its parent's
self=$(sed -n 's/^self \([0-9]*\) .*/\1/p' "$WORK/w/out")
kid=$(sed -n 's/^fork \([0-9]*\) .*/\1/p' "$WORK/w/out")
expect_eq "recorded" "fork $kid waited $kid status 7
child self $kid parent $self
kill 0 after wait: -1 No such process" "$(sed 1,2d "$WORK/w/out")"

expect_status "replay" 0 rr run -q "$S" --shepherd p_pids --root "$WORK/root"
expect_eq "replayed output" "$said" "$(cat "$WORK/root$WORK/w/out")"
expect_eq "replayed child" "child self $kid parent $self" \
	"$(cat "$WORK/root$WORK/w/kid")"

# the shell: $$ of the outer and the inner sh, and their $PPID
S2=$WORK/store2
rr record -q -o "$S2" -- sh -c "echo \"\$\$ \$PPID\" > $WORK/w/sh;
	sh -c 'echo \$\$ \$PPID' >> $WORK/w/sh"
expect_status "shell replay" 0 rr run -q "$S2" --shepherd 1 \
	--root "$WORK/root2" --report "$WORK/r2.json"
expect_eq "shell pids" "$(cat "$WORK/w/sh")" "$(cat "$WORK/root2$WORK/w/sh")"
expect_eq "divergences" "0" "$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['divergences']))" "$WORK/r2.json")"

# containment: a re-executed kill cannot reach a process outside the
# replay, whatever pid the recording names (here one alive throughout)
sleep 60 &
outside=$!
S3=$WORK/store3
rr record -q -o "$S3" -- sh -c "if kill -0 $outside; then echo reached; else echo not; fi > $WORK/w/k"
expect_eq "recorded kill" "reached" "$(cat "$WORK/w/k")"
expect_status "kill replay" 1 rr run -q "$S3" --shepherd 1 --root "$WORK/root3"
expect_eq "replayed kill" "not" "$(cat "$WORK/root3$WORK/w/k")"
kill "$outside"
pass

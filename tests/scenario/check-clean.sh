#!/bin/sh
# check: programs that synchronize properly have no timing dependencies.
# Each scenario is recorded into a store of its own, and `check --json` on
# it exits 0 with no findings: hand-off through a pipe and a FIFO, a parent
# that waits for its child, flock(1) around a read-modify-write, publishing
# by rename, O_EXCL lock files (noclobber), and a parent that writes a file
# before it forks the child that reads it.
. "$SCENARIO_LIB"

D=$WORK/data
mkdir "$D"

# jexpr FILE EXPR: EXPR evaluated with python3, `o` the JSON document
jexpr() { python3 -c "import json,sys; o=json.load(open(sys.argv[1])); print($2)" "$1"; }

# clean NAME: the store $WORK/NAME.store has no findings
clean() {
	s=$WORK/$1.store
	expect_status "$1: check" 0 rr check "$s" --json
	cp "$WORK/out" "$WORK/$1.json"
	jexpr "$WORK/$1.json" 'o' >/dev/null ||
		fail "$1: check --json printed no JSON document: $(cat "$WORK/out")"
	[ "$(jexpr "$WORK/$1.json" 'o["findings"]')" = "[]" ] ||
		fail "$1: findings: $(cat "$WORK/$1.json")
recorded: $(rr log "$s" | grep -F "$D/")"
	procs=$(rr ps --json "$s" | wc -l)
	expect_eq "$1: processes" "$procs" "$(jexpr "$WORK/$1.json" 'o["processes"]')"
	expect_eq "$1: actions counted" True "$(jexpr "$WORK/$1.json" 'o["actions"] > 0')"
	# without --json: exit 0 as well
	expect_status "$1: check, human" 0 rr check "$s"
}

# (a) a pipe: the producer sleeps between lines, the consumer reads them
X=$D/pipe; mkdir "$X"
rr record -q -o "$WORK/pipe.store" -- sh -c "for i in 1 2 3; do echo \$i; sleep 0.1; done | \
	while read -r l; do echo \"got \$l\"; done > '$X/got'" >/dev/null
expect_eq "pipe: recorded" "got 1
got 2
got 3" "$(cat "$X/got")"
clean pipe

# ... and a FIFO made with mkfifo: the same hand-off through a named object
X=$D/fifo; mkdir "$X"
rr record -q -o "$WORK/fifo.store" -- sh -c "mkfifo '$X/fifo'; \
	(for i in 1 2 3; do echo \$i; sleep 0.1; done > '$X/fifo') & \
	cat '$X/fifo' > '$X/got'; wait" >/dev/null
expect_eq "fifo: recorded" "1
2
3" "$(cat "$X/got")"
clean fifo

# (b) waitpid: the child writes F and exits; the parent waits, then reads F
X=$D/wait; mkdir "$X"
rr record -q -o "$WORK/wait.store" -- sh -c "(sleep 0.2; echo finished > '$X/F') & wait; \
	cat '$X/F' > '$X/got'" >/dev/null
expect_eq "wait: recorded" finished "$(cat "$X/got")"
clean wait

# (c) flock(1) around a read-modify-write of a counter; the first holder
# sleeps inside the lock, so the second must wait for it
X=$D/flock; mkdir "$X"
rr record -q -o "$WORK/flock.store" -- sh -c "cd '$X'; echo 0 > C; : > L; \
	flock L sh -c 'n=\$(cat C); sleep 0.3; echo \$((n+1)) > C' & \
	(sleep 0.05; flock L sh -c 'n=\$(cat C); echo \$((n+1)) > C') & wait" >/dev/null
expect_eq "flock: recorded" 2 "$(cat "$X/C")"
clean flock

# (c2) fcntl record locks (F_SETLKW, then F_UNLCK): the second process
# writes blindly, ordered after the first's write only by the lock
X=$D/fcntl; mkdir "$X"
rr record -q -o "$WORK/fcntl.store" -- sh -c "cd '$X'; \
	'$PROGS/p_fcntllock' L C 300 & \
	(sleep 0.05; '$PROGS/p_fcntllock' L C 0) & wait" >/dev/null
expect_eq "fcntl: recorded" 2 "$(cat "$X/C")"
clean fcntl

# (d) publishing by rename: the writer writes F.tmp and renames it to F; the
# reader polls until F exists, then reads it
X=$D/rename; mkdir "$X"
rr record -q -o "$WORK/rename.store" -- sh -c "cd '$X'; \
	(sleep 0.3; echo data > F.tmp; mv F.tmp F) & \
	until [ -e F ]; do sleep 0.05; done; cat F > got; wait" >/dev/null
expect_eq "rename: recorded" data "$(cat "$X/got")"
clean rename

# (e) O_EXCL lock files, used correctly: noclobber (set -C) creates with
# O_EXCL; two processes take L in turn around a read-modify-write of C,
# sleeping inside it.  The usual idiom, trying in a subshell each time...
X=$D/excl; mkdir "$X"
cat >"$WORK/excl.sh" <<'EOF'
until (set -C; : > L) 2>/dev/null; do sleep 0.05; done
n=$(cat C); sleep 0.1; echo $((n+1)) > C
rm L
EOF
rr record -q -o "$WORK/excl.store" -- sh -c "cd '$X'; echo 0 > C; \
	sh '$WORK/excl.sh' & sh '$WORK/excl.sh' & wait" >/dev/null
expect_eq "excl: recorded" 2 "$(cat "$X/C")"
expect_eq "excl: L is gone" no "$([ -e "$X/L" ] && echo yes || echo no)"
clean excl

# ... and the same with every try in the polling shell itself
X=$D/excl2; mkdir "$X"
cat >"$WORK/excl2.sh" <<'EOF'
set -C
until { true > L; } 2>/dev/null; do sleep 0.05; done
set +C
n=$(cat C); sleep 0.1; echo $((n+1)) > C
rm L
EOF
rr record -q -o "$WORK/excl2.store" -- sh -c "cd '$X'; echo 0 > C; \
	sh '$WORK/excl2.sh' & sh '$WORK/excl2.sh' & wait" >/dev/null
expect_eq "excl2: recorded" 2 "$(cat "$X/C")"
clean excl2

# (f) a parent writes F, then forks the child that reads it
X=$D/fork; mkdir "$X"
rr record -q -o "$WORK/fork.store" -- sh -c "echo hello > '$X/F'; \
	(sleep 0.1; cat '$X/F' > '$X/got') & wait" >/dev/null
expect_eq "fork: recorded" hello "$(cat "$X/got")"
clean fork
pass

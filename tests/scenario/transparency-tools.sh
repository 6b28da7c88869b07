#!/bin/sh
# Transparency: real tools do exactly the same with and without recording.
# Each workload runs twice in the same directory ($WORK/run, so that every
# absolute path is the same): natively, then under `retro-replay record`
# (the store is outside the directory).  Between the runs the directory is
# moved aside.  Asserted for each step: the same exit status, the same
# stdout and stderr byte for byte; at the end: the same tree (every file's
# type, mode, size and bytes; symlinks' targets).
#  - sqlite3: a schema, inserts in transactions (one rolled back), an
#    index, queries, a failing statement, a WAL database; .dump compared.
#  - make: a small C-free project (generated files, a pattern rule, a
#    failing target, -k, -j2, an up-to-date rebuild after a touch).
#  - git: init, add, commit (fixed author, committer and dates), branch,
#    merge, log, status, diff, gc, fsck.
. "$SCENARIO_LIB"

for need in sqlite3:sqlite3 make:make git:git; do
	command -v "${need%%:*}" >/dev/null 2>&1 ||
		fail "${need%%:*} is missing: install the Debian package ${need#*:}"
done

export LC_ALL=C TZ=UTC
# `make check` passes its make's flags and level down; the workload's make
# must not see them (it would look for a jobserver)
unset MAKEFLAGS MFLAGS GNUMAKEFLAGS MAKELEVEL MAKEOVERRIDES
# git reads no configuration but the repository's, and its dates are fixed
export HOME="$WORK/home" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=retro GIT_AUTHOR_EMAIL=retro@example.org \
	GIT_COMMITTER_NAME=retro GIT_COMMITTER_EMAIL=retro@example.org \
	GIT_AUTHOR_DATE='2000-01-01T00:00:00+0000' \
	GIT_COMMITTER_DATE='2000-01-01T00:00:00+0000'
mkdir -p "$HOME"
RUN=$WORK/run

# tree DIR: one line per entry below DIR, sorted: path, type, mode, size
# and sha256 of a file; the target of a symlink.  The entries named by
# TREE_SKIP (a grep -E pattern on the path) are left out.
tree() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while read -r p; do
		if [ -n "${TREE_SKIP:-}" ] && echo "$p" | grep -Eq "$TREE_SKIP"; then
			continue
		fi
		if [ -L "$p" ]; then
			echo "$p link $(readlink "$p")"
		elif [ -d "$p" ]; then
			echo "$p dir $(stat -c %a "$p")"
		else
			echo "$p file $(stat -c '%a %s' "$p") $(sha256sum <"$p" | cut -c1-64)"
		fi
	done)
}

# workload NAME SCRIPT: runs the shell script SCRIPT (its steps call
# `step`) natively, then recorded, in $RUN; leaves the native directory in
# $WORK/NAME.native, the recorded one in $WORK/NAME.rec, and compares each
# step's status, stdout and stderr.  The recording goes to $WORK/s.NAME.
workload() {
	name=$1 script=$2
	for mode in native rec; do
		rm -rf "$RUN"
		mkdir -p "$RUN" "$WORK/$name.$mode.steps"
		printf '%s\n' "$script" >"$WORK/$name.sh"
		if [ $mode = native ]; then
			(cd "$RUN" && STEPS="$WORK/$name.$mode.steps" \
				sh -c ". '$WORK/steps.sh'; . '$WORK/$name.sh'") ||
				fail "$name: the native run failed"
		else
			(cd "$RUN" && STEPS="$WORK/$name.$mode.steps" \
				rr record -q -o "$WORK/s.$name" -- \
				sh -c ". '$WORK/steps.sh'; . '$WORK/$name.sh'") ||
				fail "$name: the recorded run failed"
		fi
		mv "$RUN" "$WORK/$name.$mode"
	done
	ls "$WORK/$name.native.steps" >"$WORK/$name.native.list"
	ls "$WORK/$name.rec.steps" >"$WORK/$name.rec.list"
	cmp -s "$WORK/$name.native.list" "$WORK/$name.rec.list" ||
		fail "$name: other steps ran: $(paste -sd " " "$WORK/$name.native.list") natively, $(paste -sd " " "$WORK/$name.rec.list") recorded"
	[ -s "$WORK/$name.native.list" ] || fail "$name: no step ran"
	for f in $(cat "$WORK/$name.native.list"); do
		if ! cmp -s "$WORK/$name.native.steps/$f" "$WORK/$name.rec.steps/$f"; then
			diff -u "$WORK/$name.native.steps/$f" "$WORK/$name.rec.steps/$f" >&2 || :
			fail "$name: step $f: differs with recording"
		fi
	done
	# the recording happened: the tool is in the store, and it is sound
	rr ps --json "$WORK/s.$name" | json_map 'o["program"]' >"$WORK/$name.progs"
	grep -qx "$name" "$WORK/$name.progs" ||
		fail "$name: not in the recording: $(paste -sd " " "$WORK/$name.progs")"
	expect_status "$name: fsck" 0 rr fsck "$WORK/s.$name"
}

# same_tree NAME: the native and the recorded directory hold the same tree.
same_tree() {
	tree "$WORK/$1.native" >"$WORK/$1.native.tree"
	tree "$WORK/$1.rec" >"$WORK/$1.rec.tree"
	if ! cmp -s "$WORK/$1.native.tree" "$WORK/$1.rec.tree"; then
		diff -u "$WORK/$1.native.tree" "$WORK/$1.rec.tree" >&2 || :
		fail "$1: the trees differ with recording"
	fi
	[ -s "$WORK/$1.rec.tree" ] || fail "$1: empty tree"
}

# step NAME COMMAND...: runs COMMAND, keeps its exit status, stdout and
# stderr in $STEPS/NN-NAME (numbered in order) and goes on whatever the
# status.
cat >"$WORK/steps.sh" <<'EOF'
n=0
step() {
	n=$((n + 1))
	s=$(printf '%02d-%s' "$n" "$1")
	shift
	"$@" >"$STEPS/$s.out" 2>"$STEPS/$s.err"
	echo "status $?" >"$STEPS/$s"
	{ echo "stdout:"; cat "$STEPS/$s.out"; echo "stderr:"; cat "$STEPS/$s.err"; } >>"$STEPS/$s"
	rm -f "$STEPS/$s.out" "$STEPS/$s.err"
}
EOF

# --- sqlite3 -----------------------------------------------------------------
workload sqlite3 '
step schema sqlite3 t.db "create table item(id integer primary key, name text not null, qty integer);
create table log(at integer, what text);"
step tx sqlite3 t.db "begin;
insert into item(name, qty) values ('\''bolt'\'', 10), ('\''nut'\'', 20), ('\''washer'\'', 30);
insert into log values (1, '\''stock'\'');
commit;
begin;
update item set qty = qty - 3 where name = '\''nut'\'';
insert into log values (2, '\''sold 3 nuts'\'');
commit;
begin;
delete from item;
rollback;"
step bulk sqlite3 t.db "begin;
with recursive n(i) as (select 1 union all select i + 1 from n where i < 2000)
insert into item(name, qty) select printf('\''part-%04d'\'', i), i % 97 from n;
commit;
create index item_qty on item(qty);"
step query sqlite3 -header t.db "select count(*), sum(qty), min(name), max(name) from item;
select name, qty from item where qty between 40 and 42 order by name limit 5;
select * from log order by at;"
step error sqlite3 -bail t.db "insert into item(name) values (null);"
step wal sqlite3 w.db "pragma journal_mode = wal;
create table kv(k text primary key, v blob);
begin;
insert into kv values ('\''a'\'', x'\''00ff'\''), ('\''b'\'', zeroblob(300));
commit;
select k, length(v) from kv order by k;"
step walread sqlite3 w.db "select count(*) from kv;"
step vacuum sqlite3 t.db "vacuum; pragma integrity_check;"
step dump sqlite3 t.db .dump
step dumpw sqlite3 w.db .dump
'
same_tree sqlite3
# (the failing insert failed: sqlite3 exits with the error's code)
[ "$(head -1 "$WORK"/sqlite3.rec.steps/05-error)" != "status 0" ] ||
	fail "sqlite3: the failing insert succeeded"
grep -q "2003|" "$WORK"/sqlite3.rec.steps/04-query ||
	fail "sqlite3: the count: $(cat "$WORK"/sqlite3.rec.steps/04-query)"

# --- make --------------------------------------------------------------------
workload make '
cat >Makefile <<"MK"
all: out/joined.txt out/count.txt out/a.up out/b.up

out:
	mkdir -p out

out/%.up: %.in | out
	tr a-z A-Z <$< >$@

out/joined.txt: a.in b.in | out
	cat a.in b.in >$@

out/count.txt: out/joined.txt
	wc -l <out/joined.txt >$@

broken:
	@echo about to fail
	false

.PHONY: all broken
MK
printf "alpha\nbeta\n" >a.in
printf "gamma\n" >b.in
step build make -j2 --no-print-directory
step uptodate make --no-print-directory
touch -d "2001-01-01 00:00:00" a.in b.in out/* out
touch -d "2002-01-01 00:00:00" b.in
step rebuild make --no-print-directory
step broken make --no-print-directory broken
step keepgoing make -k --no-print-directory broken all
step dryrun make -n --no-print-directory -B
step result cat out/joined.txt out/count.txt out/a.up out/b.up
'
same_tree make
expect_eq "make: broken fails" "status 2" "$(head -1 "$WORK"/make.rec.steps/04-broken)"

# --- git ---------------------------------------------------------------------
# .git/index keeps each file's ctime, inode and device (other in the two
# directories by nature); its content is compared through ls-files -s.
workload git '
step init git init -q -b main repo
cd repo
printf "one\n" >a.txt
mkdir sub
printf "two\n" >sub/b.txt
ln -s a.txt link
step add git add -A
step commit git commit -q -m "first"
step branch git checkout -q -b topic
printf "three\n" >>sub/b.txt
step commit2 git commit -q -am "topic change"
step main git checkout -q main
printf "four\n" >c.txt
step add2 git add c.txt
step commit3 git commit -q -m "main change"
step merge git merge -q --no-edit topic
step log git log --graph --format="%H %an %ad %s" --date=iso
step status git status --porcelain=v2 --branch
printf "dirty\n" >>a.txt
step diff git diff --stat
step status2 git status --short
step checkout git checkout -q -- a.txt
step lsfiles git ls-files -s
step gc git -c pack.threads=1 -c gc.auto=0 gc -q --prune=now
step fsck git fsck --full --strict
step count git count-objects -v
step rev git rev-parse HEAD HEAD^1 HEAD^2
step badref git rev-parse --verify nosuchref
'
TREE_SKIP='^\./repo/\.git/index$' same_tree git
expect_eq "git: the merge commit" "$(git -C "$WORK/git.native/repo" rev-parse HEAD)" \
	"$(git -C "$WORK/git.rec/repo" rev-parse HEAD)"
expect_eq "git: a bad ref fails" "status 128" "$(head -1 "$WORK"/git.rec.steps/[0-9]*-badref)"
pass

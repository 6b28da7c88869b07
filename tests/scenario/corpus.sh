#!/bin/sh
# A corpus of real programs recorded with the trap layer: bash, dash,
# coreutils (cp, mv, tar, gzip), python3, sqlite3, make and git.  Each one
# runs first natively in $WORK/native/NAME, then under
# `record --trap` in a twin $WORK/rec/NAME, and:
#  1. its stdout (directory name replaced) and exit status are the same;
#  2. it leaves the same files with the same bytes (git: the commit, its
#     message and file; sqlite: the .dump);
#  3. `cat` rebuilds the exact bytes of every regular file it left.
. "$SCENARIO_LIB"

# Every program of the corpus must be there: a missing one is a failure of
# the set-up (./setup.sh installs them), not a reason to skip.
for need in bash:bash dash:dash cp:coreutils mv:coreutils head:coreutils \
	yes:coreutils touch:coreutils tar:tar gzip:gzip gunzip:gzip \
	python3:python3 sqlite3:sqlite3 make:make git:git; do
	command -v "${need%%:*}" >/dev/null 2>&1 ||
		fail "${need%%:*} is missing: install the Debian package ${need#*:}"
done

export LC_ALL=C
# `make check` passes its own make's flags and level down: the corpus's make
# would then print "make[1]: Entering directory" and look for a jobserver
unset MAKEFLAGS MFLAGS GNUMAKEFLAGS MAKELEVEL MAKEOVERRIDES

# corpus NAME COMMAND...: runs COMMAND natively in a fresh
# $WORK/native/NAME, then recorded (record --trap into $WORK/s.NAME) in a
# fresh $WORK/rec/NAME; asserts 1 (stdout, exit status).  Sets N, R, S.
corpus() {
	name=$1
	shift
	N=$WORK/native/$name R=$WORK/rec/$name S=$WORK/s.$name
	mkdir -p "$N" "$R"
	set +e
	(cd "$N" && "$@") >"$WORK/$name.native.out" 2>"$WORK/$name.native.err"
	nst=$?
	(cd "$R" && rr record --trap -q -o "$S" -- "$@") \
		>"$WORK/$name.rec.out" 2>"$WORK/$name.rec.err"
	rst=$?
	set -e
	if [ "$nst" != 0 ]; then
		cat "$WORK/$name.native.err" >&2
		fail "$name: the native run exited $nst (the corpus expects 0)"
	fi
	if [ "$rst" != "$nst" ]; then
		echo "stderr of the recorded run:" >&2
		cat "$WORK/$name.rec.err" >&2
		fail "$name: recorded exit status $rst, native $nst"
	fi
	sed "s|$N|DIR|g" "$WORK/$name.native.out" >"$WORK/$name.native.std"
	sed "s|$R|DIR|g" "$WORK/$name.rec.out" >"$WORK/$name.rec.std"
	if ! cmp -s "$WORK/$name.native.std" "$WORK/$name.rec.std"; then
		diff -u "$WORK/$name.native.std" "$WORK/$name.rec.std" >&2 || :
		echo "stderr of the recorded run:" >&2
		cat "$WORK/$name.rec.err" >&2
		fail "$name: stdout differs between the native and the recorded run"
	fi
}

# regular files left in DIR, relative, sorted; without .git/ internals
files_in() {
	(cd "$1" && find . -type f ! -path './.git/*' | sed 's|^\./||' | sort)
}

# same_files NAME [FILE...]: asserts 2 for the last corpus run: the same
# files in both directories, the same bytes except for the FILEs named
# (compared by their program's own view instead).
same_files() {
	name=$1
	shift
	files_in "$N" >"$WORK/$name.native.files"
	files_in "$R" >"$WORK/$name.rec.files"
	if ! cmp -s "$WORK/$name.native.files" "$WORK/$name.rec.files"; then
		diff -u "$WORK/$name.native.files" "$WORK/$name.rec.files" >&2 || :
		fail "$name: the recorded run left other files than the native run"
	fi
	while read -r f; do
		for skip in "$@"; do
			[ "$f" != "$skip" ] || continue 2
		done
		cmp -s "$N/$f" "$R/$f" ||
			fail "$name: $f differs between the native and the recorded run"
	done <"$WORK/$name.rec.files"
}

# catable NAME: asserts 3 for the last corpus run: `cat STORE FILE` gives
# the exact bytes of every regular file the recorded run left.
catable() {
	name=$1
	while read -r f; do
		rr cat "$S" "$R/$f" >"$WORK/cat.out" 2>"$WORK/cat.err" ||
			fail "$name: cat $f: $(cat "$WORK/cat.err")"
		cmp -s "$WORK/cat.out" "$R/$f" ||
			fail "$name: cat $f: the rebuilt bytes differ from the file ($(wc -c <"$WORK/cat.out") bytes rebuilt, $(wc -c <"$R/$f") in the file)"
	done <"$WORK/$name.rec.files"
}

# recorded NAME PROGRAM...: each PROGRAM started recorded (the log's
# start events: a shell that execs its last command is named after it in
# ps), no process lost anything, and the store is sound.
recorded() {
	name=$1
	shift
	rr log --json -c start "$S" | json_map 'o["path"].rsplit("/", 1)[-1]' |
		sort -u >"$WORK/$name.progs"
	for p in "$@"; do
		grep -qx "$p" "$WORK/$name.progs" ||
			fail "$name: $p did not start recorded; started: $(paste -sd " " "$WORK/$name.progs")"
	done
	# (yes dies of SIGPIPE inside a write: that call stays in flight)
	lost=$(rr ps --json "$S" | json_map '"%s %s" % (o["program"], o["status"]) if o["loss"] or (o["inflight"] and "signal" not in o) else None')
	expect_eq "$name: processes with a loss, or a call in flight without a signal" "" "$lost"
	expect_status "$name: fsck" 0 rr fsck "$S"
}

# --- bash and dash ---------------------------------------------------------
for sh in bash dash; do
	corpus "$sh" "$sh" -c 'echo safe > F; echo more >> F; printf "%s\n" a b > G; cat F G'
	expect_eq "$sh: stdout" "$(printf 'safe\nmore\na\nb')" "$(cat "$WORK/$sh.rec.out")"
	same_files "$sh"
	expect_eq "$sh: files" "$(printf 'F\nG')" "$(cat "$WORK/$sh.rec.files")"
	catable "$sh"
	recorded "$sh" "$sh" cat
done

# --- coreutils: cp, mv, tar czf/xzf, gzip -k/gunzip -------------------------
corpus coreutils sh -c '
	set -e
	yes "retro corpus: a fixed pattern 0123456789" | head -c 102400 >big
	cp big big.cp
	mv big.cp big.mv
	mkdir src dst
	printf "one\n" >src/1; printf "two\n" >src/2; printf "three\n" >src/3
	tar --sort=name --mtime=@1000000000 --owner=0 --group=0 \
		--numeric-owner -czf src.tgz src
	tar -xzf src.tgz -C dst
	printf "compress me %s\n" $(seq 200) >z
	touch -d @1000000000 z
	gzip -k z
	mv z z.orig
	gunzip z.gz
	cmp z z.orig
	wc -c big big.mv src.tgz z z.orig dst/src/1 dst/src/2 dst/src/3
'
same_files coreutils
expect_eq "coreutils: files" \
	"big big.mv dst/src/1 dst/src/2 dst/src/3 src.tgz src/1 src/2 src/3 z z.orig" \
	"$(paste -sd " " "$WORK/coreutils.rec.files")"
expect_eq "coreutils: big is 100 KiB" 102400 "$(wc -c <"$R/big")"
catable coreutils
recorded coreutils yes head cp mv mkdir tar gzip seq touch cmp wc

# --- python3: write, append, os.rename -------------------------------------
corpus python3 python3 -c '
import os
with open("a.txt", "w") as f:
    f.write("first\n")
with open("a.txt", "a") as f:
    f.write("second\n")
os.rename("a.txt", "b.txt")
with open("c.bin", "wb") as f:
    f.write(bytes(range(256)) * 40)
with open("old.txt", "w") as f:
    f.write("old\n")
with open("new.txt", "w") as f:
    f.write("new\n")
os.rename("new.txt", "old.txt")
print(sorted(os.listdir(".")), open("b.txt").read(), end="")
'
expect_eq "python3: stdout" "$(printf "['b.txt', 'c.bin', 'old.txt'] first\nsecond")" \
	"$(cat "$WORK/python3.rec.out")"
same_files python3
expect_eq "python3: files" "b.txt c.bin old.txt" "$(paste -sd " " "$WORK/python3.rec.files")"
expect_eq "python3: b.txt" "$(printf 'first\nsecond')" "$(cat "$R/b.txt")"
expect_eq "python3: old.txt replaced by the rename" "new" "$(cat "$R/old.txt")"
catable python3

# --- sqlite3: a table with 3 rows -------------------------------------------
corpus sqlite3 sqlite3 t.db "create table t(id integer primary key, name text);
insert into t(name) values ('one'), ('two'), ('three');
select id, name from t;"
expect_eq "sqlite3: stdout" "$(printf '1|one\n2|two\n3|three')" "$(cat "$WORK/sqlite3.rec.out")"
same_files sqlite3 t.db
expect_eq "sqlite3: files (the journal is gone)" "t.db" "$(cat "$WORK/sqlite3.rec.files")"
catable sqlite3
# the journal was created and deleted: cat says so, files ends it absent
expect_status "sqlite3: cat of the deleted journal" 1 rr cat "$S" "$R/t.db-journal"
grep -q "did not exist" "$WORK/err" ||
	fail "sqlite3: cat t.db-journal: $(cat "$WORK/err")"
expect_eq "sqlite3: t.db-journal: the last version in files" absent \
	"$(rr files --json "$S" | json_map 'o["versions"][-1]["state"] if o["path"] == "'"$R/t.db-journal"'" else None')"
sqlite3 "$N/t.db" .dump >"$WORK/sqlite3.native.dump"
sqlite3 "$R/t.db" .dump >"$WORK/sqlite3.rec.dump"
if ! cmp -s "$WORK/sqlite3.native.dump" "$WORK/sqlite3.rec.dump"; then
	diff -u "$WORK/sqlite3.native.dump" "$WORK/sqlite3.rec.dump" >&2 || :
	fail "sqlite3: t.db: .dump differs between the native and the recorded run"
fi
recorded sqlite3 sqlite3

# --- make: out.txt from a.txt and b.txt --------------------------------------
corpus make sh -c '
	set -e
	printf "out.txt: a.txt b.txt\n\tcat a.txt b.txt > out.txt\n" >Makefile
	printf "A\n" >a.txt
	printf "B\n" >b.txt
	make
	make
	cat out.txt
'
expect_eq "make: stdout" "$(printf "cat a.txt b.txt > out.txt\nmake: 'out.txt' is up to date.\nA\nB")" \
	"$(cat "$WORK/make.rec.out")"
same_files make
expect_eq "make: files" "Makefile a.txt b.txt out.txt" "$(paste -sd " " "$WORK/make.rec.files")"
catable make
recorded make make cat

# --- git: init, add, commit --------------------------------------------------
corpus git env GIT_AUTHOR_DATE='2000-01-01T00:00:00+0000' \
	GIT_COMMITTER_DATE='2000-01-01T00:00:00+0000' sh -c '
	set -e
	git init -q
	printf "tracked by git\n" >file.txt
	git add file.txt
	git -c user.email=t@t -c user.name=t commit -q -m "the first commit"
	git log --format=%s
	git cat-file -p HEAD:file.txt
	git rev-parse HEAD
'
same_files git
expect_eq "git: files" "file.txt" "$(cat "$WORK/git.rec.files")"
catable git
for q in "log --format=%s" "cat-file -p HEAD:file.txt" "rev-parse HEAD"; do
	# shellcheck disable=SC2086
	expect_eq "git: git $q" "$(git -C "$N" $q)" "$(git -C "$R" $q)"
done
expect_eq "git: the commit message" "the first commit" "$(git -C "$R" log --format=%s)"
head=$(cat "$N/.git/HEAD")
case $head in
"ref: refs/heads/master" | "ref: refs/heads/main") ;;
*) fail "git: .git/HEAD of the native run: $head" ;;
esac
rr cat "$S" "$R/.git/HEAD" >"$WORK/git.HEAD" 2>"$WORK/cat.err" ||
	fail "git: cat .git/HEAD: $(cat "$WORK/cat.err")"
expect_eq "git: cat .git/HEAD" "$head" "$(cat "$WORK/git.HEAD")"
recorded git git
pass

#!/bin/sh
# The store is private whatever the umask: its directory and every
# directory in it 0700, every file 0600, the shared-memory spool and its
# segments too, and the LMDB files after an import.  A symlink or a
# directory of another user at the store path is refused by the command
# (exit 2) and by the shim (the program runs unrecorded, with one
# warning), and nothing is written there.
. "$SCENARIO_LIB"

# every directory 0700 and every file 0600 under the given paths
private() {
	bad=$(find "$@" \( -type d ! -perm 700 \) -o \( ! -type d ! -perm 600 \) -printf '%m %p\n')
	[ -z "$bad" ] || fail "not private: $bad"
}

umask 000
# recorded without an import: the spool stays, in /dev/shm and inside
LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$WORK/s RETRO_IMPORT=0 \
	sh -c "echo x > '$WORK/f'; (echo y > '$WORK/g') & wait"
LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$WORK/s2 RETRO_SPOOL_BASE=none RETRO_IMPORT=0 \
	sh -c "echo x > '$WORK/f'"
spool=$(cat "$WORK/s/SPOOL")
[ "$(find "$spool" -name '*.seg' | wc -l)" -ge 2 ] || fail "no segments left in $spool"
[ "$(find "$WORK/s2/spool" -name '*.seg' | wc -l)" -ge 1 ] || fail "no segments left in s2/spool"
private "$WORK/s" "$spool" "$WORK/s2"
# what an import writes, and a store that record makes
rr import "$WORK/s" >/dev/null
rr record -q -o "$WORK/s3" -- sh -c "echo z > '$WORK/h'"
private "$WORK/s" "$WORK/s3"
[ ! -e "$spool" ] || private "$spool"
umask 022
# the files the recorded program made keep the program's umask
expect_eq "the program's own file" 666 "$(stat -c %a "$WORK/f")"

# a symlink at the store path
ln -s "$WORK/s" "$WORK/link"
expect_status "record into a symlink" 2 rr record -q -o "$WORK/link" -- true
grep -q "$WORK/link: store path is a symbolic link" "$WORK/err" || fail "symlink message: $(cat "$WORK/err")"
before=$(ls -l --time-style=+%s.%N "$WORK/s")
out=$(LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$WORK/link sh -c "echo ran" 2>"$WORK/warn")
expect_eq "program unaffected by a symlinked store" ran "$out"
grep -q "retro: not recording: $WORK/link: store path is a symbolic link" "$WORK/warn" ||
	fail "symlink warning: $(cat "$WORK/warn")"
expect_eq "nothing written through the symlink" "$before" "$(ls -l --time-style=+%s.%N "$WORK/s")"

# a directory of another user (only root can make one)
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	mkdir "$WORK/foreign"
	chown nobody "$WORK/foreign"
	expect_status "record into another user's directory" 2 rr record -q -o "$WORK/foreign" -- true
	grep -q "$WORK/foreign: store belongs to another user" "$WORK/err" ||
		fail "foreign message: $(cat "$WORK/err")"
	out=$(LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$WORK/foreign sh -c "echo ran" 2>"$WORK/warn")
	expect_eq "program unaffected by a foreign store" ran "$out"
	grep -q "retro: not recording: $WORK/foreign: store belongs to another user" "$WORK/warn" ||
		fail "foreign warning: $(cat "$WORK/warn")"
	expect_eq "nothing written into the foreign directory" "" "$(ls -A "$WORK/foreign")"
	# a whole store handed to another user
	chown -R nobody "$WORK/s3"
	for cmd in ps log fsck; do
		expect_status "$cmd of another user's store" 2 rr $cmd "$WORK/s3"
		cat "$WORK/out" "$WORK/err" | grep -q "belongs to another user" || fail "$cmd message: $(cat "$WORK/err")"
	done
	LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$WORK/s3 sh -c "echo again > '$WORK/h'" 2>"$WORK/warn"
	grep -q "not recording" "$WORK/warn" || fail "recorded into another user's store"
else
	echo "foreign owner checks need root: not run"
fi
pass

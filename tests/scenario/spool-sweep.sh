#!/bin/sh
# A store removed with rm -rf leaves its shared-memory spool directory
# behind; the next store made sweeps it (lib/sweep.c).  Kept: the spool of
# a store that exists (also after the store was moved and opened again),
# anything touched in the last minute, a spool a live process still writes,
# and a week of a dead writer's records that were never imported.
. "$SCENARIO_LIB"

base=$WORK/shm
mkdir "$base"
export RETRO_SPOOL_BASE=$base
spool_of() { cat "$WORK/$1/SPOOL"; }
age() { touch -d "$1" "$2" "$2"/*; }
# a store made: the sweep runs
made=0
make_store() { made=$((made + 1)); rr record -q -o "$WORK/new$made" -- true; }
wait_segment() {
	for i in $(seq 100); do
		[ -s "$WORK/$1/SPOOL" ] && [ -n "$(find "$(spool_of "$1")" -name '*.seg')" ] && return
		sleep 0.1
	done
	fail "no segment in $1's spool"
}
# a live writer: sleep 30 recording into store $1 ($sleeper)
start_sleeper() {
	LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$WORK/$1 sleep 30 &
	sleeper=$!
	wait_segment "$1"
}
# ... killed, without the import at its exit
kill_sleeper() {
	kill -KILL "$sleeper"
	wait "$sleeper" 2>/dev/null || true
}
gone() { [ ! -e "$1" ] || fail "$2: $1 was kept: $(ls -la "$1")"; }
kept() { [ -d "$1" ] || fail "$2: $1 was removed"; }

# the link back from a spool to its store, while it holds segments (an
# import that empties a spool removes it, link and all)
LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$WORK/live RETRO_IMPORT=0 sh -c "echo x > '$WORK/f0'"
live=$(spool_of live)
expect_eq "STORE link" "$WORK/live" "$(cat "$live/STORE")"

# a spool whose store is gone and that holds no records, aged past a
# minute: swept; a store that exists keeps its spool whatever its age
a=$base/retro-spool-$(id -u)-00000000000000aa
mkdir -m 700 "$a"
echo "$WORK/a" > "$a/STORE"
: > "$a/free-1-0-1-0.seg"
age '2 minutes ago' "$a"
age '2 days ago' "$live"
make_store
gone "$a" "removed store"
kept "$live" "a store that exists, whatever its age"
expect_eq "its records" x "$(rr cat "$WORK/live" "$WORK/f0")"

# touched in the last minute: kept (a store being made writes its spool's
# link before its own SPOOL)
b=$base/retro-spool-$(id -u)-00000000000000bb
mkdir -m 700 "$b"
echo "$WORK/b" > "$b/STORE"
make_store
kept "$b" "young orphan"

# records a dead writer left and nobody imported: kept for a week
LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$WORK/c RETRO_IMPORT=0 sh -c "echo x > '$WORK/f'"
c=$(spool_of c)
[ "$(find "$c" -name '*.seg' | wc -l)" -ge 1 ] || fail "no segment left in $c"
rm -rf "$WORK/c"
age '2 days ago' "$c"
make_store
kept "$c" "a dead writer's records, 2 days old"
age '8 days ago' "$c"
make_store
gone "$c" "a dead writer's records, 8 days old"

# a live writer: kept whatever the age
start_sleeper d
d=$(spool_of d)
rm -rf "$WORK/d"
age '8 days ago' "$d"
make_store
kept "$d" "a live writer's spool"
kill_sleeper
age '8 days ago' "$d"
make_store
gone "$d" "the same, once the writer is dead"

# a moved store: opening it links its spool again, and a week-old spool
# it still names is kept
start_sleeper e
e=$(spool_of e)
mv "$WORK/e" "$WORK/e2"
rr ps "$WORK/e2" >/dev/null
expect_eq "link after the move" "$WORK/e2" "$(cat "$e/STORE")"
kill_sleeper
age '8 days ago' "$e"
make_store
kept "$e" "a moved store's spool"
rr ps "$WORK/e2" | grep -q ' sleep 30' || fail "the moved store's records: $(rr ps "$WORK/e2")"

# records of a moved store that was not opened since: kept for a week
LD_PRELOAD=$RETRO_SHIM RETRO_STORE=$WORK/h RETRO_IMPORT=0 sh -c "echo moved > '$WORK/g'"
h=$(spool_of h)
mv "$WORK/h" "$WORK/h2"
age '2 days ago' "$h"
make_store
kept "$h" "an unopened moved store's spool"
expect_eq "its records" moved "$(rr cat "$WORK/h2" "$WORK/g")"

# a spool made before the link existed: swept when empty and old
mkdir -m 700 "$base/retro-spool-$(id -u)-0123456789abcdef"
touch -d '2 hours ago' "$base/retro-spool-$(id -u)-0123456789abcdef"
mkdir -m 700 "$base/retro-spool-$(id -u)-fedcba9876543210"
make_store
gone "$base/retro-spool-$(id -u)-0123456789abcdef" "an old spool without a link"
kept "$base/retro-spool-$(id -u)-fedcba9876543210" "a new spool without a link"

# a link to a store path that now holds a FIFO named SPOOL (anybody may
# have made one there since): the sweep neither hangs nor keeps the orphan
g=$base/retro-spool-$(id -u)-00000000000000ff
mkdir -m 700 "$g" "$WORK/fifo"
mkfifo "$WORK/fifo/SPOOL"
echo "$WORK/fifo" >"$g/STORE"
age '2 hours ago' "$g"
timeout 20 "$RETRO_REPLAY" record -q -o "$WORK/after-fifo" -- true ||
	fail "making a store with a FIFO behind a spool's link: exit $?"
gone "$g" "a spool linked to a FIFO"

# another user's name pattern is never looked at
mkdir -m 700 "$base/retro-spool-99999-0123456789abcdef"
touch -d '8 days ago' "$base/retro-spool-99999-0123456789abcdef"
make_store
kept "$base/retro-spool-99999-0123456789abcdef" "another uid's spool"

pass

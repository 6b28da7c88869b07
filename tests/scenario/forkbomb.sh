#!/bin/sh
# A fork bomb held by a process limit (RLIMIT_NPROC, for a throwaway user:
# nobody) is recorded and the recording ends cleanly: the command ends,
# every process that ran is in the store with its end, every fork that
# failed with EAGAIN is there as such, and fsck accepts the store.  Needs
# root (to become nobody); skipped otherwise.
. "$SCENARIO_LIB"

if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1 ||
	! command -v setpriv >/dev/null || ! command -v prlimit >/dev/null; then
	echo "SKIP: $TEST_NAME: needs root, the user nobody, setpriv and prlimit"
	exit 77
fi
NB="setpriv --reuid=nobody --regid=nogroup --clear-groups"
chmod 711 "$WORK"
# nobody must reach the programs: a tree cloned under /root (0700) is not
bin=$WORK/bin
mkdir "$bin"
cp "$RETRO_REPLAY" "$PROGS/p_forkbomb" "$bin/"
cp "$RETRO_SHIM" "$bin/libretro.so"
chmod 755 "$bin" "$bin"/*
RETRO_REPLAY=$bin/retro-replay
RETRO_SHIM=$bin/libretro.so
export RETRO_SHIM
D=$WORK/nb
mkdir "$D"
chmod 777 "$D"
# depth 7, fan-out 4: up to 21845 processes, held to 100 at a time
set +e
timeout 120 $NB prlimit --nproc=100 "$RETRO_REPLAY" record -q -o "$D/s" -- \
	"$bin/p_forkbomb" "$D/f" 7 4 >"$WORK/out" 2>"$WORK/err"
st=$?
set -e
[ $st = 0 ] || fail "the recording exited $st (124: it did not end): $(cat "$WORK/err")"
expect_eq "the bomb's output" "bomb done" "$(cat "$WORK/out")"
procs=$(wc -l <"$D/f")
set -- $(awk '{ o += $2; a += $3 } END { print o, a }' "$D/f")
ok=$1 again=$2
expect_eq "forks that worked, one per process but the first" $((procs - 1)) "$ok"
[ "$again" -gt 0 ] || fail "the process limit was never reached"

$NB "$RETRO_REPLAY" ps --json "$D/s" >"$WORK/ps" || fail "ps"
expect_eq "processes in the store" "$procs" "$(wc -l <"$WORK/ps")"
expect_eq "every process ended with exit 0" "$procs" \
	"$(json_map 'o["status"]' <"$WORK/ps" | grep -c '^exit 0$')"
$NB "$RETRO_REPLAY" log --json -c fork "$D/s" >"$WORK/forks" || fail "log"
expect_eq "forks recorded as done" "$((ok + again))" \
	"$(json_map 'o["state"]' <"$WORK/forks" | grep -c '^done$')"
expect_eq "forks that failed with EAGAIN" "$again" \
	"$(json_map 'o["errno"] if o["ret"] == -1 else None' <"$WORK/forks" | grep -c '^11$')"
$NB "$RETRO_REPLAY" fsck "$D/s" >"$WORK/fsck" 2>&1 || fail "fsck: $(cat "$WORK/fsck")"
grep -q "OK" "$WORK/fsck" || fail "fsck verdict: $(cat "$WORK/fsck")"
pass

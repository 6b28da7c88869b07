# Shared by the scenario tests.  Each test records small programs and
# asserts on exact values; it prints "PASS: name" at the end or exits 1
# with the reason.
set -eu

: "${RETRO_REPLAY:?}" "${RETRO_SHIM:?}" "${PROGS:?}"

TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/retro-test.XXXXXX")
cleanup() {
	# stores keep their spool in shared memory (STORE/SPOOL names it)
	find "$WORK" -name SPOOL -type f 2>/dev/null | while read -r f; do
		rm -rf "$(cat "$f")"
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

rr() { "$RETRO_REPLAY" "$@"; }

# Every recording of the suite checks each write the shim placed from a
# file offset it kept against the kernel's offset; a difference ends the
# process with SIGABRT, and its test fails (lib/recorder.c, off_verify).
export RETRO_OFFSET_CHECK="${RETRO_OFFSET_CHECK:-1}"

fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	exit 1
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	if [ "$2" != "$3" ]; then
		printf 'FAIL: %s: %s\n  expected: %s\n  actual:   %s\n' \
			"$TEST_NAME" "$1" "$2" "$3" >&2
		exit 1
	fi
}

# expect_late WHAT EXPECTED ACTUAL: ACTUAL is EXPECTED, except that a
# number with a decimal point (a time the program measured on the host's
# clock, in tenths) may be up to 0.2 later: a loaded machine runs late,
# never early.  For what a program prints of real time; a consistent
# replay is compared with the recording byte for byte (expect_eq).
expect_late() {
	python3 - "$2" "$3" <<'PY' || {
import re, sys
num = re.compile(r"\d+\.\d+")
want, got = sys.argv[1], sys.argv[2]
ok = num.sub("#", want) == num.sub("#", got) and all(
    float(w) <= float(g) <= float(w) + 0.2001
    for w, g in zip(num.findall(want), num.findall(got)))
sys.exit(0 if ok else 1)
PY
		printf 'FAIL: %s: %s\n  expected (numbers up to 0.2 later): %s\n  actual:   %s\n' \
			"$TEST_NAME" "$1" "$2" "$3" >&2
		exit 1
	}
}

# expect_status WHAT EXPECTED-CODE COMMAND...
expect_status() {
	what=$1 want=$2
	shift 2
	set +e
	"$@" >"$WORK/out" 2>"$WORK/err"
	got=$?
	set -e
	if [ "$got" != "$want" ]; then
		echo "stdout:" >&2; cat "$WORK/out" >&2
		echo "stderr:" >&2; cat "$WORK/err" >&2
		fail "$what: exit status $got, expected $want"
	fi
}

# jq-like field extraction from JSON lines, with python3.
# json_lines FILTER-EXPR: prints expr for each object in stdin for which
# it is not None.  `o` is the object.
json_map() {
	python3 -c '
import json, sys
expr = sys.argv[1]
for line in sys.stdin:
    o = json.loads(line)
    v = eval(expr, {"o": o})
    if v is not None:
        print(v)
' "$1"
}

pass() { echo "PASS: $TEST_NAME"; }

# The replay tests need a private mount namespace (and overlayfs in it);
# where the machine refuses one, they say so and skip (exit 77).
# child_pid PID NAME: the pid of PID's child NAME once it has started
# (waits up to a second); prints nothing and fails when it has not.
# From /proc/*/stat ("pid (comm) state ppid ..."), not pgrep: procps is
# not on a fresh Debian and setup.sh does not install it.
child_pid() {
	_cp_i=0
	while [ $_cp_i -lt 100 ]; do
		for _cp_f in /proc/[0-9]*/stat; do
			read -r _cp_pid _cp_comm _cp_state _cp_ppid _cp_rest \
				2>/dev/null <"$_cp_f" || continue
			if [ "$_cp_ppid" = "$1" ] && [ "$_cp_comm" = "($2)" ]; then
				echo "$_cp_pid"
				return 0
			fi
		done
		sleep 0.01
		_cp_i=$((_cp_i + 1))
	done
	return 1
}

# record_paused STORE OUT AT FOR PROG [ARGS...]: records PROG into STORE,
# its output in OUT, and stops it (SIGSTOP) from AT to AT+FOR seconds
# after it started: a recording that ran late, as on a busy machine.
record_paused() {
	_rp_store=$1 _rp_out=$2 _rp_at=$3 _rp_for=$4
	shift 4
	"$RETRO_REPLAY" record -q -o "$_rp_store" -- "$@" >"$_rp_out" &
	_rp_rec=$!
	_rp_pid=$(child_pid "$_rp_rec" "$(basename "$1")") ||
		fail "$1 did not start"
	sleep "$_rp_at"
	kill -STOP "$_rp_pid"
	sleep "$_rp_for"
	kill -CONT "$_rp_pid"
	wait "$_rp_rec" || fail "recording $1 failed"
}

need_mount_ns() {
	if ! unshare -m true 2>/dev/null && ! unshare -Urm true 2>/dev/null; then
		echo "SKIP: $TEST_NAME: this machine refuses mount namespaces"
		exit 77
	fi
}

need_pid_ns() {
	if ! unshare -mpf true 2>/dev/null && ! unshare -Urmpf true 2>/dev/null; then
		echo "SKIP: $TEST_NAME: this machine refuses pid namespaces"
		exit 77
	fi
}

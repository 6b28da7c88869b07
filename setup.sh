#!/bin/sh
# retro's set-up, for a fresh Debian 12 machine (run as root, or with sudo
# available for apt-get):
#
#   ./setup.sh          install what is missing, build, run the demo
#   ./setup.sh check    install what is missing, build, run every test
#
set -eu
cd "$(dirname "$0")"

# The last line: the peers `make bench` (bench/run) measures retro against;
# bench/run also installs them itself when missing and run as root.
PKGS="gcc libc6-dev make autoconf automake libtool pkg-config liblmdb-dev libffi-dev
libunwind-dev libdw-dev libxxhash-dev check python3 sqlite3 git
libpython3.11-testsuite clang libclang-rt-14-dev
strace ltrace faketime"

missing=""
for p in $PKGS; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing:$missing"
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

[ -x configure ] || ./bootstrap.sh
[ -f Makefile ] || ./configure -q
make -j"$(nproc)" >/dev/null

case "${1:-demo}" in
demo)
	exec demo/run.sh ;;
check)
	make -j"$(nproc)" check || { cat test-suite.log; exit 1; }
	# One closing line for CI to read.
	total=$(sed -n 's/^# TOTAL: *//p' test-suite.log)
	fail=$(sed -n 's/^# FAIL: *//p' test-suite.log)
	err=$(sed -n 's/^# ERROR: *//p' test-suite.log)
	echo "$((total - fail - err)) passed, $((fail + err)) failed"
	# Then each fuzz target for 30 s (clang, ASan, UBSan): a crash fails CI.
	make fuzz-ci || { echo "fuzzing found a crash (tests/fuzz/artifacts/)"; exit 1; }
	;;
*)
	echo "usage: ./setup.sh [demo|check]" >&2
	exit 2 ;;
esac

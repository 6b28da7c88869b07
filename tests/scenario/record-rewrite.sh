#!/bin/sh
# The trap layer rewrites a glibc system call site at its fourth trap
# (lib/rewrite.c; sites that trap once or twice, at a process's start or
# exit, are not worth it): later calls from it reach the shim without a
# SIGSYS.
# They are recorded as before (the same calls, bytes and call sites, in
# threads and in a forked child), and the program cannot tell: EINTR and
# SA_RESTART as without recording, errno left alone.  RETRO_REWRITE=0
# keeps every call trapping, for comparison.
. "$SCENARIO_LIB"

for m in native rewrite trap; do
	mkdir "$WORK/$m"
done
"$PROGS/p_rewrite" "$WORK/native" >"$WORK/native.out"
expect_eq "native run" "stdio: 0
threads: 0 failed
child: exit 0
no SA_RESTART: first a
  second none, Interrupted system call
SA_RESTART: first a
  second b
errno: 4242" "$(cat "$WORK/native.out")"
RETRO_TRAP_DEBUG=1 rr record -q -o "$WORK/s-rewrite" -- "$PROGS/p_rewrite" "$WORK/rewrite" \
	>"$WORK/rewrite.out" 2>"$WORK/rewrite.traps"
RETRO_TRAP_DEBUG=1 RETRO_REWRITE=0 rr record -q -o "$WORK/s-trap" -- "$PROGS/p_rewrite" "$WORK/trap" \
	>"$WORK/trap.out" 2>"$WORK/trap.traps"
for m in rewrite trap; do
	expect_eq "$m: output" "$(cat "$WORK/native.out")" "$(cat "$WORK/$m.out")"
	for f in stdio t0 t1 t2 t3 child errno; do
		rr cat "$WORK/s-$m" "$WORK/$m/$f" >"$WORK/got" 2>"$WORK/err" ||
			fail "$m: $f not recorded: $(cat "$WORK/err")"
		cmp -s "$WORK/got" "$WORK/native/$f" || fail "$m: $f: recorded bytes differ"
	done
	rr fsck "$WORK/s-$m" >/dev/null || fail "$m: fsck"
done

# the same writes, with the same call sites, both ways
sites() {
	rr log --json --stacks -c write "$WORK/s-$1" |
		json_map 'o["path"].rsplit("/", 1)[1] + " " + (" <- ".join(f.split(" (")[0] for f in o["site"].split(" <- ")[:2]) if "site" in o else "NO SITE") if o.get("path", "").startswith("'"$WORK/$1"'/") else None' |
		sort | uniq -c
}
sites rewrite >"$WORK/rewrite.sites"
sites trap >"$WORK/trap.sites"
diff -u "$WORK/trap.sites" "$WORK/rewrite.sites" || fail "writes or their sites differ"
grep -q "1000 stdio .* <- " "$WORK/rewrite.sites" || fail "no 1000 stdio writes: $(cat "$WORK/rewrite.sites")"

# every action keeps its call site when the spool rotates segments often
# (64 KiB): an action and its call-site record go into one segment (before, the
# action right after a rotation lost its site, trapped or not)
mkdir "$WORK/small"
RETRO_SPOOL_SIZE=65536 rr record -q -o "$WORK/s-small" -- "$PROGS/p_rewrite" "$WORK/small" >/dev/null
expect_eq "actions without a call site, small segments" 0 \
	"$(rr log --json --stacks "$WORK/s-small" | json_map 'o["call"] if "site" not in o and o["call"] not in ("start", "end", "preimage", "fdinfo", "timereads", "image", "landed") else None' | wc -l)"

# and the point: write (1) trapped on every call without rewriting, and
# a few times with it.  (A thread that found another rewriting the site
# used to give up at once; with the other preempted, it trapped on each
# of its 500 writes, about one run in forty here.  It now waits for it.)
traps() { grep -c "^T[0-9]* 1$" "$WORK/$1.traps" || true; }
[ "$(traps trap)" -ge 3200 ] || fail "without rewriting, only $(traps trap) writes trapped"
[ "$(traps rewrite)" -le 20 ] ||
	fail "with rewriting, $(traps rewrite) writes trapped: $(grep '^retro: site:' "$WORK/rewrite.traps" | sort | uniq -c)"
# a site is rewritten at its fourth trap, not before
[ "$(traps rewrite)" -ge 4 ] ||
	fail "with rewriting, only $(traps rewrite) writes trapped: rewritten before the fourth"
grep -q '^retro: site: not hot yet$' "$WORK/rewrite.traps" ||
	fail "no site was left alone for trapping fewer than four times"
pass

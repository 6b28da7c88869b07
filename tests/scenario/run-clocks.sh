#!/bin/sh
# A shepherded program that reads its clocks across a 2 s sleep sees the
# whole sleep on every wall and monotonic clock, though the replay takes a
# fraction of it, and its CPU-time clock stays real.  File times are on
# the same clock: the access time a read sets (p_atime) as well.
. "$SCENARIO_LIB"
need_mount_ns

S=$WORK/store
mkdir "$WORK/rec"
rr record -q -o "$S" -- "$PROGS/p_clocks" >"$WORK/rec/recorded"
said="sleep: realtime 2.0 monotonic 2.0 boottime 2.0 gettimeofday 2.0 time moved
cpu: real, monotonic moved yes"
expect_late "recorded" "$said" "$(cat "$WORK/rec/recorded")"
said=$(cat "$WORK/rec/recorded")

start=$(date +%s%N)
expect_status "replay" 0 rr run -q "$S" --shepherd p_clocks \
	--root "$WORK/root" --report "$WORK/r.json"
took=$(( ($(date +%s%N) - start) / 1000000 ))
# the same bytes as recorded, in the root: no divergence
expect_eq "replayed" "$said" "$(cat "$WORK/root$WORK/rec/recorded")"
[ "$took" -lt 2000 ] || fail "the replay took $took ms: the 2 s sleep was not squeezed"

# --output: standard output goes to DIR/ID.out instead, and the same bytes
# as recorded are no divergence
id=$(rr ps --json "$S" | json_map 'o["id"]')
expect_status "replay with --output" 0 rr run -q "$S" --shepherd p_clocks \
	--root "$WORK/root2" --output "$WORK/outdir"
expect_eq "--output" "$said" "$(cat "$WORK/outdir/$id.out" 2>&1)"

# p_sleeps's nanosleep, clock_nanosleep, usleep, its poll and select with
# no descriptors and its alarm are all on V: nothing unsupported.  In a
# naive replay the alarm is the host's, and said to be unsupported.
S3=$WORK/store3
rr record -q -o "$S3" -- "$PROGS/p_sleeps" >/dev/null
expect_status "p_sleeps replay" 0 rr run -q "$S3" --shepherd p_sleeps \
	--root "$WORK/root3" --report "$WORK/r3.json"
expect_eq "p_sleeps output" "p_sleeps done 102" "$(head -1 "$WORK/out")"
unsup() { python3 -c "import json,sys; o=json.load(open(sys.argv[1])); print([(u['call'], u['count']) for u in o['unsupported']])" "$1"; }
expect_eq "unsupported" "[]" "$(unsup "$WORK/r3.json")"
expect_status "p_sleeps naive replay" 0 rr run -q "$S3" --shepherd p_sleeps \
	--root "$WORK/root4" --report "$WORK/r4.json" --naive
expect_eq "unsupported, naive" "[('alarm', 1)]" "$(unsup "$WORK/r4.json")"

# access times: the first read moves it, the second does not (relatime)
# or does (strictatime, as in some containers' /tmp); the replay follows
# the mount's option either way
S5=$WORK/store5
mkdir "$WORK/at"
rr record -q -o "$S5" -- "$PROGS/p_atime" "$WORK/at/f" >"$WORK/at/out"
case ",$(findmnt -no OPTIONS -T "$WORK/at" 2>/dev/null)," in
*,noatime,*) ;;
*,relatime,*)
	expect_late "p_atime recorded" "read 1: atime-mtime 1.0 now-atime 0.0
read 2: atime-mtime 1.0 now-atime 1.0" "$(cat "$WORK/at/out")" ;;
*)
	expect_late "p_atime recorded, strictatime" "read 1: atime-mtime 1.0 now-atime 0.0
read 2: atime-mtime 2.0 now-atime 0.0" "$(cat "$WORK/at/out")" ;;
esac
expect_status "p_atime replay" 0 rr run -q "$S5" --shepherd p_atime \
	--root "$WORK/root5"
expect_eq "p_atime replayed" "$(cat "$WORK/at/out")" \
	"$(cat "$WORK/root5$WORK/at/out")"
pass

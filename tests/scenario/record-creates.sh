#!/bin/sh
# Opens that may create their file (O_CREAT without O_EXCL).  The shim
# tries such an open (outside /dev) with O_EXCL first while the thread's
# last one made its file, instead of a stat beforehand (lib/recorder.c,
# retro_open_pre); when the try fails it does the stat and issues the open
# as the program asked.
# Either way the recording must say which opens created their file, keep
# the bytes of every pre-existing file that O_TRUNC empties, and the
# program must see what it would see without the shim: a dangling symlink
# is followed, a directory gives EISDIR, errno is untouched on success.
. "$SCENARIO_LIB"

D=$WORK/d
mkdir "$D" "$D/dir"
echo "old keep" >"$D/keep"
echo "old keep2" >"$D/keep2"
ln -s target "$D/dangle"
S=$WORK/store
out=$(cd "$D" && rr record -q -o "$S" -- sh -c 'echo one >new1; echo new >keep
	echo >/dev/null; echo two >new2; echo new2 >keep2; echo t >dangle; echo again >new1
	{ echo x >dir; } 2>/dev/null; echo "dir: $?"')
expect_eq "the shell's own view" "dir: 2" "$out"

# created: exactly the opens that made their file
rr log --json -c open64 "$S" | json_map \
	'"%s %s %s" % (o["path"].replace("'"$D"'/", ""), o.get("created", False), o["errno"])' |
	grep -v '^/' >"$WORK/opens"
expect_eq "opens" "new1 True 0
keep False 0
new2 True 0
keep2 False 0
dangle True 0
new1 False 0
dir False 21" "$(cat "$WORK/opens")"
expect_eq "the dangling symlink was followed" "t" "$(cat "$D/target")"
expect_eq "still a symlink" "target" "$(readlink "$D/dangle")"

# pre-images: the two files that existed, not the one the shell made
rr log --json -c preimage "$S" | json_map 'o["path"]' | grep "^$D/" >"$WORK/pre" || :
expect_eq "pre-images" "$D/keep
$D/keep2" "$(cat "$WORK/pre")"
expect_eq "keep at the start" "old keep" "$(rr cat --at 0 "$S" "$D/keep")"
expect_eq "keep2 at the start" "old keep2" "$(rr cat --at 0 "$S" "$D/keep2")"
expect_eq "keep at the end" "new" "$(rr cat "$S" "$D/keep")"
expect_eq "new1 at the end" "again" "$(rr cat "$S" "$D/new1")"

# The same with threads: libc issues the opens (shim/files.c, issue_open)
S2=$WORK/store2
rm -f "$D/new1" "$D/new2"
echo "old keep" >"$D/keep"
out=$(cd "$D" && rr record -q -o "$S2" -- python3 -c '
import errno, os, threading
t = threading.Thread(target=lambda: None); t.start(); t.join()
def w(p, s):
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, s); os.close(fd)
w("new1", b"1"); w("keep", b"k"); w("new2", b"2")
try:
    os.open("dir", os.O_WRONLY | os.O_CREAT, 0o644)
except OSError as e:
    print(errno.errorcode[e.errno])
')
expect_eq "python sees" "EISDIR" "$out"
rr log --json -c open64 "$S2" | json_map \
	'"%s %s %s" % (o["path"].replace("'"$D"'/", ""), o.get("created", False), o["errno"])' |
	grep -v '^/' >"$WORK/opens2"
expect_eq "opens with threads" "new1 True 0
keep False 0
new2 True 0
dir False 21" "$(cat "$WORK/opens2")"
expect_eq "keep at the start, with threads" "old keep" \
	"$(rr cat --at 0 "$S2" "$D/keep")"

# A file the process made is its own: emptied again later with O_TRUNC,
# it gets no pre-image.  The shim claims its inode at the thread's next
# call, from the program's own fstat when that is the call
# (lib/recorder.c, claim_fstat), else by an fstat of its own
# (claim_settle).  p_creates makes N files, fstats every other one right
# after its open, writes each, then empties each again with O_TRUNC.
S3=$WORK/store3
mkdir "$WORK/c"
out=$(rr record -q -o "$S3" -- "$PROGS/p_creates" "$WORK/c" 40)
expect_eq "p_creates' own fstats" "20 regular" "$out"
n=$(rr log --json -c preimage "$S3" | json_map 'o["path"]' |
	grep -c "^$WORK/c/" || :)
expect_eq "pre-images of files the process made" 0 "$n"
expect_eq "f38 at the end" "again" "$(rr cat "$S3" "$WORK/c/f38")"
expect_eq "f39 at the end" "again" "$(rr cat "$S3" "$WORK/c/f39")"

# ...and the shim's own fstat of a file it made only where the program
# made none: the fstats of the 40 files' descriptors, counted by strace
# (-y names each descriptor's file): 20 of the program's and 20 of the
# shim's (60 before claim_fstat: one of the shim's after every open).
if ! command -v strace >/dev/null 2>&1 ||
	! strace -f -qq -o /dev/null true >/dev/null 2>&1; then
	echo "strace cannot trace here: the shim's fstats are not counted"
	pass
	exit 0
fi
mkdir "$WORK/e"
strace -f -qq -y -o "$WORK/st" -e trace=newfstatat,fstat \
	env LD_PRELOAD="$RETRO_SHIM" RETRO_STORE="$WORK/store4" \
	"$PROGS/p_creates" "$WORK/e" 40 >/dev/null ||
	fail "the recorded p_creates under strace failed"
n=$(grep -c -E "fstat(at)?\([0-9]+<$WORK/e/f[0-9]+>" "$WORK/st" || :)
expect_eq "fstats of the files' descriptors" 40 "$n"
pass

#!/bin/sh
# An O_TMPFILE file: an unnamed regular file made in a directory, written,
# and given a name with linkat, by its /proc/self/fd path
# (AT_SYMLINK_FOLLOW) or by its descriptor (AT_EMPTY_PATH).  The recorder
# names it as the kernel does ("DIR/#INODE (deleted)"), the open makes
# it, and linkat's source is that object.  (Before, its writes were taken
# for the directory's, with a pre-image of the directory as an empty
# file, and cat of the linked name had no bytes.)
. "$SCENARIO_LIB"

S=$WORK/store
mkdir "$WORK/d"
rr record -q -o "$S" -- python3 -c '
import ctypes, os, sys
d = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
def linkat(ofd, old, new, flags):
    if libc.linkat(ofd, old, -100, new, flags) != 0:
        sys.exit("linkat: %s" % os.strerror(ctypes.get_errno()))
fd = os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o644)
os.write(fd, b"first\n")
linkat(-100, b"/proc/self/fd/%d" % fd, (d + "/by-proc").encode(), 0x400)
os.write(fd, b"after the link\n")
os.close(fd)
fd = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o600)
os.write(fd, b"second\n")
linkat(fd, b"", (d + "/by-fd").encode(), 0x1000)
os.close(fd)' "$WORK/d" || fail "the program failed"
expect_eq "by-proc" "$(cat "$WORK/d/by-proc")" "$(rr cat "$S" "$WORK/d/by-proc")"
expect_eq "by-fd" "$(cat "$WORK/d/by-fd")" "$(rr cat "$S" "$WORK/d/by-fd")"
rr log "$S" | grep -q "pre-image of \"$WORK/d\"" && fail "a pre-image of the directory"
rr log "$S" | grep -q "write([0-9]*<$WORK/d>" && fail "a write taken for the directory's"
expect_eq "opens that made a file" 2 \
	"$(rr log "$S" | grep -c "open[0-9]*(\"$WORK/d\", .*) = [0-9]* (created)$")"
expect_eq "files made" 2 \
	"$(rr files --json "$S" | json_map 'o["path"] if "/#" in o["path"] and o["initial"] == "absent" else None' | wc -l)"
pass

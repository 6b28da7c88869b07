#!/bin/sh
# record's imports and a writer that never seals its segment.  A process
# killed with SIGKILL leaves its last segment unsealed; record's imports
# take it once its writer is gone.  They ask with a pidfd opened when the
# writer was first seen alive (lib/import.c, writer_alive_watched), which
# says "gone" as soon as the process has exited, before its parent reaps
# it: /proc still lists a zombie with the writer's start time, and asked
# alone it kept such a segment in the spool until the wait.  Here the
# parent kills its child, does not wait for it, and waits for the child's
# segment to leave the spool; then the record must hold the child's write.
. "$SCENARIO_LIB"
command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3"; exit 77; }

S=$WORK/store
cat >"$WORK/zombie.py" <<'EOF'
import os, signal, struct, sys, time

store, out = sys.argv[1], sys.argv[2]
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b"before the kill\n")
    os.close(fd)
    os.write(w, b"x")
    while True:
        signal.pause()
os.close(w)
os.read(r, 1)
spool = open(os.path.join(store, "SPOOL")).read().strip()

def child_segments():
    # a segment's header: magic[8] version size used sealed proc image
    # thread segno pid (spool.h); pid at byte 52
    found = []
    for name in os.listdir(spool):
        if not name.endswith(".seg"):
            continue
        try:
            with open(os.path.join(spool, name), "rb") as f:
                head = f.read(56)
        except FileNotFoundError:
            continue
        if len(head) == 56 and struct.unpack_from("<i", head, 52)[0] == pid:
            found.append(name)
    return found

seen = child_segments()
os.kill(pid, signal.SIGKILL)
deadline = time.time() + 10
left = seen
while time.time() < deadline:
    left = child_segments()
    if not left:
        break
    time.sleep(0.02)
state = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0]
print("child segments before the kill: %d" % len(seen))
print("left in the spool while a zombie: %s" % (" ".join(left) or "none"))
print("child state then: %s" % state)
os.waitpid(pid, 0)
EOF

rr record -q -o "$S" -- python3 "$WORK/zombie.py" "$S" "$WORK/out" \
	>"$WORK/said" || fail "recording failed: $(cat "$WORK/said")"
expect_eq "what the parent saw" "child segments before the kill: 1
left in the spool while a zombie: none
child state then: Z" "$(cat "$WORK/said")"
expect_eq "the killed child's write, from the store" "before the kill" \
	"$(rr cat "$S" "$WORK/out")"
expect_eq "processes that ended by SIGKILL" "signal 9 (Killed)" \
	"$(rr ps --json "$S" | json_map "o['status']" | grep '^signal' || true)"
expect_status "fsck" 0 rr fsck "$S"
pass

#!/bin/sh
# Input from outside the recording: p_readin reads its standard input, a
# socket and then a terminal that a script outside the recording writes
# to in three parts, 0.3 s apart.  The recorder keeps the bytes read from
# terminals and sockets; a consistent replay feeds them back read by read
# (its standard input is /dev/null, and no script writes), so the program
# prints what it printed, with the waits squeezed; a naive replay reads
# /dev/null and diverges.  The same with readv(2) from a socket.
. "$SCENARIO_LIB"
need_mount_ns

mkdir "$WORK/rec"
# feed KIND OUT: records p_readin with a socket or a terminal as stdin
# (readv: a socket, read with readv)
feed() {
	python3 - "$1" "$2" "$RETRO_REPLAY" "$WORK/store.$1" "$PROGS/p_readin" <<'PY'
import os, pty, socket, subprocess, sys, time
kind, out, rr, store, prog = sys.argv[1:]
args = [prog]
if kind == "readv":
    kind = "socket"
    args.append("readv")
if kind == "socket":
    mine, theirs = socket.socketpair()
    stdin = theirs.fileno()
else:
    mfd, sfd = pty.openpty()
    import termios
    attrs = termios.tcgetattr(sfd)
    attrs[3] &= ~termios.ECHO   # no echo back into the output
    termios.tcsetattr(sfd, termios.TCSANOW, attrs)
    stdin = sfd
with open(out, "w") as f:
    p = subprocess.Popen([rr, "record", "-q", "-o", store, "--"] + args,
                         stdin=stdin, stdout=f)
    for part in (b"one\n", b"two\n", b"three\n"):
        time.sleep(0.3)
        if kind == "socket":
            mine.sendall(part)
        else:
            os.write(mfd, part)
    time.sleep(0.1)
    if kind == "socket":
        mine.shutdown(socket.SHUT_WR)
    else:
        os.write(mfd, b"\x04")   # end of input on a terminal
    sys.exit(p.wait())
PY
}
for kind in socket terminal readv; do
	feed $kind "$WORK/rec/$kind" || fail "recording with a $kind failed"
	grep -q "^read 1: one$" "$WORK/rec/$kind" &&
		grep -q "^end after 3 reads" "$WORK/rec/$kind" ||
		fail "recorded with a $kind: $(cat "$WORK/rec/$kind")"
	rr run -q "$WORK/store.$kind" --shepherd p_readin \
		--root "$WORK/r.$kind" </dev/null >"$WORK/out" 2>&1 ||
		fail "consistent replay, $kind: $(cat "$WORK/out")
$(diff "$WORK/rec/$kind" "$WORK/r.$kind$WORK/rec/$kind")
$(rr log "$WORK/store.$kind" --call read --call readv)"
	expect_eq "replayed output, $kind" "$(cat "$WORK/rec/$kind")" \
		"$(cat "$WORK/r.$kind$WORK/rec/$kind")"
done
expect_status "naive replay" 1 rr run -q "$WORK/store.socket" \
	--shepherd p_readin --root "$WORK/r.naive" --naive </dev/null
pass

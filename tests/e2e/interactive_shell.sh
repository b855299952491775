#!/usr/bin/env bash
# kvsh on a terminal (a pseudo-terminal driven by python3): the prompt names
# the node, Ctrl-C cancels the line being typed and the shell goes on (issue
# 12: it used to end the shell, and with it the cluster run.sh started), Tab
# completes command names, and quit leaves with status 0.
#   interactive_shell.sh KVNODE KVSH
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

step "start a node"
start_node pty "$WORK/pty"

step "drive kvsh through a pseudo-terminal"
KVSH="$KVSH" PORT="$NODE_PORT" timeout 60 python3 - >"$WORK/session.out" <<'PY' \
  || fail "the terminal session failed: $(tail -n 20 "$WORK/session.out")"
import os, pty, select, sys, time

pid, fd = pty.fork()
if pid == 0:
    os.execv(os.environ["KVSH"], ["kvsh", "--port=" + os.environ["PORT"]])
seen = b""

def wait_for(text, limit=10.0):
    """Reads until `text` has appeared in the output (bounded)."""
    global seen
    end = time.time() + limit
    while text not in seen:
        if time.time() > end:
            sys.exit("no %r in %r" % (text, seen[-400:]))
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            seen += os.read(fd, 4096)

prompt = ("kvsh 127.0.0.1:%s> " % os.environ["PORT"]).encode()
wait_for(prompt)
os.write(fd, b"put k1 v1  # a trailing comment\r")
wait_for(b"ok")
os.write(fd, b"put never-sent x")
wait_for(b"never-sent x")
os.write(fd, b"\x03")
wait_for(b"^C")
os.write(fd, b"get k1\r")
wait_for(b"v1\r\n")
os.write(fd, b"ge\t")  # completes to "get "
wait_for(b"get ")
os.write(fd, b"never-sent\r")
wait_for(b"(not found)")
os.write(fd, b"quit\r")
_, status = os.waitpid(pid, 0)
if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
    sys.exit("kvsh ended with status %r" % status)
print(seen.decode(errors="replace"))
PY
stop_node pty
echo "PASS"

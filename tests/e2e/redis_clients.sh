#!/usr/bin/env bash
# The Redis gateway (issue 13) with real Redis clients, on 3 nodes with TLS
# between them: redis-cli scripted, piped (--pipe) and typed under tmux,
# Debian's python3-redis, node-redis from npm and redis-benchmark's every
# test. SET overwrites siblings that plain puts left; GET picks one and
# INFO counts it. Hostile input gets errors; AUTH guards a node with a
# password; thousands of idle connections cost little.
#   redis_clients.sh BIN_DIR NPM_DIR   (kvnode and kvsh; where npm installs)
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 BIN_DIR NPM_DIR" >&2; exit 2; }
BIN=$1
NPM_DIR=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh" "$BIN/kvnode" "$BIN/kvsh"
for tool in redis-cli redis-benchmark tmux node npm; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/lib.sh installs it)"
done
/usr/bin/python3 -c "import redis" 2>/dev/null \
  || fail "python3-redis is missing (scripts/lib.sh installs it)"

RESP=$(pick_base 3) || fail "no 3 free ports for the Redis gateways"
export KV_RESP_BASE_PORT=$RESP
cluster_env 3 "--gossip-interval-ms=200"

step "start 3 nodes, each with a Redis port"
cluster start --nodes=3 --dcs=3 --base-port="$BASE" >/dev/null \
  || fail "cluster.sh start failed"
rcli() { timeout 30 redis-cli -p "$RESP" "$@"; }
for i in 0 1 2; do
  [[ $(timeout 30 redis-cli -p $((RESP + i)) ping) == PONG ]] \
    || fail "the gateway of n$((i + 1)) does not answer PING"
done

step "redis-cli: the commands, through one node and read through another"
[[ $(rcli set greeting hello) == OK ]] || fail "SET"
[[ $(timeout 30 redis-cli -p $((RESP + 2)) get greeting) == hello ]] \
  || fail "GET through n3 does not see n1's SET"
[[ $(rcli mset a 1 b 2) == OK ]] || fail "MSET"
[[ $(rcli mget a nothing b | paste -sd,) == "1,,2" ]] || fail "MGET"
[[ $(rcli exists a b nothing) == 2 ]] || fail "EXISTS"
[[ $(rcli strlen greeting) == 5 ]] || fail "STRLEN"
[[ $(rcli set a 9 nx) == "" ]] || fail "SET NX on a present key set it"
[[ $(rcli set a 3 xx get) == 1 ]] || fail "SET XX GET"
[[ $(rcli getdel a) == 3 ]] || fail "GETDEL"
[[ $(rcli del a b) == 1 ]] || fail "DEL counts the keys that existed"
[[ $(rcli get b) == "" ]] || fail "DEL left b"
[[ $(rcli echo hi) == hi && $(rcli select 0) == OK ]] || fail "ECHO, SELECT"
# Names go into CLIENT LIST lines: no spaces or newlines, 256 bytes at most.
[[ $(rcli hello 3 setname "two words" | head -n 1) == *"cannot contain spaces"* ]] \
  || fail "HELLO SETNAME with a space"
[[ $(rcli client setname "$(head -c 300 /dev/zero | tr '\0' n)") == *"at most 256 bytes"* ]] \
  || fail "CLIENT SETNAME of 300 bytes"
[[ $(rcli select 1) == "ERR DB index is out of range" ]] || fail "SELECT 1"
rcli info cluster | grep -q '^kvactors_members_up:3' || fail "INFO cluster"
rcli info server | grep -q '^redis_version:7.0.0' || fail "INFO server"
[[ $(rcli command count) =~ ^[0-9]+$ ]] || fail "COMMAND COUNT"
# redis-cli prints a RESP3 map as "key value" lines.
[[ $(rcli -3 hello 3 | head -n 3 | paste -sd,) == "server redis,version 7.0.0,proto 3" ]] \
  || fail "HELLO 3: $(rcli -3 hello 3)"

step "errors are replies, and the connection goes on"
printf 'LPUSH l x\nSET k v EX 10\nGET\nPING\n' | rcli >"$WORK/errors.out"
grep -q "^ERR unknown command 'LPUSH'" "$WORK/errors.out" || fail "LPUSH: $(cat "$WORK/errors.out")"
grep -q "never expire" "$WORK/errors.out" || fail "SET EX: $(cat "$WORK/errors.out")"
grep -q "^ERR wrong number of arguments for 'get' command" "$WORK/errors.out" \
  || fail "GET arity: $(cat "$WORK/errors.out")"
[[ $(tail -n 1 "$WORK/errors.out") == PONG ]] || fail "no PONG after the errors"
# One byte over the node's limit (1 MiB): the store refuses it.
head -c 1048577 /dev/zero | tr '\0' y >"$WORK/big.value"
rcli -x set big <"$WORK/big.value" >"$WORK/big.out" 2>&1 || true
grep -q "^ERR value_too_large" "$WORK/big.out" \
  || fail "a value over the node's limit: $(head -c 300 "$WORK/big.out")"
[[ $(rcli ping) == PONG ]] || fail "the node stopped answering after an oversized value"

step "SET overwrites the siblings plain puts made; GET picks one, INFO counts it"
printf 'put twin a\nput twin b\n' >"$WORK/twins.in"
on n1 "$WORK/twins.in" "$WORK/twins.out"
[[ $(rcli kv.get twin | tail -n +2 | sort | paste -sd,) == "a,b" ]] \
  || fail "kvsh's blind puts did not leave two siblings: $(rcli kv.get twin)"
first=$(rcli get twin)
[[ $first == a || $first == b ]] || fail "GET of a key with siblings: $first"
[[ $(timeout 30 redis-cli -p $((RESP + 1)) get twin) == "$first" ]] \
  || fail "another gateway picks another sibling"
rcli info stats | grep -qE '^get_sibling_picks:[1-9]' || fail "INFO has no sibling pick"
[[ $(rcli set twin c) == OK ]] || fail "SET over siblings"
[[ $(rcli kv.get twin | tail -n +2 | paste -sd,) == c ]] \
  || fail "SET left siblings: $(rcli kv.get twin)"
context=$(rcli kv.get twin | head -n 1)
[[ $(rcli kv.put twin d "$context" | head -c 3) != ERR ]] || fail "KV.PUT with a context"
[[ $(rcli kv.get twin | tail -n +2 | paste -sd,) == d ]] || fail "KV.PUT did not supersede"
[[ $(rcli kv.put twin e not-a-context) == "ERR the context is not one KV.GET or KV.PUT returned" ]] \
  || fail "a bad context"

step "redis-cli --pipe: 20000 pipelined SETs"
for ((i = 0; i < 20000; i++)); do
  printf '*3\r\n$3\r\nSET\r\n$%d\r\npipe:%d\r\n$1\r\nv\r\n' "$(( ${#i} + 5 ))" "$i"
done >"$WORK/pipe.resp"
timeout 120 redis-cli -p "$RESP" --pipe <"$WORK/pipe.resp" >"$WORK/pipe.out" 2>&1 \
  || fail "redis-cli --pipe: $(tail -n 3 "$WORK/pipe.out")"
grep -q "errors: 0, replies: 20000" "$WORK/pipe.out" || fail "--pipe: $(tail -n 2 "$WORK/pipe.out")"
[[ $(timeout 30 redis-cli -p $((RESP + 1)) get pipe:19999) == v ]] || fail "the last piped SET"

step "redis-cli typed into under tmux"
session=kv-redis-$$
tmux new-session -d -s "$session" -x 120 -y 30 "redis-cli -p $RESP"
trap 'tmux kill-session -t "$session" 2>/dev/null || true; cluster_on_exit' EXIT
typed() { tmux capture-pane -p -t "$session" | grep -q "$1"; }
wait_for 20 typed "127.0.0.1:$RESP>" || fail "no redis-cli prompt: $(tmux capture-pane -p -t "$session")"
tmux send-keys -t "$session" "set typed 'by hand'" Enter
tmux send-keys -t "$session" "get typed" Enter
wait_for 20 typed '"by hand"' || fail "typed GET: $(tmux capture-pane -p -t "$session")"
tmux send-keys -t "$session" "nosuchcommand" Enter
wait_for 20 typed "unknown command 'nosuchcommand'" \
  || fail "typed error: $(tmux capture-pane -p -t "$session")"
tmux kill-session -t "$session"

step "python3-redis"
timeout 120 /usr/bin/python3 "$HERE/redis/python_client.py" "$RESP" \
  || fail "python3-redis"

step "node-redis from npm"
if [[ ! -d $NPM_DIR/node_modules/redis ]]; then
  mkdir -p "$NPM_DIR"
  timeout 300 npm install --prefix "$NPM_DIR" --no-audit --no-fund \
    --loglevel=error redis@4 >"$WORK/npm.log" 2>&1 \
    || fail "npm install redis@4: $(tail -n 5 "$WORK/npm.log")"
fi
cp "$HERE/redis/node_client.mjs" "$NPM_DIR/"
timeout 120 node "$NPM_DIR/node_client.mjs" "$((RESP + 1))" || fail "node-redis"

step "redis-benchmark: every test it has gets answers or an error reply"
for test in ping_inline ping_mbulk set get incr lpush rpush lpop rpop sadd \
  hset spop zadd zpopmin lrange_100 lrange_300 lrange_500 lrange_600 mset; do
  timeout 120 redis-benchmark -p "$RESP" -t "$test" -n 2000 -c 8 -r 1000 -q \
    >"$WORK/bench-$test.out" 2>&1 || true
  tr '\r' '\n' <"$WORK/bench-$test.out" | grep -v 'rps=' | grep . >"$WORK/bench-$test.txt" || true
  if grep -q "requests per second" "$WORK/bench-$test.txt"; then
    echo "    $test: $(grep 'requests per second' "$WORK/bench-$test.txt" | head -n 1)"
  elif grep -q "Error from server: ERR unknown command" "$WORK/bench-$test.txt"; then
    echo "    $test: answered 'unknown command'"
  else
    fail "redis-benchmark $test: $(cat "$WORK/bench-$test.txt")"
  fi
done
[[ $(rcli ping) == PONG ]] || fail "no PONG after redis-benchmark"

step "hostile bytes: a protocol error is answered, then the connection closes"
reply=$(printf '*1\r\n$-5\r\n' | timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$RESP; cat >&3; cat <&3")
[[ $reply == *"Protocol error: invalid bulk length"* ]] || fail "protocol error reply: $reply"
reply=$(printf '*99999999\r\n' | timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$RESP; cat >&3; cat <&3")
[[ $reply == *"invalid multibulk length"* ]] || fail "huge array: $reply"
[[ $(rcli ping) == PONG ]] || fail "no PONG after hostile bytes"

step "bursts of pipelined commands with instant replies are all answered"
# 20000 PINGs in one write fill the connection (1024 in flight) many times
# over while more bytes keep arriving; three bursts.
timeout 60 /usr/bin/python3 - "$RESP" <<'PY' || fail "pipelined PINGs stalled"
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
for _ in range(3):
    c.sendall(b"PING\r\n" * 20000)
    want, got = b"+PONG\r\n" * 20000, b""
    while len(got) < len(want):
        chunk = c.recv(65536)
        assert chunk, "closed"
        got += chunk
    assert got == want
PY

step "one connection's pipelined MGETs do not starve the others"
# 100 MGETs of 1024 keys each at once: 102 400 reads. They are let out at
# most 1 024 at a time, so another client's PING is answered meanwhile.
keys=$(seq -f 'many%g' 1 1024 | paste -sd' ')
timeout 120 /usr/bin/python3 - "$RESP" "$keys" <<'PY' &
import socket, sys
keys = sys.argv[2].split()
cmd = ("*%d\r\n$4\r\nMGET\r\n" % (len(keys) + 1)
       + "".join("$%d\r\n%s\r\n" % (len(k), k) for k in keys)).encode()
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=100)
c.sendall(cmd * 100)
got = 0
while got < 100:
    data = c.recv(1 << 20)
    assert data, "closed"
    got += data.count(b"*1024\r\n")
PY
mget_pid=$!
sleep 1
start=$(date +%s%N)
[[ $(timeout 20 redis-cli -p "$RESP" ping) == PONG ]] || fail "no PONG while MGETs run"
echo "    PING answered in $(( ($(date +%s%N) - start) / 1000000 )) ms during the MGETs"
wait "$mget_pid" || fail "the pipelined MGETs"

step "bounds: keys per command, values per command, unread input"
[[ $(rcli mget $(seq -f 'k%g' 1 1025) | head -n 1) == "ERR at most 1024 keys per command" ]] \
  || fail "MGET of 1025 keys"
head -c 1000000 /dev/zero | tr '\0' z >"$WORK/mb.value"
for i in $(seq 1 9); do rcli -x set "mb$i" <"$WORK/mb.value" >/dev/null; done
rcli mget mb1 mb2 mb3 mb4 mb5 mb6 mb7 mb8 mb9 | head -c 200 >"$WORK/mget.out"
grep -q "exceed 8388608 bytes" "$WORK/mget.out" || fail "9 MB of MGET: $(cat "$WORK/mget.out")"
[[ $(rcli mget mb1 mb2 | wc -c) -gt 2000000 ]] || fail "MGET of 2 MB"
# A client that sends and never reads is cut off at 64 MiB of unrun input.
timeout 120 /usr/bin/python3 - "$RESP" <<'PY' || fail "a client that never reads"
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
try:
    for _ in range(120):
        c.sendall(b"GET mb1\r\n" * 100000)
    raise SystemExit("120 MB sent and never cut off")
except (BrokenPipeError, ConnectionResetError):
    pass
PY
[[ $(rcli ping) == PONG ]] || fail "no PONG after the cut-off client"

step "2000 idle connections cost little and are all served"
n1_pid=$(cat "$KV_RUN_DIR/n1.pid")
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$n1_pid/status"; }
before=$(rss)
timeout 120 /usr/bin/python3 - "$RESP" "$n1_pid" <<'PY' || fail "idle connections"
import socket, sys
port = int(sys.argv[1])
conns = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(2000)]
for c in conns:
    c.sendall(b"PING\r\n")
for c in conns:
    assert c.recv(16) == b"+PONG\r\n"
with open(f"/proc/{sys.argv[2]}/status") as f:
    print("    " + next(l for l in f if l.startswith("VmRSS")).strip(), "with 2000 open")
for c in conns:
    c.close()
PY
after=$(rss)
echo "    RSS before ${before} kB, after ${after} kB"
((after - before < 200000)) || fail "2000 idle connections cost $((after - before)) kB"
[[ $(rcli ping) == PONG ]] || fail "no PONG after the idle connections"

step "AUTH: a node with a password"
cluster stop >/dev/null
printf 's3cret\n' >"$WORK/password"
AUTH_RESP=$(pick_base 1) || fail "no free port"
start_node auth "$WORK/auth-data" --resp-port="$AUTH_RESP" \
  --resp-password-file="$WORK/password"
acli() { timeout 30 redis-cli -p "$AUTH_RESP" "$@" 2>/dev/null; }
[[ $(acli get k) == "NOAUTH Authentication required." ]] || fail "no NOAUTH: $(acli get k)"
# Before AUTH a command is small (redis-server's bounds): 20 KB is refused.
[[ $(acli set k "$(head -c 20000 /dev/zero | tr '\0' a)") == *"Protocol error: invalid bulk length"* ]] \
  || fail "a large command before AUTH"
[[ $(acli auth wrong) == *WRONGPASS* ]] || fail "a wrong password"
[[ $(acli -a s3cret set k v) == OK ]] || fail "AUTH with the password"
[[ $(acli --user default --pass s3cret get k) == v ]] || fail "AUTH default PASSWORD"
timeout 60 /usr/bin/python3 "$HERE/redis/python_client.py" "$AUTH_RESP" s3cret >/dev/null \
  || fail "python3-redis with a password"
stop_node auth

step "kvnode refuses a Redis port it cannot guard"
refused open_resp "$KVNODE" --host=0.0.0.0 --port=0 \
  --data-dir="$WORK/open" --resp-port="$AUTH_RESP" $(node_tls_flags n1)
[[ $REFUSAL == *"not a loopback address"*"--resp-password-file"* ]] \
  || fail "open Redis port: $REFUSAL"
refused bad_password "$KVNODE" --insecure --port=0 --data-dir="$WORK/bad" \
  --resp-port="$AUTH_RESP" --resp-password-file="$WORK/nothing-here"
[[ $REFUSAL == *"--resp-password-file"*"cannot be read"* ]] || fail "missing password file: $REFUSAL"
echo "PASS"

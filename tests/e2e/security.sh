#!/usr/bin/env bash
# Security (issue 11), process level, on a 2-node cluster with TLS:
#  - a node refuses to start with certificates that are not its own (one
#    line naming the file);
#  - a node with a certificate of another CA, or without TLS, cannot join,
#    and the cluster is untouched;
#  - a shell without a certificate, or with a client certificate on the
#    cluster port, is refused;
#  - a client certificate opens the client port: put and get work there,
#    operator commands are refused, and an operator certificate does not
#    open it;
#  - bytes that look like a huge CAF message header, sent before any TLS
#    handshake to either port, do not grow a node's memory.
# The receiving side of the node-identity check (a card signed for another
# id, or relayed with its state changed) is tested in-process:
# tests/actors/test_tls_transport.cpp.
#   security.sh BIN_DIR
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 BIN_DIR" >&2; exit 2; }
BIN=$1
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$BIN/kvnode" "$BIN/kvsh"
cluster_env 3 "--gossip-interval-ms=200"

OTHER=$WORK/other-certs
"$CERTS_SH" "$OTHER" node n3 >/dev/null
"$CERTS_SH" "$CERTS" client app >/dev/null
"$CERTS_SH" "$CERTS" node n3 >/dev/null
read -r -a n1_tls <<<"$(node_tls_flags n1)"
node_base=(--node-id=n1 --dc=dc1 --host=127.0.0.1 --port=0)

step "a node refuses certificates that are not its own"
refused no-tls "$KVNODE" "${node_base[@]}" --data-dir="$WORK/a1"
[[ $REFUSAL == *"no TLS files: give --tls-ca, --tls-cert and --tls-key"* ]] \
  || fail "unclear refusal without TLS files: $REFUSAL"
refused other-id "$KVNODE" "${node_base[@]}" --data-dir="$WORK/a2" \
  --tls-ca="$CERTS/cluster-ca.pem" --tls-cert="$CERTS/nodes/n3.pem" \
  --tls-key="$CERTS/nodes/n3.key"
[[ $REFUSAL == *n3.pem* && $REFUSAL == *n1* ]] \
  || fail "a certificate of n3 for node n1 was not refused by name: $REFUSAL"
refused wrong-key "$KVNODE" "${node_base[@]}" --data-dir="$WORK/a3" \
  --tls-ca="$CERTS/cluster-ca.pem" --tls-cert="$CERTS/nodes/n1.pem" \
  --tls-key="$CERTS/nodes/n3.key"
[[ $REFUSAL == *"does not match"* ]] || fail "unclear key mismatch: $REFUSAL"
refused other-ca "$KVNODE" --node-id=n3 --dc=dc1 --host=127.0.0.1 --port=0 \
  --data-dir="$WORK/a4" --tls-ca="$CERTS/cluster-ca.pem" \
  --tls-cert="$OTHER/nodes/n3.pem" --tls-key="$OTHER/nodes/n3.key"
[[ $REFUSAL == *"not signed by"* ]] || fail "unclear CA mismatch: $REFUSAL"
refused missing-key "$KVNODE" "${node_base[@]}" --data-dir="$WORK/a5" \
  --tls-ca="$CERTS/cluster-ca.pem" --tls-cert="$CERTS/nodes/n1.pem" \
  --tls-key="$WORK/no-such.key"
[[ $REFUSAL == *no-such.key* ]] || fail "the missing key is not named: $REFUSAL"
refused no-client-ca "$KVNODE" "${node_base[@]}" --data-dir="$WORK/a6" \
  "${n1_tls[@]}" --client-port=0
[[ $REFUSAL == *"--client-port with TLS needs --client-ca"* ]] \
  || fail "unclear refusal of a client port without a CA: $REFUSAL"
[[ ! -e $WORK/a1 && ! -e $WORK/a2 && ! -e $WORK/a4 ]] \
  || fail "a refused node created its data directory"
# Regression (second review): a client port that cannot open after the
# node started must end the process (one line), not leave it waiting.
python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(60)" \
  >"$WORK/taken.port" &
CHILD_PIDS+=($!)
wait_for 10 test -s "$WORK/taken.port" || fail "no port taken"
refused client-port-taken "$KVNODE" "${node_base[@]}" --data-dir="$WORK/a7" \
  "${n1_tls[@]}" --client-port="$(cat "$WORK/taken.port")" \
  --client-ca="$CERTS/client-ca.pem"
[[ $REFUSAL == *"--client-port"* ]] \
  || fail "the taken client port is not named: $REFUSAL"

step "two nodes with TLS"
cluster start --nodes=2 --dcs=1 --base-port="$BASE" >/dev/null
two_up() {
  try_on n1 "$WORK/nodes.out" nodes \
    && (($(grep -cE '^n[0-9]+ +[^ ]+ +[^ ]+ +up ' "$WORK/nodes.out") == 2))
}
wait_for 30 two_up || fail "the two nodes did not see each other: $(cat "$WORK/nodes.out")"

step "a node of another CA, or without TLS, cannot join"
# intruder NAME FLAG...: starts n3 seeded with n1 and waits until its log
# says why n1 refused it.
intruder() {
  local name=$1
  shift
  "$KVNODE" --node-id=n3 --dc=dc1 --host=127.0.0.1 --port=0 \
    --data-dir="$WORK/$name" --seeds="127.0.0.1:$(port_of n1)" \
    --gossip-interval-ms=200 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  INTRUDER=$!
  CHILD_PIDS+=("$INTRUDER")
}
intruder foreign --tls-ca="$OTHER/cluster-ca.pem" \
  --tls-cert="$OTHER/nodes/n3.pem" --tls-key="$OTHER/nodes/n3.key"
wait_for 30 grep -q "the TLS handshake failed" "$WORK/foreign.err" \
  || fail "no TLS refusal in the foreign node's log: $(tail -n 3 "$WORK/foreign.err")"
kill -9 "$INTRUDER"
intruder plain --insecure
wait_for 30 grep -q "closed during the handshake" "$WORK/plain.err" \
  || fail "no refusal in the plain node's log: $(tail -n 3 "$WORK/plain.err")"
kill -9 "$INTRUDER"
try_on n1 "$WORK/nodes.out" nodes || fail "n1 stopped answering"
! grep -q '^n3 ' "$WORK/nodes.out" \
  || fail "an intruder became a member: $(cat "$WORK/nodes.out")"
try_on n1 "$WORK/ring.out" ring || fail "no ring"
! grep -q 'n3' "$WORK/ring.out" || fail "an intruder is on the ring"

step "shells without the right certificate are refused"
refused shell-no-cert env -u KV_TLS_CA -u KV_TLS_CERT -u KV_TLS_KEY \
  "$KVSH" --port="$(port_of n1)" nodes
[[ $REFUSAL == *"closed during the handshake"* ]] \
  || fail "unclear refusal of a shell without TLS: $REFUSAL"
client_flags=(--tls-ca="$CERTS/cluster-ca.pem" --tls-cert="$CERTS/clients/app.pem"
  --tls-key="$CERTS/clients/app.key")
refused client-on-cluster-port "$KVSH" --port="$(port_of n1)" \
  "${client_flags[@]}" nodes
[[ $REFUSAL == *"the TLS handshake failed"* ]] \
  || fail "unclear refusal of a client certificate: $REFUSAL"

step "a client certificate opens the client port, for data and views only"
client_port=$(grep -oE 'clients on 127\.0\.0\.1:[0-9]+' "$KV_LOG_DIR/n1.log" \
  | tail -n 1 | cut -d: -f2)
[[ -n $client_port ]] || fail "n1 logged no client port"
printf 'put sec:1 hello\nget sec:1\nnodes\n' >"$WORK/client.in"
timeout 60 "$KVSH" --port="$client_port" "${client_flags[@]}" \
  <"$WORK/client.in" >"$WORK/client.out" 2>&1 \
  || fail "the client's session failed: $(cat "$WORK/client.out")"
grep -q '^hello$' "$WORK/client.out" \
  || fail "the client did not read its write back: $(cat "$WORK/client.out")"
printf 'leave\n' >"$WORK/leave.in"
rc=0
timeout 60 "$KVSH" --port="$client_port" "${client_flags[@]}" \
  <"$WORK/leave.in" >"$WORK/leave.out" 2>&1 || rc=$?
((rc == 1)) && grep -q "leave is an operator command" "$WORK/leave.out" \
  || fail "a client could ask a node to leave: $(cat "$WORK/leave.out")"
try_on n1 "$WORK/nodes.out" nodes && grep -qE '^n1 .* up ' "$WORK/nodes.out" \
  || fail "n1 is not up after the client's leave: $(cat "$WORK/nodes.out")"
refused operator-on-client-port "$KVSH" --port="$client_port" nodes
[[ $REFUSAL == *"the TLS handshake failed"* ]] \
  || fail "an operator certificate opened the client port: $REFUSAL"

step "a huge CAF header before the handshake costs nothing"
pid=$(cat "$KV_RUN_DIR/n1.pid")
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
before=$(rss_kb)
drops() { grep -c "no connection to" "$KV_LOG_DIR/n1.log" || true; }
drops_before=$(drops)
python3 - "$(port_of n1)" "$client_port" <<'EOF'
import socket, sys, time
# CAF 0.17 reads a 32-byte BASP header and sizes its buffer from the
# payload length in it; all-ones bytes claim the largest one.
header = b"\xff" * 32
conns = []
for port in map(int, sys.argv[1:]):
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(header)
        conns.append(s)
time.sleep(1)
for s in conns:
    s.close()
EOF
after=$(rss_kb)
echo "    n1's memory: ${before} kB before, ${after} kB after 40 connections"
((after - before < 65536)) \
  || fail "n1's memory grew by $((after - before)) kB from unauthenticated bytes"
try_on n1 "$WORK/get.out" "get sec:1" && grep -q '^hello$' "$WORK/get.out" \
  || fail "n1 stopped serving after the hostile bytes: $(cat "$WORK/get.out")"
# Regression (review of issue 11): a failed handshake dropped every other
# connection of the node (CAF 0.17 and OpenSSL's error queue); n1 gossips
# with n2 every 200 ms, so a drop shows in its log by now.
(($(drops) == drops_before)) \
  || fail "n1 lost its connection to n2: $(grep "no connection to" "$KV_LOG_DIR/n1.log" | tail -n 1)"

step "certificate files changed on disk do not end a running node"
# Regression (review of issue 11): CAF reads its files for every connection
# and ended the process when the certificate and key no longer matched.
mkdir -p "$WORK/live"
cp "$CERTS/cluster-ca.pem" "$CERTS/nodes/n1.pem" "$CERTS/nodes/n1.key" "$WORK/live/"
start_node live "$WORK/live-data" --tls-ca="$WORK/live/cluster-ca.pem" \
  --tls-cert="$WORK/live/n1.pem" --tls-key="$WORK/live/n1.key"
cp "$CERTS/nodes/n3.key" "$WORK/live/n1.key"
python3 -c "import socket; socket.create_connection(('127.0.0.1', $NODE_PORT)).close()"
printf 'put live:1 still\nget live:1\n' >"$WORK/live-shell.in"
shell "$WORK/live-shell.in" "$WORK/live-shell.out"
grep -q '^still$' "$WORK/live-shell.out" || fail "the node stopped serving: $(cat "$WORK/live-shell.out")"
stop_node live
echo "ok"

#!/usr/bin/env bash
# The client API tour (apps/example/kv_example.cpp) against one fresh node:
# it must exit 0 and report every step; against a port where nothing listens
# it must exit non-zero with a reason.
#   example.sh KVNODE KVSH KV_EXAMPLE
set -euo pipefail
if [[ $# -ne 3 || ! -x $3 ]]; then
  echo "usage: $0 KVNODE KVSH KV_EXAMPLE (all executable)" >&2
  exit 2
fi
EXAMPLE=$3
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1" "$2"

OUT=$WORK/tour.out # not example.out: start_node writes NAME.out

step "kv_example against a fresh node"
start_node example "$WORK/data"
rc=0
timeout 120 "$EXAMPLE" --host=127.0.0.1 --port="$NODE_PORT" >"$OUT" 2>&1 \
  || rc=$?
((rc == 0)) || fail "kv_example exited $rc: $(tail -n 20 "$OUT")"
# One node: every default resolves to n=r=w=1, and the node is n1 (its dots
# carry its incarnation, from the data directory's IDENTITY file).
incarnation=$(awk '{print $2}' "$WORK/data/IDENTITY")
for want in \
  'blind puts apple, banana -> get: 2 siblings [apple,banana], context {n1/'"$incarnation"':2}' \
  'put with context -> get: 1 value [apple+banana]' \
  'n=r=w=1: put cherry, 1 ack(s); get [cherry], 1 reply(ies)' \
  'refused as expected: invalid_argument: r=2 must be between 1 and n=1' \
  'delete: get finds no value' \
  'blocking_client: put, get, put with context, delete: ok' \
  'kv_example: all steps passed'; do
  grep -qxF -- "$want" "$OUT" \
    || fail "kv_example did not print '$want'; it printed: $(cat "$OUT")"
done
stop_node example

step "kv_example against the stopped node's port"
rc=0
timeout 60 "$EXAMPLE" --host=127.0.0.1 --port="$NODE_PORT" >"$OUT" 2>&1 \
  || rc=$?
((rc != 0 && rc != 124)) \
  || fail "kv_example exited $rc with no node to talk to: $(cat "$OUT")"
grep -q "^kv_example: cannot reach a node at 127.0.0.1:$NODE_PORT: " "$OUT" \
  || fail "kv_example gave no reason: $(cat "$OUT")"

echo "PASS"

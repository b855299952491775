#!/usr/bin/env bash
# scripts/run.sh attaches to a cluster that is partly running (issue 12: it
# refused): the stopped node is started again, the shell opens on n1, and
# the cluster is left running after the shell, as it was found.
#   run_attach.sh BUILD_DIR
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$1
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$BUILD/apps/kvnode" \
  "$BUILD/apps/kvsh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cluster_env 3 "--gossip-interval-ms=200"

step "a cluster with n2 killed"
cluster start --nodes=3 --dcs=2 --base-port="$BASE" >/dev/null \
  || fail "cluster.sh start failed"
cluster kill n2 >/dev/null
rc=0
cluster status >/dev/null || rc=$?
((rc == 1)) || fail "cluster.sh status gave $rc for a partly running cluster"

step "scripts/run.sh starts n2 again and opens the shell on n1"
printf 'put attached yes w=3\nget attached r=3\n' \
  | KV_BUILD=$BUILD timeout 240 bash "$ROOT/scripts/run.sh" >"$WORK/run.out" 2>&1 \
  || fail "run.sh failed: $(tail -n 20 "$WORK/run.out")"
cat "$WORK/run.out"
grep -q '^cluster partly running; starting its stopped nodes$' "$WORK/run.out" \
  || fail "run.sh did not say it starts the stopped nodes"
grep -qE '^n2 +dc2 +127\.0\.0\.1:[0-9]+ +pid [0-9]+$' "$WORK/run.out" \
  || fail "run.sh did not restart n2"
grep -qx 'yes' "$WORK/run.out" || fail "the shell did not read back with r=3"

step "the cluster is left running"
cluster status >"$WORK/status.out" || fail "not all running: $(cat "$WORK/status.out")"
echo "PASS"

#!/usr/bin/env bash
# Membership changes under load (issue 9, process level): three kvnode
# processes grow to five and shrink back to three (n5 leaves, then n4 is
# killed and removed) while kvcheck's workload writes, deletes and adds to
# sets through n1..n3 (N=3, R=2, W=2). The nodes drop what they give up
# (partition cleanup, 2 s after each change settles). At the end every
# acknowledged write must read back with R=N=3 on the three nodes, and
# every replica must agree.
#   grow_shrink.sh BIN_DIR   (the directory of kvnode, kvsh and kvcheck)
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 BIN_DIR" >&2; exit 2; }
BIN=$1
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$BIN/kvnode" "$BIN/kvsh"
# shellcheck disable=SC2034 # read by lib.sh's cluster_on_exit
CLUSTER_LOG_LINES=40
cluster_env 5 "--gossip-interval-ms=200 --n=3 --r=2 --w=2 --cleanup-settle-s=2 --cleanup-every-s=5"
DURATION=75

step "three nodes, one data centre"
cluster start --nodes=3 --dcs=1 --base-port="$BASE" >/dev/null
nodes_flag=--nodes=n1=127.0.0.1:$(port_of n1),n2=127.0.0.1:$(port_of n2),n3=127.0.0.1:$(port_of n3)
: >"$WORK/events.jsonl"
timeout -s KILL $((DURATION + 60)) "$BIN/kvcheck" run "$nodes_flag" \
  --n=3 --r=2 --w=2 --timeout-ms=3000 --log="$WORK/ops.jsonl" \
  --duration-s="$DURATION" --seed=9 --prefix=g --pause-ms=10 \
  >"$WORK/workload.out" 2>&1 &
workload=$!
STARTED=$SECONDS

step "grow: n4 and n5 join, each taking its partitions over"
sleep 5
cluster add >/dev/null
cluster add >/dev/null
step "shrink: n5 leaves, n4 is killed and removed"
cluster leave n5 >/dev/null
cluster kill n4 >/dev/null
cluster remove n4 >/dev/null
echo "ring changes done after $((SECONDS - STARTED)) s of load"
wait "$workload" || fail "the workload ended with status $? ($(tail -n 3 "$WORK/workload.out"))"

step "every acknowledged write reads back with R=N=3; replicas agree"
rc=0
timeout -s KILL 400 "$BIN/kvcheck" check "$nodes_flag" --n=3 --r=3 --w=2 \
  --timeout-ms=3000 --log="$WORK/ops.jsonl" --events="$WORK/events.jsonl" \
  --converge-timeout-s=90 --out="$WORK/result.json" >"$WORK/check.out" 2>&1 \
  || rc=$?
verdict=$(tail -n 1 "$WORK/check.out")
echo "$verdict"
((rc == 0)) && [[ $verdict == PASS* ]] || fail "check: $verdict"
dropped=$(cat "$KV_LOG_DIR"/n*.log | grep -c 'partition cleanup: dropped' || true)
((dropped > 0)) || fail "no node dropped a partition it gave up"
echo "ok: $dropped cleanup pass(es) dropped data"

#!/usr/bin/env bash
# What TLS costs (issue 11, docs/performance.md#tls): the same kvbench
# workload against a cluster with TLS and one without, in alternating
# windows so the machine's other load falls on both alike.
#   1. one node, kvbench over CAF remoting (the client link is TLS or not);
#   2. three nodes (N=3, R=W=2) through n1: the replica links too.
# Prints, per side and round, the throughput, p50/p99 (µs) and the CPU the
# nodes spent per operation (µs, summed over the nodes, from /proc).
#
# usage: bench/tls_cost.sh   (environment: ROUNDS=3 DURATION=10 CLIENTS=4
#        DEPTH=16 KEYS=20000 VALUE=100 READS=0.5 BASE_PORT=31000
#        KV_BIN=build/apps KV_BENCH=build/bench/kvbench)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-4}
DEPTH=${DEPTH:-16}
KEYS=${KEYS:-20000}
VALUE=${VALUE:-100}
READS=${READS:-0.5}
BASE_PORT=${BASE_PORT:-31000}
BIN=${KV_BIN:-$KV_BUILD/apps}
BENCH=${KV_BENCH:-$KV_BUILD/bench/kvbench}
WORK=$(mktemp -d /tmp/kv-tls-bench.XXXXXX)
CLUSTER="$KV_ROOT/scripts/cluster.sh"

# cluster_env SIDE: the environment of side "tls" or "plain".
cluster_env() {
  local side=$1 port=$BASE_PORT
  [[ $side == tls ]] || port=$((BASE_PORT + 1000))
  echo "KV_BIN=$BIN KV_DATA_DIR=$WORK/$side/data KV_LOG_DIR=$WORK/$side/log" \
    "KV_RUN_DIR=$WORK/$side/run KV_CERT_DIR=$WORK/certs KV_AUTOSCALE=off" \
    "KV_HTTP_BASE_PORT=off KV_CLIENT_BASE_PORT=off" \
    "KV_TLS=$([[ $side == tls ]] && echo on || echo off) PORT=$port"
}

on_side() {
  local side=$1
  shift
  env $(cluster_env "$side") "$@"
}

stop_all() {
  on_side tls "$CLUSTER" stop >/dev/null 2>&1 || true
  on_side plain "$CLUSTER" stop >/dev/null 2>&1 || true
}
trap 'stop_all; rm -rf "$WORK"' EXIT

# CPU seconds (user + system) of the side's nodes so far.
nodes_cpu() {
  local side=$1 total=0 pidf pid ticks
  for pidf in "$WORK/$side"/run/n*.pid; do
    pid=$(cat "$pidf")
    ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    total=$((total + ticks))
  done
  echo "scale=3; $total / $(getconf CLK_TCK)" | bc
}

# bench SIDE NODES KVBENCH_FLAG...: kvbench against the side's n1.
bench() {
  local side=$1 nodes=$2 port
  shift 2
  port=$(on_side "$side" bash -c 'echo $PORT')
  local -a tls_env=()
  if [[ $side == tls ]]; then
    tls_env=(KV_TLS_CA="$WORK/certs/cluster-ca.pem"
      KV_TLS_CERT="$WORK/certs/operators/local.pem"
      KV_TLS_KEY="$WORK/certs/operators/local.key")
  fi
  env "${tls_env[@]}" "$BENCH" --mode=remote --port="$port" \
    --clients="$CLIENTS" --depth="$DEPTH" --keys="$KEYS" \
    --value-size="$VALUE" --read-ratio="$READS" --n="$nodes" --csv "$@" \
    2>/dev/null | tail -n 1
}

# measure SIDE NODES ROUND: one kvbench window; prints a result line.
measure() {
  local side=$1 nodes=$2 round=$3 before after csv
  before=$(nodes_cpu "$side")
  csv=$(bench "$side" "$nodes" --duration="$DURATION" --warmup-keys=false)
  after=$(nodes_cpu "$side")
  python3 - "$side" "$nodes" "$round" "$before" "$after" "$csv" \
    "$("$BENCH" --mode=remote --port=1 --csv-header)" <<'EOF'
import sys
side, nodes, rnd, before, after, line, header = sys.argv[1:]
row = dict(zip(header.split(","), line.split(",")))
ops = float(row["remote_ops"])
rate = float(row["remote_ops_per_s"])
node_cpu_us = (float(after) - float(before)) * 1e6 / ops if ops else 0
print(f"{nodes} node(s)  {side:5}  round {rnd}  {rate:9.0f} ops/s  "
      f"get p50 {row['remote_read_p50_us']:>6} p99 {row['remote_read_p99_us']:>6}  "
      f"put p50 {row['remote_write_p50_us']:>6} p99 {row['remote_write_p99_us']:>6}  "
      f"nodes' CPU {node_cpu_us:6.1f} us/op  errors {row['remote_errors']}")
EOF
}

run_shape() {
  local nodes=$1 round side
  for side in tls plain; do
    rm -rf "${WORK:?}/$side"
    on_side "$side" bash -c '"$0" start --nodes="$1" --dcs=1 --base-port="$PORT"' \
      "$CLUSTER" "$nodes" >/dev/null
  done
  # Every key written once before any window is measured.
  for side in tls plain; do
    bench "$side" "$nodes" --duration=1 >/dev/null
  done
  for ((round = 1; round <= ROUNDS; round++)); do
    measure tls "$nodes" "$round"
    measure plain "$nodes" "$round"
  done
  stop_all
}

echo "kvbench --mode=remote --clients=$CLIENTS --depth=$DEPTH --keys=$KEYS" \
  "--value-size=$VALUE --read-ratio=$READS, $DURATION s windows"
run_shape 1
run_shape 3

#!/usr/bin/env bash
# Anti-entropy under load (issue 10, docs/anti-entropy.md): the throughput of
# a steady 50/50 load on a 3-node cluster (3 DCs, N=3, R=W=2) with active
# anti-entropy running (rounds every INTERVAL ms) against the same load with
# it off (--aae-interval-ms=0), in alternating runs (ROUNDS of each) on
# fresh clusters, so drift of the machine hits both alike. With W=2 the
# third replica trails each write by a moment, so the rounds keep finding
# partitions whose roots differ and exchange them: the work measured here
# is that of a cluster taking writes, not of an idle one.
#
# usage: bench/anti_entropy.sh   (environment: KEYS=50000 VALUE=100
#        SECONDS_PER_RUN=10 ROUNDS=3 INTERVAL=1000 BASE_PORT=29100
#        KV_BIN=build/apps KV_BENCH=build/bench/kvbench)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

KEYS=${KEYS:-50000}
VALUE=${VALUE:-100}
RUN_SECONDS=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-3}
INTERVAL=${INTERVAL:-1000}
BASE_PORT=${BASE_PORT:-29100}
export KV_BIN=${KV_BIN:-$KV_BUILD/apps}
BENCH=${KV_BENCH:-$KV_BUILD/bench/kvbench}
WORK=$(mktemp -d /tmp/kv-aae-bench.XXXXXX)
export KV_DATA_DIR=$WORK/data KV_LOG_DIR=$WORK/log KV_RUN_DIR=$WORK/run
CLUSTER="$KV_ROOT/scripts/cluster.sh"

cleanup() {
  "$CLUSTER" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# run INTERVAL_MS: ops/s of one load run on a fresh cluster.
run() {
  "$CLUSTER" stop >/dev/null 2>&1 || true
  rm -rf "$WORK/data" "$WORK/log" "$WORK/run"
  KV_NODE_FLAGS="--aae-interval-ms=$1" \
    "$CLUSTER" start --nodes=3 --dcs=3 --base-port="$BASE_PORT" >/dev/null
  "$BENCH" --mode=remote --port="$BASE_PORT" --keys="$KEYS" \
    --value-size="$VALUE" --read-ratio=0 --ops=1 --warmup-keys=true \
    --clients=4 --depth=16 --csv >/dev/null 2>&1
  "$BENCH" --mode=remote --port="$BASE_PORT" --keys="$KEYS" \
    --value-size="$VALUE" --read-ratio=0.5 --duration="$RUN_SECONDS" \
    --warmup-keys=false --clients=4 --depth=8 --csv 2>/dev/null | cut -d, -f17
}

off=() on=()
for ((i = 0; i < ROUNDS; i++)); do
  off+=("$(run 0)")
  on+=("$(run "$INTERVAL")")
  echo "round $((i + 1)): off ${off[-1]} ops/s, on ${on[-1]} ops/s"
done
awk -v off="${off[*]}" -v on="${on[*]}" -v interval="$INTERVAL" 'BEGIN {
  n = split(off, a, " "); split(on, b, " ")
  for (i = 1; i <= n; i++) { x += a[i]; y += b[i] }
  printf "anti-entropy every %d ms: %.0f ops/s against %.0f ops/s off: %.2f\n",
         interval, y / n, x / n, y / x
}'

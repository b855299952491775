#!/usr/bin/env bash
# Handoff benchmark (issue 9, docs/ring.md): a 3-node cluster (one DC) holds
# KEYS keys of VALUE bytes. Prints:
#   1. n4 joins the idle cluster: the bytes it copied against its ideal
#      share (3/4 of one copy: it takes 3/4 of the partitions' slots) and
#      the copy rate (MB/s);
#   2. n5 joins while kvbench drives a steady load (READS reads, the rest
#      writes; 50/50 by default) through n1 in
#      back-to-back windows of WINDOW seconds: foreground throughput in the
#      windows that overlap the copy against the windows before the join
#      (the goal is >= 0.8).
# Everything runs on this machine, so the copy, the load and the nodes share
# its cores: a lower bound of what separate machines would see.
#
# The first join's partition cleanup (the old owners dropping what they gave
# up) is held off (--cleanup-settle-s=600) so it does not overlap the
# second join's measurement.
#
# usage: bench/handoff.sh   (environment: KEYS=100000 VALUE=1000 RATE=16
#        (MB/s, --handoff-mb-per-s) BUSY=100 (--handoff-busy-pct) READS=0.5
#        (the load's read ratio) WINDOW=2
#        BASE_PORT=29000 KV_BIN=build/apps KV_BENCH=build/bench/kvbench)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

KEYS=${KEYS:-100000}
VALUE=${VALUE:-1000}
RATE=${RATE:-16}
BUSY=${BUSY:-100}
READS=${READS:-0.5}
WINDOW=${WINDOW:-2}
BASE_PORT=${BASE_PORT:-29000}
export KV_BIN=${KV_BIN:-$KV_BUILD/apps}
BENCH=${KV_BENCH:-$KV_BUILD/bench/kvbench}
WORK=$(mktemp -d /tmp/kv-handoff-bench.XXXXXX)
export KV_DATA_DIR=$WORK/data KV_LOG_DIR=$WORK/log KV_RUN_DIR=$WORK/run
export KV_NODE_FLAGS="--handoff-mb-per-s=$RATE --handoff-busy-pct=$BUSY --cleanup-settle-s=600"
CLUSTER="$KV_ROOT/scripts/cluster.sh"

cleanup() {
  "$CLUSTER" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# window: one kvbench run of WINDOW seconds; prints "start_ms end_ms ops/s".
window() {
  local start line ops
  start=$(now_ms)
  line=$("$BENCH" --mode=remote --port="$BASE_PORT" --keys="$KEYS" \
    --value-size="$VALUE" --read-ratio="$READS" --duration="$WINDOW" \
    --warmup-keys=false --clients=4 --depth=8 --csv 2>/dev/null)
  ops=$(cut -d, -f17 <<<"$line")
  echo "$start $(now_ms) $ops"
}

"$CLUSTER" start --nodes=3 --dcs=1 --base-port="$BASE_PORT" >/dev/null
echo "preloading $KEYS keys of $VALUE bytes"
"$BENCH" --mode=remote --port="$BASE_PORT" --keys="$KEYS" \
  --value-size="$VALUE" --read-ratio=0 --ops=1 --warmup-keys=true \
  --clients=4 --depth=16 --csv >/dev/null 2>&1

# copy_figures NODE: "start_ms end_ms bytes" of NODE's copy, from its log.
copy_figures() {
  local log=$KV_LOG_DIR/$1.log line
  to_ms() { date -u -d "${1/T/ } UTC" +%s%3N; }
  line=$(grep -m1 'handoff: ring change .* copied' "$log")
  echo "$(to_ms "$(grep -m1 'handoff: taking over' "$log" | cut -c1-23)")" \
    "$(to_ms "$(cut -c1-23 <<<"$line")")" \
    "$(sed -E 's/.*partition\(s\), ([0-9]+) bytes.*/\1/' <<<"$line")"
}

# 1. Movement and copy rate: n4 joins an idle cluster. Each record counts
# its key, value and ~64 bytes of version metadata.
"$CLUSTER" add >/dev/null
read -r t0 t1 bytes < <(copy_figures n4)
awk -v t0="$t0" -v t1="$t1" -v bytes="$bytes" -v keys="$KEYS" \
  -v value="$VALUE" -v rate="$RATE" -v busy="$BUSY" 'BEGIN {
    secs = (t1 - t0) / 1000
    ideal = 3 / 4 * keys * (value + 12 + 64)
    printf "join 3 -> 4 (idle): copied %.1f MB in %.2f s = %.1f MB/s (limit %d MB/s, busy %d%%); ideal share 3/4 of the data = %.1f MB; copied/ideal %.2f\n",
           bytes / 1e6, secs, bytes / 1e6 / (secs > 0 ? secs : 1), rate, busy,
           ideal / 1e6, bytes / ideal
  }'

# 2. Foreground throughput: n5 joins while the load runs.
before=()
for _ in 1 2 3 4 5; do before+=("$(window)"); done
"$CLUSTER" add >"$WORK/add.out" 2>&1 &
add_pid=$!
during=()
while kill -0 "$add_pid" 2>/dev/null; do during+=("$(window)"); done
wait "$add_pid" || { cat "$WORK/add.out"; exit 1; }
read -r t0 t1 bytes < <(copy_figures n5)
awk -v t0="$t0" -v t1="$t1" -v bytes="$bytes" '
  $1 == "before" { b += $4; nb++ }
  $1 == "during" && $2 < t1 && $3 > t0 { d += $4; nd++ }
  END {
    printf "join 4 -> 5 (under load): copied %.1f MB in %.2f s\n",
           bytes / 1e6, (t1 - t0) / 1000
    if (nb == 0 || nd == 0) { print "no load window overlapped the copy"; exit }
    printf "foreground: %.0f ops/s before the join, %.0f ops/s in the %d window(s) overlapping the copy: %.2f\n",
           b / nb, d / nd, nd, (d / nd) / (b / nb)
  }' <(printf 'before %s\n' "${before[@]}"; printf 'during %s\n' "${during[@]}")

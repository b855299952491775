#!/usr/bin/env bash
# kvactors against redis-server with the same tool, redis-benchmark, on
# this machine (issue 13, docs/performance.md#redis). Three servers run at
# once and are measured in turns, so the machine's other load falls on all
# alike:
#   redis  redis-server, appendonly yes, appendfsync everysec (no snapshots)
#   kv1    one kvnode through its Redis gateway (--resp-port)
#   kv3    three kvnodes (N=3, R=W=2, TLS between them) through n1's gateway
# For each: SET and GET, 50 clients, 100-byte values, 100000 random keys,
# unpipelined and with -P 16, ROUNDS times; the servers' CPU per operation
# (user + system, from /proc, summed over kv3's nodes); latency at a fixed
# rate of half redis's unpipelined peak (bench/resp_rate, open loop); and a
# sweep over clients and pipeline depth for the plots.
#
# usage: bench/redis_compare.sh [OUT_DIR]   (default: a temporary directory)
# environment: ROUNDS=3 REQUESTS=100000 SWEEP=1 (0: no sweep, no plots)
#   KV_BIN=build/apps KV_BENCH_DIR=build/bench BASE_PORT=32000
# Writes OUT_DIR/results.csv, OUT_DIR/sweep.csv, OUT_DIR/summary.md and,
# with the sweep, OUT_DIR/redis-throughput.png and redis-latency.png.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-100000}
SWEEP=${SWEEP:-1}
BASE_PORT=${BASE_PORT:-32000}
BIN=${KV_BIN:-$KV_BUILD/apps}
BENCH_DIR=${KV_BENCH_DIR:-$KV_BUILD/bench}
OUT=${1:-$(mktemp -d /tmp/kv-redis-compare.XXXXXX)}
WORK=$(mktemp -d /tmp/kv-redis-work.XXXXXX)
CLUSTER="$KV_ROOT/scripts/cluster.sh"
mkdir -p "$OUT"
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (scripts/lib.sh installs it)" >&2; exit 2; }
done
[[ -x $BIN/kvnode && -x $BENCH_DIR/resp_rate ]] \
  || { echo "build first: no $BIN/kvnode or $BENCH_DIR/resp_rate" >&2; exit 2; }

REDIS_PORT=$((BASE_PORT + 900))
KV1_NODE_PORT=$((BASE_PORT + 800))
KV1_PORT=$((BASE_PORT + 801))
KV3_BASE=$BASE_PORT
KV3_PORT=$((BASE_PORT + 300)) # cluster.sh: n1's Redis port is base + 300

kv3_env() {
  env KV_BIN="$BIN" KV_DATA_DIR="$WORK/kv3/data" KV_LOG_DIR="$WORK/kv3/log" \
    KV_RUN_DIR="$WORK/kv3/run" KV_CERT_DIR="$WORK/kv3/certs" KV_AUTOSCALE=off \
    KV_HTTP_BASE_PORT=off KV_CLIENT_BASE_PORT=off "$@"
}
KV1_PID=
stop_all() {
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  [[ -z $KV1_PID ]] || kill "$KV1_PID" 2>/dev/null || true
  kv3_env "$CLUSTER" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap stop_all EXIT

echo "starting redis-server, one kvnode and a 3-node cluster (work: $WORK)"
mkdir -p "$WORK/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" \
  --appendonly yes --appendfsync everysec --save "" --daemonize yes \
  --pidfile "$WORK/redis/redis.pid" --logfile "$WORK/redis/redis.log"
"$BIN/kvnode" --insecure --node-id=n1 --port="$KV1_NODE_PORT" \
  --resp-port="$KV1_PORT" --data-dir="$WORK/kv1" >"$WORK/kv1.log" 2>&1 &
KV1_PID=$!
kv3_env "$CLUSTER" start --nodes=3 --dcs=3 --base-port="$KV3_BASE" >/dev/null
for port in "$REDIS_PORT" "$KV1_PORT" "$KV3_PORT"; do
  for ((i = 0; i < 300; i++)); do
    [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]] && break
    sleep 0.1
  done
done
for ((i = 0; i < 300; i++)); do
  redis-cli -p "$KV3_PORT" info cluster 2>/dev/null | grep -q '^kvactors_members_up:3' && break
  sleep 0.1
done

port_of() {
  case $1 in redis) echo "$REDIS_PORT" ;; kv1) echo "$KV1_PORT" ;; kv3) echo "$KV3_PORT" ;; esac
}
pids_of() {
  case $1 in
    redis) cat "$WORK/redis/redis.pid" ;;
    kv1) echo "$KV1_PID" ;;
    kv3) cat "$WORK"/kv3/run/n*.pid ;;
  esac
}
# CPU ticks (user + system) of a server's processes so far.
cpu_ticks() {
  local total=0 pid
  for pid in $(pids_of "$1"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}
TICK=$(getconf CLK_TCK)

# bench SERVER TEST CLIENTS PIPELINE REQUESTS: one redis-benchmark run;
# prints "rps,p50_ms,p99_ms,cpu_us_per_op".
bench() {
  local server=$1 test=$2 clients=$3 pipeline=$4 requests=$5 before after line
  before=$(cpu_ticks "$server")
  line=$(redis-benchmark -p "$(port_of "$server")" -t "$test" -n "$requests" \
    -c "$clients" -P "$pipeline" -d 100 -r 100000 --csv 2>/dev/null | tail -n 1)
  after=$(cpu_ticks "$server")
  # "SET","rps","avg","min","p50","p95","p99","max"
  local rps p50 p99
  rps=$(echo "$line" | cut -d, -f2 | tr -d '"')
  p50=$(echo "$line" | cut -d, -f5 | tr -d '"')
  p99=$(echo "$line" | cut -d, -f7 | tr -d '"')
  local cpu
  cpu=$(awk -v t=$((after - before)) -v hz="$TICK" -v n="$requests" \
    'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
  echo "$rps,$p50,$p99,$cpu"
}

echo "server,test,pipeline,round,rps,p50_ms,p99_ms,cpu_us_per_op" >"$OUT/results.csv"
for ((round = 1; round <= ROUNDS; round++)); do
  for pipeline in 1 16; do
    for server in redis kv1 kv3; do
      for test in set get; do
        result=$(bench "$server" "$test" 50 "$pipeline" "$REQUESTS")
        echo "$server,$test,$pipeline,$round,$result" | tee -a "$OUT/results.csv"
      done
    done
  done
done

# Latency at half of redis's unpipelined peak (median of its SET and GET
# rounds), open loop, half reads: the same offered load on every server.
peak=$(awk -F, '$1 == "redis" && $3 == 1 { print $5 }' "$OUT/results.csv" | sort -n \
  | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
rate=$(awk -v p="$peak" 'BEGIN { printf "%d", p / 2 }')
echo "server,rate,done,errors,achieved,p50_us,p99_us,p999_us,max_us" >"$OUT/latency.csv"
for server in redis kv1 kv3; do
  line=$("$BENCH_DIR/resp_rate" --port="$(port_of "$server")" --rate="$rate" \
    --connections=50 --seconds=10 || true)
  echo "$server: $line"
  echo "$server,$(echo "$line" | sed -E 's/[a-z0-9_]+=//g; s/ /,/g')" >>"$OUT/latency.csv"
done

if ((SWEEP)); then
  echo "server,test,clients,pipeline,rps,p50_ms,p99_ms,cpu_us_per_op" >"$OUT/sweep.csv"
  for server in redis kv1 kv3; do
    for test in set get; do
      for clients in 1 10 50 200; do
        echo "$server,$test,$clients,1,$(bench "$server" "$test" "$clients" 1 $((REQUESTS / 2)))" \
          | tee -a "$OUT/sweep.csv"
      done
      for pipeline in 4 16 64; do
        echo "$server,$test,50,$pipeline,$(bench "$server" "$test" 50 "$pipeline" "$REQUESTS")" \
          | tee -a "$OUT/sweep.csv"
      done
    done
  done
  /usr/bin/python3 "$KV_ROOT/bench/redis_plot.py" "$OUT" # Debian's, with matplotlib
fi

/usr/bin/python3 - "$OUT" <<'PY' | tee "$OUT/summary.md"
import csv, statistics, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/results.csv")))
def med(server, test, pipeline, field):
    values = [float(r[field]) for r in rows
              if (r["server"], r["test"], r["pipeline"]) == (server, test, str(pipeline))]
    return statistics.median(values)
print("| pipeline | test | redis ops/s | kv1 ops/s | kv1/redis | kv3 ops/s | kv3/kv1 |"
      " CPU µs/op redis / kv1 / kv3 | p50 ms redis / kv1 / kv3 | p99 ms redis / kv1 / kv3 |")
print("|---|---|---|---|---|---|---|---|---|---|")
for pipeline in (1, 16):
    for test in ("set", "get"):
        r, k1, k3 = (med(s, test, pipeline, "rps") for s in ("redis", "kv1", "kv3"))
        cpu = " / ".join(f"{med(s, test, pipeline, 'cpu_us_per_op'):.1f}" for s in ("redis", "kv1", "kv3"))
        p50 = " / ".join(f"{med(s, test, pipeline, 'p50_ms'):.2f}" for s in ("redis", "kv1", "kv3"))
        p99 = " / ".join(f"{med(s, test, pipeline, 'p99_ms'):.2f}" for s in ("redis", "kv1", "kv3"))
        print(f"| {pipeline} | {test.upper()} | {r:.0f} | {k1:.0f} | {k1 / r:.2f}x | {k3:.0f} |"
              f" {k3 / k1:.2f}x | {cpu} | {p50} | {p99} |")
print()
print("| server | offered ops/s | achieved | errors | p50 µs | p99 µs | p99.9 µs | max µs |")
print("|---|---|---|---|---|---|---|---|")
for r in csv.DictReader(open(f"{out}/latency.csv")):
    print(f"| {r['server']} | {r['rate']} | {r['achieved']} | {r['errors']} | {r['p50_us']} |"
          f" {r['p99_us']} | {r['p999_us']} | {r['max_us']} |")
PY
echo "results in $OUT"

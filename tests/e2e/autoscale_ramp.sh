#!/usr/bin/env bash
# Automatic scaling with traffic (issue 14, process level). Three kvnode
# processes started by cluster.sh, whose autoscalers use `cluster.sh
# provision` as their provisioner, take a load that kvbench ramps up
# (--rate) on top of kvcheck's workload (writes, deletes, set adds; N=3,
# R=2, W=2). The cluster must grow to five by itself (the maximum) and,
# once kvbench stops, shrink back to three, every change made by the
# deciding node's autoscaler, and then every acknowledged write reads back
# with R=N=3 and the replicas agree. The p99 of kvcheck's requests in the
# last quiet window must be back near what it was before the first change.
#   autoscale_ramp.sh BIN_DIR KVBENCH [OUT_DIR]
# OUT_DIR keeps timeline.csv (one line a second: offered rate, nodes on the
# ring, gossiped ops/s) and kvcheck's ops.jsonl, which
# bench/autoscale_plot.py draws. KV_RAMP_STEP_S sets the length of a load
# step (default 15 s).
set -euo pipefail
[[ $# -ge 2 && $# -le 3 ]] || { echo "usage: $0 BIN_DIR KVBENCH [OUT_DIR]" >&2; exit 2; }
BIN=$1 KVBENCH=$2 OUT=${3:-}
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$BIN/kvnode" "$BIN/kvsh"
# shellcheck disable=SC2034 # read by lib.sh's cluster_on_exit
CLUSTER_LOG_LINES=30
STEP_S=${KV_RAMP_STEP_S:-10}
# Per-node targets far below what this machine serves, so the ramp crosses
# them on 2 cores; p99 is not a reason here (the unit tests cover it): on a
# busy CI machine it would be noise.
HIGH=200 LOW=80
export KV_AUTOSCALE=on
cluster_env 5 "--gossip-interval-ms=200 --n=3 --r=2 --w=2 --cleanup-settle-s=5 \
--autoscale-interval-ms=1000 --autoscale-high-ops=$HIGH --autoscale-low-ops=$LOW \
--autoscale-out-window-s=5 --autoscale-in-window-s=10 --autoscale-cooldown-s=10 \
--autoscale-high-p99-ms=5000 --autoscale-min=3 --autoscale-max=5"

T0=$SECONDS
step() { echo "--- [$((SECONDS - T0)) s] $*"; }

step "three nodes, their autoscalers provisioning through cluster.sh"
cluster start --nodes=3 --dcs=2 --base-port="$BASE" >/dev/null
nodes_flag=--nodes=n1=127.0.0.1:$(port_of n1),n2=127.0.0.1:$(port_of n2),n3=127.0.0.1:$(port_of n3)
: >"$WORK/events.jsonl"
# Ended through --stop-file once the cluster is back at 3.
WORKLOAD_S=1200
timeout -s KILL $((WORKLOAD_S + 60)) "$BIN/kvcheck" run "$nodes_flag" \
  --n=3 --r=2 --w=2 --timeout-ms=3000 --log="$WORK/ops.jsonl" \
  --duration-s="$WORKLOAD_S" --seed=14 --prefix=a --pause-ms=100 \
  --unique-workers=3 --set-workers=2 \
  --stop-file="$WORK/stop-workload" \
  >"$WORK/workload.out" 2>&1 &
workload=$!

# The autoscaler's view on n1 (the deciding node: the smallest id, and a
# shrink never takes the decider out).
autoscale() { try_on n1 "$WORK/autoscale.out" autoscale && cat "$WORK/autoscale.out"; }
OFFERED=0
VIEW="" NODES=0
echo "t_s,offered_ops,nodes,gossiped_ops" >"$WORK/timeline.csv"
# sample: one look at n1's autoscaler (VIEW, NODES), one line of the
# timeline.
sample() {
  local ops
  VIEW=$(autoscale) || return 0
  NODES=$(grep -cE '^n[0-9]+ +(up|not up) ' <<<"$VIEW" || true)
  ops=$(awk '/^n[0-9]+ +up / { s += $3 } END { print s + 0 }' <<<"$VIEW")
  echo "$((SECONDS - T0)),$OFFERED,$NODES,$ops" >>"$WORK/timeline.csv"
}
# sample_until SECONDS COMMAND...: samples about once a second until
# COMMAND is true (then true) or SECONDS pass (then false).
sample_until() {
  local end=$((SECONDS + $1))
  shift
  while ((SECONDS < end)); do
    sample
    "$@" && return 0
    sleep 0.5
  done
  return 1
}

never() { false; }
load() {
  OFFERED=$1
  timeout -s KILL $(($2 + 30)) "$KVBENCH" --mode=remote --port="$(port_of n1)" \
    --rate="$1" --clients=4 --depth=8 --keys=5000 --duration="$2" \
    --n=3 --r=2 --w=2 --warmup-keys=false >"$WORK/bench-$1.out" 2>&1 &
  BENCH=$!
}

step "quiet: kvcheck alone for $STEP_S s (no change)"
sample_until "$STEP_S" never || true
((NODES == 3)) || fail "the cluster changed under a quiet load: $VIEW"
baseline_end_ms=$(date +%s%3N)

step "ramp: kvbench offers 300, then 1200 requests/s; the cluster grows to 5"
load 300 "$STEP_S"
sample_until "$STEP_S" never || true
((NODES == 3)) || fail "grew at 300 requests/s (below $HIGH per node): $VIEW"
wait "$BENCH" || true
load 1200 170
settled() { ! grep -q "in progress\|: running the provisioner\|waiting for" <<<"$VIEW"; }
five() { ((NODES == 5)) && settled; }
sample_until 150 five || fail "the cluster did not grow to 5: $VIEW"
grown_after=$((SECONDS - T0))
echo "five nodes after $grown_after s"
sample_until 5 never || true
((NODES == 5)) || fail "not 5 nodes at the maximum: $VIEW"

step "the load stops; the cluster shrinks back to 3"
kill "$BENCH" 2>/dev/null || true
wait "$BENCH" 2>/dev/null || true
OFFERED=0
three() { ((NODES == 3)) && grep -q "at the floor of 3 nodes" <<<"$VIEW"; }
sample_until 150 three || fail "the cluster did not shrink back to 3: $VIEW"
echo "three nodes again after $((SECONDS - T0)) s"
quiet_from_ms=$(date +%s%3N)
sample_until 5 never || true
quiet_to_ms=$(date +%s%3N)
autoscale >"$WORK/final-autoscale.out"
cat "$WORK/final-autoscale.out"
grows=$(grep -cE '^  .* grow: done: [45] nodes on the ring' "$WORK/final-autoscale.out" || true)
shrinks=$(grep -cE '^  .* shrink n[0-9]+: done: n[0-9]+ left the ring and was stopped' \
  "$WORK/final-autoscale.out" || true)
((grows == 2 && shrinks == 2)) || fail "expected 2 grows and 2 shrinks done, saw $grows and $shrinks"

mapfile -t running < <(cluster status | awk '$NF == "running" { print $1 }')
((${#running[@]} == 3)) || fail "expected 3 running nodes, found ${running[*]}"
second=${running[1]} third=${running[2]}
step "an operator pauses the autoscaler through $second and sets a bound through $third"
# The check's reads below are load too: they must not grow the cluster.
try_on "$second" "$WORK/pause.out" "autoscale pause" \
  && grep -qE "^autoscaler paused on $second(, n[0-9]+){2}\$" "$WORK/pause.out" \
  || fail "pause: $(cat "$WORK/pause.out")"
try_on "$third" "$WORK/set.out" "autoscale set cooldown-s 600" \
  && grep -qE "^autoscale cooldown-s set to 600 on $third(, n[0-9]+){2}\$" "$WORK/set.out" \
  || fail "set: $(cat "$WORK/set.out")"
autoscale >"$WORK/paused.out"
grep -q '^autoscaler of n1 (the deciding node): paused$' "$WORK/paused.out" \
  && grep -q ' cooldown-s=600 ' "$WORK/paused.out" \
  || fail "n1 does not show the pause and the bound: $(cat "$WORK/paused.out")"
try_on n1 "$WORK/bad-set.out" "autoscale set min 9" \
  || grep -q 'min 9: the minimum must be' "$WORK/bad-set.out" \
  || fail "a bad bound was not refused: $(cat "$WORK/bad-set.out")"

step "every acknowledged write reads back with R=N=3 on the nodes left"
touch "$WORK/stop-workload"
wait "$workload" || fail "the workload ended with status $? ($(tail -n 3 "$WORK/workload.out"))"
left=()
for id in "${running[@]}"; do
  left+=("$id=127.0.0.1:$(port_of "$id")")
done
rc=0
timeout -s KILL 400 "$BIN/kvcheck" check "--nodes=$(IFS=,; echo "${left[*]}")" \
  --n=3 --r=3 --w=2 --timeout-ms=3000 --log="$WORK/ops.jsonl" \
  --events="$WORK/events.jsonl" --converge-timeout-s=90 \
  --out="$WORK/result.json" >"$WORK/check.out" 2>&1 || rc=$?
verdict=$(tail -n 1 "$WORK/check.out")
echo "$verdict"
((rc == 0)) && [[ $verdict == PASS* ]] || fail "check: $verdict"

step "kvcheck's p99 after the changes is back near its baseline"
p99s=$(python3 - "$WORK/ops.jsonl" "$baseline_end_ms" "$quiet_from_ms" "$quiet_to_ms" <<'PY'
import json, sys
path, base_end, quiet_from, quiet_to = sys.argv[1], *map(int, sys.argv[2:])
def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.99))] if xs else 0
base, quiet = [], []
for line in open(path):
    try:
        op = json.loads(line)
    except ValueError:
        continue
    if op["outcome"] != "ok":
        continue
    ms = op["end_ms"] - op["start_ms"]
    if op["start_ms"] < base_end:
        base.append(ms)
    elif quiet_from <= op["start_ms"] < quiet_to:
        quiet.append(ms)
print(p99(base), p99(quiet), len(base), len(quiet))
PY
)
read -r base_p99 quiet_p99 base_n quiet_n <<<"$p99s"
echo "kvcheck p99: $base_p99 ms before any change ($base_n ops), $quiet_p99 ms once back at 3 ($quiet_n ops)"
((quiet_n > 0)) || fail "no kvcheck request completed in the last quiet window"
((quiet_p99 <= 3 * base_p99 + 50)) || fail "p99 did not recover: $quiet_p99 ms against $base_p99 ms"
if [[ -n $OUT ]]; then
  mkdir -p "$OUT"
  cp "$WORK/timeline.csv" "$WORK/ops.jsonl" "$WORK/final-autoscale.out" "$OUT/"
  echo "kept timeline.csv and ops.jsonl in $OUT"
fi

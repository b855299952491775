#!/usr/bin/env bash
# Fault-injection checker: runs a kvactors cluster in network namespaces,
# drives workloads through the client library (build/apps/kvcheck) while
# seeded nemeses kill, pause, partition and skew nodes, heals everything and
# checks the history. Run with --help. docs/reliability.md explains it.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
usage: faultcheck.sh run [OPTION...]    one run; exit 0 when the checker passes
       faultcheck.sh matrix [--w=2,1] [--nemeses=A,B] [--table=FILE] [RUN OPTION...]
                                        one run per nemesis (each alone) and
                                        W; a Markdown row per run on stdout
                                        (and appended to FILE); exit 0 when
                                        every run passes
       faultcheck.sh cleanup            remove namespaces left by dead runs
       faultcheck.sh nemeses            list the nemeses
Options of run:
  --nodes=K (5)  --dcs=D (3)  --n=N (3) --r=R (2) --w=W (2)
  --duration=S       seconds of load (60)
  --nemesis=A,B,...  the mix (default: all that the machine supports)
  --concurrency=C    up to C nemeses at once (1)
  --seed=X           schedule seed (default: from the clock; printed)
  --out=DIR          results (default var/faultcheck/<time>-<seed>)
  --loopback         do not use namespaces (kill, pause and clock only)
  --redis            the workload goes through the nodes' Redis gateways
                     (--resp-port, with a password) instead of CAF: SET,
                     DEL, KV.GET and KV.PUT; the final check reads through
                     CAF as always
  --timeout-ms=T     per request timeout (3000)
  --converge-timeout=S  how long the checker waits for replicas (60)
  --reap-timeout=S   then how long every node gets to reap the tombstones of
                     deleted keys (60; 0: not checked). The nodes reap every
                     --reap-interval-ms (2000) tombstones older than
                     --tombstone-grace-ms (2000), during the run as well,
                     with requests of at most 5 s (or --timeout-ms), so a
                     tombstone's two agreements are 10 s apart.
  The nodes drop the data of partitions they gave up 5 s after each ring
  change settles, and every 15 s after that (a node's partition cleanup).
Environment: KV_BIN (build/apps), KV_NODE_FLAGS (extra kvnode flags),
KV_TLS (on, the default: nodes, kvcheck and kvsh speak mutual TLS with
certificates made in OUT/certs; off: plain TCP).
EOF
}

die() {
  echo "faultcheck: $*" >&2
  exit 2
}

ALL_NEMESES=(kill pause partition-one partition-link partition-split
  partition-dc isolate-restart clock leave remove)
# Nemeses that need no partition: the loopback fallback runs only these.
LOCAL_NEMESES=(kill pause clock leave remove)
NS_TAG=kvf # every namespace is kvf-<pid>-<name>
SUBNET=10.77.0
BIN=${KV_BIN:-$KV_BUILD/apps}
LIBFAKETIME=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1

# --- clean-up --------------------------------------------------------------

# del_namespace NS: ends every process inside it, then deletes it (its
# veths and rules go with it). Idempotent.
del_namespace() {
  local ns=$1 pid
  for pid in $(ip netns pids "$ns" 2>/dev/null); do
    kill -CONT "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  done
  ip netns del "$ns" 2>/dev/null || true
}

# Namespaces of runs whose process is gone.
cmd_cleanup() {
  local ns owner removed=0
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ $ns =~ ^$NS_TAG-([0-9]+)- ]] || continue
    owner=${BASH_REMATCH[1]}
    if [[ $owner != "$$" ]] && kill -0 "$owner" 2>/dev/null; then
      continue # a live run owns it
    fi
    del_namespace "$ns"
    removed=$((removed + 1))
  done
  echo "faultcheck: removed $removed namespace(s)"
}

# --- options ---------------------------------------------------------------

NODES=5 DCS=3 N=3 R=2 W=2 DURATION=60 CONC=1 SEED="" OUT="" LOOPBACK=0
TIMEOUT_MS=3000 CONVERGE=60 MIX="" REDIS=0
REAP_TIMEOUT=60 REAP_INTERVAL_MS=2000 GRACE_MS=2000
parse_run_options() {
  local arg
  for arg in "$@"; do
    case $arg in
      --nodes=*) NODES=${arg#*=} ;;
      --dcs=*) DCS=${arg#*=} ;;
      --n=*) N=${arg#*=} ;;
      --r=*) R=${arg#*=} ;;
      --w=*) W=${arg#*=} ;;
      --duration=*) DURATION=${arg#*=} ;;
      --nemesis=*) MIX=${arg#*=} ;;
      --concurrency=*) CONC=${arg#*=} ;;
      --seed=*) SEED=${arg#*=} ;;
      --out=*) OUT=${arg#*=} ;;
      --loopback) LOOPBACK=1 ;;
      --redis) REDIS=1 ;;
      --timeout-ms=*) TIMEOUT_MS=${arg#*=} ;;
      --converge-timeout=*) CONVERGE=${arg#*=} ;;
      --reap-timeout=*) REAP_TIMEOUT=${arg#*=} ;;
      --reap-interval-ms=*) REAP_INTERVAL_MS=${arg#*=} ;;
      --tombstone-grace-ms=*) GRACE_MS=${arg#*=} ;;
      *) die "unknown option '$arg' (see --help)" ;;
    esac
  done
  local v
  for v in NODES DCS N R W DURATION CONC TIMEOUT_MS CONVERGE REAP_TIMEOUT \
    REAP_INTERVAL_MS GRACE_MS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "--${v,,} must be a number"
  done
  ((NODES >= 1 && NODES <= 200)) || die "--nodes must be 1..200"
  [[ -n $SEED ]] || SEED=$(($(date +%s) % 100000))
  [[ $SEED =~ ^[0-9]+$ ]] || die "--seed must be a number"
  [[ -n $OUT ]] || OUT=$KV_ROOT/var/faultcheck/$(date -u +%Y%m%dT%H%M%S)-seed$SEED
  [[ -x $BIN/kvnode && -x $BIN/kvcheck ]] \
    || die "no kvnode/kvcheck in $BIN (build first, or set KV_BIN)"
}

# make_certificates: every node's and the checker's certificates, from CAs
# of this run, exported to kvcheck and kvsh (KV_TLS_*).
TLS=${KV_TLS:-on}
make_certificates() {
  [[ $TLS == on ]] || return 0
  local certs=$OUT/certs id
  for id in $(node_ids); do
    "$KV_ROOT/scripts/certs.sh" "$certs" node "$id" >/dev/null \
      || die "cannot make a certificate for $id"
  done
  "$KV_ROOT/scripts/certs.sh" "$certs" operator checker >/dev/null \
    || die "cannot make the checker's certificate"
  export KV_TLS_CA=$certs/cluster-ca.pem
  export KV_TLS_CERT=$certs/operators/checker.pem
  export KV_TLS_KEY=$certs/operators/checker.key
}

# --- the network -----------------------------------------------------------

PFX=$NS_TAG-$$
HUB=$PFX-hub
CNS=$PFX-c
declare -A ADDR PORT NSOF DC PID DOWN GONE JOINER LEAVING
CLIENT_ADDR=$SUBNET.2

# spawn_in_ns NS CMD...: in_ns for a background job (`spawn_in_ns ... &`):
# the job's subshell becomes CMD itself, so $! is CMD's pid, to be killed
# and waited for.
spawn_in_ns() {
  local ns=$1
  shift
  if ((LOOPBACK)); then exec "$@"; else exec ip netns exec "$ns" "$@"; fi
}

# in_ns NS CMD...: runs CMD in NS (directly on loopback).
in_ns() {
  local ns=$1
  shift
  if ((LOOPBACK)); then "$@"; else ip netns exec "$ns" "$@"; fi
}

# Can this machine create namespaces? Says why not in one line.
namespaces_work() {
  local probe=$PFX-probe err
  if ! err=$(ip netns add "$probe" 2>&1); then
    echo "faultcheck: cannot create network namespaces (${err//$'\n'/ });" \
      "running on loopback with the nemeses that need no partition" >&2
    return 1
  fi
  ip netns del "$probe"
  if ! command -v nft >/dev/null; then
    echo "faultcheck: nft is missing (scripts/test.sh installs nftables);" \
      "running on loopback with the nemeses that need no partition" >&2
    return 1
  fi
}

# add_host NS ADDRESS: a namespace on the hub's bridge, no default route,
# short TCP connect retries, and an empty drop table for partitions.
add_host() {
  local ns=$1 addr=$2
  local port=v${addr##*.}
  ip netns add "$ns"
  ip -n "$HUB" link add "$port" type veth peer name eth0 netns "$ns"
  ip -n "$HUB" link set "$port" master br0 up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  # CAF's middleman connects block: an unanswered SYN must give up soon.
  ip netns exec "$ns" sysctl -qw net.ipv4.tcp_syn_retries=2
  ip netns exec "$ns" nft -f - <<'EOF'
table inet kvf {
  chain in { type filter hook input priority 0; }
  chain out { type filter hook output priority 0; }
}
EOF
}

setup_network() {
  local i id
  for ((i = 1; i <= NODES; i++)); do
    id=n$i
    DC[$id]=dc$(((i - 1) % DCS + 1))
    if ((LOOPBACK)); then
      ADDR[$id]=127.0.0.1
      PORT[$id]=$((LOOP_BASE + i - 1))
    else
      ADDR[$id]=$SUBNET.$((10 + i))
      PORT[$id]=4000
      NSOF[$id]=$PFX-$id
    fi
  done
  ((LOOPBACK)) && return 0
  # The bridge lives in a namespace of its own: the root namespace has no
  # interface on the subnet, so nothing here can reach outside or be
  # reached from outside.
  ip netns add "$HUB"
  ip -n "$HUB" link set lo up
  ip -n "$HUB" link add br0 type bridge
  ip -n "$HUB" link set br0 up
  add_host "$CNS" "$CLIENT_ADDR"
  for ((i = 1; i <= NODES; i++)); do
    add_host "${NSOF[n$i]}" "${ADDR[n$i]}"
  done
}

# partition GROUP...: each group a space-separated list of node ids; nodes
# of different groups drop each other's packets in both directions (the
# clients reach every node). Replaces any partition before it.
partition() {
  local group id other drop
  heal_network
  for group in "$@"; do
    drop=()
    for other in $(node_ids); do
      [[ " $group " == *" $other "* ]] || drop+=("${ADDR[$other]}")
    done
    ((${#drop[@]})) || continue
    local set
    set=$(IFS=,; echo "${drop[*]}")
    for id in $group; do
      ip netns exec "${NSOF[$id]}" nft -f - <<EOF
add rule inet kvf in ip saddr { $set } drop
add rule inet kvf out ip daddr { $set } drop
EOF
    done
  done
}

# cut_link A B: drops what A and B send each other, nothing else.
cut_link() {
  heal_network
  local a=$1 b=$2
  ip netns exec "${NSOF[$a]}" nft -f - <<EOF
add rule inet kvf in ip saddr ${ADDR[$b]} drop
add rule inet kvf out ip daddr ${ADDR[$b]} drop
EOF
  ip netns exec "${NSOF[$b]}" nft -f - <<EOF
add rule inet kvf in ip saddr ${ADDR[$a]} drop
add rule inet kvf out ip daddr ${ADDR[$a]} drop
EOF
}

heal_network() {
  ((LOOPBACK)) && return 0
  local id
  for id in $(node_ids); do
    ip netns exec "${NSOF[$id]}" nft flush table inet kvf 2>/dev/null || true
  done
}

# --- nodes -----------------------------------------------------------------

node_ids() {
  local i
  for ((i = 1; i <= NODES; i++)); do echo "n$i"; done
}

now_ms() { date +%s%3N; }

# event TYPE NAME [DETAIL]: a line of events.jsonl (read by kvcheck check).
event() {
  printf '{"t_ms":%s,"type":"%s","name":"%s","detail":"%s"}\n' \
    "$(now_ms)" "$1" "$2" "${3:-}" >>"$OUT/events.jsonl"
}

incident() {
  echo "faultcheck: $*" >&2
  echo "$*" >>"$OUT/incidents.txt"
}

# launch ID: starts the node in its namespace (under libfaketime when the
# clock nemesis is in the mix) and waits for its ready line.
launch() {
  local id=$1 other seeds=() log=$OUT/logs/$1.log offset i
  for other in $(node_ids); do
    [[ $other == "$id" ]] || seeds+=("${ADDR[$other]}:${PORT[$other]}")
  done
  local -a env=() extra=() initial=()
  # A node that left or was removed comes back wiped, as a new node that
  # joins the ring the others hold.
  [[ -n ${JOINER[$id]:-} ]] || mapfile -t initial < <(node_ids)
  if ((CLOCK)); then
    # Wall clock only: a jumping monotonic clock would fire CAF's timers.
    env=(LD_PRELOAD="$LIBFAKETIME" FAKETIME_TIMESTAMP_FILE="$OUT/clock/$id"
      FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_CACHE_DURATION=1)
  fi
  read -r -a extra <<<"${KV_NODE_FLAGS:-}"
  if [[ $TLS == on ]]; then
    extra+=(--tls-ca="$OUT/certs/cluster-ca.pem"
      --tls-cert="$OUT/certs/nodes/$id.pem" --tls-key="$OUT/certs/nodes/$id.key")
  else
    extra+=(--insecure)
  fi
  ((!REDIS)) || extra+=(--resp-port="$(resp_port "$id")"
    --resp-password-file="$OUT/resp-password")
  touch "$log"
  offset=$(stat -c %s "$log")
  spawn_in_ns "${NSOF[$id]:-}" env "${env[@]}" "$BIN/kvnode" --node-id="$id" \
    --dc="${DC[$id]}" --host="${ADDR[$id]}" --port="${PORT[$id]}" \
    --data-dir="$OUT/data/$id" --seeds="$(IFS=,; echo "${seeds[*]}")" \
    ${initial[0]:+--initial-members="$(IFS=,; echo "${initial[*]}")"} \
    --n="$N" --r="$R" --w="$W" --reap-interval-ms="$REAP_INTERVAL_MS" \
    --tombstone-grace-ms="$GRACE_MS" \
    --cleanup-settle-s=5 --cleanup-every-s=15 \
    --max-request-timeout-ms="$((TIMEOUT_MS > 5000 ? TIMEOUT_MS : 5000))" \
    "${extra[@]}" </dev/null >>"$log" 2>&1 &
  PID[$id]=$!
  for ((i = 0; i < 600; i++)); do
    tail -c +"$((offset + 1))" "$log" | grep -q "^kvnode $id ready on " \
      && return 0
    kill -0 "${PID[$id]}" 2>/dev/null || break
    sleep 0.1
  done
  incident "crash $id did not start: $(tail -n 3 "$log" | tr '\n' ' ')"
  return 1
}

# The Redis port of node ID (with --redis).
resp_port() { echo $((${PORT[$1]} + 2000)); }

# Every node lists every node as up (bounded by the caller).
converged() {
  local id out
  for id in $(node_ids); do
    out=$(printf 'nodes\nring\n' | in_ns "$CNS" timeout 10 "$BIN/kvsh" \
      --host="${ADDR[$id]}" --port="${PORT[$id]}" --timeout-ms=2000 2>&1) \
      || return 1
    [[ $(grep -cE '^n[0-9]+ +dc[0-9]+ .* up ' <<<"$out") -eq $NODES ]] \
      || return 1
    kv_ring_settled "$NODES" <<<"$out" || return 1
  done
}

# What every node still holds for others, and how it sees the members, when
# the check is over: where divergence left after heal comes from.
dump_final_views() {
  local id
  for id in $(node_ids); do
    {
      echo "== $id"
      printf 'nodes\nhints\n' | in_ns "$CNS" timeout 10 "$BIN/kvsh" \
        --host="${ADDR[$id]}" --port="${PORT[$id]}" --timeout-ms=2000 2>&1 \
        || echo "(kvsh failed)"
    } >>"$OUT/final-views.txt"
  done
}

# A node that should run but exited is a crash: recorded, then restarted so
# the run goes on.
check_alive() {
  local id rc
  for id in $(node_ids); do
    [[ -z ${DOWN[$id]:-} && -n ${PID[$id]:-} ]] || continue
    kill -0 "${PID[$id]}" 2>/dev/null && continue
    rc=0
    wait "${PID[$id]}" 2>/dev/null || rc=$?
    incident "crash $id exited with status $rc at $(date -u +%T)"
    event node_down "$id" crash
    if launch "$id"; then event node_up "$id" crash; fi
  done
}

# sleep_until T_MS: waits, checking the nodes every half second.
sleep_until() {
  while (($(now_ms) < $1)); do
    check_alive
    sleep 0.5
  done
}

kill_node() {
  local id=$1
  DOWN[$id]=1
  kill -KILL "${PID[$id]}" 2>/dev/null || true
  wait "${PID[$id]}" 2>/dev/null || true
  event node_down "$id" kill
}

restart_node() {
  local id=$1
  launch "$id" || true
  unset "DOWN[$id]"
  event node_up "$id" restart
}

# --- nemeses ---------------------------------------------------------------
# nemesis_NAME_start TARGET / nemesis_NAME_stop TARGET; the schedule picks
# TARGET with pick_target_NAME.

nemesis_kill_start() { kill_node "$1"; }
nemesis_kill_stop() { restart_node "$1"; }

nemesis_pause_start() {
  DOWN[$1]=1
  kill -STOP "${PID[$1]}"
  event node_down "$1" pause
}
nemesis_pause_stop() {
  kill -CONT "${PID[$1]}"
  unset "DOWN[$1]"
  event node_up "$1" resume
}

nemesis_partition-one_start() { partition "$1" "$(others "$1")"; }
nemesis_partition-one_stop() { heal_network; }

# TARGET: two nodes, e.g. "n1+n3": only the link between them is cut; the
# others still relay their heartbeats to each other.
nemesis_partition-link_start() { cut_link "${1%%+*}" "${1#*+}"; }
nemesis_partition-link_stop() { heal_network; }

# TARGET: the minority, e.g. "n2 n4".
nemesis_partition-split_start() { partition "${1//+/ }" "$(others "${1//+/ }")"; }
nemesis_partition-split_stop() { heal_network; }

# TARGET: a data centre; its nodes against the rest.
nemesis_partition-dc_start() { local g; g=$(dc_nodes "$1"); partition "$g" "$(others "$g")"; }
nemesis_partition-dc_stop() { heal_network; }

# Cut off, then kill -9 and restarted while still cut off: it comes back
# with only its own view of the cluster.
nemesis_isolate-restart_start() {
  partition "$1" "$(others "$1")"
  kill_node "$1"
  restart_node "$1"
}
nemesis_isolate-restart_stop() { heal_network; }

# TARGET: node:offset, e.g. n3:-12 (seconds; libfaketime's relative form).
nemesis_clock_start() { echo "${1#*:}" >"$OUT/clock/${1%%:*}"; }
nemesis_clock_stop() { echo "+0" >"$OUT/clock/${1%%:*}"; }

# Membership changes. leave: the node hands its partitions over and leaves
# the ring, then stops; remove: it is killed and an operator removes it. At
# the stop both come back wiped (a new incarnation) and join again, taking
# partitions over from the others: every stop is a join.
kvsh_at() {
  printf '%b' "$2" | in_ns "$CNS" timeout 20 "$BIN/kvsh" --host="${ADDR[$1]}" \
    --port="${PORT[$1]}" --timeout-ms=5000 2>&1
}

# await_ring_without ID SECONDS: every other running node holds a settled
# ring without ID (bounded); false if not. A change waits while any ring
# member is down or cut off, so with other nemeses active it may take
# until they heal.
await_ring_without() {
  local id=$1 other i ok out
  for ((i = 0; i < $2; i++)); do
    ok=1
    for other in $(others "$id"); do
      [[ -z ${DOWN[$other]:-} ]] || continue
      out=$(kvsh_at "$other" 'ring\n') || { ok=0; break; }
      if ! kv_ring_settled $((NODES - 1)) <<<"$out" \
        || grep -qE "^$id +dc" <<<"$out"; then
        ok=0
        break
      fi
    done
    ((ok)) && return 0
    check_alive
    sleep 1
  done
  return 1
}

# await_seen_down ID: every running node sees ID down (bounded). A new
# incarnation of ID is refused by any node that still sees the old one up.
await_seen_down() {
  local id=$1 other i ok
  for ((i = 0; i < 60; i++)); do
    ok=1
    for other in $(others "$id"); do
      [[ -z ${DOWN[$other]:-} ]] || continue
      kvsh_at "$other" 'nodes\n' | grep -qE "^$id +dc[0-9]+ .* down " \
        || { ok=0; break; }
    done
    ((ok)) && return 0
    sleep 1
  done
  return 1
}

nemesis_leave_start() {
  local id=$1 out
  out=$(kvsh_at "$id" 'leave\n') || true # its output says what happened
  [[ $out == *"is leaving"* ]] || { incident "membership: leave $id: $out"; return 0; }
  event ring_change "$id" leave
  LEAVING[$id]=1
  await_ring_without "$id" 60 && finish_leave "$id"
  return 0
}
nemesis_leave_stop() { rejoin_node "$1"; }

# The leave of ID completed: once the hints it holds for others are
# delivered (bounded), it stops.
finish_leave() {
  local id=$1 i
  for ((i = 0; i < 30; i++)); do
    kvsh_at "$id" 'hints\n' | grep -q '^no hints pending' && break
    sleep 1
  done
  unset "LEAVING[$id]"
  DOWN[$id]=1
  GONE[$id]=1
  kill -TERM "${PID[$id]}" 2>/dev/null || true
  wait "${PID[$id]}" 2>/dev/null || true
  event node_down "$id" left
}

nemesis_remove_start() {
  local id=$1 other out i
  kill_node "$id"
  GONE[$id]=1
  await_seen_down "$id" || { incident "membership: nobody sees $id down"; return 0; }
  for ((i = 0; i < 30; i++)); do
    for other in $(others "$id"); do
      [[ -z ${DOWN[$other]:-} ]] || continue
      out=$(kvsh_at "$other" "remove $id\n") || true
      break
    done
    [[ $out == *" is removed (ring version"* ]] && break
    sleep 1
  done
  [[ $out == *" is removed (ring version"* ]] \
    || { incident "membership: remove $id: $out"; return 0; }
  event ring_change "$id" remove
  await_ring_without "$id" 60 || true
}
nemesis_remove_stop() { rejoin_node "$1"; }

# A node that left (or was removed) comes back with a wiped directory once
# the others see its old incarnation down; a node still on the ring (its
# leave or removal did not complete) just restarts.
rejoin_node() {
  local id=$1
  if [[ -n ${LEAVING[$id]:-} ]]; then
    # Its leave waited for other faults; they are healed or healing now.
    if ! await_ring_without "$id" 120; then
      incident "hang membership: the leave of $id did not complete"
      unset "LEAVING[$id]"
      return 0
    fi
    finish_leave "$id"
  fi
  if [[ -z ${GONE[$id]:-} ]]; then
    [[ -n ${DOWN[$id]:-} ]] && restart_node "$id"
    return 0
  fi
  await_seen_down "$id" || true
  rm -rf "${OUT:?}/data/$id"
  JOINER[$id]=1
  unset "GONE[$id]"
  restart_node "$id"
  event ring_change "$id" join
}

others() {
  local id out=()
  for id in $(node_ids); do
    [[ " $1 " == *" $id "* ]] || out+=("$id")
  done
  echo "${out[*]}"
}

dc_nodes() {
  local id out=()
  for id in $(node_ids); do
    [[ ${DC[$id]} == "$1" ]] && out+=("$id")
  done
  echo "${out[*]}"
}

# pick_target NEMESIS: sets TARGET, drawn from RANDOM (seeded); node targets
# avoid the nodes in USED. Both run in the caller's shell, never in $(...):
# a subshell would lose USED and its RANDOM draws, and two nemeses at once
# could pick the same node (two restarts of one node).
pick_node() {
  local free=() id
  for id in $(node_ids); do
    [[ " $USED " == *" $id "* ]] || free+=("$id")
  done
  ((${#free[@]})) || free=($(node_ids))
  PICKED=${free[RANDOM % ${#free[@]}]}
  USED+=" $PICKED"
}

pick_target() {
  case $1 in
    kill | pause | partition-one | isolate-restart | leave | remove)
      pick_node; TARGET=$PICKED ;;
    clock)
      local off=$((2 + RANDOM % 29))
      ((RANDOM % 2)) && off=-$off || off=+$off
      pick_node
      TARGET="$PICKED:$off"
      ;;
    partition-split)
      local ids=($(node_ids)) k=$(((NODES - 1) / 2)) out=() j i
      ((k >= 1)) || k=1
      for ((j = 0; j < k; j++)); do
        i=$((RANDOM % ${#ids[@]}))
        out+=("${ids[i]}")
        ids=("${ids[@]:0:i}" "${ids[@]:i+1}")
      done
      TARGET=$(IFS=+; echo "${out[*]}")
      ;;
    partition-dc) TARGET="dc$((1 + RANDOM % DCS))" ;;
    partition-link)
      pick_node
      local first=$PICKED
      pick_node
      TARGET="$first+$PICKED"
      ;;
  esac
}

is_network() { [[ $1 == partition-* || $1 == isolate-restart ]]; }

# The schedule, drawn up front from the seed alone (so a run is replayed by
# its seed): lines "START_S HOLD_S NEMESIS TARGET" in SCHEDULE.
SCHEDULE=()
HEALED_TAIL=10
make_schedule() {
  RANDOM=$SEED
  local t=5 gap hold k j name net
  local -a mix
  IFS=, read -r -a mix <<<"$MIX"
  while :; do
    gap=$((2 + RANDOM % 5))
    hold=$((5 + RANDOM % 11))
    # The last HEALED_TAIL seconds run healed: availability after heal.
    ((t + gap + hold <= DURATION - HEALED_TAIL)) || break
    t=$((t + gap))
    k=$((1 + RANDOM % CONC))
    USED="" net=0
    local chosen=" "
    for ((j = 0; j < k; j++)); do
      name=${mix[RANDOM % ${#mix[@]}]}
      [[ $chosen == *" $name "* ]] && continue
      if is_network "$name"; then
        ((net)) && continue
        net=1
      fi
      chosen+="$name "
      pick_target "$name"
      SCHEDULE+=("$t $hold $name $TARGET")
    done
    t=$((t + hold))
  done
}

# --- the run ---------------------------------------------------------------

WORKLOAD_PID=""
on_exit() {
  local id
  for id in "${!PID[@]}"; do
    kill -CONT "${PID[$id]}" 2>/dev/null || true
    kill -KILL "${PID[$id]}" 2>/dev/null || true
    wait "${PID[$id]}" 2>/dev/null || true
  done
  if [[ -n $WORKLOAD_PID ]]; then
    kill -KILL "$WORKLOAD_PID" 2>/dev/null || true
    wait "$WORKLOAD_PID" 2>/dev/null || true
  fi
  if ((!LOOPBACK)); then
    for id in $(node_ids); do del_namespace "$PFX-$id"; done
    del_namespace "$CNS"
    del_namespace "$HUB"
  fi
}

# Every node back: network healed, paused nodes resumed, killed restarted.
heal_all() {
  local id
  heal_network
  for id in $(node_ids); do
    [[ -f $OUT/clock/$id ]] && echo "+0" >"$OUT/clock/$id"
    if [[ -n ${GONE[$id]:-} || -n ${LEAVING[$id]:-} ]]; then
      rejoin_node "$id"
    elif [[ -n ${DOWN[$id]:-} ]] && kill -0 "${PID[$id]}" 2>/dev/null; then
      nemesis_pause_stop "$id"
    elif [[ -n ${DOWN[$id]:-} ]]; then
      restart_node "$id"
    fi
  done
  check_alive
  event healed all
}

# Crash marks in the node logs (aborts, failed assertions, signals).
scan_logs() {
  local log hits
  for log in "$OUT"/logs/n*.log; do
    hits=$(grep -E -m 3 'terminate called|Assertion|Segmentation fault|Aborted|AddressSanitizer|core dumped' "$log" || true)
    [[ -z $hits ]] || incident "crash $(basename "$log" .log): ${hits//$'\n'/ | }"
  done
}

# Every node must stop on SIGTERM with status 0 within 30 s.
stop_nodes() {
  local id i rc
  for id in $(node_ids); do kill -TERM "${PID[$id]}" 2>/dev/null || true; done
  for id in $(node_ids); do
    for ((i = 0; i < 300; i++)); do
      kill -0 "${PID[$id]}" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "${PID[$id]}" 2>/dev/null; then
      incident "hang $id did not stop within 30 s of SIGTERM"
      kill -KILL "${PID[$id]}" 2>/dev/null || true
    fi
    rc=0
    wait "${PID[$id]}" 2>/dev/null || rc=$?
    ((rc == 0)) || incident "crash $id exited with status $rc after SIGTERM"
    unset "PID[$id]"
  done
}

pick_loop_base() {
  local base p ok try
  for ((try = 0; try < 100; try++)); do
    base=$((20000 + RANDOM % 20000)) ok=1
    for ((p = base; p < base + NODES; p++)); do
      ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { ok=0; break; }
    done
    ((ok)) && { echo "$base"; return 0; }
  done
  die "no free ports on loopback"
}

cmd_run() {
  parse_run_options "$@"
  if ((!LOOPBACK)) && [[ $(id -u) -ne 0 ]]; then
    echo "faultcheck: not root, so no network namespaces; running on" \
      "loopback with the nemeses that need no partition" >&2
    LOOPBACK=1
  fi
  trap on_exit EXIT
  trap 'exit 130' INT TERM
  if ((!LOOPBACK)) && ! namespaces_work; then LOOPBACK=1; fi
  local allowed=("${ALL_NEMESES[@]}")
  ((LOOPBACK)) && allowed=("${LOCAL_NEMESES[@]}")
  if [[ -z $MIX ]]; then
    MIX=$(IFS=,; echo "${allowed[*]}")
  else
    local name kept=()
    for name in ${MIX//,/ }; do
      [[ " ${ALL_NEMESES[*]} " == *" $name "* ]] \
        || die "unknown nemesis '$name' (faultcheck.sh nemeses)"
      if [[ " ${allowed[*]} " == *" $name "* ]]; then kept+=("$name")
      else echo "faultcheck: skipping $name on loopback" >&2; fi
    done
    ((${#kept[@]})) || die "no nemesis of the mix runs on loopback"
    MIX=$(IFS=,; echo "${kept[*]}")
  fi
  CLOCK=0
  [[ ",$MIX," == *,clock,* ]] && CLOCK=1
  if ((CLOCK)) && [[ ! -f $LIBFAKETIME ]]; then
    die "clock needs libfaketime (scripts/test.sh installs faketime)"
  fi
  ((LOOPBACK)) && LOOP_BASE=$(pick_loop_base)
  # A directory of an earlier run is reused (CTest's); any other is refused.
  if [[ -e $OUT ]]; then
    [[ -f $OUT/schedule.txt ]] || die "$OUT exists and is not a faultcheck run"
    rm -rf "$OUT"
  fi
  mkdir -p "$OUT/logs" "$OUT/data" "$OUT/clock"
  : >"$OUT/events.jsonl"
  : >"$OUT/incidents.txt"
  : >"$OUT/ops.jsonl"
  local id
  for id in $(node_ids); do echo "+0" >"$OUT/clock/$id"; done
  make_certificates
  make_schedule
  {
    echo "seed=$SEED nodes=$NODES dcs=$DCS n=$N r=$R w=$W duration=${DURATION}s" \
      "mix=$MIX concurrency=$CONC network=$( ((LOOPBACK)) && echo loopback || echo namespaces)"
    local line
    for line in "${SCHEDULE[@]}"; do echo "  at ${line%% *}s: $line"; done
    echo "replay: $0 run --nodes=$NODES --dcs=$DCS --n=$N --r=$R --w=$W" \
      "--duration=$DURATION --nemesis=$MIX --concurrency=$CONC --seed=$SEED" \
      "$( ((LOOPBACK)) && echo --loopback)" "$( ((REDIS)) && echo --redis)"
  } | tee "$OUT/schedule.txt"
  setup_network
  ((!REDIS)) || { head -c 18 /dev/urandom | base64 >"$OUT/resp-password"; chmod 600 "$OUT/resp-password"; }
  for id in $(node_ids); do launch "$id" || die "$id did not start"; done
  local i
  for ((i = 0; i < 60; i++)); do converged && break; sleep 1; done
  converged || die "membership did not converge within 60 s"
  local nodes_arg=() nodes_flag
  for id in $(node_ids); do nodes_arg+=("$id=${ADDR[$id]}:${PORT[$id]}"); done
  nodes_flag=--nodes=$(IFS=,; echo "${nodes_arg[*]}")
  local common=("$nodes_flag" --n="$N" --r="$R" --w="$W"
    --timeout-ms="$TIMEOUT_MS" --log="$OUT/ops.jsonl")
  local through=()
  if ((REDIS)); then
    local resp_arg=()
    for id in $(node_ids); do resp_arg+=("$id=${ADDR[$id]}:$(resp_port "$id")"); done
    through=(--resp-nodes="$(IFS=,; echo "${resp_arg[*]}")"
      --resp-password-file="$OUT/resp-password")
  fi
  local t0
  t0=$(now_ms)
  # A workload that outlives its duration by more than a minute hangs.
  spawn_in_ns "$CNS" timeout -s KILL $((DURATION + 60)) "$BIN/kvcheck" run \
    "${common[@]}" "${through[@]}" --duration-s="$DURATION" --seed="$SEED" \
    --prefix="s$SEED" >"$OUT/workload.out" 2>&1 &
  WORKLOAD_PID=$!
  event start workload
  local entry start hold name target
  local -a active=()
  for entry in "${SCHEDULE[@]}"; do
    read -r start hold name target <<<"$entry"
    sleep_until $((t0 + start * 1000))
    echo "faultcheck: +${start}s $name $target for ${hold}s"
    event fault_start "$name" "$target"
    "nemesis_${name}_start" "$target"
    active+=("$((t0 + (start + hold) * 1000)) $name $target")
    # Everything of this round ends together.
    local next=${SCHEDULE[$((++i_sched))]:-}
    if [[ -z $next || ${next%% *} != "$start" ]]; then
      local a
      sleep_until $((t0 + (start + hold) * 1000))
      for ((a = ${#active[@]} - 1; a >= 0; a--)); do
        read -r _ name target <<<"${active[a]}"
        "nemesis_${name}_stop" "$target"
        event fault_end "$name" "$target"
      done
      active=()
    fi
  done
  heal_all
  sleep_until $((t0 + DURATION * 1000))
  local rc=0
  wait "$WORKLOAD_PID" || rc=$?
  WORKLOAD_PID=""
  ((rc == 0)) || incident "hang workload ended with status $rc (137: killed after its duration + 60 s)"
  check_alive
  scan_logs
  echo "faultcheck: healed; checking (replicas get up to ${CONVERGE}s to converge, then ${REAP_TIMEOUT}s to reap)"
  rc=0
  local known
  known=$(wc -l <"$OUT/incidents.txt")
  in_ns "$CNS" timeout -s KILL $((CONVERGE + REAP_TIMEOUT + 600)) "$BIN/kvcheck" check \
    "${common[@]}" --events="$OUT/events.jsonl" \
    --incidents="$OUT/incidents.txt" --converge-timeout-s="$CONVERGE" \
    --reap-timeout-s="$REAP_TIMEOUT" \
    --out="$OUT/result.json" >"$OUT/check.out" 2>&1 || rc=$?
  dump_final_views
  stop_nodes
  local verdict pending
  verdict=$(tail -n 1 "$OUT/check.out")
  # Hints still held after the heal and the convergence wait: writes that
  # have not reached an owner that is up (reported, like divergence).
  pending=$(awk '/hint\(s\) pending/ { n += $1 } END { print n + 0 }' \
    "$OUT/final-views.txt")
  verdict+="; hints pending at the end $pending"
  if ((rc > 1)) || [[ ! -f $OUT/result.json ]]; then
    verdict="FAIL: the checker did not finish (status $rc): $verdict"
    rc=1
  fi
  # Incidents at shutdown came after the check: they fail the run too.
  if (($(wc -l <"$OUT/incidents.txt") > known)); then
    verdict="FAIL (at shutdown: $(tail -n 1 "$OUT/incidents.txt")); $verdict"
    rc=1
  fi
  /usr/bin/python3 "$KV_ROOT/scripts/faultplot.py" "$OUT" \
    || echo "faultcheck: no plot (python3-matplotlib missing?)" >&2
  echo "$verdict"
  echo "faultcheck: results in $OUT (result.json, timeline.png, ops.jsonl, logs/)"
  return "$rc"
}

# matrix: every nemesis alone, for every W, with the other run options as
# given; the seed is the same for every run (printed in each row's replay).
cmd_matrix() {
  local ws=2,1 nemeses table="" arg rest=()
  nemeses=$(IFS=,; echo "${ALL_NEMESES[*]}")
  for arg in "$@"; do
    case $arg in
      --w=*) ws=${arg#*=} ;;
      --nemeses=*) nemeses=${arg#*=} ;;
      --table=*) table=${arg#*=} ;;
      --nemesis=* | --out=*) die "matrix sets $arg itself" ;;
      *) rest+=("$arg") ;;
    esac
  done
  local header="| nemesis | W | ops | acked writes | lost | phantom | resurrected | sibling excess | divergent after heal (converged in) | hangs | crashes | errors during faults | errors after heal | verdict |"
  local rule="|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  echo "$header"; echo "$rule"
  if [[ -n $table ]]; then echo "$header" >>"$table"; echo "$rule" >>"$table"; fi
  local w name out row failed=0 stamp
  stamp=$(date -u +%Y%m%dT%H%M%S)
  for w in ${ws//,/ }; do
    for name in ${nemeses//,/ }; do
      out=$KV_ROOT/var/faultcheck/matrix-$stamp/$name-w$w
      mkdir -p "$(dirname "$out")"
      "$0" run "${rest[@]}" --w="$w" --nemesis="$name" --out="$out" \
        >"$out.log" 2>&1 || failed=1
      row=$(/usr/bin/python3 - "$out/result.json" "$name" "$w" <<'PY'
import json, sys
path, name, w = sys.argv[1:4]
try:
    r = json.load(open(path))
except Exception as e:
    print(f"| {name} | {w} | | | | | | | | | | | | FAIL: no result ({e}) |")
    sys.exit()
c = r["convergence"]
ph = r["phases"]
def rate(key):
    p = ph.get(key)
    return f"{100 * p['error_rate']:.1f}%" if p and p["ops"] else "-"
acked = r["acked_puts"] + r["acked_removes"] + r["acked_set_adds"]
verdict = "pass" if r["valid"] else "FAIL"
print(f"| {name} | {w} | {r['ops']} | {acked} | {len(r['lost'])} | "
      f"{len(r['phantoms'])} | {len(r['resurrected'])} | "
      f"{len(r['sibling_violations'])} | {c['divergent']}/{c['keys']} "
      f"({c['converge_ms'] / 1000:.1f} s) | {len(r['hangs'])} | "
      f"{len(r['crashes'])} | {rate('fault')} | {rate('healed')} | {verdict} |")
PY
)
      echo "$row"
      [[ -n $table ]] && echo "$row" >>"$table"
    done
  done
  return "$failed"
}

CMD=${1:-}
[[ -n $CMD ]] || { usage >&2; exit 2; }
shift
case $CMD in
  -h | --help | help) usage ;;
  cleanup) cmd_cleanup ;;
  nemeses) printf '%s\n' "${ALL_NEMESES[@]}" ;;
  run) i_sched=0; cmd_run "$@" ;;
  matrix) cmd_matrix "$@" ;;
  *) die "unknown command '$CMD' (see --help)" ;;
esac

#!/usr/bin/env bash
# Runs a local multi-node kvactors cluster: one kvnode process per node, in
# the background, each in its own session so it outlives this script.
# Run with --help for the subcommands.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
usage: cluster.sh COMMAND [ARG...]
  start [--nodes=K] [--dcs=D] [--base-port=P]
                 start K nodes (default 3) in D data centres (default 2):
                 node i is n<i> in dc<((i-1)%D)+1> on port P+i-1 (default
                 P=4000), seeded with every other node, together creating
                 the ring; waits for every ready line, the membership and
                 the ring
  add            start one more node, n<K+1>; it joins the ring, taking
                 its partitions over from the others (waits until done)
  add --alone    start n<K+1> with no seeds: a cluster of its own, until
                 kvsh `join HOST:PORT` on it joins this one
  leave ID       the node hands its partitions to the others and leaves
                 the ring, then stops (waits until done)
  remove ID      forget a dead node (stopped or killed) for good: the
                 others re-replicate its partitions (waits until done)
  replace ID     a new node, n<K+1>, takes a dead node's place: exactly its
                 partitions, copied from the surviving replicas
  provision grow | provision check-shrink ID | provision shrink ID
                 what the nodes' autoscaler runs (their provisioner, see
                 KV_AUTOSCALE): grow = add; check-shrink = may ID be
                 stopped (it runs); shrink = stop ID once it has left the
                 ring and delivered its hints (the autoscaler makes it
                 leave in between)
  status         id, dc, address, pid and state (running, stopped, hung) of
                 each node; exit 0 if all run, 3 if all are stopped, else 1
  stop           SIGTERM every node (SIGKILL after KV_STOP_TIMEOUT s)
  stop-node ID   SIGTERM one node        kill ID     SIGKILL one node
  pause ID       SIGSTOP one node (hung) resume ID   SIGCONT it
  restart ID     start a stopped node again with the same flags
  wipe           delete the nodes' data and logs (only while none runs)
  logs ID [-f]   the last lines of a node's log (-f: follow it)
Environment (start records the layout in $KV_RUN_DIR/cluster.env, which
the other commands read):
  KV_BIN         directory of kvnode and kvsh (default build/apps)
  KV_DATA_DIR    node data directories (default data)
  KV_LOG_DIR     node logs (default var/log)
  KV_RUN_DIR     pid files and cluster.env (default var/run)
  KV_HOST        address the nodes listen on (default 127.0.0.1)
  KV_NODE_FLAGS  extra kvnode flags, e.g. "--gossip-interval-ms=200"
  KV_HTTP_BASE_PORT  node i serves /metrics and its status page on this
                 port + i - 1 (default: the base port + 100; 0: each picks
                 a free one, named in its log; off: none)
  KV_CLIENT_BASE_PORT  node i serves clients (put/get/delete and views,
                 for certificates of the client CA) on this port + i - 1
                 (default: the base port + 200; 0: free ones; off: none)
  KV_RESP_BASE_PORT  node i serves Redis clients on this port + i - 1
                 (default: the base port + 300; off: none)
  KV_RESP_PASSWORD_FILE  the password Redis clients give with AUTH (first
                 line of the file; default: none asked)
  KV_AUTOSCALE   on (default): each node's autoscaler grows and shrinks
                 this cluster through `cluster.sh provision` (CPU is not a
                 reason: the nodes share this machine); off: it only
                 advises (kvsh `autoscale`)
  KV_TLS         on (default): nodes speak mutual TLS with certificates
                 from scripts/certs.sh in KV_CERT_DIR (made when missing:
                 one per node, and operator "local" for kvsh, exported as
                 KV_TLS_CA/CERT/KEY to the commands here); off: plain TCP
                 (kvnode --insecure)
  KV_CERT_DIR    certificates (default var/certs)
  KV_START_TIMEOUT, KV_STOP_TIMEOUT  seconds to wait (default 60, 30)
EOF
}

die() {
  echo "cluster.sh: $*" >&2
  exit 1
}

RUN_DIR=${KV_RUN_DIR:-$KV_ROOT/var/run}
ENV_FILE=$RUN_DIR/cluster.env
START_TIMEOUT=${KV_START_TIMEOUT:-60}
STOP_TIMEOUT=${KV_STOP_TIMEOUT:-30}

# The layout: defaults and the environment, then what start recorded.
# INITIAL: how many of the nodes created the ring; GONE: ids that left or
# were removed (" n2 n5 ").
NODES=3 INITIAL=3 DCS=2 BASE_PORT=4000 GONE=" " DC_OF=" "
HOST=${KV_HOST:-127.0.0.1}
BIN=${KV_BIN:-$KV_ROOT/build/apps}
DATA_DIR=${KV_DATA_DIR:-$KV_ROOT/data}
LOG_DIR=${KV_LOG_DIR:-$KV_ROOT/var/log}
NODE_FLAGS=${KV_NODE_FLAGS:-}
HTTP_BASE=${KV_HTTP_BASE_PORT:-}
CLIENT_BASE=${KV_CLIENT_BASE_PORT:-}
RESP_BASE=${KV_RESP_BASE_PORT:-}
RESP_PASSWORD_FILE=${KV_RESP_PASSWORD_FILE:-}
AUTOSCALE=${KV_AUTOSCALE:-on}
TLS=${KV_TLS:-on}
CERT_DIR=${KV_CERT_DIR:-$KV_ROOT/var/certs}
SCRIPT=$(realpath "${BASH_SOURCE[0]}")
load_layout() {
  # shellcheck source=/dev/null
  [[ -f $ENV_FILE ]] && source "$ENV_FILE"
  return 0
}

save_layout() {
  mkdir -p "$RUN_DIR"
  {
    local var
    for var in NODES INITIAL DCS BASE_PORT HTTP_BASE CLIENT_BASE RESP_BASE \
      RESP_PASSWORD_FILE HOST BIN DATA_DIR LOG_DIR NODE_FLAGS AUTOSCALE TLS \
      CERT_DIR GONE DC_OF; do
      printf '%s=%q\n' "$var" "${!var}"
    done
  } >"$ENV_FILE"
}

node_index() { echo "${1#n}"; }
node_dc() {
  # A replacement runs in the data centre of the node it replaced.
  if [[ $DC_OF == *" $1:"* ]]; then
    local rest=${DC_OF#* "$1":}
    echo "${rest%% *}"
  else
    echo "dc$((($(node_index "$1") - 1) % DCS + 1))"
  fi
}
node_port() { echo "$((BASE_PORT + $(node_index "$1") - 1))"; }
# offset_port BASE ID: ID's port counted from BASE (0: a free one), or
# nothing when BASE is off.
offset_port() {
  case $1 in
    "" | off) ;;
    0) echo 0 ;;
    *) echo "$(($1 + $(node_index "$2") - 1))" ;;
  esac
}
node_http_port() { offset_port "$HTTP_BASE" "$1"; }
node_client_port() { offset_port "$CLIENT_BASE" "$1"; }
node_resp_port() { offset_port "$RESP_BASE" "$1"; }
node_ids() {
  local i
  for ((i = 1; i <= NODES; i++)); do
    [[ $GONE == *" n$i "* ]] || echo "n$i"
  done
}
member_count() { node_ids | wc -l; }
pid_file() { echo "$RUN_DIR/$1.pid"; }
log_file() { echo "$LOG_DIR/$1.log"; }

check_id() {
  if ! [[ $1 =~ ^n([1-9][0-9]*)$ ]] || ((BASH_REMATCH[1] > NODES)) \
    || [[ $GONE == *" $1 "* ]]; then
    die "unknown node '$1' (the cluster has $(node_ids | tr '\n' ' '))"
  fi
}

# The state letter of a process (R, S, T, Z, ...) or nothing.
proc_state() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  echo "${stat%% *}"
}

# node_pid ID: the pid of the node's kvnode process, if it is alive (a zombie
# is not; neither is a recycled pid that now belongs to another program).
node_pid() {
  local file pid state
  file=$(pid_file "$1")
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  state=$(proc_state "$pid")
  [[ -n $state && $state != [ZX] ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null \
    | grep -q -- "kvnode .*--node-id=$1 " || return 1
  echo "$pid"
}

node_state() {
  local pid
  pid=$(node_pid "$1") || { echo stopped; return; }
  [[ $(proc_state "$pid") == [Tt] ]] && echo hung || echo running
}

node_line() {
  printf '%-4s %-5s %s:%-6s pid %s\n' "$1" "$(node_dc "$1")" "$HOST" \
    "$(node_port "$1")" "${2:--}"
}

node_args() {
  local id=$1 other seeds=()
  while read -r other; do
    [[ $other == "$id" ]] || seeds+=("$HOST:$(node_port "$other")")
  done < <(node_ids)
  NODE_ARGS=(--node-id="$id" --dc="$(node_dc "$id")" --host="$HOST"
    --port="$(node_port "$id")" --data-dir="$DATA_DIR/$id")
  local http
  http=$(node_http_port "$id")
  [[ -z $http ]] || NODE_ARGS+=(--http-port="$http")
  local clients
  clients=$(node_client_port "$id")
  if [[ -n $clients ]]; then
    NODE_ARGS+=(--client-port="$clients")
    [[ $TLS != on ]] || NODE_ARGS+=(--client-ca="$CERT_DIR/client-ca.pem")
  fi
  local resp
  resp=$(node_resp_port "$id")
  [[ -z $resp ]] || NODE_ARGS+=(--resp-port="$resp")
  [[ -z $RESP_PASSWORD_FILE ]] \
    || NODE_ARGS+=(--resp-password-file="$RESP_PASSWORD_FILE")
  if (($(node_index "$id") <= INITIAL)); then
    local i initial=()
    for ((i = 1; i <= INITIAL; i++)); do initial+=("n$i"); done
    NODE_ARGS+=(--initial-members="$(IFS=,; echo "${initial[*]}")")
  fi
  # A node started alone has no seeds: the others' cluster is not its own.
  ((${#seeds[@]} == 0)) || [[ -n ${ALONE:-} ]] \
    || NODE_ARGS+=(--seeds="$(IFS=,; echo "${seeds[*]}")")
  if [[ $AUTOSCALE == on ]]; then
    # The run directory pins the layout the provisioner acts on.
    NODE_ARGS+=("--autoscale-command=KV_RUN_DIR=$(printf %q "$RUN_DIR") $(printf %q "$SCRIPT") provision"
      --autoscale-high-cpu-pct=0)
  fi
  if [[ $TLS == on ]]; then
    "$KV_ROOT/scripts/certs.sh" "$CERT_DIR" node "$id" >/dev/null
    NODE_ARGS+=(--tls-ca="$CERT_DIR/cluster-ca.pem"
      --tls-cert="$CERT_DIR/nodes/$id.pem" --tls-key="$CERT_DIR/nodes/$id.key")
  else
    NODE_ARGS+=(--insecure)
  fi
  local -a extra
  read -r -a extra <<<"$NODE_FLAGS"
  NODE_ARGS+=("${extra[@]}")
}

# use_operator_cert: kvsh run by this script (and by whoever sources the
# layout) speaks TLS as operator "local".
use_operator_cert() {
  [[ $TLS == on ]] || return 0
  "$KV_ROOT/scripts/certs.sh" "$CERT_DIR" operator local >/dev/null
  export KV_TLS_CA=$CERT_DIR/cluster-ca.pem
  export KV_TLS_CERT=$CERT_DIR/operators/local.pem
  export KV_TLS_KEY=$CERT_DIR/operators/local.key
}

# launch ID: starts the node in a new session; it appends to its log. Sets
# LOG_OFFSET to where this run's output starts.
launch() {
  local id=$1 log pidf
  log=$(log_file "$id")
  pidf=$(pid_file "$id")
  mkdir -p "$DATA_DIR" "$LOG_DIR" "$RUN_DIR"
  touch "$log"
  LOG_OFFSET=$(stat -c %s "$log")
  rm -f "$pidf"
  node_args "$id"
  # The wrapper writes its own pid, which exec makes kvnode's, whether or not
  # setsid had to fork.
  # shellcheck disable=SC2016 # expanded by the wrapper, not here
  setsid nohup bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' \
    "$pidf" "$BIN/kvnode" "${NODE_ARGS[@]}" </dev/null >>"$log" 2>&1 9>&- &
}

# await_ready ID: waits for the ready line the node printed after
# LOG_OFFSET.
await_ready() {
  local id=$1 log i pid=""
  log=$(log_file "$id")
  for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    if tail -c +"$((LOG_OFFSET + 1))" "$log" | grep -q "^kvnode $id ready on "; then
      return 0
    fi
    [[ -n $pid ]] || pid=$(cat "$(pid_file "$id")" 2>/dev/null || true)
    if [[ -n $pid ]] && ! node_pid "$id" >/dev/null; then
      echo "cluster.sh: $id exited before it was ready; end of $log:" >&2
      tail -c +"$((LOG_OFFSET + 1))" "$log" | tail -n 10 >&2
      return 1
    fi
    sleep 0.1
  done
  echo "cluster.sh: $id not ready after $START_TIMEOUT s; see $log" >&2
  return 1
}

# converged: every node lists every member as up (`nodes`) and holds a ring
# of all members with no change in transfer (`ring`), or, with a kvsh
# without those commands, accepts a write on min(K,3) replicas.
converged() {
  local id out want members
  members=$(member_count)
  for id in $(node_ids); do
    out=$(printf 'nodes\nring\n' | timeout 10 "$BIN/kvsh" --host="$HOST" \
      --port="$(node_port "$id")" --timeout-ms=2000 2>&1) || return 1
    if [[ $out == *"unknown command"* ]]; then
      want=$((NODES < 3 ? NODES : 3))
      out=$(printf 'put cluster.sh-probe %s n=%d w=%d\n' "$id" "$want" "$want" \
        | timeout 10 "$BIN/kvsh" --host="$HOST" --port="$(node_port "$id")" \
          --timeout-ms=2000 2>&1) || return 1
      [[ $out == ok* ]] || return 1
      continue
    fi
    [[ $(grep -cE '^n[0-9]+ +dc[0-9]+ .* up ' <<<"$out") -ge $members ]] \
      || return 1
    kv_ring_settled "$members" <<<"$out" || return 1
  done
}

# await_converged WHAT: waits (bounded) for converged; false if it never is.
await_converged() {
  local i
  for ((i = 0; i < START_TIMEOUT; i++)); do
    converged && return 0
    sleep 1
  done
  echo "cluster.sh: $1 did not settle within $START_TIMEOUT s" >&2
  return 1
}

# kvsh_on ID COMMAND: runs one kvsh command against a node.
kvsh_on() {
  printf '%s\n' "$2" | timeout 30 "$BIN/kvsh" --host="$HOST" \
    --port="$(node_port "$1")" --timeout-ms=5000 2>&1
}

cmd_add() {
  local alone=""
  case $# in
    0) ;;
    1) [[ $1 == --alone ]] || die "add: unknown argument '$1' (only --alone)"
       alone=1 ;;
    *) die "add: takes at most --alone" ;;
  esac
  local id
  NODES=$((NODES + 1))
  id=n$NODES
  ((BASE_PORT + NODES - 1 <= 65535)) || die "add: no port left for $id"
  save_layout
  ALONE=$alone launch "$id"
  await_ready "$id" || exit 1
  [[ -n $alone ]] || await_converged "the join of $id" || exit 1
  node_line "$id" "$(node_pid "$id")"
}

cmd_leave() {
  local id=$1 out
  running_pid "$id" >/dev/null
  (($(member_count) > 1)) || die "leave: $id is the last member"
  out=$(kvsh_on "$id" leave) || die "leave: $out"
  echo "$out"
  retire "$id"
}

# retire ID [strict]: a node that is leaving (or has left) the ring: once
# the others hold a ring without it and it has delivered its hints, it
# stops. Strict: a node still holding hints is not stopped (they may be
# the only copy of acknowledged writes).
retire() {
  local id=$1 strict=${2:-}
  GONE="$GONE$id "
  # Settled once the others hold a ring without it.
  others_running "$id"
  await_converged "the leave of $id" || exit 1
  save_layout
  # The writes it holds as hints for other nodes go before it does.
  if ! await_no_hints "$id"; then
    if [[ -n $strict ]]; then
      # Back in the layout: it runs, status shows it, the autoscaler asks
      # again later.
      GONE=${GONE/ $id / }
      save_layout
      die "$id still holds hints after $START_TIMEOUT s; not stopping it"
    fi
    echo "cluster.sh: warning: $id still holds hints; stopping it anyway" >&2
  fi
  signal_and_wait TERM "$id"
}

# await_no_hints ID: true once ID reports no hints pending (bounded).
await_no_hints() {
  local i
  for ((i = 0; i < START_TIMEOUT; i++)); do
    kvsh_on "$1" hints | grep -q '^no hints pending' && return 0
    sleep 1
  done
  return 1
}

# The nodes of the layout other than ID, all running: a retire needs them
# to see the ring settle.
others_running() {
  local other
  for other in $(node_ids); do
    [[ $other == "$1" ]] || node_pid "$other" >/dev/null \
      || die "$other is not running"
  done
}

# ring_change_via_others ID COMMAND EXPECT: sends COMMAND through the first
# running node other than ID until its answer contains EXPECT (the others
# must see ID down first); prints the answer.
ring_change_via_others() {
  local id=$1 command=$2 expect=$3 other out="" i
  for ((i = 0; i < START_TIMEOUT; i++)); do
    for other in $(node_ids); do
      [[ $other == "$id" ]] && continue
      node_pid "$other" >/dev/null || continue
      out=$(kvsh_on "$other" "$command") && [[ $out == *"$expect"* ]] \
        && { echo "$out"; return 0; }
      break
    done
    sleep 1
  done
  echo "cluster.sh: $command: ${out:-no running node to ask}" >&2
  return 1
}

cmd_replace() {
  local id=$1 pid new
  if pid=$(node_pid "$id"); then
    die "replace: $id is running (pid $pid); stop or kill it first"
  fi
  new=n$((NODES + 1))
  ((BASE_PORT + NODES <= 65535)) || die "replace: no port left for $new"
  ring_change_via_others "$id" "replace $id $new" " is replaced by " || exit 1
  DC_OF="$DC_OF$new:$(node_dc "$id") "
  NODES=$((NODES + 1))
  GONE="$GONE$id "
  save_layout
  launch "$new"
  await_ready "$new" || exit 1
  await_converged "the replacement of $id by $new" || exit 1
  node_line "$new" "$(node_pid "$new")"
}

cmd_remove() {
  local id=$1 other out pid
  if pid=$(node_pid "$id"); then
    die "remove: $id is running (pid $pid); a live node leaves instead"
  fi
  for other in $(node_ids); do
    [[ $other == "$id" ]] && continue
    node_pid "$other" >/dev/null || continue
    # The others must see it down first; retried until they do.
    local i
    for ((i = 0; i < START_TIMEOUT; i++)); do
      out=$(kvsh_on "$other" "remove $id") \
        && [[ $out == *" is removed (ring version"* ]] && break
      sleep 1
    done
    [[ $out == *" is removed (ring version"* ]] || die "remove: $out"
    echo "$out"
    GONE="$GONE$id "
    await_converged "the removal of $id" || exit 1
    save_layout
    return 0
  done
  die "remove: no running node to ask"
}

# provision grow | provision shrink ID: the autoscaler's requests. It runs
# in a node's process group, which the autoscaler kills if it takes too
# long; `stop` kills it too, so no node is started after a stop.
cmd_provision() {
  echo $$ >"$RUN_DIR/provision.pid"
  trap 'rm -f "$RUN_DIR/provision.pid"' EXIT
  case ${1:-}:$# in
    grow:1) cmd_add ;;
    check-shrink:2)
      # What shrink will need: the node and every other one running.
      check_id "$2"
      running_pid "$2" >/dev/null
      others_running "$2" ;;
    shrink:2)
      check_id "$2"
      running_pid "$2" >/dev/null
      retire "$2" strict ;;
    *) die "provision: expected grow, check-shrink ID or shrink ID" ;;
  esac
}

# check_base VARIABLE VALUE: a port with room for every node, 0 or off.
check_base() {
  if ! [[ $2 == off || $2 =~ ^[0-9]+$ ]] \
    || { [[ $2 != off ]] && (($2 + NODES - 1 > 65535)); }; then
    die "start: $1 must be a port, 0 or off"
  fi
}

cmd_start() {
  local arg
  for arg in "$@"; do
    case $arg in
      --nodes=*) NODES=${arg#*=} ;;
      --dcs=*) DCS=${arg#*=} ;;
      --base-port=*) BASE_PORT=${arg#*=} ;;
      *) die "start: unknown option '$arg' (see --help)" ;;
    esac
  done
  [[ $NODES =~ ^[1-9][0-9]*$ ]] || die "start: --nodes must be >= 1"
  [[ $DCS =~ ^[1-9][0-9]*$ ]] || die "start: --dcs must be >= 1"
  [[ $TLS == on || $TLS == off ]] || die "start: KV_TLS must be on or off"
  if ! [[ $BASE_PORT =~ ^[1-9][0-9]*$ ]] \
    || ((BASE_PORT + NODES - 1 > 65535)); then
    die "start: --base-port must leave room for $NODES ports below 65536"
  fi
  [[ -x $BIN/kvnode && -x $BIN/kvsh ]] \
    || die "no kvnode/kvsh in $BIN (build first, or set KV_BIN)"
  [[ -n $HTTP_BASE ]] || HTTP_BASE=$((BASE_PORT + 100))
  [[ -n $CLIENT_BASE ]] || CLIENT_BASE=$((BASE_PORT + 200))
  check_base KV_HTTP_BASE_PORT "$HTTP_BASE"
  check_base KV_CLIENT_BASE_PORT "$CLIENT_BASE"
  [[ -n $RESP_BASE ]] || RESP_BASE=$((BASE_PORT + 300))
  # kvnode takes no free Redis port of its own choosing (0 is off there).
  [[ $RESP_BASE != 0 ]] || die "start: KV_RESP_BASE_PORT must be a port or off"
  check_base KV_RESP_BASE_PORT "$RESP_BASE"
  # Nothing of this cluster, nor of the one recorded before, may be running.
  local file id pid
  for file in "$RUN_DIR"/n*.pid; do
    [[ -f $file ]] || continue
    id=$(basename "$file" .pid)
    if pid=$(node_pid "$id"); then
      die "$id is already running (pid $pid); run cluster.sh stop first"
    fi
  done
  INITIAL=$NODES
  GONE=" " DC_OF=" "
  save_layout
  local -A offset=()
  for id in $(node_ids); do
    launch "$id"
    offset[$id]=$LOG_OFFSET
  done
  for id in $(node_ids); do
    LOG_OFFSET=${offset[$id]}
    await_ready "$id" || { cmd_stop >&2; exit 1; }
  done
  if ! await_converged "the membership and ring"; then
    cmd_stop >&2
    exit 1
  fi
  for id in $(node_ids); do node_line "$id" "$(node_pid "$id")"; done
}

cmd_status() {
  local id pid state running=0 stopped=0
  for id in $(node_ids); do
    pid=$(node_pid "$id") || pid=""
    state=$(node_state "$id")
    printf '%s %s\n' "$(node_line "$id" "$pid")" "$state"
    [[ $state != running ]] || running=$((running + 1))
    [[ $state != stopped ]] || stopped=$((stopped + 1))
  done
  ((running == NODES)) && return 0
  ((stopped == NODES)) && return 3
  return 1
}

# signal_and_wait SIGNAL ID...: signals the running nodes and waits (bounded)
# for them to exit; SIGKILLs the ones still there, with a warning.
signal_and_wait() {
  local sig=$1 id pid i left
  shift
  local -a ids=()
  for id in "$@"; do
    pid=$(node_pid "$id") || { rm -f "$(pid_file "$id")"; continue; }
    kill -"$sig" "$pid" 2>/dev/null || true
    # A paused node must run to handle the signal.
    kill -CONT "$pid" 2>/dev/null || true
    ids+=("$id")
  done
  if ((${#ids[@]} == 0)); then
    echo "no node running"
    return 0
  fi
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    left=0
    for id in "${ids[@]}"; do
      node_pid "$id" >/dev/null && left=1
    done
    ((left)) || break
    sleep 0.1
  done
  for id in "${ids[@]}"; do
    if pid=$(node_pid "$id"); then
      echo "cluster.sh: warning: $id (pid $pid) still running $STOP_TIMEOUT s after SIG$sig; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        node_pid "$id" >/dev/null || break
        sleep 0.1
      done
    fi
    rm -f "$(pid_file "$id")"
    echo "$id stopped"
  done
}

cmd_stop() {
  # A provisioner still at work would start a node after this stop.
  local pid pgrp
  if pid=$(cat "$RUN_DIR/provision.pid" 2>/dev/null) && [[ $pid =~ ^[0-9]+$ ]] \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "cluster.sh provision"; then
    local stat
    if stat=$(cat "/proc/$pid/stat" 2>/dev/null); then
      read -r _ _ pgrp _ <<<"${stat##*) }"
      kill -KILL -- "-$pgrp" 2>/dev/null || true
    fi
  fi
  rm -f "$RUN_DIR/provision.pid"
  # Also the nodes of pid files beyond the recorded layout, if any.
  local -a ids
  mapfile -t ids < <(node_ids)
  local file id
  for file in "$RUN_DIR"/n*.pid; do
    [[ -f $file ]] || continue
    id=$(basename "$file" .pid)
    [[ " ${ids[*]} " == *" $id "* ]] || ids+=("$id")
  done
  signal_and_wait TERM "${ids[@]}"
}

one_id() {
  [[ $# -eq 1 ]] || die "$CMD: expected one node id (see --help)"
  check_id "$1"
}

running_pid() {
  node_pid "$1" || die "$1 is not running"
}

cmd_restart() {
  local id=$1 pid
  if pid=$(node_pid "$id"); then
    die "$id is still running (pid $pid); stop-node or kill it first"
  fi
  [[ -f $ENV_FILE ]] || die "no cluster recorded in $RUN_DIR; use start"
  launch "$id"
  await_ready "$id" || exit 1
  node_line "$id" "$(node_pid "$id")"
}

cmd_wipe() {
  local id pid
  for id in $(node_ids); do
    if pid=$(node_pid "$id"); then
      die "$id is running (pid $pid); run cluster.sh stop first"
    fi
  done
  for id in $(node_ids); do
    rm -rf "${DATA_DIR:?}/$id" "$(log_file "$id")" "$(pid_file "$id")"
  done
  echo "removed the data and logs of n1..n$NODES"
}

CMD=${1:-}
[[ -n $CMD ]] || { usage >&2; exit 2; }
shift
case $CMD in
  -h | --help | help) usage; exit 0 ;;
  start) use_operator_cert; cmd_start "$@"; exit 0 ;;
esac
# The commands that change the layout take turns (an operator's and the
# autoscaler's), each reading the layout the last one left.
case $CMD in
  add | leave | remove | replace | provision)
    mkdir -p "$RUN_DIR"
    exec 9>>"$RUN_DIR/cluster.lock"
    flock -w "$((START_TIMEOUT * 5))" 9 || die "$CMD: another change holds $RUN_DIR/cluster.lock"
    ;;
esac
load_layout
use_operator_cert
case $CMD in
  status) cmd_status ;;
  stop) cmd_stop ;;
  kill) one_id "$@"; running_pid "$1" >/dev/null; signal_and_wait KILL "$1" ;;
  stop-node) one_id "$@"; running_pid "$1" >/dev/null; signal_and_wait TERM "$1" ;;
  pause) one_id "$@"; kill -STOP "$(running_pid "$1")"; echo "$1 paused" ;;
  resume) one_id "$@"; kill -CONT "$(running_pid "$1")"; echo "$1 resumed" ;;
  restart) one_id "$@"; cmd_restart "$1" ;;
  add) cmd_add "$@" ;;
  leave) one_id "$@"; cmd_leave "$1" ;;
  remove) one_id "$@"; cmd_remove "$1" ;;
  replace) one_id "$@"; cmd_replace "$1" ;;
  provision) cmd_provision "$@" ;;
  wipe) cmd_wipe ;;
  logs)
    [[ $# -ge 1 && $# -le 2 ]] || die "logs: usage: logs ID [-f]"
    check_id "$1"
    [[ -f $(log_file "$1") ]] || die "no log for $1 at $(log_file "$1")"
    if [[ ${2:-} == -f ]]; then tail -n 50 -f "$(log_file "$1")"
    elif [[ -n ${2:-} ]]; then die "logs: unknown option '$2'"
    else tail -n 50 "$(log_file "$1")"; fi
    ;;
  *) die "unknown command '$CMD' (see --help)" ;;
esac

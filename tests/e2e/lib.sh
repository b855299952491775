# shellcheck shell=bash
# Helpers shared by the e2e scripts; sourced with the kvnode and kvsh paths as
# arguments. Every child process is recorded and killed on exit, and the
# scratch directory is removed, whatever way the script ends.

if [[ $# -ne 2 || ! -x $1 || ! -x $2 ]]; then
  echo "usage: $0 KVNODE KVSH (both executable)" >&2
  exit 2
fi
KVNODE=$1
KVSH=$2
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kv-e2e.XXXXXX")
CHILD_PIDS=()

cleanup() {
  local pid
  for pid in "${CHILD_PIDS[@]}"; do
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [[ -n ${KEEP_WORK:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

step() {
  echo "--- $*"
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s; fails when it is
# still false after SECONDS.
wait_for() {
  local limit=$1 i
  shift
  for ((i = 0; i < limit * 10; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

# Every test speaks TLS, like a cluster started by the README: nodes
# started here and by cluster.sh get certificates of this test's own CAs,
# and kvsh and kvcheck the operator certificate (through KV_TLS_*).
CERTS=$WORK/certs
CERTS_SH=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../scripts" && pwd)/certs.sh
"$CERTS_SH" "$CERTS" operator tests >/dev/null \
  || fail "cannot make test certificates with $CERTS_SH"
export KV_CERT_DIR=$CERTS
export KV_TLS_CA=$CERTS/cluster-ca.pem
export KV_TLS_CERT=$CERTS/operators/tests.pem
export KV_TLS_KEY=$CERTS/operators/tests.key

# node_tls_flags ID: the kvnode flags of ID's certificate (made if missing).
node_tls_flags() {
  "$CERTS_SH" "$CERTS" node "$1" >/dev/null || fail "no certificate for $1"
  echo "--tls-ca=$CERTS/cluster-ca.pem --tls-cert=$CERTS/nodes/$1.pem" \
    "--tls-key=$CERTS/nodes/$1.key"
}

# refused NAME COMMAND...: COMMAND must exit non-zero within 30 s, print
# nothing to stdout and exactly one line to stderr; sets REFUSAL (the line)
# and REFUSAL_RC.
refused() {
  local name=$1 rc=0
  shift
  timeout 30 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null || rc=$?
  ((rc != 0)) || fail "$name: exit 0, expected a refusal"
  ((rc != 124)) || fail "$name: still running after 30 s"
  [[ ! -s $WORK/$name.out ]] \
    || fail "$name: wrote to stdout: $(cat "$WORK/$name.out")"
  local lines
  lines=$(wc -l <"$WORK/$name.err")
  ((lines == 1)) \
    || fail "$name: $lines lines on stderr: $(cat "$WORK/$name.err")"
  REFUSAL=$(cat "$WORK/$name.err")
  REFUSAL_RC=$rc
  echo "    $name -> exit $rc: $REFUSAL"
}

has_full_line() {
  [[ -s $1 && $(tail -c 1 "$1") == "" ]]
}

# start_node NAME DATA_DIR [FLAG...]: starts kvnode on a free port and waits
# for its ready line; sets NODE_PID and NODE_PORT. Output goes to
# $WORK/NAME.out and $WORK/NAME.err. With TLS (n1's certificate) unless the
# flags say --insecure or name other TLS files.
start_node() {
  local name=$1 dir=$2 i
  shift 2
  local out=$WORK/$name.out err=$WORK/$name.err
  local -a tls=()
  [[ " $* " == *" --insecure"* || " $* " == *" --tls-"* ]] \
    || read -r -a tls <<<"$(node_tls_flags n1)"
  "$KVNODE" --node-id=n1 --dc=dc1 --host=127.0.0.1 --port=0 \
    --data-dir="$dir" "${tls[@]}" "$@" >"$out" 2>"$err" &
  NODE_PID=$!
  CHILD_PIDS+=("$NODE_PID")
  # The ready line may take a while (WiredTiger recovery after kill -9), but
  # a node that died will never print it.
  for ((i = 0; i < 300; i++)); do
    has_full_line "$out" && break
    kill -0 "$NODE_PID" 2>/dev/null \
      || fail "kvnode $name exited before it was ready: $(cat "$err")"
    sleep 0.1
  done
  has_full_line "$out" || fail "kvnode $name not ready after 30 s"
  local line pattern
  line=$(head -n 1 "$out")
  pattern="^kvnode n1 ready on 127\.0\.0\.1:([0-9]+) dc=dc1 data=(.*)$"
  [[ $line =~ $pattern ]] || fail "unexpected ready line: $line"
  [[ ${BASH_REMATCH[2]} == "$dir" ]] \
    || fail "ready line names data dir ${BASH_REMATCH[2]}, expected $dir"
  NODE_PORT=${BASH_REMATCH[1]}
  ((NODE_PORT > 0)) || fail "ready line has port 0: $line"
}

node_gone() {
  ! kill -0 "$NODE_PID" 2>/dev/null
}

# stop_node NAME: SIGTERM, then the node must exit 0 within 30 s having
# printed nothing but its ready line to stdout.
stop_node() {
  local name=$1 rc=0
  kill -TERM "$NODE_PID"
  wait_for 30 node_gone \
    || fail "kvnode $name still running 30 s after SIGTERM"
  wait "$NODE_PID" || rc=$?
  ((rc == 0)) \
    || fail "kvnode $name exited $rc after SIGTERM: $(cat "$WORK/$name.err")"
  local lines
  lines=$(wc -l <"$WORK/$name.out")
  ((lines == 1)) || fail "kvnode $name printed $lines lines to stdout"
}

# crash_node: kill -9, the way a power cut looks to the process.
crash_node() {
  kill -9 "$NODE_PID"
  wait "$NODE_PID" 2>/dev/null || true
}

# shell INPUT OUTPUT [FLAG...]: runs kvsh against the current node with
# stdin from INPUT, stdout and stderr merged into OUTPUT (kvsh flushes after
# every command, so they stay in order); it must exit 0.
# Runs kvsh on INPUT; every command must succeed (exit status 0), or, with
# SHELL_FAILS=1, some must fail (exit status 1: kvsh reports errors in its
# status, issue 12).
shell() {
  local input=$1 output=$2 rc=0 want=${SHELL_FAILS:-0}
  shift 2
  timeout 120 "$KVSH" --port="$NODE_PORT" "$@" <"$input" >"$output" 2>&1 \
    || rc=$?
  ((rc == want)) \
    || fail "kvsh exited $rc (expected $want) on $input: $(tail -n 5 "$output")"
}

# Replaces what changes from run to run (clocks, times, context tokens) with
# fixed words, so a transcript can be compared with an expected one.
normalize() {
  local iso='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
  sed -E \
    -e "s/^  clock \\{[^}]*\\}(\\+[^ ]+)? written $iso\$/  clock C written T/" \
    -e 's/^  clock \{[^}]*\}$/  clock C/' \
    -e 's/^  context [^ ]+$/  context X/' \
    "$1"
}

# expect_transcript ACTUAL EXPECTED: the normalized ACTUAL must equal
# EXPECTED; shows the first differences (long lines cut) otherwise.
expect_transcript() {
  if ! diff <(normalize "$1") "$2" >"$WORK/diff"; then
    head -n 40 "$WORK/diff" | cut -c 1-160 >&2
    fail "transcript $1 differs from $2"
  fi
}

# expect_matching ACTUAL PATTERNS: the normalized ACTUAL has as many lines as
# PATTERNS and each matches its bash glob pattern (for error lines whose
# details belong to the node).
expect_matching() {
  local -a got patterns
  mapfile -t got < <(normalize "$1")
  mapfile -t patterns <"$2"
  local i line pattern
  for ((i = 0; i < ${#patterns[@]} || i < ${#got[@]}; i++)); do
    line=${got[i]-<missing>}
    pattern=${patterns[i]-<nothing more>}
    # shellcheck disable=SC2053 # the right side is a pattern on purpose
    [[ $line == $pattern ]] \
      || fail "line $((i + 1)) of $1 is '${line:0:200}'," \
              "expected '${pattern:0:200}'"
  done
}

# --- Clusters run by scripts/cluster.sh (K kvnode processes) ---------------
# A script calls cluster_env once, then starts the cluster on
# --base-port="$BASE" with `cluster start --nodes=K`; port_of, on and try_on
# then talk to node nI on port BASE+I-1.

CLUSTER_SH="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/cluster.sh"
cluster() { "$CLUSTER_SH" "$@"; }

port_free() {
  ! ss -Htln "sport = :$1" 2>/dev/null | grep -q . \
    && ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pick_base K: prints a base port P with P..P+K-1 free, in 20000-60000 and
# outside the kernel's ephemeral range when possible (a node restarting on a
# port some client socket took meanwhile would fail to bind).
pick_base() {
  local k=$1 try base p ok eph_lo eph_hi
  read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range || true
  for ((try = 0; try < 200; try++)); do
    base=$((20000 + RANDOM % 40000))
    if ((try < 100 && base + k - 1 >= ${eph_lo:-65536} && base <= ${eph_hi:-0})); then
      continue
    fi
    ok=1
    for ((p = base; p < base + k; p++)); do port_free "$p" || { ok=0; break; }; done
    ((ok)) && { echo "$base"; return 0; }
  done
  return 1
}

# The nodes run in their own sessions: stop them before cleanup removes
# their directories; show their logs when the test failed.
cluster_on_exit() {
  local rc=$? log
  if ((rc != 0)) && [[ -d ${KV_LOG_DIR:-} ]]; then
    for log in "$KV_LOG_DIR"/*.log; do
      [[ -f $log ]] || continue
      echo "=== last lines of $log" >&2
      tail -n "${CLUSTER_LOG_LINES:-20}" "$log" >&2
    done
  fi
  "$CLUSTER_SH" stop >/dev/null 2>&1 || true
  cleanup
}

# cluster_env K NODE_FLAGS: points cluster.sh at this script's scratch
# directory and binaries, installs the exit trap, and sets BASE to a base
# port with K free ports.
cluster_env() {
  # Free HTTP and client ports: a fixed offset from a random base could be
  # taken (a node logs its client port: "clients on HOST:PORT").
  # Autoscaling advises only: a test cluster must not grow or shrink under
  # a test that does not expect it (autoscale_ramp.sh turns it on).
  export KV_BIN KV_DATA_DIR=$WORK/data KV_LOG_DIR=$WORK/log \
    KV_RUN_DIR=$WORK/run KV_NODE_FLAGS=$2 KV_HTTP_BASE_PORT=0 \
    KV_CLIENT_BASE_PORT=${KV_CLIENT_BASE_PORT:-0} \
    KV_RESP_BASE_PORT=${KV_RESP_BASE_PORT:-off} \
    KV_AUTOSCALE=${KV_AUTOSCALE:-off}
  KV_BIN=$(dirname "$KVNODE")
  trap cluster_on_exit EXIT
  BASE=$(pick_base "$1") || fail "no $1 free ports found"
}

port_of() { echo "$((BASE + ${1#n} - 1))"; }

# on NODE INPUT OUTPUT: runs kvsh on NODE (shell above: must exit 0).
on() {
  # shellcheck disable=SC2034 # read by shell
  NODE_PORT=$(port_of "$1")
  shell "$2" "$3"
}

# try_on NODE OUTPUT COMMAND: one command, for bounded polls; true when it
# printed no error.
try_on() {
  printf '%s\n' "$3" >"$WORK/try.in"
  timeout 30 "$KVSH" --port="$(port_of "$1")" <"$WORK/try.in" >"$2" 2>&1 \
    && ! grep -q '^error:' "$2"
}

#!/usr/bin/env bash
# Installs what is missing, builds (Release, into build/), starts a local node
# on ./data and opens the kvsh shell on it. Leaving the shell stops the node.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kv_install_packages
kv_build

port="${KV_PORT:-4000}"
data_dir="${KV_DATA_DIR:-$KV_ROOT/data}"
log_dir="$KV_ROOT/var/log"
mkdir -p "$data_dir" "$log_dir"
log="$log_dir/n1.log"

"$KV_BUILD/apps/kvnode" --node-id=n1 --dc=dc1 --port="$port" \
  --data-dir="$data_dir/n1" >"$log" 2>&1 &
node_pid=$!
trap 'kill -TERM "$node_pid" 2>/dev/null; wait "$node_pid" 2>/dev/null || true' EXIT

# Wait (bounded) for the node's ready line.
for _ in $(seq 300); do
  grep -q " ready on " "$log" && break
  if ! kill -0 "$node_pid" 2>/dev/null; then
    echo "kvnode failed to start:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
grep " ready on " "$log" || { echo "kvnode did not become ready; see $log" >&2; exit 1; }
echo "node log: $log; type 'help' for commands"
"$KV_BUILD/apps/kvsh" --host=127.0.0.1 --port="$port"

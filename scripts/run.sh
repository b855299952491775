#!/usr/bin/env bash
# Installs what is missing, builds (Release, into build/), starts a local
# cluster of 3 nodes in 2 data centres (scripts/cluster.sh; data in ./data,
# logs in var/log) and opens the kvsh shell on n1. Leaving the shell stops
# the cluster, unless it was already running before.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kv_install_packages
kv_build

cluster="$KV_ROOT/scripts/cluster.sh"
port="${KV_PORT:-4000}"
if "$cluster" status >/dev/null 2>&1; then
  echo "cluster already running; leaving it running after the shell"
  port=$(source "${KV_RUN_DIR:-$KV_ROOT/var/run}/cluster.env" && echo "$BASE_PORT")
else
  "$cluster" start --nodes=3 --dcs=2 --base-port="$port"
  trap '"$cluster" stop' EXIT
fi
echo "logs: cluster.sh logs ID (var/log); type 'help' for commands"
"$KV_BUILD/apps/kvsh" --host=127.0.0.1 --port="$port"

#!/usr/bin/env bash
# Installs what is missing, builds (Release, into build/), starts a local
# cluster of 3 nodes in 2 data centres (scripts/cluster.sh; data in ./data,
# logs in var/log) and opens the kvsh shell on n1. Leaving the shell stops
# the cluster, unless it was already running before. A cluster found partly
# running (a node was killed or stopped) gets its stopped nodes started
# again and is left running too.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kv_install_packages
kv_build

cluster="$KV_ROOT/scripts/cluster.sh"
env_file="${KV_RUN_DIR:-$KV_ROOT/var/run}/cluster.env"
port="${KV_PORT:-4000}"
rc=0
# kvsh speaks TLS with the operator certificate cluster.sh made, unless the
# cluster runs without TLS (KV_TLS=off).
use_cluster_tls() {
  local tls certs
  tls=$(source "$env_file" && echo "${TLS:-off}")
  certs=$(source "$env_file" && echo "${CERT_DIR:-}")
  [[ $tls == on ]] || return 0
  export KV_TLS_CA=$certs/cluster-ca.pem
  export KV_TLS_CERT=$certs/operators/local.pem
  export KV_TLS_KEY=$certs/operators/local.key
}
"$cluster" status >/dev/null 2>&1 || rc=$?
if [[ -f $env_file ]] && ((rc == 0 || rc == 1)); then
  port=$(source "$env_file" && echo "$BASE_PORT")
  use_cluster_tls
  if ((rc == 1)); then
    echo "cluster partly running; starting its stopped nodes"
    while read -r id _ _ _ _ state; do
      [[ $state == stopped ]] || continue
      "$cluster" restart "$id"
    done < <("$cluster" status || true)
    # Open the shell once n1 sees every node up again (bounded).
    members=$("$cluster" status | wc -l)
    for ((i = 0; i < 300; i++)); do
      up=$(printf 'nodes\n' | timeout 10 "$KV_BUILD/apps/kvsh" --port="$port" 2>/dev/null \
        | grep -cE '^n[0-9]+ +[^ ]+ +[^ ]+ +up ' || true)
      ((up == members)) && break
      sleep 0.1
    done
  fi
  echo "cluster already running; leaving it running after the shell"
else
  "$cluster" start --nodes=3 --dcs=2 --base-port="$port"
  trap '"$cluster" stop' EXIT
fi
use_cluster_tls
http=$(source "$env_file" && echo "${HTTP_BASE:-}")
if [[ $http =~ ^[1-9][0-9]*$ ]]; then
  echo "status pages: http://127.0.0.1:$http/ (n1) and the next ports; metrics at /metrics"
fi
resp=$(source "$env_file" && echo "${RESP_BASE:-}")
if [[ $resp =~ ^[1-9][0-9]*$ ]]; then
  echo "Redis clients: redis-cli -p $resp (n1) and the next ports"
fi
echo "logs: cluster.sh logs ID (var/log); type 'help' for commands"
"$KV_BUILD/apps/kvsh" --host=127.0.0.1 --port="$port"

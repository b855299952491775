# Shared steps of the set-up scripts: install what is missing, build.
# Sourced, not run.

KV_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KV_BUILD="${KV_BUILD:-$KV_ROOT/build}"

# Debian packages the project needs to build, test and run. clang and
# libclang-rt-dev build the libFuzzer targets (tests/fuzz); nftables (the
# partitions), faketime (clock skew) and python3-matplotlib (the timeline
# plot) serve the fault checker, scripts/faultcheck.sh; curl and chromium
# scrape and render the metrics and status page (e2e_metrics); openssl makes
# the certificates (scripts/certs.sh) and libssl-dev builds against OpenSSL.
# redis-server,
# redis-tools (redis-cli, redis-benchmark), python3-redis and tmux are the
# real Redis peers its tests and bench/redis_compare.sh run against.
KV_PACKAGES=(cmake ninja-build g++ pkg-config libcaf-dev libcereal-dev
  libwiredtiger-dev libboost-test-dev libreadline-dev iproute2 procps
  clang libclang-rt-dev nftables faketime python3-matplotlib curl chromium
  openssl libssl-dev redis-server redis-tools python3-redis
  tmux)

kv_install_packages() {
  local missing=()
  for pkg in "${KV_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

kv_build() {
  if [ ! -f "$KV_BUILD/CMakeCache.txt" ]; then
    cmake -S "$KV_ROOT" -B "$KV_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$KV_BUILD" --parallel "$(nproc)"
}

# kv_ring_settled K: reads kvsh output that includes `ring` on stdin; true
# when the ring lists K members and no change is in transfer.
kv_ring_settled() {
  awk -v want="$1" '
    /^ring version / { seen = 1; next }
    /^change in transfer/ { busy = 1 }
    /^node +dc +primaries/ { table++; next }
    table == 1 && /^[^ ]+ +[^ ]+ +[0-9]+ +[0-9]+ / { rows++; next }
    table == 1 { table = 2 }
    END { exit !(seen && !busy && rows == want) }'
}

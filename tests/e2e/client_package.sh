#!/usr/bin/env bash
# The client library as a dependency (issue 12): `cmake --install` gives a
# package from which a program outside the tree (apps/example/standalone)
# builds with find_package(kvactors) and with pkg-config; the installed
# kvnode runs a 3-node cluster, and the program's client, given three node
# addresses, keeps serving as its nodes are killed or hang:
#  - a get after its node was killed goes to the next node;
#  - a get to a hung node goes to the next one after the request's limit;
#  - a put to a hung node fails saying the outcome is unknown (it is not
#    sent twice), and the next put goes to the next node.
#   client_package.sh BUILD_DIR
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$1
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$BUILD/apps/kvnode" \
  "$BUILD/apps/kvsh"
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PREFIX=$WORK/prefix

step "without tests and benchmarks the build needs no Boost.Test"
cmake -S "$SRC" -B "$WORK/minimal" -DKV_BUILD_TESTS=OFF -DKV_BUILD_BENCH=OFF \
  -DCMAKE_DISABLE_FIND_PACKAGE_Boost=TRUE >"$WORK/minimal.out" 2>&1 \
  || fail "configure without tests failed: $(tail -n 20 "$WORK/minimal.out")"
cmake --build "$WORK/minimal" --target help >"$WORK/targets.out"
grep -q 'kv_client' "$WORK/targets.out" || fail "no kv_client target"
! grep -qE 'test_|kvbench' "$WORK/targets.out" \
  || fail "tests or benchmarks configured although switched off"

step "cmake --install into $PREFIX"
cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.out" \
  || fail "install failed: $(tail -n 20 "$WORK/install.out")"
for file in bin/kvnode bin/kvsh lib/libkv_client.a \
  include/kvactors/apps/client/kv_client.hpp \
  include/kvactors/messages/interfaces.hpp \
  lib/cmake/kvactors/kvactorsConfig.cmake lib/pkgconfig/kvactors.pc; do
  [[ -e $PREFIX/$file ]] || fail "the install has no $file"
done

step "build apps/example/standalone with find_package(kvactors)"
cmake -S "$SRC/apps/example/standalone" -B "$WORK/line" \
  -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=Release \
  >"$WORK/configure.out" 2>&1 \
  || fail "configure failed: $(tail -n 20 "$WORK/configure.out")"
cmake --build "$WORK/line" >"$WORK/build.out" 2>&1 \
  || fail "build failed: $(tail -n 20 "$WORK/build.out")"

step "build it again with pkg-config"
export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
g++ -O0 $(pkg-config --cflags kvactors) \
  "$SRC/apps/example/standalone/kv_line.cpp" \
  $(pkg-config --libs kvactors) -o "$WORK/kv_line_pc" 2>"$WORK/pc.out" \
  || fail "pkg-config build failed: $(head -n 20 "$WORK/pc.out")"

step "a 3-node cluster of the installed kvnode"
KVNODE=$PREFIX/bin/kvnode
KVSH=$PREFIX/bin/kvsh
cluster_env 3 "--gossip-interval-ms=200"
cluster start --nodes=3 --dcs=2 --base-port="$BASE" >"$WORK/start.out" \
  || fail "cluster.sh start failed"
addr() { echo "127.0.0.1:$(port_of "$1")"; }

# The program as a coprocess: one command in, one line out.
coproc LINE { "$WORK/line/kv_line" --nodes="$(addr n1),$(addr n2),$(addr n3)" \
  --r=1 --w=1 --timeout-ms=1000 2>&1; }
# line COMMAND PATTERN: the answer to COMMAND must match the bash PATTERN.
line() {
  local answer
  echo "$1" >&"${LINE[1]}"
  read -r -t 60 answer <&"${LINE[0]}" || fail "kv_line did not answer '$1'"
  echo "    $1 -> $answer"
  # shellcheck disable=SC2053 # the right side is a pattern on purpose
  [[ $answer == $2 ]] || fail "'$1' answered '$answer', expected '$2'"
}
# on_replica NODE KEY VALUE: NODE's own replica holds VALUE for KEY.
on_replica() {
  try_on "$1" "$WORK/replica.out" "replica $2" \
    && grep -qx "$3" "$WORK/replica.out"
}

line "put k1 v1" "ok via $(addr n1)"
line "get k1" "v1 via $(addr n1)"
wait_for 30 on_replica n3 k1 v1 || fail "n3 never stored k1"

step "kill n1: the next get goes to n2"
cluster kill n1 >/dev/null
line "get k1" "v1 via $(addr n2)"
line "put k2 v2" "ok via $(addr n2)"

step "n2 hangs: a get goes on to n3 after the request's limit"
cluster pause n2 >/dev/null
line "get k1" "v1 via $(addr n3)"

step "n3 hangs (n2 back): a put is not sent twice, the next one goes to n2"
cluster resume n2 >/dev/null
cluster pause n3 >/dev/null
line "put k3 v3" "error: unavailable: $(addr n3) did not answer within 3000 ms: the write may or may not have been applied; read the key to learn which"
line "put k4 v4" "ok via $(addr n2)"
line "get k4" "v4 via $(addr n2)"
cluster resume n3 >/dev/null
exec {LINE[1]}>&-
wait "$LINE_PID" || fail "kv_line exited non-zero"

step "the pkg-config build reads what the other one wrote"
printf 'get k2\nget k4\n' \
  | timeout 60 "$WORK/kv_line_pc" --nodes="$(addr n1),$(addr n3)" --r=2 \
    >"$WORK/pc-run.out" 2>&1 || fail "kv_line (pkg-config) failed"
cat "$WORK/pc-run.out"
[[ $(cat "$WORK/pc-run.out") == "v2 via $(addr n3)"$'\n'"v4 via $(addr n3)" ]] \
  || fail "kv_line (pkg-config) answered: $(cat "$WORK/pc-run.out")"

#!/usr/bin/env bash
# Regression (issue 8.10): the coordinator sent each replica its deadline on
# the coordinator's wall clock, so a node whose clock ran ahead by more than
# the timeout refused every write it was asked to coordinate ("reached this
# replica ... after its deadline"): strict w=3 writes of its keys failed.
# Deadlines now travel on the replica's own clock (offsets measured by
# gossip). Three kvnode processes; n2 runs 90 s ahead under libfaketime.
#   clock_skew.sh BIN_DIR   (the directory of kvnode and kvsh)
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 BIN_DIR" >&2; exit 2; }
BIN=$1
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$BIN/kvnode" "$BIN/kvsh"
LIBFAKETIME=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[[ -f $LIBFAKETIME ]] || fail "no libfaketime (scripts/test.sh installs faketime)"
cluster_env 3 "--gossip-interval-ms=200 --n=3 --r=2 --w=2 --timeout-ms=3000"

step "start 3 nodes, then run n2 90 s ahead"
cluster start --nodes=3 --dcs=3 --base-port="$BASE" >/dev/null
cluster stop-node n2 >/dev/null
LD_PRELOAD=$LIBFAKETIME FAKETIME="+90s" FAKETIME_DONT_FAKE_MONOTONIC=1 \
  cluster restart n2 >/dev/null
printf 'nodes\n' >"$WORK/nodes.in"
# all_up NODE: NODE sees the three nodes up.
all_up() {
  on "$1" "$WORK/nodes.in" "$WORK/nodes.out"
  [[ $(grep -cE '^ *n[123] .*\bup\b' "$WORK/nodes.out") -eq 3 ]]
}
for node in n1 n3; do
  wait_for 30 all_up "$node" \
    || fail "$node does not see three nodes up: $(cat "$WORK/nodes.out")"
done
# A few gossip rounds, so every node has measured n2's clock.
sleep 2

step "strict w=3 writes through n1 and n3 all succeed"
for node in n1 n3; do
  : >"$WORK/put.in" && : >"$WORK/put.want"
  for i in $(seq -w 1 20); do
    printf 'put skew-%s-%s v%s w=3 strict=1\n' "$node" "$i" "$i" >>"$WORK/put.in"
    printf 'ok\n  clock C\n' >>"$WORK/put.want"
  done
  on "$node" "$WORK/put.in" "$WORK/put-$node.out"
  expect_transcript "$WORK/put-$node.out" "$WORK/put.want"
done

step "the ring sends some of those keys to n2 first"
: >"$WORK/ring.in"
for node in n1 n3; do
  for i in $(seq -w 1 20); do
    printf 'ring skew-%s-%s n=3\n' "$node" "$i" >>"$WORK/ring.in"
  done
done
on n1 "$WORK/ring.in" "$WORK/ring.out"
grep -qE '^n2 .*primary$' "$WORK/ring.out" || fail "no key has n2 as its first owner"
echo "PASS"

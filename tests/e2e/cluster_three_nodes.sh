#!/usr/bin/env bash
# Three kvnode processes in two data centres, run by scripts/cluster.sh:
# writes through one node are read back exactly through the others with a
# quorum, deletes are seen everywhere, writes and reads with w=2/r=2 go on
# while one node is down (w=3 fails), and the restarted node serves r=3 reads.
#   cluster_three_nodes.sh BIN_DIR   (the directory of kvnode and kvsh)
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 BIN_DIR" >&2; exit 2; }
BIN=$1
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$BIN/kvnode" "$BIN/kvsh"
cluster_env 3 "--gossip-interval-ms=200"

step "start 3 nodes in 2 dcs on ports $BASE-$((BASE + 2))"
cluster start --nodes=3 --dcs=2 --base-port="$BASE" >"$WORK/start.out" \
  || fail "cluster.sh start failed"
cat "$WORK/start.out"
[[ $(grep -cE '^n[123] +dc[12] +127\.0\.0\.1:[0-9]+ +pid [0-9]+$' "$WORK/start.out") \
  -eq 3 ]] || fail "unexpected start output"
grep -qE "^n2 +dc2 +127\.0\.0\.1:$((BASE + 1)) " "$WORK/start.out" \
  || fail "n2 is not in dc2 on port $((BASE + 1))"
cluster status >"$WORK/status.out" || fail "status: not all running"
[[ $(grep -c ' running$' "$WORK/status.out") -eq 3 ]] \
  || fail "status: $(cat "$WORK/status.out")"
if cluster start --nodes=3 --base-port="$BASE" >"$WORK/again.out" 2>&1; then
  fail "a second start of a running cluster succeeded"
fi
grep -q 'already running' "$WORK/again.out" \
  || fail "second start: $(cat "$WORK/again.out")"

step "write 100 keys through n1 (w=2)"
: >"$WORK/put.in" && : >"$WORK/put.want"
for i in $(seq -w 1 100); do
  printf 'put key-%s value-%s w=2\n' "$i" "$i" >>"$WORK/put.in"
  printf 'ok\n  clock C\n' >>"$WORK/put.want"
done
on n1 "$WORK/put.in" "$WORK/put.out"
expect_transcript "$WORK/put.out" "$WORK/put.want"

# reads KEYS_FILE EXPECT: builds get commands (with r=$R) and their output;
# a key whose expected value is "-" must be absent.
declare -A value=()
for i in $(seq -w 1 100); do value[key-$i]=value-$i; done
make_reads() {
  local r=$1 in=$2 want=$3 key
  : >"$in" && : >"$want"
  for key in $(printf '%s\n' "${!value[@]}" | sort); do
    printf 'get %s r=%s\n' "$key" "$r" >>"$in"
    if [[ ${value[$key]} == - ]]; then
      printf '(not found)\n' >>"$want"
    else
      printf '%s\n  clock C written T\n  context X\n' "${value[$key]}" >>"$want"
    fi
  done
}

step "read them through n2 and n3 (r=2)"
make_reads 2 "$WORK/get.in" "$WORK/get.want"
for node in n2 n3; do
  on "$node" "$WORK/get.in" "$WORK/get-$node.out"
  expect_transcript "$WORK/get-$node.out" "$WORK/get.want"
done

step "delete every 10th key through n3, read them through n1"
: >"$WORK/del.in" && : >"$WORK/del.want"
for i in $(seq -w 10 10 100); do
  # Read first so the delete supersedes the value (ctx=@).
  printf 'get key-%s\ndelete key-%s ctx=@\n' "$i" "$i" >>"$WORK/del.in"
  printf 'value-%s\n  clock C written T\n  context X\nok\n  clock C\n' \
    "$i" >>"$WORK/del.want"
  value[key-$i]=-
done
on n3 "$WORK/del.in" "$WORK/del.out"
expect_transcript "$WORK/del.out" "$WORK/del.want"
make_reads 2 "$WORK/get.in" "$WORK/get.want"
on n1 "$WORK/get.in" "$WORK/get-n1.out"
expect_transcript "$WORK/get-n1.out" "$WORK/get.want"
[[ $(grep -c '^(not found)$' "$WORK/get-n1.out") -eq 10 ]] \
  || fail "expected 10 deleted keys through n1"

step "kill -9 n3"
cluster kill n3
cluster status >"$WORK/status.out" && fail "status: all running with n3 killed"
grep -qE '^n3 .* stopped$' "$WORK/status.out" \
  || fail "status: $(cat "$WORK/status.out")"

step "w=2 writes through n1 and r=2 reads through n2 go on without n3"
: >"$WORK/put2.in" && : >"$WORK/put2.want"
for i in $(seq -w 1 20); do
  printf 'put down-%s while-n3-down-%s w=2\n' "$i" "$i" >>"$WORK/put2.in"
  printf 'ok\n  clock C\n' >>"$WORK/put2.want"
  value[down-$i]=while-n3-down-$i
done
on n1 "$WORK/put2.in" "$WORK/put2.out"
expect_transcript "$WORK/put2.out" "$WORK/put2.want"
make_reads 2 "$WORK/get.in" "$WORK/get.want"
on n2 "$WORK/get.in" "$WORK/get-n2-down.out"
expect_transcript "$WORK/get-n2-down.out" "$WORK/get.want"

step "w=3 through n1 fails (quorum) while n3 is down"
printf 'put never-written x w=3\n' >"$WORK/w3.in"
printf 'error: *quorum*\n' >"$WORK/w3.want"
SHELL_FAILS=1 on n1 "$WORK/w3.in" "$WORK/w3.out"
expect_matching "$WORK/w3.out" "$WORK/w3.want"
cat "$WORK/w3.out"

step "restart n3; r=3 reads through n3 succeed"
cluster restart n3 || fail "cluster.sh restart n3 failed"
wait_for 60 try_on n3 "$WORK/poll.out" "get key-001 r=3" \
  || fail "get r=3 through n3 still failing 60 s after restart: $(cat "$WORK/poll.out")"
make_reads 3 "$WORK/get.in" "$WORK/get.want"
on n3 "$WORK/get.in" "$WORK/get-n3-r3.out"
expect_transcript "$WORK/get-n3-r3.out" "$WORK/get.want"

step "pause and resume n2"
cluster pause n2
cluster status >"$WORK/status.out" || true
grep -qE '^n2 .* hung$' "$WORK/status.out" \
  || fail "status of a paused node: $(cat "$WORK/status.out")"
cluster resume n2
cluster status >/dev/null || fail "status after resume: not all running"

step "stop the cluster"
cluster stop >"$WORK/stop.out" 2>&1
grep -q warning "$WORK/stop.out" && fail "stop needed SIGKILL: $(cat "$WORK/stop.out")"
rc=0
cluster status >"$WORK/status.out" || rc=$?
((rc == 3)) || fail "status after stop (exit $rc): $(cat "$WORK/status.out")"
echo "PASS"

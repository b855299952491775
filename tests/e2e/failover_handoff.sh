#!/usr/bin/env bash
# Hinted handoff across a crash, and writes across a hang, with five kvnode
# processes in two data centres run by scripts/cluster.sh (N=3, R=2, W=2):
#  - n3 is killed (SIGKILL); every w=2 write through n1 and n2 of keys it
#    owns is acknowledged, the stand-ins hold hints for it;
#  - n3 restarts; every hint is delivered, n3's own store holds exactly the
#    last acknowledged value of each of its keys, and strict r=3 reads
#    through n4 return it;
#  - n5 hangs (SIGSTOP); once it is detected, w=2 writes through n1 of keys
#    it owns succeed at once; after SIGCONT its hints are delivered too.
#   failover_handoff.sh BIN_DIR   (the directory of kvnode and kvsh)
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 BIN_DIR" >&2; exit 2; }
BIN=$1
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$BIN/kvnode" "$BIN/kvsh"
NODES=5
# shellcheck disable=SC2034 # read by lib.sh's cluster_on_exit
CLUSTER_LOG_LINES=40
cluster_env "$NODES" "--gossip-interval-ms=200 --n=3 --r=2 --w=2"
STARTED=$SECONDS
ALL_NODES=(n1 n2 n3 n4 n5)

# owners_of NODE PREFIX COUNT: asks NODE for the preference lists (n=3) of
# PREFIX0..PREFIX<COUNT-1> in one kvsh run; sets OWNERS[key]="nA nB nC".
declare -A OWNERS=()
owners_of() {
  local node=$1 prefix=$2 count=$3 i key
  local in=$WORK/ring.in out=$WORK/ring.out
  : >"$in"
  for ((i = 0; i < count; i++)); do
    printf 'ring %s%d n=3\n' "$prefix" "$i" >>"$in"
  done
  on "$node" "$in" "$out"
  local -a lines
  mapfile -t lines <"$out"
  ((${#lines[@]} == 3 * count)) \
    || fail "ring: ${#lines[@]} lines for $count keys: $(head -n 5 "$out")"
  local pattern='^(n[1-5]) +dc[12] +(primary|replica)$' j role owners
  for ((i = 0; i < count; i++)); do
    key=$prefix$i owners=""
    for ((j = 0; j < 3; j++)); do
      [[ ${lines[3 * i + j]} =~ $pattern ]] \
        || fail "ring $key: unexpected line '${lines[3 * i + j]}'"
      role=${BASH_REMATCH[2]}
      [[ $role == "$( ((j == 0)) && echo primary || echo replica)" ]] \
        || fail "ring $key: line $((j + 1)) is $role"
      [[ " $owners " != *" ${BASH_REMATCH[1]} "* ]] \
        || fail "ring $key: ${BASH_REMATCH[1]} listed twice"
      owners+="${owners:+ }${BASH_REMATCH[1]}"
    done
    OWNERS[$key]=$owners
  done
}

# left_of LIMIT T0: the seconds left (at least 1) of LIMIT s started at T0.
left_of() {
  local left=$(($1 - (SECONDS - $2)))
  echo $((left < 1 ? 1 : left))
}

owned_by() { [[ " ${OWNERS[$1]} " == *" $2 "* ]]; }

# status_on NODE ID: ID's status in NODE's `nodes` (empty if unknown).
status_on() {
  try_on "$1" "$WORK/nodes-$1.out" nodes || return 1
  awk -v id="$2" '$1 == id { print $4 }' "$WORK/nodes-$1.out"
}
not_up_on() {
  local s
  s=$(status_on "$1" "$2") || return 1
  [[ -n $s && $s != up ]]
}
# all_up_everywhere: every running node lists all NODES nodes as up.
all_up_everywhere() {
  local node
  for node in "${ALL_NODES[@]}"; do
    try_on "$node" "$WORK/nodes-$node.out" nodes || return 1
    [[ $(grep -cE '^n[1-5] +dc[12] +[0-9.]+:[0-9]+ +up ' \
      "$WORK/nodes-$node.out") -eq $NODES ]] || return 1
  done
}

# hints_total NODE: the cluster's pending hints as NODE's `hints` counts
# them, asking every member (issue 12: it used to show NODE's own only);
# fails unless every member but the down ones answered.
hints_total() {
  local out=$WORK/hints-$1.out pattern
  try_on "$1" "$out" hints || return 1
  pattern='^(no hints|([0-9]+) hint\(s\)) pending in the cluster \(([0-9]+) of ([0-9]+) nodes answered\)$'
  [[ $(tail -n 1 "$out") =~ $pattern ]] || return 1
  ((BASH_REMATCH[3] + ${2:-0} == BASH_REMATCH[4])) || return 1
  echo "${BASH_REMATCH[2]:-0}"
}
no_hints_anywhere() {
  local node
  for node in "${ALL_NODES[@]}"; do
    [[ $(hints_total "$node") == 0 ]] || return 1
  done
}

# show_hints: the nodes' `hints`, for failure messages.
show_hints() {
  local node
  for node in "${ALL_NODES[@]}"; do
    echo "[$node]"
    cat "$WORK/hints-$node.out" 2>/dev/null || true
  done
}

# expect_replicas NODE KEY...: NODE's own store holds exactly VALUE[KEY],
# one live version and nothing else, for every KEY.
declare -A VALUE=()
expect_replicas() {
  local node=$1 key
  shift
  : >"$WORK/replica.in" && : >"$WORK/replica.want"
  for key in "$@"; do
    printf 'replica %s\n' "$key" >>"$WORK/replica.in"
    printf '%s\n  clock C written T\n' "${VALUE[$key]}" >>"$WORK/replica.want"
  done
  on "$node" "$WORK/replica.in" "$WORK/replica-$node.out"
  expect_transcript "$WORK/replica-$node.out" "$WORK/replica.want"
}

# expect_strict_reads NODE KEY...: `get KEY r=3 strict=1` through NODE
# returns exactly VALUE[KEY] for every KEY.
expect_strict_reads() {
  local node=$1 key
  shift
  : >"$WORK/strict.in" && : >"$WORK/strict.want"
  for key in "$@"; do
    printf 'get %s r=3 strict=1\n' "$key" >>"$WORK/strict.in"
    printf '%s\n  clock C written T\n  context X\n' "${VALUE[$key]}" \
      >>"$WORK/strict.want"
  done
  on "$node" "$WORK/strict.in" "$WORK/strict-$node.out"
  expect_transcript "$WORK/strict-$node.out" "$WORK/strict.want"
}

step "start $NODES nodes in 2 dcs on ports $BASE-$((BASE + NODES - 1))"
cluster start --nodes="$NODES" --dcs=2 --base-port="$BASE" >"$WORK/start.out" \
  || fail "cluster.sh start failed"
cat "$WORK/start.out"
[[ $(grep -cE '^n[1-5] +dc[12] +127\.0\.0\.1:[0-9]+ +pid [0-9]+$' "$WORK/start.out") \
  -eq $NODES ]] || fail "unexpected start output"

step "pick >= 40 keys that n3 owns (ring KEY n=3 through n1)"
VICTIM_KEYS=() OTHER_KEYS=()
batch=0
while ((${#VICTIM_KEYS[@]} < 40)); do
  ((batch < 10)) || fail "fewer than 40 of $((batch * 100)) keys owned by n3"
  OWNERS=()
  owners_of n1 "k$batch-" 100
  for ((i = 0; i < 100; i++)); do
    key=k$batch-$i
    if owned_by "$key" n3; then
      VICTIM_KEYS+=("$key")
    elif ((${#OTHER_KEYS[@]} < 10)); then
      OTHER_KEYS+=("$key")
    fi
  done
  batch=$((batch + 1))
done
ALL_KEYS=("${VICTIM_KEYS[@]}" "${OTHER_KEYS[@]}")
echo "${#VICTIM_KEYS[@]} keys owned by n3, ${#OTHER_KEYS[@]} others"
((${#OTHER_KEYS[@]} == 10)) || fail "fewer than 10 keys not owned by n3"

step "write every key with w=3 through n1 while all nodes are up"
: >"$WORK/put0.in" && : >"$WORK/put0.want"
for key in "${ALL_KEYS[@]}"; do
  VALUE[$key]=before-$key
  printf 'put %s %s w=3\n' "$key" "${VALUE[$key]}" >>"$WORK/put0.in"
  printf 'ok\n  clock C\n' >>"$WORK/put0.want"
done
on n1 "$WORK/put0.in" "$WORK/put0.out"
expect_transcript "$WORK/put0.out" "$WORK/put0.want"
expect_replicas n3 "${VICTIM_KEYS[@]}"

step "kill -9 n3; wait until n1 no longer sees it up"
cluster kill n3
t0=$SECONDS
wait_for 30 not_up_on n1 n3 \
  || fail "n1 still lists n3 as up 30 s after kill -9: $(cat "$WORK/nodes-n1.out")"
echo "n1 sees n3 $(status_on n1 n3) after $((SECONDS - t0)) s"

# Two rounds; in each, a key is read and overwritten (ctx=@: the new value
# supersedes the old one) through n1 or n2, alternately, with w=2; the
# second round swaps the coordinators. Every write must be acknowledged,
# and every read must return the value acknowledged before it.
for round in 1 2; do
  step "round $round: read and overwrite every key with w=2 through n1 and n2"
  for node in n1 n2; do
    : >"$WORK/put$round-$node.in" && : >"$WORK/put$round-$node.want"
  done
  declare -A NEXT=()
  i=0
  for key in "${ALL_KEYS[@]}"; do
    if (((i + round) % 2 == 0)); then node=n1; else node=n2; fi
    i=$((i + 1))
    NEXT[$key]=round$round-via-$node-$key
    printf 'get %s\nput %s %s ctx=@ w=2\n' "$key" "$key" "${NEXT[$key]}" \
      >>"$WORK/put$round-$node.in"
    printf '%s\n  clock C written T\n  context X\nok\n  clock C\n' \
      "${VALUE[$key]}" >>"$WORK/put$round-$node.want"
  done
  for node in n1 n2; do
    on "$node" "$WORK/put$round-$node.in" "$WORK/put$round-$node.out"
    expect_transcript "$WORK/put$round-$node.out" "$WORK/put$round-$node.want"
  done
  for key in "${ALL_KEYS[@]}"; do VALUE[$key]=${NEXT[$key]}; done
  unset NEXT
done

step "the stand-ins hold hints for n3"
# One `hints` shows the whole cluster; n3 itself is down (1 not asked).
total=$(hints_total n1 1) || fail "hints: $(show_hints)"
cat "$WORK/hints-n1.out"
((total > 0)) || fail "no hints pending after writes with n3 down"
if grep -vE '^holder +owner +hints$|^n[1245] +n3 +[0-9]+$|^n3 +\? .*|pending in the cluster' \
  "$WORK/hints-n1.out" | grep -q .; then
  fail "hints for another owner than n3: $(cat "$WORK/hints-n1.out")"
fi
for node in n2 n4 n5; do
  [[ $(hints_total "$node" 1) == "$total" ]] \
    || fail "$node counts other hints than n1: $(cat "$WORK/hints-$node.out")"
done
echo "$total hint(s) pending in all"

step "restart n3; wait until every node sees all up and no hint is pending"
cluster restart n3 || fail "cluster.sh restart n3 failed"
t0=$SECONDS
wait_for 60 all_up_everywhere \
  || fail "not all nodes up everywhere 60 s after restart: $(cat "$WORK"/nodes-n*.out)"
wait_for "$(left_of 60 "$t0")" no_hints_anywhere \
  || fail "hints still pending 60 s after the restart of n3: $(show_hints)"
echo "hints delivered $((SECONDS - t0)) s after the restart"
# The holders say so in their logs (issue 12: delivery was silent): the
# counts they logged add up to the hints that were pending.
logged=$(cat "$KV_LOG_DIR"/n{1,2,4,5}.log \
  | sed -nE 's/.*hint buffer: delivered ([0-9]+) hint\(s\) to n3 in [0-9]+ ms$/\1/p' \
  | awk '{ s += $1 } END { print s + 0 }')
((logged == total)) \
  || fail "the logs report $logged hint(s) delivered to n3, $total were pending"

step "n3's own store holds exactly the last acknowledged value of its keys"
expect_replicas n3 "${VICTIM_KEYS[@]}"

step "get r=3 strict=1 through n4 returns the last value of every key"
expect_strict_reads n4 "${ALL_KEYS[@]}"

step "pause n5 (hung); w=2 writes through n1 of keys n5 owns go on"
OWNERS=()
owners_of n1 hung- 100
# 21 keys n5 owns; the first (retried until it succeeds) has n5 as its
# primary, the one a coordinator asks to issue the new version.
HUNG_KEYS=()
for ((i = 0; i < 100; i++)); do
  if [[ ${OWNERS[hung-$i]} == "n5 "* ]]; then HUNG_KEYS=("hung-$i"); break; fi
done
((${#HUNG_KEYS[@]} == 1)) || fail "n5 is the primary of none of 100 keys"
for ((i = 0; i < 100 && ${#HUNG_KEYS[@]} < 21; i++)); do
  if owned_by "hung-$i" n5 && [[ hung-$i != "${HUNG_KEYS[0]}" ]]; then
    HUNG_KEYS+=("hung-$i")
  fi
done
((${#HUNG_KEYS[@]} == 21)) || fail "fewer than 21 of 100 keys owned by n5"
primary=0
for key in "${HUNG_KEYS[@]}"; do
  if [[ ${OWNERS[$key]} == "n5 "* ]]; then primary=$((primary + 1)); fi
done
echo "21 keys owned by n5 (primary of $primary)"
cluster pause n5
t0=$SECONDS
first=${HUNG_KEYS[0]}
VALUE[$first]=while-n5-hung-$first
attempts=0
until try_on n1 "$WORK/hung-first.out" "put $first ${VALUE[$first]} w=2"; do
  attempts=$((attempts + 1))
  ((SECONDS - t0 < 15)) \
    || fail "w=2 write through n1 still failing 15 s after pausing n5: $(cat "$WORK/hung-first.out")"
done
grep -q '^ok$' "$WORK/hung-first.out" \
  || fail "first write with n5 hung: $(cat "$WORK/hung-first.out")"
echo "first write acknowledged after $attempts failed attempt(s), $((SECONDS - t0)) s"
: >"$WORK/hung.in" && : >"$WORK/hung.want"
for key in "${HUNG_KEYS[@]:1}"; do
  VALUE[$key]=while-n5-hung-$key
  printf 'put %s %s w=2\n' "$key" "${VALUE[$key]}" >>"$WORK/hung.in"
  printf 'ok\n  clock C\n' >>"$WORK/hung.want"
done
t1=$SECONDS
on n1 "$WORK/hung.in" "$WORK/hung.out"
expect_transcript "$WORK/hung.out" "$WORK/hung.want"
echo "20 more writes acknowledged in $((SECONDS - t1)) s"
cluster status >"$WORK/status.out" || true
grep -qE '^n5 .* hung$' "$WORK/status.out" \
  || fail "n5 not hung during the writes: $(cat "$WORK/status.out")"

step "resume n5; its hints are delivered"
cluster resume n5
t0=$SECONDS
wait_for 60 all_up_everywhere \
  || fail "not all nodes up everywhere 60 s after resume: $(cat "$WORK"/nodes-n*.out)"
wait_for "$(left_of 60 "$t0")" no_hints_anywhere \
  || fail "hints still pending 60 s after n5 resumed: $(show_hints)"
echo "hints delivered $((SECONDS - t0)) s after the resume"
expect_strict_reads n4 "${HUNG_KEYS[@]}"

step "stop the cluster"
cluster stop >"$WORK/stop.out" 2>&1
grep -q warning "$WORK/stop.out" && fail "stop needed SIGKILL: $(cat "$WORK/stop.out")"
echo "PASS in $((SECONDS - STARTED)) s"

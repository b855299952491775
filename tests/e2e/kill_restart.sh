#!/usr/bin/env bash
# Acknowledged writes survive kill -9: writes ~300 keys, deletes and updates
# some through kvsh, kills the node with SIGKILL, restarts it on the same
# data directory and reads every key back exactly. Then SIGTERM must stop the
# node cleanly (exit 0).
#   kill_restart.sh KVNODE KVSH
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

DATA=$WORK/data
WRITES_IN=$WORK/writes.in
WRITES_WANT=$WORK/writes.want
READS_IN=$WORK/reads.in
READS_WANT=$WORK/reads.want

# What every key must read back as after the restart; deleted keys are
# absent.
declare -A final=()
keys=()

# send LINE: a command for the write session; want TEXT: its expected output.
send() { printf '%s\n' "$1" >>"$WRITES_IN"; }
want() { printf '%s\n' "$1" >>"$WRITES_WANT"; }
want_value() { printf '%s\n  clock C written T\n  context X\n' "$1" >>"$2"; }

# put KEY TYPED VALUE [OPTION...]: TYPED is how the value appears on the
# command line (quoted or not), VALUE what it means.
put() {
  local key=$1 typed=$2 value=$3
  shift 3
  send "put $key $typed${*:+ $*}"
  want "ok"
  want "  clock C"
  [[ -v "final[$key]" ]] || keys+=("$key")
  final[$key]=$value
}

# Reads the key, then writes on top of what was read (ctx=@), so the new
# version supersedes the old one instead of becoming a sibling.
read_then() {
  local key=$1
  shift
  send "get $key"
  want_value "${final[$key]}" "$WRITES_WANT"
  send "$* ctx=@"
  want "ok"
  want "  clock C"
}

step "write phase"
for i in $(seq -w 1 300); do
  # Some requests carry explicit options, all valid on one node.
  if ((10#$i % 50 == 0)); then
    put "key-$i" "value-$i" "value-$i" w=1 timeout=10000
  else
    put "key-$i" "value-$i" "value-$i"
  fi
done
put '"spaced key"' '"hello   world, with  spaces"' "hello   world, with  spaces"
put quoted '"say \"hi\" \\ there"' 'say "hi" \ there'
big=$(head -c 75000 /dev/urandom | base64 -w 0)
((${#big} == 100000)) || fail "big value has ${#big} bytes"
put big "$big" "$big"
for i in $(seq -w 1 300); do
  if ((10#$i % 10 == 0)); then
    read_then "key-$i" delete "key-$i"
    unset "final[key-$i]"
  elif ((10#$i % 7 == 3)); then
    read_then "key-$i" put "key-$i" "updated-$i"
    final[key-$i]=updated-$i
  fi
done
send "delete never-written"
want "ok"
want "  clock C"
keys+=(never-written)

start_node first "$DATA"
shell "$WRITES_IN" "$WORK/writes.out"
expect_transcript "$WORK/writes.out" "$WRITES_WANT"
acked=$(grep -c '^ok$' "$WORK/writes.out")
step "all $acked writes acknowledged; kill -9 the node"
crash_node

step "restart on the same data directory"
start_node second "$DATA"
for key in "${keys[@]}"; do
  printf 'get %s\n' "$key" >>"$READS_IN"
  if [[ -v "final[$key]" ]]; then
    want_value "${final[$key]}" "$READS_WANT"
  else
    printf '(not found)\n' >>"$READS_WANT"
  fi
done
# The recovered node must take writes as well as serve reads.
printf 'put after-restart yes\n' >>"$READS_IN"
printf 'ok\n  clock C\n' >>"$READS_WANT"
shell "$READS_IN" "$WORK/reads.out"
expect_transcript "$WORK/reads.out" "$READS_WANT"
deleted=$(grep -c '^(not found)$' "$WORK/reads.out")
step "all ${#keys[@]} keys read back exactly ($deleted of them deleted)"

step "SIGTERM stops the node cleanly"
stop_node second
echo "PASS"

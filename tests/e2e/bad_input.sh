#!/usr/bin/env bash
# Bad input gets a clear one-line error and loses nothing: kvnode refuses bad
# flags and an unusable data directory; kvsh reports an unreachable node,
# rejects malformed commands and oversized keys and values (its own limit and
# the node's), and a key written before all that still reads back.
#   bad_input.sh KVNODE KVSH
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

read -r -a n1_tls <<<"$(node_tls_flags n1)"
read -r -a n2_tls <<<"$(node_tls_flags n2)"
node_flags=(--node-id=n1 --dc=dc1 --host=127.0.0.1 --port=0 "${n1_tls[@]}")

step "kvnode refuses bad flags and an unusable data directory"
touch "$WORK/plain-file"
refused bad-flag "$KVNODE" "${node_flags[@]}" --data-dir="$WORK/d1" \
  --bogus-flag=1
refused bad-port "$KVNODE" "${node_flags[@]/--port=0/--port=70000}" \
  --data-dir="$WORK/d2"
refused bad-durability "$KVNODE" "${node_flags[@]}" --data-dir="$WORK/d3" \
  --durability=sometimes
# Regression (issue 8.10): a zero hint window and an unbounded default
# timeout were accepted.
refused zero-hint-window "$KVNODE" "${node_flags[@]}" --data-dir="$WORK/d4" \
  --hint-max-age-s=0
refused huge-timeout "$KVNODE" "${node_flags[@]}" --data-dir="$WORK/d5" \
  --timeout-ms=4000000000
refused file-as-data-dir "$KVNODE" "${node_flags[@]}" \
  --data-dir="$WORK/plain-file"
[[ -f $WORK/plain-file && ! -s $WORK/plain-file ]] \
  || fail "kvnode changed the regular file it was given as data directory"

step "kvsh refuses bad flags"
refused kvsh-bad-flag "$KVSH" --bogus
refused kvsh-bad-port "$KVSH" --port=99999

step "kvsh against a closed port"
# A node that just stopped leaves a port nothing listens on.
start_node closed "$WORK/closed"
closed_port=$NODE_PORT
stop_node closed
refused kvsh-closed-port "$KVSH" --port="$closed_port"
((REFUSAL_RC == 1)) \
  || fail "kvsh exited $REFUSAL_RC for a closed port, expected 1"
unreachable="error: cannot reach node at 127.0.0.1:$closed_port"
[[ $REFUSAL == "$unreachable: connection refused" ]] \
  || fail "unclear unreachable-node message: $REFUSAL"

step "kvnode names the problem with a taken port, a config file or a seed"
# Regression (issue 12): a taken port got CAF's error dump, an unknown name
# in a config file was ignored, and no log line said a seed was unreachable.
start_node busy "$WORK/busy"
refused port-taken "$KVNODE" --node-id=n2 --dc=dc1 --host=127.0.0.1 \
  --port="$NODE_PORT" --data-dir="$WORK/d6" "${n2_tls[@]}"
[[ $REFUSAL == "kvnode: port $NODE_PORT on 127.0.0.1 is already in use"* ]] \
  || fail "unclear taken-port message: $REFUSAL"
stop_node busy
example=$(dirname "${BASH_SOURCE[0]}")/../../apps/kvnode/kvnode.example.ini
diff <("$KVNODE" --dump-config) "$example" >"$WORK/dump.diff" \
  || fail "apps/kvnode/kvnode.example.ini differs from kvnode --dump-config:" \
          "$(head -n 20 "$WORK/dump.diff")"
printf '[global]\nmax-value-byte = 1000\n' >"$WORK/typo.ini"
refused config-typo "$KVNODE" "${node_flags[@]}" --data-dir="$WORK/d7" \
  --config-file="$WORK/typo.ini"
[[ $REFUSAL == *"typo.ini, line 2: unknown option 'max-value-byte' in [global]"* ]] \
  || fail "unclear unknown-option message: $REFUSAL"
printf '[global]\n# a comment\n' >"$WORK/hash.ini"
refused config-hash-comment "$KVNODE" "${node_flags[@]}" \
  --data-dir="$WORK/d8" --config-file="$WORK/hash.ini"
printf '[global]\ndc = east\n' >"$WORK/unquoted.ini"
refused config-unquoted "$KVNODE" "${node_flags[@]}" --data-dir="$WORK/d9" \
  --config-file="$WORK/unquoted.ini"
[[ $REFUSAL == *"line 2: the value of 'dc' is text: put it in double quotes"* ]] \
  || fail "unclear unquoted-text message: $REFUSAL"
refused config-missing "$KVNODE" "${node_flags[@]}" --data-dir="$WORK/d10" \
  --config-file="$WORK/no-such.ini"
start_node lonely "$WORK/lonely" --gossip-interval-ms=100 \
  --seeds=127.0.0.1:"$closed_port"
seed_warning="no seed reachable after [0-9]+ gossip rounds \\(cannot reach 127\\.0\\.0\\.1:$closed_port: connection refused\\)"
wait_for 30 grep -qE "$seed_warning" "$WORK/lonely.err" \
  || fail "no warning about the unreachable seed: $(tail -n 5 "$WORK/lonely.err")"
stop_node lonely

step "bad commands against a node with max-value-bytes = 1000 (config file)"
# The example file with one value changed: flags override the rest.
sed 's/^max-value-bytes = .*/max-value-bytes = 1000/' "$example" \
  >"$WORK/limited.ini"
start_node limited "$WORK/limited" --config-file="$WORK/limited.ini"
key_at_limit=$(printf 'k%.0s' $(seq 10240))
key_over=${key_at_limit}x
value_at_limit=$(printf 'v%.0s' $(seq 1000))
value_over=${value_at_limit}v
# Each command, then the patterns its output must match.
cat >"$WORK/bad.in" <<IN
put keep "safe value"
frobnicate x
put onlykey
get
put k v n=abc
get k w=1
put k "unterminated
put k v ctx=@
put $key_over v
get $key_over
put at-limit $value_at_limit
put over-node-limit $value_over
put $key_at_limit edge
get $key_at_limit
connect 127.0.0.1 $closed_port
connect 127.0.0.1 $NODE_PORT
get keep
get at-limit
get over-node-limit
IN
cat >"$WORK/bad.want" <<WANT
ok
  clock C
error: unknown command 'frobnicate' (try help)
error: put: missing VALUE (usage: put KEY VALUE *)
error: get: missing KEY (usage: get KEY *)
error: put: n= wants a number, got 'abc' (usage: *)
error: get: unknown option 'w=' (usage: *)
error: unterminated quote opened at column 7
error: ctx=@: this shell has not read or written the key yet (get it first)
error: key_too_large: the key has 10241 bytes, the maximum is 10240
error: key_too_large: the key has 10241 bytes, the maximum is 10240
ok
  clock C
error: value_too_large: *1001*1000*
ok
  clock C
edge
  clock C written T
  context X
error: cannot reach node at 127.0.0.1:$closed_port: connection refused
connected to 127.0.0.1:$NODE_PORT
safe value
  clock C written T
  context X
$value_at_limit
  clock C written T
  context X
(not found)
WANT
SHELL_FAILS=1 shell "$WORK/bad.in" "$WORK/bad.out" --max-value-bytes=100000
expect_matching "$WORK/bad.out" "$WORK/bad.want"

step "kvsh's own value limit applies before sending"
printf '%s\n' "put small 12345" "put large 123456" "get large" "get small" \
  >"$WORK/client-limit.in"
cat >"$WORK/client-limit.want" <<'WANT'
ok
  clock C
error: value_too_large: the value has 6 bytes, the maximum is 5 (kvsh --max-value-bytes)
(not found)
12345
  clock C written T
  context X
WANT
SHELL_FAILS=1 shell "$WORK/client-limit.in" "$WORK/client-limit.out" --max-value-bytes=5
expect_matching "$WORK/client-limit.out" "$WORK/client-limit.want"

step "one-shot commands and exit status (issue 12)"
one_shot() { timeout 30 "$KVSH" --port="$NODE_PORT" "$@" 2>&1; }
out=$(one_shot put "spaced key" "a value # not a comment") \
  || fail "one-shot put failed: $out"
[[ $out == ok* ]] || fail "one-shot put printed: $out"
out=$(one_shot get "spaced key") || fail "one-shot get failed: $out"
[[ $out == "a value # not a comment"* ]] || fail "one-shot get printed: $out"
rc=0
out=$(one_shot frobnicate) || rc=$?
((rc == 1)) || fail "a failing one-shot command exited $rc, expected 1: $out"
# -e stops a script at the first failing command; without it all run.
printf '%s\n' "put a 1" "frobnicate" "put b 2  # trailing comment" \
  >"$WORK/stop.in"
rc=0
timeout 30 "$KVSH" --port="$NODE_PORT" -e <"$WORK/stop.in" >"$WORK/stop.out" 2>&1 \
  || rc=$?
((rc == 1)) || fail "kvsh -e exited $rc"
grep -c '^ok' "$WORK/stop.out" | grep -qx 1 || fail "kvsh -e went on: $(cat "$WORK/stop.out")"
rc=0
timeout 30 "$KVSH" --port="$NODE_PORT" <"$WORK/stop.in" >"$WORK/stop.out" 2>&1 \
  || rc=$?
((rc == 1)) || fail "kvsh exited $rc after a failing command"
grep -c '^ok' "$WORK/stop.out" | grep -qx 2 || fail "kvsh stopped early: $(cat "$WORK/stop.out")"
"$KVSH" --version | grep -q '^kvsh (kvactors) ' || fail "kvsh --version"
# --raw: get prints the stored bytes alone (no quoting, no clock), writes
# and a missing key print nothing.
out=$(one_shot --raw put raw-key $'tab\there \xff') || fail "raw put: $out"
[[ -z $out ]] || fail "a raw put printed: $out"
one_shot --raw get raw-key >"$WORK/raw.out" || fail "raw get failed"
printf 'tab\there \xff\n' | cmp -s - "$WORK/raw.out" \
  || fail "raw get printed: $(od -c "$WORK/raw.out" | head -n 3)"
out=$(one_shot --raw get no-such-key) || fail "raw get of a missing key: $out"
[[ -z $out ]] || fail "a raw get of a missing key printed: $out"

stop_node limited
echo "PASS"

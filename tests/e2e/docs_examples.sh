#!/usr/bin/env bash
# Every kvsh session in README.md and docs/*.md runs as written (issue 12):
# each file's sessions run in order in one kvsh, against a fresh 3-node
# cluster in 2 data centres (what scripts/run.sh starts), and each command
# must fail exactly when the document shows it failing. Ports 4000-4003 in
# commands become the test cluster's. docs_examples.py reads the files.
#   docs_examples.sh BIN_DIR
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 BIN_DIR" >&2; exit 2; }
BIN=$1
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$BIN/kvnode" "$BIN/kvsh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cluster_env 3 "--gossip-interval-ms=200"

python3 "$ROOT/tests/e2e/docs_examples.py" "$ROOT/README.md" "$ROOT"/docs/*.md \
  >"$WORK/plan.tsv"
commands=$(grep -c '^CMD' "$WORK/plan.tsv")
((commands >= 20)) || fail "only $commands kvsh commands found in the docs"

SHELL_PID=""
stop_shell() {
  if [[ -n $SHELL_PID ]]; then
    exec {KVSH_IN[1]}>&- || true
    wait "$SHELL_PID" 2>/dev/null || true
    SHELL_PID=""
  fi
}

# fresh_cluster: a new cluster and a kvsh session on n1.
fresh_cluster() {
  stop_shell
  cluster stop >/dev/null 2>&1 || true
  rm -rf "$KV_DATA_DIR" "$KV_LOG_DIR"
  cluster start --nodes=3 --dcs=2 --base-port="$BASE" >/dev/null \
    || fail "cluster.sh start failed"
  coproc KVSH_IN { "$KVSH" --port="$(port_of n1)" 2>&1; }
  SHELL_PID=$KVSH_IN_PID
}

# run COMMAND: its output, up to the marker a `help quit` after it prints.
run() {
  printf '%s\nhelp quit\n' "$1" >&"${KVSH_IN[1]}"
  OUTPUT=""
  local line
  while IFS= read -r -t 60 line <&"${KVSH_IN[0]}"; do
    [[ $line == "usage: quit" ]] && return 0
    OUTPUT+=$line$'\n'
  done
  fail "kvsh gave no answer to '$1' within 60 s: $OUTPUT"
}

not_up_anywhere() {
  local node
  for node in n1 n2 n3; do
    [[ $node == "$1" ]] && continue
    try_on "$node" "$WORK/nodes.out" nodes || return 1
    grep -qE "^$1 +dc[0-9]+ +[0-9.:]+ +up " "$WORK/nodes.out" && return 1
  done
  return 0
}

file=""
ran=0
while IFS=$'\t' read -r kind a b; do
  case $kind in
    FILE)
      file=${a#"$ROOT"/}
      step "$file"
      fresh_cluster
      ;;
    CLUSTER)
      echo "    (cluster.sh $a)"
      # shellcheck disable=SC2086 # the directive's words are arguments
      cluster $a >/dev/null || fail "$file: cluster.sh $a failed"
      if [[ $a =~ ^(kill|stop-node|pause)\ (n[0-9]+)$ ]]; then
        wait_for 30 not_up_anywhere "${BASH_REMATCH[2]}" \
          || fail "$file: ${BASH_REMATCH[2]} still up somewhere after cluster.sh $a"
      fi
      ;;
    CMD)
      command=$b
      # The docs' cluster runs on 4000-4002 (4003 for a node added).
      for i in 1 2 3 4; do
        command=${command//127.0.0.1 $((3999 + i))/127.0.0.1 $(port_of "n$i")}
        command=${command//127.0.0.1:$((3999 + i))/127.0.0.1:$(port_of "n$i")}
      done
      run "$command"
      if grep -q '^error:' <<<"$OUTPUT"; then got=error; else got=ok; fi
      [[ $got == "$a" ]] \
        || fail "$file: '$b' should give $a, gave: $OUTPUT"
      echo "    $a: $b"
      ran=$((ran + 1))
      ;;
  esac
done <"$WORK/plan.tsv"
stop_shell
((ran == commands)) || fail "ran $ran of $commands commands"
echo "PASS: $ran commands of the docs ran as written"

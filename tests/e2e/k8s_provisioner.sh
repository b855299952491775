#!/usr/bin/env bash
# The example Kubernetes provisioner (scripts/k8s-provisioner.sh) against a
# stand-in kubectl that keeps a StatefulSet's replica count in a file and
# logs every call: grow scales up by one; shrink of the last pod scales
# down and drops its volume claim; shrink of another pod is refused and
# changes nothing.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d /tmp/kv-k8s.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cat >"$WORK/kubectl" <<'FAKE'
#!/usr/bin/env bash
args="$*"
echo "$args" >>"$KV_FAKE_DIR/calls"
case $args in
  "get statefulset kv -o jsonpath={.spec.replicas}") cat "$KV_FAKE_DIR/replicas" ;;
  "scale statefulset kv --replicas="*) echo "${args##*=}" >"$KV_FAKE_DIR/replicas" ;;
  "delete pvc "*) ;;
  *) echo "fake kubectl: unexpected: $*" >&2; exit 1 ;;
esac
FAKE
chmod +x "$WORK/kubectl"
export KV_FAKE_DIR=$WORK KUBECTL=$WORK/kubectl
echo 3 >"$WORK/replicas"
provision() { "$ROOT/scripts/k8s-provisioner.sh" "$@"; }

provision grow
[[ $(<"$WORK/replicas") == 4 ]] || fail "grow: replicas $(<"$WORK/replicas")"
provision check-shrink kv-3 || fail "check-shrink of the last pod refused"
[[ $(<"$WORK/replicas") == 4 ]] || fail "check-shrink changed the replicas"
if provision check-shrink kv-1 2>/dev/null; then fail "check-shrink of kv-1 accepted"; fi
provision shrink kv-3
[[ $(<"$WORK/replicas") == 3 ]] || fail "shrink: replicas $(<"$WORK/replicas")"
grep -qx "delete pvc data-kv-3 --wait=false" "$WORK/calls" || fail "no pvc delete: $(cat "$WORK/calls")"
if provision shrink kv-1 2>"$WORK/err"; then fail "shrink of kv-1 was accepted"; fi
grep -q "kv-1 is not the last pod (kv-2)" "$WORK/err" || fail "refusal: $(cat "$WORK/err")"
[[ $(<"$WORK/replicas") == 3 ]] || fail "a refused shrink changed the replicas"
if provision bogus 2>/dev/null; then fail "an unknown action was accepted"; fi
echo "ok: grow, shrink of the last pod, refusals"

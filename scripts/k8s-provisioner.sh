#!/usr/bin/env bash
# An example provisioner for nodes run as a Kubernetes StatefulSet, for
# kvnode --autoscale-command (docs/autoscaling.md). The autoscaler runs it as
#   k8s-provisioner.sh grow          one more node: the StatefulSet grows
#                                    by one pod, which starts kvnode with
#                                    the cluster's seeds and joins the ring
#   k8s-provisioner.sh check-shrink NODE
#                                    can NODE's pod be removed? (before NODE
#                                    is asked to leave: a leave is for good)
#   k8s-provisioner.sh shrink NODE   NODE has left the ring (its partitions
#                                    and hints handed over): remove its pod
# A StatefulSet only removes its highest ordinal, so run the nodes with
# --autoscale-shrink-newest=1 and node ids that end in the pod's ordinal
# (the pod name, e.g. kv-3). The environment names the StatefulSet:
#   KV_K8S_STATEFULSET (default kv), KV_K8S_NAMESPACE (default: kubectl's),
#   KUBECTL (default kubectl); the pod's service account needs get, patch
#   and scale on that StatefulSet.
set -euo pipefail
sts=${KV_K8S_STATEFULSET:-kv}
read -r -a kubectl <<<"${KUBECTL:-kubectl}"
[[ -n ${KV_K8S_NAMESPACE:-} ]] && kubectl+=(--namespace "$KV_K8S_NAMESPACE")

replicas=$("${kubectl[@]}" get statefulset "$sts" -o 'jsonpath={.spec.replicas}')
[[ $replicas =~ ^[0-9]+$ ]] || { echo "k8s-provisioner: cannot read the replicas of statefulset $sts" >&2; exit 1; }
case ${1:-}:$# in
  grow:1)
    "${kubectl[@]}" scale statefulset "$sts" --replicas=$((replicas + 1))
    ;;
  check-shrink:2 | shrink:2)
    last="$sts-$((replicas - 1))"
    if [[ $2 != "$last" ]]; then
      echo "k8s-provisioner: $2 is not the last pod ($last): a StatefulSet" \
        "removes only that one (run the nodes with --autoscale-shrink-newest=1)" >&2
      exit 1
    fi
    [[ $1 == shrink ]] || exit 0
    "${kubectl[@]}" scale statefulset "$sts" --replicas=$((replicas - 1))
    # Its volume claim stays (StatefulSets keep them): a node that left may
    # not come back on that data, so drop it.
    "${kubectl[@]}" delete pvc "data-$last" --wait=false || true
    ;;
  *)
    echo "usage: $0 grow | check-shrink NODE | shrink NODE" >&2
    exit 2
    ;;
esac

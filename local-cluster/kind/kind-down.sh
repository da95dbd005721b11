#!/usr/bin/env bash
# make kind-down: deletes the kind cluster of make kind-up and what the container engine left
# for it: with podman, once no kind cluster is left, the `kind` network (kind keeps it), the
# wrapper's cgroups and what podman's CNI backend leaves on the host (host-cleanup.sh).
# Idempotent. Images and the build cache stay (make kind-clean removes them).
# Environment: KIND_CLUSTER (default leader-election).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=local-cluster/kind/podman-env.sh
source local-cluster/kind/podman-env.sh
CLUSTER=${KIND_CLUSTER:-leader-election}
KIND=$(bash local-cluster/kind/ensure-kind.sh)
if "$KIND" get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  "$KIND" delete cluster --name "$CLUSTER"
else
  echo "kind-down: no kind cluster named $CLUSTER" >&2
fi
if [[ $ENGINE == podman ]] && [[ -z $("$KIND" get clusters 2>/dev/null) ]]; then
  podman network exists kind 2>/dev/null && podman network rm -f kind >/dev/null && echo "kind-down: removed podman network kind" >&2
  # Our cgroup parent, in every v1 hierarchy, deepest first (empty once the containers are gone).
  if [[ -n ${LE_KIND_CGROUP_PARENT:-} ]]; then
    for h in /sys/fs/cgroup/*/; do
      d="$h${LE_KIND_CGROUP_PARENT#/}"
      if [[ -d $d ]]; then find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
    done
  fi
  bash local-cluster/kind/host-cleanup.sh
fi

#!/usr/bin/env bash
# make kind-down: deletes the kind cluster of make kind-up (and everything in it).
# Idempotent: nothing to do when the cluster does not exist.
# Environment: KIND_CLUSTER (default leader-election).
set -euo pipefail

CLUSTER=${KIND_CLUSTER:-leader-election}
command -v kind >/dev/null || { echo "kind-down: kind is not installed" >&2; exit 1; }
if kind get clusters | grep -qx "$CLUSTER"; then
  kind delete cluster --name "$CLUSTER"
else
  echo "kind-down: no kind cluster named $CLUSTER"
fi

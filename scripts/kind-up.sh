#!/usr/bin/env bash
# make kind-up: a kind cluster with cert-manager, this project's images built with docker and
# loaded into the cluster's node, and leader-election deployed with the dev overlay.
# Idempotent: run it again after a code change to rebuild, reload and restart the webhook.
# Needs docker (with a running engine), kind and kubectl. Not run in CI (no container engine).
# Environment: KIND_CLUSTER (default leader-election), KIND_NODE_IMAGE (default: kind's own),
#              CERT_MANAGER_VERSION (default v1.19.5).
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${KIND_CLUSTER:-leader-election}
CERT_MANAGER_VERSION=${CERT_MANAGER_VERSION:-v1.19.5}
CONTEXT=kind-$CLUSTER
AGENT_IMAGE=ghcr.io/leader-election/agent:dev
WEBHOOK_IMAGE=ghcr.io/leader-election/webhook:dev
ECHO_IMAGE=leader-election/echo:dev

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || { echo "kind-up: $tool is not installed" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "kind-up: the docker engine is not reachable (docker info failed)" >&2; exit 1; }

# 1. The cluster (kept if it exists).
if kind get clusters | grep -qx "$CLUSTER"; then
  echo "kind-up: cluster $CLUSTER exists"
  kind export kubeconfig --name "$CLUSTER"
else
  kind create cluster --name "$CLUSTER" ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"} --wait 120s
fi

# 2. cert-manager, from its release's static manifest.
kubectl --context "$CONTEXT" apply -f \
  "https://github.com/cert-manager/cert-manager/releases/download/${CERT_MANAGER_VERSION}/cert-manager.yaml"
kubectl --context "$CONTEXT" -n cert-manager wait --for=condition=Available deployment --all --timeout=300s

# 3. The images, built here and loaded into the node (no registry involved).
docker build -f agent.Dockerfile -t "$AGENT_IMAGE" .
docker build -f webhook.Dockerfile -t "$WEBHOOK_IMAGE" .
docker build -t "$ECHO_IMAGE" examples/echo
kind load docker-image --name "$CLUSTER" "$AGENT_IMAGE" "$WEBHOOK_IMAGE" "$ECHO_IMAGE"

# 4. leader-election itself. On a second run the tags are the same: restart the webhook so
# it runs the image just loaded (elected pods get the new agent when they are re-created).
existed=false
kubectl --context "$CONTEXT" -n leader-election-system get deployment leader-election-webhook >/dev/null 2>&1 && existed=true
KUBECTL="kubectl --context $CONTEXT" MANIFESTS=manifests/overlays/dev scripts/deploy.sh
if [[ $existed == true ]]; then
  kubectl --context "$CONTEXT" -n leader-election-system rollout restart deployment/leader-election-webhook
  kubectl --context "$CONTEXT" -n leader-election-system rollout status deployment/leader-election-webhook --timeout=180s
fi
echo "kind-up: ready (context $CONTEXT). Next: make kind-demo"

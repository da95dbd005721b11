#!/usr/bin/env bash
# make kind-up: a kind cluster running this project's own images, with leader-election
# installed the way users install it: the Helm chart (helm upgrade --install, values
# local-cluster/kind/chart-values.yaml), or with KIND_INSTALL=kustomize scripts/deploy.sh and
# the dev overlay. Idempotent: run it again after a code change to rebuild, reload and restart
# the webhook (keep the same KIND_INSTALL for a cluster: helm does not adopt objects it did not make).
#
# Docker where it runs, else Debian's podman (installed as root when missing; see
# podman-env.sh). Where the registries are reachable, kind's published node image and
# cert-manager's release are used. Where they are not (DNS cannot resolve registry.k8s.io;
# or LE_KIND_OFFLINE=1), everything is built here, cached by its inputs, and the docs say so
# (docs/testing.md): the node image (build-node-image.sh), the images (build-images.sh,
# with stand-in base images), and cert-manager's part (cert-manager-stand-in.sh).
#
# Environment: KIND_CLUSTER (default leader-election), KIND_WORKERS (worker nodes beside the
#   control plane, default 0: one node; the pod network across nodes is pod-network.sh's),
#   KIND_NODE_IMAGE (a node image to use),
#   KIND_KUBECONFIG (where kind writes the kubeconfig; default kind's: $KUBECONFIG or
#   ~/.kube/config), LE_KIND_OFFLINE (1: build everything here; 0: use published images),
#   KIND_INSTALL (helm, the default, or kustomize).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=local-cluster/kind/podman-env.sh
source local-cluster/kind/podman-env.sh
say() { echo "kind-up: $*" >&2; }

CLUSTER=${KIND_CLUSTER:-leader-election}
WORKERS=${KIND_WORKERS:-0}
[[ $WORKERS =~ ^[0-9]$ ]] || { say "KIND_WORKERS must be a number from 0 to 9, not '$WORKERS'"; exit 2; }
CERT_MANAGER_VERSION=${CERT_MANAGER_VERSION:-v1.19.5}
INSTALL=${KIND_INSTALL:-helm}
[[ $INSTALL == helm || $INSTALL == kustomize ]] || { say "KIND_INSTALL must be helm or kustomize, not '$INSTALL'"; exit 2; }
KIND=$(bash local-cluster/kind/ensure-kind.sh)
# The kubectl of the cluster's minor version (v1.36), built once with the control plane's binaries.
KUBE_BIN=$(bash local-cluster/control-plane/build-binaries.sh)
export PATH="$KUBE_BIN:$PATH"
if [[ -n ${KIND_KUBECONFIG:-} ]]; then export KUBECONFIG=$KIND_KUBECONFIG; fi
k() { kubectl --context "kind-$CLUSTER" "$@"; }

offline=${LE_KIND_OFFLINE:-}
if [[ -z $offline ]]; then
  if [[ -n $(getent ahosts registry.k8s.io 2>/dev/null || true) ]]; then offline=0; else offline=1; fi
fi
say "engine $ENGINE, $([[ $offline == 1 ]] && echo 'registries unreachable: building every image here' || echo 'registries reachable')"

# 1. The images: the node's, and the project's (agent, webhook, a test app, a client-go elector).
node_image=${KIND_NODE_IMAGE:-}
if [[ -z $node_image && $offline == 1 ]]; then node_image=$(bash local-cluster/kind/build-node-image.sh); fi
images_archive=""
if [[ $ENGINE == podman || $offline == 1 ]]; then
  images_archive=$(bash local-cluster/kind/build-images.sh)
else
  docker build -f agent.Dockerfile -t ghcr.io/leader-election/agent:dev .
  docker build -f webhook.Dockerfile -t ghcr.io/leader-election/webhook:dev .
  docker build -t ghcr.io/leader-election/testapp:dev local-cluster/kind/testapp
fi

# 2. The cluster (kept if it exists).
if "$KIND" get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  say "cluster $CLUSTER exists"
  "$KIND" export kubeconfig --name "$CLUSTER" >/dev/null
else
  start=$SECONDS
  config=$(mktemp)
  trap 'rm -f "$config"' EXIT
  {
    echo 'kind: Cluster'
    echo 'apiVersion: kind.x-k8s.io/v1alpha4'
    echo 'nodes:'
    echo '  - role: control-plane'
    for ((i = 0; i < WORKERS; i++)); do echo '  - role: worker'; done
  } >"$config"
  "$KIND" create cluster --name "$CLUSTER" --config "$config" ${node_image:+--image "$node_image"} --wait 180s
  say "cluster created in $((SECONDS - start)) s ($((WORKERS + 1)) node(s))"
fi
# With several nodes: each node's pod range and the routes between them (kindnetd's job).
ENGINE=$ENGINE KUBECTL="kubectl --context kind-$CLUSTER" bash local-cluster/kind/pod-network.sh

# 3. The images into the node (no registry involved).
if [[ -n $images_archive ]]; then
  "$KIND" load image-archive --name "$CLUSTER" "$images_archive"
else
  "$KIND" load docker-image --name "$CLUSTER" ghcr.io/leader-election/agent:dev \
    ghcr.io/leader-election/webhook:dev ghcr.io/leader-election/testapp:dev
fi

# 4. cert-manager's CRDs and controllers: the release where it can be fetched, else the
# stand-in's CRDs (it issues the certificate after the install below, as cert-manager would).
stand_in() { KUBECTL="kubectl --context kind-$CLUSTER" bash local-cluster/kind/cert-manager-stand-in.sh "$1"; }
if [[ $offline == 1 ]]; then
  stand_in crds
else
  k apply -f "https://github.com/cert-manager/cert-manager/releases/download/${CERT_MANAGER_VERSION}/cert-manager.yaml"
  k -n cert-manager wait --for=condition=Available deployment --all --timeout=300s
fi

# 5. leader-election itself. On a second run the tags are the same: restart the webhook so it
# runs the image just loaded (elected pods get the new agent when they are re-created).
NS=leader-election-system
existed=false
k -n "$NS" get deployment leader-election-webhook >/dev/null 2>&1 && existed=true
if [[ $INSTALL == helm ]]; then
  HELM=$(bash local-cluster/helm/build.sh)
  # Helm's own caches and settings beside ours, not in the user's home.
  export HELM_CACHE_HOME=${LE_CACHE_DIR:-$HOME/.cache/leader-election}/helm-home/cache
  export HELM_CONFIG_HOME=${LE_CACHE_DIR:-$HOME/.cache/leader-election}/helm-home/config
  export HELM_DATA_HOME=${LE_CACHE_DIR:-$HOME/.cache/leader-election}/helm-home/data
  # Helm keeps its release in the namespace, so it must exist first: the chart's own Namespace
  # (its Pod Security labels), applied outside the release as `--create-namespace` would make it.
  "$HELM" template leader-election manifests/chart/leader-election --namespace "$NS" \
    -f local-cluster/kind/chart-values.yaml --set createNamespace=true --show-only templates/namespace.yaml |
    k apply --server-side --field-manager=kind-up -f - >/dev/null
  # Without --wait: offline, the serving certificate's Secret is issued just below.
  "$HELM" upgrade --install leader-election manifests/chart/leader-election --kube-context "kind-$CLUSTER" \
    --namespace "$NS" -f local-cluster/kind/chart-values.yaml
  if [[ $offline == 1 ]]; then stand_in issue; fi
else
  if [[ $offline == 1 ]]; then stand_in issue; fi
  KUBECTL="kubectl --context kind-$CLUSTER" MANIFESTS=manifests/overlays/dev \
    CERT_MANAGER=$([[ $offline == 1 ]] && echo stand-in || echo required) WAIT_TIMEOUT=0 scripts/deploy.sh
fi
if [[ $offline == 1 ]]; then stand_in inject; fi
if [[ $existed == true ]]; then k -n "$NS" rollout restart deployment/leader-election-webhook; fi
k -n "$NS" rollout status deployment/leader-election-webhook --timeout=180s

# 6. Admission works end to end: the API server reaches the webhook through its Service (a new
# cluster's kube-proxy may not have programmed it yet) and the pod comes back injected. A
# server-side dry run creates nothing.
probe='{"apiVersion":"v1","kind":"Pod","metadata":{"name":"kind-up-probe","namespace":"default",
  "annotations":{"leader-election/enabled":"true","leader-election/lease-name":"kind-up-probe"}},
  "spec":{"containers":[{"name":"app","image":"ghcr.io/leader-election/testapp:dev"}]}}'
deadline=$((SECONDS + 120))
until out=$(k create --dry-run=server -o jsonpath='{.spec.initContainers[*].name}' -f - <<<"$probe" 2>&1) &&
  [[ $out == *leader-election-agent* ]]; do
  ((SECONDS < deadline)) || { say "the webhook does not inject after 120 s: $out"; exit 1; }
  sleep 1
done
say "ready: context kind-$CLUSTER ($(k get nodes -o jsonpath='{.items[0].status.nodeInfo.containerRuntimeVersion}'))"

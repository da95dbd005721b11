#!/usr/bin/env bash
# Builds helm from its Go module, once per version, into the cache (like promtool and the
# Kubernetes binaries): make test lints the chart, renders it, and installs, upgrades and
# uninstalls it on the local control plane. Prints the binary's path on stdout.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE_ROOT="${LE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/leader-election}"
BIN_DIR="$CACHE_ROOT/helm-$HELM_VERSION"
BIN="$BIN_DIR/helm"

log() { echo "[build-helm] $*" >&2; }

if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || { log "go is required to build helm (found none on PATH)"; exit 1; }
export GOTOOLCHAIN=local CGO_ENABLED=0
mkdir -p "$BIN_DIR"
start=$(date +%s)
log "building helm $HELM_VERSION (minutes on a cold Go cache)"
# The stamps helm's own Makefile sets: the version `helm version` prints, and the Kubernetes
# version `helm template` and `helm lint` assume without a cluster (its client-go's: v0.37 is
# 1.37; unset, helm says 1.20 and refuses the chart's kubeVersion).
K8S_MINOR=37
flags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for pkg in pkg/lint/rules pkg/chartutil; do
  flags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$K8S_MINOR"
done
GOFLAGS="" GOBIN="$BIN_DIR" go install -trimpath -ldflags "$flags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
[ -x "$BIN" ] || { log "go install left no $BIN"; exit 1; }
log "built in $(( $(date +%s) - start )) s"
echo "$BIN"

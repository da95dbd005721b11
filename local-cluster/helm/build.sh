#!/usr/bin/env bash
# Builds helm from its Go module, once per version, into the cache (like promtool and the
# Kubernetes binaries): make test lints the chart, renders it, and installs, upgrades and
# uninstalls it on the local control plane; make kind-up installs with it. Prints its path.
set -euo pipefail
# shellcheck source=local-cluster/go-tool.sh
source "$(dirname "$0")/../go-tool.sh"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
# The stamps helm's own Makefile sets: the version `helm version` prints, and the Kubernetes
# version `helm template` and `helm lint` assume without a cluster: its client-go's minor (v0.37
# for helm v3.22.0: 1.37; unset, helm says 1.20 and refuses the chart's kubeVersion). Change
# K8S_MINOR with HELM_VERSION.
K8S_MINOR="${HELM_K8S_MINOR:-37}"
flags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for pkg in pkg/lint/rules pkg/chartutil; do
  flags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$K8S_MINOR"
done
go_tool helm "$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" "$flags"

#!/usr/bin/env bash
# Builds krew (kubectl's plugin manager) from its Go module, once per version, into the cache
# (like helm and promtool): make test installs the kubectl plugin through krew from the
# manifest and archive make build writes (dist/krew/, dist/*.tar.gz). Prints the binary's path.
set -euo pipefail
# shellcheck source=local-cluster/go-tool.sh
source "$(dirname "$0")/../go-tool.sh"
KREW_VERSION="${KREW_VERSION:-v0.4.3}"
go_tool krew "$KREW_VERSION" "sigs.k8s.io/krew/cmd/krew@$KREW_VERSION" \
  "-X sigs.k8s.io/krew/internal/version.gitTag=$KREW_VERSION"

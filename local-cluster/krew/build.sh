#!/usr/bin/env bash
# Builds krew (kubectl's plugin manager) from its Go module, once per version, into the cache
# (like helm and promtool): make test installs the kubectl plugin through krew from the
# manifest and archive make build writes (dist/krew/, dist/*.tar.gz). Prints the binary's path.
set -euo pipefail

KREW_VERSION="${KREW_VERSION:-v0.4.3}"
CACHE_ROOT="${LE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/leader-election}"
BIN_DIR="$CACHE_ROOT/krew-$KREW_VERSION"
BIN="$BIN_DIR/krew"

log() { echo "[build-krew] $*" >&2; }

if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || { log "go is required to build krew (found none on PATH)"; exit 1; }
export GOTOOLCHAIN=local CGO_ENABLED=0
mkdir -p "$BIN_DIR"
start=$(date +%s)
log "building krew $KREW_VERSION (a minute on a cold Go cache)"
GOFLAGS="" GOBIN="$BIN_DIR" go install -trimpath \
  -ldflags "-s -w -X sigs.k8s.io/krew/internal/version.gitTag=$KREW_VERSION" \
  "sigs.k8s.io/krew/cmd/krew@$KREW_VERSION" >&2
[ -x "$BIN" ] || { log "go install left no $BIN"; exit 1; }
log "built in $(( $(date +%s) - start )) s"
echo "$BIN"

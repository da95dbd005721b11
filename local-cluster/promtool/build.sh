#!/usr/bin/env bash
# Builds Prometheus's promtool from its Go module, once per version, into the cache (like the
# Kubernetes binaries): make test checks the agent's and the webhook's /metrics with
# `promtool check metrics` and the alerts with `promtool check rules` / `promtool test rules`.
# Prints the binary's path on stdout.
set -euo pipefail

PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
CACHE_ROOT="${LE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/leader-election}"
BIN_DIR="$CACHE_ROOT/promtool-$PROMETHEUS_VERSION"
BIN="$BIN_DIR/promtool"

log() { echo "[build-promtool] $*" >&2; }

if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || { log "go is required to build promtool (found none on PATH)"; exit 1; }
export GOTOOLCHAIN=local CGO_ENABLED=0
mkdir -p "$BIN_DIR"
start=$(date +%s)
log "building promtool $PROMETHEUS_VERSION (minutes on a cold Go cache)"
GOFLAGS="" GOBIN="$BIN_DIR" go install -trimpath -ldflags "-s -w" \
  "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION" >&2
[ -x "$BIN" ] || { log "go install left no $BIN"; exit 1; }
log "built in $(( $(date +%s) - start )) s"
echo "$BIN"

#!/usr/bin/env bash
# Prints the path of a kind binary of the pinned version: the one on PATH when it is
# that version, else one built once from the Go module proxy into the cache.
set -euo pipefail
KIND_VERSION="${KIND_VERSION:-v0.33.0}"
: "${LE_CACHE_DIR:=$HOME/.cache/leader-election}"
if command -v kind >/dev/null 2>&1 && kind version 2>/dev/null | grep -q "kind $KIND_VERSION "; then
  command -v kind
  exit 0
fi
bin="$LE_CACHE_DIR/kind/kind-$KIND_VERSION"
if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "ensure-kind: need Go to build kind $KIND_VERSION (or put kind $KIND_VERSION on PATH)" >&2; exit 1; }
  echo "ensure-kind: building kind $KIND_VERSION from the Go module proxy" >&2
  mkdir -p "$(dirname "$bin")"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  GOBIN="$tmp" GOTOOLCHAIN=local go install "sigs.k8s.io/kind@$KIND_VERSION" >&2
  mv "$tmp/kind" "$bin"
fi
echo "$bin"

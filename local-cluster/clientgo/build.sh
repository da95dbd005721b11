#!/usr/bin/env bash
# Builds the client-go elector (local-cluster/clientgo/main.go) once into the cache dir,
# named by a hash of go.mod + go.sum + main.go, and prints the binary's path on
# stdout. A second run with the binary present does not rebuild. go.sum is
# complete (no -mod=mod): the build only reads the module cache or the proxy.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${LE_CACHE_DIR:-$HOME/.cache/leader-election}"

hash="$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-16)"
bin="$CACHE_ROOT/clientgo-elector-$hash"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

log() { echo "[clientgo build] $*" >&2; }
if ! command -v go >/dev/null; then
  if [ -x /usr/local/go/bin/go ]; then
    PATH="/usr/local/go/bin:$PATH"
  else
    log "go is required to build the client-go elector (found none on PATH or in /usr/local/go/bin)"
    exit 1
  fi
fi

export GOTOOLCHAIN=local CGO_ENABLED=0
mkdir -p "$CACHE_ROOT"
tmp="$(mktemp "$CACHE_ROOT/clientgo-elector-$hash.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
start=$(date +%s)
log "go build ($(go env GOVERSION)) into $bin"
(cd "$here" && go build -mod=readonly -buildvcs=false -trimpath -ldflags "-s -w" -o "$tmp" .) >&2
chmod 0755 "$tmp"
# Atomic: a concurrent build of the same sources ends with the same file.
mv -f "$tmp" "$bin"
trap - EXIT
log "built in $(($(date +%s) - start))s"
echo "$bin"

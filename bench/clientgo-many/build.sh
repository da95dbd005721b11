#!/usr/bin/env bash
# Builds the many-electors client-go program (bench/clientgo-many) once into the
# cache dir, named by a hash of its sources, and prints the binary's path. Like
# local-cluster/clientgo/build.sh: go.sum is complete, the build reads only the module cache.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${LE_CACHE_DIR:-$HOME/.cache/leader-election}"
hash="$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-16)"
bin="$CACHE_ROOT/clientgo-many-$hash"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then PATH="/usr/local/go/bin:$PATH"; fi
export GOTOOLCHAIN=local CGO_ENABLED=0
mkdir -p "$CACHE_ROOT"
tmp="$(mktemp "$CACHE_ROOT/clientgo-many-$hash.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
echo "[clientgo-many build] go build ($(go env GOVERSION)) into $bin" >&2
(cd "$here" && go build -mod=readonly -buildvcs=false -trimpath -ldflags "-s -w" -o "$tmp" .) >&2
chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
trap - EXIT
echo "$bin"

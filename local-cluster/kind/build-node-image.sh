#!/usr/bin/env bash
# Builds, once, a kind node image for Kubernetes $K8S_VERSION on this machine, with no
# container registry: only Debian's mirror and the Go module proxy. Prints only the image's
# name on stdout; progress and timings go to stderr.
#
#   img="$(bash local-cluster/kind/build-node-image.sh)"
#   kind create cluster --image "$img"
#
# Where a registry is reachable this script is not needed: kind's published node image is used.
#
# The image is localhost/leader-election/kind-node:$K8S_VERSION-<key>, where <key> hashes this
# script, the versions below, local-cluster/kind/node-image/ and kind's base files. It is kept
# as a docker-archive, $LE_CACHE_DIR/kind/kind-node-$K8S_VERSION-<key>.tar: when the image is
# in the engine's store nothing is done; when only the archive is, it is loaded. Older
# kind-node archives and images are removed after a build.
#
# What is in it (the recipe of /work/shared/kind-offline-notes.md, measured on this kind of machine):
#   - a Debian $DEBIAN_SUITE rootfs (debootstrap minbase) with systemd, Debian's containerd,
#     runc and CNI plugins, iptables/nftables/conntrack: kind's base image, whose
#     images/base/Dockerfile steps are replayed from kind's module (its files, units, wants);
#   - kubeadm, kubelet, kubectl $K8S_VERSION, built from the Go modules like
#     local-cluster/control-plane/build-binaries.sh does (same wrapper module, same Go cache),
#     and crictl $CRICTL_VERSION (kind calls it);
#   - the images kubeadm lists, built here and imported into the node's containerd (pinned
#     where its ctr can label them; Debian's containerd 1.6 cannot):
#     kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy $K8S_VERSION, etcd
#     $ETCD_VERSION under the tag kubeadm expects, CoreDNS $COREDNS_VERSION (Go proxy), and
#     a pause under kind's sandbox tag and kubeadm's;
#   - what the node needs on a cgroup v1 host without CAP_SYS_RESOURCE: the kubelet drop-in
#     failCgroupV1: false, containerd's restrict_oom_score_adj = true, and cri-base.json
#     without rlimits (as kind's Dockerfile writes it);
#   - kindnetd is not buildable here: a static bridge CNI conflist (one node only) and a
#     no-op /kind/manifests/default-cni.yaml (node-image/). Storage: kind's host-path fallback.
# No container runs during the build: containerd imports the images in a chroot, in private
# mount and pid namespaces, and the rootfs becomes the image with one `import`.
#
# Work directories are under $LE_CACHE_DIR/kind/build/ (the debootstrapped rootfs and the Go
# wrapper modules are kept there and reused; the rest is removed). kubeadm, kubelet,
# kube-proxy and kube-scheduler join build-binaries.sh's binaries in
# $LE_CACHE_DIR/kube-$K8S_VERSION-etcd-$ETCD_VERSION/bin. Safe to re-run after a kill.
#
# Environment: LE_CACHE_DIR, K8S_VERSION (v1.36.3), ETCD_VERSION (v3.6.16), COREDNS_VERSION
# (v1.14.2), CRICTL_VERSION (v1.36.0), KIND_VERSION (v0.33.0: whose base files), DEBIAN_SUITE
# (bookworm), DEBIAN_MIRROR.
# Needs: root, go, and Debian's podman, debootstrap, libcap2-bin (installed when missing).
set -euo pipefail

# Everything but the image name goes to stderr. fd 3 is the caller's stdout: long-running
# children get it closed (3>&-), so that what a killed build leaves running cannot hold a
# caller's $(...) open.
exec 3>&1 1>&2

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
self="$here/$(basename "${BASH_SOURCE[0]}")"
files="$here/node-image"
t_start=$(date +%s.%N)
log() { echo "[build-node-image] $*" >&2; }
die() {
  log "error: $*"
  exit 1
}
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }
timed() { # NAME COMMAND...: runs the command, logs how long it took
  local name=$1 t
  shift
  t=$(date +%s.%N)
  "$@"
  log "$name: $(since "$t")"
}

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.14.2}"
CRICTL_VERSION="${CRICTL_VERSION:-v1.36.0}" # kind's own: `kind load` and `kind export logs` call crictl
KIND_VERSION="${KIND_VERSION:-v0.33.0}"
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The node: kind's base packages (less nfs-common and open-iscsi), with Debian's runtime.
NODE_PACKAGES=systemd,systemd-sysv,dbus,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz,fuse-overlayfs,bash,ca-certificates,curl,jq,procps,e2fsprogs,containerd,runc,containernetworking-plugins,socat
PROXY_PACKAGES=iptables,nftables,conntrack # kube-proxy's image
IMAGE_REPO=localhost/leader-election/kind-node
PATH_ENV=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, rootful podman)"
command -v go >/dev/null || die "needs go (the Kubernetes binaries and CoreDNS are built from the Go modules)"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

# shellcheck source-path=SCRIPTDIR source=podman-env.sh
source "$here/podman-env.sh"
export LE_CACHE_DIR
B="$KIND_STATE/build"
mkdir -p "$B"
# One build at a time per cache (a second caller waits, then finds the image built).
exec 9>"$B/lock"
if ! flock -n 9; then
  log "another build holds $B/lock: waiting"
  flock 9
fi
# The engine's temporary files (save, load, import) go here, emptied on every run.
rm -rf "$B/tmp"
mkdir -p "$B/tmp"

# --- The key: every input of the image ------------------------------------------------
kind_dir="$(cd / && go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
kind_files="$kind_dir/images/base/files"
[ -d "$kind_files" ] || die "kind $KIND_VERSION's images/base/files not found (go mod download sigs.k8s.io/kind@$KIND_VERSION)"
hash_tree() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum); }
key=$(
  {
    echo "$K8S_VERSION $ETCD_VERSION $COREDNS_VERSION $CRICTL_VERSION $KIND_VERSION $DEBIAN_SUITE $(go env GOARCH)"
    sha256sum <"$self"
    hash_tree "$files"
    hash_tree "$kind_files"
  } | sha256sum | cut -c1-12
)
img="$IMAGE_REPO:$K8S_VERSION-$key"
archive="$KIND_STATE/kind-node-$K8S_VERSION-$key.tar"

image_exists() { "$ENGINE" image inspect "$img" >/dev/null 2>&1; }
save_archive() {
  local t
  t=$(date +%s.%N)
  rm -f "$archive.tmp"
  TMPDIR="$B/tmp" "$ENGINE" save -o "$archive.tmp" "$img"
  mv "$archive.tmp" "$archive"
  log "saved $archive ($(du -m "$archive" | cut -f1) MB) in $(since "$t")"
}

if image_exists; then
  [ -s "$archive" ] || save_archive 3>&-
  log "$img is built ($(since "$t_start"))"
  echo "$img" >&3
  exit 0
fi
if [ -s "$archive" ]; then
  t=$(date +%s.%N)
  if TMPDIR="$B/tmp" "$ENGINE" load -i "$archive" 3>&- && image_exists; then
    log "loaded $img from $archive in $(since "$t")"
    echo "$img" >&3
    exit 0
  fi
  log "could not load $archive: removing it and building"
  rm -f "$archive"
fi

# --- The build --------------------------------------------------------------------------
log "building $img (minutes: debootstrap, and Go builds on a cold cache)"
le_apt_install debootstrap libcap2-bin util-linux tar gzip
W="$B/work" # this build's scratch; the only other things written are in $B and the bin dir
arch=$(go env GOARCH)

# Removes directories, first unmounting anything under them (debootstrap and containerd
# mount in private namespaces, so this is only a precaution), never crossing into a mount.
safe_rm() {
  local p m
  for p in "$@"; do
    [ -e "$p" ] || continue
    p=$(realpath "$p")
    awk -v p="$p" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
      while read -r m; do umount -l "$m" || true; done
    rm -rf --one-file-system "$p"
  done
}
# A process of ours from a run that was killed: its pid is in $B/*.pid with its command line.
stop_recorded() {
  local f pid cmd
  for f in "$B"/*.pid; do
    [ -f "$f" ] || continue
    pid=$(head -n1 "$f")
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    if [ -n "$pid" ] && [[ $cmd == *"$B/"* ]]; then
      log "stopping pid $pid left by a killed build ($(basename "$f" .pid))"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
}
bg_pids=()
children() { cat "/proc/$1/task/"*/children 2>/dev/null || pgrep -P "$1" || true; }
kill_tree() { # PID: the process and its descendants, children first
  local c
  for c in $(children "$1"); do kill_tree "$c"; done
  kill "$1" 2>/dev/null || true
}
CTRD_PID="" # the unshare that runs the build's containerd as its namespace's pid 1
stop_containerd() {
  [ -n "$CTRD_PID" ] || return 0
  local c
  # containerd shuts down cleanly on SIGTERM; unshare exits after it.
  c=$(children "$CTRD_PID" | head -n1)
  kill "${c:-$CTRD_PID}" 2>/dev/null || true
  for _ in $(seq 150); do [ -d "/proc/$CTRD_PID" ] || break; sleep 0.1; done
  kill -9 "$CTRD_PID" 2>/dev/null || true
  wait "$CTRD_PID" 2>/dev/null || true
  CTRD_PID=""
  rm -f "$B/containerd.pid"
}
cleanup() {
  local p
  for p in "${bg_pids[@]}"; do kill_tree "$p"; done
  stop_containerd
  safe_rm "$W"
  rm -rf "$B/tmp"
  mkdir -p "$B/tmp"
}
trap cleanup EXIT
stop_recorded
safe_rm "$W"
mkdir -p "$W"

# --- 1. Debian root filesystems (in the background, while Go builds) -------------------
deboot_dir() { # NAME PACKAGES: the (kept) debootstrap target for this package set
  echo "$B/debootstrap/$1-$(printf '%s minbase %s %s' "$DEBIAN_SUITE" "$2" "$arch" | sha256sum | cut -c1-12)"
}
debootstrap_rootfs() { # NAME PACKAGES
  local dir
  dir=$(deboot_dir "$1" "$2")
  [ -f "$dir.ok" ] && [ -d "$dir" ] && return 0
  safe_rm "$dir" "$dir.ok"
  mkdir -p "$dir"
  # A private mount namespace: the mounts debootstrap makes in the target die with it.
  if ! unshare --mount --propagation private \
    debootstrap --variant=minbase --arch="$arch" --include="$2" "$DEBIAN_SUITE" "$dir" "$DEBIAN_MIRROR" \
    >"$W/debootstrap-$1.log" 2>&1 3>&- 9>&-; then
    tail -n 30 "$W/debootstrap-$1.log" >&2
    return 1
  fi
  touch "$dir.ok"
}
NODE_ROOT=$(deboot_dir node "$NODE_PACKAGES")
PROXY_ROOT=$(deboot_dir kube-proxy "$PROXY_PACKAGES")
# Older debootstraps (another package set or suite) are not reused.
for d in "$B"/debootstrap/*; do
  case "$d" in "$NODE_ROOT" | "$NODE_ROOT.ok" | "$PROXY_ROOT" | "$PROXY_ROOT.ok") ;; *) safe_rm "$d" ;; esac
done
timed "debootstrap $DEBIAN_SUITE node rootfs" debootstrap_rootfs node "$NODE_PACKAGES" 3>&- &
bg_pids+=($!)
timed "debootstrap $DEBIAN_SUITE kube-proxy rootfs" debootstrap_rootfs kube-proxy "$PROXY_PACKAGES" 3>&- &
bg_pids+=($!)

# --- 2. Binaries from the Go module proxy ------------------------------------------------
KBIN=$(K8S_VERSION="$K8S_VERSION" ETCD_VERSION="$ETCD_VERSION" bash "$repo/local-cluster/control-plane/build-binaries.sh" 3>&-)
build_kube() { # kubeadm kubelet kube-proxy kube-scheduler, as build-binaries.sh builds its four
  local need=() b pkgs=() mod="$B/go/kube-$K8S_VERSION" minor staging gomod out m p ldflags
  for b in kubeadm kubelet kube-proxy kube-scheduler; do [ -x "$KBIN/$b" ] || need+=("$b"); done
  [ ${#need[@]} -eq 0 ] && return 0
  minor="${K8S_VERSION#v1.}"
  if [ ! -f "$mod/go.mod.ok" ]; then
    rm -rf "$mod"
    mkdir -p "$mod"
    (cd "$mod" && go mod init le-build/kube >/dev/null 2>&1)
    gomod="$(cd "$mod" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
    staging=$(sed -n 's/^[[:space:]]*\(k8s\.io\/[A-Za-z0-9._-]*\) v0\.0\.0$/\1/p' "$gomod" | sort -u)
    [ -n "$staging" ] || die "found no staging modules in $gomod"
    {
      echo "require k8s.io/kubernetes $K8S_VERSION"
      for m in $staging; do echo "replace $m => $m v0.$minor"; done
    } >>"$mod/go.mod"
    touch "$mod/go.mod.ok"
  fi
  for b in "${need[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  (cd "$mod" && go get "${pkgs[@]/%/@$K8S_VERSION}")
  ldflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=${minor%%.*}"
    ldflags="$ldflags -X $p.gitTreeState=clean -X $p.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  log "go build ${need[*]} $K8S_VERSION"
  out="$W/kube-bin"
  mkdir -p "$out"
  (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$out/" "${pkgs[@]}")
  # $W is on the same filesystem as the cache: each binary appears whole or not at all.
  for b in "${need[@]}"; do mv "$out/$b" "$KBIN/$b"; done
}
COREDNS_BIN="$B/bin/coredns-$COREDNS_VERSION"
build_coredns() {
  local mod="$B/go/coredns-$COREDNS_VERSION"
  [ -x "$COREDNS_BIN" ] && return 0
  rm -rf "$mod"
  mkdir -p "$mod" "$B/bin"
  (cd "$mod" && go mod init le-build/coredns >/dev/null 2>&1 && go get "github.com/coredns/coredns@$COREDNS_VERSION" &&
    go build -trimpath -ldflags "-s -w" -o "$W/coredns" github.com/coredns/coredns)
  mv "$W/coredns" "$COREDNS_BIN"
}
CRICTL_BIN="$B/bin/crictl-$CRICTL_VERSION"
build_crictl() {
  local mod="$B/go/crictl-$CRICTL_VERSION"
  [ -x "$CRICTL_BIN" ] && return 0
  rm -rf "$mod"
  mkdir -p "$mod" "$B/bin"
  (cd "$mod" && go mod init le-build/crictl >/dev/null 2>&1 && go get "sigs.k8s.io/cri-tools@$CRICTL_VERSION" &&
    go build -trimpath -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
      -o "$W/crictl" sigs.k8s.io/cri-tools/cmd/crictl)
  mv "$W/crictl" "$CRICTL_BIN"
}
build_pause() {
  mkdir -p "$W/pause-src"
  cp "$files/pause.go" "$W/pause-src/main.go"
  printf 'module le-build/pause\n\ngo 1.22\n' >"$W/pause-src/go.mod"
  (cd "$W/pause-src" && go build -trimpath -ldflags "-s -w" -o "$W/pause" .)
}
timed "kubeadm, kubelet, kube-proxy, kube-scheduler $K8S_VERSION" build_kube 3>&-
timed "coredns $COREDNS_VERSION" build_coredns 3>&-
timed "crictl $CRICTL_VERSION" build_crictl 3>&-
timed "pause" build_pause 3>&-

for p in "${bg_pids[@]}"; do wait "$p" || die "debootstrap failed (log above)"; done
bg_pids=()

# --- 3. The control-plane images, as one OCI archive for `ctr images import` ------------
# Each image: one layer (a small rootfs plus its binary), a config and a manifest; the
# index names them with containerd's annotation.
OCI="$W/oci"
mkdir -p "$OCI/blobs/sha256"
index_entries=()
image_names=()
blob() { # FILE: moves it into the layout, prints "DIGEST SIZE"
  local d s
  d=$(sha256sum "$1" | cut -d' ' -f1)
  s=$(stat -c %s "$1")
  mv "$1" "$OCI/blobs/sha256/$d"
  echo "$d $s"
}
oci_image() { # ROOTFS ENTRYPOINT_JSON USER NAME...
  local rootfs=$1 entry=$2 user=$3 diffid layer config manifest name
  shift 3
  # security.capability: CoreDNS binds :53 as a non-root user through a file capability.
  tar --numeric-owner --xattrs --xattrs-include=security.capability -C "$rootfs" -cf "$W/layer.tar" .
  diffid=$(sha256sum "$W/layer.tar" | cut -d' ' -f1)
  gzip -1 -n "$W/layer.tar"
  read -r -a layer < <(blob "$W/layer.tar.gz")
  printf '{"architecture":"%s","os":"linux","config":{"User":"%s","Env":["PATH=%s"],"Entrypoint":%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"local-cluster/kind/build-node-image.sh"}]}' \
    "$arch" "$user" "$PATH_ENV" "$entry" "$diffid" >"$W/config.json"
  read -r -a config < <(blob "$W/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "${config[0]}" "${config[1]}" "${layer[0]}" "${layer[1]}" >"$W/manifest.json"
  read -r -a manifest < <(blob "$W/manifest.json")
  for name in "$@"; do
    image_names+=("$name")
    index_entries+=("$(printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}' \
      "${manifest[0]}" "${manifest[1]}" "$name" "${name##*:}")")
  done
  safe_rm "$rootfs"
}
small_rootfs() { # DIR: passwd/group (root, nobody, nonroot 65532), CA bundle, /tmp
  mkdir -p "$1/etc/ssl/certs" "$1/tmp" "$1/usr/local/bin" "$1/home/nonroot"
  chmod 1777 "$1/tmp"
  chown 65532:65532 "$1/home/nonroot"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$1/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$1/etc/group"
  echo 'hosts: files dns' >"$1/etc/nsswitch.conf"
  cp "$NODE_ROOT/etc/ssl/certs/ca-certificates.crt" "$1/etc/ssl/certs/"
}
trim_debian() { # ROOTFS: apt's downloads and lists, debootstrap's device nodes, the host's names
  local r=${1:?}
  rm -rf --one-file-system "${r:?}"/var/cache/apt/archives/*.deb "${r:?}"/var/cache/apt/*.bin \
    "${r:?}"/var/lib/apt/lists/* "${r:?}"/dev/*
  rm -f "$r/etc/resolv.conf" "$r/etc/hostname"
  : >"$r/etc/resolv.conf"
}
build_images() {
  local sandbox required=() img_name base r c
  # kind pins the sandbox image in its containerd config; kubeadm lists its own pause tag.
  sandbox=$(sed -n 's/^[[:space:]]*sandbox_image = "\(.*\)"/\1/p' "$kind_files/etc/containerd/config.toml")
  [ -n "$sandbox" ] || die "no sandbox_image in kind's containerd config"
  mapfile -t required < <("$KBIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION" 2>/dev/null)
  [ ${#required[@]} -ge 6 ] || die "kubeadm config images list gave: ${required[*]}"
  log "images: ${required[*]} $sandbox"
  for img_name in "${required[@]}"; do
    base=${img_name##*/}
    base=${base%%:*}
    r="$W/img-$base"
    case "$base" in
      kube-apiserver | kube-controller-manager | kube-scheduler | etcd)
        small_rootfs "$r"
        install -m 0755 "$KBIN/$base" "$r/usr/local/bin/$base"
        oci_image "$r" "[\"/usr/local/bin/$base\"]" 0:0 "$img_name"
        ;;
      kube-proxy)
        mkdir -p "$r"
        cp -a "$PROXY_ROOT/." "$r/"
        trim_debian "$r"
        install -m 0755 "$KBIN/kube-proxy" "$r/usr/local/bin/kube-proxy"
        install -m 0755 "$files/iptables-wrapper" "$r/usr/sbin/iptables-wrapper"
        for c in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
          ln -sf iptables-wrapper "$r/usr/sbin/$c"
        done
        oci_image "$r" '["/usr/local/bin/kube-proxy"]' 0:0 "$img_name"
        ;;
      coredns)
        small_rootfs "$r"
        install -m 0755 "$COREDNS_BIN" "$r/coredns"
        setcap cap_net_bind_service=+ep "$r/coredns"
        oci_image "$r" '["/coredns"]' 65532:65532 "$img_name"
        ;;
      pause)
        mkdir -p "$r"
        install -m 0755 "$W/pause" "$r/pause"
        if [ "$img_name" = "$sandbox" ]; then
          oci_image "$r" '["/pause"]' 65535:65535 "$img_name"
        else
          oci_image "$r" '["/pause"]' 65535:65535 "$img_name" "$sandbox"
        fi
        ;;
      *) die "kubeadm lists an image this script does not build: $img_name" ;;
    esac
  done
  echo '{"imageLayoutVersion":"1.0.0"}' >"$OCI/oci-layout"
  (
    IFS=,
    printf '{"schemaVersion":2,"manifests":[%s]}' "${index_entries[*]}" >"$OCI/index.json"
  )
  tar -C "$OCI" -cf "$W/images.tar" oci-layout index.json blobs
  rm -rf "$OCI"
}
timed "control-plane images (OCI archive)" build_images 3>&-

# --- 4. The node rootfs: kind's base image, then what `kind build node-image` adds -------
R="$W/node"
base_image() {
  local f
  cp -a "$NODE_ROOT/." "$R/"
  trim_debian "$R"
  # kind's images/base/Dockerfile: COPY --chmod (scripts 0755, the rest 0644) ...
  for f in "$kind_files"/usr/local/bin/*; do install -D -m 0755 "$f" "$R/usr/local/bin/${f##*/}"; done
  (cd "$kind_files" && find kind -type f) | while read -r f; do install -D -m 0644 "$kind_files/$f" "$R/$f"; done
  for f in "$kind_files"/kind/bin/*; do chmod 0755 "$R/kind/bin/${f##*/}"; done
  chmod 0755 "$R/kind" "$R/kind/bin"
  for f in "$kind_files"/LICENSES/*; do install -D -m 0644 "$f" "$R/LICENSES/${f##*/}"; done
  (cd "$kind_files" && find etc -type f) | while read -r f; do install -D -m 0644 "$kind_files/$f" "$R/$f"; done
  # ... the RUN that trims systemd's units (Debian's /lib and /sbin are links into /usr) ...
  if [ ! -L "$R/lib" ] || [ ! -L "$R/sbin" ]; then die "expected a merged-/usr rootfs"; fi
  local u="$R/usr/lib/systemd/system"
  find "$u/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
  rm -f "$u"/multi-user.target.wants/* "$R"/etc/systemd/system/*.wants/* "$u"/local-fs.target.wants/* \
    "$u"/sockets.target.wants/*udev* "$u"/sockets.target.wants/*initctl* "$u"/basic.target.wants/*
  echo "ReadKMsg=no" >>"$R/etc/systemd/journald.conf"
  [ -e "$R/usr/sbin/init" ] || [ -L "$R/usr/sbin/init" ] || ln -s /usr/lib/systemd/systemd "$R/usr/sbin/init"
  chroot "$R" systemctl enable kubelet.service containerd.service undo-mount-hacks.service
  chroot "$R" systemctl mask systemd-binfmt.service
  mkdir -p "$R/etc/kubernetes/manifests"
  # ... and its build stages, from Debian: kind's units call /usr/local/bin/containerd, its
  # containerd config expects CNI plugins in /opt/cni/bin.
  for f in containerd ctr containerd-shim-runc-v2; do
    [ -x "$R/usr/bin/$f" ] || die "Debian's containerd has no /usr/bin/$f"
    ln -sf "/usr/bin/$f" "$R/usr/local/bin/$f"
  done
  mkdir -p "$R/opt/cni/bin"
  for f in bridge host-local loopback ptp portmap; do
    [ -x "$R/usr/lib/cni/$f" ] || die "Debian's containernetworking-plugins has no $f"
    ln -sf "/usr/lib/cni/$f" "$R/opt/cni/bin/$f"
  done
  # cri-base.json: kind's two filters; rlimits deleted (runc may not set them here).
  chroot "$R" ctr oci spec |
    chroot "$R" jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' |
    chroot "$R" jq 'del(.process.rlimits)' >"$R/etc/containerd/cri-base.json"
  # Without CAP_SYS_RESOURCE, containerd must not lower a container's oom_score_adj.
  sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' "$R/etc/containerd/config.toml"
  grep -q 'restrict_oom_score_adj = true' "$R/etc/containerd/config.toml" || die "restrict_oom_score_adj not set"
}
kube_bits() {
  local b
  for b in kubeadm kubelet kubectl; do install -m 0755 "$KBIN/$b" "$R/usr/bin/$b"; done
  install -m 0755 "$CRICTL_BIN" "$R/usr/local/bin/crictl"
  printf '%s' "$K8S_VERSION" >"$R/kind/version"
  # The kubelet on a cgroup v1 host: failCgroupV1: false, through a drop-in directory.
  echo 'KUBELET_EXTRA_ARGS=--runtime-cgroups=/system.slice/containerd.service --config-dir=/etc/kubernetes/kubelet.conf.d' \
    >"$R/etc/default/kubelet"
  install -D -m 0644 "$files/kubelet-cgroupv1.conf" "$R/etc/kubernetes/kubelet.conf.d/90-cgroupv1.conf"
  # The pod network: no kindnetd; a static bridge, and nothing for kind to deploy.
  install -D -m 0644 "$files/10-bridge.conflist" "$R/etc/cni/net.d/10-bridge.conflist"
  install -D -m 0644 "$files/default-cni.yaml" "$R/kind/manifests/default-cni.yaml"
}
import_images() {
  # The node's own containerd, in a chroot, in private mount and pid namespaces (gone when
  # it stops): the images go into the image's /var/lib/containerd, unpacked at first use.
  local sock=/run/containerd-build/containerd.sock label=() i help listed
  cat >"$R/tmp/build-containerd.toml" <<EOF
version = 2
root = "/var/lib/containerd"
state = "/run/containerd-build"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
EOF
  unshare --mount --propagation private --pid --fork --kill-child=SIGTERM --mount-proc="$R/proc" \
    chroot "$R" /usr/bin/containerd --config /tmp/build-containerd.toml \
    >"$W/containerd.log" 2>&1 3>&- 9>&- &
  CTRD_PID=$!
  echo "$CTRD_PID" >"$B/containerd.pid"
  for i in $(seq 100); do
    [ -S "$R$sock" ] && chroot "$R" ctr --address "$sock" version >/dev/null 2>&1 && break
    [ -d "/proc/$CTRD_PID" ] || { tail -n 20 "$W/containerd.log" >&2; die "containerd exited"; }
    [ "$i" -lt 100 ] || die "containerd did not answer on $sock"
    sleep 0.2
  done
  # Pinned, as kind pins them, where this ctr can label (containerd < 1.7 has no pinning).
  help=$(chroot "$R" ctr images import --help 2>&1 || true)
  if [[ $help == *--label* ]]; then label=(--label=io.cri-containerd.pinned=pinned); fi
  chroot "$R" ctr --address "$sock" --namespace=k8s.io images import "${label[@]}" \
    --all-platforms --no-unpack --digests - <"$W/images.tar" >&2
  listed=$(chroot "$R" ctr --address "$sock" --namespace=k8s.io images list -q)
  for i in "${image_names[@]}"; do grep -qxF "$i" <<<"$listed" || die "containerd did not import $i"; done
  log "imported ${image_names[*]}"
  stop_containerd
  rm -rf "$R/run/containerd-build" "$R/tmp/build-containerd.toml"
  rm -f "$W/images.tar"
}
mkdir -p "$R"
timed "node rootfs: kind base image" base_image 3>&-
timed "node rootfs: kubeadm, kubelet, kubectl, crictl, configuration" kube_bits 3>&-
timed "node rootfs: images into containerd" import_images 3>&-

# --- 5. The image, and its archive -------------------------------------------------------
import_node() {
  tar --numeric-owner --xattrs --xattrs-include=security.capability -C "$R" \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' --exclude='./tmp/*' \
    -cf "$W/node.tar" .
  safe_rm "$R"
  TMPDIR="$B/tmp" "$ENGINE" import \
    --change 'ENV container=docker' --change "ENV PATH=$PATH_ENV" --change 'STOPSIGNAL SIGRTMIN+3' \
    --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
    "$W/node.tar" "$img" >&2
  rm -f "$W/node.tar"
}
timed "image import" import_node 3>&-
save_archive 3>&-

# Older node images and archives are not needed any more (an image a cluster uses stays).
for f in "$KIND_STATE"/kind-node-*.tar "$KIND_STATE"/kind-node-*.tar.tmp; do [ "$f" = "$archive" ] || rm -f "$f"; done
for old in $("$ENGINE" images --format '{{.Repository}}:{{.Tag}}' | awk -v r="$IMAGE_REPO:" -v i="$img" 'index($0, r) == 1 && $0 != i'); do
  "$ENGINE" rmi "$old" >/dev/null 2>&1 || log "kept $old (in use)"
done
log "built $img in $(since "$t_start"): $("$ENGINE" image inspect --format '{{.Size}}' "$img" | awk '{ printf "%d MB", $1 / 1e6 }')"
echo "$img" >&3

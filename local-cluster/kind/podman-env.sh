#!/usr/bin/env bash
# Sourced by the kind scripts: a container engine for kind and for image builds.
# Docker where it exists; else Debian's podman (rootful, runc), installed as root
# when missing, with the host-side settings this kind of machine needs
# (../shared/kind-offline-notes.md):
#   - runc, not crun (crun refuses the cgroup v1 hybrid layout);
#   - explicit ulimits (podman's defaults exceed what runc may set here);
#   - node containers nested in the caller's own memory cgroup (podman's cgroupfs
#     default, /libpod_parent, is outside what the machine tracks);
#   - /lib/modules, which kind bind-mounts, may not exist on the host.
# The last two go through a small `podman` wrapper first on PATH; the system's
# podman configuration is left untouched (CONTAINERS_CONF points at our own file).
#
# After sourcing: ENGINE (docker|podman), KIND_STATE (our files), PATH with the
# wrapper, CONTAINERS_CONF, KIND_EXPERIMENTAL_PROVIDER when podman.

: "${LE_CACHE_DIR:=$HOME/.cache/leader-election}"
KIND_STATE="$LE_CACHE_DIR/kind"
mkdir -p "$KIND_STATE"

le_apt_install() {
  # Installs Debian packages that are missing (as root only: otherwise says what to run).
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "kind: missing Debian packages: ${missing[*]} (run: sudo apt-get install -y ${missing[*]})" >&2
    return 1
  fi
  echo "kind: installing ${missing[*]} from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  }
}

if command -v docker >/dev/null 2>&1 && docker version --format '{{.Server.Version}}' >/dev/null 2>&1 &&
  docker -v 2>/dev/null | grep -q '^Docker version'; then
  ENGINE=docker
else
  ENGINE=podman
  le_apt_install podman runc conmon uidmap buildah iptables golang-github-containernetworking-plugin-dnsname
  export KIND_EXPERIMENTAL_PROVIDER=podman
  CONTAINERS_CONF="$KIND_STATE/containers.conf"
  cat >"$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
  export CONTAINERS_CONF
  # The caller's v1 memory cgroup (empty on cgroup v2, where podman's default is fine).
  own_memcg="$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup)"
  export LE_KIND_CGROUP_PARENT=""
  if [ -n "$own_memcg" ] && [ "$own_memcg" != "/" ]; then LE_KIND_CGROUP_PARENT="${own_memcg%/}/leader-election-kind"; fi
  export LE_KIND_EMPTY_DIR="$KIND_STATE/empty"
  mkdir -p "$KIND_STATE/bin" "$LE_KIND_EMPTY_DIR"
  real_podman="$(PATH=/usr/local/bin:/usr/bin:/bin command -v podman)"
  cat >"$KIND_STATE/bin/podman" <<WRAP
#!/usr/bin/env bash
# Written by local-cluster/kind/podman-env.sh: kind's node containers inside our memory
# cgroup, and an empty /lib/modules where the host has none.
if [ "\${1:-}" = run ]; then
  shift
  args=()
  for a in "\$@"; do
    if [ "\$a" = /lib/modules:/lib/modules:ro ] && [ ! -d /lib/modules ]; then a="\$LE_KIND_EMPTY_DIR:/lib/modules:ro"; fi
    args+=("\$a")
  done
  if [ -n "\${LE_KIND_CGROUP_PARENT:-}" ]; then exec $real_podman run --cgroup-parent="\$LE_KIND_CGROUP_PARENT" "\${args[@]}"; fi
  exec $real_podman run "\${args[@]}"
fi
exec $real_podman "\$@"
WRAP
  chmod +x "$KIND_STATE/bin/podman"
  case ":$PATH:" in *":$KIND_STATE/bin:"*) ;; *) PATH="$KIND_STATE/bin:$PATH" ;; esac
  export PATH
  # What the host looked like before podman's first container, for host-cleanup.sh.
  if [ "$(id -u)" -eq 0 ] && [ -z "$(podman ps -aq 2>/dev/null)" ]; then
    [ -f "$KIND_STATE/ip_forward.orig" ] || cat /proc/sys/net/ipv4/ip_forward >"$KIND_STATE/ip_forward.orig"
    [ -e /run/netns ] || : >"$KIND_STATE/run-netns.absent"
  fi
fi
export ENGINE KIND_STATE

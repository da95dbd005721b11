#!/usr/bin/env bash
# Prints what a kind cluster on this host can leave behind, one sorted line per item, so
# that two snapshots (before make kind-up, after make kind-down) can be compared:
# network links and addresses, iptables and ip6tables rules, network namespaces, mounts
# of the container engine, ip_forward, engine containers and networks, and processes
# (conmon, dnsmasq, containerd-shim, kind).
set -uo pipefail
{
  ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print "link " $2 }'
  ip -o addr show 2>/dev/null | awk '{ print "addr " $2 " " $4 }'
  for t in iptables-save ip6tables-save; do
    command -v "$t" >/dev/null || continue
    "$t" 2>/dev/null | grep -v '^[#*]' | grep -v '^COMMIT' | sed -E 's/\[[0-9]+:[0-9]+\]//; s/^/'"$t"' /'
  done
  [ -d /run/netns ] && find /run/netns -mindepth 1 -maxdepth 1 -printf 'netns %f\n'
  awk '$2 ~ /^\/run\/netns|^\/var\/lib\/containers|^\/run\/containers/ { print "mount " $2 }' /proc/mounts
  echo "sysctl net.ipv4.ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
  if command -v podman >/dev/null; then
    podman ps -a --format 'container {{.Names}}' 2>/dev/null
    podman network ls --format 'network {{.Name}}' 2>/dev/null | grep -vx 'network podman'
  fi
  for p in conmon dnsmasq containerd-shim kind; do
    n=$(pgrep -c -x "$p" 2>/dev/null || true)
    [ "${n:-0}" -gt 0 ] && echo "process $p x$n"
  done
} | sort

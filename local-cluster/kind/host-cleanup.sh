#!/usr/bin/env bash
# What podman's CNI backend leaves on the host once every container is gone, removed
# (../shared/kind-offline-notes.md, fact 8), so that make kind-down leaves the host as
# make kind-up found it: the dnsname plugin's udp/53 INPUT rule of a bridge that no longer
# exists; the CNI firewall and port-forwarding chains once they hold nothing but their own
# base rules, with the jumps into them; the cni-podman0 bridge; /run/netns when empty;
# and net.ipv4.ip_forward as podman-env.sh recorded it before the first container.
# Does nothing while any podman container exists. Run as root.
set -euo pipefail
: "${LE_CACHE_DIR:=$HOME/.cache/leader-election}"
state="$LE_CACHE_DIR/kind"
command -v podman >/dev/null || exit 0
[ -z "$(podman ps -aq 2>/dev/null)" ] || exit 0

for ipt in iptables ip6tables; do
  command -v "$ipt" >/dev/null || continue
  # udp/53 rules of bridges that are gone
  { "$ipt" -S INPUT 2>/dev/null | grep -E -- '-i cni-podman[0-9]+ .*--dport 53 -j ACCEPT' || true; } | while read -r rule; do
    dev=$(sed -E 's/.*-i (cni-podman[0-9]+).*/\1/' <<<"$rule")
    ip link show "$dev" >/dev/null 2>&1 && continue
    read -r -a args <<<"${rule#-A }"
    "$ipt" -D "${args[@]}"
  done
  # The CNI chains, when only their base rules are left.
  rules() { "$ipt" -t "$1" -S "$2" 2>/dev/null | grep -c -- '^-A' || true; }
  only_base() {
    [ "$(rules filter CNI-FORWARD)" -le 1 ] && [ "$(rules filter CNI-ADMIN)" -eq 0 ] &&
      [ "$(rules nat CNI-HOSTPORT-DNAT)" -eq 0 ] && [ "$(rules nat CNI-HOSTPORT-MASQ)" -le 1 ] &&
      [ "$(rules nat CNI-HOSTPORT-SETMARK)" -le 1 ]
  }
  if "$ipt" -t filter -S CNI-FORWARD >/dev/null 2>&1 && only_base; then
    "$ipt" -t filter -D FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD 2>/dev/null || true
    "$ipt" -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT 2>/dev/null || true
    "$ipt" -t nat -D OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT 2>/dev/null || true
    "$ipt" -t nat -D POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ 2>/dev/null || true
    for c in filter:CNI-FORWARD filter:CNI-ADMIN nat:CNI-HOSTPORT-DNAT nat:CNI-HOSTPORT-MASQ nat:CNI-HOSTPORT-SETMARK; do
      "$ipt" -t "${c%%:*}" -F "${c#*:}" 2>/dev/null || true
      "$ipt" -t "${c%%:*}" -X "${c#*:}" 2>/dev/null || true
    done
  fi
done

if ip link show cni-podman0 >/dev/null 2>&1; then ip link delete cni-podman0; fi
if [ -d /run/netns ] && [ -z "$(ls -A /run/netns)" ] && [ -f "$state/run-netns.absent" ]; then
  while grep -q ' /run/netns ' /proc/mounts; do umount /run/netns; done
  rmdir /run/netns
fi
if [ -f "$state/ip_forward.orig" ]; then
  cat "$state/ip_forward.orig" >/proc/sys/net/ipv4/ip_forward
fi

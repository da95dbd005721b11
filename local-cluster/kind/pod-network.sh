#!/usr/bin/env bash
# The pod network of a kind cluster with more than one node, built offline. kind's own CNI,
# kindnetd, is an image we cannot pull or build here; the node image ships a static bridge
# conflist (one node's worth: 10.244.0.0/24). With several nodes this script does what kindnetd
# does, with Debian's CNI plugins: each node's bridge gets the node's own podCIDR (allocated by
# kube-controller-manager), and each node gets a route to every other node's podCIDR via that
# node's InternalIP (all nodes share podman's or docker's `kind` network, so the next hop is on
# link). Pods that got an address outside their node's podCIDR before this ran (CoreDNS) are
# deleted: their controllers recreate them. The control plane's NoSchedule taint is removed so
# that workloads spread over every kubelet. Idempotent; nothing to do with one node.
#
# Needs: KUBECTL (kubectl with the cluster's context), ENGINE (docker or podman; podman-env.sh).
# Assumes /24 podCIDRs (kind's default node-cidr-mask-size for IPv4).
set -euo pipefail
say() { echo "pod-network: $*" >&2; }
k() { $KUBECTL "$@"; }

mapfile -t nodes < <(k get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}')
if [[ ${#nodes[@]} -le 1 ]]; then exit 0; fi

conflist() {
  cat <<EOF
{
  "cniVersion": "0.4.0",
  "name": "kind-bridge",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$1" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
}

for entry in "${nodes[@]}"; do
  read -r name cidr ip <<<"$entry"
  [[ -n $cidr && -n $ip ]] || { say "node $name has no podCIDR or InternalIP yet"; exit 1; }
  gateway="${cidr%.0/24}.1"
  want=$(conflist "$cidr")
  have=$("$ENGINE" exec "$name" cat /etc/cni/net.d/10-bridge.conflist 2>/dev/null || true)
  if [[ $have != "$want" ]]; then
    "$ENGINE" exec -i "$name" sh -c 'cat > /etc/cni/net.d/10-bridge.conflist' <<<"$want"
    # A bridge that already carries another subnet's gateway makes the bridge plugin fail
    # ("cni0 already has an IP address different from ..."): remove it; its pods go below.
    if ! "$ENGINE" exec "$name" sh -c "ip -4 addr show cni0 2>/dev/null | grep -q ' $gateway/'"; then
      "$ENGINE" exec "$name" sh -c 'ip link delete cni0 2>/dev/null || true'
    fi
    say "$name: pods on $cidr"
  fi
  for other in "${nodes[@]}"; do
    read -r oname ocidr oip <<<"$other"
    [[ $oname == "$name" ]] && continue
    "$ENGINE" exec "$name" ip route replace "$ocidr" via "$oip"
  done
done

k taint nodes --all node-role.kubernetes.io/control-plane:NoSchedule- >/dev/null 2>&1 || true

# Pods (not on the host network) whose address is outside their node's podCIDR.
declare -A prefix_of
for entry in "${nodes[@]}"; do
  read -r name cidr _ <<<"$entry"
  prefix_of[$name]="${cidr%0/24}"
done
k get pods -A -o jsonpath='{range .items[?(@.status.podIP)]}{.metadata.namespace} {.metadata.name} {.spec.nodeName} {.status.podIP} {.spec.hostNetwork}{"\n"}{end}' |
  while read -r ns pod node podip host; do
    [[ $host == true ]] && continue
    prefix=${prefix_of[$node]:-}
    [[ -n $prefix && $podip != "$prefix"* ]] || continue
    say "re-creating $ns/$pod ($podip is not in $node's pod range)"
    k -n "$ns" delete pod "$pod" --wait=false >/dev/null
  done

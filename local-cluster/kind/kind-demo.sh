#!/usr/bin/env bash
# make kind-demo: on the cluster of make kind-up, applies examples/deployment.yaml (3 replicas,
# readiness-gate routing) with the test app image built by kind-up in place of test.local/echo:1,
# waits for a leader, then deletes the leader pod and prints the failover time, measured by
# polling `kubectl get lease` and the pods (each poll is one kubectl call, ~50-100 ms: the
# figures are upper bounds with that resolution). Idempotent.
# Environment: KIND_CLUSTER (default leader-election), DEMO_NAMESPACE (default default).
set -euo pipefail
cd "$(dirname "$0")/../.."
# The kubectl of the cluster's minor version, built once with the control plane's binaries.
PATH="$(bash local-cluster/control-plane/build-binaries.sh):$PATH"

CONTEXT=kind-${KIND_CLUSTER:-leader-election}
NS=${DEMO_NAMESPACE:-default}
k() { kubectl --context "$CONTEXT" -n "$NS" "$@"; }

now_ms() {
  if [[ -n ${EPOCHREALTIME:-} ]]; then # bash >= 5: microseconds, without a process
    local t=${EPOCHREALTIME/[.,]/}
    echo $((10#$t / 1000))
  else # bash 3 (macOS): perl is there
    perl -MTime::HiRes=time -e 'printf("%d\n", time() * 1000)'
  fi
}
holder() { k get lease web -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true; }
is_ready() {
  [[ $(k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}
has_endpoint() {
  k get endpointslices -l kubernetes.io/service-name=web \
    -o jsonpath='{range .items[*].endpoints[?(@.conditions.ready==true)]}{.targetRef.name}{"\n"}{end}' \
    2>/dev/null | grep -qx "$1"
}
deadline() { echo $(($(now_ms) + $1 * 1000)); }
check() { (($(now_ms) < $1)) || { echo "kind-demo: timed out waiting for $2" >&2; exit 1; }; }

if [[ $NS != default ]]; then
  kubectl --context "$CONTEXT" create namespace "$NS" --dry-run=client -o yaml | kubectl --context "$CONTEXT" apply -f -
fi
# examples/deployment.yaml names the local pod runner's image; kind runs the test app's.
sed 's#test.local/echo:1#ghcr.io/leader-election/testapp:dev#' examples/deployment.yaml | k apply -f -

echo "kind-demo: waiting for a leader (only it becomes Ready: READINESS GATES 1/1)"
limit=$(deadline 180)
until leader=$(holder) && [[ -n $leader ]] && is_ready "$leader"; do
  check "$limit" "a Ready leader"
  sleep 0.5
done
k get pods -l app=web -o wide
k get lease web
k get endpointslices -l kubernetes.io/service-name=web

echo "kind-demo: deleting the leader pod $leader"
t0=$(now_ms)
k delete pod "$leader" --wait=false
limit=$(deadline 60)
until next=$(holder) && [[ -n $next && $next != "$leader" ]]; do
  check "$limit" "a new holder of Lease web"
  sleep 0.05
done
t_lease=$(now_ms)
until is_ready "$next"; do
  check "$limit" "$next Ready"
  sleep 0.05
done
t_ready=$(now_ms)
until has_endpoint "$next"; do
  check "$limit" "$next in the Service's ready endpoints"
  sleep 0.05
done
t_endpoint=$(now_ms)

k get pods -l app=web -o wide
echo
echo "failover, from the delete of $leader to:"
printf '  %-56s %6s ms\n' "Lease web held by $next" "$((t_lease - t0))"
printf '  %-56s %6s ms\n' "$next Ready" "$((t_ready - t0))"
printf '  %-56s %6s ms\n' "$next a ready endpoint of Service web" "$((t_endpoint - t0))"
echo "(polled with kubectl, one call every ~100 ms: each figure is an upper bound)"

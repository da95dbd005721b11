#!/usr/bin/env bash
# make undeploy: removes leader-election from the cluster of the current kubeconfig context,
# admission first, so that no pod creation is refused on the way out:
#   1. the MutatingWebhookConfiguration, then the ValidatingAdmissionPolicyBindings and
#      policies (with the webhook gone, the require-agent policy would refuse opted-in pods);
#   2. everything else of manifests/ (namespace leader-election-system, the webhook, its
#      RBAC, certificates), except the agent's ClusterRole;
#   3. the agent's RBAC (ClusterRole leader-election-agent and the RoleBindings the webhook's
#      reconciler made, label app.kubernetes.io/managed-by=leader-election-webhook): KEPT
#      while injected pods exist, because their agents need it to renew their Leases (without
#      it every leader steps down and, with readiness-gate routing, no pod is Ready). Run
#      undeploy again once those workloads are gone or no longer opted in, or set
#      REMOVE_AGENT_RBAC=1 to remove it anyway.
# Running workloads keep running. Idempotent.
# Environment: KUBECTL (default kubectl), MANIFESTS (default manifests), REMOVE_AGENT_RBAC,
#              WAIT_TIMEOUT (for the namespace deletion, default 180s).
set -euo pipefail

read -r -a KUBECTL_CMD <<<"${KUBECTL:-kubectl}"
k() { "${KUBECTL_CMD[@]}" "$@"; }

cd "$(dirname "$0")/.."
MANIFESTS=${MANIFESTS:-manifests}
WAIT_TIMEOUT=${WAIT_TIMEOUT:-180s}
MANAGED=app.kubernetes.io/managed-by=leader-election-webhook

context=$(k config current-context 2>/dev/null || true)
echo "undeploy: context ${context:-(none)}, manifests $MANIFESTS"

# 1. admission
k delete mutatingwebhookconfiguration leader-election --ignore-not-found
k delete validatingadmissionpolicybinding leader-election-require-agent leader-election-agent-scope leader-election-webhook-scope --ignore-not-found
k delete validatingadmissionpolicy leader-election-require-agent leader-election-agent-scope leader-election-webhook-scope --ignore-not-found

# 2. the rest, but the agent's ClusterRole (label app.kubernetes.io/component=agent)
k delete -k "$MANIFESTS" --ignore-not-found -l 'app.kubernetes.io/component!=agent' \
  --wait=true --timeout="$WAIT_TIMEOUT"

# 3. the agent's RBAC
injected=$(k get pods -A -l leader-election/injected=true \
  --field-selector=status.phase!=Succeeded,status.phase!=Failed -o name | wc -l)
if ((injected > 0)) && [[ ${REMOVE_AGENT_RBAC:-} != 1 ]]; then
  bindings=$(k get rolebindings -A -l "$MANAGED" -o name | wc -l)
  cat <<NOTE
undeploy: kept ClusterRole leader-election-agent and $bindings RoleBinding(s) labelled $MANAGED:
  $injected injected pod(s) still run an agent that needs them to renew its Lease. Their
  leaders keep leading; but new pods of opted-in workloads are no longer injected (no agent,
  no readiness gate: every such replica is Ready). List them, and once they are gone or no
  longer opted in, run make undeploy again, or remove the RBAC by hand:
    kubectl get pods -A -l leader-election/injected=true
    kubectl delete rolebindings -A -l $MANAGED
    kubectl delete clusterrole leader-election-agent
NOTE
else
  k delete rolebindings -A -l "$MANAGED" --ignore-not-found
  k delete clusterrole leader-election-agent --ignore-not-found
fi
echo "undeploy: done"

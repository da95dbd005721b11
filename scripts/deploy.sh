#!/usr/bin/env bash
# make deploy: installs leader-election into the cluster of the current kubeconfig context.
#   1. checks that cert-manager is installed: its CRD certificates.cert-manager.io exists and
#      its three Deployments are Available (it issues and rotates the webhook's certificate);
#   2. kubectl apply --server-side -k manifests/ (or MANIFESTS=manifests/overlays/dev);
#   3. waits until the webhook Deployment is rolled out and the MutatingWebhookConfiguration
#      has its caBundle, so opted-in pods are admitted from then on.
# Idempotent: run it again to upgrade (same field manager, server-side apply).
# Environment:
#   KUBECTL                 kubectl command (default kubectl; may carry flags: "kubectl --context x")
#   MANIFESTS               kustomize directory (default manifests)
#   CERT_MANAGER_NAMESPACE  where cert-manager runs (default cert-manager)
#   CERT_MANAGER_VERSION    version named in the install hint (default v1.19.5)
#   WAIT_TIMEOUT            how long to wait for the rollout (default 180s; 0 skips waiting)
#   CERT_MANAGER            required (default) or stand-in: the caller issues the webhook's
#                           Secret and injects the caBundle itself, as local-cluster/kind does
#                           where cert-manager cannot be installed (no registry)
set -euo pipefail

read -r -a KUBECTL_CMD <<<"${KUBECTL:-kubectl}"
k() { "${KUBECTL_CMD[@]}" "$@"; }

cd "$(dirname "$0")/.."
MANIFESTS=${MANIFESTS:-manifests}
CM_NS=${CERT_MANAGER_NAMESPACE:-cert-manager}
CM_VERSION=${CERT_MANAGER_VERSION:-v1.19.5}
WAIT_TIMEOUT=${WAIT_TIMEOUT:-180s}
CERT_MANAGER=${CERT_MANAGER:-required}
case $CERT_MANAGER in required | stand-in) ;; *) echo "deploy: CERT_MANAGER=$CERT_MANAGER must be required or stand-in" >&2; exit 2 ;; esac
NS=leader-election-system

die() {
  echo "deploy: $*" >&2
  exit 1
}

cert_manager_hint() {
  cat >&2 <<HINT
deploy: cert-manager is required (it issues the webhook's serving certificate and injects
its CA into the MutatingWebhookConfiguration). Install it, wait for it, then run make deploy again:

  kubectl apply -f https://github.com/cert-manager/cert-manager/releases/download/${CM_VERSION}/cert-manager.yaml
  kubectl -n cert-manager wait --for=condition=Available deployment --all --timeout=300s

(or with Helm: https://cert-manager.io/docs/installation/helm/; set CERT_MANAGER_NAMESPACE
if it runs in another namespace than cert-manager)
HINT
  exit 1
}

[[ -f $MANIFESTS/kustomization.yaml ]] || die "$MANIFESTS/kustomization.yaml not found (MANIFESTS=$MANIFESTS)"
context=$(k config current-context 2>/dev/null || true)
echo "deploy: context ${context:-(none)}, manifests $MANIFESTS"
k get --raw /version >/dev/null || die "cannot reach the API server of context ${context:-(none)}"

# 1. cert-manager: its CRDs must exist (the manifests hold an Issuer and Certificates); its
#    Deployments must be Available unless a stand-in issues the Secret (CERT_MANAGER=stand-in).
if ! out=$(k get crd certificates.cert-manager.io -o name 2>&1); then
  if [[ $out == *NotFound* || $out == *"not found"* ]]; then
    echo "deploy: CRD certificates.cert-manager.io not found" >&2
    cert_manager_hint
  fi
  die "cannot read CRD certificates.cert-manager.io: $out"
fi
if [[ $CERT_MANAGER == stand-in ]]; then
  echo "deploy: CERT_MANAGER=stand-in: cert-manager is not running; the caller provides the webhook's Secret and caBundle"
else
  unavailable=()
  for d in cert-manager cert-manager-webhook cert-manager-cainjector; do
    status=$(k -n "$CM_NS" get deployment "$d" \
      -o jsonpath='{.status.conditions[?(@.type=="Available")].status}' 2>/dev/null || true)
    [[ $status == True ]] || unavailable+=("$CM_NS/$d")
  done
  if ((${#unavailable[@]})); then
    echo "deploy: cert-manager's CRDs exist but these Deployments are missing or not Available: ${unavailable[*]}" >&2
    cert_manager_hint
  fi
  echo "deploy: cert-manager is available in $CM_NS"
fi

# 2. apply. Right after cert-manager starts, its webhook may refuse for a few seconds
# (Certificates and Issuers are validated by it): retry a few times.
for attempt in 1 2 3 4 5; do
  # --force-conflicts: this script states the product's desired state; fields changed by hand
  # (kubectl edit, scale) are taken back, as a client-side apply would.
  if k apply --server-side --force-conflicts --field-manager=leader-election -k "$MANIFESTS"; then
    break
  fi
  ((attempt < 5)) || die "kubectl apply failed $attempt times"
  echo "deploy: apply failed (attempt $attempt); retrying in 5s" >&2
  sleep 5
done

# 3. wait
if [[ $WAIT_TIMEOUT == 0 || $WAIT_TIMEOUT == 0s ]]; then
  echo "deploy: applied (not waiting: WAIT_TIMEOUT=$WAIT_TIMEOUT)"
  exit 0
fi
k -n "$NS" rollout status deployment/leader-election-webhook --timeout="$WAIT_TIMEOUT"
if [[ $CERT_MANAGER == stand-in ]]; then
  echo "deploy: applied and rolled out; the caller injects the caBundle (CERT_MANAGER=stand-in)"
  exit 0
fi
echo "deploy: waiting for cert-manager to inject the CA into the MutatingWebhookConfiguration"
case $WAIT_TIMEOUT in
*m) wait_seconds=$((${WAIT_TIMEOUT%m} * 60)) ;;
*s) wait_seconds=${WAIT_TIMEOUT%s} ;;
*) wait_seconds=$WAIT_TIMEOUT ;;
esac
deadline=$((SECONDS + wait_seconds))
until [[ -n $(k get mutatingwebhookconfiguration leader-election \
  -o jsonpath='{.webhooks[0].clientConfig.caBundle}' 2>/dev/null || true) ]]; do
  ((SECONDS < deadline)) || die "no caBundle in MutatingWebhookConfiguration leader-election after $WAIT_TIMEOUT (is cert-manager's cainjector running?)"
  sleep 2
done
echo "deploy: leader-election is installed; opt a workload in with the annotation leader-election/enabled: \"true\""

#!/usr/bin/env bash
# A stand-in for cert-manager where it cannot be installed: with no container registry its
# images cannot be pulled, and its programs are not served by the Go module proxy (only the
# root module is, with the CRDs). This script does what cert-manager would do for our
# manifests, and nothing more:
#   crds    install cert-manager's CRDs (v1.19.5, from its Go module), so the manifests'
#           Issuers and Certificates are accepted (no controller acts on them);
#   issue   create the Secrets the Certificates name: a CA (leader-election-ca) and the
#           webhook's serving certificate (leader-election-webhook-tls: tls.crt, tls.key,
#           ca.crt), ECDSA P-256, for the Service's DNS names, as manifests/base/certificates.yaml asks;
#   inject  what cert-manager's cainjector does for `cert-manager.io/inject-ca-from: NS/CERT`:
#           the Certificate's Secret's ca.crt into every webhook's clientConfig.caBundle.
# Renewal is not done: the serving certificate is valid for 90 days, the CA for 10 years.
# Environment: KUBECTL (default kubectl; may carry flags), CERT_MANAGER_VERSION (v1.19.5).
set -euo pipefail
read -r -a KUBECTL_CMD <<<"${KUBECTL:-kubectl}"
k() { "${KUBECTL_CMD[@]}" "$@"; }
NS=leader-election-system
CM_VERSION=${CERT_MANAGER_VERSION:-v1.19.5}
say() { echo "cert-manager stand-in: $*" >&2; }

crds() {
  local dir
  dir=$(cd /tmp && GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod download -json "github.com/cert-manager/cert-manager@$CM_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d $dir/deploy/crds ]] || { say "no deploy/crds in the cert-manager module $CM_VERSION"; exit 1; }
  say "installing cert-manager $CM_VERSION CRDs from its Go module (no cert-manager controller runs)"
  k apply --server-side --force-conflicts --field-manager=cert-manager-stand-in -f "$dir/deploy/crds" >/dev/null
  k wait --for=condition=Established --timeout=60s -f "$dir/deploy/crds" >/dev/null
}

issue() {
  if k -n "$NS" get secret leader-election-webhook-tls >/dev/null 2>&1; then
    say "Secret $NS/leader-election-webhook-tls exists: kept"
    return
  fi
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  say "issuing the webhook's serving certificate (openssl, ECDSA P-256)"
  openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$tmp/ca.key" -subj /CN=leader-election-ca -days 3650 -out "$tmp/ca.crt" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/tls.key.ec" 2>/dev/null
  openssl pkcs8 -topk8 -nocrypt -in "$tmp/tls.key.ec" -out "$tmp/tls.key"
  local svc=leader-election-webhook.$NS.svc
  openssl req -new -key "$tmp/tls.key" -subj "/CN=$svc" -out "$tmp/tls.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s,DNS:%s.cluster.local\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' \
    "$svc" "$svc" >"$tmp/ext"
  openssl x509 -req -in "$tmp/tls.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial -days 90 \
    -extfile "$tmp/ext" -out "$tmp/tls.crt" 2>/dev/null
  k get namespace "$NS" >/dev/null 2>&1 || k create namespace "$NS" >/dev/null
  for name in leader-election-ca leader-election-webhook-tls; do
    local crt=$tmp/tls.crt key=$tmp/tls.key
    [[ $name == leader-election-ca ]] && crt=$tmp/ca.crt key=$tmp/ca.key
    k -n "$NS" create secret generic "$name" --type=kubernetes.io/tls \
      --from-file=tls.crt="$crt" --from-file=tls.key="$key" --from-file=ca.crt="$tmp/ca.crt" \
      --dry-run=client -o yaml | k apply -f - >/dev/null
    k -n "$NS" annotate secret "$name" --overwrite "cert-manager.io/issued-by=cert-manager-stand-in" >/dev/null
  done
}

inject() {
  local mwc ref ca n i
  for mwc in $(k get mutatingwebhookconfigurations -o name); do
    ref=$(k get "$mwc" -o jsonpath='{.metadata.annotations.cert-manager\.io/inject-ca-from}')
    [[ -n $ref ]] || continue
    local secret
    secret=$(k -n "${ref%%/*}" get certificate "${ref#*/}" -o jsonpath='{.spec.secretName}')
    ca=$(k -n "${ref%%/*}" get secret "$secret" -o jsonpath='{.data.ca\.crt}')
    [[ -n $ca ]] || { say "Secret ${ref%%/*}/$secret has no ca.crt"; exit 1; }
    n=$(k get "$mwc" -o jsonpath='{range .webhooks[*]}x{end}')
    local patch='['
    for ((i = 0; i < ${#n}; i++)); do
      ((i > 0)) && patch+=','
      patch+="{\"op\":\"add\",\"path\":\"/webhooks/$i/clientConfig/caBundle\",\"value\":\"$ca\"}"
    done
    patch+=']'
    k patch "$mwc" --type=json -p "$patch" >/dev/null
    say "injected the CA of $ref into $mwc (${#n} webhooks)"
  done
}

case "${1:-}" in
crds) crds ;;
issue) issue ;;
inject) inject ;;
*)
  echo "usage: $0 crds|issue|inject" >&2
  exit 2
  ;;
esac

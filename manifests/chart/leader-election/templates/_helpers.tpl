{{/*
Labels of every object: the product, the part (webhook, agent, policy, monitoring), the version.
Never in a selector (the version changes; a Deployment's selector cannot).
Call with (dict "root" $ "component" "webhook").
*/}}
{{- define "le.labels" -}}
app.kubernetes.io/name: leader-election
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: leader-election
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
{{- end }}

{{/* le.labels plus the user's extra labels (e.g. monitoring.labels), ours winning on a clash. */}}
{{- define "le.labelsWith" -}}
{{- merge (fromYaml (include "le.labels" .)) (.extra | default dict) | toYaml -}}
{{- end }}

{{/* The webhook pods' selector (fixed: a Deployment's selector is immutable). */}}
{{- define "le.webhookSelector" -}}
app.kubernetes.io/name: leader-election
app.kubernetes.io/component: webhook
{{- end }}

{{/* An image reference: <registry>/<name>:<tag>[@<digest>]. Call with (dict "root" $ "image" .Values.webhook.image). */}}
{{- define "le.image" -}}
{{- $tag := .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s/%s:%s" (trimSuffix "/" .root.Values.image.registry) .image.name $tag -}}
{{- with .image.digest }}@{{ . }}{{ end -}}
{{- end }}

{{/* Namespaces the webhook and the policies leave alone: the release's and the excluded ones. */}}
{{- define "le.excludedNamespaces" -}}
{{- $ns := list .Release.Namespace -}}
{{- range .Values.webhook.excludedNamespaces }}{{ if not (has . $ns) }}{{ $ns = append $ns . }}{{ end }}{{ end -}}
{{- toJson $ns -}}
{{- end }}

{{/* The Secret holding the serving certificate. */}}
{{- define "le.tlsSecret" -}}
{{- .Values.tls.existingSecret | default "leader-election-webhook-tls" -}}
{{- end }}

{{/* The webhook's ServiceAccount as a username (the policies match it). */}}
{{- define "le.webhookUser" -}}
system:serviceaccount:{{ .Release.Namespace }}:leader-election-webhook
{{- end }}

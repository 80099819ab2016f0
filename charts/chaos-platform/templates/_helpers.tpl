{{- /* chaosctl's ServiceAccount, Role and RoleBinding: release-prefixed, so two releases in one namespace do not clash. */ -}}
{{- define "chaos-platform.chaosctl.name" -}}
{{- printf "%s-chaosctl" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- /* The labels a pod running chaosctl carries: the NetworkPolicies admit these pods to every service. */ -}}
{{- define "chaos-platform.chaosctl.selector" -}}
app.kubernetes.io/name: chaosctl
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "chaos-platform.chaosctl.image" -}}
{{- $registry := .Values.global.image.registry -}}
{{- $tag := .Values.global.image.tag | default .Chart.AppVersion -}}
{{- if $registry }}{{ $registry }}/{{ end }}chaos-platform/chaosctl:{{ $tag }}
{{- end }}

{{- define "service.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Values.global.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: chaos-platform
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "service.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "service.image" -}}
{{- $registry := .Values.global.image.registry -}}
{{- $repository := .Values.image.repository | default (printf "chaos-platform/%s" .Chart.Name) -}}
{{- $tag := .Values.image.tag | default .Values.global.image.tag | default .Chart.AppVersion -}}
{{- if $registry }}{{ printf "%s/%s:%s" $registry $repository $tag }}{{ else }}{{ printf "%s:%s" $repository $tag }}{{ end }}
{{- end }}

{{- /* The probes' own listener (PROBE_PORT): load shedding and the connection limit never touch it. */}}
{{- define "service.probePort" -}}
{{ add .Values.port 1000 }}
{{- end }}

{{/* Name of every object: <release>-footfall, or fullnameOverride. */}}
{{- define "footfall.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (default "footfall" .Values.nameOverride) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the pods: the Service, the PDB and the ServiceMonitor match on these. */}}
{{- define "footfall.selectorLabels" -}}
app.kubernetes.io/name: {{ default "footfall" .Values.nameOverride }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "footfall.labels" -}}
{{ include "footfall.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The one public path: Grafana's sub-path + /footfall/v1/metrics. */}}
{{- define "footfall.ingressPath" -}}
{{- printf "%s/footfall/v1/metrics" (trimSuffix "/" .Values.ingress.appSubUrl) -}}
{{- end -}}

{{- define "footfall.secretName" -}}
{{- default (include "footfall.fullname" .) .Values.secret.existingSecret -}}
{{- end -}}

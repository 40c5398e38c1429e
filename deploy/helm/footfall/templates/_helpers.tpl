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

{{/*
A Kubernetes memory quantity (512Mi, 1Gi, 1.5Gi, 600M, 536870912) in whole MiB; "" when none is given.
Decimal SI suffixes count 1000s, as the kubelet reads them.
*/}}
{{- define "footfall.memoryMiB" -}}
{{- $q := . -}}
{{- if or (kindIs "float64" $q) (kindIs "int64" $q) (kindIs "int" $q) -}}
{{- divf $q 1048576 | floor | int -}}
{{- else if $q -}}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" (toString $q) -}}
{{- $unit := trimPrefix $number (toString $q) -}}
{{- $factors := dict "" 1.0 "k" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 -}}
{{- if or (not $number) (not (hasKey $factors $unit)) -}}
{{- fail (printf "resources.limits.memory %q is not a memory quantity such as 512Mi or 1Gi" (toString $q)) -}}
{{- end -}}
{{- divf (mulf (float64 $number) (get $factors $unit)) 1048576 | floor | int -}}
{{- end -}}
{{- end -}}

{{/*
--max-old-space-size for the collector, in MiB, or "" to leave V8's own choice (no memory limit and no
heap.maxOldSpaceMiB). Kept at least 128 MiB under the memory limit: the measured idle process holds
about 105 MiB beside its heap, and V8 adds its young generation on top of this figure.
*/}}
{{- define "footfall.maxOldSpaceMiB" -}}
{{- $limit := include "footfall.memoryMiB" (dig "limits" "memory" "" (.Values.resources | default dict)) -}}
{{- $heap := int (.Values.heap.maxOldSpaceMiB | default 0) -}}
{{- if and (eq $heap 0) $limit -}}
{{- div (mul (int $limit) 5) 8 -}}
{{- else if gt $heap 0 -}}
{{- if and $limit (gt (add $heap 128) (int $limit)) -}}
{{- fail (printf "heap.maxOldSpaceMiB %d leaves less than 128 MiB of resources.limits.memory (%d MiB) for the rest of the process: lower it or raise the limit" $heap (int $limit)) -}}
{{- end -}}
{{- $heap -}}
{{- end -}}
{{- end -}}

{{/*
Combinations the collector would refuse at start (CrashLoopBackOff), refused at install instead with
what to set. The schema (values.schema.json) checks each value alone; these span several.
*/}}
{{- define "footfall.validate" -}}
{{- $config := .Values.config | default dict -}}
{{- $mode := .Values.auth.mode -}}
{{- if eq $mode "grafana-session" -}}
{{- $_ := required "grafana.url is required: Grafana as the collector reaches it, with its sub-path (http://grafana.monitoring.svc:80/grafana)" .Values.grafana.url -}}
{{- else if eq $mode "bearer" -}}
{{- if not .Values.secret.existingSecret -}}
{{- $_ := required "secret.bearerTokens is required with auth.mode bearer (comma-separated tokens of at least 16 characters), or name a secret.existingSecret holding them" .Values.secret.bearerTokens -}}
{{- end -}}
{{- else if eq $mode "proxy-header" -}}
{{- if not (dig "auth" "proxyHeader" "trustedProxies" list $config) -}}
{{- fail "auth.mode proxy-header needs config.auth.proxyHeader.trustedProxies: the addresses (CIDR) of the proxies allowed to name the user, e.g. the ingress controller's pod network" -}}
{{- end -}}
{{- else if eq $mode "none" -}}
{{- if not (dig "auth" "none" "allowNonLoopback" false $config) -}}
{{- fail "auth.mode none accepts every request, and the pod listens on 0.0.0.0: set config.auth.none.allowNonLoopback to true if that is meant" -}}
{{- end -}}
{{- end -}}
{{- if and (not .Values.secret.existingSecret) (or .Values.secret.inventoryToken .Values.secret.inventoryTokens) (not (dig "inventory" "grafanaUrl" "" $config)) -}}
{{- $_ := required "grafana.url is required with secret.inventoryToken(s): the dashboard listing asks that Grafana (or set config.inventory.grafanaUrl)" .Values.grafana.url -}}
{{- end -}}
{{- /* Keys the chart sets through the environment, which would silently win over the file, and
secrets, which do not belong in a ConfigMap anyone reading the namespace can see. */ -}}
{{- $owned := list
  (list "server" "listen" "" "set containerPort instead")
  (list "server" "metricsListen" "" "set metricsPort instead")
  (list "state" "file" "" "it keeps the state file on the pod's state volume")
  (list "auth" "mode" "" "set auth.mode instead")
  (list "auth" "grafana" "url" "set grafana.url instead")
  (list "privacy" "hash" "secret" "set secret.hashSecret (or its key in the existingSecret) instead")
  (list "auth" "bearer" "tokens" "set secret.bearerTokens (or its key in the existingSecret) instead")
  (list "inventory" "token" "" "set secret.inventoryToken (or its key in the existingSecret) instead")
  (list "forward" "bearerToken" "" "set secret.forwardToken (or its key in the existingSecret) instead") -}}
{{- range $owned -}}
{{- $path := without (initial .) "" -}}
{{- $section := index $config (first $path) | default dict -}}
{{- $set := false -}}
{{- if eq (len $path) 2 -}}
{{- $set = hasKey $section (index $path 1) -}}
{{- else -}}
{{- $set = hasKey (index $section (index $path 1) | default dict) (index $path 2) -}}
{{- end -}}
{{- if $set -}}
{{- fail (printf "config.%s is set by the chart: %s" (join "." $path) (last .)) -}}
{{- end -}}
{{- end -}}
{{- if eq (int .Values.containerPort) (int .Values.metricsPort) -}}
{{- fail (printf "metricsPort must differ from containerPort (both %d): /metrics has a listener of its own" (int .Values.containerPort)) -}}
{{- end -}}
{{- if eq (int .Values.service.port) (int .Values.service.metricsPort) -}}
{{- fail (printf "service.metricsPort must differ from service.port (both %d)" (int .Values.service.port)) -}}
{{- end -}}
{{- end -}}

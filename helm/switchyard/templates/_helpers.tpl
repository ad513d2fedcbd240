{{/* The chart name, shortened to what a label allows. */}}
{{- define "switchyard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The resource name prefix: release-chart, or fullnameOverride. */}}
{{- define "switchyard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every resource but the component. */}}
{{- define "switchyard.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "switchyard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "switchyard.labels" -}}
{{ include "switchyard.commonLabels" . }}
app.kubernetes.io/component: gateway
{{- end }}

{{- define "switchyard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchyard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: gateway
{{- end }}

{{- define "switchyard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "switchyard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "switchyard.secretName" -}}
{{- default (include "switchyard.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{/* The Redis URL the nodes use: redis.url, else the bundled Redis, else none (memory). */}}
{{- define "switchyard.redisUrl" -}}
{{- if .Values.redis.url }}
{{- .Values.redis.url }}
{{- else if .Values.redis.bundled.enabled }}
{{- printf "redis://%s-redis:6379" (include "switchyard.fullname" .) }}
{{- end }}
{{- end }}

{{- define "switchyard.bundledRedis" -}}
{{- if and (not .Values.redis.url) .Values.redis.bundled.enabled }}true{{ end }}
{{- end }}

{{/* switchyard.toml from .Values.config: top-level scalars first, then one table per map. */}}
{{- define "switchyard.toml" -}}
bind = {{ printf "0.0.0.0:%d" (int .Values.port) | toJson }}
{{- range $k, $v := .Values.config }}
{{- if not (kindIs "map" $v) }}
{{ $k }} = {{ toJson $v }}
{{- end }}
{{- end }}
{{- range $k, $v := .Values.config }}
{{- if kindIs "map" $v }}

[{{ $k }}]
{{- range $k2, $v2 := $v }}
{{ $k2 }} = {{ toJson $v2 }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Seconds from preStop to SIGKILL: longer than everything the drain may take. */}}
{{- define "switchyard.gracePeriod" -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- $s := .Values.config.shutdown | default dict }}
{{- add (int .Values.preStopSleepSeconds) (int ($s.drain_delay_secs | default 0)) (int ($s.timeout_secs | default 5)) 10 }}
{{- else }}
{{- int .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/* Name of the chart, or nameOverride. */}}
{{- define "tracewell.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: the release name, with the chart's name appended unless it already contains it. */}}
{{- define "tracewell.fullname" -}}
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

{{/* Selector labels: immutable once the StatefulSet exists. */}}
{{- define "tracewell.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tracewell.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: monolithic
{{- end }}

{{- define "tracewell.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tracewell.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "tracewell.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
tracewell.toml. Values are written with toJson, which is valid TOML for strings, numbers, booleans and arrays of
them (Tracewell's configuration has no tables); whole numbers stay integers.
*/}}
{{- define "tracewell.config" -}}
{{- $c := dict
  "data_dir" "/var/lib/tracewell"
  "otlp_grpc_addr" "0.0.0.0:4317"
  "otlp_http_addr" "0.0.0.0:4318"
  "zipkin_addr" "0.0.0.0:9411"
  "http_addr" "0.0.0.0:16686"
  "tempo_addr" "0.0.0.0:3200"
  "memory_budget" .Values.config.memoryBudget
  "retention" .Values.config.retention
  "rollup_retention" .Values.config.rollupRetention
  "shutdown_timeout" .Values.config.shutdownTimeout
}}
{{- with .Values.config.publicUrl }}
{{- $_ := set $c "public_url" . }}
{{- end }}
{{- if .Values.auth.existingSecret }}
{{- $_ := set $c "auth_tokens" "/etc/tracewell/auth/tokens.toml" }}
{{- end }}
{{- if .Values.tls.existingSecret }}
{{- $_ := set $c "tls_cert" "/etc/tracewell/tls/tls.crt" }}
{{- $_ := set $c "tls_key" "/etc/tracewell/tls/tls.key" }}
{{- if .Values.tls.clientCa.existingSecret }}
{{- $_ := set $c "tls_client_ca" "/etc/tracewell/tls-client-ca/ca.crt" }}
{{- end }}
{{- else if .Values.tls.clientCa.existingSecret }}
{{- fail "tls.clientCa.existingSecret needs tls.existingSecret: mutual TLS works only on TLS listeners" }}
{{- end }}
{{- range $key, $value := .Values.config.extra }}
{{- if hasKey $c $key }}
{{- fail (printf "config.extra.%s: the chart sets %s itself; use its own value instead" $key $key) }}
{{- end }}
{{- if kindIs "map" $value }}
{{- fail (printf "config.extra.%s: Tracewell's configuration has no tables" $key) }}
{{- end }}
{{- $_ := set $c $key $value }}
{{- end }}
{{- range $key, $value := $c }}
{{ $key }} = {{ toJson $value }}
{{- end }}
{{- end }}

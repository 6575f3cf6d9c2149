{{/*
Distributed mode (mode: distributed). Helpers take a dict: "ctx" (the root context) and what they describe.
*/}}

{{/* Selector labels of one role's pods; "component" is the role. */}}
{{- define "tracewell.componentSelectorLabels" -}}
app.kubernetes.io/name: {{ include "tracewell.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "tracewell.componentLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tracewell.componentSelectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end }}

{{/* Refuses values distributed mode cannot run with; renders nothing. */}}
{{- define "tracewell.distributedChecks" -}}
{{- if not .Values.kafka.brokers }}
{{- fail "mode distributed needs kafka.brokers (host:port[,host:port...] of a Kafka-compatible cluster)" }}
{{- end }}
{{- if not (hasPrefix "s3://" .Values.storage.url) }}
{{- fail "mode distributed needs storage.url = s3://bucket/prefix (the bucket shared by builders, queriers and the compactor)" }}
{{- end }}
{{- if gt (int .Values.blockBuilder.replicas) (int .Values.kafka.partitions) }}
{{- fail (printf "blockBuilder.replicas (%d) is more than kafka.partitions (%d): a builder would have no partition to consume" (int .Values.blockBuilder.replicas) (int .Values.kafka.partitions)) }}
{{- end }}
{{- end }}

{{/* The partitions block-builder "index" consumes: p with p % blockBuilder.replicas == index, e.g. 0,2,4,6. */}}
{{- define "tracewell.builderPartitions" -}}
{{- $n := int .ctx.Values.blockBuilder.replicas }}
{{- $i := int .index }}
{{- $parts := list }}
{{- range $p := until (int .ctx.Values.kafka.partitions) }}
{{- if eq (mod $p $n) $i }}
{{- $parts = append $parts (toString $p) }}
{{- end }}
{{- end }}
{{- join "," $parts }}
{{- end }}

{{/* Name of block-builder "index"'s StatefulSet; its pod is this name with -0. */}}
{{- define "tracewell.builderName" -}}
{{- printf "%s-block-builder-%d" (include "tracewell.fullname" .ctx) (int .index) }}
{{- end }}

{{/* The builders' HTTP API base URLs, by their stable names under the headless Service (a list, as JSON). */}}
{{- define "tracewell.builderUrls" -}}
{{- $urls := list }}
{{- range $i := until (int .Values.blockBuilder.replicas) }}
{{- $pod := printf "%s-0" (include "tracewell.builderName" (dict "ctx" $ "index" $i)) }}
{{- $urls = append $urls (printf "http://%s.%s-block-builder-headless.%s.svc:16686" $pod (include "tracewell.fullname" $) $.Release.Namespace) }}
{{- end }}
{{- toJson $urls }}
{{- end }}

{{/* Whether a role serves clients with the chart's auth and TLS: every role but the block-builder. */}}
{{- define "tracewell.roleSecured" -}}
{{- if ne .role "block-builder" }}true{{ end }}
{{- end }}

{{/* Whether a role reads the bucket. */}}
{{- define "tracewell.roleUsesStorage" -}}
{{- if ne .role "distributor" }}true{{ end }}
{{- end }}

{{/* tracewell.toml of one role ("role": distributor, block-builder, querier, compactor). */}}
{{- define "tracewell.roleConfig" -}}
{{- $v := .ctx.Values }}
{{- $c := dict
  "role" .role
  "data_dir" "/var/lib/tracewell"
  "otlp_grpc_addr" "0.0.0.0:4317"
  "otlp_http_addr" "0.0.0.0:4318"
  "zipkin_addr" "0.0.0.0:9411"
  "http_addr" "0.0.0.0:16686"
  "tempo_addr" "0.0.0.0:3200"
  "retention" $v.config.retention
  "shutdown_timeout" $v.config.shutdownTimeout
}}
{{- if or (eq .role "distributor") (eq .role "block-builder") }}
{{- $_ := set $c "kafka_brokers" $v.kafka.brokers }}
{{- $_ := set $c "kafka_topic" $v.kafka.topic }}
{{- end }}
{{- if eq .role "distributor" }}
{{- $_ := set $c "kafka_topic_partitions" (int $v.kafka.partitions) }}
{{- $_ := set $c "kafka_produce_timeout" $v.kafka.produceTimeout }}
{{- end }}
{{- if include "tracewell.roleUsesStorage" . }}
{{- $_ := set $c "storage" $v.storage.url }}
{{- end }}
{{- if eq .role "block-builder" }}
{{- $_ := set $c "memory_budget" $v.config.memoryBudget }}
{{- end }}
{{- if or (eq .role "querier") (eq .role "compactor") }}
{{- $_ := set $c "block_refresh_interval" $v.blockRefreshInterval }}
{{- $_ := set $c "rollup_retention" $v.config.rollupRetention }}
{{- end }}
{{- if eq .role "querier" }}
{{- $_ := set $c "block_builders" (include "tracewell.builderUrls" .ctx | fromJsonArray) }}
{{- end }}
{{- with $v.config.publicUrl }}
{{- $_ := set $c "public_url" . }}
{{- end }}
{{- if include "tracewell.roleSecured" . }}
{{- if $v.auth.existingSecret }}
{{- $_ := set $c "auth_tokens" "/etc/tracewell/auth/tokens.toml" }}
{{- end }}
{{- if $v.tls.existingSecret }}
{{- $_ := set $c "tls_cert" "/etc/tracewell/tls/tls.crt" }}
{{- $_ := set $c "tls_key" "/etc/tracewell/tls/tls.key" }}
{{- if $v.tls.clientCa.existingSecret }}
{{- $_ := set $c "tls_client_ca" "/etc/tracewell/tls-client-ca/ca.crt" }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $v.tls.clientCa.existingSecret (not $v.tls.existingSecret) }}
{{- fail "tls.clientCa.existingSecret needs tls.existingSecret: mutual TLS works only on TLS listeners" }}
{{- end }}
{{- $chartKeys := list "role" "data_dir" "otlp_grpc_addr" "otlp_http_addr" "zipkin_addr" "http_addr" "tempo_addr" "retention" "shutdown_timeout" "kafka_brokers" "kafka_topic" "kafka_topic_partitions" "kafka_partitions" "kafka_produce_timeout" "storage" "memory_budget" "block_refresh_interval" "rollup_retention" "block_builders" "public_url" "auth_tokens" "tls_cert" "tls_key" "tls_client_ca" }}
{{- range $key, $value := $v.config.extra }}
{{- if or (hasKey $c $key) (has $key $chartKeys) }}
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

{{/*
The pod template of one role: "role", "values" (the role's values: resources), "persistent" (the data directory
comes from a volumeClaimTemplate), "args" (more arguments) and "labels" (more pod labels).
*/}}
{{- define "tracewell.rolePodTemplate" -}}
{{- $v := .ctx.Values }}
{{- $secured := include "tracewell.roleSecured" . }}
{{- $tls := and $secured (ne $v.tls.existingSecret "") }}
{{- $auth := and $secured (ne $v.auth.existingSecret "") }}
{{- $storage := include "tracewell.roleUsesStorage" . -}}
metadata:
  labels:
    {{- include "tracewell.componentSelectorLabels" (dict "ctx" .ctx "component" .role) | nindent 4 }}
    {{- with .labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include "tracewell.roleConfig" . | sha256sum }}
    {{- with $v.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  # Required: service links would put TRACEWELL_SERVICE_HOST and the like into the environment, and Tracewell
  # refuses unknown TRACEWELL_* variables at start-up.
  enableServiceLinks: false
  automountServiceAccountToken: false
  {{- if and $storage $v.storage.s3.serviceAccountName }}
  serviceAccountName: {{ $v.storage.s3.serviceAccountName }}
  {{- end }}
  terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
  {{- with $v.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with $v.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: tracewell
      image: {{ include "tracewell.image" .ctx | quote }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      args:
        - serve
        - --config=/etc/tracewell/config/tracewell.toml
        {{- range .args }}
        - {{ . | quote }}
        {{- end }}
        {{- range $v.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      env:
        - name: TRACEWELL_LOG
          value: {{ $v.logLevel | quote }}
        {{- if $storage }}
        {{- with $v.storage.s3.region }}
        - name: AWS_REGION
          value: {{ . | quote }}
        {{- end }}
        {{- with $v.storage.s3.endpoint }}
        - name: AWS_ENDPOINT_URL
          value: {{ . | quote }}
        {{- end }}
        {{- if $v.storage.s3.allowHttp }}
        - name: AWS_ALLOW_HTTP
          value: "true"
        {{- end }}
        {{- end }}
        {{- with $v.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if and $storage $v.storage.s3.existingSecret }}
      envFrom:
        - secretRef:
            name: {{ $v.storage.s3.existingSecret }}
      {{- end }}
      ports:
        - name: otlp-grpc
          containerPort: 4317
          protocol: TCP
        - name: otlp-http
          containerPort: 4318
          protocol: TCP
        - name: zipkin
          containerPort: 9411
          protocol: TCP
        - name: http
          containerPort: 16686
          protocol: TCP
        - name: tempo
          containerPort: 3200
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
          {{- if $tls }}
          scheme: HTTPS
          {{- end }}
        periodSeconds: 10
        timeoutSeconds: 5
        failureThreshold: 6
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
          {{- if $tls }}
          scheme: HTTPS
          {{- end }}
        periodSeconds: 5
        timeoutSeconds: 5
        failureThreshold: 3
      {{- with .values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: data
          mountPath: /var/lib/tracewell
        - name: config
          mountPath: /etc/tracewell/config
          readOnly: true
        {{- if $auth }}
        - name: auth-tokens
          mountPath: /etc/tracewell/auth
          readOnly: true
        {{- end }}
        {{- if $tls }}
        - name: tls
          mountPath: /etc/tracewell/tls
          readOnly: true
        {{- if $v.tls.clientCa.existingSecret }}
        - name: tls-client-ca
          mountPath: /etc/tracewell/tls-client-ca
          readOnly: true
        {{- end }}
        {{- end }}
        - name: tmp
          mountPath: /tmp
        {{- with $v.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "tracewell.fullname" .ctx }}-distributed-config
        items:
          - key: {{ .role }}.toml
            path: tracewell.toml
    {{- if $auth }}
    - name: auth-tokens
      secret:
        secretName: {{ $v.auth.existingSecret }}
        defaultMode: 0440
        items:
          - key: {{ $v.auth.key }}
            path: tokens.toml
    {{- end }}
    {{- if $tls }}
    - name: tls
      secret:
        secretName: {{ $v.tls.existingSecret }}
        defaultMode: 0440
        items:
          - key: tls.crt
            path: tls.crt
          - key: tls.key
            path: tls.key
    {{- if $v.tls.clientCa.existingSecret }}
    - name: tls-client-ca
      secret:
        secretName: {{ $v.tls.clientCa.existingSecret }}
        defaultMode: 0440
        items:
          - key: {{ $v.tls.clientCa.key }}
            path: ca.crt
    {{- end }}
    {{- end }}
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- if not .persistent }}
    # Nothing in it outlives the pod (the store's LOCK file and empty directories).
    - name: data
      emptyDir:
        sizeLimit: 1Gi
    {{- end }}
    {{- with $v.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

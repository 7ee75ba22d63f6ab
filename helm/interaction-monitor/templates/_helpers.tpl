{{/*
Names. Kubernetes object names and label values are DNS-1123 labels limited to 63 characters
(RFC 1123), so every generated name is cut to 63 and loses a trailing "-" left by the cut.
*/}}

{{/* Chart name, or nameOverride. */}}
{{- define "interaction-monitor.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: <release>-<chart>, or just <release> when it already contains the chart name; cut to 63
characters (DNS-1123 label limit).
*/}}
{{- define "interaction-monitor.fullname" -}}
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

{{/*
Name of a component object: <fullname>-<suffix>. The full name is cut first so the suffix always
survives and the result stays within 63 characters (DNS-1123 label limit).
Usage: include "interaction-monitor.componentName" (list . "topics")
*/}}
{{- define "interaction-monitor.componentName" -}}
{{- $root := index . 0 }}
{{- $suffix := index . 1 }}
{{- $base := include "interaction-monitor.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" }}
{{- printf "%s-%s" $base $suffix }}
{{- end }}

{{/* chart label value: <name>-<version>, "+" is not allowed in label values; 63-char label limit. */}}
{{- define "interaction-monitor.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "interaction-monitor.labels" -}}
helm.sh/chart: {{ include "interaction-monitor.chart" . }}
{{ include "interaction-monitor.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: interaction-monitor
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Labels of pod templates: like the object labels but without helm.sh/chart, so a chart-only version
bump does not roll the workers (each roll is a consumer-group rebalance).
*/}}
{{- define "interaction-monitor.podLabels" -}}
{{ include "interaction-monitor.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/part-of: interaction-monitor
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that identify the release's pods (immutable Deployment selector: never add to it). */}}
{{- define "interaction-monitor.selectorLabels" -}}
app.kubernetes.io/name: {{ include "interaction-monitor.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector of the worker pods (the topic Job's pods carry component=topics and are not selected). */}}
{{- define "interaction-monitor.workerSelectorLabels" -}}
{{ include "interaction-monitor.selectorLabels" . }}
app.kubernetes.io/component: worker
{{- end }}

{{- define "interaction-monitor.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "interaction-monitor.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* image reference: repository@digest when a digest is given, else repository:tag. */}}
{{- define "interaction-monitor.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* Kafka security switches derived from kafka.securityProtocol. */}}
{{- define "interaction-monitor.saslEnabled" -}}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol }}true{{ end }}
{{- end }}

{{- define "interaction-monitor.tlsEnabled" -}}
{{- if has .Values.kafka.securityProtocol (list "SSL" "SASL_SSL") }}true{{ end }}
{{- end }}

{{/* The TLS Secret is mounted only with a TLS protocol and a Secret name. */}}
{{- define "interaction-monitor.tlsMounted" -}}
{{- if and (include "interaction-monitor.tlsEnabled" .) .Values.kafka.tls.existingSecret }}true{{ end }}
{{- end }}

{{- define "interaction-monitor.bootstrapServers" -}}
{{- if kindIs "slice" .Values.kafka.bootstrapServers }}
{{- join "," .Values.kafka.bootstrapServers }}
{{- else }}
{{- .Values.kafka.bootstrapServers }}
{{- end }}
{{- end }}

{{/*
Non-secret IMON_* settings as a YAML map of strings: the worker ConfigMap's data, and the topic
Job's env (a pre-install hook runs before the ConfigMap exists). Integers go through `int` because
Helm reads every number as a float and would print 1000000 as 1e+06.
*/}}
{{- define "interaction-monitor.baseSettings" -}}
{{- $k := .Values.kafka }}
{{- $w := .Values.worker }}
{{- $m := .Values.model -}}
IMON_KAFKA_BOOTSTRAP: {{ include "interaction-monitor.bootstrapServers" . | quote }}
IMON_KAFKA_SECURITY_PROTOCOL: {{ $k.securityProtocol | quote }}
{{- if include "interaction-monitor.saslEnabled" . }}
IMON_KAFKA_SASL_MECHANISM: {{ $k.sasl.mechanism | quote }}
{{- if not $k.sasl.usernameKey }}
IMON_KAFKA_SASL_USERNAME: {{ $k.sasl.username | quote }}
{{- end }}
{{- end }}
{{- if include "interaction-monitor.tlsMounted" . }}
{{- with $k.tls.caKey }}
IMON_KAFKA_SSL_CAFILE: {{ printf "%s/%s" $k.tls.mountPath . | quote }}
{{- end }}
{{- with $k.tls.certKey }}
IMON_KAFKA_SSL_CERTFILE: {{ printf "%s/%s" $k.tls.mountPath . | quote }}
{{- end }}
{{- with $k.tls.keyKey }}
IMON_KAFKA_SSL_KEYFILE: {{ printf "%s/%s" $k.tls.mountPath . | quote }}
{{- end }}
{{- end }}
IMON_APP_ID: {{ $k.consumerGroup | quote }}
IMON_TOPIC_INPUT: {{ $k.topics.input | quote }}
IMON_TOPIC_SCORED: {{ $k.topics.scored | quote }}
IMON_TOPIC_ALERTS: {{ $k.topics.alerts | quote }}
IMON_TOPIC_AUDIT: {{ $k.topics.audit | quote }}
IMON_TOPIC_DLQ: {{ $k.topics.dlq | quote }}
IMON_TOPIC_FEEDBACK: {{ $k.topics.feedback | quote }}
IMON_TOPIC_PARTITIONS: {{ $k.partitions | int | quote }}
IMON_METRICS_PORT: {{ $w.metricsPort | int | quote }}
IMON_BATCH_MAX_SIZE: {{ $w.batchMaxSize | int | quote }}
IMON_BATCH_SMALL_SIZE: {{ $w.batchSmallSize | int | quote }}
IMON_BATCH_MAX_WAIT_S: {{ $w.batchMaxWaitSeconds | toString | quote }}
IMON_MAX_TEXT_BYTES: {{ $w.maxTextBytes | int | quote }}
IMON_MAX_EVENT_BYTES: {{ $w.maxEventBytes | int | quote }}
IMON_QUOTED_HISTORY: {{ $w.quotedHistory | quote }}
{{- /* a JSON list: pydantic-settings decodes complex env values as JSON before any validator runs */}}
IMON_QUEUES: {{ $w.queues | toJson | quote }}
IMON_DEDUP_WINDOW: {{ $w.dedupWindow | int | quote }}
IMON_HUMAN_SLA_S: {{ $w.humanSlaSeconds | toString | quote }}
IMON_ALERT_COOLDOWN_S: {{ $w.alertCooldownSeconds | toString | quote }}
IMON_STATE_IDLE_EXPIRY_S: {{ $w.stateIdleExpirySeconds | toString | quote }}
IMON_STATE_ENDED_EXPIRY_S: {{ $w.stateEndedExpirySeconds | toString | quote }}
IMON_RECOVERY_STALL_S: {{ $w.recoveryStallSeconds | toString | quote }}
IMON_RECOVERY_RESEEK_S: {{ $w.recoveryReseekSeconds | toString | quote }}
IMON_LOG_LEVEL: {{ $w.logLevel | quote }}
IMON_DEVICE: {{ $m.device | quote }}
IMON_TORCH_THREADS: {{ $m.torchThreads | int | quote }}
IMON_TORCH_THREADS_SMALL_BATCH: {{ $m.torchThreadsSmallBatch | int | quote }}
IMON_SCORER_PROCESS: {{ $m.scorerProcess | quote }}
IMON_OMP_WAIT_POLICY: {{ $m.ompWaitPolicy | quote }}
IMON_ENCODER_DTYPE: {{ $m.encoderDtype | quote }}
{{- with $m.encoderDir }}
IMON_ENCODER_DIR: {{ . | quote }}
{{- end }}
{{- with $m.headsPath }}
IMON_HEADS_PATH: {{ . | quote }}
{{- end }}
{{- with $m.encoderAdapter }}
IMON_ENCODER_ADAPTER: {{ . | quote }}
{{- end }}
{{- with .Values.alertmanager.url }}
IMON_ALERTMANAGER_URL: {{ . | quote }}
{{- end }}
{{- end }}

{{/* All non-secret settings: the chart's own plus extraSettings (checked to not overlap). */}}
{{- define "interaction-monitor.settings" -}}
{{ include "interaction-monitor.baseSettings" . }}
{{- range $name, $value := .Values.extraSettings }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/*
Secret IMON_* variables as container env entries: only references to existing Secrets, never values.
*/}}
{{- define "interaction-monitor.secretEnv" -}}
{{- if include "interaction-monitor.saslEnabled" . }}
{{- $s := .Values.kafka.sasl }}
- name: IMON_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $s.existingSecret }}
      key: {{ $s.passwordKey }}
{{- if $s.usernameKey }}
- name: IMON_KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $s.existingSecret }}
      key: {{ $s.usernameKey }}
{{- end }}
{{- end }}
{{- end }}

{{/* The TLS Secret volume: only the configured keys, readable by the pod's group (fsGroup). */}}
{{- define "interaction-monitor.tlsVolume" -}}
{{- if include "interaction-monitor.tlsMounted" . }}
{{- $t := .Values.kafka.tls }}
- name: kafka-tls
  secret:
    secretName: {{ $t.existingSecret }}
    defaultMode: 0440
    items:
      {{- range $key := list $t.caKey $t.certKey $t.keyKey }}
      {{- if $key }}
      - key: {{ $key }}
        path: {{ $key }}
      {{- end }}
      {{- end }}
{{- end }}
{{- end }}

{{- define "interaction-monitor.tlsVolumeMount" -}}
{{- if include "interaction-monitor.tlsMounted" . }}
- name: kafka-tls
  mountPath: {{ .Values.kafka.tls.mountPath }}
  readOnly: true
{{- end }}
{{- end }}

{{/* Upper bound of workers: the input topic's partitions (agent concurrency is 1). */}}
{{- define "interaction-monitor.checkReplicas" -}}
{{- $partitions := int .Values.kafka.partitions }}
{{- $a := .Values.autoscaling }}
{{- if eq $a.mode "none" }}
{{- if gt (int .Values.replicaCount) $partitions }}
{{- fail (printf "replicaCount (%d) is above kafka.partitions (%d): a worker consumes whole partitions of %q, so replicas beyond the partition count sit idle. Lower replicaCount or add partitions to the topic first and raise kafka.partitions." (int .Values.replicaCount) $partitions .Values.kafka.topics.input) }}
{{- end }}
{{- else }}
{{- if gt (int $a.maxReplicas) $partitions }}
{{- fail (printf "autoscaling.maxReplicas (%d) is above kafka.partitions (%d): a worker consumes whole partitions of %q, so the autoscaler must stop at the partition count. Lower autoscaling.maxReplicas or add partitions first." (int $a.maxReplicas) $partitions .Values.kafka.topics.input) }}
{{- end }}
{{- if gt (int $a.minReplicas) (int $a.maxReplicas) }}
{{- fail (printf "autoscaling.minReplicas (%d) is above autoscaling.maxReplicas (%d)." (int $a.minReplicas) (int $a.maxReplicas)) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Settings that cannot work together; fail early with the fix in the message. */}}
{{- define "interaction-monitor.checkKafka" -}}
{{- $k := .Values.kafka }}
{{- if include "interaction-monitor.saslEnabled" . }}
{{- if not $k.sasl.existingSecret }}
{{- fail (printf "kafka.securityProtocol is %s but kafka.sasl.existingSecret is empty: create a Secret with the SASL password (kubectl create secret generic ... --from-literal=%s=...) and set kafka.sasl.existingSecret to its name." $k.securityProtocol $k.sasl.passwordKey) }}
{{- end }}
{{- if and (not $k.sasl.username) (not $k.sasl.usernameKey) }}
{{- fail "SASL needs a user name: set kafka.sasl.username, or kafka.sasl.usernameKey to read it from kafka.sasl.existingSecret." }}
{{- end }}
{{- end }}
{{- if and $k.tls.existingSecret (not (include "interaction-monitor.tlsEnabled" .)) }}
{{- fail (printf "kafka.tls.existingSecret is set but kafka.securityProtocol is %s: use SSL or SASL_SSL for TLS, or unset kafka.tls.existingSecret." $k.securityProtocol) }}
{{- end }}
{{- if ne (empty $k.tls.certKey) (empty $k.tls.keyKey) }}
{{- fail "kafka.tls.certKey and kafka.tls.keyKey go together (mutual TLS needs both the client certificate and its key)." }}
{{- end }}
{{- if and $k.tls.existingSecret (not $k.tls.caKey) (not $k.tls.certKey) }}
{{- fail "kafka.tls.existingSecret is set but names no file: set kafka.tls.caKey and/or kafka.tls.certKey/keyKey." }}
{{- end }}
{{- if and (or $k.tls.certKey $k.tls.keyKey) (not $k.tls.existingSecret) }}
{{- fail "kafka.tls.certKey/keyKey are set but kafka.tls.existingSecret is empty: name the Secret that holds the client certificate and key." }}
{{- end }}
{{- $managed := include "interaction-monitor.baseSettings" . | fromYaml }}
{{- range $name, $_ := .Values.extraSettings }}
{{- if has $name (list "IMON_KAFKA_SASL_PASSWORD" "IMON_KAFKA_SASL_USERNAME" "IMON_KAFKA_SSL_CAFILE" "IMON_KAFKA_SSL_CERTFILE" "IMON_KAFKA_SSL_KEYFILE") }}
{{- fail (printf "extraSettings.%s is not allowed: Kafka credentials come only from kafka.sasl / kafka.tls Secret references, never from values." $name) }}
{{- end }}
{{- if hasKey $managed $name }}
{{- fail (printf "extraSettings.%s is already set by the chart; use its dedicated value instead." $name) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Egress rules to the Kafka brokers and the cluster DNS (workers and the topic Job). */}}
{{- define "interaction-monitor.egressKafkaDns" -}}
{{- $np := .Values.networkPolicy -}}
- ports:
    {{- range $np.kafka.ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
  {{- with $np.kafka.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
- ports:
    - port: {{ $np.dns.port }}
      protocol: UDP
    - port: {{ $np.dns.port }}
      protocol: TCP
  {{- with $np.dns.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

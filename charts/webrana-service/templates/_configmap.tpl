{{/*
The service's non-secret settings (read by @webrana/service-kit's config: HOST, PORT, LOG_LEVEL,
HEALTH_TIMEOUT_MS, HEALTH_CACHE_MS, SHUTDOWN_TIMEOUT_MS), plus config.extraEnv. The Deployment carries
its checksum, so a change here rolls the pods.
*/}}
{{- define "webrana-service.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "webrana-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "webrana-service.componentLabels" (list . "server") | nindent 4 }}
data:
  NODE_ENV: {{ .Values.nodeEnv | quote }}
  HOST: "0.0.0.0"
  PORT: {{ .Values.containerPort | int | quote }}
  LOG_LEVEL: {{ .Values.logLevel | quote }}
  HEALTH_TIMEOUT_MS: {{ .Values.config.healthTimeoutMs | int | quote }}
  HEALTH_CACHE_MS: {{ .Values.config.healthCacheMs | int | quote }}
  SHUTDOWN_TIMEOUT_MS: {{ .Values.config.shutdownTimeoutMs | int | quote }}
  {{- range $name := keys .Values.config.extraEnv | sortAlpha }}
  {{ $name }}: {{ index $.Values.config.extraEnv $name | toString | quote }}
  {{- end }}
{{- end -}}

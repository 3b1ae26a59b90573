{{/* The service's ClusterIP Service: port service.port to the pods' named port "http". */}}
{{- define "webrana-service.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "webrana-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "webrana-service.componentLabels" (list . "server") | nindent 4 }}
  {{- with .Values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ .Values.service.type }}
  ports:
    - name: http
      port: {{ .Values.service.port }}
      targetPort: http
      protocol: TCP
  selector:
    {{- include "webrana-service.serverSelectorLabels" . | nindent 4 }}
{{- end -}}

{{/* The pods' ServiceAccount (serviceAccount.create); its token is never mounted. */}}
{{- define "webrana-service.serviceaccount" -}}
{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "webrana-service.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "webrana-service.componentLabels" (list . "server") | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end -}}
{{- end -}}

{{/*
A PodDisruptionBudget, only when more than one replica runs: with a single replica, minAvailable 1
would block every node drain, and a budget protects nothing.
*/}}
{{- define "webrana-service.pdb" -}}
{{- if and .Values.podDisruptionBudget.enabled (gt (int .Values.replicaCount) 1) -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "webrana-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "webrana-service.componentLabels" (list . "server") | nindent 4 }}
spec:
  {{- if .Values.podDisruptionBudget.maxUnavailable }}
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable }}
  {{- else }}
  minAvailable: {{ .Values.podDisruptionBudget.minAvailable }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "webrana-service.serverSelectorLabels" . | nindent 6 }}
{{- end -}}
{{- end -}}

{{/*
A prometheus-operator ServiceMonitor (metrics.serviceMonitor.enabled): scrapes metrics.path (/metrics:
process, HTTP and database gauges) and, with scrapeHealthDb, /health/db (database gauges only; it
answers Prometheus' Accept header in the exposition format).
*/}}
{{- define "webrana-service.servicemonitor" -}}
{{- if .Values.metrics.serviceMonitor.enabled -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "webrana-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "webrana-service.componentLabels" (list . "server") | nindent 4 }}
    {{- with .Values.metrics.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  jobLabel: app.kubernetes.io/name
  namespaceSelector:
    matchNames:
      - {{ .Release.Namespace }}
  selector:
    matchLabels:
      {{- include "webrana-service.serverSelectorLabels" . | nindent 6 }}
  endpoints:
    - port: http
      path: {{ .Values.metrics.path }}
      interval: {{ .Values.metrics.serviceMonitor.interval }}
      scrapeTimeout: {{ .Values.metrics.serviceMonitor.scrapeTimeout }}
    {{- if .Values.metrics.serviceMonitor.scrapeHealthDb }}
    - port: http
      path: /health/db
      interval: {{ .Values.metrics.serviceMonitor.interval }}
      scrapeTimeout: {{ .Values.metrics.serviceMonitor.scrapeTimeout }}
    {{- end }}
{{- end -}}
{{- end -}}

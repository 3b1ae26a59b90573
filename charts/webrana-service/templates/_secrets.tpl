{{/*
Secrets the chart creates (nothing here when the URL and passwords come from existing Secrets).

The pre-install problem: Helm runs pre-install hooks before it creates any release object, so a
migration Job cannot read a release Secret on the first install. When database.url is given, the URL
is therefore written twice:
  - "<fullname>-database-hook": a hook on pre-install,pre-upgrade with weight -10 (every migration Job
    has a weight above that; the schema keeps migrations.hookWeight >= -9), so it exists before the
    migration Job starts. hook-delete-policy before-hook-creation,hook-succeeded: Helm replaces it at
    the next upgrade and deletes it once the pre-* hooks have all succeeded (Helm 3.19 also deletes it
    when a later hook of the same phase fails), so no copy outlives the hook phase, and
    `helm uninstall` leaves no orphaned hook Secret holding a password behind.
  - "<fullname>-database": a release object, read by the Deployment and by the post-install seed Job
    (post-* hooks run after the release objects exist). Because it is a release object, the URL keeps
    working with hooks.enabled=false and with `helm install --no-hooks`.
With database.existingSecret instead, every pod reads that Secret, which exists before the install.
*/}}
{{- define "webrana-service.secrets" -}}
{{- if .Values.database.url }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "webrana-service.databaseSecretName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "webrana-service.componentLabels" (list . "database") | nindent 4 }}
type: Opaque
data:
  {{ include "webrana-service.databaseSecretKey" . }}: {{ .Values.database.url | b64enc | quote }}
{{- if include "webrana-service.hooksEnabled" . }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "webrana-service.databaseHookSecretName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "webrana-service.componentLabels" (list . "database") | nindent 4 }}
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "-10"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
type: Opaque
data:
  {{ include "webrana-service.databaseSecretKey" . }}: {{ .Values.database.url | b64enc | quote }}
{{- end }}
{{- end }}
{{- $seedSecret := include "webrana-service.seedSecretName" . }}
{{- if and (eq $seedSecret (include "webrana-service.childName" (list . "seed"))) (include "webrana-service.seedEnabled" .) }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ $seedSecret }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "webrana-service.componentLabels" (list . "seed") | nindent 4 }}
type: Opaque
data:
  {{- range $name := (include "webrana-service.facts" . | fromYaml).seedPasswordKeys | sortAlpha }}
  {{- with index $.Values.seed.passwords $name }}
  {{ $name }}: {{ . | b64enc | quote }}
  {{- end }}
  {{- end }}
{{- end }}
{{- end -}}

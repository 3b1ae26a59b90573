{{/* NOTES.txt of a service chart. It names Secrets and keys, never their values. */}}
{{- define "webrana-common.notes" -}}
{{- $fullname := include "webrana-common.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{ .Values.serviceName }} {{ include "webrana-common.version" . }} is deployed as release "{{ .Release.Name }}" in namespace "{{ $ns }}".

Database URL: variable {{ include "webrana-common.urlVariable" . }}, read from Secret "{{ include "webrana-common.databaseSecretName" . }}" key "{{ include "webrana-common.databaseSecretKey" . }}"{{ if not .Values.database.url }} (an existing Secret: create it before installing){{ end }}.
{{- if .Values.hooks.enabled }}
Migrations: the pre-install/pre-upgrade hook Job "{{ include "webrana-common.childName" (list . "migrate") }}" ran `webrana-jobs migrate deploy --service={{ .Values.serviceName }}` before the Deployment was created or changed.
{{- if .Values.seed.enabled }}
Seed: the {{ if .Values.seed.onUpgrade }}post-install/post-upgrade{{ else }}post-install{{ end }} hook Job "{{ include "webrana-common.childName" (list . "seed") }}" ran `webrana-jobs seed --service={{ .Values.serviceName }}` (idempotent).
{{- end }}
A failed hook Job is kept for inspection: kubectl -n {{ $ns }} logs job/{{ include "webrana-common.childName" (list . "migrate") }}
{{- else }}
Hooks are off (hooks.enabled=false): this release neither migrates nor seeds. The WebranaDatabase operator,
or `webrana-jobs migrate deploy --service={{ .Values.serviceName }}`, must apply the migrations.
{{- end }}

Check it:
  kubectl -n {{ $ns }} rollout status deployment/{{ $fullname }}
  kubectl -n {{ $ns }} port-forward service/{{ $fullname }} 8080:{{ .Values.service.port }}
  curl -s http://127.0.0.1:8080/health/db
{{- if .Values.tests.enabled }}
  helm test {{ .Release.Name }} -n {{ $ns }}
{{- end }}
{{- end -}}

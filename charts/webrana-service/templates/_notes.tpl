{{/* NOTES.txt of a service chart. It names Secrets and keys, never their values. */}}
{{- define "webrana-service.notes" -}}
{{- $fullname := include "webrana-service.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{ include "webrana-service.serviceName" . }} {{ include "webrana-service.version" . }} is deployed as release "{{ .Release.Name }}" in namespace "{{ $ns }}".

Database URL: variable DATABASE_URL, read from Secret "{{ include "webrana-service.databaseSecretName" . }}" key "{{ include "webrana-service.databaseSecretKey" . }}"{{ if not .Values.database.url }} (an existing Secret: create it before installing){{ end }}.
{{- if include "webrana-service.hooksEnabled" . }}
Migrations: the pre-install/pre-upgrade hook Job "{{ include "webrana-service.childName" (list . "migrate") }}" ran `webrana-jobs migrate deploy --service={{ include "webrana-service.serviceName" . }}` before the Deployment was created or changed.
{{- if include "webrana-service.seedEnabled" . }}
Seed: the {{ if .Values.seed.onUpgrade }}post-install/post-upgrade{{ else }}post-install{{ end }} hook Job "{{ include "webrana-service.childName" (list . "seed") }}" ran `webrana-jobs seed --service={{ include "webrana-service.serviceName" . }}` (idempotent).
{{- end }}
A failed hook Job is kept for inspection: kubectl -n {{ $ns }} logs job/{{ include "webrana-service.childName" (list . "migrate") }}
{{- else }}
Hooks are off (hooks.enabled=false, or the umbrella's global.migrateWithOperator): this release neither migrates nor seeds. The WebranaDatabase operator,
or `webrana-jobs migrate deploy --service={{ include "webrana-service.serviceName" . }}`, must apply the migrations.
{{- end }}

Check it:
  kubectl -n {{ $ns }} rollout status deployment/{{ $fullname }}
  kubectl -n {{ $ns }} port-forward service/{{ $fullname }} 8080:{{ .Values.service.port }}
  curl -s http://127.0.0.1:8080/health/db
{{- if .Values.tests.enabled }}
  helm test {{ .Release.Name }} -n {{ $ns }}
{{- end }}
{{- end -}}

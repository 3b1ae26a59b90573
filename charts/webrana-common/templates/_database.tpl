{{/*
Where the database URL comes from.

The URL never appears in a ConfigMap, an annotation or NOTES.txt: only in a Secret, read through
secretKeyRef. Two sources:
  - database.url set: the chart creates the Secret "<fullname>-database" (a release object, read by
    the Deployment and the post-install seed Job) and, for the migration Job, a copy
    "<fullname>-database-hook" as a pre-install/pre-upgrade hook of lower weight (see _secrets.tpl:
    a pre-install hook runs before any release object exists, so it cannot read the former);
  - otherwise the existing Secret database.existingSecret (default "webrana-database", one Secret may
    hold the four services' URLs), key database.existingSecretKey (default: the service's variable).
*/}}

{{/* The service's URL variable, as in packages/registry: auth-service -> AUTH_DATABASE_URL. */}}
{{- define "webrana-common.urlVariable" -}}
{{- printf "%s_DATABASE_URL" (.Values.serviceName | trimSuffix "-service" | upper | replace "-" "_") -}}
{{- end -}}

{{/* True ("true") when the chart itself stores the URL given in database.url. */}}
{{- define "webrana-common.managesDatabaseSecret" -}}
{{- if .Values.database.url -}}true{{- end -}}
{{- end -}}

{{/* Secret the Deployment and the seed Job read the URL from. */}}
{{- define "webrana-common.databaseSecretName" -}}
{{- if .Values.database.url -}}
{{- include "webrana-common.childName" (list . "database") -}}
{{- else -}}
{{- .Values.database.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* Secret the migration Job reads the URL from (it must exist before the release's own objects). */}}
{{- define "webrana-common.databaseHookSecretName" -}}
{{- if .Values.database.url -}}
{{- include "webrana-common.childName" (list . "database-hook") -}}
{{- else -}}
{{- .Values.database.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* Key of the URL in either Secret. */}}
{{- define "webrana-common.databaseSecretKey" -}}
{{- if .Values.database.url -}}
{{- include "webrana-common.urlVariable" . -}}
{{- else -}}
{{- default (include "webrana-common.urlVariable" .) .Values.database.existingSecretKey -}}
{{- end -}}
{{- end -}}

{{/*
The env entry carrying the URL: (list . secretName optional). Jobs mark it optional, so a missing
Secret makes webrana-jobs fail at once naming the variable ("AUTH_DATABASE_URL (or DATABASE_URL) is
not set") instead of a pod stuck in CreateContainerConfigError until the hook times out.
*/}}
{{- define "webrana-common.databaseUrlEnv" -}}
{{- $ctx := index . 0 -}}
- name: {{ include "webrana-common.urlVariable" $ctx }}
  valueFrom:
    secretKeyRef:
      name: {{ index . 1 | quote }}
      key: {{ include "webrana-common.databaseSecretKey" $ctx | quote }}
      {{- if index . 2 }}
      optional: true
      {{- end }}
{{- end -}}

{{/* Seed secrets: the chart's "<fullname>-seed" Secret when any seed.passwords value is set, else seed.existingSecret. */}}
{{- define "webrana-common.seedSecretName" -}}
{{- $passwords := default dict .Values.seed.passwords -}}
{{- $given := false -}}
{{- range $k, $v := $passwords -}}{{- if $v -}}{{- $given = true -}}{{- end -}}{{- end -}}
{{- if $given -}}
{{- include "webrana-common.childName" (list . "seed") -}}
{{- else -}}
{{- default "" .Values.seed.existingSecret -}}
{{- end -}}
{{- end -}}

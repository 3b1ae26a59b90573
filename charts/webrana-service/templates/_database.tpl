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
{{- define "webrana-service.urlVariable" -}}
{{- printf "%s_DATABASE_URL" (include "webrana-service.serviceName" . | trimSuffix "-service" | upper | replace "-" "_") -}}
{{- end -}}

{{/* True ("true") when the chart itself stores the URL given in database.url. */}}
{{- define "webrana-service.managesDatabaseSecret" -}}
{{- if .Values.database.url -}}true{{- end -}}
{{- end -}}

{{/* Secret the Deployment and the seed Job read the URL from. */}}
{{- define "webrana-service.databaseSecretName" -}}
{{- if .Values.database.url -}}
{{- include "webrana-service.childName" (list . "database") -}}
{{- else -}}
{{- .Values.database.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* Secret the migration Job reads the URL from (it must exist before the release's own objects). */}}
{{- define "webrana-service.databaseHookSecretName" -}}
{{- if .Values.database.url -}}
{{- include "webrana-service.childName" (list . "database-hook") -}}
{{- else -}}
{{- .Values.database.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* Key of the URL in either Secret. */}}
{{- define "webrana-service.databaseSecretKey" -}}
{{- if .Values.database.url -}}
{{- include "webrana-service.urlVariable" . -}}
{{- else -}}
{{- default (include "webrana-service.urlVariable" .) .Values.database.existingSecretKey -}}
{{- end -}}
{{- end -}}

{{/*
The env entry carrying the URL: (list . secretName optional). Every pod serves one service, so it gets
DATABASE_URL (the services and webrana-jobs read it when the service's own variable is unset), the
same name the operator's migration pods use. Jobs mark it optional, so a missing
Secret makes webrana-jobs fail at once naming the variable ("AUTH_DATABASE_URL (or DATABASE_URL) is
not set") instead of a pod stuck in CreateContainerConfigError until the hook times out.
*/}}
{{- define "webrana-service.databaseUrlEnv" -}}
{{- $ctx := index . 0 -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ index . 1 | quote }}
      key: {{ include "webrana-service.databaseSecretKey" $ctx | quote }}
      {{- if index . 2 }}
      optional: true
      {{- end }}
{{- end -}}

{{/*
Seed secrets: none when the service's seed reads no passwords; the chart's "<fullname>-seed" Secret when
any seed.passwords value is set; else seed.existingSecret (null: "webrana-<service without -service>-seed").
*/}}
{{- define "webrana-service.seedSecretName" -}}
{{- $keys := (include "webrana-service.facts" . | fromYaml).seedPasswordKeys | default list -}}
{{- $given := false -}}
{{- range $k := $keys -}}{{- if index $.Values.seed.passwords $k -}}{{- $given = true -}}{{- end -}}{{- end -}}
{{- if not $keys -}}
{{- else if $given -}}
{{- include "webrana-service.childName" (list . "seed") -}}
{{- else -}}
{{- ternary (printf "webrana-%s-seed" (include "webrana-service.serviceName" . | trimSuffix "-service")) .Values.seed.existingSecret (kindIs "invalid" .Values.seed.existingSecret) -}}
{{- end -}}
{{- end -}}

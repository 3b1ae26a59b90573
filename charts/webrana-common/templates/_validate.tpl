{{/*
Checks the schema cannot express (values.schema.json checks types, enums and ranges first). Called
by the Deployment, so every render of a service chart runs it.
*/}}
{{- define "webrana-common.validate" -}}
{{- $services := list "auth-service" "catalog-service" "order-service" "billing-service" -}}
{{- if not (has .Values.serviceName $services) -}}
{{- fail (printf "serviceName %q is not a WeBrana service; expected one of: %s" .Values.serviceName (join ", " $services)) -}}
{{- end -}}
{{- if and (not .Values.database.url) (not .Values.database.existingSecret) -}}
{{- fail (printf "%s: no database URL: set database.existingSecret (an existing Secret with key %s, recommended) or database.url" .Values.serviceName (include "webrana-common.databaseSecretKey" .)) -}}
{{- end -}}
{{- if and .Values.hooks.enabled .Values.seed.enabled .Values.seed.passwords (eq .Values.nodeEnv "production") (not (include "webrana-common.seedSecretName" .)) -}}
{{- fail (printf "%s: the production seed refuses to create admin users without passwords: set seed.existingSecret (keys %s) or seed.passwords, or seed.enabled=false" .Values.serviceName (join ", " (keys .Values.seed.passwords | sortAlpha))) -}}
{{- end -}}
{{- end -}}

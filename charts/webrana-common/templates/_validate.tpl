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
{{- /* Kubernetes counts the grace period from the start of termination: preStop sleep, then SIGTERM. */ -}}
{{- $grace := int .Values.terminationGracePeriodSeconds -}}
{{- $preStop := int .Values.preStopDelaySeconds -}}
{{- $shutdownMs := int .Values.config.shutdownTimeoutMs -}}
{{- $shutdownSeconds := div (add $shutdownMs 999) 1000 -}}
{{- if le $grace (add $preStop $shutdownSeconds) -}}
{{- fail (printf "%s: terminationGracePeriodSeconds (%d) must be above preStopDelaySeconds (%d) + config.shutdownTimeoutMs (%d ms), or Kubernetes kills the pod in the middle of its graceful shutdown: set terminationGracePeriodSeconds to %d or more (5 s left to disconnect), or lower the others" .Values.serviceName $grace $preStop $shutdownMs (add $preStop $shutdownSeconds 5)) -}}
{{- end -}}
{{- end -}}

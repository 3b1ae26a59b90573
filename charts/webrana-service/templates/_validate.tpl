{{/*
Checks the schema cannot express (values.schema.json checks types, enums and ranges first). Called
by the Deployment, so every render of a service chart runs it.
*/}}
{{- define "webrana-service.validate" -}}
{{- $services := keys .Values.services | sortAlpha -}}
{{- if not (has (include "webrana-service.serviceName" .) $services) -}}
{{- fail (printf "serviceName %q is not a WeBrana service; set serviceName (or install through the umbrella chart's aliases) to one of: %s" (include "webrana-service.serviceName" .) (join ", " $services)) -}}
{{- end -}}
{{- $keys := (include "webrana-service.facts" . | fromYaml).seedPasswordKeys | default list -}}
{{- range $key, $value := .Values.seed.passwords -}}
{{- if and $value (not (has $key $keys)) -}}
{{- fail (printf "%s: seed.passwords.%s is set, but this service's seed reads no such password (it reads: %s)" (include "webrana-service.serviceName" $) $key (join ", " $keys | default "none")) -}}
{{- end -}}
{{- end -}}
{{- if and (not .Values.database.url) (not .Values.database.existingSecret) -}}
{{- fail (printf "%s: no database URL: set database.existingSecret (an existing Secret with key %s, recommended) or database.url" (include "webrana-service.serviceName" .) (include "webrana-service.databaseSecretKey" .)) -}}
{{- end -}}
{{- if and (include "webrana-service.seedEnabled" .) $keys (eq .Values.nodeEnv "production") (not (include "webrana-service.seedSecretName" .)) -}}
{{- fail (printf "%s: the production seed refuses to create admin users without passwords: set seed.existingSecret (keys %s) or seed.passwords, or seed.enabled=false" (include "webrana-service.serviceName" .) (join ", " ($keys | sortAlpha))) -}}
{{- end -}}
{{- /* Kubernetes counts the grace period from the start of termination: preStop sleep, then SIGTERM. */ -}}
{{- $grace := int .Values.terminationGracePeriodSeconds -}}
{{- $preStop := int .Values.preStopDelaySeconds -}}
{{- $shutdownMs := int .Values.config.shutdownTimeoutMs -}}
{{- $shutdownSeconds := div (add $shutdownMs 999) 1000 -}}
{{- if le $grace (add $preStop $shutdownSeconds) -}}
{{- fail (printf "%s: terminationGracePeriodSeconds (%d) must be above preStopDelaySeconds (%d) + config.shutdownTimeoutMs (%d ms), or Kubernetes kills the pod in the middle of its graceful shutdown: set terminationGracePeriodSeconds to %d or more (5 s left to disconnect), or lower the others" (include "webrana-service.serviceName" .) $grace $preStop $shutdownMs (add $preStop $shutdownSeconds 5)) -}}
{{- end -}}
{{- end -}}

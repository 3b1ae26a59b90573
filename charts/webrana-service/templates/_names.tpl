{{/*
Names and labels. One chart serves every WeBrana service: the service is serviceName, or else the
chart's name, which is the umbrella's alias (Helm renames an aliased dependency). Names and labels
derive from the service, so an alias and a standalone install render the same objects.
*/}}

{{/* The service this release runs: serviceName, else the alias (auth-service, ...). */}}
{{- define "webrana-service.serviceName" -}}
{{- default .Chart.Name .Values.serviceName -}}
{{- end -}}

{{/* This service's facts from .Values.services (wave, seeds, seedPasswordKeys), as YAML for fromYaml. */}}
{{- define "webrana-service.facts" -}}
{{- toYaml (index .Values.services (include "webrana-service.serviceName" .) | default dict) -}}
{{- end -}}

{{/*
"true" when this chart's hook Jobs run: hooks.enabled, and the umbrella's global.migrateWithOperator is
off (then the operator migrates, and two migrators must never race on one database).
*/}}
{{- define "webrana-service.hooksEnabled" -}}
{{- $global := .Values.global | default dict -}}
{{- if and .Values.hooks.enabled (not $global.migrateWithOperator) -}}true{{- end -}}
{{- end -}}

{{/* "true" when the seed hook Job runs: the hooks run and seed.enabled (null: whether the service seeds). */}}
{{- define "webrana-service.seedEnabled" -}}
{{- $facts := include "webrana-service.facts" . | fromYaml -}}
{{- $enabled := ternary $facts.seeds .Values.seed.enabled (kindIs "invalid" .Values.seed.enabled) -}}
{{- if and (include "webrana-service.hooksEnabled" .) $enabled -}}true{{- end -}}
{{- end -}}

{{/* Helm hook weight of the migration and seed Jobs: the value, else the service's dependency wave. */}}
{{- define "webrana-service.hookWeight" -}}
{{- $job := index . 1 -}}
{{- $facts := include "webrana-service.facts" (index . 0) | fromYaml -}}
{{- ternary $facts.wave $job.hookWeight (kindIs "invalid" $job.hookWeight) | int -}}
{{- end -}}

{{/* The chart name (the service), or nameOverride; at most 63 characters. */}}
{{- define "webrana-service.name" -}}
{{- default (include "webrana-service.serviceName" .) .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The prefix of every object name: fullnameOverride, else the release name when it already contains the
chart name (release "auth-service" -> "auth-service"), else "<release>-<chart>" ("webrana-auth-service").
*/}}
{{- define "webrana-service.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default (include "webrana-service.serviceName" .) .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
A child object's name: the fullname shortened so that "-<suffix>" still fits in 63 characters (Job
names end up in the job-name label of their pods, which allows no more). Call with (list . "suffix").
*/}}
{{- define "webrana-service.childName" -}}
{{- $ctx := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- $prefix := include "webrana-service.fullname" $ctx | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" -}}
{{- printf "%s-%s" $prefix $suffix -}}
{{- end -}}

{{/* helm.sh/chart label value: named after the service, as Helm names an aliased chart. */}}
{{- define "webrana-service.chart" -}}
{{- printf "%s-%s" (include "webrana-service.serviceName" .) .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Labels that identify the release's objects of this service. Selectors add app.kubernetes.io/component,
so the pods of the hook Jobs (component migration/seed) never match the Service or the Deployment.
These selectors are immutable in Kubernetes: never change what they contain.
*/}}
{{- define "webrana-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "webrana-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector of the service's own pods (Deployment, Service, PodDisruptionBudget, ServiceMonitor). */}}
{{- define "webrana-service.serverSelectorLabels" -}}
{{ include "webrana-service.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end -}}

{{/* Labels for every object, without the component (each object adds its own). */}}
{{- define "webrana-service.labels" -}}
helm.sh/chart: {{ include "webrana-service.chart" . }}
{{ include "webrana-service.selectorLabels" . }}
app.kubernetes.io/version: {{ include "webrana-service.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: webrana
{{- end -}}

{{/* Labels of an object with a component: (list . "migration"). */}}
{{- define "webrana-service.componentLabels" -}}
{{- $ctx := index . 0 -}}
{{ include "webrana-service.labels" $ctx }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* The application version: the image tag, else the chart's appVersion (a label value: no "@", ":"). */}}
{{- define "webrana-service.version" -}}
{{- default .Chart.AppVersion .Values.image.tag | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
An image reference from (list imageValues .): repository@digest, else repository:tag (tag defaults to
appVersion); an empty repository means webrana/<service>.
*/}}
{{- define "webrana-service.imageRef" -}}
{{- $image := index . 0 -}}
{{- $ctx := index . 1 -}}
{{- $repository := default (printf "webrana/%s" (include "webrana-service.serviceName" $ctx)) $image.repository -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (default $ctx.Chart.AppVersion $image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The service account the service's pods run as. */}}
{{- define "webrana-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "webrana-service.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

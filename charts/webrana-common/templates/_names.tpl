{{/*
Names and labels. Every helper of the shared charts is prefixed "webrana-common." and takes the
calling service chart's root context (so .Chart is auth-service, catalog-service, ...).
*/}}

{{/* The chart name, or nameOverride; at most 63 characters. */}}
{{- define "webrana-common.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The prefix of every object name: fullnameOverride, else the release name when it already contains the
chart name (release "auth-service" -> "auth-service"), else "<release>-<chart>" ("webrana-auth-service").
*/}}
{{- define "webrana-common.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
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
{{- define "webrana-common.childName" -}}
{{- $ctx := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- $prefix := include "webrana-common.fullname" $ctx | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" -}}
{{- printf "%s-%s" $prefix $suffix -}}
{{- end -}}

{{/* helm.sh/chart label value. */}}
{{- define "webrana-common.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Labels that identify the release's objects of this service. Selectors add app.kubernetes.io/component,
so the pods of the hook Jobs (component migration/seed) never match the Service or the Deployment.
These selectors are immutable in Kubernetes: never change what they contain.
*/}}
{{- define "webrana-common.selectorLabels" -}}
app.kubernetes.io/name: {{ include "webrana-common.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector of the service's own pods (Deployment, Service, PodDisruptionBudget, ServiceMonitor). */}}
{{- define "webrana-common.serverSelectorLabels" -}}
{{ include "webrana-common.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end -}}

{{/* Labels for every object, without the component (each object adds its own). */}}
{{- define "webrana-common.labels" -}}
helm.sh/chart: {{ include "webrana-common.chart" . }}
{{ include "webrana-common.selectorLabels" . }}
app.kubernetes.io/version: {{ include "webrana-common.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: webrana
{{- end -}}

{{/* Labels of an object with a component: (list . "migration"). */}}
{{- define "webrana-common.componentLabels" -}}
{{- $ctx := index . 0 -}}
{{ include "webrana-common.labels" $ctx }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* The application version: the image tag, else the chart's appVersion (a label value: no "@", ":"). */}}
{{- define "webrana-common.version" -}}
{{- default .Chart.AppVersion .Values.image.tag | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* An image reference from (list imageValues .): repository@digest, else repository:tag (tag defaults to appVersion). */}}
{{- define "webrana-common.imageRef" -}}
{{- $image := index . 0 -}}
{{- $ctx := index . 1 -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $image.repository (default $ctx.Chart.AppVersion $image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The service account the service's pods run as. */}}
{{- define "webrana-common.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "webrana-common.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

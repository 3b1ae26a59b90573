{{/*
Hook Jobs running the jobs image (entrypoint webrana-jobs). They run with hooks.enabled unless the
umbrella's global.migrateWithOperator hands the migrations of all services to the operator.

Both Jobs:
  - delete policy before-hook-creation,hook-succeeded: a succeeded Job is removed, a failed one stays
    (with its pod and logs) until the next install/upgrade replaces it;
  - helm.sh/hook-output-log-policy hook-failed: when the Job fails, `helm install/upgrade` copies its
    pod's log (the runner's error, never a password) into its own output;
  - podReplacementPolicy Failed: a retry starts only once the failed pod is gone, never two runners
    at once (the operator's migration Job has the same; Kubernetes 1.34 GA, older ones drop it);
  - backoffLimit and activeDeadlineSeconds bound them; keep activeDeadlineSeconds below helm's
    --timeout (5m by default, counted per hook) so Helm reports the Job's own failure instead of
    giving up on a Job that keeps running;
  - run as the hook service account (hooks.serviceAccountName, default: the namespace's "default"),
    because the chart's ServiceAccount is a release object that does not exist yet at pre-install;
    they need no Kubernetes API access, so no token is mounted.
*/}}

{{/* One hook Job: (dict "ctx" . "component" "migration" "hook" "pre-install,pre-upgrade" "job" .Values.migrations "args" (list ...) "env" "<yaml list>"). */}}
{{- define "webrana-service.hookJob" -}}
{{- $ctx := .ctx -}}
{{- $job := .job -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "webrana-service.childName" (list $ctx .suffix) }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "webrana-service.componentLabels" (list $ctx .component) | nindent 4 }}
  annotations:
    helm.sh/hook: {{ .hook }}
    helm.sh/hook-weight: {{ include "webrana-service.hookWeight" (list $ctx $job) | quote }}
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
    helm.sh/hook-output-log-policy: hook-failed
spec:
  backoffLimit: {{ $job.backoffLimit }}
  activeDeadlineSeconds: {{ $job.activeDeadlineSeconds }}
  podReplacementPolicy: Failed
  template:
    metadata:
      labels:
        {{- include "webrana-service.componentLabels" (list $ctx .component) | nindent 8 }}
        {{- with $ctx.Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      restartPolicy: Never
      {{- with $ctx.Values.hooks.serviceAccountName }}
      serviceAccountName: {{ . }}
      {{- end }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      securityContext:
        {{- include "webrana-service.podSecurityContext" $ctx | nindent 8 }}
      {{- with (include "webrana-service.podScheduling" $ctx | trim) }}{{ . | nindent 6 }}{{ end }}
      containers:
        - name: {{ .suffix }}
          image: {{ include "webrana-service.imageRef" (list $ctx.Values.jobsImage $ctx) | quote }}
          imagePullPolicy: {{ $ctx.Values.jobsImage.pullPolicy }}
          command:
            - webrana-jobs
          args:
            {{- toYaml .args | nindent 12 }}
          env:
            - name: NODE_ENV
              value: {{ $ctx.Values.nodeEnv | quote }}
            - name: LOG_LEVEL
              value: {{ $ctx.Values.logLevel | quote }}
            {{- .env | nindent 12 }}
          # On failure the log's tail also becomes the container's termination message (kubectl describe).
          terminationMessagePolicy: FallbackToLogsOnError
          {{- with $job.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          securityContext:
            {{- include "webrana-service.containerSecurityContext" $ctx | nindent 12 }}
          volumeMounts:
            {{- include "webrana-service.tmpVolumeMount" $ctx | nindent 12 }}
      volumes:
        {{- include "webrana-service.tmpVolume" $ctx | nindent 8 }}
{{- end -}}

{{/*
The migration Job: pre-install,pre-upgrade, so the schema is migrated before Helm creates or changes
the Deployment, and a failed migration fails the install/upgrade before any release object changes.
`webrana-jobs migrate deploy` applies each migration in its own transaction under lock_timeout, takes
Prisma's advisory lock (concurrent runners apply each migration once) and waits --wait for a database
that is still starting. backoffLimit defaults to 0: a migration that failed is recorded in the ledger
and a retry would only stop at that record (P3009) and hide the first error; waiting for the database
is --wait's job, not a retry's.
*/}}
{{- define "webrana-service.migrationJob" -}}
{{- if include "webrana-service.hooksEnabled" . -}}
{{- $m := .Values.migrations -}}
{{- $args := concat (include "webrana-service.migrateArgs" (list . "pre-deploy") | fromYamlArray) $m.extraArgs -}}
{{- $env := include "webrana-service.databaseUrlEnv" (list . (include "webrana-service.databaseHookSecretName" .) true) -}}
{{- include "webrana-service.hookJob" (dict "ctx" . "component" "migration" "suffix" "migrate" "hook" "pre-install,pre-upgrade" "job" $m "args" $args "env" $env) -}}
{{- end -}}
{{- end -}}

{{/* `webrana-jobs migrate deploy` for one phase: (list . "pre-deploy"|"post-deploy"), as a YAML list. */}}
{{- define "webrana-service.migrateArgs" -}}
{{- $ctx := index . 0 -}}
{{- $m := $ctx.Values.migrations -}}
{{- list "migrate" "deploy" (printf "--service=%s" (include "webrana-service.serviceName" $ctx)) (printf "--wait=%s" $m.wait) (printf "--lock-timeout=%s" $m.lockTimeout) (printf "--lock-wait=%s" $m.lockWait) (printf "--statement-timeout=%s" $m.statementTimeout) (printf "--phase=%s" (index . 1)) | toYaml -}}
{{- end -}}

{{/*
The post-deploy migration Job (expand/contract): post-install,post-upgrade, `migrate deploy
--phase=post-deploy`. The pre-upgrade hook above applies only pre-deploy migrations and stops at the
first pending migration marked `-- webrana:phase post-deploy` (dropping a column the old pods still
read, SET NOT NULL after a backfill, ...); this Job applies it and everything after it once the new
release is live.
Helm runs post-upgrade hooks once the release's objects are created; it waits for the new pods to be
Ready first only with --wait (or --atomic, which implies it). Without --wait this Job may run while old
pods still serve: upgrade with --wait, or set migrations.postDeploy.enabled=false and run
`webrana-jobs migrate deploy --phase=post-deploy` yourself after the rollout.
--wait returns once the new pods are ready, while the old ones still serve through their preStop delay
and drain: with a migration pending, the Job first waits terminationGracePeriodSeconds (--rollout-grace),
after which no old pod is left (the real-node expand/contract test saw one request fail without it).
Nothing in the Deployment waits for this Job, so `helm upgrade --wait` cannot deadlock on it. Same
weight as the seed hook (the dependency wave); at the same weight Helm orders by name, so it runs
before the seed (migrate-post-deploy < seed). It reads the release's database Secret, which exists by
then (like the seed).
*/}}
{{- define "webrana-service.postDeployMigrationJob" -}}
{{- if and (include "webrana-service.hooksEnabled" .) .Values.migrations.postDeploy.enabled -}}
{{- $m := .Values.migrations -}}
{{- $grace := list (printf "--rollout-grace=%ds" (int .Values.terminationGracePeriodSeconds)) -}}
{{- $args := concat (include "webrana-service.migrateArgs" (list . "post-deploy") | fromYamlArray) $grace $m.extraArgs -}}
{{- $env := include "webrana-service.databaseUrlEnv" (list . (include "webrana-service.databaseSecretName" .) true) -}}
{{- include "webrana-service.hookJob" (dict "ctx" . "component" "post-deploy-migration" "suffix" "migrate-post-deploy" "hook" "post-install,post-upgrade" "job" $m "args" $args "env" $env) -}}
{{- end -}}
{{- end -}}

{{/*
The seed Job: post-install, and post-upgrade unless seed.onUpgrade is false.

Why post-upgrade is safe: seeds are idempotent. `webrana-jobs seed` runs the service's seed in one
locked transaction that creates missing rows and writes a row only when it differs from the seed, so
a run over an unchanged database writes nothing (the seed tests check a second run is byte-identical
with no writes), and concurrent runs serialize. Running it after every upgrade delivers the seed data
of the new release (a new plan, a changed price) right after its migrations.
What it implies: the seed is the source of truth for its rows. A seeded catalog row edited by hand is
put back, and a password variable that is set (seed Secret) rotates a stored password that differs
(an unset one never does). Where people edit seeded rows in production, set seed.onUpgrade=false.
A post-install hook never blocks the pods (nothing in the Deployment waits for the seed), so
`helm install --wait` cannot deadlock on it.
*/}}
{{- define "webrana-service.seedJob" -}}
{{- if include "webrana-service.seedEnabled" . -}}
{{- $s := .Values.seed -}}
{{- $hook := ternary "post-install,post-upgrade" "post-install" (default false $s.onUpgrade) -}}
{{- $args := list "seed" (printf "--service=%s" (include "webrana-service.serviceName" .)) -}}
{{- $secret := include "webrana-service.seedSecretName" . -}}
{{- $env := include "webrana-service.databaseUrlEnv" (list . (include "webrana-service.databaseSecretName" .) true) -}}
{{- $keys := (include "webrana-service.facts" . | fromYaml).seedPasswordKeys | default list -}}
{{- if and $secret $keys -}}
{{- range $name := $keys | sortAlpha -}}
{{- $env = printf "%s\n- name: %s\n  valueFrom:\n    secretKeyRef:\n      name: %s\n      key: %s\n      optional: true" $env $name ($secret | quote) $name -}}
{{- end -}}
{{- end -}}
{{- with $s.extraEnv -}}
{{- $env = printf "%s\n%s" $env (include "webrana-service.envFromMap" (list .) | trim) -}}
{{- end -}}
{{- include "webrana-service.hookJob" (dict "ctx" . "component" "seed" "suffix" "seed" "hook" $hook "job" $s "args" $args "env" $env) -}}
{{- end -}}
{{- end -}}

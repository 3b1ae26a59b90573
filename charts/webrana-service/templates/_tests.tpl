{{/*
`helm test` pod: GET /health/db through the Service and succeed only on 200 with status "healthy".
It runs the service image's own Node (no extra image to pull or trust) with the same hardened
security context. It needs pod networking and cluster DNS, which kube-lab does not have: there it can
be rendered and created, not run to success.
*/}}
{{- define "webrana-service.testHealthDb" -}}
{{- if .Values.tests.enabled -}}
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "webrana-service.childName" (list . "test-health-db") }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "webrana-service.componentLabels" (list . "test") | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  enableServiceLinks: false
  securityContext:
    {{- include "webrana-service.podSecurityContext" . | nindent 4 }}
  {{- with (include "webrana-service.podScheduling" . | trim) }}{{ . | nindent 2 }}{{ end }}
  containers:
    - name: health-db
      image: {{ include "webrana-service.imageRef" (list .Values.image .) | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      command:
        - node
        - -e
        - |
          const url = process.env.HEALTH_DB_URL;
          fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10000) })
            .then(async (res) => {
              const text = await res.text();
              console.log(`GET ${url}: ${res.status} ${text}`);
              let healthy = false;
              try { healthy = res.status === 200 && JSON.parse(text).status === 'healthy'; } catch {}
              process.exit(healthy ? 0 : 1);
            })
            .catch((err) => { console.error(`GET ${url}: ${err.message}`); process.exit(1); });
      env:
        - name: HEALTH_DB_URL
          value: {{ printf "http://%s.%s.svc:%d/health/db" (include "webrana-service.fullname" .) .Release.Namespace (int .Values.service.port) | quote }}
      resources:
        requests:
          cpu: 10m
          memory: 32Mi
        limits:
          memory: 96Mi
      securityContext:
        {{- include "webrana-service.containerSecurityContext" . | nindent 8 }}
      volumeMounts:
        {{- include "webrana-service.tmpVolumeMount" . | nindent 8 }}
  volumes:
    {{- include "webrana-service.tmpVolume" . | nindent 4 }}
{{- end -}}
{{- end -}}

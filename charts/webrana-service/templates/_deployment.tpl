{{/*
The service's Deployment. With the hooks on, Helm creates it only after the pre-install/pre-upgrade
migration Job has succeeded, so new code never starts against an old schema; a failed migration leaves
the previous Deployment as it was.
*/}}
{{- define "webrana-service.deployment" -}}
{{- include "webrana-service.validate" . -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "webrana-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "webrana-service.componentLabels" (list . "server") | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  revisionHistoryLimit: {{ .Values.revisionHistoryLimit }}
  selector:
    matchLabels:
      {{- include "webrana-service.serverSelectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: {{ .Values.strategy.maxSurge }}
      maxUnavailable: {{ .Values.strategy.maxUnavailable }}
  template:
    metadata:
      labels:
        {{- include "webrana-service.componentLabels" (list . "server") | nindent 8 }}
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/config: {{ include "webrana-service.configmap" . | sha256sum }}
        {{- if .Values.metrics.podAnnotations }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ .Values.containerPort | int | quote }}
        prometheus.io/path: {{ .Values.metrics.path | quote }}
        {{- end }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "webrana-service.serviceAccountName" . }}
      # The services never call the Kubernetes API.
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
      securityContext:
        {{- include "webrana-service.podSecurityContext" . | nindent 8 }}
      {{- with (include "webrana-service.podScheduling" . | trim) }}{{ . | nindent 6 }}{{ end }}
      {{- with .Values.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ include "webrana-service.serviceName" . }}
          image: {{ include "webrana-service.imageRef" (list .Values.image .) | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          {{- with .Values.image.command }}
          command:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            - name: http
              containerPort: {{ .Values.containerPort }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ include "webrana-service.fullname" . }}
          env:
            {{- include "webrana-service.databaseUrlEnv" (list . (include "webrana-service.databaseSecretName" .) false) | nindent 12 }}
          {{- with .Values.probes.startup }}
          # Until the process answers, liveness is not checked (a slow first database connection is not a hang).
          startupProbe:
            httpGet:
              path: /health/live
              port: http
            periodSeconds: {{ .periodSeconds }}
            timeoutSeconds: {{ .timeoutSeconds }}
            failureThreshold: {{ .failureThreshold }}
          {{- end }}
          {{- with .Values.probes.liveness }}
          # /health/live checks only the process: a database outage never restarts the pods.
          livenessProbe:
            httpGet:
              path: /health/live
              port: http
            periodSeconds: {{ .periodSeconds }}
            timeoutSeconds: {{ .timeoutSeconds }}
            failureThreshold: {{ .failureThreshold }}
          {{- end }}
          {{- with .Values.probes.readiness }}
          # /health/ready: not shutting down and the database answers (within HEALTH_TIMEOUT_MS).
          readinessProbe:
            httpGet:
              path: /health/ready
              port: http
            periodSeconds: {{ .periodSeconds }}
            timeoutSeconds: {{ .timeoutSeconds }}
            failureThreshold: {{ .failureThreshold }}
          {{- end }}
          {{- if gt (int .Values.preStopDelaySeconds) 0 }}
          # Endpoint removal reaches kube-proxy and ingresses only after a while: keep serving until it
          # has, then SIGTERM (the kubelet runs this hook first). The sleep action is GA from 1.34;
          # older clusters run the image's /bin/sleep.
          lifecycle:
            preStop:
              {{- if semverCompare ">=1.34-0" .Capabilities.KubeVersion.Version }}
              sleep:
                seconds: {{ .Values.preStopDelaySeconds | int }}
              {{- else }}
              exec:
                command: ["/bin/sleep", {{ .Values.preStopDelaySeconds | int | quote }}]
              {{- end }}
          {{- end }}
          {{- with .Values.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          securityContext:
            {{- include "webrana-service.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            {{- include "webrana-service.tmpVolumeMount" . | nindent 12 }}
      volumes:
        {{- include "webrana-service.tmpVolume" . | nindent 8 }}
{{- end -}}

/**
 * The WebranaDatabase API (webrana.cloud/v1alpha1) as TypeScript types. The CRD's OpenAPI schema
 * (crd.ts) is written against these; `normalizeSpec` (validate.ts) turns what the apiserver stored
 * into a `DatabaseSpec` with every default filled in.
 */

export const GROUP = 'webrana.cloud';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'WebranaDatabase';
export const PLURAL = 'webranadatabases';
export const SINGULAR = 'webranadatabase';
export const SHORT_NAMES = ['wdb'];
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** Defaults, shared by the CRD schema and the spec normalizer so both say the same. */
export const DEFAULTS = {
  /**
   * The service chart's defaults (charts/webrana-service/values.yaml: migrations.*, podSecurity.*),
   * so an operator-run migration pod is the chart hook's pod; charts/test/migration-pod.test.ts reads
   * the chart's values and compares. activeDeadlineSeconds stays below helm's 5 m --timeout there.
   */
  migration: {
    backoffLimit: 0,
    activeDeadlineSeconds: 270,
    wait: '60s',
    lockTimeout: '5s',
    lockWait: '120s',
    statementTimeout: '0',
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    runAsUser: 10001,
    runAsGroup: 10001,
    fsGroup: 10001,
  },
  backup: {
    retention: { daily: 7, weekly: 4, monthly: 12 },
    suspend: false,
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 3,
    startingDeadlineSeconds: 3600,
    activeDeadlineSeconds: 3600,
    backoffLimit: 0,
    /** Restore drills: weekly, Sunday 03:00 (after a nightly backup); the unpacked dump needs room in /tmp. */
    verify: { schedule: '0 3 * * 0', tmpSizeLimit: '4Gi' },
  },
  imagePullPolicy: 'IfNotPresent',
} as const;

export interface SecretKeyRef {
  name: string;
  key: string;
}

export interface ServiceEntry {
  name: string;
  databaseUrlSecretRef: SecretKeyRef;
  dependsOn?: string[];
  /** This service's migration settings: each field given here replaces spec.migration's. */
  migration?: MigrationSettings;
  /**
   * The Deployment (same namespace) that runs this service. When named, the operator runs the
   * post-deploy migrations (`-- webrana:phase post-deploy`) once it reports the new generation rolled
   * out; without it, the operator never runs them (see docs/expand-contract.md).
   */
  deployment?: string;
}

export interface ResourceRequirements {
  requests?: Record<string, string | number>;
  limits?: Record<string, string | number>;
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: '' | 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

/** Where and as whom the migration pod runs: the service chart's nodeSelector, tolerations, affinity, priorityClassName and podSecurity.*. */
export interface MigrationPodSettings {
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: Record<string, unknown>;
  priorityClassName?: string;
  runAsUser?: number;
  runAsGroup?: number;
  fsGroup?: number;
}

/** The migration Job: the service chart's migrations.* values, plus its pod's scheduling and ids. */
export interface MigrationSettings {
  backoffLimit?: number;
  activeDeadlineSeconds?: number;
  /** `webrana-jobs migrate deploy` flags: --wait, --lock-timeout, --lock-wait, --statement-timeout. */
  wait?: string;
  lockTimeout?: string;
  lockWait?: string;
  statementTimeout?: string;
  /** Resources of the migration container (default: spec.resources, else the chart's). */
  resources?: ResourceRequirements;
  pod?: MigrationPodSettings;
}

export interface Retention {
  daily?: number;
  weekly?: number;
  monthly?: number;
}

/** An S3-compatible bucket the backup Jobs write to (webrana-jobs backup --s3-url). */
export interface BackupS3 {
  bucket: string;
  /** Dumps go to <prefix>/<service>/ in the bucket. */
  prefix?: string;
  /** AWS_ENDPOINT_URL; unset: AWS S3. */
  endpoint?: string;
  /** AWS_REGION; unset: us-east-1. */
  region?: string;
  /** Path-style URLs (most self-hosted stores). */
  forcePathStyle?: boolean;
  /** A Secret with keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; unset: the SDK's chain (e.g. web identity). */
  credentialsSecretRef?: { name: string };
}

/** Restore drills (`webrana-jobs backup verify --latest`), one CronJob per service; spec.backup.suspend stops them too. */
export interface BackupVerify {
  /** Default: weekly (DEFAULTS.backup.verify.schedule); the backup's timeZone applies. */
  schedule?: string;
  /** Size limit of the drill pod's /tmp, where the dump is unpacked (about 4x the dump). */
  tmpSizeLimit?: string;
}

export interface BackupSettings {
  schedule: string;
  timeZone?: string;
  retention?: Retention;
  /** The volume the dumps are written to; optional when s3 is given (then both, or the bucket alone). */
  volumeClaimName?: string;
  s3?: BackupS3;
  /** Restore drills of the newest dump; absent: none. */
  verify?: BackupVerify;
  suspend?: boolean;
  successfulJobsHistoryLimit?: number;
  failedJobsHistoryLimit?: number;
  startingDeadlineSeconds?: number;
  activeDeadlineSeconds?: number;
  backoffLimit?: number;
}

/** `spec` as users write it. */
export interface WebranaDatabaseSpec {
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  imagePullSecrets?: { name: string }[];
  /** ServiceAccount the Jobs run as (default: the namespace's default); they get no API token either way. */
  serviceAccountName?: string;
  resources?: ResourceRequirements;
  services: ServiceEntry[];
  migration?: MigrationSettings;
  backup?: BackupSettings;
}

/** The newest successful backup of a service, as its Job reported it (see backup-runs.ts). */
export interface BackupSuccess {
  /** The Job that wrote it (scheduled, backup-now or `kubectl create job --from=cronjob/...`). */
  job: string;
  finishedAt: string;
  /** From the Job's termination message; absent when its pod was gone before the operator read it. */
  bytes?: number;
  durationSeconds?: number;
  file?: string;
}

/** The newest passing restore drill of a service, from its Job's termination message. */
export interface DrillPass {
  job: string;
  /** When the drill finished (the metric's value). */
  verifiedAt: string;
  file?: string;
  /** When the dump was taken. */
  dumpCreatedAt?: string;
}

/** Restore drills of one service (see drills.ts). */
export interface DrillStatus {
  cronJob: string;
  lastJob?: string;
  lastResult?: 'Running' | 'Passed' | 'Failed';
  lastFinishedAt?: string;
  /** The dump the newest drill restored. */
  lastFile?: string;
  /** Why the newest drill failed (the dump's problems, or why the drill could not run). */
  lastMessage?: string;
  /** The newest drill failed on the dump itself (not on the server or the cluster): the dump is marked. */
  lastDumpFailed?: boolean;
  /** Kept when its Job is gone, so the metric survives Job history limits and restarts. */
  lastPass?: DrillPass;
}

export type ServicePhase = 'Pending' | 'Waiting' | 'Running' | 'Succeeded' | 'Failed' | 'Blocked';

export interface BackupStatus {
  cronJob: string;
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
  /** The newest backup Job and how it ended. */
  lastJob?: string;
  lastResult?: 'Running' | 'Succeeded' | 'Failed';
  lastFinishedAt?: string;
  lastMessage?: string;
  /** The newest successful backup: kept here when its Job is gone, so metrics survive restarts. */
  lastSuccess?: BackupSuccess;
  /** Restore drills, when spec.backup.verify is set. */
  verify?: DrillStatus;
}

/** The post-deploy migration step of a service (only for services that name a Deployment). */
export interface PostDeployStatus {
  /** Pending: pre-deploy not done yet; Waiting: for the rollout; Blocked: the rollout failed. */
  phase: 'Pending' | 'Waiting' | 'Running' | 'Succeeded' | 'Failed' | 'Blocked';
  deployment: string;
  job: string;
  startedAt?: string;
  finishedAt?: string;
  message: string;
}

export interface ServiceStatus {
  name: string;
  phase: ServicePhase;
  job?: string;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
  backup?: BackupStatus;
  postDeploy?: PostDeployStatus;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export type DatabasePhase = 'Pending' | 'Migrating' | 'Ready' | 'Degraded' | 'InvalidSpec';

export interface WebranaDatabaseStatus {
  observedGeneration?: number;
  phase?: DatabasePhase;
  /** "succeeded/total" migrations of the observed generation, for `kubectl get`. */
  progress?: string;
  services?: ServiceStatus[];
  conditions?: Condition[];
  /** The last `webrana.cloud/backup-now` annotation value whose Jobs were created (each value runs once). */
  backupNow?: string;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface WebranaDatabase {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: WebranaDatabaseSpec;
  status?: WebranaDatabaseStatus;
}

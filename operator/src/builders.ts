import { API_VERSION, KIND, type BackupS3 } from './api/types';
import type { NormalizedMigration, NormalizedSpec, ServicePlanEntry } from './api/validate';
import type { CronJob, Job, OwnerReference, PodTemplate } from './k8s';
import {
  BACKUP_NOW_ANNOTATION,
  SPEC_HASH_ANNOTATION,
  backupCronJobName,
  backupNowJobName,
  childLabels,
  migrationJobName,
  PHASE_LABEL,
  postDeployJobName,
  shortHash,
  verifyCronJobName,
  type Component,
} from './names';

/**
 * Desired objects, as pure functions of the resource: same input, same object, byte for byte.
 * Every pod is hardened like the charts' pods (non-root 10001, read-only root filesystem with an
 * emptyDir /tmp, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp), gets
 * no service-account token (the jobs never call the API) and reports its error as termination
 * message (the log tail), which is where the operator reads a failed migration's SQL error.
 *
 * The migration pod is the one the service chart's hook renders (charts/webrana-service,
 * templates/_jobs.tpl, defaults in its values.yaml): same args and timeout flags, env, optional
 * secret reference, resources, securityContext with the same uid/gid, scheduling (nodeSelector,
 * tolerations, affinity, priorityClassName) and volumes, each from the service's normalized
 * migration settings (services[].migration over spec.migration over the chart's defaults).
 * charts/test/migration-pod.test.ts renders the chart and compares, at defaults and with every knob
 * set, so the two cannot drift apart.
 */

export interface Owner {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
}

const RUN_AS = 10001;
const TMP_SIZE_LIMIT = '64Mi';
const BACKUP_MOUNT = '/backups';
/** Kubernetes' default terminationMessagePath, set explicitly: the backup CLI is told to write its summary there. */
export const TERMINATION_MESSAGE_PATH = '/dev/termination-log';
/** How long a finished backup-now Job stays (the TTL controller deletes it; its result stays in the status). */
export const BACKUP_NOW_TTL_SECONDS = 7 * 24 * 3600;

/** Settings of the jobs pods, as the chart's defaults (nodeEnv, logLevel in its values.yaml). */
const JOB_ENV = { NODE_ENV: 'production', LOG_LEVEL: 'info' } as const;

function ownerReference(owner: Owner): OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: owner.name,
    uid: owner.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function podTemplate(
  owner: Owner,
  spec: NormalizedSpec,
  svc: ServicePlanEntry,
  component: Component,
  args: string[],
  generation?: number,
): PodTemplate {
  // Backup and restore drill pods: the same volume, bucket and termination message.
  const backup = component !== 'migration' && spec.backup ? spec.backup : undefined;
  // The migration pod runs as the chart's hook pod does; the backup pod keeps the fixed hardening.
  const migration: NormalizedMigration | undefined = component === 'migration' ? svc.migration : undefined;
  const ids = migration ?? { runAsUser: RUN_AS, runAsGroup: RUN_AS, fsGroup: RUN_AS };
  const resources = migration ? migration.resources : spec.resources;
  const container: Record<string, unknown> = {
    name: component === 'migration' ? 'migrate' : component,
    image: spec.image,
    imagePullPolicy: spec.imagePullPolicy,
    command: ['webrana-jobs'],
    args,
    env: [
      { name: 'NODE_ENV', value: JOB_ENV.NODE_ENV },
      { name: 'LOG_LEVEL', value: JOB_ENV.LOG_LEVEL },
      // Each pod serves one service, so the generic name; optional, so a missing Secret fails the
      // runner at once naming the variable instead of a pod stuck in CreateContainerConfigError.
      {
        name: 'DATABASE_URL',
        valueFrom: { secretKeyRef: { name: svc.secret.name, key: svc.secret.key, optional: true } },
      },
      ...(backup?.s3 ? bucketEnv(backup.s3) : []),
    ],
    // The backup pod's message is the file its CLI writes (the summary), else on failure the log tail.
    ...(backup ? { terminationMessagePath: TERMINATION_MESSAGE_PATH } : {}),
    terminationMessagePolicy: 'FallbackToLogsOnError',
    ...(resources && Object.keys(resources).length > 0 ? { resources } : {}),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: ids.runAsUser,
      runAsGroup: ids.runAsGroup,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      { name: 'tmp', mountPath: '/tmp' },
      ...(backup?.volumeClaimName ? [{ name: 'backups', mountPath: BACKUP_MOUNT }] : []),
    ],
  };
  return {
    metadata: { labels: childLabels(owner.name, svc.name, component, generation) },
    spec: {
      restartPolicy: 'Never',
      ...(spec.serviceAccountName ? { serviceAccountName: spec.serviceAccountName } : {}),
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      ...(spec.imagePullSecrets.length > 0 ? { imagePullSecrets: spec.imagePullSecrets } : {}),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: ids.runAsUser,
        runAsGroup: ids.runAsGroup,
        fsGroup: ids.fsGroup,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...(migration?.priorityClassName ? { priorityClassName: migration.priorityClassName } : {}),
      ...(migration?.nodeSelector ? { nodeSelector: migration.nodeSelector } : {}),
      ...(migration?.affinity ? { affinity: migration.affinity } : {}),
      ...(migration?.tolerations ? { tolerations: migration.tolerations } : {}),
      containers: [container],
      volumes: [
        { name: 'tmp', emptyDir: tmpVolume(component, backup) },
        ...(backup?.volumeClaimName
          ? [{ name: 'backups', persistentVolumeClaim: { claimName: backup.volumeClaimName } }]
          : []),
      ],
    },
  };
}

/**
 * The pod's /tmp. A drill unpacks the dump there (about 4x its size): its own limit. A backup with no
 * volume spools pg_dump's directory there before the upload, as big as the uncompressed data: no cap
 * but the node's ephemeral storage (64Mi would have the kubelet evict any real database's backup).
 */
function tmpVolume(component: string, backup: NormalizedSpec['backup']): { sizeLimit?: string } {
  if (component === 'verify') return { sizeLimit: backup!.verify!.tmpSizeLimit };
  if (component === 'backup' && !backup?.volumeClaimName) return {};
  return { sizeLimit: TMP_SIZE_LIMIT };
}

function migrationArgs(svc: ServicePlanEntry, phase: 'pre-deploy' | 'post-deploy' = 'pre-deploy'): string[] {
  const t = svc.migration;
  return [
    'migrate',
    'deploy',
    `--service=${svc.name}`,
    `--wait=${t.wait}`,
    `--lock-timeout=${t.lockTimeout}`,
    `--lock-wait=${t.lockWait}`,
    `--statement-timeout=${t.statementTimeout}`,
    // Only pre-deploy migrations: post-deploy ones (expand/contract) wait for the rollout, as in the chart's hook.
    `--phase=${phase}`,
  ];
}

/** The migration Job of one service for one spec generation. */
export function migrationJob(owner: Owner, spec: NormalizedSpec, svc: ServicePlanEntry, generation: number): Job {
  const labels = childLabels(owner.name, svc.name, 'migration', generation);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: migrationJobName(owner.name, svc.name, generation),
      namespace: owner.namespace,
      labels,
      ownerReferences: [ownerReference(owner)],
    },
    spec: {
      backoffLimit: svc.migration.backoffLimit,
      activeDeadlineSeconds: svc.migration.activeDeadlineSeconds,
      // A retry starts only once the failed pod is gone: never two runners on one database.
      podReplacementPolicy: 'Failed',
      template: podTemplate(owner, spec, svc, 'migration', migrationArgs(svc), generation),
    },
  };
}

/**
 * The post-deploy migration Job (post-deploy.ts decides when): the migration Job's pod with
 * --phase=post-deploy, its own name per generation, and a phase label on the Job and its pod.
 */
export function postDeployMigrationJob(
  owner: Owner,
  spec: NormalizedSpec,
  svc: ServicePlanEntry,
  generation: number,
): Job {
  const job = migrationJob(owner, spec, svc, generation);
  const labels = { ...job.metadata.labels, [PHASE_LABEL]: 'post-deploy' };
  const template = podTemplate(owner, spec, svc, 'migration', migrationArgs(svc, 'post-deploy'), generation);
  return {
    ...job,
    metadata: { ...job.metadata, name: postDeployJobName(owner.name, svc.name, generation), labels },
    spec: { ...job.spec, template: { ...template, metadata: { labels: { ...template.metadata?.labels, ...labels } } } },
  };
}

/**
 * The variables webrana-jobs reads for a bucket (BACKUP_S3_URL and the standard AWS ones); credentials
 * only as Secret references, never values in the Job. Optional refs: a missing Secret fails the run
 * naming the variable instead of a pod stuck in CreateContainerConfigError.
 */
export function bucketEnv(s3: BackupS3): { name: string; value?: string; valueFrom?: unknown }[] {
  const secret = (key: string) => ({
    name: key,
    valueFrom: { secretKeyRef: { name: s3.credentialsSecretRef!.name, key, optional: true } },
  });
  return [
    { name: 'BACKUP_S3_URL', value: `s3://${s3.bucket}/${(s3.prefix ?? '').replace(/^\/+/, '')}` },
    ...(s3.endpoint ? [{ name: 'AWS_ENDPOINT_URL', value: s3.endpoint }] : []),
    ...(s3.region ? [{ name: 'AWS_REGION', value: s3.region }] : []),
    ...(s3.forcePathStyle ? [{ name: 'AWS_S3_FORCE_PATH_STYLE', value: 'true' }] : []),
    ...(s3.credentialsSecretRef ? [secret('AWS_ACCESS_KEY_ID'), secret('AWS_SECRET_ACCESS_KEY')] : []),
  ];
}

function backupArgs(spec: NormalizedSpec, svc: ServicePlanEntry): string[] {
  const r = spec.backup?.retention ?? { daily: 0, weekly: 0, monthly: 0 };
  return [
    'backup',
    `--service=${svc.name}`,
    ...(spec.backup?.volumeClaimName ? [`--dir=${BACKUP_MOUNT}`] : []),
    `--keep-daily=${r.daily}`,
    `--keep-weekly=${r.weekly}`,
    `--keep-monthly=${r.monthly}`,
    `--termination-log=${TERMINATION_MESSAGE_PATH}`,
  ];
}

/** The pg_dump CronJob of one service; undefined when the spec has no backup section. */
export function backupCronJob(owner: Owner, spec: NormalizedSpec, svc: ServicePlanEntry): CronJob | undefined {
  const b = spec.backup;
  if (!b) return undefined;
  const labels = childLabels(owner.name, svc.name, 'backup');
  const cronSpec: CronJob['spec'] = {
    schedule: b.schedule,
    ...(b.timeZone ? { timeZone: b.timeZone } : {}),
    suspend: b.suspend,
    concurrencyPolicy: 'Forbid',
    startingDeadlineSeconds: b.startingDeadlineSeconds,
    successfulJobsHistoryLimit: b.successfulJobsHistoryLimit,
    failedJobsHistoryLimit: b.failedJobsHistoryLimit,
    jobTemplate: {
      metadata: { labels },
      spec: {
        backoffLimit: b.backoffLimit,
        activeDeadlineSeconds: b.activeDeadlineSeconds,
        podReplacementPolicy: 'Failed',
        template: podTemplate(owner, spec, svc, 'backup', backupArgs(spec, svc)),
      },
    },
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: {
      name: backupCronJobName(owner.name, svc.name),
      namespace: owner.namespace,
      labels,
      annotations: { [SPEC_HASH_ANNOTATION]: shortHash(JSON.stringify({ labels, spec: cronSpec }), 16) },
      ownerReferences: [ownerReference(owner)],
    },
    spec: cronSpec,
  };
}

/**
 * The restore drill CronJob of one service (`webrana-jobs backup verify --latest`): the backup pod
 * (volume, bucket variables, hardening, termination message) with the drill's arguments, on
 * spec.backup.verify's schedule, suspended with the backups. From the volume when there is one, else
 * from the bucket (BACKUP_S3_URL). Undefined without spec.backup.verify.
 */
export function verifyCronJob(owner: Owner, spec: NormalizedSpec, svc: ServicePlanEntry): CronJob | undefined {
  const b = spec.backup;
  if (!b?.verify) return undefined;
  const backups = backupCronJob(owner, spec, svc)!;
  const labels = childLabels(owner.name, svc.name, 'verify');
  const args = [
    'backup',
    'verify',
    `--service=${svc.name}`,
    '--latest',
    ...(b.volumeClaimName ? [`--dir=${BACKUP_MOUNT}`] : []),
    `--termination-log=${TERMINATION_MESSAGE_PATH}`,
  ];
  const cronSpec: CronJob['spec'] = {
    ...backups.spec,
    schedule: b.verify.schedule,
    jobTemplate: {
      metadata: { labels },
      spec: { ...backups.spec.jobTemplate.spec, template: podTemplate(owner, spec, svc, 'verify', args) },
    },
  };
  return {
    ...backups,
    metadata: {
      ...backups.metadata,
      name: verifyCronJobName(owner.name, svc.name),
      labels,
      annotations: { [SPEC_HASH_ANNOTATION]: shortHash(JSON.stringify({ labels, spec: cronSpec }), 16) },
    },
    spec: cronSpec,
  };
}

/**
 * The backup Job `webrana.cloud/backup-now=<value>` asks for: the CronJob's Job template (the same
 * pod), named from the value, owned by the WebranaDatabase, labelled like the scheduled Jobs (so it is
 * tracked like them) and deleted a while after it finished. Undefined without a backup section.
 */
export function backupNowJob(
  owner: Owner,
  spec: NormalizedSpec,
  svc: ServicePlanEntry,
  value: string,
): Job | undefined {
  const cronJob = backupCronJob(owner, spec, svc);
  if (!cronJob) return undefined;
  const template = cronJob.spec.jobTemplate;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: backupNowJobName(owner.name, svc.name, value),
      namespace: owner.namespace,
      labels: template.metadata?.labels ?? {},
      annotations: { [BACKUP_NOW_ANNOTATION]: value },
      ownerReferences: [ownerReference(owner)],
    },
    spec: { ...template.spec, ttlSecondsAfterFinished: BACKUP_NOW_TTL_SECONDS },
  };
}

/** What the operator owns in a CronJob, in a form that ignores fields the apiserver defaults. */
function cronProjection(cj: CronJob): unknown {
  const s = cj.spec;
  const tpl = s.jobTemplate?.spec;
  const containers = ((tpl?.template?.spec?.containers ?? []) as Record<string, unknown>[]).map((c) => ({
    image: c.image,
    command: c.command,
    args: c.args,
    env: c.env,
  }));
  return {
    schedule: s.schedule,
    timeZone: s.timeZone ?? null,
    suspend: s.suspend ?? false,
    concurrencyPolicy: s.concurrencyPolicy,
    startingDeadlineSeconds: s.startingDeadlineSeconds ?? null,
    successfulJobsHistoryLimit: s.successfulJobsHistoryLimit ?? null,
    failedJobsHistoryLimit: s.failedJobsHistoryLimit ?? null,
    backoffLimit: tpl?.backoffLimit ?? null,
    activeDeadlineSeconds: tpl?.activeDeadlineSeconds ?? null,
    containers,
  };
}

/**
 * Whether an existing CronJob must be rewritten: the spec hash the operator stamped differs (the
 * resource changed), or someone edited a field the operator owns, or it lost its owner.
 */
export function cronJobNeedsUpdate(observed: CronJob, desired: CronJob): boolean {
  const hash = (cj: CronJob) => cj.metadata.annotations?.[SPEC_HASH_ANNOTATION];
  if (hash(observed) !== hash(desired)) return true;
  const owner = desired.metadata.ownerReferences?.[0];
  if (!observed.metadata.ownerReferences?.some((r) => r.uid === owner?.uid)) return true;
  return JSON.stringify(cronProjection(observed)) !== JSON.stringify(cronProjection(desired));
}

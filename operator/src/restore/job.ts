import type { NormalizedSpec, ServicePlanEntry } from '../api/validate';
import { backupCronJob, TERMINATION_MESSAGE_PATH, type Owner } from '../builders';
import type { Job, OwnerReference } from '../k8s';
import { LABELS, boundedName, MAX_JOB_NAME, shortHash } from '../names';
import { API_VERSION } from '../api/types';
import { RESTORE_KIND, RESTORE_LABEL } from './api';
import type { NormalizedRestoreSpec } from './validate';

/**
 * The restore Job of one WebranaRestore, as a pure function: the database's backup pod (the backup
 * CronJob's template: same image, DATABASE_URL Secret reference, volume mount or bucket variables,
 * hardening) with `webrana-jobs restore` as its command line. Never --force: the restore's own checks
 * (manifest sha256, service identity, a target at a newer migration than the dump) decide.
 */

const BACKUP_MOUNT = '/backups';

/** Deterministic, so a restarted operator (or a new leader) computes the same name and never a second Job. */
export function restoreJobName(restore: string, uid: string): string {
  return boundedName([restore, 'restore', shortHash(uid, 6)], MAX_JOB_NAME);
}

export type DumpSource = 'volume' | 'bucket';

/** Where the dump is read, or why it cannot be. */
export function dumpSource(
  db: NormalizedSpec,
  wanted: DumpSource | undefined,
): { ok: true; source: DumpSource } | { ok: false; message: string } {
  const b = db.backup;
  if (!b) return { ok: false, message: 'the WebranaDatabase has no spec.backup: there are no dumps to restore from' };
  if (wanted === 'volume' && !b.volumeClaimName)
    return { ok: false, message: 'spec.source is volume, but the WebranaDatabase has no spec.backup.volumeClaimName' };
  if (wanted === 'bucket' && !b.s3)
    return { ok: false, message: 'spec.source is bucket, but the WebranaDatabase has no spec.backup.s3' };
  return { ok: true, source: wanted ?? (b.volumeClaimName ? 'volume' : 'bucket') };
}

export function restoreArgs(db: NormalizedSpec, r: NormalizedRestoreSpec, source: DumpSource): string[] {
  const s3 = db.backup?.s3;
  const prefix = (s3?.prefix ?? '').replace(/^\/+|\/+$/g, '');
  const objectUrl = (name: string) => `s3://${s3?.bucket}/${[prefix, r.service, name].filter(Boolean).join('/')}`;
  const from =
    source === 'volume'
      ? r.dump
        ? [`--file=${BACKUP_MOUNT}/${r.service}/${r.dump}`]
        : ['--latest', `--dir=${BACKUP_MOUNT}`]
      : r.dump
        ? [`--file=${objectUrl(r.dump)}`]
        : ['--latest']; // the bucket from BACKUP_S3_URL
  return [
    'restore',
    `--service=${r.service}`,
    ...from,
    ...(r.newDatabase ? [`--into-database=${r.newDatabase}`] : []),
    `--termination-log=${TERMINATION_MESSAGE_PATH}`,
  ];
}

export function restoreJob(
  restore: Owner,
  database: Owner,
  db: NormalizedSpec,
  svc: ServicePlanEntry,
  r: NormalizedRestoreSpec,
  source: DumpSource,
): Job {
  const cronJob = backupCronJob(database, db, svc);
  if (!cronJob) throw new Error('restoreJob: the database has no backup section');
  const template = structuredClone(cronJob.spec.jobTemplate.spec.template);
  const labels = {
    ...(template.metadata?.labels ?? {}),
    [LABELS.component]: 'restore',
    [RESTORE_LABEL]: restore.name,
  };
  const podSpec = template.spec as { containers: Record<string, unknown>[]; volumes?: Record<string, unknown>[] };
  const container = podSpec.containers[0]!;
  container.name = 'restore';
  container.args = restoreArgs(db, r, source);
  if (source === 'bucket') {
    // Read from the bucket only: no volume mounted even when the database has one.
    container.volumeMounts = (container.volumeMounts as { name: string }[]).filter((m) => m.name !== 'backups');
    podSpec.volumes = (podSpec.volumes as { name: string }[]).filter((v) => v.name !== 'backups');
  }
  // A .tar.zst is unpacked under /tmp (about 4x the file): no 64Mi cap there, the node's ephemeral storage.
  podSpec.volumes = (podSpec.volumes ?? []).map((v) => (v.name === 'tmp' ? { name: 'tmp', emptyDir: {} } : v));
  const owner: OwnerReference = {
    apiVersion: API_VERSION,
    kind: RESTORE_KIND,
    name: restore.name,
    uid: restore.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: restoreJobName(restore.name, restore.uid),
      namespace: restore.namespace,
      labels,
      ownerReferences: [owner],
    },
    spec: {
      // A restore is never retried behind anyone's back: a failure is reported, and a new resource retries.
      backoffLimit: 0,
      activeDeadlineSeconds: db.backup?.activeDeadlineSeconds,
      podReplacementPolicy: 'Failed',
      template: { metadata: { labels }, spec: podSpec },
    },
  };
}

import { createHash } from 'node:crypto';

/** Labels on every object the operator creates, and on their pods. */
export const LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
  partOf: 'app.kubernetes.io/part-of',
  database: 'webrana.cloud/database',
  service: 'webrana.cloud/service',
  generation: 'webrana.cloud/generation',
} as const;

export const MANAGED_BY = 'webrana-operator';
/** The selector the operator's Job and CronJob informers use: only what it manages. */
export const MANAGED_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY}`;
/**
 * The pod informer's selector: the pods of the operator's migration, backup and restore drill Jobs
 * (the backup and drill pods for their termination messages: the summaries the status and metrics
 * read), never anyone else's.
 */
export const JOB_POD_SELECTOR = `${MANAGED_SELECTOR},${LABELS.component} in (migration,backup,verify)`;

/** `kubectl annotate wdb NAME webrana.cloud/backup-now=<value>`: one backup Job per service per value. */
export const BACKUP_NOW_ANNOTATION = 'webrana.cloud/backup-now';

/** Annotation on a CronJob: hash of the spec the operator last wrote, so unchanged ones are never re-sent. */
export const SPEC_HASH_ANNOTATION = 'webrana.cloud/spec-hash';

/** verify: the restore drill Jobs (`webrana-jobs backup verify`). */
export type Component = 'migration' | 'backup' | 'verify';

/** Job names become a pod label value (63 characters at most). */
export const MAX_JOB_NAME = 63;
/** The CronJob controller appends 11 characters to a CronJob's name for its Jobs. */
export const MAX_CRONJOB_NAME = 52;

export function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * `parts` joined by "-", or, when longer than `max`, cut and suffixed with a hash of the full name:
 * deterministic, so a restarted operator computes the same names and never creates a duplicate.
 */
export function boundedName(parts: readonly string[], max: number): string {
  const full = parts.join('-');
  if (full.length <= max) return full;
  const hash = shortHash(full);
  const head = full.slice(0, max - hash.length - 1).replace(/[-.]+$/, '');
  return `${head}-${hash}`;
}

/** The migration Job of one service for one spec generation. */
export function migrationJobName(database: string, service: string, generation: number): string {
  return boundedName([database, service, 'migrate', `g${generation}`], MAX_JOB_NAME);
}

/** The post-deploy migration Job of one service for one spec generation (expand/contract's contract step). */
export function postDeployJobName(database: string, service: string, generation: number): string {
  return boundedName([database, service, 'postdeploy', `g${generation}`], MAX_JOB_NAME);
}

/** Label on a post-deploy migration Job and its pod (its component stays `migration`: one runner per database). */
export const PHASE_LABEL = 'webrana.cloud/migration-phase';

/** The backup-now Job of one service for one annotation value: a hash of the value, so a restart never runs it twice. */
export function backupNowJobName(database: string, service: string, value: string): string {
  return boundedName([database, service, 'backup', `now-${shortHash(value, 10)}`], MAX_JOB_NAME);
}

export function backupCronJobName(database: string, service: string): string {
  return boundedName([database, service, 'backup'], MAX_CRONJOB_NAME);
}

/** The restore drill CronJob of one service. */
export function verifyCronJobName(database: string, service: string): string {
  return boundedName([database, service, 'verify'], MAX_CRONJOB_NAME);
}

export function childLabels(
  database: string,
  service: string,
  component: Component,
  generation?: number,
): Record<string, string> {
  return {
    [LABELS.name]: 'webrana-jobs',
    [LABELS.instance]: database,
    [LABELS.component]: component,
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.partOf]: 'webrana',
    [LABELS.database]: database,
    [LABELS.service]: service,
    ...(generation === undefined ? {} : { [LABELS.generation]: String(generation) }),
  };
}

import type { WebranaDatabase } from './api/types';
import { normalizeSpec } from './api/validate';
import { jobFinishedAt, jobOutcome } from './jobs';
import type { Job } from './k8s';
import { LABELS } from './names';

/**
 * The backup and migration metrics, per namespace, database (WebranaDatabase name) and service, as
 * pure functions of what the operator's caches hold: each resource's spec and status (the status
 * keeps the newest successful backup's summary, read from its Job's termination message, so the
 * values survive Job history limits and operator restarts) and the backup Jobs still present.
 */

export const BACKUP_METRICS = {
  lastSuccess: 'webrana_backup_last_success_timestamp_seconds',
  lastSize: 'webrana_backup_last_size_bytes',
  lastDuration: 'webrana_backup_last_duration_seconds',
  failures: 'webrana_backup_failures_total',
  lastFailed: 'webrana_backup_last_failed',
  expectedSince: 'webrana_backup_expected_since_timestamp_seconds',
  lastVerified: 'webrana_backup_last_verified_timestamp_seconds',
  migrationFailed: 'webrana_migration_failed',
} as const;

export const BACKUP_METRIC_HELP: Record<keyof typeof BACKUP_METRICS, string> = {
  lastSuccess:
    'When the newest successful backup of the service finished (Unix seconds); 0 while the service never had one.',
  lastSize: 'Size in bytes of the newest successful backup (from its Job; no sample before the first).',
  lastDuration: 'How long the newest successful backup took, in seconds (from its Job; no sample before the first).',
  failures:
    'Failed backup Jobs seen by this operator process (starts from the failed Jobs still present after a restart).',
  lastFailed:
    '1 while the newest finished backup of the service failed (a failure newer than the last success), else 0; a backup that is running changes nothing.',
  expectedSince:
    'Since when a backup of the service is expected: the WebranaDatabase creation time; no sample while spec.backup is absent or suspended.',
  lastVerified:
    "When the newest restore drill of the service passed (Unix seconds; spec.backup.verify). Before the first pass: the WebranaDatabase's creation time, so a service whose drills never pass is counted from then. No sample without drills or while spec.backup is suspended.",
  migrationFailed: "1 while the service's migration Job of the observed generation is failed, else 0.",
};

export const METRIC_LABELS = ['namespace', 'database', 'service'] as const;
export type MetricLabels = Record<(typeof METRIC_LABELS)[number], string>;

export interface Sample {
  readonly labels: MetricLabels;
  readonly value: number;
}

export type BackupSamples = Record<Exclude<keyof typeof BACKUP_METRICS, 'failures'>, Sample[]>;

const seconds = (t: string | undefined): number => {
  const ms = t ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? 0 : ms / 1000;
};

/**
 * When the newest failed backup of a service finished: the failed backup Jobs present (any kind:
 * scheduled, backup-now, kubectl create job --from) and, for one already deleted, the status's record
 * of the newest Job (0: none known).
 */
function lastFailureSeconds(
  jobs: readonly Job[],
  recorded: { lastResult?: string; lastFinishedAt?: string } | undefined,
) {
  let newest = recorded?.lastResult === 'Failed' ? seconds(recorded.lastFinishedAt) : 0;
  for (const job of jobs) if (jobOutcome(job) === 'Failed') newest = Math.max(newest, seconds(jobFinishedAt(job)));
  return newest;
}

/**
 * The samples one WebranaDatabase contributes (none while its spec is invalid); `jobs` are the
 * backup Jobs of its namespace (others are ignored).
 */
export function databaseSamples(db: WebranaDatabase, jobs: readonly Job[] = []): BackupSamples {
  const out: BackupSamples = {
    lastSuccess: [],
    lastSize: [],
    lastDuration: [],
    lastFailed: [],
    expectedSince: [],
    lastVerified: [],
    migrationFailed: [],
  };
  const spec = normalizeSpec(db.spec);
  if (!spec.ok) return out;
  const namespace = db.metadata.namespace ?? '';
  const database = db.metadata.name ?? '';
  const statuses = new Map((db.status?.services ?? []).map((s) => [s.name, s]));
  const current = db.status?.observedGeneration === db.metadata.generation;
  for (const svc of spec.spec.services) {
    const labels: MetricLabels = { namespace, database, service: svc.name };
    const status = statuses.get(svc.name);
    if (status && current) out.migrationFailed.push({ labels, value: status.phase === 'Failed' ? 1 : 0 });
    const backup = spec.spec.backup;
    if (!backup) continue;
    const b = status?.backup;
    const last = Math.max(seconds(b?.lastSuccess?.finishedAt), seconds(b?.lastSuccessfulTime));
    out.lastSuccess.push({ labels, value: last });
    if (b?.lastSuccess?.bytes !== undefined) out.lastSize.push({ labels, value: b.lastSuccess.bytes });
    if (b?.lastSuccess?.durationSeconds !== undefined) {
      out.lastDuration.push({ labels, value: b.lastSuccess.durationSeconds });
    }
    const own = jobs.filter((j) => {
      const l = j.metadata.labels ?? {};
      return (
        j.metadata.namespace === namespace &&
        l[LABELS.component] === 'backup' &&
        l[LABELS.database] === database &&
        l[LABELS.service] === svc.name
      );
    });
    // A failure newer than the newest success; a running backup neither sets nor clears it.
    out.lastFailed.push({ labels, value: lastFailureSeconds(own, b) > last ? 1 : 0 });
    if (!backup.suspend) out.expectedSince.push({ labels, value: seconds(db.metadata.creationTimestamp) });
    // Advanced only by a passing drill (its Job's report, kept in the status).
    if (backup.verify && !backup.suspend) {
      const verifiedAt = b?.verify?.lastPass?.verifiedAt ?? db.metadata.creationTimestamp;
      out.lastVerified.push({ labels, value: seconds(verifiedAt) });
    }
  }
  return out;
}

const key = (l: MetricLabels) => `${l.namespace}/${l.database}/${l.service}`;

/**
 * webrana_backup_failures_total: the failed backup Jobs this process has seen, per service (a Job is
 * counted once, by uid, and stays counted after it is deleted, so the counter never goes down while
 * the process lives). After a restart it starts again from the failed Jobs still present, which
 * Prometheus reads as a counter reset (rate and increase handle it).
 */
export class BackupFailureCounter {
  private readonly seen = new Map<string, { labels: MetricLabels; uids: Set<string> }>();

  /** Counts the failed backup Jobs among `jobs`; every service in `expected` gets a series, at 0 if need be. */
  observe(jobs: readonly Job[], expected: readonly MetricLabels[]): Sample[] {
    const live = new Set(expected.map(key));
    for (const labels of expected) {
      if (!this.seen.has(key(labels))) this.seen.set(key(labels), { labels, uids: new Set() });
    }
    for (const job of jobs) {
      const l = job.metadata.labels ?? {};
      if (l[LABELS.component] !== 'backup' || jobOutcome(job) !== 'Failed' || !job.metadata.uid) continue;
      const labels = {
        namespace: job.metadata.namespace ?? '',
        database: l[LABELS.database] ?? '',
        service: l[LABELS.service] ?? '',
      };
      if (!live.has(key(labels))) continue;
      this.seen.get(key(labels))?.uids.add(job.metadata.uid);
    }
    // A service or resource that is gone takes its series along.
    for (const k of [...this.seen.keys()]) if (!live.has(k)) this.seen.delete(k);
    return [...this.seen.values()].map(({ labels, uids }) => ({ labels, value: uids.size }));
  }
}

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WebranaDatabase } from '../api/types';
import {
  BACKUP_METRICS,
  BACKUP_METRIC_HELP,
  BackupFailureCounter,
  METRIC_LABELS,
  databaseSamples,
  type BackupSamples,
  type MetricLabels,
} from '../backup-metrics';
import type { Job } from '../k8s';

/** The operator's Prometheus metrics, in a registry of its own (no global state). */
export interface OperatorMetrics {
  readonly registry: Registry;
  readonly reconciles: Counter<'result'>;
  readonly reconcileErrors: Counter;
  readonly reconcileDuration: Histogram;
  readonly queueDepth: Gauge;
  readonly queueAdds: Counter;
  readonly apiRequests: Counter<'verb' | 'resource' | 'code'>;
  readonly apiDuration: Histogram<'verb'>;
  readonly statusWrites: Counter<'result'>;
  readonly jobsCreated: Counter;
  readonly leader: Gauge;
}

/** What the backup metrics are computed from at each scrape: the leader's caches (empty on a standby). */
export interface BackupSource {
  databases(): readonly WebranaDatabase[];
  jobs(): readonly Job[];
}

/**
 * The per-service backup and migration metrics (backup-metrics.ts), computed at scrape time from the
 * caches: level-triggered like the reconciler, so a restarted operator exports the same values as
 * soon as its caches have listed. Only the leader has caches: a standby exports no such samples.
 */
function registerBackupMetrics(registry: Registry, source: BackupSource): void {
  const failures = new BackupFailureCounter();
  const all = (): BackupSamples[] => {
    const jobs = source.jobs();
    return source.databases().map((db) => databaseSamples(db, jobs));
  };
  const gauge = (field: keyof BackupSamples) =>
    new Gauge({
      name: BACKUP_METRICS[field],
      help: BACKUP_METRIC_HELP[field],
      labelNames: METRIC_LABELS,
      registers: [registry],
      collect() {
        this.reset();
        for (const db of all()) for (const s of db[field]) this.set(s.labels, s.value);
      },
    });
  for (const field of [
    'lastSuccess',
    'lastSize',
    'lastDuration',
    'lastFailed',
    'expectedSince',
    'lastVerified',
    'migrationFailed',
  ] as const) {
    gauge(field);
  }
  new Counter({
    name: BACKUP_METRICS.failures,
    help: BACKUP_METRIC_HELP.failures,
    labelNames: METRIC_LABELS,
    registers: [registry],
    collect() {
      const expected: MetricLabels[] = all().flatMap((db) => db.lastSuccess.map((s) => s.labels));
      this.reset();
      for (const s of failures.observe(source.jobs(), expected)) this.inc(s.labels, s.value);
    },
  });
}

export function createMetrics(
  queueDepth: () => number,
  opts: { defaultMetrics?: boolean; backups?: BackupSource } = {},
): OperatorMetrics {
  const registry = new Registry();
  const prefix = 'webrana_operator_';
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  if (opts.backups) registerBackupMetrics(registry, opts.backups);
  return {
    registry,
    reconciles: new Counter({
      name: `${prefix}reconcile_total`,
      help: 'Reconciles of WebranaDatabase resources, by result (success, error).',
      labelNames: ['result'],
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: `${prefix}reconcile_errors_total`,
      help: 'Reconciles that failed and were re-queued with backoff.',
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: `${prefix}reconcile_duration_seconds`,
      help: 'Time one reconcile took.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: `${prefix}workqueue_depth`,
      help: 'Keys waiting in the work queue.',
      registers: [registry],
      collect() {
        this.set(queueDepth());
      },
    }),
    queueAdds: new Counter({
      name: `${prefix}workqueue_adds_total`,
      help: 'Keys added to the work queue (before de-duplication).',
      registers: [registry],
    }),
    apiRequests: new Counter({
      name: `${prefix}api_requests_total`,
      help: 'Requests to the Kubernetes API, by verb, resource and HTTP code (0: no response).',
      labelNames: ['verb', 'resource', 'code'],
      registers: [registry],
    }),
    apiDuration: new Histogram({
      name: `${prefix}api_request_duration_seconds`,
      help: 'Kubernetes API request latency (watches excluded).',
      labelNames: ['verb'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    statusWrites: new Counter({
      name: `${prefix}status_updates_total`,
      help: 'Status computations, by result: written (changed), unchanged (no request sent) or conflict (refused: stale resourceVersion).',
      labelNames: ['result'],
      registers: [registry],
    }),
    jobsCreated: new Counter({
      name: `${prefix}migration_jobs_created_total`,
      help: 'Migration Jobs created.',
      registers: [registry],
    }),
    leader: new Gauge({
      name: `${prefix}leader`,
      help: '1 while this replica holds the leader Lease.',
      registers: [registry],
    }),
  };
}

import { FOUR_SERVICES } from '../test/fake-cluster';
import type { WebranaDatabase } from './api/types';
import { BackupFailureCounter, databaseSamples } from './backup-metrics';
import type { Job } from './k8s';
import { createMetrics } from './runtime/metrics';

function db(status: WebranaDatabase['status'], suspend = false): WebranaDatabase {
  const spec = structuredClone(FOUR_SERVICES);
  spec.backup!.suspend = suspend;
  return {
    metadata: { name: 'webrana', namespace: 'ns', generation: 1, creationTimestamp: '2026-03-01T00:00:00Z' },
    spec,
    status,
  };
}

const labels = (service: string) => ({ namespace: 'ns', database: 'webrana', service });

const STATUS: WebranaDatabase['status'] = {
  observedGeneration: 1,
  services: [
    {
      name: 'auth-service',
      phase: 'Succeeded',
      backup: {
        cronJob: 'webrana-auth-service-backup',
        lastResult: 'Succeeded',
        lastSuccess: { job: 'j1', finishedAt: '2026-03-02T00:00:00Z', bytes: 1000, durationSeconds: 2.5 },
      },
    },
    {
      name: 'order-service',
      phase: 'Failed',
      backup: {
        cronJob: 'webrana-order-service-backup',
        lastResult: 'Failed',
        lastJob: 'j2',
        lastFinishedAt: '2026-03-02T01:00:00Z',
      },
    },
  ],
};

test('each service with a backup section gets last success (0 when it never had one), last failed and expected-since; size and duration only after a success', () => {
  const s = databaseSamples(db(STATUS));
  const value = (list: { labels: { service: string }; value: number }[], service: string) =>
    list.find((x) => x.labels.service === service)?.value;
  expect(s.lastSuccess).toHaveLength(4);
  expect(value(s.lastSuccess, 'auth-service')).toBe(Date.parse('2026-03-02T00:00:00Z') / 1000);
  expect(value(s.lastSuccess, 'catalog-service')).toBe(0);
  expect(s.lastSize).toEqual([{ labels: labels('auth-service'), value: 1000 }]);
  expect(s.lastDuration).toEqual([{ labels: labels('auth-service'), value: 2.5 }]);
  expect(value(s.lastFailed, 'order-service')).toBe(1);
  expect(value(s.lastFailed, 'auth-service')).toBe(0);
  expect(value(s.expectedSince, 'billing-service')).toBe(Date.parse('2026-03-01T00:00:00Z') / 1000);
});

test('last failed stays 1 while a later backup runs, and goes back to 0 only when one succeeds after the failure', () => {
  const failed = failedJob('f', 'auth-service');
  failed.status!.conditions![0]!.lastTransitionTime = '2026-03-03T00:00:00Z';
  const running: WebranaDatabase['status'] = structuredClone(STATUS);
  running.services![0]!.backup!.lastResult = 'Running';
  const auth = (d: WebranaDatabase, jobs: Job[]) =>
    databaseSamples(d, jobs).lastFailed.find((x) => x.labels.service === 'auth-service')?.value;
  expect(auth(db(running), [failed])).toBe(1);
  // The success recorded after the failure clears it.
  running.services![0]!.backup!.lastSuccess!.finishedAt = '2026-03-03T00:00:05Z';
  expect(auth(db(running), [failed])).toBe(0);
  // A failure older than the newest success never counts; a deleted failed Job counts from the status.
  expect(auth(db(STATUS), [failed])).toBe(1);
  const recorded = structuredClone(STATUS);
  recorded.services![0]!.backup = {
    ...recorded.services![0]!.backup!,
    lastResult: 'Failed',
    lastFinishedAt: '2026-03-04T00:00:00Z',
  };
  expect(auth(db(recorded), [])).toBe(1);
  // Jobs of another namespace or database are not this one's.
  const foreign = structuredClone(failed);
  foreign.metadata.namespace = 'other';
  expect(auth(db(STATUS), [foreign])).toBe(0);
});

test('webrana_migration_failed is 1 for a failed migration of the observed generation, 0 for the others in the status', () => {
  const s = databaseSamples(db(STATUS));
  expect(s.migrationFailed).toEqual([
    { labels: labels('auth-service'), value: 0 },
    { labels: labels('order-service'), value: 1 },
  ]);
  expect(databaseSamples(db({ ...STATUS, observedGeneration: 0 })).migrationFailed).toEqual([]);
});

test('while spec.backup.suspend is set, no expected-since sample (WebranaBackupMissing stays quiet); an invalid spec exports nothing', () => {
  expect(databaseSamples(db(STATUS, true)).expectedSince).toEqual([]);
  const invalid = db(STATUS);
  invalid.spec.services = [];
  expect(Object.values(databaseSamples(invalid)).flat()).toEqual([]);
});

const failedJob = (name: string, service: string): Job => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: {
    name,
    namespace: 'ns',
    uid: `uid-${name}`,
    labels: {
      'app.kubernetes.io/component': 'backup',
      'webrana.cloud/database': 'webrana',
      'webrana.cloud/service': service,
    },
  },
  spec: { template: { spec: {} } },
  status: { conditions: [{ type: 'Failed', status: 'True' }] },
});

test('the failures counter counts each failed backup Job once and never goes down when Jobs are deleted', () => {
  const c = new BackupFailureCounter();
  const expected = [labels('auth-service'), labels('order-service')];
  expect(c.observe([], expected).map((s) => s.value)).toEqual([0, 0]);
  const a = failedJob('a', 'order-service');
  const b = failedJob('b', 'order-service');
  expect(c.observe([a], expected).find((s) => s.labels.service === 'order-service')?.value).toBe(1);
  expect(c.observe([a, b], expected).find((s) => s.labels.service === 'order-service')?.value).toBe(2);
  expect(c.observe([], expected).find((s) => s.labels.service === 'order-service')?.value).toBe(2);
  // The service left the spec: its series goes.
  expect(c.observe([], [labels('auth-service')])).toHaveLength(1);
});

test('/metrics text has every backup metric with namespace, database and service labels; last verified is declared without samples', async () => {
  const m = createMetrics(() => 0, {
    defaultMetrics: false,
    backups: { databases: () => [db(STATUS)], jobs: () => [failedJob('f', 'order-service')] },
  });
  const text = await m.registry.metrics();
  expect(text).toContain(
    'webrana_backup_last_success_timestamp_seconds{namespace="ns",database="webrana",service="auth-service"} 1772409600',
  );
  expect(text).toContain(
    'webrana_backup_last_size_bytes{namespace="ns",database="webrana",service="auth-service"} 1000',
  );
  expect(text).toContain(
    'webrana_backup_last_duration_seconds{namespace="ns",database="webrana",service="auth-service"} 2.5',
  );
  expect(text).toContain('webrana_backup_failures_total{namespace="ns",database="webrana",service="order-service"} 1');
  expect(text).toContain('webrana_backup_failures_total{namespace="ns",database="webrana",service="auth-service"} 0');
  expect(text).toContain('webrana_backup_last_failed{namespace="ns",database="webrana",service="order-service"} 1');
  expect(text).toContain('webrana_migration_failed{namespace="ns",database="webrana",service="order-service"} 1');
  expect(text).toContain('# TYPE webrana_backup_last_verified_timestamp_seconds gauge');
  expect(text).not.toMatch(/^webrana_backup_last_verified_timestamp_seconds\{/m);
});

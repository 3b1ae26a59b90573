import { createLogger } from '@webrana/logger';
import { FakeCluster, FOUR_SERVICES } from '../test/fake-cluster';
import type { WebranaDatabaseSpec } from './api/types';
import { conditionOf } from './status';
import { Reconciler } from './reconcile';

const log = createLogger({ name: 'test', level: 'silent' });
const KEY = 'ns/webrana';
const job = (service: string, gen = 1) => `webrana-${service}-migrate-g${gen}`;

const viewOf = (cluster: FakeCluster) => ({
  getDatabase: (n: string, d: string) => cluster.getDatabase(n, d),
  jobs: (n: string, d: string) => cluster.jobs(n, d),
  cronJobs: (n: string, d: string) => cluster.cronJobs(n, d),
  migrationJobStates: () => cluster.migrationJobStates(),
});

function setup(spec: WebranaDatabaseSpec = FOUR_SERVICES) {
  const cluster = new FakeCluster();
  cluster.addDatabase('webrana', structuredClone(spec));
  const reconciler = new Reconciler({ view: cluster, writer: cluster, log, instance: 'test-0', now: cluster.now });
  return { cluster, reconciler, reconcile: () => reconciler.reconcile(KEY) };
}

describe('reconcile: migration order', () => {
  test('auth and catalog start together; order only after both succeed; billing after order', async () => {
    const { cluster, reconcile } = setup();
    await reconcile();
    expect(cluster.jobNames()).toEqual([job('auth-service'), job('catalog-service')]);
    expect(cluster.status(KEY)?.phase).toBe('Migrating');
    expect(conditionOf(cluster.status(KEY), 'Progressing')?.status).toBe('True');

    cluster.finishJob(job('auth-service'), 'Complete');
    await reconcile();
    expect(cluster.jobNames()).toEqual([job('auth-service'), job('catalog-service')]);

    cluster.finishJob(job('catalog-service'), 'Complete');
    await reconcile();
    expect(cluster.jobNames()).toContain(job('order-service'));
    expect(cluster.jobNames()).not.toContain(job('billing-service'));

    cluster.finishJob(job('order-service'), 'Complete');
    await reconcile();
    expect(cluster.jobNames()).toContain(job('billing-service'));

    cluster.finishJob(job('billing-service'), 'Complete');
    await reconcile();
    const status = cluster.status(KEY);
    expect(status?.phase).toBe('Ready');
    expect(status?.progress).toBe('4/4');
    expect(conditionOf(status, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'MigrationsApplied',
      observedGeneration: 1,
    });
    expect(conditionOf(status, 'Progressing')?.status).toBe('False');
    expect(conditionOf(status, 'Degraded')?.status).toBe('False');
    expect(status?.services?.map((s) => [s.name, s.phase])).toEqual([
      ['auth-service', 'Succeeded'],
      ['catalog-service', 'Succeeded'],
      ['order-service', 'Succeeded'],
      ['billing-service', 'Succeeded'],
    ]);
    expect(cluster.eventReasons().filter((r) => r === 'MigrationStarted')).toHaveLength(4);
    expect(cluster.eventReasons().filter((r) => r === 'MigrationSucceeded')).toHaveLength(4);
    expect(cluster.eventReasons()).toContain('Ready');
  });

  test('a reconcile over unchanged observations writes nothing at all', async () => {
    const { cluster, reconcile } = setup();
    await reconcile();
    cluster.writes.length = 0;
    const events = cluster.events.length;
    const result = await reconcile();
    expect(result.statusWritten).toBe(false);
    expect(cluster.writes).toEqual([]);
    expect(cluster.events).toHaveLength(events);
  });

  test('a restarted operator (new reconciler, same cluster) creates no duplicate Jobs and resumes', async () => {
    const { cluster, reconcile } = setup();
    await reconcile();
    cluster.finishJob(job('auth-service'), 'Complete');
    cluster.finishJob(job('catalog-service'), 'Complete');
    cluster.writes.length = 0;
    const restarted = new Reconciler({ view: cluster, writer: cluster, log, instance: 'test-1', now: cluster.now });
    await restarted.reconcile(KEY);
    expect(cluster.writes.filter((w) => w.startsWith('create Job'))).toEqual([`create Job ${job('order-service')}`]);
    await restarted.reconcile(KEY);
    expect(cluster.writes.filter((w) => w.startsWith('create Job'))).toHaveLength(1);
  });

  test('a Job the cache does not show yet is not created a second time', async () => {
    const { cluster, reconciler } = setup();
    // A view whose Job cache lags behind: it never shows any Job.
    const lagging = new Reconciler({
      view: {
        getDatabase: (n, d) => cluster.getDatabase(n, d),
        jobs: () => [],
        migrationJobStates: () => new Map(),
        cronJobs: (n, d) => cluster.cronJobs(n, d),
      },
      writer: cluster,
      log,
      instance: 'lag',
      now: cluster.now,
    });
    await lagging.reconcile(KEY);
    await lagging.reconcile(KEY);
    expect(cluster.writes.filter((w) => w.startsWith('create Job'))).toHaveLength(2); // auth + catalog, once each
    expect(reconciler).toBeDefined();
  });
});

describe('reconcile: failures', () => {
  const sqlError =
    '{"level":30,"msg":"applying 20250101000000_init"}\n' +
    'webrana-jobs: migration 20250101000000_init failed: relation "plans" already exists (42P07)';

  test('a failed catalog migration blocks order and billing, and Degraded carries the SQL error', async () => {
    const { cluster, reconcile } = setup();
    await reconcile();
    cluster.finishJob(job('auth-service'), 'Complete');
    cluster.finishJob(job('catalog-service'), 'Failed', sqlError);
    await reconcile();
    await reconcile();
    expect(cluster.jobNames()).toEqual([job('auth-service'), job('catalog-service')]);
    const status = cluster.status(KEY);
    expect(status?.phase).toBe('Degraded');
    const degraded = conditionOf(status, 'Degraded');
    expect(degraded?.status).toBe('True');
    expect(degraded?.reason).toBe('MigrationFailed');
    expect(degraded?.message).toContain('relation "plans" already exists');
    expect(degraded?.message).toContain('order-service, billing-service');
    expect(conditionOf(status, 'Ready')?.status).toBe('False');
    expect(conditionOf(status, 'Progressing')?.status).toBe('False');
    expect(status?.services?.find((s) => s.name === 'order-service')?.phase).toBe('Blocked');
    expect(status?.services?.find((s) => s.name === 'billing-service')?.phase).toBe('Blocked');
    expect(cluster.eventReasons()).toContain('MigrationFailed');
  });

  test('the failed pod is read once: later reconciles reuse the message in the status', async () => {
    const { cluster, reconcile } = setup();
    await reconcile();
    cluster.finishJob(job('catalog-service'), 'Failed', sqlError);
    await reconcile();
    const listPods = jest.spyOn(cluster, 'listPods');
    cluster.finishJob(job('auth-service'), 'Complete');
    await reconcile();
    await reconcile();
    expect(listPods).not.toHaveBeenCalled();
  });

  test('fixing the spec starts a new generation that re-runs every service and reaches Ready', async () => {
    const { cluster, reconcile } = setup();
    await reconcile();
    cluster.finishJob(job('auth-service'), 'Complete');
    cluster.finishJob(job('catalog-service'), 'Failed', sqlError);
    await reconcile();
    const fixed = structuredClone(FOUR_SERVICES);
    fixed.services[1]!.databaseUrlSecretRef.name = 'catalog-db-fixed';
    cluster.updateSpec(KEY, fixed);
    await reconcile();
    expect(cluster.jobNames()).toEqual(
      [job('auth-service'), job('catalog-service'), job('auth-service', 2), job('catalog-service', 2)].sort(),
    );
    for (const s of ['auth-service', 'catalog-service', 'order-service', 'billing-service']) {
      await reconcile();
      cluster.finishJob(job(s, 2), 'Complete');
    }
    await reconcile();
    expect(cluster.status(KEY)?.phase).toBe('Ready');
    expect(conditionOf(cluster.status(KEY), 'Ready')?.observedGeneration).toBe(2);
    // The older generation's Jobs are cleaned up once the new one succeeded.
    expect(cluster.jobNames().every((n) => n.endsWith('-g2'))).toBe(true);
  });

  test('a new generation waits for a still-running Job of the older one', async () => {
    const { cluster, reconcile } = setup();
    await reconcile();
    cluster.startJob(job('auth-service'));
    cluster.updateSpec(KEY, { ...structuredClone(FOUR_SERVICES), image: 'registry.example/webrana/jobs:1.5.0' });
    await reconcile();
    expect(cluster.jobNames()).not.toContain(job('auth-service', 2));
    expect(cluster.jobNames()).not.toContain(job('catalog-service', 2));
    expect(cluster.status(KEY)?.services?.[0]?.message).toMatch(/waiting for webrana-auth-service-migrate-g1/);
    cluster.finishJob(job('auth-service'), 'Complete');
    cluster.finishJob(job('catalog-service'), 'Complete');
    await reconcile();
    expect(cluster.jobNames()).toContain(job('auth-service', 2));
  });
});

describe('reconcile: a limit on running migration Jobs', () => {
  test('never more than the limit across resources; the rest wait for a slot and start when one frees', async () => {
    const cluster = new FakeCluster();
    cluster.addDatabase('one', structuredClone(FOUR_SERVICES));
    cluster.addDatabase('two', structuredClone(FOUR_SERVICES));
    const reconciler = new Reconciler({
      view: cluster,
      writer: cluster,
      log,
      instance: 't',
      now: cluster.now,
      maxActiveMigrations: 3,
    });
    const [a, b] = await Promise.all([reconciler.reconcile('ns/one'), reconciler.reconcile('ns/two')]);
    expect(cluster.jobNames()).toHaveLength(3);
    const waiting = [a, b].find((r) => r.requeueAfterMs !== undefined);
    expect(waiting?.requeueAfterMs).toBe(10_000);
    expect([...reconciler.slotWaiters]).toEqual(['ns/two']);
    expect(reconciler.takeSlotWaiters(2)).toEqual(['ns/two']);
    const two = cluster.status('ns/two')?.services?.find((s) => s.phase === 'Waiting' && s.name === 'catalog-service');
    expect(two?.message).toBe('waiting for a free migration slot (at most 3 migration Jobs run at once)');

    cluster.finishJob('one-auth-service-migrate-g1', 'Complete');
    await reconciler.reconcile('ns/two');
    expect(cluster.jobNames()).toContain('two-catalog-service-migrate-g1');
    expect(cluster.jobNames()).toHaveLength(4);
    expect(reconciler.slotWaiters.size).toBe(0);
  });
});

describe('reconcile: invalid specs', () => {
  test('a dependency cycle yields InvalidSpec naming the cycle, and no Jobs or CronJobs', async () => {
    const spec: WebranaDatabaseSpec = {
      image: 'x',
      services: [
        { name: 'a', databaseUrlSecretRef: { name: 's', key: 'url' }, dependsOn: ['c'] },
        { name: 'b', databaseUrlSecretRef: { name: 's', key: 'url' }, dependsOn: ['a'] },
        { name: 'c', databaseUrlSecretRef: { name: 's', key: 'url' }, dependsOn: ['b'] },
      ],
      backup: { schedule: '@daily', volumeClaimName: 'v' },
    };
    const { cluster, reconcile } = setup(spec);
    await reconcile();
    expect(cluster.jobNames()).toEqual([]);
    expect(cluster.cronJobMap.size).toBe(0);
    const status = cluster.status(KEY);
    expect(status?.phase).toBe('InvalidSpec');
    expect(conditionOf(status, 'InvalidSpec')).toMatchObject({
      status: 'True',
      reason: 'DependencyCycle',
      message: 'dependency cycle: a -> c -> b -> a',
    });
    expect(conditionOf(status, 'Ready')?.status).toBe('False');
    expect(cluster.eventReasons()).toEqual(['InvalidSpec']);
  });
});

describe('reconcile: unknown services', () => {
  test('a service name the registry does not know is InvalidSpec naming the known ones, and no Job is created', async () => {
    const spec = structuredClone(FOUR_SERVICES);
    spec.services.push({ name: 'audit-service', databaseUrlSecretRef: { name: 'audit-db', key: 'url' } });
    const { cluster, reconcile } = setup(spec);
    await reconcile();
    expect(cluster.jobNames()).toEqual([]);
    expect(cluster.cronJobMap.size).toBe(0);
    const status = cluster.status(KEY);
    expect(status?.phase).toBe('InvalidSpec');
    expect(conditionOf(status, 'InvalidSpec')).toMatchObject({
      status: 'True',
      reason: 'UnknownService',
      message:
        'spec.services: "audit-service" is not a known service; known services: ' +
        'auth-service, billing-service, catalog-service, order-service',
    });
  });
});

describe('reconcile: status written with optimistic concurrency', () => {
  test('a reconcile over a stale resourceVersion (a demoted leader) is refused, overwrites nothing, and the next one rewrites from fresh state', async () => {
    const { cluster, reconciler, reconcile } = setup();
    const stale = cluster.getDatabase('ns', 'webrana')!;
    // The new leader moves on: auth's Job was created and its status written.
    await reconcile();
    const leaderStatus = structuredClone(cluster.status(KEY));
    expect(leaderStatus?.phase).toBe('Migrating');
    // A demoted leader whose cache still shows the resource before that write.
    const demoted = new Reconciler({
      view: { ...viewOf(cluster), getDatabase: () => structuredClone(stale) },
      writer: cluster,
      log,
      instance: 'demoted',
      now: cluster.now,
    });
    cluster.finishJob(job('auth-service'), 'Failed', 'webrana-jobs: boom');
    const events = cluster.events.length;
    const refused = await demoted.reconcile(KEY);
    expect(refused).toMatchObject({ statusWritten: false, conflict: true });
    expect(cluster.status(KEY)).toEqual(leaderStatus);
    expect(cluster.events).toHaveLength(events); // no Event for a transition that was not stored
    // Requeued, it reads the fresh resource and writes over the current resourceVersion.
    const again = await reconciler.reconcile(KEY);
    expect(again.statusWritten).toBe(true);
    expect(again.conflict).toBeUndefined();
    expect(cluster.status(KEY)?.phase).toBe('Degraded');
  });
});

describe('reconcile: backup CronJobs', () => {
  test('one CronJob per service, created once, updated when the spec changes, deleted with its service', async () => {
    const { cluster, reconcile } = setup();
    await reconcile();
    expect([...cluster.cronJobMap.values()].map((c) => c.metadata.name).sort()).toEqual([
      'webrana-auth-service-backup',
      'webrana-billing-service-backup',
      'webrana-catalog-service-backup',
      'webrana-order-service-backup',
    ]);
    cluster.writes.length = 0;
    await reconcile();
    expect(cluster.writes.filter((w) => w.includes('CronJob'))).toEqual([]);

    const changed = structuredClone(FOUR_SERVICES);
    changed.backup!.schedule = '30 3 * * *';
    changed.services = changed.services.filter((s) => s.name !== 'billing-service');
    cluster.updateSpec(KEY, changed);
    await reconcile();
    expect(cluster.writes.filter((w) => w.includes('CronJob')).sort()).toEqual([
      'apply CronJob webrana-auth-service-backup',
      'apply CronJob webrana-catalog-service-backup',
      'apply CronJob webrana-order-service-backup',
      'delete CronJob webrana-billing-service-backup',
    ]);
    expect([...cluster.cronJobMap.values()].every((c) => c.spec.schedule === '30 3 * * *')).toBe(true);
  });

  test('a hand edit of a CronJob field the operator owns is put back', async () => {
    const { cluster, reconcile } = setup();
    await reconcile();
    const cj = cluster.cronJobMap.get('ns/webrana-auth-service-backup')!;
    cj.spec.concurrencyPolicy = 'Allow';
    cj.metadata.resourceVersion = '999';
    cluster.writes.length = 0;
    await reconcile();
    expect(cluster.writes).toContain('apply CronJob webrana-auth-service-backup');
    expect(cluster.cronJobMap.get('ns/webrana-auth-service-backup')?.spec.concurrencyPolicy).toBe('Forbid');
  });

  test('the last backup time and result reach the status; a failed backup sets Degraded=BackupFailed', async () => {
    const { cluster, reconcile } = setup();
    await reconcile();
    const cj = cluster.cronJobMap.get('ns/webrana-order-service-backup')!;
    cj.status = { lastScheduleTime: '2026-03-01T02:00:00Z' };
    await cluster.createJob({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: 'webrana-order-service-backup-29012345',
        namespace: 'ns',
        labels: cj.spec.jobTemplate.metadata!.labels!,
      },
      spec: cj.spec.jobTemplate.spec,
    });
    cluster.finishJob(
      'webrana-order-service-backup-29012345',
      'Failed',
      'webrana-jobs: pg_dump: error: connection refused',
    );
    await reconcile();
    const order = cluster.status(KEY)?.services?.find((s) => s.name === 'order-service');
    expect(order?.backup).toMatchObject({
      cronJob: 'webrana-order-service-backup',
      lastScheduleTime: '2026-03-01T02:00:00Z',
      lastJob: 'webrana-order-service-backup-29012345',
      lastResult: 'Failed',
    });
    expect(order?.backup?.lastMessage).toContain('connection refused');
    expect(conditionOf(cluster.status(KEY), 'Degraded')).toMatchObject({ status: 'True', reason: 'BackupFailed' });
    expect(cluster.eventReasons()).toContain('BackupFailed');
  });
});

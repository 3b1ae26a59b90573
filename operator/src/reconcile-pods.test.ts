import { createLogger } from '@webrana/logger';
import { FakeCluster, FOUR_SERVICES } from '../test/fake-cluster';
import type { WebranaDatabaseSpec } from './api/types';
import { Reconciler } from './reconcile';

// The pod-succeeded path: a migration Job (backoffLimit 0) counts as done once its one pod succeeded,
// before the Job controller writes Complete. The races that brings, against the in-memory cluster.
const log = createLogger({ name: 'test', level: 'silent' });
const KEY = 'ns/webrana';
const job = (service: string, gen = 1) => `webrana-${service}-migrate-g${gen}`;
const NO_RETRY: WebranaDatabaseSpec = { ...FOUR_SERVICES, migration: { backoffLimit: 0, activeDeadlineSeconds: 600 } };

function setup(spec: WebranaDatabaseSpec = NO_RETRY) {
  const cluster = new FakeCluster();
  cluster.addDatabase('webrana', structuredClone(spec));
  const reconciler = new Reconciler({ view: cluster, writer: cluster, log, instance: 'test-0', now: cluster.now });
  const phases = () => Object.fromEntries((cluster.status(KEY)?.services ?? []).map((s) => [s.name, s.phase]));
  const creates = () => cluster.writes.filter((w) => w.startsWith('create Job'));
  return { cluster, reconciler, reconcile: () => reconciler.reconcile(KEY), phases, creates };
}

describe('reconcile: a succeeded pod moves the next wave on before the Job is Complete', () => {
  test('order starts once the auth and catalog pods succeeded, with neither Job Complete; the Jobs completing later writes nothing', async () => {
    const { cluster, reconcile, phases } = setup();
    await reconcile();
    cluster.runPod(job('auth-service'), 'Succeeded');
    await reconcile();
    expect(cluster.jobNames()).not.toContain(job('order-service'));
    expect(phases()['auth-service']).toBe('Succeeded');
    cluster.runPod(job('catalog-service'), 'Succeeded');
    await reconcile();
    expect(cluster.jobNames()).toContain(job('order-service'));
    expect(cluster.status(KEY)?.progress).toBe('2/4');

    // The Job controller catches up: same result, nothing to write.
    cluster.finishJob(job('auth-service'), 'Complete');
    cluster.finishJob(job('catalog-service'), 'Complete');
    cluster.writes.length = 0;
    const result = await reconcile();
    expect(result.statusWritten).toBe(false);
    expect(cluster.writes).toEqual([]);

    cluster.runPod(job('order-service'), 'Succeeded');
    await reconcile();
    cluster.runPod(job('billing-service'), 'Succeeded');
    await reconcile();
    expect(cluster.status(KEY)?.phase).toBe('Ready');
    expect(cluster.eventReasons().filter((r) => r === 'MigrationSucceeded')).toHaveLength(4);
    expect(cluster.jobNames()).toHaveLength(4);
  });

  test('a pod deleted after it succeeded (Job not yet Complete): the success stays, no Job is created again, the dependent runs', async () => {
    const { cluster, reconcile, phases, creates } = setup();
    await reconcile();
    const authPod = cluster.runPod(job('auth-service'), 'Succeeded');
    cluster.runPod(job('catalog-service'), 'Succeeded');
    await reconcile();
    expect(cluster.jobNames()).toContain(job('order-service'));
    cluster.deletePod(authPod);
    await reconcile();
    await reconcile();
    expect(phases()['auth-service']).toBe('Succeeded');
    expect(phases()['order-service']).toBe('Running');
    expect(creates().filter((w) => w.includes('auth-service'))).toHaveLength(1);
    expect(creates().filter((w) => w.includes('order-service'))).toHaveLength(1);
  });

  test("a Job deleted and recreated under the same name before success: the old Job's succeeded pod does not count", async () => {
    const { cluster, reconcile, phases } = setup();
    await reconcile();
    cluster.runPod(job('catalog-service'), 'Succeeded');
    cluster.runPod(job('auth-service'), 'Running');
    await reconcile();
    // auth's Job is replaced (deleted and created again with the same name); its old pod lingers in
    // the cache (the garbage collector has not removed it yet) and then succeeds.
    cluster.recreateJob(job('auth-service'));
    cluster.runPod(job('auth-service'), 'Succeeded', `${job('auth-service')}-abcde`);
    // runPod kept the old pod's owner (it existed): it belongs to the old Job's uid.
    expect(
      cluster.migrationPods('ns', 'webrana').find((p) => p.metadata.name.startsWith(job('auth-service')))?.metadata
        .ownerReferences?.[0]?.uid,
    ).toBe(`uid-${job('auth-service')}`);
    await reconcile();
    expect(phases()['auth-service']).toBe('Running');
    expect(cluster.jobNames()).not.toContain(job('order-service'));
    // The new Job's own pod succeeds: now order starts, once.
    cluster.runPod(job('auth-service'), 'Succeeded', `${job('auth-service')}-fghij`);
    expect(
      cluster.migrationPods('ns', 'webrana').filter((p) => p.metadata.name.startsWith(job('auth-service'))),
    ).toHaveLength(2);
    await reconcile();
    expect(phases()['auth-service']).toBe('Succeeded');
    expect(cluster.jobNames().filter((n) => n === job('order-service'))).toHaveLength(1);
  });

  test('a Job recreated under the same name after its success was recorded: still Succeeded, nothing created twice', async () => {
    const { cluster, reconcile, phases, creates } = setup();
    await reconcile();
    cluster.runPod(job('auth-service'), 'Succeeded');
    cluster.runPod(job('catalog-service'), 'Succeeded');
    await reconcile();
    cluster.recreateJob(job('auth-service'));
    await reconcile();
    expect(phases()['auth-service']).toBe('Succeeded');
    expect(phases()['order-service']).toBe('Running');
    expect(creates()).toHaveLength(3);
  });

  test('a second pod appearing for a Job: the pods no longer decide, the Job waits for its condition', async () => {
    const { cluster, reconcile, phases } = setup();
    await reconcile();
    cluster.runPod(job('catalog-service'), 'Succeeded');
    cluster.runPod(job('auth-service'), 'Succeeded', `${job('auth-service')}-p1`);
    cluster.runPod(job('auth-service'), 'Running', `${job('auth-service')}-p2`);
    await reconcile();
    expect(phases()['auth-service']).toBe('Running');
    expect(cluster.jobNames()).not.toContain(job('order-service'));
    cluster.finishJob(job('auth-service'), 'Complete');
    await reconcile();
    expect(phases()['auth-service']).toBe('Succeeded');
    expect(cluster.jobNames()).toContain(job('order-service'));
  });

  test('status not yet observed: a reconcile over a stale resource (before its own write) creates no duplicate and skips no dependent', async () => {
    const { cluster, reconciler, reconcile, creates } = setup();
    await reconcile();
    const stale = cluster.getDatabase('ns', 'webrana');
    const authPod = cluster.runPod(job('auth-service'), 'Succeeded');
    cluster.runPod(job('catalog-service'), 'Succeeded');
    await reconcile();
    expect(cluster.jobNames()).toContain(job('order-service'));
    // The cache still shows the resource as it was before that write, and the auth pod is gone.
    cluster.deletePod(authPod);
    const staleView = Object.assign(Object.create(cluster) as FakeCluster, {
      getDatabase: () => structuredClone(stale),
    });
    const behind = new Reconciler({ view: staleView, writer: cluster, log, instance: 'test-1', now: cluster.now });
    const result = await behind.reconcile(KEY);
    expect(result.conflict).toBe(true);
    expect(creates().filter((w) => w.includes('order-service'))).toHaveLength(1);
    expect(cluster.jobNames().filter((n) => n.includes('billing'))).toEqual([]);
    // The fresh view still knows auth succeeded.
    await reconciler.reconcile(KEY);
    expect(cluster.status(KEY)?.services?.find((s) => s.name === 'auth-service')?.phase).toBe('Succeeded');
  });

  test('a Job that may retry (backoffLimit 1) ignores its succeeded pod and waits for Complete', async () => {
    const { cluster, reconcile } = setup(FOUR_SERVICES);
    await reconcile();
    cluster.runPod(job('auth-service'), 'Succeeded');
    cluster.runPod(job('catalog-service'), 'Succeeded');
    await reconcile();
    expect(cluster.jobNames()).not.toContain(job('order-service'));
  });
});

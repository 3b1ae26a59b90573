import { createLogger } from '@webrana/logger';
import { FakeCluster, FOUR_SERVICES } from '../test/fake-cluster';
import type { WebranaDatabaseSpec } from './api/types';
import { BACKUP_NOW_ANNOTATION, backupNowJobName } from './names';
import { Reconciler } from './reconcile';

const log = createLogger({ name: 'test', level: 'silent' });
const KEY = 'ns/webrana';
const SERVICES = FOUR_SERVICES.services.map((s) => s.name);

function setup(spec: WebranaDatabaseSpec = FOUR_SERVICES) {
  const cluster = new FakeCluster();
  cluster.addDatabase('webrana', structuredClone(spec));
  const make = () => new Reconciler({ view: cluster, writer: cluster, log, instance: 'test-0', now: cluster.now });
  let reconciler = make();
  return {
    cluster,
    reconcile: () => reconciler.reconcile(KEY),
    /** A new process: nothing in memory, only what the cluster holds. */
    restart: () => (reconciler = make()),
  };
}

const backupNowJobs = (cluster: FakeCluster) => cluster.jobNames().filter((n) => n.includes('-backup-now-'));

describe('reconcile: webrana.cloud/backup-now', () => {
  test('an annotation value creates one backup Job per service, once: reconciles and a restarted operator create no second one', async () => {
    const { cluster, reconcile, restart } = setup();
    await reconcile();
    expect(backupNowJobs(cluster)).toEqual([]);
    cluster.annotate(KEY, BACKUP_NOW_ANNOTATION, 'first');
    await reconcile();
    const expected = SERVICES.map((s) => backupNowJobName('webrana', s, 'first')).sort();
    expect(backupNowJobs(cluster)).toEqual(expected);
    expect(cluster.status(KEY)?.backupNow).toBe('first');
    expect(cluster.eventReasons().filter((r) => r === 'BackupNowStarted')).toHaveLength(4);
    await reconcile();
    restart();
    await reconcile();
    expect(backupNowJobs(cluster)).toEqual(expected);
    expect(cluster.writes.filter((w) => w.startsWith('create Job') && w.includes('-backup-now-'))).toHaveLength(4);

    // A deleted Job (TTL) of a handled value never comes back; a new value runs again.
    await cluster.deleteJob('ns', expected[0]!);
    await reconcile();
    expect(backupNowJobs(cluster)).toHaveLength(3);
    cluster.annotate(KEY, BACKUP_NOW_ANNOTATION, 'second');
    await reconcile();
    expect(backupNowJobs(cluster)).toHaveLength(7);
    expect(cluster.status(KEY)?.backupNow).toBe('second');
  });

  test('a restart between creating the Jobs and writing the status creates no second Job (the name comes from the value)', async () => {
    const { cluster, reconcile, restart } = setup();
    await reconcile();
    cluster.annotate(KEY, BACKUP_NOW_ANNOTATION, 'x');
    // The status write is lost: the apiserver refuses it (as after a crash before it was sent).
    const update = cluster.updateStatus.bind(cluster);
    cluster.updateStatus = async () => 'conflict';
    await reconcile();
    expect(cluster.status(KEY)?.backupNow).toBeUndefined();
    cluster.updateStatus = update;
    restart();
    await reconcile();
    expect(backupNowJobs(cluster)).toHaveLength(4);
    expect(cluster.status(KEY)?.backupNow).toBe('x');
  });

  test("the backup-now Job is the CronJob's Job template, owned by the WebranaDatabase, deleted a week after it finished", async () => {
    const { cluster, reconcile } = setup();
    await reconcile();
    cluster.annotate(KEY, BACKUP_NOW_ANNOTATION, 'x');
    await reconcile();
    const job = cluster.job(backupNowJobName('webrana', 'order-service', 'x'));
    const cron = cluster.cronJobs('ns', 'webrana').find((c) => c.metadata.name === 'webrana-order-service-backup');
    expect(job.spec.template).toEqual(cron?.spec.jobTemplate.spec.template);
    expect(job.metadata.labels).toEqual(cron?.spec.jobTemplate.metadata?.labels);
    expect(job.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'WebranaDatabase', name: 'webrana' });
    expect(job.metadata.annotations?.[BACKUP_NOW_ANNOTATION]).toBe('x');
    expect(job.spec.ttlSecondsAfterFinished).toBe(7 * 24 * 3600);
    // Tracked like a scheduled one: the newest backup Job in the status.
    expect(cluster.status(KEY)?.services?.find((s) => s.name === 'order-service')?.backup).toMatchObject({
      lastJob: job.metadata.name,
      lastResult: 'Running',
    });
  });

  test('backup-now also runs while spec.backup.suspend stops the schedule', async () => {
    const suspended = structuredClone(FOUR_SERVICES);
    suspended.backup!.suspend = true;
    const { cluster, reconcile } = setup(suspended);
    await reconcile();
    expect(cluster.cronJobs('ns', 'webrana').every((c) => c.spec.suspend === true)).toBe(true);
    cluster.annotate(KEY, BACKUP_NOW_ANNOTATION, 'x');
    await reconcile();
    expect(backupNowJobs(cluster)).toHaveLength(4);
  });
});

describe('reconcile: the newest successful backup in the status', () => {
  const SUMMARY = JSON.stringify({
    service: 'auth-service',
    kind: 'full',
    file: 'auth-service-20260301T000010Z.dump',
    bytes: 12345,
    durationSeconds: 1.5,
    startedAt: '2026-03-01T00:00:08.500Z',
    finishedAt: '2026-03-01T00:00:10.000Z',
    kept: 1,
    deleted: 0,
  });

  test("a succeeded backup Job's termination message (size, duration, finish time) is kept in the status after the Job is gone", async () => {
    const { cluster, reconcile } = setup();
    await reconcile();
    cluster.annotate(KEY, BACKUP_NOW_ANNOTATION, 'x');
    await reconcile();
    const name = backupNowJobName('webrana', 'auth-service', 'x');
    cluster.backupPodSucceeded(name, SUMMARY);
    cluster.finishJob(name, 'Complete');
    await reconcile();
    const auth = () => cluster.status(KEY)?.services?.find((s) => s.name === 'auth-service')?.backup;
    expect(auth()?.lastSuccess).toEqual({
      job: name,
      finishedAt: '2026-03-01T00:00:10Z',
      bytes: 12345,
      durationSeconds: 1.5,
      file: 'auth-service-20260301T000010Z.dump',
    });
    await cluster.deleteJob('ns', name);
    await reconcile();
    expect(auth()?.lastSuccess?.bytes).toBe(12345);
  });
});

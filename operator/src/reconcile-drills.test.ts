import { createLogger } from '@webrana/logger';
import { FakeCluster, FOUR_SERVICES } from '../test/fake-cluster';
import type { WebranaDatabase, WebranaDatabaseSpec } from './api/types';
import { databaseSamples } from './backup-metrics';
import type { Job } from './k8s';
import { verifyCronJobName } from './names';
import { Reconciler } from './reconcile';
import { conditionOf } from './status';

const log = createLogger({ name: 'test', level: 'silent' });
const KEY = 'ns/webrana';

const WITH_DRILLS: WebranaDatabaseSpec = {
  ...structuredClone(FOUR_SERVICES),
  backup: { ...structuredClone(FOUR_SERVICES.backup!), verify: {} },
};

function setup(spec: WebranaDatabaseSpec = WITH_DRILLS) {
  const cluster = new FakeCluster();
  cluster.addDatabase('webrana', structuredClone(spec)).metadata.creationTimestamp = '2026-11-01T00:00:00Z';
  const reconciler = new Reconciler({ view: cluster, writer: cluster, log, instance: 'test-0', now: cluster.now });
  return { cluster, reconcile: () => reconciler.reconcile(KEY) };
}

/** What the CronJob controller does on schedule: a Job from the drill CronJob's template. */
async function scheduledDrill(cluster: FakeCluster, service: string, suffix: string): Promise<string> {
  const cron = cluster
    .cronJobs('ns', 'webrana')
    .find((c) => c.metadata.name === verifyCronJobName('webrana', service))!;
  const name = `${cron.metadata.name}-${suffix}`;
  const job: Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'ns', labels: cron.spec.jobTemplate.metadata?.labels ?? {} },
    spec: structuredClone(cron.spec.jobTemplate.spec),
  };
  await cluster.createJob(job);
  return name;
}

const PASSED = {
  service: 'order-service',
  file: 'order-service-20261129T020000Z.tar.zst',
  dumpCreatedAt: '2026-11-29T02:00:00.000Z',
  passed: true,
  recorded: true,
  migrationHead: '20261125000100_rules',
  tables: 5,
  rows: 1234,
  problems: [],
  durationSeconds: 12.5,
  startedAt: '2026-11-29T03:00:00.000Z',
  finishedAt: '2026-11-29T03:00:12.500Z',
};
const FAILED = {
  ...PASSED,
  file: 'order-service-20261130T020000Z.tar.zst',
  dumpCreatedAt: '2026-11-30T02:00:00.000Z',
  passed: false,
  problems: ['table public.status_history has 299 rows, the manifest says 300'],
  startedAt: '2026-11-30T03:00:00.000Z',
  finishedAt: '2026-11-30T03:00:12.000Z',
};

const order = (cluster: FakeCluster) =>
  cluster.status(KEY)?.services?.find((s) => s.name === 'order-service')?.backup?.verify;
const verifiedMetric = (cluster: FakeCluster) =>
  databaseSamples(cluster.getDatabase('ns', 'webrana') as WebranaDatabase).lastVerified.find(
    (s) => s.labels.service === 'order-service',
  )?.value;

test('spec.backup.verify creates one drill CronJob per service, running `backup verify --latest` on the weekly default schedule', async () => {
  const { cluster, reconcile } = setup();
  await reconcile();
  const drills = cluster.cronJobs('ns', 'webrana').filter((c) => c.metadata.name.endsWith('-verify'));
  expect(drills.map((c) => c.metadata.name).sort()).toEqual(
    ['auth-service', 'billing-service', 'catalog-service', 'order-service'].map((s) => verifyCronJobName('webrana', s)),
  );
  expect(drills[0]!.spec.schedule).toBe('0 3 * * 0');
  expect(cluster.status(KEY)?.services?.every((s) => s.backup?.verify?.cronJob.endsWith('-verify'))).toBe(true);
  const condition = conditionOf(cluster.status(KEY), 'BackupVerified');
  expect(condition).toMatchObject({ status: 'Unknown', reason: 'NoDrillYet' });
});

test("a passing drill pod's termination message sets BackupVerified True with the dump's name and time, advances the metric and records an Event", async () => {
  const { cluster, reconcile } = setup();
  await reconcile();
  // Before any pass: counted from the creation, so drills that never pass still alert.
  expect(verifiedMetric(cluster)).toBe(Date.parse('2026-11-01T00:00:00Z') / 1000);
  for (const service of ['auth-service', 'catalog-service', 'billing-service', 'order-service']) {
    const job = await scheduledDrill(cluster, service, 'a');
    cluster.podFinished(job, 'Succeeded', JSON.stringify({ ...PASSED, service }));
    cluster.finishJob(job, 'Complete');
  }
  await reconcile();
  expect(order(cluster)).toMatchObject({
    lastResult: 'Passed',
    lastFile: PASSED.file,
    lastPass: {
      job: `${verifyCronJobName('webrana', 'order-service')}-a`,
      verifiedAt: '2026-11-29T03:00:12Z',
      file: PASSED.file,
      dumpCreatedAt: '2026-11-29T02:00:00Z',
    },
  });
  const condition = conditionOf(cluster.status(KEY), 'BackupVerified');
  expect(condition?.status).toBe('True');
  expect(condition?.message).toContain(
    `order-service: ${PASSED.file} (taken 2026-11-29T02:00:00Z) restored and checked at 2026-11-29T03:00:12Z`,
  );
  expect(verifiedMetric(cluster)).toBe(Date.parse('2026-11-29T03:00:12Z') / 1000);
  expect(cluster.eventReasons().filter((r) => r === 'BackupVerified')).toHaveLength(4);
  await reconcile();
  expect(cluster.eventReasons().filter((r) => r === 'BackupVerified')).toHaveLength(4); // once per drill
});

test('a drill that fails on an altered dump sets BackupVerified False (DrillFailed) with its problems, leaves the metric at the last pass and records a Warning', async () => {
  const { cluster, reconcile } = setup();
  await reconcile();
  const first = await scheduledDrill(cluster, 'order-service', 'a');
  cluster.podFinished(first, 'Succeeded', JSON.stringify(PASSED));
  cluster.finishJob(first, 'Complete');
  await reconcile();
  const before = verifiedMetric(cluster);

  const second = await scheduledDrill(cluster, 'order-service', 'b');
  cluster.podFinished(second, 'Failed', JSON.stringify(FAILED));
  cluster.finishJob(second, 'Failed');
  await reconcile();
  expect(order(cluster)).toMatchObject({
    lastJob: second,
    lastResult: 'Failed',
    lastFile: FAILED.file,
    lastDumpFailed: true,
    lastMessage: FAILED.problems[0],
    lastPass: { job: first },
  });
  const condition = conditionOf(cluster.status(KEY), 'BackupVerified');
  expect(condition).toMatchObject({ status: 'False', reason: 'DrillFailed' });
  expect(condition?.message).toContain(
    `order-service: restore drill ${second} of ${FAILED.file} failed: ${FAILED.problems[0]}`,
  );
  expect(verifiedMetric(cluster)).toBe(before);
  const warning = cluster.events.find((e) => e.reason === 'BackupVerificationFailed');
  expect(warning).toMatchObject({ type: 'Warning' });
  expect(String(warning?.message)).toContain('(the dump is marked; restore --latest skips it)');
});

test('a drill that could not run (database down) is DrillError: the dump is not called bad', async () => {
  const { cluster, reconcile } = setup();
  await reconcile();
  const job = await scheduledDrill(cluster, 'order-service', 'a');
  cluster.podFinished(
    job,
    'Failed',
    JSON.stringify({ service: 'order-service', passed: false, error: 'cannot connect to <url> connect ECONNREFUSED' }),
  );
  cluster.finishJob(job, 'Failed');
  await reconcile();
  expect(order(cluster)).toMatchObject({ lastResult: 'Failed', lastDumpFailed: false });
  expect(order(cluster)?.lastMessage).toBe('the drill could not run: cannot connect to <url> connect ECONNREFUSED');
  expect(conditionOf(cluster.status(KEY), 'BackupVerified')).toMatchObject({ status: 'False', reason: 'DrillError' });
});

test('the last pass survives its Job being deleted (history limits), and removing spec.backup.verify deletes the drill CronJobs and the condition', async () => {
  const { cluster, reconcile } = setup();
  await reconcile();
  const job = await scheduledDrill(cluster, 'order-service', 'a');
  cluster.podFinished(job, 'Succeeded', JSON.stringify(PASSED));
  cluster.finishJob(job, 'Complete');
  await reconcile();
  await cluster.deleteJob('ns', job);
  await reconcile();
  expect(order(cluster)?.lastPass?.verifiedAt).toBe('2026-11-29T03:00:12Z');
  expect(order(cluster)?.lastResult).toBe('Passed');

  cluster.updateSpec(KEY, structuredClone(FOUR_SERVICES));
  await reconcile();
  expect(cluster.cronJobs('ns', 'webrana').filter((c) => c.metadata.name.endsWith('-verify'))).toEqual([]);
  expect(conditionOf(cluster.status(KEY), 'BackupVerified')).toBeUndefined();
  expect(verifiedMetric(cluster)).toBeUndefined();
});

test('spec.backup.suspend suspends the drill CronJobs too, and the metric has no sample meanwhile', async () => {
  const suspended = structuredClone(WITH_DRILLS);
  suspended.backup!.suspend = true;
  const { cluster, reconcile } = setup(suspended);
  await reconcile();
  const drills = cluster.cronJobs('ns', 'webrana').filter((c) => c.metadata.name.endsWith('-verify'));
  expect(drills).toHaveLength(4);
  expect(drills.every((c) => c.spec.suspend === true)).toBe(true);
  expect(verifiedMetric(cluster)).toBeUndefined();
});

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { apply, getJson, jobCondition, jobPods, kubectl, waitFor } from '@webrana/kube-lab';
import type { NodeDatabase } from '../../packages/kube-lab/test/node-database';
import type { WebranaDatabaseSpec } from '../src/api/types';
import {
  databaseWithSecret,
  getDatabase,
  hostPathClaim,
  secret,
  startOperator,
  useOperatorEnv,
  waitForCondition,
  webranaDatabase,
  JOBS_IMAGE,
  type RunningOperator,
} from './harness';

// Backup metrics, backup-now and `kubectl create job --from=cronjob/...` on the real node: backup pods
// of the jobs image against the namespace's PostgreSQL (their termination message is the backup
// summary), dumps on a hostPath volume, and the operator under the chart's RBAC.
const env = useOperatorEnv('bmetrics');
const lab = env.lab;
const DB = 'bm';
const SERVICES = ['auth-service', 'catalog-service'] as const;
const BAD_URL = 'postgresql://nobody:wrong@127.0.0.1:1/none';
let operator: RunningOperator;
const dbs = new Map<string, NodeDatabase>();
let backupDir: string;

const labels = (service: string) => ({ namespace: env.ns, database: DB, service });
const metric = (name: string, service: string, op = operator) => op.metric(name, labels(service));
/** Whether a series exists at all (metric() sums to 0 for a missing one). */
const hasSeries = async (name: string, service: string, op = operator) =>
  (await op.metrics()).includes(`${name}{namespace="${env.ns}",database="${DB}",service="${service}"}`);

interface JobItem {
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  status?: { conditions?: { type: string; status: string }[] };
}
async function backupJobs(): Promise<JobItem[]> {
  const list = await getJson<{ items: JobItem[] }>(lab, [
    'jobs',
    '-n',
    env.ns,
    '-l',
    `webrana.cloud/database=${DB},app.kubernetes.io/component=backup`,
  ]);
  return list?.items ?? [];
}
const nowJobs = async (value: string) =>
  (await backupJobs()).filter((j) => j.metadata.annotations?.['webrana.cloud/backup-now'] === value);
const done = (j: JobItem) =>
  (j.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');

async function annotate(value: string): Promise<void> {
  await kubectl(lab, ['annotate', 'wdb', DB, '-n', env.ns, `webrana.cloud/backup-now=${value}`, '--overwrite']);
}

async function summaryOf(job: string): Promise<Record<string, unknown>> {
  const [pod] = await jobPods(lab, env.ns, job);
  const message = (pod?.status?.containerStatuses?.[0]?.state?.terminated as { message?: string } | undefined)?.message;
  return JSON.parse(message ?? 'null') as Record<string, unknown>;
}

beforeAll(async () => {
  const spec: WebranaDatabaseSpec = {
    image: JOBS_IMAGE,
    services: [],
    migration: { backoffLimit: 0, activeDeadlineSeconds: 300 },
    // February 30th: the schedule never fires; every backup here is asked for.
    backup: { schedule: '0 0 30 2 *', volumeClaimName: 'bm-backups' },
  };
  for (const s of SERVICES) {
    dbs.set(s, await databaseWithSecret(env, `bm_${s.replace('-service', '')}`, `bm-${s}-db`));
    spec.services.push({ name: s, databaseUrlSecretRef: { name: `bm-${s}-db`, key: 'url' } });
  }
  backupDir = await hostPathClaim(env.lab, 'bm-backups', path.join(env.tmp, 'bm-backups'));
  operator = startOperator(env, 'op-1');
  await operator.port;
  await apply(lab, env.ns, webranaDatabase(DB, spec));
  await waitForCondition(env, DB, 'Ready', 'True');
}, 240_000);

afterAll(async () => {
  await operator?.stop();
});

test('before any backup: last success 0 (never had one) and expected-since at the resource creation for every service; no size or duration yet', async () => {
  const created = Date.parse((await getDatabase(env, DB))!.metadata.creationTimestamp!) / 1000;
  for (const s of SERVICES) {
    await waitFor(`${s} series`, () => hasSeries('webrana_backup_last_success_timestamp_seconds', s));
    expect(await metric('webrana_backup_last_success_timestamp_seconds', s)).toBe(0);
    expect(await metric('webrana_backup_expected_since_timestamp_seconds', s)).toBe(created);
    expect(await metric('webrana_backup_last_failed', s)).toBe(0);
    expect(await metric('webrana_migration_failed', s)).toBe(0);
    expect(await hasSeries('webrana_backup_failures_total', s)).toBe(true);
    expect(await hasSeries('webrana_backup_last_size_bytes', s)).toBe(false);
    expect(await hasSeries('webrana_backup_last_verified_timestamp_seconds', s)).toBe(false);
  }
  expect(await operator.metrics()).toContain('# TYPE webrana_backup_last_verified_timestamp_seconds gauge');
});

test("backup-now: one Job per service for a value; each pod's termination message is the summary, and size, duration and finish time reach the metrics", async () => {
  const t0 = Date.now() / 1000;
  await annotate('one');
  const jobs = await waitFor(
    'two finished backup-now Jobs',
    async () => {
      const js = await nowJobs('one');
      return js.length === SERVICES.length && js.every(done) ? js : undefined;
    },
    { timeoutMs: 120_000 },
  );
  expect(jobs.map((j) => j.metadata.labels?.['webrana.cloud/service']).sort()).toEqual([...SERVICES]);
  for (const job of jobs) {
    await jobCondition(lab, env.ns, job.metadata.name, 'Complete');
    const service = job.metadata.labels!['webrana.cloud/service']!;
    const summary = await summaryOf(job.metadata.name);
    expect(JSON.stringify(summary)).not.toContain('postgres');
    const dumpFile = path.join(backupDir, service, String(summary.file));
    expect(summary.bytes).toBe((await fs.stat(dumpFile)).size);
    await waitFor(`${service} size metric`, async () =>
      (await metric('webrana_backup_last_size_bytes', service)) === summary.bytes ? true : undefined,
    );
    expect(await metric('webrana_backup_last_duration_seconds', service)).toBe(summary.durationSeconds);
    expect(summary.durationSeconds).toBeGreaterThan(0);
    const last = await metric('webrana_backup_last_success_timestamp_seconds', service);
    expect(last).toBe(Math.floor(Date.parse(String(summary.finishedAt)) / 1000));
    expect(last).toBeGreaterThanOrEqual(Math.floor(t0) - 1);
  }
  expect((await getDatabase(env, DB))?.status?.backupNow).toBe('one');
}, 180_000);

test('kubectl create job --from=cronjob/...: tracked like a scheduled backup; a failed one counts in failures_total and sets last_failed, a later success clears it', async () => {
  const service = 'auth-service';
  const before = await metric('webrana_backup_last_success_timestamp_seconds', service);
  await secret(env, `bm-${service}-db`, BAD_URL);
  await kubectl(lab, ['create', 'job', 'bm-manual-fail', `--from=cronjob/${DB}-${service}-backup`, '-n', env.ns]);
  await jobCondition(lab, env.ns, 'bm-manual-fail', 'Failed', 120_000);
  await waitFor('failure counted', async () =>
    (await metric('webrana_backup_failures_total', service)) === 1 ? true : undefined,
  );
  expect(await metric('webrana_backup_last_failed', service)).toBe(1);
  expect(await metric('webrana_backup_failures_total', 'catalog-service')).toBe(0);
  expect(await metric('webrana_backup_last_success_timestamp_seconds', service)).toBe(before);
  const status = (await getDatabase(env, DB))?.status?.services?.find((s) => s.name === service)?.backup;
  expect(status).toMatchObject({ lastJob: 'bm-manual-fail', lastResult: 'Failed' });

  await secret(env, `bm-${service}-db`, dbs.get(service)!.podUrl);
  await new Promise((r) => setTimeout(r, 1100)); // a later second: distinct dump name
  await kubectl(lab, ['create', 'job', 'bm-manual-ok', `--from=cronjob/${DB}-${service}-backup`, '-n', env.ns]);
  await jobCondition(lab, env.ns, 'bm-manual-ok', 'Complete', 120_000);
  await waitFor('last_failed back to 0', async () =>
    (await metric('webrana_backup_last_failed', service)) === 0 ? true : undefined,
  );
  expect(await metric('webrana_backup_last_success_timestamp_seconds', service)).toBeGreaterThan(before);
  expect(await metric('webrana_backup_last_size_bytes', service)).toBe((await summaryOf('bm-manual-ok')).bytes);
  expect(await metric('webrana_backup_failures_total', service)).toBe(1);
}, 240_000);

test('after an operator restart the metrics are rebuilt (from the status and the Jobs still present), and backup-now creates exactly one Job per service per value across restarts', async () => {
  const names = [
    'webrana_backup_last_success_timestamp_seconds',
    'webrana_backup_last_size_bytes',
    'webrana_backup_last_duration_seconds',
    'webrana_backup_failures_total',
    'webrana_backup_last_failed',
  ];
  const snapshot = async (op: RunningOperator) => {
    const out: Record<string, number> = {};
    for (const s of SERVICES) for (const n of names) out[`${n}/${s}`] = await metric(n, s, op);
    return out;
  };
  const before = await snapshot(operator);
  expect(before['webrana_backup_last_size_bytes/auth-service']).toBeGreaterThan(0);
  await operator.stop('SIGKILL');

  // Same value again while no operator runs, then a new process: it must not run "one" again.
  await annotate('one');
  operator = startOperator(env, 'op-2');
  await operator.waitForLog('caches started', (e) => e.msg === 'caches started');
  const after = await waitFor('metrics rebuilt', async () => {
    const s = await snapshot(operator);
    return s['webrana_backup_last_success_timestamp_seconds/auth-service'] ? s : undefined;
  });
  expect(after).toEqual(before);
  await new Promise((r) => setTimeout(r, 3000));
  expect(await nowJobs('one')).toHaveLength(SERVICES.length);

  // A new value runs once more, also when the operator is killed right after seeing it.
  await annotate('two');
  await waitFor('backup-now Jobs of "two"', async () =>
    (await nowJobs('two')).length === SERVICES.length ? true : undefined,
  );
  await operator.stop('SIGKILL');
  operator = startOperator(env, 'op-3');
  await operator.waitForLog('caches started', (e) => e.msg === 'caches started');
  await waitFor('"two" recorded', async () =>
    (await getDatabase(env, DB))?.status?.backupNow === 'two' ? true : undefined,
  );
  await new Promise((r) => setTimeout(r, 3000));
  expect(await nowJobs('two')).toHaveLength(SERVICES.length);
  expect(await nowJobs('one')).toHaveLength(SERVICES.length);
  await waitFor('"two" finished', async () => ((await nowJobs('two')).every(done) ? true : undefined), {
    timeoutMs: 120_000,
  });

  // Every backup Job gone (history limits, TTL): the newest success still comes from the status.
  const kept = await waitFor('size of the newest success', async () => {
    const size = await metric('webrana_backup_last_size_bytes', 'catalog-service');
    const last = await metric('webrana_backup_last_success_timestamp_seconds', 'catalog-service');
    return last > before['webrana_backup_last_success_timestamp_seconds/catalog-service']! ? { size, last } : undefined;
  });
  await kubectl(lab, [
    'delete',
    'jobs',
    '-n',
    env.ns,
    '-l',
    `webrana.cloud/database=${DB},app.kubernetes.io/component=backup`,
  ]);
  await operator.stop('SIGKILL');
  operator = startOperator(env, 'op-4');
  await operator.waitForLog('caches started', (e) => e.msg === 'caches started');
  await waitFor('metrics from the status', async () =>
    (await metric('webrana_backup_last_success_timestamp_seconds', 'catalog-service')) === kept.last ? true : undefined,
  );
  expect(await metric('webrana_backup_last_size_bytes', 'catalog-service')).toBe(kept.size);
  // The counter restarts from the failed Jobs present: none now.
  expect(await metric('webrana_backup_failures_total', 'auth-service')).toBe(0);
  expect(await backupJobs()).toEqual([]);
}, 300_000);

test('spec.backup.suspend suspends the backup CronJobs in the cluster and drops the expected-since series (WebranaBackupMissing stays quiet); unsuspending brings both back', async () => {
  const cronJobsSuspended = async () => {
    const list = await getJson<{ items: { spec: { suspend?: boolean } }[] }>(lab, [
      'cronjobs',
      '-n',
      env.ns,
      '-l',
      `webrana.cloud/database=${DB}`,
    ]);
    return (list?.items ?? []).map((c) => c.spec.suspend === true);
  };
  expect(await cronJobsSuspended()).toEqual([false, false]);
  const patch = (suspend: boolean) =>
    kubectl(lab, [
      'patch',
      'wdb',
      DB,
      '-n',
      env.ns,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { backup: { suspend } } }),
    ]);
  await patch(true);
  await waitFor('CronJobs suspended', async () => ((await cronJobsSuspended()).every(Boolean) ? true : undefined));
  await waitFor('no expected-since series', async () =>
    (await hasSeries('webrana_backup_expected_since_timestamp_seconds', 'auth-service')) ? undefined : true,
  );
  expect(await hasSeries('webrana_backup_last_success_timestamp_seconds', 'auth-service')).toBe(true);
  await patch(false);
  await waitFor('CronJobs resumed', async () => ((await cronJobsSuspended()).every((s) => !s) ? true : undefined));
  await waitFor('expected-since series back', async () =>
    (await hasSeries('webrana_backup_expected_since_timestamp_seconds', 'auth-service')) ? true : undefined,
  );
}, 120_000);

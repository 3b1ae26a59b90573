import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { apply, containerLog, getJson, jobCondition, jobPods, kubectl, waitFor } from '@webrana/kube-lab';
import { SERVICES } from '@webrana/registry';
import { withClient } from '@webrana/testing';
import type { NodeDatabase } from '../../packages/kube-lab/test/node-database';
import type { WebranaDatabaseSpec } from '../src/api/types';
import {
  condition,
  databaseWithSecret,
  deleteFlowSchemas,
  dispatched,
  getDatabase,
  migrationJobs,
  hostPathClaim,
  operatorFlowSchemas,
  serviceDatabases,
  startOperator,
  useOperatorEnv,
  waitForCondition,
  webranaDatabase,
  type RunningOperator,
} from './harness';

// The operator on the real node: its migration and backup Jobs run the jobs image against the
// namespace's PostgreSQL; the operator runs under the chart's ServiceAccount.
const env = useOperatorEnv('operator');
const lab = env.lab;
let operator: RunningOperator;

beforeAll(async () => {
  operator = startOperator(env, 'operator-0');
  await operator.waitForLog('leading', (e) => e.msg === 'caches started');
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  await deleteFlowSchemas(env);
}, 60_000);

async function tables(db: NodeDatabase): Promise<string[]> {
  return withClient(db.url, async (c) =>
    (
      await c.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
      )
    ).rows.map((r) => r.table_name),
  );
}

test('on empty databases: auth and catalog start first, in parallel; order after both; billing after order; all tables; Ready', async () => {
  // The databases go with the file's PostgreSQL (useRealNode stops it after the tests).
  const { dbs, spec } = await serviceDatabases(env, 'fresh');
  await apply(lab, env.ns, webranaDatabase('fresh', spec));
  const ready = await waitForCondition(env, 'fresh', 'Ready', 'True');

  // Ready follows the last migration pod's success; the Job controller marks that Job succeeded a
  // moment later (issue 22 removed that wait from the operator), so the test waits for it too.
  const jobs = await waitFor('every migration Job to record its success', async () => {
    const list = await migrationJobs(env, 'fresh');
    return list.length === SERVICES.length && list.every((j) => j.succeeded) ? list : undefined;
  });
  const by = new Map(jobs.map((j) => [j.service, j]));
  expect(jobs.map((j) => j.service).sort()).toEqual(SERVICES.map((s) => s.name).sort());
  const [auth, catalog, order, billing] = ['auth-service', 'catalog-service', 'order-service', 'billing-service'].map(
    (s) => by.get(s)!,
  );
  // In parallel: both created before either finished (timestamps have one-second resolution).
  expect(Math.abs(auth!.created - catalog!.created)).toBeLessThanOrEqual(1000);
  expect(catalog!.created).toBeLessThanOrEqual(auth!.completed!);
  expect(auth!.created).toBeLessThanOrEqual(catalog!.completed!);
  // Dependents only after their dependencies' migrations finished: the pod's exit, which the status
  // records as finishedAt (issue 22: no longer the Job controller's Complete, which may come later).
  const finished = (s: string) =>
    Date.parse(ready.status?.services?.find((x) => x.name === s)?.finishedAt ?? 'missing');
  expect(order!.created).toBeGreaterThanOrEqual(Math.max(finished('auth-service'), finished('catalog-service')));
  expect(billing!.created).toBeGreaterThanOrEqual(finished('order-service'));
  expect(jobs.every((j) => j.succeeded)).toBe(true);

  for (const [service, db] of dbs) {
    const names = await tables(db);
    expect([service, names.includes('_prisma_migrations')]).toEqual([service, true]);
  }
  expect(await tables(dbs.get('auth-service')!)).toEqual(expect.arrayContaining(['users', 'refresh_tokens']));
  expect(await tables(dbs.get('catalog-service')!)).toEqual(expect.arrayContaining(['vps_plans']));
  expect(await tables(dbs.get('order-service')!)).toEqual(expect.arrayContaining(['orders', 'status_history']));
  expect(await tables(dbs.get('billing-service')!)).toEqual(expect.arrayContaining(['invoices', 'payments']));

  expect(ready.status).toMatchObject({ phase: 'Ready', progress: '4/4', observedGeneration: 1 });
  expect(ready.status?.services?.every((s) => s.phase === 'Succeeded' && s.startedAt && s.finishedAt)).toBe(true);
  const table = (await kubectl(lab, ['get', 'webranadatabases', '-n', env.ns])).stdout;
  expect(table).toMatch(/^NAME\s+READY\s+PHASE\s+MIGRATED\s+SCHEDULE\s+AGE/m);
  expect(table).toMatch(/^fresh\s+True\s+Ready\s+4\/4\s/m);

  const events = await getJson<{ items: { reason: string; involvedObject: { name: string } }[] }>(lab, [
    'events',
    '-n',
    env.ns,
    '--field-selector',
    'involvedObject.name=fresh',
  ]);
  const reasons = (events?.items ?? []).map((e) => e.reason);
  expect(reasons.filter((r) => r === 'MigrationStarted')).toHaveLength(4);
  expect(reasons.filter((r) => r === 'MigrationSucceeded')).toHaveLength(4);
  expect(reasons).toContain('Ready');
}, 300_000);

test('a broken catalog migration: order and billing never start, Degraded carries the SQL error; fixing the spec reaches Ready', async () => {
  const { dbs, spec } = await serviceDatabases(env, 'broken');
  // The catalog database already has a table its first migration creates: the migration fails in SQL.
  await withClient(dbs.get('catalog-service')!.url, (c) => c.query('CREATE TABLE vps_plans (id int)'));
  await apply(lab, env.ns, webranaDatabase('broken', spec));
  const degraded = await waitForCondition(env, 'broken', 'Degraded', 'True');
  await waitForCondition(env, 'broken', 'Progressing', 'False');

  const message = condition(degraded, 'Degraded')?.message ?? '';
  expect(condition(degraded, 'Degraded')?.reason).toBe('MigrationFailed');
  expect(message).toContain('catalog-service');
  expect(message).toContain('relation "vps_plans" already exists');
  expect(message).toContain('42P07');
  expect(condition(await getDatabase(env, 'broken'), 'Ready')?.status).toBe('False');
  const services = new Map((await getDatabase(env, 'broken'))?.status?.services?.map((s) => [s.name, s]));
  expect(services.get('catalog-service')?.phase).toBe('Failed');
  expect(services.get('order-service')?.phase).toBe('Blocked');
  expect(services.get('billing-service')?.phase).toBe('Blocked');

  // Give the operator every chance to (wrongly) start the dependents.
  await new Promise((r) => setTimeout(r, 5000));
  expect((await migrationJobs(env, 'broken')).map((j) => j.service).sort()).toEqual([
    'auth-service',
    'catalog-service',
  ]);

  // The fix: point catalog at a good database (a spec change: generation 2 re-runs every service).
  const fixed = await databaseWithSecret(env, 'broken_catalog_fixed', 'broken-catalog-fixed-db');
  const fixedSpec: WebranaDatabaseSpec = structuredClone(spec);
  fixedSpec.services[1]!.databaseUrlSecretRef.name = 'broken-catalog-fixed-db';
  await apply(lab, env.ns, webranaDatabase('broken', fixedSpec));
  const ready = await waitForCondition(env, 'broken', 'Ready', 'True');
  expect(ready.metadata.generation).toBe(2);
  expect(condition(ready, 'Degraded')?.status).toBe('False');
  const g2 = (await migrationJobs(env, 'broken')).filter((j) => j.generation === '2');
  expect(g2.map((j) => j.service).sort()).toEqual(SERVICES.map((s) => s.name).sort());
  expect(await tables(fixed)).toEqual(expect.arrayContaining(['vps_plans']));
  // Once generation 2 succeeded, generation 1's Jobs are cleaned up.
  await waitFor('generation 1 Jobs deleted', async () =>
    (await migrationJobs(env, 'broken')).every((j) => j.generation === '2'),
  );
}, 300_000);

describe('invalid resources', () => {
  const base = (): WebranaDatabaseSpec => ({
    image: 'webrana/jobs:test',
    services: [
      { name: 'a', databaseUrlSecretRef: { name: 's', key: 'url' } },
      { name: 'b', databaseUrlSecretRef: { name: 's', key: 'url' }, dependsOn: ['a'] },
    ],
    backup: { schedule: '0 2 * * *', volumeClaimName: 'v' },
  });
  const rejected = async (name: string, spec: WebranaDatabaseSpec) => {
    const r = await kubectl(lab, ['apply', '-n', env.ns, '-f', '-'], {
      input: JSON.stringify(webranaDatabase(name, spec)),
      allowFailure: true,
    });
    expect(r.code).not.toBe(0);
    return r.stderr;
  };

  test('admission rejects an unknown dependency, a self-dependency, duplicate names, a bad schedule and negative retention', async () => {
    const unknown = base();
    unknown.services[1]!.dependsOn = ['ghost'];
    expect(await rejected('unknown', unknown)).toContain(
      'every dependsOn entry must name a service listed in spec.services',
    );

    const self = base();
    self.services[1]!.dependsOn = ['b'];
    expect(await rejected('self', self)).toContain('service b cannot depend on itself');

    const dup = base();
    dup.services[1]!.name = 'a';
    delete dup.services[1]!.dependsOn;
    expect(await rejected('dup', dup)).toMatch(/Duplicate value/);

    const schedule = base();
    schedule.backup!.schedule = '61 2 * * *';
    expect(await rejected('schedule', schedule)).toContain('"61 2 * * *" is not a cron schedule');

    const negative = base();
    negative.backup!.retention = { daily: -1 };
    expect(await rejected('negative', negative)).toMatch(/retention.daily.*greater than or equal to 0/);

    expect(await getJson(lab, ['webranadatabases', '-n', env.ns, '-o', 'name'])).toBeDefined();
    for (const name of ['unknown', 'self', 'dup', 'schedule', 'negative']) {
      expect(await getDatabase(env, name)).toBeUndefined();
    }
  });

  test('a dependency cycle (beyond CEL) is InvalidSpec naming the cycle, with no Jobs or CronJobs', async () => {
    const cycle = base();
    cycle.services[0]!.dependsOn = ['b'];
    await apply(lab, env.ns, webranaDatabase('cycle', cycle));
    const db = await waitForCondition(env, 'cycle', 'InvalidSpec', 'True');
    expect(condition(db, 'InvalidSpec')).toMatchObject({
      reason: 'DependencyCycle',
      message: 'dependency cycle: a -> b -> a',
    });
    expect(condition(db, 'Ready')?.status).toBe('False');
    expect(db.status?.phase).toBe('InvalidSpec');
    const children = await getJson<{ items: unknown[] }>(lab, [
      'jobs,cronjobs',
      '-n',
      env.ns,
      '-l',
      'webrana.cloud/database=cycle',
    ]);
    expect(children?.items).toEqual([]);
  });
});

test('one CronJob per service with the schedule; a Job made from one writes a verified dump and applies retention', async () => {
  const { spec } = await serviceDatabases(env, 'bk');
  const backupDir = await hostPathClaim(env.lab, 'bk-backups', path.join(env.tmp, 'bk-backups'));
  const withBackup: WebranaDatabaseSpec = {
    ...spec,
    // Keep one dump per day: a second dump the same day must delete the first.
    backup: { schedule: '17 3 * * *', retention: { daily: 1, weekly: 0, monthly: 0 }, volumeClaimName: 'bk-backups' },
  };
  await apply(lab, env.ns, webranaDatabase('bk', withBackup));
  await waitForCondition(env, 'bk', 'Ready', 'True');

  const cronJobs = await getJson<{
    items: {
      metadata: { name: string; ownerReferences: { kind: string; name: string }[] };
      spec: Record<string, unknown>;
    }[];
  }>(lab, ['cronjobs', '-n', env.ns, '-l', 'webrana.cloud/database=bk']);
  expect(cronJobs?.items.map((c) => c.metadata.name).sort()).toEqual(SERVICES.map((s) => `bk-${s.name}-backup`).sort());
  for (const cj of cronJobs?.items ?? []) {
    expect(cj.spec).toMatchObject({
      schedule: '17 3 * * *',
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 3,
    });
    expect(cj.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'WebranaDatabase', name: 'bk' })]);
  }

  const dumpDir = path.join(backupDir, 'order-service');
  const dumps = async () =>
    (await fs.readdir(dumpDir).catch(() => [] as string[])).filter((f) => f.endsWith('.tar.zst'));
  const summaries: Record<string, unknown>[] = [];
  for (const run of ['bk-manual-1', 'bk-manual-2']) {
    await kubectl(lab, ['create', 'job', run, '--from=cronjob/bk-order-service-backup', '-n', env.ns]);
    await jobCondition(lab, env.ns, run, 'Complete', 120_000);
    const [pod] = await jobPods(lab, env.ns, run);
    const log = await containerLog(lab, pod!, 'backup');
    const summary = log
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((e) => e.msg === 'backup finished');
    summaries.push(summary ?? {});
    if (run === 'bk-manual-1') await new Promise((r) => setTimeout(r, 1100)); // distinct dump names (seconds)
  }
  // Verified (the jobs CLI lists the dump and its archive before renaming into place), with a manifest.
  const [file] = await dumps();
  expect(await dumps()).toHaveLength(1);
  const manifest = JSON.parse(await fs.readFile(path.join(dumpDir, `${file}.json`), 'utf8')) as Record<string, unknown>;
  expect(manifest).toMatchObject({ service: 'order-service' });
  expect(summaries[0]).toMatchObject({ service: 'order-service', deleted: [] });
  expect(summaries[1]).toMatchObject({ service: 'order-service', kept: 1, deleted: [summaries[0]!.file] });
  expect(file).toBe(summaries[1]!.file);

  // The newest backup Job's result reaches the status.
  const db = await waitFor('backup result in the status', async () => {
    const d = await getDatabase(env, 'bk');
    const b = d?.status?.services?.find((s) => s.name === 'order-service')?.backup;
    return b?.lastJob === 'bk-manual-2' && b.lastResult === 'Succeeded' ? d : undefined;
  });
  expect(db.status?.services?.find((s) => s.name === 'order-service')?.backup?.cronJob).toBe('bk-order-service-backup');

  // A spec change updates the CronJobs; removing a service removes its CronJob.
  const changed = structuredClone(withBackup);
  changed.backup!.schedule = '0 0 30 2 *'; // February 30th: never fires during the idle test below
  changed.services = changed.services.filter((s) => s.name !== 'billing-service');
  await apply(lab, env.ns, webranaDatabase('bk', changed));
  await waitFor('CronJobs follow the spec', async () => {
    const list = await getJson<{ items: { metadata: { name: string }; spec: { schedule: string } }[] }>(lab, [
      'cronjobs',
      '-n',
      env.ns,
      '-l',
      'webrana.cloud/database=bk',
    ]);
    const items = list?.items ?? [];
    return items.length === 3 && items.every((c) => c.spec.schedule === '0 0 30 2 *');
  });
}, 300_000);

test('with nothing changing, the operator makes no write request for a minute (counted by the apiserver)', async () => {
  for (const name of ['fresh', 'broken', 'bk']) await waitForCondition(env, name, 'Ready', 'True');
  const flows = await operatorFlowSchemas(env);
  // Let in-flight work settle, and the FlowSchemas take effect.
  await new Promise((r) => setTimeout(r, 5000));
  const before = {
    writes: await dispatched(lab, flows.writes),
    leaseWrites: await dispatched(lab, flows.leaseWrites),
    reads: await dispatched(lab, flows.reads),
    own: await operator.metric('webrana_operator_api_requests_total'),
  };
  await new Promise((r) => setTimeout(r, 60_000));
  const after = {
    writes: await dispatched(lab, flows.writes),
    leaseWrites: await dispatched(lab, flows.leaseWrites),
    reads: await dispatched(lab, flows.reads),
    own: await operator.metric('webrana_operator_api_requests_total'),
  };
  const delta = {
    writes: after.writes - before.writes,
    leaseWrites: after.leaseWrites - before.leaseWrites,
    reads: after.reads - before.reads,
    ownRequests: after.own - before.own,
  };
  process.stdout.write(`idle minute, apiserver-side counts for the operator: ${JSON.stringify(delta)}\n`);
  // No write but the leader's Lease renewals (every RENEW_PERIOD_SECONDS: here 2 s, 10 s by default).
  expect(delta.writes).toBe(0);
  expect(delta.reads).toBe(0);
  expect(delta.leaseWrites).toBeGreaterThan(0);
  expect(delta.leaseWrites).toBeLessThanOrEqual(31);
  // The operator's own counter and the apiserver's are read a few hundred ms apart, so one renewal
  // (every 2 s here) may fall between the two samples.
  expect(Math.abs(delta.ownRequests - delta.leaseWrites)).toBeLessThanOrEqual(1);
}, 120_000);

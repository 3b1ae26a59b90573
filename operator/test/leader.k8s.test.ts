import { Client } from 'pg';
import { apply, jobPods, waitFor } from '@webrana/kube-lab';
import {
  migrationJobs,
  serviceDatabases,
  startOperator,
  useOperatorEnv,
  waitForCondition,
  webranaDatabase,
  type RunningOperator,
} from './harness';

// Restarts and leader election against kube-lab, with real migrations.
const env = useOperatorEnv('operator-leader');
const lab = env.lab;
const running: RunningOperator[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const op of running) await op.stop('SIGKILL');
  for (const c of cleanups) await c();
}, 60_000);

function launch(name: string): RunningOperator {
  const op = startOperator(env, name);
  running.push(op);
  return op;
}

const PRISMA_LOCK = 72707369;

test('killed mid-sequence (SIGKILL) and restarted: it resumes, creates no duplicate Job, and reaches Ready', async () => {
  const { dbs, spec, drop } = await serviceDatabases(env, 'crash');
  cleanups.push(drop);
  // Hold Prisma's migration lock on the auth database: auth's Job waits on it, so the run is
  // certainly mid-sequence when the operator dies.
  const holder = new Client({ connectionString: dbs.get('auth-service')!.url });
  holder.on('error', () => undefined); // dropping the database at the end terminates it
  await holder.connect();
  cleanups.unshift(() => holder.end().catch(() => undefined));
  await holder.query('SELECT pg_advisory_lock($1)', [PRISMA_LOCK]);

  const first = launch('crash-0');
  await apply(lab, env.ns, webranaDatabase('crash', spec));
  await waitFor('auth and catalog Jobs', async () => (await migrationJobs(env, 'crash')).length === 2);
  await first.waitForLog('status written', (e) => e.msg === 'status updated' && e.database === `${env.ns}/crash`);
  expect(await first.stop('SIGKILL')).toBeNull();

  // While no operator runs, catalog finishes, then auth once the lock is released. Nothing else starts.
  await waitFor('catalog done', async () =>
    (await migrationJobs(env, 'crash')).some((j) => j.service === 'catalog-service' && j.succeeded),
  );
  await holder.query('SELECT pg_advisory_unlock($1)', [PRISMA_LOCK]);
  await waitFor('auth done', async () =>
    (await migrationJobs(env, 'crash')).some((j) => j.service === 'auth-service' && j.succeeded),
  );
  await new Promise((r) => setTimeout(r, 2000));
  expect((await migrationJobs(env, 'crash')).map((j) => j.service).sort()).toEqual(['auth-service', 'catalog-service']);

  // A new process (another identity: it must wait out the dead leader's Lease) picks up the sequence.
  const second = launch('crash-1');
  const ready = await waitForCondition(env, 'crash', 'Ready', 'True', 180_000);
  expect(ready.status?.progress).toBe('4/4');

  const jobs = await migrationJobs(env, 'crash');
  expect(jobs.map((j) => j.service).sort()).toEqual([
    'auth-service',
    'billing-service',
    'catalog-service',
    'order-service',
  ]);
  for (const j of jobs) expect([j.name, (await jobPods(lab, env.ns, j.name)).length]).toEqual([j.name, 1]);
  // The new leader created only what was left, and never tried to create a Job twice.
  expect(
    await second.metric('webrana_operator_api_requests_total', { verb: 'create', resource: 'jobs', code: '201' }),
  ).toBe(2);
  expect(
    await second.metric('webrana_operator_api_requests_total', { verb: 'create', resource: 'jobs', code: '409' }),
  ).toBe(0);
  await second.stop();
}, 300_000);

test('two replicas: one leads, the other stands by; on SIGTERM the leader hands over and the standby carries on', async () => {
  const a = launch('replica-a');
  const b = launch('replica-b');
  const leaderOf = async () => {
    const [la, lb] = [await a.metric('webrana_operator_leader'), await b.metric('webrana_operator_leader')];
    return la + lb === 1 ? (la === 1 ? a : b) : undefined;
  };
  const leader = await waitFor('exactly one leader', leaderOf, { timeoutMs: 30_000 });
  const standby = leader === a ? b : a;

  const { spec, drop } = await serviceDatabases(env, 'pair');
  cleanups.push(drop);
  await apply(lab, env.ns, webranaDatabase('pair', spec));
  await waitForCondition(env, 'pair', 'Ready', 'True');
  // The standby watched nothing and wrote nothing: it only reads the Lease.
  const standbyRequests = await standby.metrics();
  expect(standbyRequests).not.toMatch(/resource="(jobs|cronjobs|webranadatabases|events)/);
  expect(await standby.metric('webrana_operator_reconcile_total')).toBe(0);

  const t0 = Date.now();
  expect(await leader.stop('SIGTERM')).toBe(0);
  await standby.waitForLog('leading', (e) => e.msg === 'became leader', 15_000);
  // The Lease was released, so the takeover took a retry period, not a lease duration.
  expect(Date.now() - t0).toBeLessThan(5000);

  const { spec: spec2, drop: drop2 } = await serviceDatabases(env, 'after');
  cleanups.push(drop2);
  await apply(lab, env.ns, webranaDatabase('after', spec2));
  await waitForCondition(env, 'after', 'Ready', 'True');
  // The new leader re-checked 'pair' and found nothing to do.
  expect((await migrationJobs(env, 'pair')).length).toBe(4);
}, 300_000);

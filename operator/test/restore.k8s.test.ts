import * as path from 'node:path';
import { withDatabase } from '@webrana/db';
import { apply, describeNamespace, getJson, jobPods, kubectl, waitFor } from '@webrana/kube-lab';
import { withClient } from '@webrana/testing';
import { Client } from 'pg';
import { startS3Server, type S3Server } from '../../jobs/test/s3-server';
import type { NodeDatabase } from '../../packages/kube-lab/test/node-database';
import type { WebranaDatabaseSpec } from '../src/api/types';
import { REPLICAS_ANNOTATION, type WebranaRestore, type WebranaRestoreSpec } from '../src/restore/api';
import {
  condition,
  databaseWithSecret,
  getDatabase,
  hostPathClaim,
  startOperator,
  useOperatorEnv,
  waitForCondition,
  webranaDatabase,
  JOBS_IMAGE,
  type RunningOperator,
} from './harness';

// WebranaRestore on the real node: restore Jobs of the jobs image against the namespace's PostgreSQL, a
// versitygw bucket on the node address, dumps on a hostPath volume, and the operator under the chart's
// RBAC. The Deployments here only idle (their scale is what the operator changes); the service's own
// pods and /health/db after a restore are restore-real-node.k8s.test.ts's.
const env = useOperatorEnv('restore');
const lab = env.lab;
const DB = 'rs';
const BUCKET = 'rs-dumps';
let operator: RunningOperator;
let s3: S3Server;
let auth: NodeDatabase;

const users = (url: string) =>
  withClient(url, async (c) =>
    (await c.query<{ email: string }>('SELECT email FROM users ORDER BY email')).rows.map((r) => r.email),
  );
const addUsers = (url: string, prefix: string, n: number) =>
  withClient(url, (c) =>
    c.query(
      `INSERT INTO users (email, password_hash, full_name)
       SELECT $1 || g || '@example.test', 'x', 'User ' || g FROM generate_series(1, $2::int) g`,
      [prefix, n],
    ),
  );

async function restoreOf(name: string): Promise<WebranaRestore | undefined> {
  return getJson<WebranaRestore>(lab, ['webranarestore', name, '-n', env.ns]);
}

async function createRestore(name: string, spec: WebranaRestoreSpec): Promise<void> {
  await apply(lab, env.ns, { apiVersion: 'webrana.cloud/v1alpha1', kind: 'WebranaRestore', metadata: { name }, spec });
}

async function waitForPhase(name: string, phase: 'Succeeded' | 'Failed', timeoutMs = 120_000): Promise<WebranaRestore> {
  return waitFor(
    `${name} ${phase}`,
    async () => {
      const r = await restoreOf(name);
      if (r?.status?.phase && r.status.phase !== phase && ['Succeeded', 'Failed'].includes(r.status.phase))
        throw new Error(`${name} ended ${r.status.phase}: ${r.status.reason}: ${r.status.message}`);
      return r?.status?.phase === phase ? r : undefined;
    },
    { timeoutMs, intervalMs: 500, diagnose: () => describeNamespace(lab, env.ns) },
  );
}

async function restoreJobs(name: string): Promise<string[]> {
  const list = await getJson<{ items: { metadata: { name: string } }[] }>(lab, [
    'jobs',
    '-n',
    env.ns,
    '-l',
    `webrana.cloud/restore=${name}`,
  ]);
  return (list?.items ?? []).map((j) => j.metadata.name);
}

async function eventReasons(kind: string, name: string): Promise<string[]> {
  const list = await getJson<{ items: { reason: string }[] }>(lab, [
    'events',
    '-n',
    env.ns,
    '--field-selector',
    `involvedObject.kind=${kind},involvedObject.name=${name}`,
  ]);
  return (list?.items ?? []).map((e) => e.reason);
}

async function deployment(name: string, service: string, replicas: number): Promise<void> {
  await apply(lab, env.ns, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { 'app.kubernetes.io/name': service } },
    spec: {
      replicas,
      selector: { matchLabels: { 'app.kubernetes.io/name': service, 'app.kubernetes.io/component': 'server' } },
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': service, 'app.kubernetes.io/component': 'server' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'app',
              image: JOBS_IMAGE,
              command: ['node', '-e', 'setInterval(() => {}, 1 << 30)'],
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
            },
          ],
        },
      },
    },
  });
}
const replicasOf = async (name: string) =>
  (await getJson<{ spec: { replicas: number } }>(lab, ['deployment', name, '-n', env.ns]))?.spec.replicas;

/** A backup of auth-service now (backup-now), to the volume and the bucket; returns the dump's file name. */
async function backupNow(value: string): Promise<string> {
  await kubectl(lab, ['annotate', 'wdb', DB, '-n', env.ns, `webrana.cloud/backup-now=${value}`, '--overwrite']);
  return waitFor(
    `backup-now ${value} done`,
    async () => {
      const svc = (await getDatabase(env, DB))?.status?.services?.find((s) => s.name === 'auth-service');
      const success = svc?.backup?.lastSuccess;
      return success?.job.includes('-backup-now-') && svc?.backup?.lastJob === success.job && success.file
        ? success.file
        : undefined;
    },
    { timeoutMs: 120_000, diagnose: () => describeNamespace(lab, env.ns) },
  );
}

beforeAll(async () => {
  await kubectl(lab, ['wait', '--for=condition=Established', 'crd/webranarestores.webrana.cloud', '--timeout=60s']);
  s3 = await startS3Server({ host: lab.nodeIp });
  await s3.createBucket(BUCKET);
  await apply(lab, env.ns, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'rs-s3' },
    stringData: { AWS_ACCESS_KEY_ID: s3.accessKey, AWS_SECRET_ACCESS_KEY: s3.secretKey },
  });
  auth = await databaseWithSecret(env, 'rs_auth', 'rs-auth-db');
  await hostPathClaim(env.lab, 'rs-backups', path.join(env.tmp, 'rs-backups'));
  const spec: WebranaDatabaseSpec = {
    image: JOBS_IMAGE,
    services: [{ name: 'auth-service', databaseUrlSecretRef: { name: 'rs-auth-db', key: 'url' } }],
    migration: { backoffLimit: 0, activeDeadlineSeconds: 300 },
    // February 30th: never scheduled; every backup here is asked for. Volume and bucket both.
    backup: {
      schedule: '0 0 30 2 *',
      volumeClaimName: 'rs-backups',
      s3: {
        bucket: BUCKET,
        prefix: 'prod',
        endpoint: s3.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentialsSecretRef: { name: 'rs-s3' },
      },
    },
  };
  operator = startOperator(env, 'op-1');
  await operator.port;
  await apply(lab, env.ns, webranaDatabase(DB, spec));
  await waitForCondition(env, DB, 'Ready', 'True');
  await addUsers(auth.url, 'kept', 20);
}, 240_000);

afterAll(async () => {
  await operator?.stop();
  await s3?.stop();
}, 60_000);

test('in place from the volume with scaleDown: the Deployment goes to 0 (replicas recorded in an annotation) and back, the rows of the dump are back, the status names the dump, one Job', async () => {
  const dump = await backupNow('inplace');
  const before = await users(auth.url);
  expect(before).toHaveLength(20);
  await withClient(auth.url, (c) => c.query(`DELETE FROM users WHERE email LIKE 'kept1%'`));
  await addUsers(auth.url, 'after', 3);
  await deployment('auth-service', 'auth-service', 2);
  const seenZero = waitFor(
    'the Deployment at 0',
    async () => ((await replicasOf('auth-service')) === 0 ? true : undefined),
    {
      timeoutMs: 60_000,
      intervalMs: 100,
    },
  );

  await createRestore('inplace', {
    database: DB,
    service: 'auth-service',
    backup: 'latest',
    target: { inPlace: true },
    scaleDown: true,
  });
  await seenZero;
  // While it runs, the WebranaDatabase says the service is held.
  await waitFor('RestoreInProgress on the WebranaDatabase', async () =>
    (await eventReasons('WebranaDatabase', DB)).includes('HeldByRestore') ? true : undefined,
  );
  const done = await waitForPhase('inplace', 'Succeeded');
  expect(await users(auth.url)).toEqual(before);
  expect(done.status).toMatchObject({ reason: 'Restored', dump, targetDatabase: auth.name });
  expect(done.status?.conditions?.find((c) => c.type === 'Complete')?.status).toBe('True');
  expect(done.status?.conditions?.find((c) => c.type === 'ScaledDown')?.status).toBe('False');
  expect(done.metadata.annotations?.[REPLICAS_ANNOTATION]).toBe('2');
  expect(await replicasOf('auth-service')).toBe(2);
  expect(await restoreJobs('inplace')).toHaveLength(1);
  expect(await eventReasons('WebranaRestore', 'inplace')).toEqual(
    expect.arrayContaining(['ScaledDown', 'Restoring', 'ScaledUp', 'RestoreSucceeded']),
  );
  const termination = (await jobPods(lab, env.ns, done.status!.job!))[0]?.status?.containerStatuses?.[0]?.state
    ?.terminated as { message?: string } | undefined;
  expect(JSON.parse(termination?.message ?? '{}')).toMatchObject({ file: dump, database: auth.name });
  expect(termination?.message).not.toContain('postgres');
  // Held no more.
  await waitFor('RestoreInProgress False', async () =>
    condition(await getDatabase(env, DB), 'RestoreInProgress')?.status === 'False' ? true : undefined,
  );
  const cj = await getJson<{ spec: { suspend: boolean } }>(lab, ['cronjob', `${DB}-auth-service-backup`, '-n', env.ns]);
  expect(cj?.spec.suspend).toBe(false);
}, 240_000);

test('to a new database from the bucket, a named dump: the rows are in the new database, the service database is untouched', async () => {
  await withClient(auth.url, (c) => c.query('DELETE FROM users'));
  await addUsers(auth.url, 'bucket', 7);
  const dump = await backupNow('tobucket');
  const expected = await users(auth.url);
  await addUsers(auth.url, 'later', 2);
  const now = await users(auth.url);
  const name = `${auth.name}_copy`;
  await createRestore('newdb', {
    database: DB,
    service: 'auth-service',
    backup: dump,
    target: { newDatabase: name },
    source: 'bucket',
  });
  const done = await waitForPhase('newdb', 'Succeeded');
  expect(done.status).toMatchObject({ dump, targetDatabase: name });
  expect(await users(withDatabase(auth.url, name))).toEqual(expected);
  expect(await users(auth.url)).toEqual(now);
  const job = await getJson<{ spec: { template: { spec: { containers: { args: string[] }[]; volumes: unknown[] } } } }>(
    lab,
    ['job', done.status!.job!, '-n', env.ns],
  );
  expect(job?.spec.template.spec.containers[0]?.args).toContain(`--file=s3://${BUCKET}/prod/auth-service/${dump}`);
}, 240_000);

test("failures carry the reason in the status: a missing dump, a target at a newer migration, no such WebranaDatabase or service, a Deployment not the service's", async () => {
  await deployment('order-web', 'order-service', 3);
  await createRestore('nodump', {
    database: DB,
    service: 'auth-service',
    backup: 'auth-service-20200101T000000Z.tar.zst',
    target: { inPlace: true },
  });
  await createRestore('nodb', {
    database: 'nope',
    service: 'auth-service',
    backup: 'latest',
    target: { inPlace: true },
  });
  await createRestore('nosvc', { database: DB, service: 'order-service', backup: 'latest', target: { inPlace: true } });
  await createRestore('notmine', {
    database: DB,
    service: 'auth-service',
    backup: 'latest',
    target: { inPlace: true },
    scaleDown: true,
    deployment: 'order-web',
  });
  const nodump = await waitForPhase('nodump', 'Failed');
  expect(nodump.status?.reason).toBe('DumpNotFound');
  expect(nodump.status?.message).toContain('auth-service-20200101T000000Z.tar.zst');
  expect((await waitForPhase('nodb', 'Failed')).status).toMatchObject({ reason: 'DatabaseNotFound' });
  expect((await waitForPhase('nosvc', 'Failed')).status?.message).toContain(
    `WebranaDatabase ${DB} has no service order-service`,
  );
  const notmine = await waitForPhase('notmine', 'Failed');
  expect(notmine.status?.reason).toBe('DeploymentNotOwned');
  expect(await replicasOf('order-web')).toBe(3);
  for (const r of ['nodb', 'nosvc', 'notmine']) expect(await restoreJobs(r)).toEqual([]);
  expect(await eventReasons('WebranaRestore', 'nodump')).toContain('RestoreFailed');

  // A migration newer than any dump: the restore's own check refuses, nothing restored.
  await withClient(auth.url, (c) =>
    c.query(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES (gen_random_uuid()::text, 'x', '99991231000000_newer_than_any_dump', now(), now(), 1)`,
    ),
  );
  try {
    const before = await users(auth.url);
    await createRestore('newer', {
      database: DB,
      service: 'auth-service',
      backup: 'latest',
      target: { inPlace: true },
    });
    const newer = await waitForPhase('newer', 'Failed');
    expect(newer.status?.reason).toBe('TargetSchemaNewer');
    expect(newer.status?.message).toContain('99991231000000_newer_than_any_dump');
    expect(await users(auth.url)).toEqual(before);
  } finally {
    await withClient(auth.url, (c) =>
      c.query(`DELETE FROM _prisma_migrations WHERE migration_name = '99991231000000_newer_than_any_dump'`),
    );
  }
}, 240_000);

test('the spec is immutable and validated by the apiserver (CEL): a second thought is a new resource', async () => {
  const bad = await kubectl(lab, ['apply', '-n', env.ns, '-f', '-'], {
    allowFailure: true,
    input: JSON.stringify({
      apiVersion: 'webrana.cloud/v1alpha1',
      kind: 'WebranaRestore',
      metadata: { name: 'bad' },
      spec: { database: DB, service: 'auth-service', backup: 'latest', target: { inPlace: true, newDatabase: 'x' } },
    }),
  });
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain('give exactly one of inPlace and newDatabase');
  const patched = await kubectl(
    lab,
    ['patch', 'webranarestore', 'nodb', '-n', env.ns, '--type=merge', '-p', '{"spec":{"database":"other"}}'],
    { allowFailure: true },
  );
  expect(patched.code).not.toBe(0);
  expect(patched.stderr).toContain('spec is immutable');
});

test('an operator killed (SIGKILL) mid-restore: the next one finishes it with the same Job, never a second', async () => {
  const before = await users(auth.url);
  await backupNow('restart');
  await addUsers(auth.url, 'gone', 4);
  // An open transaction holding users: pg_restore --clean waits for its lock (up to the 30 s lock timeout).
  const holder = new Client({ connectionString: auth.url, application_name: 'report-job' });
  await holder.connect();
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT count(*) FROM users');
    await createRestore('restart', {
      database: DB,
      service: 'auth-service',
      backup: 'latest',
      target: { inPlace: true },
    });
    await waitFor(
      'the restore Running',
      async () => ((await restoreOf('restart'))?.status?.phase === 'Running' ? true : undefined),
      {
        timeoutMs: 60_000,
      },
    );
    expect(await operator.stop('SIGKILL')).toBeNull();
    operator = startOperator(env, 'op-2');
    await operator.waitForLog('leading', (e) => e.msg === 'caches started', 60_000);
  } finally {
    await holder.query('ROLLBACK').catch(() => undefined);
    await holder.end();
  }
  const done = await waitForPhase('restart', 'Succeeded');
  expect(await restoreJobs('restart')).toEqual([done.status!.job]);
  expect(await users(auth.url)).toEqual(before);
  expect(operator.lines.join('\n')).not.toContain('restore Job created');
}, 240_000);

import * as fs from 'node:fs';
import * as path from 'node:path';
import { generate } from '@webrana/datagen';
import { apply, getJson, kubectl, waitFor } from '@webrana/kube-lab';
import { withClient } from '@webrana/testing';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { copyAsLater, dropFirstRow, tamperedArchive } from '../../jobs/test/backup-verify-helpers';
import { startS3Server } from '../../jobs/test/s3-server';
import type { NodeDatabase } from '../../packages/kube-lab/test/node-database';
import type { WebranaDatabaseSpec } from '../src/api/types';
import { verifyCronJobName } from '../src/names';
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

// Restore drills on the real node: the drill pods run the jobs image against the namespace's PostgreSQL
// (their termination message is the drill's outcome), the dumps are on a hostPath volume, and the
// operator runs under the chart's RBAC. The first resource's drill CronJob runs every minute here, so
// its drills are scheduled ones; the bucket's drill is started by hand, as ops would after a backup.
const env = useOperatorEnv('drills');
const lab = env.lab;
const DB = 'dr';
const SERVICE = 'order-service';
let operator: RunningOperator;
let db: NodeDatabase;
let backupDir: string;

const verifiedMetric = () =>
  operator.metric('webrana_backup_last_verified_timestamp_seconds', {
    namespace: env.ns,
    database: DB,
    service: SERVICE,
  });
const dumpDir = () => path.join(backupDir, SERVICE);
const manifestOf = (file: string) => JSON.parse(fs.readFileSync(path.join(dumpDir(), `${file}.json`), 'utf8'));
const drillStatus = async () =>
  (await getDatabase(env, DB))?.status?.services?.find((s) => s.name === SERVICE)?.backup?.verify;

async function events(reason: string): Promise<string[]> {
  const list = await getJson<{ items: { reason: string; message: string }[] }>(lab, [
    'events',
    '-n',
    env.ns,
    '--field-selector',
    `involvedObject.kind=WebranaDatabase,involvedObject.name=${DB},reason=${reason}`,
  ]);
  return (list?.items ?? []).map((e) => e.message);
}

beforeAll(async () => {
  db = await databaseWithSecret(env, 'dr_order', 'dr-order-db');
  const spec: WebranaDatabaseSpec = {
    image: JOBS_IMAGE,
    services: [{ name: SERVICE, databaseUrlSecretRef: { name: 'dr-order-db', key: 'url' } }],
    migration: { backoffLimit: 0, activeDeadlineSeconds: 300 },
    // February 30th: backups never fire by themselves (one is asked for below); drills every minute.
    backup: { schedule: '0 0 30 2 *', volumeClaimName: 'dr-backups', verify: { schedule: '* * * * *' } },
  };
  backupDir = await hostPathClaim(env.lab, 'dr-backups', path.join(env.tmp, 'dr-backups'));
  operator = startOperator(env, 'op-1');
  await operator.port;
  await apply(lab, env.ns, webranaDatabase(DB, spec));
  await waitForCondition(env, DB, 'Ready', 'True');
  await generate('order', db.url, 200);
  await kubectl(lab, ['annotate', 'wdb', DB, '-n', env.ns, 'webrana.cloud/backup-now=drills']);
  await waitFor(
    'the backup-now Job done',
    async () => (await getDatabase(env, DB))?.status?.services?.[0]?.backup?.lastSuccess?.file,
    { timeoutMs: 120_000 },
  );
}, 300_000);

afterAll(async () => {
  await operator?.stop();
});

let good: string;
let verifiedAt: number;

test("a scheduled drill passes on a good dump: BackupVerified True naming the dump, the metric at the drill's time, verifiedAt in the manifest, an Event", async () => {
  good = (await getDatabase(env, DB))!.status!.services![0]!.backup!.lastSuccess!.file!;
  // A drill that ran before the backup existed fails without marking anything (DrillError); the next one passes.
  const passed = await waitForCondition(env, DB, 'BackupVerified', 'True', 180_000);
  const c = condition(passed, 'BackupVerified')!;
  expect(c.reason).toBe('DrillsPassed');
  expect(c.message).toContain(`${SERVICE}: ${good} (taken `);
  const status = (await drillStatus())!;
  expect(status).toMatchObject({ lastResult: 'Passed', lastFile: good, lastPass: { file: good } });
  verifiedAt = Date.parse(status.lastPass!.verifiedAt) / 1000;
  await waitFor('the metric advanced', async () => ((await verifiedMetric()) === verifiedAt ? true : undefined));
  expect(manifestOf(good).verifiedAt).toEqual(expect.any(String));
  expect(manifestOf(good).drillFailure).toBeUndefined();
  expect((await events('BackupVerified')).some((m) => m.includes(`passed: ${good} restored`))).toBe(true);
}, 240_000);

test('a scheduled drill fails on a dump altered after it was written: condition False (DrillFailed), metric not advanced, dump marked', async () => {
  // The newest dump now: a copy of the good one a minute later, one status_history row cut out of its
  // data and its manifest's sha256 and size made to match, so only the drill's row count can tell.
  const altered = copyAsLater(path.join(dumpDir(), good), 60);
  await tamperedArchive(altered, (dataFile) => dropFirstRow(dataFile('public.status_history')));
  const name = path.basename(altered);
  // The drill pods (uid 10001) mark the dump in its manifest.
  for (const file of [altered, `${altered}.json`]) fs.chownSync(file, 10001, 10001);
  const failed = await waitForCondition(env, DB, 'BackupVerified', 'False', 180_000);
  const c = condition(failed, 'BackupVerified')!;
  expect(c.reason).toBe('DrillFailed');
  expect(c.message).toContain(`of ${name} failed: table public.status_history has`);
  expect(await drillStatus()).toMatchObject({ lastResult: 'Failed', lastFile: name, lastDumpFailed: true });
  expect(manifestOf(name).drillFailure.problems[0]).toMatch(/^table public\.status_history has \d+ rows/);
  expect(await verifiedMetric()).toBe(verifiedAt);
  expect((await events('BackupVerificationFailed')).some((m) => m.includes(name))).toBe(true);
  // No scratch database is left behind by the drills (one may exist while a drill runs: every minute here).
  const scratch = () =>
    withClient(lab.postgres.url, (client) =>
      client.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${db.name}\\_drill\\_%`]),
    );
  await waitFor('no scratch database', async () => ((await scratch()).rows.length === 0 ? true : undefined));
}, 240_000);

test('from a bucket alone (spec.backup.s3, no volume): a drill (kubectl create job --from its CronJob) restores the newest object, BackupVerified True, verifiedAt in its manifest object', async () => {
  const s3 = await startS3Server({ host: lab.nodeIp });
  const other = await databaseWithSecret(env, 'dr_auth', 'dr-auth-db');
  try {
    await s3.createBucket('dr-dumps');
    await apply(lab, env.ns, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'dr-s3' },
      stringData: { AWS_ACCESS_KEY_ID: s3.accessKey, AWS_SECRET_ACCESS_KEY: s3.secretKey },
    });
    const spec: WebranaDatabaseSpec = {
      image: JOBS_IMAGE,
      services: [{ name: 'auth-service', databaseUrlSecretRef: { name: 'dr-auth-db', key: 'url' } }],
      migration: { backoffLimit: 0, activeDeadlineSeconds: 300 },
      backup: {
        schedule: '0 0 30 2 *',
        s3: {
          bucket: 'dr-dumps',
          prefix: 'prod',
          endpoint: s3.endpoint,
          forcePathStyle: true,
          credentialsSecretRef: { name: 'dr-s3' },
        },
        // Never by itself: the drill is started by hand once the backup is there.
        verify: { schedule: '0 0 30 2 *' },
      },
    };
    await apply(lab, env.ns, webranaDatabase('drs3', spec));
    await waitForCondition(env, 'drs3', 'Ready', 'True');
    await kubectl(lab, ['annotate', 'wdb', 'drs3', '-n', env.ns, 'webrana.cloud/backup-now=bucket']);
    const file = await waitFor(
      'the backup to the bucket',
      async () => (await getDatabase(env, 'drs3'))?.status?.services?.[0]?.backup?.lastSuccess?.file,
      { timeoutMs: 120_000 },
    );
    const cronJob = verifyCronJobName('drs3', 'auth-service');
    await kubectl(lab, ['create', 'job', 'drs3-drill', `--from=cronjob/${cronJob}`, '-n', env.ns]);
    const passed = await waitForCondition(env, 'drs3', 'BackupVerified', 'True', 180_000);
    expect(condition(passed, 'BackupVerified')?.message).toContain(`auth-service: ${file} (taken `);
    const manifest = await s3.client.send(
      new GetObjectCommand({ Bucket: 'dr-dumps', Key: `prod/auth-service/${file}.json` }),
    );
    expect(JSON.parse(await manifest.Body!.transformToString()).verifiedAt).toEqual(expect.any(String));
  } finally {
    await kubectl(lab, ['delete', 'wdb', 'drs3', '-n', env.ns, '--wait=false'], { allowFailure: true });
    await s3.stop();
    await other.drop().catch(() => undefined);
  }
}, 360_000);

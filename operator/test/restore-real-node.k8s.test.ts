import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  apply,
  describeNamespace,
  getJson,
  helm,
  imageRef,
  jobCondition,
  kubectl,
  useRealNode,
  waitFor,
  type KubeObject,
} from '@webrana/kube-lab';
import { REPO_ROOT } from '@webrana/registry';
import { withDatabase } from '@webrana/db';
import { withClient } from '@webrana/testing';
import { startS3Server, type S3Server } from '../../jobs/test/s3-server';
import type { WebranaDatabase } from '../src/api/types';
import { backupCronJobName } from '../src/names';
import { REPLICAS_ANNOTATION, type WebranaRestore } from '../src/restore/api';
import { databaseAndSecret } from '../../packages/kube-lab/test/node-database';
import { CHART_DIR, RELEASE, hostPathClaim } from './harness';

// WebranaRestore on the REAL node (kubelet + containerd + runc): the operator installed from its chart
// with its image, auth-service installed from the service chart with its image (2 replicas behind a
// ClusterIP Service), the jobs image running the backup and the restore against PostgreSQL on the host.
// The in-place restore with scaleDown: the Deployment's pods really go, the restore Job runs, the
// Deployment comes back, the restored rows are there and /health/db answers 200 through the Service.
const lab = useRealNode('real-rs');
const report = (line: string) => process.stderr.write(`real-node restore: ${line}\n`);
const seconds = (t0: number) => ((Date.now() - t0) / 1000).toFixed(1);

const WDB = 'shop';
const SERVICE = 'auth-service';
const dbName = `webrana_auth_rs_${randomBytes(3).toString('hex')}`;
const backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-real-restore-'));

let s3: S3Server | undefined;
afterAll(async () => {
  await s3?.stop();
  fs.rmSync(backupDir, { recursive: true, force: true });
}, 60_000);

const hostUrl = () => {
  const url = new URL(lab.postgres.url);
  url.pathname = `/${dbName}`;
  return url.toString();
};
const users = (url = hostUrl()) =>
  withClient(url, async (c) =>
    (await c.query<{ email: string }>('SELECT email FROM users ORDER BY email')).rows.map((r) => r.email),
  );

async function helmInstall(args: string[]): Promise<void> {
  const r = await helm(lab, [...args, '--wait', '--timeout', '4m'], { timeoutMs: 300_000, allowFailure: true });
  if (r.code !== 0)
    throw new Error(`helm ${args.slice(0, 2).join(' ')} failed:\n${r.stderr}\n${await describeNamespace(lab, lab.ns)}`);
}

async function servicePods(): Promise<KubeObject[]> {
  const list = await getJson<{ items: KubeObject[] }>(lab, [
    'pods',
    '-n',
    lab.ns,
    '-l',
    `app.kubernetes.io/name=${SERVICE},app.kubernetes.io/component=server`,
  ]);
  return list?.items ?? [];
}

/** GET /health/db through the Service's ClusterIP, from inside a pod of the service (node's fetch). */
async function healthDb(): Promise<{ status: number; body: Record<string, unknown> }> {
  const svc = await getJson<{ spec: { clusterIP: string } }>(lab, ['service', SERVICE, '-n', lab.ns]);
  const pod = (await servicePods()).find((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
  if (!pod) throw new Error('no running pod of the service');
  const out = await kubectl(
    lab,
    [
      'exec',
      pod.metadata.name,
      '-n',
      lab.ns,
      '--',
      'node',
      '-e',
      `fetch('http://${svc!.spec.clusterIP}/health/db',{headers:{accept:'application/json'}}).then(async r=>console.log(JSON.stringify({status:r.status,body:await r.json()})))`,
    ],
    { timeoutMs: 60_000 },
  );
  return JSON.parse(out.stdout) as { status: number; body: Record<string, unknown> };
}

test('in place with scaleDown on the real node: the pods go, the restore Job brings the rows of the dump back, the Deployment returns and /health/db answers 200 through its Service', async () => {
  // The operator, from its chart and image.
  await helmInstall([
    'install',
    RELEASE,
    CHART_DIR,
    '-n',
    lab.ns,
    '--set',
    `watchNamespace=${lab.ns}`,
    '--set',
    'replicaCount=1',
    '--set',
    'image.pullPolicy=Never',
  ]);
  // The service's database, its Secret, the backups volume (hostPath PV: the pods only name the claim).
  await databaseAndSecret(lab, dbName, 'auth-db', 'url');
  await hostPathClaim(lab, 'backups', backupDir);
  await apply(lab, lab.ns, {
    apiVersion: 'webrana.cloud/v1alpha1',
    kind: 'WebranaDatabase',
    metadata: { name: WDB },
    spec: {
      image: imageRef('jobs'),
      imagePullPolicy: 'Never',
      services: [{ name: SERVICE, databaseUrlSecretRef: { name: 'auth-db', key: 'url' } }],
      migration: { backoffLimit: 0, activeDeadlineSeconds: 300 },
      backup: { schedule: '0 0 30 2 *', volumeClaimName: 'backups', retention: { daily: 7 } },
    },
  });
  await waitFor(
    `${WDB} Ready`,
    async () => {
      const db = await getJson<WebranaDatabase>(lab, ['webranadatabase', WDB, '-n', lab.ns]);
      return db?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 1000, diagnose: () => describeNamespace(lab, lab.ns) },
  );
  // The service, from its chart and image: the operator migrated its database, so no hooks.
  await helmInstall([
    'install',
    SERVICE,
    path.join(REPO_ROOT, 'charts', 'webrana-service'),
    '-n',
    lab.ns,
    '--set',
    `serviceName=${SERVICE}`,
    '--set',
    'image.pullPolicy=Never',
    '--set',
    'hooks.enabled=false',
    '--set',
    'replicaCount=2',
    '--set',
    'database.existingSecret=auth-db',
    '--set',
    'database.existingSecretKey=url',
    ...lab.postgres.networkPolicyFlags(),
  ]);
  expect((await healthDb()).status).toBe(200);

  // Rows, a backup of them (the CronJob's own Job), then changes the restore must undo.
  await withClient(hostUrl(), (c) =>
    c.query(`INSERT INTO users (email, password_hash, full_name)
             SELECT 'real' || g || '@example.test', 'x', 'Real ' || g FROM generate_series(1, 30) g`),
  );
  const expected = await users();
  const backupJob = `${backupCronJobName(WDB, SERVICE)}-manual`;
  await kubectl(lab, ['create', 'job', backupJob, `--from=cronjob/${backupCronJobName(WDB, SERVICE)}`, '-n', lab.ns]);
  await jobCondition(lab, lab.ns, backupJob, 'Complete', 180_000);
  const dump = fs.readdirSync(path.join(backupDir, SERVICE)).find((f) => f.endsWith('.tar.zst'));
  expect(dump).toBeDefined();
  await withClient(hostUrl(), (c) => c.query(`DELETE FROM users WHERE email LIKE 'real1%'`));
  expect((await users()).length).toBeLessThan(expected.length);

  const t0 = Date.now();
  let podsGoneAt: number | undefined;
  let minReplicas = Infinity;
  const watcher = (async () => {
    while (Date.now() - t0 < 300_000) {
      const replicas = (await getJson<{ spec: { replicas: number } }>(lab, ['deployment', SERVICE, '-n', lab.ns]))?.spec
        .replicas;
      minReplicas = Math.min(minReplicas, replicas ?? Infinity);
      if (!podsGoneAt && (await servicePods()).length === 0) podsGoneAt = Date.now();
      if (podsGoneAt) return;
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  await apply(lab, lab.ns, {
    apiVersion: 'webrana.cloud/v1alpha1',
    kind: 'WebranaRestore',
    metadata: { name: 'rollback' },
    spec: { database: WDB, service: SERVICE, backup: 'latest', target: { inPlace: true }, scaleDown: true },
  });
  const done = await waitFor(
    'the restore Succeeded',
    async () => {
      const r = await getJson<WebranaRestore>(lab, ['webranarestore', 'rollback', '-n', lab.ns]);
      if (r?.status?.phase === 'Failed') throw new Error(`restore failed: ${r.status.reason}: ${r.status.message}`);
      return r?.status?.phase === 'Succeeded' ? r : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 500, diagnose: () => describeNamespace(lab, lab.ns) },
  );
  const restoreSeconds = seconds(t0);
  await watcher;
  expect(minReplicas).toBe(0);
  expect(podsGoneAt).toBeDefined();
  expect(done.status).toMatchObject({ reason: 'Restored', dump, targetDatabase: dbName });
  expect(done.metadata.annotations?.[REPLICAS_ANNOTATION]).toBe('2');
  expect(await users()).toEqual(expected);

  // Back: two Ready pods, and the database answers through the Service.
  await waitFor(
    'the Deployment available again',
    async () => {
      const dep = await getJson<{ status?: { readyReplicas?: number } }>(lab, ['deployment', SERVICE, '-n', lab.ns]);
      return dep?.status?.readyReplicas === 2 ? true : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 500, diagnose: () => describeNamespace(lab, lab.ns) },
  );
  const downSeconds = seconds(podsGoneAt!);
  const health = await healthDb();
  expect(health.status).toBe(200);
  expect(health.body).toMatchObject({ status: 'healthy', database: 'connected' });
  const jobs = await getJson<{ items: KubeObject[] }>(lab, [
    'jobs',
    '-n',
    lab.ns,
    '-l',
    'webrana.cloud/restore=rollback',
  ]);
  expect(jobs?.items).toHaveLength(1);
  report(
    `WebranaRestore apply -> Succeeded ${restoreSeconds} s (scale down, pods gone, restore Job, scale back); ` +
      `no pods for ${downSeconds} s until 2 Ready again`,
  );
}, 900_000);

test('from a bucket (versitygw on the node address) to a new database on the real node: the rows are in the new database, the service database and its pods are untouched, /health/db 200', async () => {
  s3 = await startS3Server({ host: lab.nodeIp });
  await s3.createBucket('rs-offsite');
  await kubectl(lab, [
    'create',
    'secret',
    'generic',
    'rs-s3',
    '-n',
    lab.ns,
    `--from-literal=AWS_ACCESS_KEY_ID=${s3.accessKey}`,
    `--from-literal=AWS_SECRET_ACCESS_KEY=${s3.secretKey}`,
  ]);
  // The same database, now backed up to the volume and the bucket.
  const db = await getJson<WebranaDatabase>(lab, ['webranadatabase', WDB, '-n', lab.ns]);
  await kubectl(lab, [
    'patch',
    'webranadatabase',
    WDB,
    '-n',
    lab.ns,
    '--type=merge',
    '-p',
    JSON.stringify({
      spec: {
        backup: {
          ...db!.spec.backup,
          s3: {
            bucket: 'rs-offsite',
            prefix: 'prod',
            endpoint: s3.endpoint,
            region: 'us-east-1',
            forcePathStyle: true,
            credentialsSecretRef: { name: 'rs-s3' },
          },
        },
      },
    }),
  ]);
  const cronJob = backupCronJobName(WDB, SERVICE);
  await waitFor('the CronJob writing to the bucket', async () => {
    const cj = await getJson<{
      spec: { jobTemplate: { spec: { template: { spec: { containers: { env?: { name: string }[] }[] } } } } };
    }>(lab, ['cronjob', cronJob, '-n', lab.ns]);
    return cj?.spec.jobTemplate.spec.template.spec.containers[0]?.env?.some((e) => e.name === 'BACKUP_S3_URL')
      ? true
      : undefined;
  });
  const expected = await users();
  const backupJob = `${cronJob}-offsite`;
  await kubectl(lab, ['create', 'job', backupJob, `--from=cronjob/${cronJob}`, '-n', lab.ns]);
  await jobCondition(lab, lab.ns, backupJob, 'Complete', 180_000);
  const objects = fs.readdirSync(path.join(s3.root, 'rs-offsite', 'prod', SERVICE));
  const dump = objects.find((o) => o.endsWith('.tar.zst'));
  expect(objects.sort()).toEqual([dump, `${dump}.json`]);
  await withClient(hostUrl(), (c) =>
    c.query(`INSERT INTO users (email, password_hash, full_name) VALUES ('late@example.test', 'x', 'Late')`),
  );
  const now = await users();

  const target = `${dbName}_restored`;
  const t0 = Date.now();
  await apply(lab, lab.ns, {
    apiVersion: 'webrana.cloud/v1alpha1',
    kind: 'WebranaRestore',
    metadata: { name: 'offsite-copy' },
    spec: { database: WDB, service: SERVICE, backup: 'latest', target: { newDatabase: target }, source: 'bucket' },
  });
  const done = await waitFor(
    'the restore Succeeded',
    async () => {
      const r = await getJson<WebranaRestore>(lab, ['webranarestore', 'offsite-copy', '-n', lab.ns]);
      if (r?.status?.phase === 'Failed') throw new Error(`restore failed: ${r.status.reason}: ${r.status.message}`);
      return r?.status?.phase === 'Succeeded' ? r : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 500, diagnose: () => describeNamespace(lab, lab.ns) },
  );
  report(`WebranaRestore from the bucket to a new database: apply -> Succeeded ${seconds(t0)} s`);
  expect(done.status).toMatchObject({ reason: 'Restored', dump, targetDatabase: target });
  expect(await users(withDatabase(hostUrl(), target))).toEqual(expected);
  expect(await users()).toEqual(now);
  const dep = await getJson<{ spec: { replicas: number }; status?: { readyReplicas?: number } }>(lab, [
    'deployment',
    SERVICE,
    '-n',
    lab.ns,
  ]);
  expect({ replicas: dep?.spec.replicas, ready: dep?.status?.readyReplicas }).toEqual({ replicas: 2, ready: 2 });
  const health = await healthDb();
  expect(health.status).toBe(200);
  const logs = (await kubectl(lab, ['logs', `job/${done.status!.job}`, '-n', lab.ns])).stdout;
  const status = JSON.stringify(done.status);
  for (const [where, text] of Object.entries({ logs, status }))
    expect({ where, secret: text.includes(s3.secretKey) }).toEqual({ where, secret: false });
}, 600_000);

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import {
  apply,
  describeNamespace,
  getJson,
  helm,
  imageRef,
  jobCondition,
  jobPods,
  kubectl,
  run,
  useRealNode,
  waitFor,
  type KubeObject,
} from '@webrana/kube-lab';
import { getService, SERVICES, type ServiceName } from '@webrana/registry';
import { withClient } from '@webrana/testing';
import { runCli } from '../../jobs/test/helpers';
import { startS3Server, type S3Server } from '../../jobs/test/s3-server';
import type { WebranaDatabase, WebranaDatabaseSpec } from '../src/api/types';
import { BACKUP_NOW_ANNOTATION, LABELS, backupCronJobName, backupNowJobName } from '../src/names';
import { CHART_DIR, RELEASE, SERVICE_ACCOUNT, hostPathClaim } from './harness';

// The operator on the REAL node (scripts/kube-lab/start: kubelet + containerd + runc): installed from
// its chart with its image, two replicas electing a leader; its migration Jobs and backup CronJobs run the
// jobs image against PostgreSQL on the host (reached through the Service `postgres`), backups go to a
// hostPath-backed PersistentVolume and to a versitygw bucket on the node address. Nothing is a stand-in.
const lab = useRealNode('real-op');

const report = (line: string) => process.stderr.write(`real-node operator: ${line}\n`);
const seconds = (t0: number) => ((Date.now() - t0) / 1000).toFixed(1);

const WDB = 'shop';
const BUCKET = 'webrana-offsite';
const PRISMA_LOCK = 72707369;
const suffix = randomBytes(3).toString('hex');
/** One database per service for each WebranaDatabase of this file. */
const dbName = (service: ServiceName, wdb: string) => `${getService(service).database}_${wdb}_${suffix}`;
/** The hostPath behind the backups PersistentVolume: written by the backup pods (uid 10001), read here. */
const backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-real-backups-'));
let s3: S3Server | undefined;
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const c of cleanups) await c().catch(() => undefined);
  await s3?.stop();
  fs.rmSync(backupDir, { recursive: true, force: true });
}, 60_000);

/** The host's URL (superuser) of one service's test database. */
function hostUrl(service: ServiceName, wdb = WDB): string {
  const url = new URL(lab.postgres.url);
  url.pathname = `/${dbName(service, wdb)}`;
  return url.toString();
}

/** The four empty databases of `wdb` and their Secrets (`<wdb>-<service>-db`, key url: the pods' URL). */
async function createDatabases(wdb: string): Promise<void> {
  await withClient(lab.postgres.url, async (c) => {
    for (const s of SERVICES) await c.query(`CREATE DATABASE "${dbName(s.name, wdb)}"`);
  });
  for (const s of SERVICES) {
    const url = lab.postgres.podUrl(dbName(s.name, wdb));
    await kubectl(lab, [
      'create',
      'secret',
      'generic',
      `${wdb}-${s.name}-db`,
      '-n',
      lab.ns,
      `--from-literal=url=${url}`,
    ]);
  }
}

/** Holds Prisma's migration lock on a database: its migration Job waits, so a wave is certainly running. */
async function holdMigrationLock(url: string): Promise<() => Promise<void>> {
  const holder = new Client({ connectionString: url });
  holder.on('error', () => undefined);
  await holder.connect();
  cleanups.push(() => holder.end());
  await holder.query('SELECT pg_advisory_lock($1)', [PRISMA_LOCK]);
  return async () => void (await holder.query('SELECT pg_advisory_unlock($1)', [PRISMA_LOCK]));
}

async function resource(wdb = WDB): Promise<WebranaDatabase | undefined> {
  return getJson<WebranaDatabase>(lab, ['webranadatabase', wdb, '-n', lab.ns]);
}

async function waitReady(timeoutMs: number, wdb = WDB): Promise<WebranaDatabase> {
  return waitFor(
    `${wdb} Ready for its generation`,
    async () => {
      const db = await resource(wdb);
      const ready = db?.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' && ready.observedGeneration === db?.metadata.generation ? db : undefined;
    },
    { timeoutMs, intervalMs: 500, diagnose: () => describeNamespace(lab, lab.ns) },
  );
}

async function migrationJobs(wdb = WDB): Promise<KubeObject[]> {
  const list = await getJson<{ items: KubeObject[] }>(lab, [
    'jobs',
    '-n',
    lab.ns,
    '-l',
    `${LABELS.database}=${wdb},${LABELS.component}=migration`,
  ]);
  return list?.items ?? [];
}

const serviceOf = (job: KubeObject) => job.metadata.labels?.[LABELS.service] ?? '?';
const succeeded = (job: KubeObject) => ((job.status as { succeeded?: number } | undefined)?.succeeded ?? 0) > 0;

async function leaseHolder(): Promise<string | undefined> {
  const lease = await getJson<{ spec?: { holderIdentity?: string } }>(lab, ['lease', SERVICE_ACCOUNT, '-n', lab.ns]);
  return lease?.spec?.holderIdentity || undefined;
}

async function operatorPods(): Promise<string[]> {
  const list = await getJson<{ items: KubeObject[] }>(lab, [
    'pods',
    '-n',
    lab.ns,
    '-l',
    `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/name=webrana-operator`,
  ]);
  return (list?.items ?? []).filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name);
}

/** Exactly one migration Job per service, each with one pod, and every database migrated. */
async function expectOneMigrationJobEach(wdb: string): Promise<void> {
  const jobs = await migrationJobs(wdb);
  const perService = Object.fromEntries(
    SERVICES.map((s) => [s.name, jobs.filter((j) => serviceOf(j) === s.name).length]),
  );
  expect(perService).toEqual({ 'auth-service': 1, 'catalog-service': 1, 'order-service': 1, 'billing-service': 1 });
  for (const j of jobs) {
    const pods = (await jobPods(lab, lab.ns, j.metadata.name)).length;
    expect({ job: j.metadata.name, pods }).toEqual({ job: j.metadata.name, pods: 1 });
  }
  for (const s of SERVICES) {
    const n = await withClient(hostUrl(s.name, wdb), (c) =>
      c.query<{ n: string }>('SELECT count(*) AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL'),
    );
    expect({ service: s.name, migrated: Number(n.rows[0]!.n) > 0 }).toEqual({ service: s.name, migrated: true });
  }
}

/** A table of our own in a service's database, so a restore has rows to bring back. */
async function writeProbeRows(service: ServiceName, notes: string[]): Promise<void> {
  await withClient(hostUrl(service), async (c) => {
    await c.query('CREATE TABLE IF NOT EXISTS real_node_probe (id serial PRIMARY KEY, note text NOT NULL)');
    await c.query('TRUNCATE real_node_probe');
    for (const note of notes) await c.query('INSERT INTO real_node_probe (note) VALUES ($1)', [note]);
  });
}

async function probeRows(service: ServiceName): Promise<string[]> {
  return withClient(hostUrl(service), async (c) =>
    (await c.query<{ note: string }>('SELECT note FROM real_node_probe ORDER BY id')).rows.map((r) => r.note),
  );
}

async function jobLogs(job: string): Promise<string> {
  return (await kubectl(lab, ['logs', `job/${job}`, '-n', lab.ns, '--all-containers'])).stdout;
}

function spec(backup: WebranaDatabaseSpec['backup'], wdb = WDB): WebranaDatabaseSpec {
  return {
    image: imageRef('jobs'),
    imagePullPolicy: 'Never',
    services: SERVICES.map((s) => ({
      name: s.name,
      databaseUrlSecretRef: { name: `${wdb}-${s.name}-db`, key: 'url' },
      ...(s.dependsOn.length > 0 ? { dependsOn: [...s.dependsOn] } : {}),
    })),
    migration: { backoffLimit: 0, activeDeadlineSeconds: 300 },
    backup,
  };
}

describe('the operator chart on the real node', () => {
  test('installed with its image and 2 replicas: both pods Ready, and the Lease is held by one of them', async () => {
    const t0 = Date.now();
    const install = await helm(
      lab,
      [
        'install',
        RELEASE,
        CHART_DIR,
        '-n',
        lab.ns,
        '--set',
        `watchNamespace=${lab.ns}`,
        '--set',
        'replicaCount=2',
        '--set',
        'image.pullPolicy=Never',
        // Short leases so a crash without hand-over costs seconds, not the default 30 s.
        '--set',
        'leaderElection.leaseDurationSeconds=6,leaderElection.renewPeriodSeconds=2',
        '--set',
        'leaderElection.renewDeadlineSeconds=4,leaderElection.retryPeriodSeconds=1',
        '--wait',
        '--timeout',
        '3m',
      ],
      { timeoutMs: 240_000, allowFailure: true },
    );
    if (install.code !== 0) {
      throw new Error(
        `helm install of the operator failed:\n${install.stderr}\n${await describeNamespace(lab, lab.ns)}`,
      );
    }
    report(`helm install --wait of the operator (2 replicas Ready): ${seconds(t0)} s`);
    const deployment = await getJson(lab, ['deployment', SERVICE_ACCOUNT, '-n', lab.ns]);
    expect(deployment?.status?.readyReplicas).toBe(2);
    const pods = await operatorPods();
    expect(pods).toHaveLength(2);
    const holder = await waitFor('a Lease holder', leaseHolder, { timeoutMs: 30_000 });
    expect(pods).toContain(holder);
    // Really the image's process, confined as the chart says.
    const pod = await getJson(lab, ['pod', holder, '-n', lab.ns]);
    const image = (pod?.status as { containerStatuses?: { image: string }[] }).containerStatuses?.[0]?.image;
    expect(image).toBe(imageRef('operator'));
    const uid = (await kubectl(lab, ['exec', holder, '-n', lab.ns, '--', 'id', '-u'])).stdout.trim();
    expect(uid).toBe('10001');
  }, 300_000);

  test('a WebranaDatabase for the four services: the leader pod deleted during a migration wave, the other replica finishes with exactly one migration Job per service, and the resource turns Ready', async () => {
    await createDatabases(WDB);
    await hostPathClaim(lab, 'backups', backupDir);

    // auth's Job waits on Prisma's lock, so the first wave is certainly running when the leader goes.
    const unlock = await holdMigrationLock(hostUrl('auth-service'));

    const t0 = Date.now();
    await apply(lab, lab.ns, {
      apiVersion: 'webrana.cloud/v1alpha1',
      kind: 'WebranaDatabase',
      metadata: { name: WDB },
      spec: spec({ schedule: '0 2 * * *', volumeClaimName: 'backups', retention: { daily: 7 } }),
    });
    await waitFor(
      'the first wave (auth, catalog) running',
      async () => (await migrationJobs()).map(serviceOf).sort().join() === 'auth-service,catalog-service',
      { timeoutMs: 120_000, diagnose: () => describeNamespace(lab, lab.ns) },
    );
    const leader = await waitFor('a Lease holder', leaseHolder);
    const [standby] = (await operatorPods()).filter((p) => p !== leader);
    expect(standby).toBeDefined();

    const killed = Date.now();
    await kubectl(lab, ['delete', 'pod', leader, '-n', lab.ns, '--wait=false']);
    const next = await waitFor(
      'another Lease holder',
      async () => {
        const h = await leaseHolder();
        return h && h !== leader ? h : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const failover = seconds(killed);
    // The standby that was already running takes over, not the pod the Deployment starts in its place.
    expect(next).toBe(standby);
    expect((await migrationJobs()).filter((j) => serviceOf(j) === 'auth-service' && succeeded(j))).toHaveLength(0);

    await unlock();
    const ready = await waitReady(300_000);
    report(`leader pod deleted mid-wave: Lease taken over by the standby in ${failover} s`);
    report(`WebranaDatabase apply -> Ready (4 migrations in 3 waves, failover included): ${seconds(t0)} s`);
    expect(ready.status?.progress).toBe('4/4');

    await expectOneMigrationJobEach(WDB);
    // The new leader's log says it took over (kubectl logs through the real kubelet).
    const log = (await kubectl(lab, ['logs', standby!, '-n', lab.ns])).stdout;
    expect(log).toMatch(/became leader/);
  }, 600_000);

  test('the leader process killed (SIGKILL through containerd, no hand-over) during a migration wave: leadership resumes, exactly one migration Job per service, and the resource turns Ready', async () => {
    const wdb = 'crash';
    await createDatabases(wdb);
    const unlock = await holdMigrationLock(hostUrl('auth-service', wdb));
    const t0 = Date.now();
    await apply(lab, lab.ns, {
      apiVersion: 'webrana.cloud/v1alpha1',
      kind: 'WebranaDatabase',
      metadata: { name: wdb },
      spec: spec(undefined, wdb),
    });
    await waitFor(
      'the first wave (auth, catalog) running',
      async () => (await migrationJobs(wdb)).map(serviceOf).sort().join() === 'auth-service,catalog-service',
      { timeoutMs: 120_000, diagnose: () => describeNamespace(lab, lab.ns) },
    );
    const leader = await waitFor('a Lease holder', leaseHolder);
    const containerOf = async (name: string) =>
      (await getJson<{ status: { containerStatuses: { containerID: string; restartCount: number }[] } }>(lab, [
        'pod',
        name,
        '-n',
        lab.ns,
      ]))!.status.containerStatuses[0]!;
    const container = await containerOf(leader);
    const killed = Date.now();
    await run('ctr', [
      '--address',
      lab.containerdSocket,
      '-n',
      'k8s.io',
      'tasks',
      'kill',
      '-s',
      'SIGKILL',
      container.containerID.replace('containerd://', ''),
    ]);
    // Someone leads again: the restarted container (same pod, same identity: it renews the Lease at once)
    // or the standby once the dead leader's Lease ran out. Timed by the kubelet's timestamp of the
    // 'became leader' line (a Lease renewal after `killed` may still be the old process's last one).
    const tookOver = await waitFor(
      "a 'became leader' logged after the kill",
      async () => {
        for (const pod of await operatorPods()) {
          const logs = await kubectl(lab, ['logs', pod, '-n', lab.ns, '--timestamps'], { allowFailure: true });
          const line = logs.stdout
            .split('\n')
            .find((l) => /became leader/.test(l) && Date.parse(l.split(' ')[0]!) > killed);
          if (line) return { pod, at: Date.parse(line.split(' ')[0]!) };
        }
        return undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const next = tookOver.pod;
    const resumed = ((tookOver.at - killed) / 1000).toFixed(1);
    expect(await waitFor('the Lease held by the new leader', async () => (await leaseHolder()) === next)).toBe(true);
    // The kubelet restarted the killed container in place (restartPolicy Always).
    await waitFor('the killed container restarted', async () => {
      const { restartCount } = await containerOf(leader);
      return restartCount === container.restartCount + 1;
    });

    await unlock();
    const ready = await waitReady(300_000, wdb);
    report(
      `leader killed (SIGKILL) mid-wave: ${next === leader ? 'its restarted container' : 'the standby'} led again ${resumed} s after the kill`,
    );
    report(`WebranaDatabase apply -> Ready with the leader killed mid-wave: ${seconds(t0)} s`);
    expect(ready.status?.progress).toBe('4/4');
    await expectOneMigrationJobEach(wdb);
  }, 600_000);
});

describe('backups on the real node', () => {
  test("a backup CronJob's Job (kubectl create job --from=cronjob) writes a verified dump to the hostPath volume, and webrana-jobs restore --latest brings it back", async () => {
    await writeProbeRows('catalog-service', ['before-backup-1', 'before-backup-2']);
    const cronJob = backupCronJobName(WDB, 'catalog-service');
    expect(await getJson(lab, ['cronjob', cronJob, '-n', lab.ns])).toBeDefined();
    const job = `${cronJob}-manual`;
    const t0 = Date.now();
    await kubectl(lab, ['create', 'job', job, `--from=cronjob/${cronJob}`, '-n', lab.ns]);
    await jobCondition(lab, lab.ns, job, 'Complete', 180_000);
    report(`backup Job to the volume: ${seconds(t0)} s`);
    const dir = path.join(backupDir, 'catalog-service');
    const dumps = fs.readdirSync(dir).filter((f) => f.endsWith('.tar.zst'));
    expect(dumps).toHaveLength(1);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, `${dumps[0]}.json`), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ service: 'catalog-service', bytes: fs.statSync(path.join(dir, dumps[0]!)).size });
    expect(manifest.sha256).toMatch(/^[0-9a-f]{64}$/);
    // The operator read the Job's summary into the status.
    await waitFor('the backup in the status', async () => {
      const svc = (await resource())?.status?.services?.find((s) => s.name === 'catalog-service');
      return svc?.backup?.lastSuccess?.job === job;
    });

    await writeProbeRows('catalog-service', ['changed-after-backup']);
    const restored = await runCli(['restore', '--service=catalog-service', '--latest', `--dir=${backupDir}`], {
      CATALOG_DATABASE_URL: hostUrl('catalog-service'),
    });
    expect({ code: restored.code, stderr: restored.stderr }).toEqual({ code: 0, stderr: '' });
    expect(await probeRows('catalog-service')).toEqual(['before-backup-1', 'before-backup-2']);
  }, 300_000);

  test('spec.backup.s3 with credentialsSecretRef: backup-now Jobs write dump + manifest to a bucket on the node address, restore --s3-url accepts it, and the credentials appear in no log, status or Event', async () => {
    s3 = await startS3Server({ host: lab.nodeIp });
    await s3.createBucket(BUCKET);
    await kubectl(lab, [
      'create',
      'secret',
      'generic',
      'backup-s3',
      '-n',
      lab.ns,
      `--from-literal=AWS_ACCESS_KEY_ID=${s3.accessKey}`,
      `--from-literal=AWS_SECRET_ACCESS_KEY=${s3.secretKey}`,
    ]);
    await writeProbeRows('order-service', ['offsite-1', 'offsite-2', 'offsite-3']);
    // The bucket alone (no volume): pods reach the node address directly, as they reach PostgreSQL's.
    await apply(lab, lab.ns, {
      apiVersion: 'webrana.cloud/v1alpha1',
      kind: 'WebranaDatabase',
      metadata: { name: WDB },
      spec: spec({
        schedule: '0 2 * * *',
        retention: { daily: 7 },
        s3: {
          bucket: BUCKET,
          prefix: 'prod',
          endpoint: s3.endpoint,
          region: 'us-east-1',
          forcePathStyle: true,
          credentialsSecretRef: { name: 'backup-s3' },
        },
      }),
    });
    await waitReady(300_000);
    const value = `real-node-${suffix}`;
    const t0 = Date.now();
    await kubectl(lab, ['annotate', 'webranadatabase', WDB, '-n', lab.ns, `${BACKUP_NOW_ANNOTATION}=${value}`]);
    const jobs = SERVICES.map((s) => backupNowJobName(WDB, s.name, value));
    await waitFor('the backup-now Jobs', async () => {
      for (const j of jobs) if (!(await getJson(lab, ['job', j, '-n', lab.ns]))) return false;
      return true;
    });
    for (const j of jobs) await jobCondition(lab, lab.ns, j, 'Complete', 240_000);
    report(`backup-now of four services to the bucket: ${seconds(t0)} s`);

    const keys = fs
      .readdirSync(path.join(s3.root, BUCKET, 'prod', 'order-service'))
      .filter((f) => f.startsWith('order-service-'));
    const dump = keys.find((k) => k.endsWith('.tar.zst'));
    expect(keys.sort()).toEqual([dump, `${dump}.json`]);

    await writeProbeRows('order-service', ['changed-after-backup']);
    const restored = await runCli(['restore', '--service=order-service', '--latest', `--s3-url=s3://${BUCKET}/prod`], {
      ORDER_DATABASE_URL: hostUrl('order-service'),
      ...s3.env(),
    });
    expect({ code: restored.code, stderr: restored.stderr }).toEqual({ code: 0, stderr: '' });
    expect(await probeRows('order-service')).toEqual(['offsite-1', 'offsite-2', 'offsite-3']);

    await waitFor('the four backups in the status', async () => {
      const services = (await resource())?.status?.services ?? [];
      return jobs.every((j) => services.some((s) => s.backup?.lastSuccess?.job === j));
    });
    const logs = (await Promise.all(jobs.map(jobLogs))).join('\n');
    expect(logs).toMatch(/"bytes"/);
    const status = JSON.stringify((await resource())?.status);
    const events = (await kubectl(lab, ['get', 'events', '-n', lab.ns, '-o', 'json'])).stdout;
    const jobSpecs = (await kubectl(lab, ['get', 'jobs,cronjobs', '-n', lab.ns, '-o', 'json'])).stdout;
    for (const [where, text] of Object.entries({ logs, status, events, jobSpecs })) {
      expect({ where, secret: text.includes(s3.secretKey), accessKey: text.includes(s3.accessKey) }).toEqual({
        where,
        secret: false,
        accessKey: false,
      });
    }
  }, 600_000);
});

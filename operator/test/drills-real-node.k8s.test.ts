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
} from '@webrana/kube-lab';
import { withClient } from '@webrana/testing';
import { copyAsLater, dropFirstRow, tamperedArchive } from '../../jobs/test/backup-verify-helpers';
import type { Condition, WebranaDatabase } from '../src/api/types';
import { backupCronJobName } from '../src/names';
import { CHART_DIR, RELEASE, hostPathClaim } from './harness';

// Restore drills on the REAL node (kubelet + containerd + runc): the operator from its chart and image,
// the drill CronJob's pods from the jobs image (read-only root filesystem, uid 10001, /tmp an emptyDir,
// the dumps on a hostPath volume), PostgreSQL on the host. The kubelet copies the drill's outcome from
// /dev/termination-log into the pod status, where the operator reads it.
const lab = useRealNode('real-drill');
const WDB = 'drill';
const SERVICE = 'auth-service';
const dbName = `webrana_auth_drill_${randomBytes(3).toString('hex')}`;
const backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-real-drill-'));
afterAll(() => fs.rmSync(backupDir, { recursive: true, force: true }));

const hostUrl = () => {
  const url = new URL(lab.postgres.url);
  url.pathname = `/${dbName}`;
  return url.toString();
};

async function verified(status: 'True' | 'False'): Promise<Condition> {
  return waitFor(
    `BackupVerified ${status}`,
    async () => {
      const db = await getJson<WebranaDatabase>(lab, ['webranadatabase', WDB, '-n', lab.ns]);
      const c = db?.status?.conditions?.find((x) => x.type === 'BackupVerified');
      return c?.status === status ? c : undefined;
    },
    { timeoutMs: 240_000, intervalMs: 1000, diagnose: () => describeNamespace(lab, lab.ns) },
  );
}

test(
  'on the real node a scheduled drill passes on a good dump and fails on one altered after it was written (condition False, dump marked)',
  async () => {
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
        'replicaCount=1',
        '--set',
        'image.pullPolicy=Never',
        '--wait',
        '--timeout',
        '4m',
      ],
      { timeoutMs: 300_000, allowFailure: true },
    );
    if (install.code !== 0) throw new Error(`helm install failed:\n${install.stderr}`);
    await withClient(lab.postgres.url, (c) => c.query(`CREATE DATABASE "${dbName}"`));
    await kubectl(lab, [
      'create',
      'secret',
      'generic',
      'auth-db',
      '-n',
      lab.ns,
      `--from-literal=url=${lab.postgres.podUrl(dbName)}`,
    ]);
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
        // Backups only when asked; drills every minute (each one below is a scheduled drill).
        backup: { schedule: '0 0 30 2 *', volumeClaimName: 'backups', verify: { schedule: '* * * * *' } },
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
    await withClient(hostUrl(), (c) =>
      c.query(`INSERT INTO users (email, password_hash, full_name)
             SELECT 'drill' || g || '@example.test', 'x', 'Drill ' || g FROM generate_series(1, 30) g`),
    );
    const backupJob = `${backupCronJobName(WDB, SERVICE)}-manual`;
    await kubectl(lab, ['create', 'job', backupJob, `--from=cronjob/${backupCronJobName(WDB, SERVICE)}`, '-n', lab.ns]);
    await jobCondition(lab, lab.ns, backupJob, 'Complete', 180_000);
    const dumpDir = path.join(backupDir, SERVICE);
    const dump = fs.readdirSync(dumpDir).find((f) => f.endsWith('.tar.zst'))!;

    const passed = await verified('True');
    expect(passed.message).toContain(`${SERVICE}: ${dump} (taken `);
    expect(JSON.parse(fs.readFileSync(path.join(dumpDir, `${dump}.json`), 'utf8')).verifiedAt).toEqual(
      expect.any(String),
    );

    // A later copy with one ledger row cut out of its data, sha256 and size in its manifest made to match.
    const altered = copyAsLater(path.join(dumpDir, dump), 60);
    await tamperedArchive(altered, (dataFile) => dropFirstRow(dataFile('public._prisma_migrations')));
    // As the backup user would have left them (the drill pod runs as 10001; this test as root).
    for (const file of [altered, `${altered}.json`]) fs.chownSync(file, 10001, 10001);
    const failed = await verified('False');
    expect(failed.reason).toBe('DrillFailed');
    expect(failed.message).toContain(`of ${path.basename(altered)} failed: table public._prisma_migrations has`);
    const marked = JSON.parse(fs.readFileSync(`${altered}.json`, 'utf8'));
    expect(marked.drillFailure.problems[0]).toMatch(/^table public\._prisma_migrations has \d+ rows/);
    process.stderr.write(`real-node drill: passed then failed as expected (${dump}, ${path.basename(altered)})\n`);
  },
  15 * 60_000,
);

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { apply, jobCondition, kubectl, waitFor } from '@webrana/kube-lab';
import { REPO_ROOT } from '@webrana/registry';
import { freePort } from '@webrana/testing';
import type { NodeDatabase } from '../../packages/kube-lab/test/node-database';
import { startService, type RunningService } from '../../packages/service-kit/test/helpers';
import {
  JOBS_IMAGE,
  databaseWithSecret,
  hostPathClaim,
  secret,
  startOperator,
  useOperatorEnv,
  waitForCondition,
  webranaDatabase,
  type RunningOperator,
} from './harness';

// End to end: a real Prometheus (Debian's prometheus, a plain process on a free loopback port) loads
// the chart's rules file and scrapes the real operator (its backup Jobs run on the real node, from the
// jobs image, against the namespace's PostgreSQL) and a real service; a backup Job that fails makes
// WebranaBackupFailed fire in Prometheus's /api/v1/alerts, and a later good backup resolves it.
const PROMETHEUS = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
const RULES_FILE = path.join(REPO_ROOT, 'charts', 'webrana-operator', 'files', 'webrana-rules.yaml');
const env = useOperatorEnv('alerts');
const lab = env.lab;
const DB = 'al';
const SERVICE = 'auth-service';
let operator: RunningOperator;
let service: RunningService | undefined;
let database: NodeDatabase;
let prometheus: ChildProcess | undefined;
let prometheusUrl = '';
let workDir = '';
const prometheusOutput: string[] = [];

interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  activeAt: string;
}

async function api<T>(pathAndQuery: string): Promise<T> {
  const res = await fetch(`${prometheusUrl}${pathAndQuery}`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { status: string; data: T };
  if (body.status !== 'success') throw new Error(`Prometheus API ${pathAndQuery}: ${JSON.stringify(body)}`);
  return body.data;
}
const alerts = async (name: string) =>
  (await api<{ alerts: Alert[] }>('/api/v1/alerts')).alerts.filter((a) => a.labels.alertname === name);
const query = async (expr: string) =>
  (
    await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
      `/api/v1/query?query=${encodeURIComponent(expr)}`,
    )
  ).result;
const diagnose = async () => prometheusOutput.slice(-20).join('');

beforeAll(async () => {
  if (!fs.existsSync(PROMETHEUS)) {
    throw new Error(`${PROMETHEUS} is missing: apt-get install -y --no-install-recommends prometheus`);
  }
  database = await databaseWithSecret(env, 'al_auth', 'al-auth-db');
  await hostPathClaim(env.lab, 'al-backups', path.join(env.tmp, 'al-backups'));
  operator = startOperator(env, 'op-alerts');
  const operatorPort = await operator.port;
  await apply(
    lab,
    env.ns,
    webranaDatabase(DB, {
      image: JOBS_IMAGE,
      services: [{ name: SERVICE, databaseUrlSecretRef: { name: 'al-auth-db', key: 'url' } }],
      migration: { backoffLimit: 0, activeDeadlineSeconds: 300 },
      backup: { schedule: '0 0 30 2 *', volumeClaimName: 'al-backups' },
    }),
  );
  await waitForCondition(env, DB, 'Ready', 'True');
  service = await startService(SERVICE, { AUTH_DATABASE_URL: database.url });

  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-alerts-'));
  const config = path.join(workDir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      `rule_files: ['${RULES_FILE}']`,
      'scrape_configs:',
      '  - job_name: webrana-operator',
      `    static_configs: [{ targets: ['127.0.0.1:${operatorPort}'] }]`,
      '  - job_name: webrana-services',
      `    static_configs: [{ targets: ['${new URL(service.url).host}'] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    PROMETHEUS,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(workDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [prometheus.stdout!, prometheus.stderr!]) {
    stream.on('data', (chunk: Buffer) => prometheusOutput.push(chunk.toString()));
  }
  await waitFor(
    'Prometheus ready',
    async () => ((await fetch(`${prometheusUrl}/-/ready`).catch(() => undefined))?.ok ? true : undefined),
    {
      timeoutMs: 30_000,
      diagnose,
    },
  );
}, 300_000);

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
    prometheus.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    if (prometheus.exitCode === null && prometheus.signalCode === null) prometheus.kill('SIGKILL');
  }
  await service?.stop();
  await operator?.stop();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
}, 60_000);

test('Prometheus loads the six rules and scrapes the operator and the service; nothing fires while backups are fine', async () => {
  const groups = await waitFor(
    'rules loaded',
    async () => {
      const { groups: g } = await api<{ groups: { rules: { name: string; health: string }[] }[] }>('/api/v1/rules');
      return g.length > 0 ? g : undefined;
    },
    { timeoutMs: 30_000, diagnose },
  );
  expect(groups.flatMap((g) => g.rules.map((r) => r.name)).sort()).toEqual(
    [
      'WebranaBackupFailed',
      'WebranaBackupMissing',
      'WebranaBackupNotVerified',
      'WebranaDatabaseDown',
      'WebranaMigrationFailed',
      'WebranaOperatorDown',
    ].sort(),
  );
  const labels = { namespace: env.ns, database: DB, service: SERVICE };
  await waitFor(
    'both targets scraped',
    async () => {
      const failed = await query(`webrana_backup_last_failed{namespace="${env.ns}"}`);
      const up = await query('webrana_db_up');
      return failed.length === 1 && up.length === 1 ? true : undefined;
    },
    { timeoutMs: 30_000, diagnose },
  );
  expect((await query(`webrana_backup_last_failed{namespace="${env.ns}"}`))[0]?.metric).toMatchObject(labels);
  expect((await query('webrana_db_up'))[0]?.value[1]).toBe('1');
  expect((await query('webrana_operator_leader'))[0]?.value[1]).toBe('1');
  // Evaluated a few times over the scraped series: no alert about this database.
  await new Promise((r) => setTimeout(r, 3000));
  const all = (await api<{ alerts: Alert[] }>('/api/v1/alerts')).alerts;
  expect(all.filter((a) => a.labels.namespace === env.ns)).toEqual([]);
  expect(all.filter((a) => a.labels.alertname === 'WebranaOperatorDown')).toEqual([]);
}, 120_000);

test('a backup Job that fails makes WebranaBackupFailed fire in Prometheus; a later successful backup resolves it', async () => {
  await secret(env, 'al-auth-db', 'postgresql://nobody:wrong@127.0.0.1:1/none');
  await kubectl(lab, ['annotate', 'wdb', DB, '-n', env.ns, 'webrana.cloud/backup-now=fail-1']);
  const job = `${DB}-${SERVICE}-backup-now-`;
  const failedJob = await waitFor(
    'the backup-now Job',
    async () => {
      const out = await kubectl(lab, ['get', 'jobs', '-n', env.ns, '-o', 'name']);
      return out.stdout
        .split('\n')
        .find((l) => l.includes(job))
        ?.replace('job.batch/', '');
    },
    { timeoutMs: 30_000 },
  );
  await jobCondition(lab, env.ns, failedJob, 'Failed', 120_000);
  const failedAt = Date.now();
  const [alert] = await waitFor(
    'WebranaBackupFailed firing',
    async () => {
      const firing = (await alerts('WebranaBackupFailed')).filter((a) => a.state === 'firing');
      return firing.length > 0 ? firing : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250, diagnose },
  );
  process.stdout.write(`WebranaBackupFailed firing ${Date.now() - failedAt} ms after the Job's Failed condition\n`);
  expect(alert?.labels).toEqual({
    alertname: 'WebranaBackupFailed',
    namespace: env.ns,
    database: DB,
    service: SERVICE,
    severity: 'warning',
    instance: `127.0.0.1:${await operator.port}`,
    job: 'webrana-operator',
  });
  expect(alert?.annotations.summary).toBe(`The newest backup of ${SERVICE} (${env.ns}/${DB}) failed`);
  expect(alert?.annotations.runbook_url).toBe('docs/runbooks/alerts.md#webranabackupfailed');
  expect((await query(`webrana_backup_failures_total{namespace="${env.ns}"}`))[0]?.value[1]).toBe('1');

  await secret(env, 'al-auth-db', database.podUrl);
  await kubectl(lab, ['annotate', 'wdb', DB, '-n', env.ns, 'webrana.cloud/backup-now=ok-1', '--overwrite']);
  await waitFor(
    'WebranaBackupFailed resolved',
    async () => ((await alerts('WebranaBackupFailed')).length === 0 ? true : undefined),
    {
      timeoutMs: 120_000,
      diagnose,
    },
  );
  const last = await query(`webrana_backup_last_success_timestamp_seconds{namespace="${env.ns}"}`);
  expect(Number(last[0]?.value[1])).toBeGreaterThan(failedAt / 1000 - 5);
}, 300_000);

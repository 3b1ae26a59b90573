import * as fs from 'node:fs';
import * as path from 'node:path';
import bcrypt from 'bcrypt';
import { Client } from 'pg';
import {
  KUBE_LAB_START_TIMEOUT_MS,
  deleteNamespace,
  describeNamespace,
  freshNamespace,
  getJson,
  helm,
  jobPods,
  kubectl,
  useKubeLabNamespace,
  waitFor,
  type KubeObject,
  type RunResult,
} from '@webrana/kube-lab';
import { SERVICES, migrationsDir, type ServiceName } from '@webrana/registry';
import { createTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import { CHARTS_DIR, chartArgs } from './helm';

// The issue's acceptance on kube-lab (real apiserver, job controller and a kubelet running the real
// webrana-jobs entrypoint as host processes) against real PostgreSQL: installs on empty databases, an
// upgrade carrying a new migration, a failing migration, a values type error, and the umbrella chart.
//
// What the lab lacks, and how the tests deal with it: it runs no deployment controller, so Deployments
// never get pods (the tests check the Deployment object Helm writes, which is what the hooks gate).

/** Prisma's migration advisory lock: while a test holds it, the migration Job waits (--lock-wait). */
const MIGRATION_LOCK = 72707369;
const STEP_TIMEOUT_MS = 5 * 60_000;
const PASSWORDS = { SUPER_ADMIN_PASSWORD: 'Chart-Test-Super-7x!', ADMIN_PASSWORD: 'Chart-Test-Admin-7x!' };
const URL_VARIABLE = Object.fromEntries(SERVICES.map((s) => [s.name, s.urlVariable])) as Record<ServiceName, string>;

const lab = useKubeLabNamespace('charts');
const databases = new Map<ServiceName, TestDatabase>();
const scratchDirs: string[] = [];

beforeAll(async () => {
  for (const service of SERVICES) databases.set(service.name, await createTestDatabase(`chart_${service.name}`));
  // One Secret holds every URL under its variable, as the charts' default database.existingSecret expects.
  await createSecret('webrana-database', Object.fromEntries(SERVICES.map((s) => [s.urlVariable, db(s.name).url])));
  await createSecret('webrana-auth-seed', PASSWORDS);
}, KUBE_LAB_START_TIMEOUT_MS);

afterAll(async () => {
  // No databases: the lab never started, so there are no releases either.
  if (databases.size > 0) {
    for (const release of ['auth-service', 'catalog-service', 'order-service', 'billing-service']) {
      await helm(lab, ['uninstall', release, '-n', lab.ns, '--wait=false'], { allowFailure: true });
    }
  }
  for (const database of databases.values()) await database.drop().catch(() => undefined);
  for (const dir of scratchDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function db(service: ServiceName): TestDatabase {
  const found = databases.get(service);
  if (!found) throw new Error(`no database for ${service}`);
  return found;
}

async function createSecret(name: string, data: Record<string, string>, namespace = lab.ns): Promise<void> {
  const args = ['create', 'secret', 'generic', name, '-n', namespace];
  for (const [key, value] of Object.entries(data)) args.push(`--from-literal=${key}=${value}`);
  await kubectl(lab, args);
}

/** `helm upgrade --install` of a chart target of this repository (see chartArgs), one replica (the lab runs no Deployment pods anyway). */
function upgradeInstall(release: string, chart: string, flags: string[] = [], namespace = lab.ns): Promise<RunResult> {
  return helm(
    lab,
    ['upgrade', '--install', release, ...chartArgs(chart), '-n', namespace, '--timeout', '4m', ...flags],
    { allowFailure: true, timeoutMs: STEP_TIMEOUT_MS },
  );
}

function succeeded(result: RunResult): void {
  if (result.code !== 0) throw new Error(`helm failed (exit ${result.code}):\n${result.stderr}\n${result.stdout}`);
}

/** Holds Prisma's migration lock on a database until the returned function is called. */
async function holdMigrationLock(url: string): Promise<() => Promise<void>> {
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  return async () => {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    await client.end();
  };
}

interface LedgerRow {
  migration_name: string;
  started_at: Date;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

async function ledger(url: string): Promise<LedgerRow[]> {
  return withClient(url, async (c) => {
    const exists = await c.query<{ t: string | null }>("SELECT to_regclass('public._prisma_migrations')::text AS t");
    if (!exists.rows[0]?.t) return [];
    const { rows } = await c.query<LedgerRow>(
      'SELECT migration_name, started_at, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY started_at',
    );
    return rows;
  });
}

function migrationNames(service: ServiceName): string[] {
  return fs
    .readdirSync(migrationsDir(service), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

async function tableExists(url: string, table: string): Promise<boolean> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`public.${table}`]);
    return rows[0]?.t != null;
  });
}

const deployment = (name: string, namespace = lab.ns) => getJson(lab, ['deployment', name, '-n', namespace]);
/** Metadata fields KubeObject does not declare. */
const meta = (d: KubeObject | undefined) =>
  (d?.metadata ?? {}) as unknown as { creationTimestamp: string; resourceVersion: string };
const imageOf = (d: KubeObject | undefined) =>
  (d?.spec as { template: { spec: { containers: Array<{ image: string }> } } } | undefined)?.template.spec.containers[0]
    ?.image;

/** Waits until the migration Job's pod runs (the runner is then polling for the lock we hold). */
async function waitForRunningMigration(job: string, namespace = lab.ns): Promise<void> {
  await waitFor(
    `a running pod of job ${job}`,
    async () => (await jobPods(lab, namespace, job)).some((p) => p.status?.phase === 'Running'),
    { timeoutMs: 90_000, diagnose: () => describeNamespace(lab, namespace) },
  );
  // Past node's start-up: the runner has connected and found the lock taken.
  await new Promise((r) => setTimeout(r, 3000));
}

/** A copy of a service's migrations plus extra ones: what a newer jobs image would carry. */
function migrationsWith(service: ServiceName, extra: Record<string, string>, base = migrationsDir(service)): string {
  // Not under /tmp: the kubelet maps container paths under the pods' /tmp mount into the pod.
  const root = fs.existsSync('/var/tmp') ? '/var/tmp' : path.join(CHARTS_DIR, '..', '.local');
  fs.mkdirSync(root, { recursive: true });
  const dir = fs.mkdtempSync(path.join(root, `webrana-chart-migrations-`));
  scratchDirs.push(dir);
  fs.cpSync(base, dir, { recursive: true });
  for (const [name, sql] of Object.entries(extra)) {
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

/** Container logs of a hook Job's pods, as the kubelet keeps them (logs/<ns>_<pod>_<uid>/<container>/0.log). */
function migrationLogs(job: string, container = 'migrate'): string[] {
  const root = path.join(lab.kubeletStateDir, 'logs');
  return (
    fs
      .readdirSync(root)
      // <namespace>_<pod>_<uid>, the pod named <job>-<5 characters> (not <job>-post-deploy-...).
      .filter((d) => new RegExp(`^${lab.ns}_${job}-[a-z0-9]{5}_`).test(d))
      .map((d) => fs.readFileSync(path.join(root, d, container, '0.log'), 'utf8'))
  );
}

describe('auth-service chart on kube-lab', () => {
  const release = 'auth-service';
  const base = ['--set', 'replicaCount=1'];

  test(
    'upgrade --install on an empty database: the migration hook runs webrana-jobs migrate deploy, the Deployment is created only after it succeeded, and the seed hook creates the admin users',
    async () => {
      const url = db('auth-service').url;
      const unlock = await holdMigrationLock(url);
      const installing = upgradeInstall(release, 'auth-service', base);
      try {
        await waitForRunningMigration('auth-service-migrate');
        // The migration cannot finish while we hold its lock: no Deployment yet, no migration applied.
        expect(await deployment(release)).toBeUndefined();
        expect(await ledger(url)).toEqual([]);
      } finally {
        await unlock();
      }
      const unlockedAt = Date.now();
      succeeded(await installing);

      const applied = await ledger(url);
      expect(applied.map((r) => r.migration_name)).toEqual(migrationNames('auth-service'));
      for (const row of applied) expect(row.finished_at).not.toBeNull();
      for (const table of ['users', 'refresh_tokens', 'verification_tokens', 'user_mfa']) {
        expect(await tableExists(url, table)).toBe(true);
      }

      const created = await deployment(release);
      expect(imageOf(created)).toBe('webrana/auth-service:0.1.0');
      const createdAt = Date.parse(meta(created).creationTimestamp);
      expect(createdAt).toBeGreaterThanOrEqual(Math.floor(unlockedAt / 1000) * 1000); // creationTimestamp has seconds

      // The seed ran post-install with the passwords of the Secret (production: no customer user).
      const users = await withClient(url, (c) =>
        c.query<{ email: string; role: string; password_hash: string }>(
          'SELECT email, role::text AS role, password_hash FROM users ORDER BY email',
        ),
      );
      expect(users.rows.map((u) => [u.email, u.role])).toEqual([
        ['admin@webrana.cloud', 'admin'],
        ['superadmin@webrana.cloud', 'super_admin'],
      ]);
      const hashOf = (email: string) => users.rows.find((u) => u.email === email)?.password_hash ?? '';
      expect(await bcrypt.compare(PASSWORDS.ADMIN_PASSWORD, hashOf('admin@webrana.cloud'))).toBe(true);
      expect(await bcrypt.compare(PASSWORDS.SUPER_ADMIN_PASSWORD, hashOf('superadmin@webrana.cloud'))).toBe(true);

      // The Job ran the real runner: its container log (kept by the kubelet after the pod is gone).
      const log = migrationLogs('auth-service-migrate');
      expect(log).toHaveLength(1);
      expect(log[0]).toContain(`applied ${migrationNames('auth-service').length} migration(s)`);
      expect(log[0]).not.toContain(url);

      // Both hook Jobs succeeded, so Helm deleted them (hook-succeeded).
      expect(await getJson(lab, ['job', 'auth-service-migrate', '-n', lab.ns])).toBeUndefined();
      expect(await getJson(lab, ['job', 'auth-service-seed', '-n', lab.ns])).toBeUndefined();
    },
    STEP_TIMEOUT_MS,
  );

  test(
    'a second upgrade carrying a new migration applies it before the Deployment changes',
    async () => {
      const url = db('auth-service').url;
      const before = await deployment(release);
      const dir = migrationsWith('auth-service', {
        '20270101000000_chart_upgrade_probe': 'CREATE TABLE chart_upgrade_probe (id integer PRIMARY KEY);\n',
      });
      const unlock = await holdMigrationLock(url);
      const upgrading = upgradeInstall(release, 'auth-service', [
        ...base,
        '--set',
        'image.tag=0.1.1',
        '--set',
        'jobsImage.tag=0.1.1',
        '--set-json',
        `migrations.extraArgs=${JSON.stringify([`--migrations-dir=${dir}`])}`,
      ]);
      try {
        await waitForRunningMigration('auth-service-migrate');
        const during = await deployment(release);
        expect(imageOf(during)).toBe('webrana/auth-service:0.1.0');
        expect(during?.metadata).toMatchObject({
          resourceVersion: meta(before).resourceVersion,
        });
        expect(await tableExists(url, 'chart_upgrade_probe')).toBe(false);
      } finally {
        await unlock();
      }
      succeeded(await upgrading);

      expect(await tableExists(url, 'chart_upgrade_probe')).toBe(true);
      const probe = (await ledger(url)).find((r) => r.migration_name === '20270101000000_chart_upgrade_probe');
      expect(probe?.finished_at).not.toBeNull();
      expect(imageOf(await deployment(release))).toBe('webrana/auth-service:0.1.1');
    },
    STEP_TIMEOUT_MS,
  );

  test(
    'a failing migration fails helm upgrade naming the Job, keeps the Job with its error, and leaves the previous Deployment untouched',
    async () => {
      const url = db('auth-service').url;
      const before = await deployment(release);
      const dir = migrationsWith('auth-service', {
        '20270101000000_chart_upgrade_probe': 'CREATE TABLE chart_upgrade_probe (id integer PRIMARY KEY);\n',
        '20270102000000_broken': 'ALTER TABLE no_such_table ADD COLUMN x integer;\n',
      });
      const result = await upgradeInstall(release, 'auth-service', [
        ...base,
        '--set',
        'image.tag=0.1.2',
        '--set-json',
        `migrations.extraArgs=${JSON.stringify([`--migrations-dir=${dir}`])}`,
      ]);

      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('UPGRADE FAILED: pre-upgrade hooks failed');
      expect(result.stderr).toContain('job auth-service-migrate failed: BackoffLimitExceeded');
      // helm.sh/hook-output-log-policy: hook-failed makes helm copy the failed pod's log (PostgreSQL's
      // error, from the real runner) into its output; the database URL is never in it.
      expect(result.stderr).toContain('relation "no_such_table" does not exist');
      expect(result.stderr).not.toContain('Failed to stream pod logs');
      expect(`${result.stdout}${result.stderr}`).not.toContain(url);

      // The failed Job stays (no hook-failed delete policy); its pod's termination message is the
      // runner's log tail too, for `kubectl describe` after helm has gone.
      const job = await getJson(lab, ['job', 'auth-service-migrate', '-n', lab.ns]);
      expect(job?.status?.conditions?.find((c) => c.type === 'Failed')?.status).toBe('True');
      const [pod] = await jobPods(lab, lab.ns, 'auth-service-migrate');
      const terminated = pod?.status?.containerStatuses?.[0]?.state.terminated;
      expect(terminated?.exitCode).not.toBe(0);
      expect(terminated?.message).toContain('relation "no_such_table" does not exist');
      expect(terminated?.message).not.toContain(url);

      // Not one field of the Deployment changed, and the release stays at the last good revision.
      const after = await deployment(release);
      expect(after?.metadata).toMatchObject({
        resourceVersion: meta(before).resourceVersion,
      });
      expect(imageOf(after)).toBe('webrana/auth-service:0.1.1');
      const history = JSON.parse((await helm(lab, ['history', release, '-n', lab.ns, '-o', 'json'])).stdout) as Array<{
        revision: number;
        status: string;
      }>;
      expect(history.map((h) => h.status)).toEqual(['superseded', 'deployed', 'failed']);
      // The runner recorded the failure the way Prisma does (the next deploy stops until it is resolved).
      const broken = (await ledger(url)).find((r) => r.migration_name === '20270102000000_broken');
      expect(broken).toMatchObject({ finished_at: null, rolled_back_at: null });
      expect(await tableExists(url, 'no_such_table')).toBe(false);
    },
    STEP_TIMEOUT_MS,
  );

  test(
    'installing with a values type error fails with the schema message and creates nothing',
    async () => {
      const result = await upgradeInstall('typo', 'auth-service', ['--set', 'replicaCount=two']);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("values don't meet the specifications of the schema(s)");
      expect(result.stderr).toContain("- at '/replicaCount': got string, want integer");
      const jobs = await getJson(lab, ['jobs', '-n', lab.ns, '-l', 'app.kubernetes.io/instance=typo']);
      expect(jobs?.items).toEqual([]);
      const status = await helm(lab, ['status', 'typo', '-n', lab.ns], { allowFailure: true });
      expect(status.stderr).toContain('release: not found');
    },
    STEP_TIMEOUT_MS,
  );
});

describe.each(['catalog-service', 'order-service', 'billing-service'] as const)('%s chart on kube-lab', (service) => {
  test(
    'upgrade --install on an empty database migrates it before creating the Deployment, and uninstall leaves no Secret behind',
    async () => {
      const url = db(service).url;
      // catalog-service gets its URL as a value: the chart's pre-install hook Secret carries it to the
      // migration Job on the first install. The others read the shared existing Secret.
      const flags = ['--set', 'replicaCount=1'];
      if (service === 'catalog-service') flags.push('--set', `database.url=${url}`);
      const unlock = await holdMigrationLock(url);
      const installing = upgradeInstall(service, service, flags);
      try {
        await waitForRunningMigration(`${service}-migrate`);
        expect(await deployment(service)).toBeUndefined();
      } finally {
        await unlock();
      }
      const result = await installing;
      succeeded(result);
      expect(result.stdout + result.stderr).not.toContain(url);

      expect((await ledger(url)).map((r) => r.migration_name)).toEqual(migrationNames(service));
      expect(await deployment(service)).toBeDefined();
      const secrets = async () =>
        (
          (await getJson(lab, ['secrets', '-n', lab.ns, '-l', `app.kubernetes.io/instance=${service}`]))?.items ?? []
        ).map((s) => s.metadata.name);
      if (service === 'catalog-service') {
        // The hook copy is gone once the pre-install hooks succeeded; the release Secret serves the pods.
        expect(await secrets()).toEqual(['catalog-service-database']);
        const plans = await withClient(url, (c) =>
          c.query<{ slug: string }>('SELECT slug FROM vps_plans ORDER BY sort_order'),
        );
        expect(plans.rows.map((p) => p.slug)).toEqual(['basic', 'standard', 'pro']);
        const env = (
          (await deployment(service))?.spec as {
            template: { spec: { containers: Array<{ env: Array<{ name: string; valueFrom: unknown }> }> } };
          }
        ).template.spec.containers[0]?.env;
        expect(env).toEqual([
          {
            name: 'DATABASE_URL',
            valueFrom: { secretKeyRef: { name: 'catalog-service-database', key: URL_VARIABLE[service] } },
          },
        ]);
      }

      succeeded(
        await helm(lab, ['uninstall', service, '-n', lab.ns, '--wait', '--timeout', '2m'], { allowFailure: true }),
      );
      expect(await deployment(service)).toBeUndefined();
      expect(await secrets()).toEqual([]);
      expect(await ledger(url)).toHaveLength(migrationNames(service).length); // uninstall never touches the schema
    },
    STEP_TIMEOUT_MS,
  );
});

describe('webrana umbrella chart on kube-lab', () => {
  test(
    'one install on four empty databases migrates them in dependency order before any Deployment, then seeds',
    async () => {
      const umbrellaNs = await freshNamespace(lab, 'charts-umbrella');
      const fresh = new Map<ServiceName, TestDatabase>();
      try {
        for (const s of SERVICES) fresh.set(s.name, await createTestDatabase(`umbrella_${s.name}`));
        const url = (s: ServiceName) => fresh.get(s)?.url ?? '';
        await createSecret(
          'webrana-database',
          Object.fromEntries(SERVICES.map((s) => [s.urlVariable, url(s.name)])),
          umbrellaNs,
        );
        await createSecret('webrana-auth-seed', PASSWORDS, umbrellaNs);
        const flags = SERVICES.flatMap((s) => ['--set', `${s.name}.replicaCount=1`]);
        // Hold the last service's migration: every other one must be done by then, and no Deployment exists.
        const last = 'billing-service';
        const unlock = await holdMigrationLock(url(last));
        const installing = upgradeInstall('webrana', 'webrana', flags, umbrellaNs);
        try {
          await waitForRunningMigration(`webrana-${last}-migrate`, umbrellaNs);
          for (const s of SERVICES.filter((x) => x.name !== last)) {
            expect((await ledger(url(s.name))).map((r) => r.migration_name)).toEqual(migrationNames(s.name));
          }
          expect(await ledger(url(last))).toEqual([]);
          expect((await getJson(lab, ['deployments', '-n', umbrellaNs]))?.items).toEqual([]);
        } finally {
          await unlock();
        }
        succeeded(await installing);

        const ledgers = new Map<ServiceName, LedgerRow[]>();
        for (const s of SERVICES) {
          const rows = await ledger(url(s.name));
          expect(rows.map((r) => r.migration_name)).toEqual(migrationNames(s.name));
          ledgers.set(s.name, rows);
        }
        // Ledger times come from the one PostgreSQL server: a service's first migration started after
        // the last migration of every service it depends on had finished.
        const firstStart = (s: ServiceName) => Math.min(...(ledgers.get(s) ?? []).map((r) => r.started_at.getTime()));
        const lastFinish = (s: ServiceName) =>
          Math.max(...(ledgers.get(s) ?? []).map((r) => r.finished_at?.getTime() ?? Infinity));
        for (const s of SERVICES) {
          for (const dependency of s.dependsOn)
            expect(firstStart(s.name)).toBeGreaterThanOrEqual(lastFinish(dependency));
        }
        const deployments = (await getJson(lab, ['deployments', '-n', umbrellaNs]))?.items ?? [];
        expect(deployments.map((d) => d.metadata.name).sort()).toEqual(SERVICES.map((s) => `webrana-${s.name}`).sort());
        const admins = await withClient(url('auth-service'), (c) => c.query('SELECT email FROM users'));
        expect(admins.rowCount).toBe(2);
        const plans = await withClient(url('catalog-service'), (c) => c.query('SELECT slug FROM vps_plans'));
        expect(plans.rowCount).toBe(3);
      } finally {
        await helm(lab, ['uninstall', 'webrana', '-n', umbrellaNs, '--wait=false'], { allowFailure: true });
        await deleteNamespace(lab, umbrellaNs);
        for (const d of fresh.values()) await d.drop().catch(() => undefined);
      }
    },
    STEP_TIMEOUT_MS,
  );
});

describe('expand/contract on kube-lab (issue 21 item 3)', () => {
  test(
    'an upgrade with a post-deploy migration: the pre-upgrade hook applies only the expand step, Helm then changes the Deployment, and the post-upgrade hook applies the contract step',
    async () => {
      const database = await createTestDatabase('chart_phases');
      const release = 'phases';
      const job = (suffix: string) => `${release}-catalog-service-${suffix}`;
      const url = database.url;
      const base = ['--set', 'replicaCount=1', '--set', `database.url=${url}`, '--set', 'seed.enabled=false'];
      try {
        succeeded(await upgradeInstall(release, 'catalog-service', base));
        const expand = '20270101000000_add_tier';
        const contract = '20270101000100_drop_legacy_note';
        const dir = migrationsWith('catalog-service', {
          [expand]:
            'ALTER TABLE "vps_plans" ADD COLUMN "tier" TEXT;\nALTER TABLE "vps_plans" ADD COLUMN "legacy_note" TEXT;\n',
          [contract]:
            '-- webrana:phase post-deploy\n' +
            '-- webrana:allow ban-drop-column: the 0.2.0 pods no longer read legacy_note\n' +
            'ALTER TABLE "vps_plans" DROP COLUMN "legacy_note";\n',
        });
        const upgrading = upgradeInstall(release, 'catalog-service', [
          ...base,
          '--set',
          'image.tag=0.2.0',
          '--set',
          'jobsImage.tag=0.2.0',
          '--set-json',
          `migrations.extraArgs=${JSON.stringify([`--migrations-dir=${dir}`])}`,
        ]);
        // Once the pre-upgrade runner recorded the expand step, hold the migration lock so the post-upgrade
        // runner waits where the test can look.
        await waitFor(
          'the expand migration in the ledger',
          async () => (await ledger(url)).some((r) => r.migration_name === expand && r.finished_at),
          { timeoutMs: 120_000, diagnose: () => describeNamespace(lab, lab.ns) },
        );
        const unlock = await holdMigrationLock(url);
        try {
          expect((await ledger(url)).map((r) => r.migration_name)).not.toContain(contract);
          await waitForRunningMigration(job('migrate-post-deploy'));
          // The post hook runs after Helm changed the Deployment; the column is still there for the old pods.
          expect(imageOf(await deployment(`${release}-catalog-service`))).toBe('webrana/catalog-service:0.2.0');
          expect(await columnExists(url, 'legacy_note')).toBe(true);
          expect((await ledger(url)).map((r) => r.migration_name)).not.toContain(contract);
        } finally {
          await unlock();
        }
        succeeded(await upgrading);
        expect((await ledger(url)).map((r) => r.migration_name).slice(-2)).toEqual([expand, contract]);
        expect(await columnExists(url, 'legacy_note')).toBe(false);
        expect(migrationLogs(job('migrate-post-deploy'), 'migrate-post-deploy').join('\n')).toContain(
          'applied 1 migration(s)',
        );
      } finally {
        await helm(lab, ['uninstall', release, '-n', lab.ns, '--wait=false'], { allowFailure: true });
        await database.drop().catch(() => undefined);
      }
    },
    STEP_TIMEOUT_MS,
  );
});

async function columnExists(url: string, column: string): Promise<boolean> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'vps_plans' AND column_name = $1",
      [column],
    );
    return rows[0]!.n === 1;
  });
}

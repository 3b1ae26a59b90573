import * as fs from 'node:fs';
import bcrypt from 'bcrypt';
import { Client } from 'pg';
import {
  describeNamespace,
  getJson,
  helm,
  imageRef,
  jobPods,
  kubectl,
  useRealNode,
  waitFor,
  type KubeObject,
  type RunResult,
} from '@webrana/kube-lab';
import { SERVICES, migrationsDir, type ServiceName } from '@webrana/registry';
import { withClient } from '@webrana/testing';
import { createNodeDatabase, type NodeDatabase } from '../../packages/kube-lab/test/node-database';
import { chartArgs } from './helm';

// The service chart installed alone on the real node (kubelet + containerd + runc, the jobs image under
// test in the hook Jobs) against PostgreSQL on the host: installs on empty databases holding the
// migration lock to see that the Deployment waits for the migration, the auth seed, a values type error,
// and the database.url path with its hook Secret. Covered elsewhere on the real node, so not repeated
// here (packages/kube-lab/test): the umbrella install, its dependency order, an upgrade carrying a new
// migration and a failing one (real-node.k8s.test.ts), expand/contract (real-node-expand-contract).

/** Prisma's migration advisory lock: while a test holds it, the migration Job waits (--lock-wait). */
const MIGRATION_LOCK = 72707369;
const STEP_TIMEOUT_MS = 5 * 60_000;
const PASSWORDS = { SUPER_ADMIN_PASSWORD: 'Chart-Test-Super-7x!', ADMIN_PASSWORD: 'Chart-Test-Admin-7x!' };
const URL_VARIABLE = Object.fromEntries(SERVICES.map((s) => [s.name, s.urlVariable])) as Record<ServiceName, string>;

const lab = useRealNode('charts');
const databases = new Map<ServiceName, NodeDatabase>();

beforeAll(async () => {
  for (const service of SERVICES) databases.set(service.name, await createNodeDatabase(lab, `chart_${service.name}`));
  // One Secret holds every URL (as pods reach it) under its variable, as the charts' default
  // database.existingSecret expects.
  await createSecret('webrana-database', Object.fromEntries(SERVICES.map((s) => [s.urlVariable, db(s.name).podUrl])));
  await createSecret('webrana-auth-seed', PASSWORDS);
}, STEP_TIMEOUT_MS);

function db(service: ServiceName): NodeDatabase {
  const found = databases.get(service);
  if (!found) throw new Error(`no database for ${service}`);
  return found;
}

async function createSecret(name: string, data: Record<string, string>): Promise<void> {
  const args = ['create', 'secret', 'generic', name, '-n', lab.ns];
  for (const [key, value] of Object.entries(data)) args.push(`--from-literal=${key}=${value}`);
  await kubectl(lab, args);
}

/** `helm upgrade --install` of a chart target of this repository (see chartArgs), its policy open to the lab's PostgreSQL. */
function upgradeInstall(release: string, chart: string, flags: string[] = []): Promise<RunResult> {
  return helm(
    lab,
    [
      'upgrade',
      '--install',
      release,
      ...chartArgs(chart),
      '-n',
      lab.ns,
      '--timeout',
      '4m',
      ...lab.postgres.networkPolicyFlags(),
      ...flags,
    ],
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
  finished_at: Date | null;
}

async function ledger(url: string): Promise<LedgerRow[]> {
  return withClient(url, async (c) => {
    const exists = await c.query<{ t: string | null }>("SELECT to_regclass('public._prisma_migrations')::text AS t");
    if (!exists.rows[0]?.t) return [];
    const { rows } = await c.query<LedgerRow>(
      'SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY started_at',
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

const deployment = (name: string) => getJson(lab, ['deployment', name, '-n', lab.ns]);
const creationTime = (d: KubeObject | undefined) =>
  Date.parse((d?.metadata as unknown as { creationTimestamp: string }).creationTimestamp);
const imageOf = (d: KubeObject | undefined) =>
  (d?.spec as { template: { spec: { containers: Array<{ image: string }> } } } | undefined)?.template.spec.containers[0]
    ?.image;

/** Waits until the migration Job's pod runs (the runner is then polling for the lock we hold); its name. */
async function waitForRunningMigration(job: string): Promise<string> {
  const pod = await waitFor(
    `a running pod of job ${job}`,
    async () => (await jobPods(lab, lab.ns, job)).find((p) => p.status?.phase === 'Running')?.metadata.name,
    { timeoutMs: 90_000, diagnose: () => describeNamespace(lab, lab.ns) },
  );
  // Past node's start-up: the runner has connected and found the lock taken.
  await new Promise((r) => setTimeout(r, 3000));
  return pod;
}

/**
 * The whole log of a running container (`kubectl logs -f` ends when it exits): a hook Job that succeeds
 * is deleted by Helm with its pod, and its log with it, so it is read while it runs.
 */
async function followLog(pod: string, container: string): Promise<string> {
  const r = await kubectl(lab, ['logs', '-f', pod, '-n', lab.ns, '-c', container], {
    allowFailure: true,
    timeoutMs: STEP_TIMEOUT_MS,
  });
  return r.stdout + r.stderr;
}

describe('auth-service chart on the real node', () => {
  const release = 'auth-service';

  test(
    'upgrade --install on an empty database: the migration hook runs webrana-jobs migrate deploy, the Deployment is created only after it succeeded, and the seed hook creates the admin users',
    async () => {
      const { url, podUrl } = db('auth-service');
      const unlock = await holdMigrationLock(url);
      const installing = upgradeInstall(release, 'auth-service', ['--set', 'replicaCount=1']);
      let log = Promise.resolve('');
      try {
        log = followLog(await waitForRunningMigration('auth-service-migrate'), 'migrate');
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
      expect(`docker.io/${imageOf(created)}`).toBe(imageRef('auth-service'));
      // creationTimestamp has whole seconds.
      expect(creationTime(created)).toBeGreaterThanOrEqual(Math.floor(unlockedAt / 1000) * 1000);

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

      // The Job ran the real runner of the jobs image: its container's log, through the logs API.
      expect(await log).toContain(`applied ${migrationNames('auth-service').length} migration(s)`);
      expect(await log).not.toContain(podUrl);

      // Both hook Jobs succeeded, so Helm deleted them (hook-succeeded).
      expect(await getJson(lab, ['job', 'auth-service-migrate', '-n', lab.ns])).toBeUndefined();
      expect(await getJson(lab, ['job', 'auth-service-seed', '-n', lab.ns])).toBeUndefined();
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

describe.each(['catalog-service', 'order-service', 'billing-service'] as const)(
  '%s chart on the real node',
  (service) => {
    test(
      'upgrade --install on an empty database migrates it before creating the Deployment, and uninstall leaves no Secret behind',
      async () => {
        const { url, podUrl } = db(service);
        // catalog-service gets its URL as a value: the chart's pre-install hook Secret carries it to the
        // migration Job on the first install. The others read the shared existing Secret.
        const flags = ['--set', 'replicaCount=1'];
        if (service === 'catalog-service') flags.push('--set', `database.url=${podUrl}`);
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
        expect(result.stdout + result.stderr).not.toContain(podUrl);

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
  },
);

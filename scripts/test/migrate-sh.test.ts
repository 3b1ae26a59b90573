import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, SERVICES } from '@webrana/registry';
import { createTestDatabase, withClient, type TestDatabase } from '@webrana/testing';

const run = promisify(execFile);
const MIGRATE_SH = path.join(REPO_ROOT, 'scripts', 'migrate.sh');

let databases: Record<string, TestDatabase>;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  databases = Object.fromEntries(
    await Promise.all(SERVICES.map(async (s) => [s.name, await createTestDatabase(s.database)])),
  );
  env = { PATH: process.env.PATH, ...Object.fromEntries(SERVICES.map((s) => [s.urlVariable, databases[s.name]!.url])) };
});
afterEach(() => Promise.all(Object.values(databases).map((db) => db.drop())));

async function migrateSh(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(MIGRATE_SH, args, { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** When each service's migrations started and finished, from its own ledger. */
async function ledgerSpan(service: string): Promise<{ first: Date; last: Date; count: number }> {
  return withClient(databases[service]!.url, (c) =>
    c
      .query(
        'SELECT min(started_at) AS first, max(finished_at) AS last, count(*)::int AS count FROM _prisma_migrations',
      )
      .then((r) => r.rows[0]),
  );
}

test('migrate.sh with no argument migrates all four empty databases in dependency order', async () => {
  const result = await migrateSh();
  expect(result.code).toBe(0);
  const span = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s.name, await ledgerSpan(s.name)])));
  for (const s of SERVICES) expect(span[s.name].count).toBe(2);
  for (const s of SERVICES) {
    for (const dependency of s.dependsOn) {
      expect(span[dependency].last.getTime()).toBeLessThanOrEqual(span[s.name].first.getTime());
    }
  }
});

test('migrate.sh --service=order-service refuses while auth is behind, naming it', async () => {
  expect((await migrateSh('--service=catalog-service')).code).toBe(0);
  const result = await migrateSh('--service=order-service');
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(
    'order-service depends on auth-service, which has unapplied migrations; migrate it first, or pass --with-deps',
  );
  const ordered = await withClient(databases['order-service']!.url, (c) =>
    c.query(`SELECT to_regclass('_prisma_migrations') AS t`).then((r) => r.rows[0].t),
  );
  expect(ordered).toBeNull();
});

test('migrate.sh --service=billing-service --with-deps migrates auth, catalog and order first', async () => {
  const result = await migrateSh('--service=billing-service', '--with-deps');
  expect(result.code).toBe(0);
  const order = await ledgerSpan('order-service');
  const billing = await ledgerSpan('billing-service');
  expect((await ledgerSpan('auth-service')).count).toBe(2);
  expect(order.last.getTime()).toBeLessThanOrEqual(billing.first.getTime());
});

test('migrate.sh --help prints the interface and exits 0', async () => {
  const result = await migrateSh('--help');
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('usage: scripts/migrate.sh [--service=NAME] [--with-deps]');
});

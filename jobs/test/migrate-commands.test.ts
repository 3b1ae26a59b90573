import { execFile } from 'node:child_process';
import { appendFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@webrana/registry';
import { createTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import { addMigration, copyPrismaFolder, runCli } from './helpers';

let db: TestDatabase;
let prisma: ReturnType<typeof copyPrismaFolder>;
beforeEach(async () => {
  db = await createTestDatabase('commands');
  prisma = copyPrismaFolder('catalog-service');
});
afterEach(async () => {
  prisma.remove();
  await db.drop();
});

const args = (command: string, ...extra: string[]) => [
  'migrate',
  command,
  '--service=catalog-service',
  `--database-url=${db.url}`,
  `--migrations-dir=${prisma.migrationsDir}`,
  ...extra,
];
const ledgerRows = () =>
  withClient(db.url, (c) => c.query('SELECT * FROM _prisma_migrations ORDER BY started_at').then((r) => r.rows));

describe('migrate status', () => {
  test('on an empty database lists every migration as pending and exits 1', async () => {
    const result = await runCli(args('status', '--json'));
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      service: 'catalog-service',
      upToDate: false,
      migrations: [
        { name: '20261125000000_init', state: 'pending' },
        { name: '20261125000100_rules', state: 'pending' },
      ],
      blockers: [],
    });
  });

  test('after deploy reports up to date and exits 0, without writing anything itself', async () => {
    expect((await runCli(args('deploy'))).code).toBe(0);
    const before = await ledgerRows();
    const result = await runCli(args('status'));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^catalog-service: up to date\n {2}applied {10}20261125000000_init\n {2}applied {10}20261125000100_rules\n$/,
    );
    expect(await ledgerRows()).toEqual(before);
  });

  test('reports failed, modified and missing-locally migrations', async () => {
    addMigration(prisma.migrationsDir, '20261201000000_gone', 'CREATE TABLE gone (id INT);');
    expect((await runCli(args('deploy'))).code).toBe(0);
    addMigration(prisma.migrationsDir, '20261202000000_broken', 'SELECT 1/0;');
    expect((await runCli(args('deploy'))).code).toBe(1);
    rmSync(`${prisma.migrationsDir}/20261201000000_gone`, { recursive: true });
    appendFileSync(`${prisma.migrationsDir}/20261125000100_rules/migration.sql`, '-- edited\n');
    const result = await runCli(args('status', '--json'));
    expect(result.code).toBe(1);
    const states = Object.fromEntries(
      JSON.parse(result.stdout).migrations.map((m: { name: string; state: string }) => [m.name, m.state]),
    );
    expect(states).toEqual({
      '20261125000000_init': 'applied',
      '20261125000100_rules': 'modified',
      '20261201000000_gone': 'missing-locally',
      '20261202000000_broken': 'failed',
    });
  });
});

describe('migrate plan / deploy --dry-run', () => {
  test('prints what would run and touches nothing (no ledger table is created)', async () => {
    const result = await runCli(args('plan'));
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      'catalog-service: 2 pending migration(s)\n' +
        '  would apply 20261125000000_init (in one transaction)\n' +
        '  would apply 20261125000100_rules (in one transaction)\n',
    );
    expect((await runCli(args('deploy', '--dry-run'))).stdout).toBe(result.stdout);
    const exists = await withClient(db.url, (c) =>
      c.query(`SELECT to_regclass('_prisma_migrations') AS t`).then((r) => r.rows[0].t),
    );
    expect(exists).toBeNull();
  });
});

describe('migrate resolve', () => {
  test('--applied records a migration as applied without running it (Prisma semantics), and refuses a second time', async () => {
    expect((await runCli(args('resolve', '--applied', '20261125000000_init'))).code).toBe(0);
    const [row] = await ledgerRows();
    expect(row).toMatchObject({ migration_name: '20261125000000_init', applied_steps_count: 0, rolled_back_at: null });
    expect(row.finished_at).toEqual(row.started_at);
    const tables = await withClient(db.url, (c) =>
      c.query(`SELECT to_regclass('vps_plans') AS t`).then((r) => r.rows[0].t),
    );
    expect(tables).toBeNull();
    const again = await runCli(args('resolve', '--applied', '20261125000000_init'));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('migration 20261125000000_init is already recorded as applied (Prisma P3008)');
  });

  test('--rolled-back on a migration that did not fail is refused', async () => {
    expect((await runCli(args('deploy'))).code).toBe(0);
    const result = await runCli(args('resolve', '--rolled-back', '20261125000000_init'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('migration 20261125000000_init is not in a failed state');
  });

  test('--applied on an unknown migration names the folder it looked in', async () => {
    const result = await runCli(args('resolve', '--applied', '20990101000000_nope'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no migration named 20990101000000_nope in ${prisma.migrationsDir}`);
  });

  test('without --applied or --rolled-back is a usage error (exit 2)', async () => {
    const result = await runCli(args('resolve'));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('resolve takes exactly one of --applied NAME or --rolled-back NAME');
  });
});

describe('migrate reset', () => {
  test('drops every table and data, then re-applies every migration', async () => {
    expect((await runCli(args('deploy'))).code).toBe(0);
    await withClient(db.url, (c) =>
      c.query(
        `INSERT INTO vps_images (slug, name, distribution, version, do_image_slug) VALUES ('debian-12', 'Debian 12', 'debian', '12', 'debian-12-x64')`,
      ),
    );
    const result = await runCli(args('reset'));
    expect(result.code).toBe(0);
    const count = await withClient(db.url, (c) =>
      c.query('SELECT count(*)::int AS n FROM vps_images').then((r) => r.rows[0].n),
    );
    expect(count).toBe(0);
    expect((await ledgerRows()).map((r) => r.migration_name)).toEqual(['20261125000000_init', '20261125000100_rules']);
  });

  test('is refused in production', async () => {
    expect((await runCli(args('deploy'))).code).toBe(0);
    const result = await runCli(args('reset'), { NODE_ENV: 'production' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('migrate reset drops every table and is refused in production');
    expect(await ledgerRows()).toHaveLength(2);
  });
});

describe('webrana-jobs command line', () => {
  test('--help prints usage and exits 0', async () => {
    const top = await runCli(['--help']);
    expect([top.code, top.stdout]).toEqual([0, expect.stringContaining('usage: webrana-jobs <group> <command>')]);
    const migrate = await runCli(['migrate', '--help']);
    expect([migrate.code, migrate.stdout]).toEqual([0, expect.stringContaining('--lock-timeout=DURATION')]);
  });

  test('npx webrana-jobs works from the repository root after npm ci (the package bin link)', async () => {
    const { stdout } = await promisify(execFile)(path.join(REPO_ROOT, 'node_modules', '.bin', 'webrana-jobs'), [
      '--help',
    ]);
    expect(stdout).toContain('usage: webrana-jobs <group> <command>');
  });

  test('an unknown service is a usage error naming the known ones', async () => {
    const result = await runCli(['migrate', 'status', '--service=payments']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'unknown service "payments"; expected one of: auth-service, catalog-service, order-service, billing-service',
    );
  });

  test('a missing database URL names the variable to set', async () => {
    const result = await runCli(['migrate', 'deploy', '--service=order-service']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'no database URL for order-service: set ORDER_DATABASE_URL (or DATABASE_URL), or pass --database-url',
    );
  });

  test('a wrong password fails at once, without retrying and without printing the password', async () => {
    const url = new URL(db.url);
    url.password = 'wrong-s3cr3t';
    const result = await runCli(['migrate', 'deploy', '--service=auth-service', `--database-url=${url}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot connect to postgresql://postgres:***@');
    expect(result.stdout + result.stderr).not.toContain('wrong-s3cr3t');
    expect(result.stdout).not.toContain('waiting for the database');
  });
});

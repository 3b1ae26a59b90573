// Issue 21, items 2 and 4: squawk lint gate (CI and production deploy) and per-migration timeouts.
import { SERVICES } from '@webrana/registry';
import { createTestDatabase, type TestDatabase } from '@webrana/testing';
import { Client } from 'pg';
import { addMigration, columnExists, copyPrismaFolder, ledger, runCli } from './helpers';

const ADD_REQUIRED = 'ALTER TABLE "vps_plans" ADD COLUMN "tier" TEXT NOT NULL;\n';
const NAME = '20261201000000_add_tier';

test.each(SERVICES.map((s) => s.name))(
  'CI: every migration of %s passes the lint gate (migrate lint --all)',
  async (service) => {
    const result = await runCli(['migrate', 'lint', '--all', `--service=${service}`]);
    expect(result.stdout.split('\n').filter((l) => /: error \[/.test(l))).toEqual([]);
    expect(result.stdout).toContain(`${service}: 2 migration(s) linted, 0 unallowed error(s)`);
    expect(result.code).toBe(0);
  },
);

describe('with a copy of catalog-service', () => {
  let db: TestDatabase;
  let prisma: ReturnType<typeof copyPrismaFolder>;
  beforeEach(async () => {
    db = await createTestDatabase('lint');
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
  const PROD = { NODE_ENV: 'production' };

  test('CI fails on an unallowed finding, naming rule, file and line', async () => {
    const file = addMigration(prisma.migrationsDir, NAME, `-- a required column\n${ADD_REQUIRED}`);
    const result = await runCli(args('lint', '--all'));
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`${file}:2: error [adding-required-field]`);
    expect(result.stdout).toContain('safe alternative: add the column nullable');
    expect(result.stdout).toContain('1 unallowed error(s)');
  });

  test('production deploy refuses a NOT NULL column without default on an existing table, naming the rule', async () => {
    expect((await runCli(args('deploy'))).code).toBe(0);
    const file = addMigration(prisma.migrationsDir, NAME, ADD_REQUIRED);
    // Lint only the pending ones: the applied migrations are not looked at.
    const lint = await runCli(args('lint'));
    expect(lint.code).toBe(1);
    expect(lint.stdout).toContain('1 migration(s) linted');
    const result = await runCli(args('deploy'), PROD);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('refusing to migrate');
    expect(result.stderr).toContain(`${file}:1: error [adding-required-field]`);
    expect(result.stderr).toContain('safe alternative:');
    expect(result.stderr).toContain('-- webrana:allow adding-required-field: <reason>');
    expect(await columnExists(db.url, 'vps_plans', 'tier')).toBe(false);
    expect((await ledger(db.url)).map((r) => r.migration_name)).not.toContain(NAME);
    // Outside production the gate does not apply (the findings are printed by migrate new and lint).
    expect((await runCli(args('deploy'))).code).toBe(0);
  });

  test('the same migration with an allow comment and a reason deploys in production', async () => {
    expect((await runCli(args('deploy'))).code).toBe(0);
    addMigration(
      prisma.migrationsDir,
      NAME,
      `-- webrana:allow adding-required-field: vps_plans is empty in every environment\n${ADD_REQUIRED}`,
    );
    const lint = await runCli(args('lint'));
    expect(lint.stdout).toContain('allowed (vps_plans is empty in every environment) [adding-required-field]');
    expect(lint.code).toBe(0);
    const result = await runCli(args('deploy'), PROD);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await columnExists(db.url, 'vps_plans', 'tier')).toBe(true);
  });

  test('an allow comment without a reason, or naming no rule, is itself an error naming the fix', async () => {
    expect((await runCli(args('deploy'))).code).toBe(0);
    const file = addMigration(
      prisma.migrationsDir,
      NAME,
      `-- webrana:allow adding-required-field\n-- webrana:allow adding-everything: trust me\n${ADD_REQUIRED}`,
    );
    const result = await runCli(args('deploy'), PROD);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `${file}:1: error [webrana-allow] allow comment for adding-required-field gives no reason`,
    );
    expect(result.stderr).toContain(
      `${file}:2: error [webrana-allow] allow comment names no known squawk rule ("adding-everything")`,
    );
    expect(result.stderr).toContain('-- webrana:allow <squawk rule>: <why it is safe here>');
    expect(result.stderr).toContain(`${file}:3: error [adding-required-field]`);
  });

  test('rules about existing tables do not apply to a table created in the same file', async () => {
    addMigration(
      prisma.migrationsDir,
      NAME,
      'CREATE TABLE "t" ("id" UUID NOT NULL, CONSTRAINT "t_pkey" PRIMARY KEY ("id"));\nALTER TABLE "t" ADD COLUMN "n" TEXT NOT NULL;\nCREATE INDEX "t_n_idx" ON "t"("n");\n',
    );
    const result = await runCli(args('lint', '--all'));
    expect(result.stdout).not.toContain(NAME);
    expect(result.code).toBe(0);
  });

  test('a CONCURRENTLY migration is linted as the runner applies it: outside a transaction', async () => {
    addMigration(
      prisma.migrationsDir,
      NAME,
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS "vps_plans_name_idx" ON "vps_plans"("name");\n',
    );
    const result = await runCli(args('lint', '--all'));
    expect(result.stdout).not.toContain(NAME);
    expect(result.code).toBe(0);
    expect((await runCli(args('deploy'), PROD)).code).toBe(0);
  });

  test('-- webrana:lock-timeout sets the lock timeout of one migration; a lock wait reports the blocker', async () => {
    expect((await runCli(args('deploy'))).code).toBe(0);
    addMigration(
      prisma.migrationsDir,
      NAME,
      '-- webrana:lock-timeout 300ms\n-- webrana:statement-timeout 20s\nALTER TABLE "vps_plans" ADD COLUMN "note" TEXT;\n',
    );
    const blocker = new Client({ connectionString: db.url, application_name: 'long-report' });
    await blocker.connect();
    try {
      const { rows } = await blocker.query('SELECT pg_backend_pid() AS pid');
      await blocker.query('BEGIN; LOCK TABLE vps_plans IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const result = await runCli(args('deploy', '--lock-timeout=60s', '--lock-retries=1', '--lock-retry-delay=100ms'));
      const output = result.stdout + result.stderr;
      expect(result.code).toBe(75);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(output).toContain('migration sets its own timeouts');
      expect(output).toContain('within the lock timeout (300ms) in 2 attempt(s)');
      expect(output).toContain(`session pid ${rows[0].pid} (application_name "long-report"`);
      await blocker.query('COMMIT');
    } finally {
      await blocker.end();
    }
    expect((await runCli(args('deploy'))).code).toBe(0);
    expect(await columnExists(db.url, 'vps_plans', 'note')).toBe(true);
  });

  test('a malformed timeout comment stops deploy before anything runs', async () => {
    addMigration(prisma.migrationsDir, NAME, '-- webrana:lock-timeout soon\nSELECT 1;\n');
    const result = await runCli(args('deploy'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('-- webrana:lock-timeout soon');
    expect(result.stderr).toContain('is not a duration');
  });
});

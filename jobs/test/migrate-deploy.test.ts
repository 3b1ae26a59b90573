import { createTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import * as fs from 'node:fs';
import { addMigration, columnExists, copyPrismaFolder, ledger, runCli, startCli, waitFor } from './helpers';

const tableExists = (url: string, table: string) =>
  withClient(url, (c) =>
    c.query(`SELECT to_regclass($1) IS NOT NULL AS e`, [table]).then((r) => r.rows[0].e as boolean),
  );

let db: TestDatabase;
let prisma: ReturnType<typeof copyPrismaFolder>;
beforeEach(async () => {
  db = await createTestDatabase('deploy');
  prisma = copyPrismaFolder('auth-service');
});
afterEach(async () => {
  prisma.remove();
  await db.drop();
});

const migrateArgs = (command: string) => [
  'migrate',
  command,
  '--service=auth-service',
  `--database-url=${db.url}`,
  `--migrations-dir=${prisma.migrationsDir}`,
];
const deployArgs = () => migrateArgs('deploy');

test('deploy applies every migration once and writes the ledger as Prisma does', async () => {
  const result = await runCli(deployArgs());
  expect(result.code).toBe(0);
  const rows = await ledger(db.url);
  expect(rows.map((r) => [r.migration_name, r.applied_steps_count, r.logs, r.rolled_back_at])).toEqual([
    ['20261125000000_init', 1, null, null],
    ['20261125000100_rules', 1, null, null],
  ]);
  rows.forEach((r) => expect(r.checksum).toMatch(/^[0-9a-f]{64}$/));
  rows.forEach((r) => expect(r.finished_at).toBeInstanceOf(Date));
  const summary = result.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .pop();
  expect(summary).toMatchObject({ service: 'auth-service', applied: ['20261125000000_init', '20261125000100_rules'] });
  expect(summary.durationMs).toEqual(expect.any(Number));
});

test('two runners started at the same time apply each migration exactly once and both exit 0', async () => {
  const [a, b] = await Promise.all([runCli(deployArgs()), runCli(deployArgs())]);
  expect([a.code, b.code]).toEqual([0, 0]);
  const names = (await ledger(db.url)).map((r) => r.migration_name);
  expect(names).toEqual(['20261125000000_init', '20261125000100_rules']);
  const applied = [a, b].map((r) => JSON.parse(r.stdout.trim().split('\n').pop()!).applied.length).sort();
  expect(applied).toEqual([0, 2]);
});

test('a migration failing at its second statement leaves no trace of its first, blocks the next deploy until resolve, and exits 1', async () => {
  expect((await runCli(deployArgs())).code).toBe(0);
  const file = addMigration(
    prisma.migrationsDir,
    '20261201000000_add_nickname',
    'ALTER TABLE users ADD COLUMN nickname TEXT;\nINSERT INTO no_such_table VALUES (1);\n',
  );

  const failed = await runCli(deployArgs());
  expect(failed.code).toBe(1);
  expect(failed.stderr).toContain(`migration 20261201000000_add_nickname failed (${file})`);
  expect(failed.stderr).toContain('Database error at line 2:\nrelation "no_such_table" does not exist');
  expect(await columnExists(db.url, 'users', 'nickname')).toBe(false);
  const row = (await ledger(db.url)).find((r) => r.migration_name === '20261201000000_add_nickname');
  expect(row).toMatchObject({ finished_at: null, rolled_back_at: null, applied_steps_count: 0 });
  expect(row.logs).toContain('Database error code: 42P01');

  const blocked = await runCli(deployArgs());
  expect(blocked.code).toBe(1);
  expect(blocked.stderr).toContain(
    'migration 20261201000000_add_nickname failed earlier and blocks new migrations (Prisma P3009)',
  );

  fs.writeFileSync(file, 'ALTER TABLE users ADD COLUMN nickname TEXT;\n');
  const resolved = await runCli([...migrateArgs('resolve'), '--rolled-back', '20261201000000_add_nickname']);
  expect(resolved.code).toBe(0);
  expect((await runCli(deployArgs())).code).toBe(0);
  expect(await columnExists(db.url, 'users', 'nickname')).toBe(true);
});

test('editing an applied migration.sql makes deploy refuse', async () => {
  expect((await runCli(deployArgs())).code).toBe(0);
  fs.appendFileSync(`${prisma.migrationsDir}/20261125000100_rules/migration.sql`, '\n-- a harmless-looking edit\n');
  addMigration(prisma.migrationsDir, '20261201000000_next', 'CREATE TABLE next_one (id INT);');
  const result = await runCli(deployArgs());
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('migration 20261125000100_rules was edited after it was applied (checksum differs)');
  expect(await tableExists(db.url, 'next_one')).toBe(false);
});

test('a migration applied in the database but missing locally makes deploy refuse unless --allow-missing', async () => {
  addMigration(prisma.migrationsDir, '20261201000000_newer', 'CREATE TABLE newer (id INT);');
  expect((await runCli(deployArgs())).code).toBe(0);
  fs.rmSync(`${prisma.migrationsDir}/20261201000000_newer`, { recursive: true });
  const refused = await runCli(deployArgs());
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain(
    'migration 20261201000000_newer is applied in the database but missing from the migrations folder',
  );
  expect((await runCli([...deployArgs(), '--allow-missing'])).code).toBe(0);
});

test('killing the runner with SIGKILL mid-migration leaves the schema unchanged and the next deploy succeeds', async () => {
  expect((await runCli(deployArgs())).code).toBe(0);
  addMigration(
    prisma.migrationsDir,
    '20261201000000_slow',
    'CREATE TABLE killed_midway (id INT);\nALTER TABLE users ADD COLUMN slow_col INT;\n',
  );
  // Hold a lock on users so the migration stops at its second statement, after creating killed_midway.
  await withClient(db.url, async (blocker) => {
    await blocker.query('BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
    const { child, result } = startCli([...deployArgs(), '--lock-timeout=60s']);
    // (pg_stat_activity is read from fresh sessions: inside a transaction it is a frozen snapshot.)
    const backend = await waitFor('the migration to wait on the users lock', () =>
      withClient(db.url, (c) =>
        c.query(`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%killed_midway%'`),
      ).then((r) => r.rows[0]?.pid as number | undefined),
    );
    child.kill('SIGKILL');
    expect((await result).signal).toBe('SIGKILL');
    // The server notices the dead client (client_connection_check_interval) and rolls back.
    await waitFor('the killed migration backend to end', () =>
      withClient(db.url, (c) =>
        c.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [backend]),
      ).then((r) => r.rows[0].n === 0),
    );
    await blocker.query('ROLLBACK');
  });
  expect(await tableExists(db.url, 'killed_midway')).toBe(false);
  expect((await ledger(db.url)).map((r) => r.migration_name)).not.toContain('20261201000000_slow');

  const again = await runCli(deployArgs());
  expect(again.code).toBe(0);
  expect(await tableExists(db.url, 'killed_midway')).toBe(true);
  expect(await columnExists(db.url, 'users', 'slow_col')).toBe(true);
});

test('a migration that cannot run in a transaction (CREATE INDEX CONCURRENTLY) is applied statement by statement', async () => {
  addMigration(
    prisma.migrationsDir,
    '20261201000000_concurrent_index',
    'CREATE INDEX CONCURRENTLY users_full_name_idx ON users (full_name);\n',
  );
  const plan = await runCli([...deployArgs(), '--dry-run']);
  expect(plan.stdout).toContain(
    'would apply 20261201000000_concurrent_index (outside a transaction: CREATE INDEX CONCURRENTLY)',
  );
  const result = await runCli(deployArgs());
  expect(result.code).toBe(0);
  expect(await tableExists(db.url, 'users_full_name_idx')).toBe(true);
});

test('a DDL statement that waits longer than --lock-timeout gives up with exit 75 instead of queueing behind traffic, recording nothing', async () => {
  expect((await runCli(deployArgs())).code).toBe(0);
  addMigration(prisma.migrationsDir, '20261201000000_needs_lock', 'ALTER TABLE users ADD COLUMN blocked_col INT;\n');
  await withClient(db.url, async (blocker) => {
    await blocker.query('BEGIN; LOCK TABLE users IN ACCESS SHARE MODE');
    const result = await runCli([...deployArgs(), '--lock-timeout=300ms', '--lock-retries=0']);
    expect(result.code).toBe(75);
    expect(result.stdout).toContain('canceling statement due to lock timeout');
    await blocker.query('ROLLBACK');
  });
  expect(await columnExists(db.url, 'users', 'blocked_col')).toBe(false);
  expect((await ledger(db.url)).map((r) => r.migration_name)).not.toContain('20261201000000_needs_lock');
});

test('deploy waits for a database that is not up yet, then gives up with a clear message', async () => {
  const started = Date.now();
  const result = await runCli([
    'migrate',
    'deploy',
    '--service=auth-service',
    '--database-url=postgresql://u:s3cr3t-pw@127.0.0.1:1/webrana_auth',
    '--wait=1500ms',
  ]);
  expect(result.code).toBe(1);
  expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
  expect(result.stderr).toContain('database postgresql://u:***@127.0.0.1:1/webrana_auth not reachable after 2s');
  expect(result.stdout + result.stderr).not.toContain('s3cr3t-pw');
  expect(result.stdout).toContain('waiting for the database to accept connections');
});

// Issue 16, "a transient failure never becomes a stuck deploy": lock timeouts, flag ranges, a runner
// killed inside a statement-by-statement migration, syntax and permission errors. Real PostgreSQL, real CLI.
import { createTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import * as fs from 'node:fs';
import { Client } from 'pg';
import { addMigration, columnExists, copyPrismaFolder, ledger, runCli, startCli, waitFor } from './helpers';

const indexState = (url: string, index: string) =>
  withClient(url, (c) =>
    c
      .query(
        `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1`,
        [index],
      )
      .then((r) => (r.rows[0] ? (r.rows[0].valid ? 'valid' : 'INVALID') : 'absent')),
  );

/** A second session, named like a real application, that can hold locks on the migrated tables. */
async function session(url: string, applicationName: string) {
  const client = new Client({ connectionString: url, application_name: applicationName });
  await client.connect();
  const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
  return { client, pid: rows[0].pid as number };
}

let db: TestDatabase;
let prisma: ReturnType<typeof copyPrismaFolder>;
beforeEach(async () => {
  db = await createTestDatabase('transient');
  prisma = copyPrismaFolder('auth-service');
});
afterEach(async () => {
  prisma.remove();
  await db.drop();
});

const migrateArgs = (command: string, url = db.url) => [
  'migrate',
  command,
  '--service=auth-service',
  `--database-url=${url}`,
  `--migrations-dir=${prisma.migrationsDir}`,
];
const deployArgs = () => migrateArgs('deploy');
const RETRY_LOG = /nothing was applied, retrying in (\d+)ms/g;

describe('lock timeouts', () => {
  test('a lock timeout is retried --lock-retries times with backoff, exits 75 naming the blocking session, records nothing, and the next deploy applies it once the blocker commits', async () => {
    expect((await runCli(deployArgs())).code).toBe(0);
    addMigration(prisma.migrationsDir, '20261201000000_add_nickname', 'ALTER TABLE users ADD COLUMN nickname TEXT;\n');
    const blocker = await session(db.url, 'nightly-report');
    try {
      await blocker.client.query('BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const result = await runCli([
        ...deployArgs(),
        '--lock-timeout=300ms',
        '--lock-retries=2',
        '--lock-retry-delay=200ms',
      ]);
      const elapsed = Date.now() - started;
      const output = result.stdout + result.stderr;
      expect(result.code).toBe(75);
      // Two retries, the second waiting twice as long: 3 attempts of 300 ms + 200 + 400 ms of backoff.
      expect([...output.matchAll(RETRY_LOG)].map((m) => Number(m[1]))).toEqual([200, 400]);
      expect(elapsed).toBeGreaterThanOrEqual(3 * 300 + 200 + 400);
      expect(output).toContain('20261201000000_add_nickname');
      expect(output).toContain('did not get its lock within the lock timeout (300ms) in 3 attempt(s)');
      expect(output).toContain(`session pid ${blocker.pid} (application_name "nightly-report"`);
      expect(output).toContain('state "idle in transaction"');
      expect(output).toContain('holds AccessExclusiveLock on users');
      expect(output).toContain('LOCK TABLE users IN ACCESS EXCLUSIVE MODE`');
      expect(output).toContain(`SELECT pg_terminate_backend(${blocker.pid})`);
      expect((await ledger(db.url)).map((r) => r.migration_name)).not.toContain('20261201000000_add_nickname');
      await blocker.client.query('COMMIT');
    } finally {
      await blocker.client.end();
    }
    const next = await runCli(deployArgs());
    expect(next.code).toBe(0);
    expect(await columnExists(db.url, 'users', 'nickname')).toBe(true);
    const rows = (await ledger(db.url)).filter((r) => r.migration_name === '20261201000000_add_nickname');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ logs: null, rolled_back_at: null, applied_steps_count: 1 });
  });

  test('a blocker that releases its lock during the retries lets the same deploy succeed (exit 0, one ledger row)', async () => {
    expect((await runCli(deployArgs())).code).toBe(0);
    addMigration(prisma.migrationsDir, '20261201000000_add_nickname', 'ALTER TABLE users ADD COLUMN nickname TEXT;\n');
    const blocker = await session(db.url, 'long-report');
    let deployed;
    try {
      await blocker.client.query('BEGIN; LOCK TABLE users IN SHARE MODE');
      const { child, result } = startCli([
        ...deployArgs(),
        '--lock-timeout=200ms',
        '--lock-retries=5',
        '--lock-retry-delay=300ms',
      ]);
      let stdout = '';
      child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
      await waitFor('the first retry', async () => RETRY_LOG.test(stdout));
      await blocker.client.query('ROLLBACK');
      deployed = await result;
    } finally {
      await blocker.client.end();
    }
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).toContain('session pid'); // the retry log named the blocker too
    expect(await columnExists(db.url, 'users', 'nickname')).toBe(true);
    const rows = (await ledger(db.url)).filter((r) => r.migration_name === '20261201000000_add_nickname');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ logs: null, applied_steps_count: 1 });
  });

  test('a statement-by-statement migration whose first statement never gets its lock exits 75 and leaves no ledger row', async () => {
    expect((await runCli(deployArgs())).code).toBe(0);
    addMigration(
      prisma.migrationsDir,
      '20261201000000_concurrent',
      'CREATE INDEX CONCURRENTLY users_full_name_idx ON users (full_name);\n',
    );
    const blocker = await session(db.url, 'vacuum-script');
    try {
      await blocker.client.query('BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
      const result = await runCli([
        ...deployArgs(),
        '--lock-timeout=200ms',
        '--lock-retries=1',
        '--lock-retry-delay=100ms',
      ]);
      expect(result.code).toBe(75);
      expect(result.stderr).toContain('statement 1 of 1 did not get its lock');
      expect(result.stderr).toContain(`session pid ${blocker.pid} (application_name "vacuum-script"`);
      await blocker.client.query('ROLLBACK');
    } finally {
      await blocker.client.end();
    }
    expect((await ledger(db.url)).map((r) => r.migration_name)).not.toContain('20261201000000_concurrent');
    expect(await indexState(db.url, 'users_full_name_idx')).toBe('absent');
    expect((await runCli(deployArgs())).code).toBe(0);
    expect(await indexState(db.url, 'users_full_name_idx')).toBe('valid');
  });
});

describe('a lost connection', () => {
  test('the runner session terminated mid-transaction exits 75, records nothing, and the next deploy applies the migration', async () => {
    expect((await runCli(deployArgs())).code).toBe(0);
    addMigration(prisma.migrationsDir, '20261201000000_add_nickname', 'ALTER TABLE users ADD COLUMN nickname TEXT;\n');
    const blocker = await session(db.url, 'nightly-report');
    let result;
    try {
      await blocker.client.query('BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
      const run = startCli([...deployArgs(), '--lock-timeout=60s']);
      const backend = await waitFor('the migration to wait on the users lock', () =>
        withClient(db.url, (c) =>
          c.query(`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%nickname%'`),
        ).then((r) => r.rows[0]?.pid as number | undefined),
      );
      // What a failover or an operator's pg_terminate_backend does to the runner's session.
      await withClient(db.url, (c) => c.query('SELECT pg_terminate_backend($1)', [backend]));
      result = await run.result;
      await blocker.client.query('ROLLBACK');
    } finally {
      await blocker.client.end();
    }
    expect(result.code).toBe(75);
    expect(result.stderr).toContain('the connection to the database was lost while it ran');
    expect(result.stderr).toContain('nothing was applied or recorded; deploy again');
    expect((await ledger(db.url)).map((r) => r.migration_name)).not.toContain('20261201000000_add_nickname');
    expect((await runCli(deployArgs())).code).toBe(0);
    expect(await columnExists(db.url, 'users', 'nickname')).toBe(true);
  });
});

describe('timing flags are range-checked before anything runs', () => {
  // Port 1 refuses connections: a flag that slipped through would make the runner wait (--wait 60s).
  const unreachable = 'postgresql://u:s3cr3t-pw@127.0.0.1:1/webrana_auth';
  test.each([
    ['--lock-timeout=-5s', '--lock-timeout=-5s is out of range (-5000ms); allowed: 0 (off:'],
    ['--statement-timeout=3000000000', '--statement-timeout=3000000000 is out of range (3000000000ms)'],
    [
      '--wait=99999999m',
      '--wait=99999999m is out of range (5999999940000ms); allowed: 0 (try to connect once) or 1ms to 2147483647ms',
    ],
    ['--lock-wait=soon', '--lock-wait=soon is not a duration'],
    ['--lock-retries=-1', '--lock-retries=-1 is out of range; allowed: a whole number from 0 (no retry) to 20'],
    ['--lock-retries=1000', '--lock-retries=1000 is out of range'],
    ['--lock-retries=2.5', '--lock-retries=2.5 is out of range'],
    ['--lock-retry-delay=0', '--lock-retry-delay=0 is out of range (0ms); allowed: 1ms to 600000ms'],
  ])('%s is refused with exit 2, naming the flag, the value and the allowed range', async (flag, message) => {
    const started = Date.now();
    const result = await runCli(['migrate', 'deploy', '--service=auth-service', `--database-url=${unreachable}`, flag]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).not.toContain('waiting for the database');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('a runner killed inside a statement-by-statement migration', () => {
  test('kill -9 during its third statement: status and deploy say statements 1-2 of 3 completed and name the INVALID index; dropping it, resolve --rolled-back and deploy finish the job', async () => {
    expect((await runCli(deployArgs())).code).toBe(0);
    const name = '20261201000000_indexes';
    addMigration(
      prisma.migrationsDir,
      name,
      [
        'CREATE TABLE IF NOT EXISTS audit_marks (id INT);',
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_marks_id_idx ON audit_marks (id);',
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS users_full_name_idx ON users (full_name);',
        '',
      ].join('\n'),
    );
    // A writer with an open transaction on users: CREATE INDEX CONCURRENTLY builds its (still invalid)
    // index, then waits for that transaction to end. The runner is killed while it waits.
    const writer = await session(db.url, 'order-writer');
    try {
      await writer.client.query('BEGIN; UPDATE users SET full_name = full_name WHERE false');
      const { child, result } = startCli([...deployArgs(), '--lock-timeout=60s']);
      const backend = await waitFor('the index build to wait for the writer', () =>
        withClient(db.url, (c) =>
          c.query(
            `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%users_full_name_idx%'`,
          ),
        ).then((r) => r.rows[0]?.pid as number | undefined),
      );
      child.kill('SIGKILL');
      expect((await result).signal).toBe('SIGKILL');
      await waitFor('the killed runner backend to end', () =>
        withClient(db.url, (c) =>
          c.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [backend]),
        ).then((r) => r.rows[0].n === 0),
      );
      await writer.client.query('ROLLBACK');
    } finally {
      await writer.client.end();
    }
    expect(await indexState(db.url, 'users_full_name_idx')).toBe('INVALID');
    const row = (await ledger(db.url)).find((r) => r.migration_name === name);
    expect(row).toMatchObject({ finished_at: null, rolled_back_at: null, applied_steps_count: 0 });

    const expected = [
      `statements 1-2 of 3 of ${name}/migration.sql completed before the runner stopped`,
      'statement 3 (line 3: `CREATE INDEX CONCURRENTLY IF NOT EXISTS users_full_name_idx ON users (full_name)`) may have left an INVALID index',
      'INVALID indexes in the database now: users_full_name_idx (on users)',
      'DROP INDEX CONCURRENTLY "users_full_name_idx";',
      `migrate resolve --rolled-back ${name}`,
    ];
    const status = await runCli(migrateArgs('status'));
    expect(status.code).toBe(1);
    expected.forEach((text) => expect(status.stdout).toContain(text));
    const blocked = await runCli(deployArgs());
    expect(blocked.code).toBe(1);
    expected.forEach((text) => expect(blocked.stderr).toContain(text));
    expect(blocked.stderr).not.toContain('Nothing of it stayed applied');

    // The way out the message gives: drop the invalid index, mark it rolled back, deploy again.
    await withClient(db.url, (c) => c.query('DROP INDEX CONCURRENTLY "users_full_name_idx"'));
    expect((await runCli([...migrateArgs('resolve'), '--rolled-back', name])).code).toBe(0);
    const again = await runCli(deployArgs());
    expect(again.code).toBe(0);
    expect(await indexState(db.url, 'users_full_name_idx')).toBe('valid');
    expect(await indexState(db.url, 'audit_marks_id_idx')).toBe('valid');
    expect((await runCli(migrateArgs('status'))).code).toBe(0);
  });
});

describe('errors name what was attempted', () => {
  test('a syntax error names the migration, its file and line, runs nothing of it and records nothing', async () => {
    expect((await runCli(deployArgs())).code).toBe(0);
    const file = addMigration(
      prisma.migrationsDir,
      '20261201000000_typo',
      'CREATE TABLE ok_table (id INT);\n\nCRATE INDEX oops ON ok_table (id);\n',
    );
    const result = await runCli(deployArgs());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `migration 20261201000000_typo (${file}): syntax error at or near "CRATE" at line 3; nothing was run or recorded`,
    );
    expect((await ledger(db.url)).map((r) => r.migration_name)).not.toContain('20261201000000_typo');
    const plan = await runCli(migrateArgs('plan'));
    expect(plan.stdout).toContain('blocked: migration 20261201000000_typo');

    fs.writeFileSync(file, 'CREATE TABLE ok_table (id INT);\n\nCREATE INDEX oops ON ok_table (id);\n');
    expect((await runCli(deployArgs())).code).toBe(0);
  });

  describe('with a role that has no CREATE privilege', () => {
    const role = `deployer_${process.pid}`;
    const roleUrl = (url: string) => {
      const u = new URL(url);
      u.username = role;
      u.password = 'r0le-s3cret';
      return u.toString();
    };
    beforeEach(() =>
      withClient(db.url, async (c) => {
        await c.query(`DROP ROLE IF EXISTS ${role}`);
        await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'r0le-s3cret'`);
        await c.query(`GRANT CONNECT ON DATABASE "${db.name}" TO ${role}`);
        await c.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
        await c.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
      }),
    );
    afterEach(async () => {
      await db.drop(); // its grants go with it; the role is cluster-wide
      await withClient(db.url.replace(`/${db.name}`, '/postgres'), (c) => c.query(`DROP ROLE IF EXISTS ${role}`));
    });

    test('deploy needs no CREATE on the database or schema once the ledger exists', async () => {
      expect((await runCli(deployArgs())).code).toBe(0);
      await withClient(db.url, async (c) => {
        await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON _prisma_migrations TO ${role}`);
        await c.query(`GRANT SELECT, UPDATE ON users TO ${role}`);
      });
      addMigration(
        prisma.migrationsDir,
        '20261201000000_data_fix',
        'UPDATE users SET full_name = trim(full_name) WHERE full_name <> trim(full_name);\n',
      );
      const result = await runCli(migrateArgs('deploy', roleUrl(db.url)));
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect((await ledger(db.url)).map((r) => r.migration_name)).toContain('20261201000000_data_fix');
    });

    test('the first deploy without CREATE on the schema says the ledger table needs it and how to grant it', async () => {
      const result = await runCli(migrateArgs('deploy', roleUrl(db.url)));
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `creating the ledger table _prisma_migrations needs CREATE on schema public, which the role ${role} lacks`,
      );
      expect(result.stderr).toContain(
        `GRANT CREATE ON SCHEMA "public" TO ${role}) or run the first deploy as the owner`,
      );
      expect(result.stdout + result.stderr).not.toContain('r0le-s3cret');
    });
  });
});

import { generate } from '@webrana/datagen';
import { migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@webrana/registry';
import { addMigration, copyPrismaFolder, runCli } from './helpers';

let db: TestDatabase;
let dir: string;
beforeEach(async () => {
  db = await migratedTestDatabase('order-service');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backups-'));
});
afterEach(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await db.drop();
});

const backupArgs = (...extra: string[]) => [
  'backup',
  '--service=order-service',
  `--dir=${dir}`,
  `--database-url=${db.url}`,
  ...extra,
];
const restoreArgs = (...extra: string[]) => [
  'restore',
  '--service=order-service',
  `--database-url=${db.url}`,
  ...extra,
];
const files = () => fs.readdirSync(path.join(dir, 'order-service')).sort();
const summaryOf = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .find((l) => l.msg === 'backup finished');

/** One md5 per table over all its rows in a fixed order: equal hashes mean equal contents. */
async function tableHashes(url: string): Promise<Record<string, string>> {
  return withClient(url, async (c) => {
    const tables = (await c.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map(
      (r) => r.tablename as string,
    );
    const out: Record<string, string> = {};
    for (const t of tables) {
      out[t] = (
        await c.query(
          `SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') AS h FROM "${t}" x`,
        )
      ).rows[0].h;
    }
    return out;
  });
}

const structure = (url: string) =>
  withClient(url, (c) =>
    c
      .query(
        `SELECT (SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public') AS constraints,
                (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal) AS triggers,
                (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public') AS indexes`,
      )
      .then((r) => r.rows[0]),
  );

test('backup -> damage -> restore gives back every table exactly, with constraints and triggers still enforced', async () => {
  await generate('order', db.url, 3000);
  const original = await tableHashes(db.url);
  const shape = await structure(db.url);
  expect(Number(original.orders!.split(':')[0])).toBe(3000);

  const backedUp = await runCli(backupArgs());
  expect(backedUp.code).toBe(0);
  const summary = summaryOf(backedUp.stdout);
  expect(summary).toMatchObject({ service: 'order-service', kept: 1, deleted: [] });
  const [dump, manifest] = files();
  expect(dump).toMatch(/^order-service-\d{8}T\d{6}Z\.tar\.zst$/);
  expect(manifest).toBe(`${dump}.json`);
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'order-service', manifest!), 'utf8'))).toMatchObject({
    service: 'order-service',
    database: db.name,
    kind: 'full',
    format: 'tar.zst',
    migrationHead: '20261125000100_rules',
    serverVersion: expect.stringMatching(/^15\./),
    bytes: summary.bytes,
    sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
  });

  await withClient(db.url, async (c) => {
    await c.query(`DELETE FROM order_items`);
    await c.query(`UPDATE orders SET hostname = 'changed' WHERE status = 'ACTIVE'`);
    await c.query(`DROP TRIGGER orders_status_flow ON orders`);
    await c.query(`CREATE TABLE stray (id int)`);
  });

  const restored = await runCli(restoreArgs(`--file=${path.join(dir, 'order-service', dump!)}`));
  expect(restored.stderr).toBe('');
  expect(restored.code).toBe(0);
  const { stray, ...after } = await tableHashes(db.url);
  expect(after).toEqual(original);
  expect(stray).toBe('0:'); // pg_restore --clean drops what the dump has; unrelated tables stay
  expect(await structure(db.url)).toEqual(shape);
  await expect(
    withClient(db.url, (c) => c.query(`UPDATE orders SET status = 'PENDING_PAYMENT' WHERE status = 'ACTIVE'`)),
  ).rejects.toThrow(/illegal order status transition ACTIVE -> PENDING_PAYMENT/);
  await expect(withClient(db.url, (c) => c.query(`UPDATE orders SET final_price = -1`))).rejects.toThrow(
    /orders_amounts_nonnegative/,
  );
});

test('schema-only and data-only SQL dumps restore into a fresh migrated database', async () => {
  await generate('order', db.url, 200);
  // Data-only dumps hold the rows the status trigger wrote, so they restore with triggers disabled.
  expect((await runCli(backupArgs('--data-only'))).code).toBe(0);
  expect((await runCli(backupArgs('--schema-only'))).code).toBe(0);
  const names = files();
  expect(names.filter((n) => n.endsWith('-data.sql'))).toHaveLength(1);
  expect(names.filter((n) => n.endsWith('-schema.sql'))).toHaveLength(1);
  const original = await tableHashes(db.url);
  const target = await migratedTestDatabase('order-service');
  try {
    await withClient(target.url, (c) => c.query('TRUNCATE _prisma_migrations'));
    const dataDump = path.join(
      dir,
      'order-service',
      names.find((n) => n.endsWith('-data.sql'))!,
    );
    const result = await runCli([
      'restore',
      '--service=order-service',
      `--database-url=${target.url}`,
      `--file=${dataDump}`,
      '--force',
    ]);
    expect(result.stderr).toBe('');
    expect(await tableHashes(target.url)).toEqual(original);
  } finally {
    await target.drop();
  }
});

test('a database that cannot be reached exits non-zero, deletes nothing and leaves no file under a final name', async () => {
  fs.mkdirSync(path.join(dir, 'order-service'));
  const old = 'order-service-20200101T000000Z.dump';
  fs.writeFileSync(path.join(dir, 'order-service', old), 'old');
  fs.writeFileSync(path.join(dir, 'order-service', `${old}.json`), '{}');
  const result = await runCli([
    'backup',
    '--service=order-service',
    `--dir=${dir}`,
    '--database-url=postgresql://u:s3cr3t@127.0.0.1:1/x',
  ]);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('cannot connect to postgresql://u:***@127.0.0.1:1/x');
  expect(result.stderr).not.toContain('s3cr3t');
  expect(files()).toEqual([old, `${old}.json`]);
});

test('a pg_dump failure halfway leaves no file under a final name and deletes nothing', async () => {
  await runCli(backupArgs());
  const before = files();
  // A pg_dump that cannot read one table (permission denied) fails after it started writing.
  await withClient(db.url, async (c) => {
    await c.query(`CREATE ROLE dump_reader LOGIN PASSWORD 'reader-pw'`);
    await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO dump_reader`);
    await c.query(`REVOKE SELECT ON payments_or_status_history_placeholder FROM dump_reader`).catch(() => undefined);
    await c.query(`REVOKE SELECT ON status_history FROM dump_reader`);
  });
  try {
    const reader = new URL(db.url);
    reader.username = 'dump_reader';
    reader.password = 'reader-pw';
    await new Promise((r) => setTimeout(r, 1100)); // a new second, so a new file name
    const result = await runCli([
      'backup',
      '--service=order-service',
      `--dir=${dir}`,
      `--database-url=${reader}`,
      '--keep-daily=1', // would delete the earlier dump, had this one succeeded
      '--keep-weekly=0',
      '--keep-monthly=0',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('pg_dump failed for order-service');
    expect(result.stderr).toContain('permission denied');
    expect(files()).toEqual(before);
  } finally {
    await withClient(db.url, (c) =>
      c.query(`REASSIGN OWNED BY dump_reader TO postgres; DROP OWNED BY dump_reader; DROP ROLE dump_reader`),
    );
  }
});

test('a truncated dump is refused before the database is touched', async () => {
  await generate('order', db.url, 100);
  expect((await runCli(backupArgs())).code).toBe(0);
  const dump = path.join(dir, 'order-service', files()[0]!);
  fs.truncateSync(dump, Math.floor(fs.statSync(dump).size / 2));
  await withClient(db.url, (c) => c.query(`DELETE FROM order_items`));
  const result = await runCli(restoreArgs(`--file=${dump}`));
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('is corrupted: its sha256 is');
  expect(result.stderr).toContain('nothing was restored');
  const [{ n }] = await withClient(db.url, (c) =>
    c.query('SELECT count(*)::int AS n FROM order_items').then((r) => r.rows),
  );
  expect(n).toBe(0);
});

test('a dump older than the database schema is refused unless --force, saying why', async () => {
  expect((await runCli(backupArgs())).code).toBe(0);
  const copy = copyPrismaFolder('order-service');
  try {
    addMigration(copy.migrationsDir, '20261201000000_newer', 'ALTER TABLE orders ADD COLUMN note TEXT;');
    expect(
      (
        await runCli([
          'migrate',
          'deploy',
          '--service=order-service',
          `--database-url=${db.url}`,
          `--migrations-dir=${copy.migrationsDir}`,
        ])
      ).code,
    ).toBe(0);
    const refused = await runCli(restoreArgs('--latest', `--dir=${dir}`));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'was taken at migration 20261125000100_rules, but the database is at 20261201000000_newer',
    );
    expect((await runCli(restoreArgs('--latest', `--dir=${dir}`, '--force'))).code).toBe(0);
  } finally {
    copy.remove();
  }
});

test('retention after a backup deletes what the policy drops, keeps the rest, and --dry-run only reports', async () => {
  const serviceDir = path.join(dir, 'order-service');
  fs.mkdirSync(serviceDir);
  const old = ['20260101T020000Z', '20260102T020000Z', '20260103T020000Z'].map((s) => `order-service-${s}.dump`);
  for (const name of old) {
    fs.writeFileSync(path.join(serviceDir, name), 'x');
    fs.writeFileSync(path.join(serviceDir, `${name}.json`), '{}');
  }
  const unfinished = 'order-service-20251201T020000Z.dump'; // no manifest: never counted, never deleted
  fs.writeFileSync(path.join(serviceDir, unfinished), 'partial');
  const staleTemp = path.join(serviceDir, '.order-service-20251101T020000Z.dump.tmp-99');
  fs.writeFileSync(staleTemp, 'leftover');
  fs.utimesSync(staleTemp, new Date('2025-11-01'), new Date('2025-11-01'));

  const dry = await runCli(backupArgs('--keep-daily=2', '--keep-weekly=0', '--keep-monthly=0', '--dry-run'));
  expect(summaryOf(dry.stdout).deleted).toEqual([old[0], old[1]]);
  expect(files()).toEqual(expect.arrayContaining([...old, unfinished]));

  await new Promise((r) => setTimeout(r, 1100));
  const real = await runCli(backupArgs('--keep-daily=2', '--keep-weekly=0', '--keep-monthly=0'));
  // Kept: today's newest dump and the newest of the day before that has one (Jan 3). The dry run's dump
  // is today's older one, so it goes too.
  expect(summaryOf(real.stdout)).toMatchObject({ kept: 2, deleted: [old[0], old[1], summaryOf(dry.stdout).file] });
  const left = files();
  expect(left).toContain(unfinished);
  expect(left).not.toContain(path.basename(staleTemp));
  // Old custom-format dumps and the new tar.zst ones are one series for retention.
  expect(left.filter((n) => /\.(dump|tar\.zst)$/.test(n))).toEqual([unfinished, old[2], summaryOf(real.stdout).file]);
});

test('retention plan reads times and file names on stdin and echoes them into keep and delete', async () => {
  const { stdout } = await promisify(execFile)('bash', [
    '-c',
    `printf '2026-03-01T02:00:00Z\\nauth-service-20260228T020000Z.dump\\n2026-02-27T02:00:00Z\\n' | node ${path.join(REPO_ROOT, 'jobs/dist/cli.js')} retention plan --keep-daily=2 --keep-weekly=0 --keep-monthly=0`,
  ]);
  expect(JSON.parse(stdout)).toEqual({
    keep: ['2026-03-01T02:00:00Z', 'auth-service-20260228T020000Z.dump'],
    delete: ['2026-02-27T02:00:00Z'],
  });
});

test('retention plan rejects a line it cannot read, naming it', async () => {
  const result = await promisify(execFile)('bash', [
    '-c',
    `echo yesterday | node ${path.join(REPO_ROOT, 'jobs/dist/cli.js')} retention plan`,
  ]).catch((e) => e);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(
    'line 1 is neither an ISO-8601 UTC time (2026-03-01T02:00:00Z) nor a dump file name: "yesterday"',
  );
});

test('scripts/backup.sh and scripts/restore.sh wrap the jobs with the spec options and --help', async () => {
  const run = promisify(execFile);
  const env = { PATH: process.env.PATH, ORDER_DATABASE_URL: db.url };
  await run(
    path.join(REPO_ROOT, 'scripts', 'backup.sh'),
    ['--service=order-service', `--dir=${dir}`, '--schema-only'],
    { env },
  );
  expect(files().filter((n) => n.endsWith('-schema.sql'))).toHaveLength(1);
  await run(path.join(REPO_ROOT, 'scripts', 'backup.sh'), ['--service=order-service', `--dir=${dir}`], { env });
  await run(path.join(REPO_ROOT, 'scripts', 'restore.sh'), ['--service=order-service', '--latest', `--dir=${dir}`], {
    env,
  });
  expect((await run(path.join(REPO_ROOT, 'scripts', 'backup.sh'), ['--help'])).stdout).toContain('--schema-only');
  expect((await run(path.join(REPO_ROOT, 'scripts', 'restore.sh'), ['--help'])).stdout).toContain(
    '--latest --dir=PATH',
  );
});

test('a full dump restores with --jobs=2 (parallel pg_restore, not one transaction) and gives back every table', async () => {
  await generate('order', db.url, 300);
  const original = await tableHashes(db.url);
  expect((await runCli(backupArgs())).code).toBe(0);
  await withClient(db.url, (c) => c.query(`DELETE FROM order_items; UPDATE orders SET hostname = 'changed'`));
  const restored = await runCli(restoreArgs(`--latest`, `--dir=${dir}`, '--jobs=2'));
  expect(restored.stderr).toBe('');
  expect(restored.code).toBe(0);
  expect(await tableHashes(db.url)).toEqual(original);
});

test('a dump written by the earlier job (pg_dump -Fc at gzip level 3, its manifest beside it) still restores, also with --jobs=2, and retention counts and deletes it like the new dumps', async () => {
  await generate('order', db.url, 300);
  const original = await tableHashes(db.url);
  const serviceDir = path.join(dir, 'order-service');
  fs.mkdirSync(serviceDir, { mode: 0o700 });
  const yesterday = new Date(Date.now() - 86_400_000);
  const stamp = yesterday
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  const old = `order-service-${stamp}.dump`;
  const url = new URL(db.url);
  await promisify(execFile)(
    'pg_dump',
    ['--format=custom', '--compress=3', '--no-owner', '--no-privileges', `--file=${path.join(serviceDir, old)}`],
    {
      env: {
        ...process.env,
        PGHOST: url.hostname,
        PGPORT: url.port,
        PGUSER: decodeURIComponent(url.username),
        PGPASSWORD: decodeURIComponent(url.password),
        PGDATABASE: db.name,
      },
    },
  );
  const bytes = fs.readFileSync(path.join(serviceDir, old));
  fs.writeFileSync(
    path.join(serviceDir, `${old}.json`),
    JSON.stringify({
      service: 'order-service',
      database: db.name,
      kind: 'full',
      file: old,
      serverVersion: '15',
      migrationHead: '20261125000100_rules',
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      durationMs: 1,
      createdAt: yesterday.toISOString(),
    }),
  );

  for (const jobs of ['1', '2']) {
    await withClient(db.url, (c) => c.query(`DELETE FROM order_items; UPDATE orders SET hostname = 'changed'`));
    const restored = await runCli(restoreArgs(`--file=${path.join(serviceDir, old)}`, `--jobs=${jobs}`));
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    expect(await tableHashes(db.url)).toEqual(original);
  }

  // Counted: two days kept with keep-daily=2; deleted once the policy keeps only today's.
  const both = await runCli(backupArgs('--keep-daily=2', '--keep-weekly=0', '--keep-monthly=0'));
  expect(both.code).toBe(0);
  expect(summaryOf(both.stdout)).toMatchObject({ kept: 2, deleted: [] });
  await new Promise((r) => setTimeout(r, 1100)); // a new second, so a new file name
  const one = await runCli(backupArgs('--keep-daily=1', '--keep-weekly=0', '--keep-monthly=0'));
  expect(one.code).toBe(0);
  expect(summaryOf(one.stdout).deleted).toContain(old);
  expect(files()).not.toContain(old);
});

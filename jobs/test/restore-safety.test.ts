import { migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { runCli } from './helpers';

let order: TestDatabase;
let auth: TestDatabase;
let dir: string;
let dump: string;
beforeAll(async () => {
  [order, auth] = await Promise.all([migratedTestDatabase('order-service'), migratedTestDatabase('auth-service')]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'restores-'));
  const backedUp = await runCli(['backup', '--service=order-service', `--dir=${dir}`, `--database-url=${order.url}`]);
  expect(backedUp.code).toBe(0);
  const name = fs.readdirSync(path.join(dir, 'order-service')).find((n) => n.endsWith('.tar.zst'))!;
  dump = path.join(dir, 'order-service', name);
});
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await Promise.all([order.drop(), auth.drop()]);
});

const restore = (url: string, ...extra: string[]) =>
  runCli(['restore', '--service=order-service', `--database-url=${url}`, `--file=${dump}`, ...extra]);

/** Tables and ledger of a database: equal snapshots mean nothing was replaced. */
const snapshot = (url: string) =>
  withClient(url, async (c) => ({
    tables: (await c.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows,
    ledger: (await c.query(`SELECT id, checksum, migration_name, finished_at FROM _prisma_migrations ORDER BY 1`)).rows,
    oids: (
      await c.query(`SELECT relname, oid::int FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1`)
    ).rows,
  }));

test('an order dump restored into the auth database exits 1 naming both services and --force, and leaves auth untouched', async () => {
  const before = await snapshot(auth.url);
  const result = await restore(auth.url);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(`holds auth-service's migrations ledger, not order-service's`);
  expect(result.stderr).toContain('(a order-service dump of database');
  expect(result.stderr).toContain('or pass --force');
  expect(result.stderr).not.toContain(new URL(auth.url).password || 'never-a-password');
  expect(await snapshot(auth.url)).toEqual(before);
});

test("a dump whose own ledger is another service's is refused even when its manifest was edited to match", async () => {
  const authDir = path.join(dir, 'auth-service');
  fs.mkdirSync(authDir, { recursive: true });
  const disguised = path.join(authDir, path.basename(dump).replace('order-service', 'auth-service'));
  fs.copyFileSync(dump, disguised);
  const manifest = JSON.parse(fs.readFileSync(`${dump}.json`, 'utf8'));
  fs.writeFileSync(`${disguised}.json`, JSON.stringify({ ...manifest, service: 'auth-service', database: 'auth' }));
  const before = await snapshot(auth.url);
  const result = await runCli([
    'restore',
    '--service=auth-service',
    `--database-url=${auth.url}`,
    `--file=${disguised}`,
  ]);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(
    "the manifest says auth-service, but the migrations ledger inside the dump is order-service's",
  );
  expect(await snapshot(auth.url)).toEqual(before);
});

test('a restore blocked by an open transaction fails within its lock timeout, naming the pid and application_name, and restores nothing', async () => {
  const holder = new Client({ connectionString: order.url, application_name: 'report-job' });
  await holder.connect();
  try {
    const pid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    await holder.query('BEGIN');
    await holder.query('SELECT count(*) FROM orders'); // ACCESS SHARE until the transaction ends
    const before = await snapshot(order.url);
    const started = Date.now();
    const result = await restore(order.url, '--lock-timeout=1s');
    const seconds = (Date.now() - started) / 1000;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('could not get its locks within 1000 ms (nothing was restored: one transaction)');
    expect(result.stderr).toContain(`Blocked by pid ${pid} (application_name "report-job"`);
    expect(result.stderr).toContain('idle in transaction');
    expect(result.stderr).toContain('retry with a larger --lock-timeout');
    expect(result.stdout).toContain(`sessions holding locks now: pid ${pid} (application_name \\"report-job\\"`);
    expect(result.stdout).toContain(
      `restore is waiting for a lock held by pid ${pid} (application_name \\"report-job\\"`,
    );
    expect(seconds).toBeLessThan(15);
    expect(await snapshot(order.url)).toEqual(before); // same tables, same oids: nothing dropped
    await holder.query('COMMIT');
    expect((await restore(order.url, '--lock-timeout=1s')).code).toBe(0);
  } finally {
    await holder.end();
  }
});

test('--jobs beyond the free connections of the server is refused before the database is touched', async () => {
  const before = await snapshot(order.url);
  const result = await restore(order.url, '--jobs=100000');
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(
    /--jobs=100000 needs 100002 connections \(100000 workers, their leader and the lock watcher\), but the server has room for \d+ \(max_connections \d+ - \d+ reserved - \d+ in use by others\)/,
  );
  expect(result.stderr).toContain('nothing was restored');
  expect(await snapshot(order.url)).toEqual(before);
  expect((await restore(order.url, '--jobs=2')).code).toBe(0);
});

test.each([
  '--jobs=0',
  '--jobs=-1',
  '--jobs=1.5',
  '--jobs=two',
  '--lock-timeout=0',
  '--lock-timeout=2h',
  '--lock-timeout=61m',
])('%s is a usage error (exit 2) naming the option', async (flag) => {
  const result = await restore(order.url, flag);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(flag.split('=')[0]);
});

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withDatabase } from '@webrana/db';
import { migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import type { RestoreTerminationSummary } from '../src/commands/backup';
import { runCli } from './helpers';

// `webrana-jobs restore --into-database=NAME` (the WebranaRestore's target.newDatabase) and
// `--termination-log` (its Job's report): real PostgreSQL, real pg_dump/pg_restore.
let auth: TestDatabase;
let dir: string;
let dump: string;
const created: string[] = [];
const countUsers = (url: string) =>
  withClient(url, async (c) => Number((await c.query('SELECT count(*)::int AS n FROM users')).rows[0].n));

beforeAll(async () => {
  auth = await migratedTestDatabase('auth-service');
  await withClient(auth.url, (c) =>
    c.query(`INSERT INTO users (email, password_hash, full_name)
             SELECT 'u' || g || '@example.test', 'x', 'User ' || g FROM generate_series(1, 25) g`),
  );
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'restore-into-'));
  const r = await runCli(['backup', '--service=auth-service', `--dir=${dir}`, `--database-url=${auth.url}`]);
  expect(r.code).toBe(0);
  dump = path.join(
    dir,
    'auth-service',
    fs.readdirSync(path.join(dir, 'auth-service')).find((n) => n.endsWith('.tar.zst'))!,
  );
});
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  for (const name of created)
    await withClient(auth.url, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).catch(() => undefined);
  await auth.drop();
});

test('--into-database creates the database on the same server and restores there; the service database is left as it was', async () => {
  const name = `${new URL(auth.url).pathname.slice(1)}_copy`;
  created.push(name);
  await withClient(auth.url, (c) => c.query(`DELETE FROM users WHERE email LIKE 'u1%'`));
  const left = await countUsers(auth.url);
  const log = path.join(dir, 'termination-log');
  const r = await runCli([
    'restore',
    '--service=auth-service',
    `--database-url=${auth.url}`,
    `--file=${dump}`,
    `--into-database=${name}`,
    `--termination-log=${log}`,
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(await countUsers(withDatabase(auth.url, name))).toBe(25);
  expect(await countUsers(auth.url)).toBe(left);
  const summary = JSON.parse(fs.readFileSync(log, 'utf8')) as RestoreTerminationSummary;
  expect(summary).toMatchObject({ service: 'auth-service', file: path.basename(dump), database: name });
  expect(summary.bytes).toBe(fs.statSync(dump).size);
  expect(summary.durationSeconds).toBeGreaterThan(0);
  expect(fs.readFileSync(log, 'utf8')).not.toContain('postgres');
});

test('--into-database of an existing database of the same service restores into it (a second run replaces it)', async () => {
  const name = created[0]!;
  await withClient(withDatabase(auth.url, name), (c) => c.query('DELETE FROM users'));
  const r = await runCli([
    'restore',
    '--service=auth-service',
    `--database-url=${auth.url}`,
    `--file=${dump}`,
    `--into-database=${name}`,
  ]);
  expect(r.code).toBe(0);
  expect(await countUsers(withDatabase(auth.url, name))).toBe(25);
});

test('--into-database with a name PostgreSQL would need quoting for is a usage error (exit 2) naming the rule', async () => {
  const r = await runCli([
    'restore',
    '--service=auth-service',
    `--database-url=${auth.url}`,
    `--file=${dump}`,
    '--into-database=Bad Name',
  ]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('--into-database takes a database name of lowercase letters');
});

test('a missing dump with --into-database fails (exit 1) naming the file and creates no database', async () => {
  const name = `${new URL(auth.url).pathname.slice(1)}_never`;
  const r = await runCli([
    'restore',
    '--service=auth-service',
    `--database-url=${auth.url}`,
    `--file=${path.join(dir, 'auth-service', 'auth-service-20200101T000000Z.tar.zst')}`,
    `--into-database=${name}`,
  ]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('dump file not found');
  const exists = await withClient(
    auth.url,
    async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rows.length,
  );
  expect(exists).toBe(0);
});

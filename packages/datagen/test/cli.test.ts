import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { REPO_ROOT } from '@webrana/registry';
import { createTestDatabase, migratedTestDatabase, serverUrl, withClient, type TestDatabase } from '@webrana/testing';

// scripts/generate-data.js, run as users run it: a separate node process on the built workspaces.
const CLI = path.join(REPO_ROOT, 'scripts', 'generate-data.js');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with only PATH and `env` in its environment (no inherited *_DATABASE_URL, NODE_ENV). */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const dbs: TestDatabase[] = [];
const roles: string[] = [];
afterAll(async () => {
  await Promise.all(dbs.map((db) => db.drop()));
  await withClient(serverUrl(), async (c) => {
    for (const role of roles) await c.query(`DROP ROLE IF EXISTS "${role}"`);
  });
});

async function migrated(service: 'auth-service' | 'order-service' | 'billing-service'): Promise<TestDatabase> {
  const db = await migratedTestDatabase(service);
  dbs.push(db);
  return db;
}

/** A login role with a password of its own on the database's tables: the URL the CLI gets. */
async function urlWithPassword(db: TestDatabase): Promise<{ url: string; password: string }> {
  const role = `datagen_${randomBytes(4).toString('hex')}`;
  const password = `Sekr3t-${randomBytes(6).toString('hex')}`;
  await withClient(serverUrl(), (c) => c.query(`CREATE ROLE "${role}" LOGIN PASSWORD '${password}'`));
  roles.push(role);
  await withClient(db.url, (c) => c.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO "${role}"`));
  const u = new URL(db.url);
  u.username = role;
  u.password = password;
  return { url: u.toString(), password };
}

const count = (url: string, table: string) =>
  withClient(url, async (c) => Number((await c.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n));

test('--help exits 0 and documents every option and the URL variables', async () => {
  const r = await cli(['--help']);
  expect(r.code).toBe(0);
  for (const word of [
    '--service',
    '--rows',
    '--first',
    '--batch',
    '--database-url',
    '--force',
    'AUTH_DATABASE_URL',
    'ORDER_DATABASE_URL',
    'BILLING_DATABASE_URL',
  ]) {
    expect(r.stdout).toContain(word);
  }
  expect(r.stderr).toBe('');
});

const SOME_URL = 'postgresql://u:pw@127.0.0.1:1/db';
test.each([
  ['no --service', ['--rows=10'], {}, /--service is required/],
  ['catalog', ['--service=catalog'], {}, /catalog has no generated data.*scripts\/seed\.sh/],
  ['an unknown service', ['--service=shop'], {}, /unknown --service "shop"; use auth, order, billing or all/],
  [
    '--rows=ten',
    ['--service=order', '--rows=ten'],
    {},
    /--rows must be a whole number .* got "ten" \(e\.g\. --rows=1000\)/,
  ],
  ['--rows=0', ['--service=order', '--rows=0'], {}, /--rows must be a whole number from 1/],
  ['--rows=1.5', ['--service=order', '--rows=1.5'], {}, /--rows must be a whole number/],
  ['--batch=0', ['--service=order', '--batch=0'], {}, /--batch must be a whole number from 1/],
  ['--first=-3', ['--service=order', '--first=-3'], {}, /--first must be a whole number/],
  [
    'no URL',
    ['--service=order'],
    {},
    /no database URL for the service: set ORDER_DATABASE_URL \(or DATABASE_URL\) or pass --database-url=URL/,
  ],
  [
    'all, two URLs missing',
    ['--service=all'],
    { AUTH_DATABASE_URL: SOME_URL },
    /set ORDER_DATABASE_URL, BILLING_DATABASE_URL$/m,
  ],
  ['all with --database-url', ['--service=all', `--database-url=${SOME_URL}`], {}, /--database-url names one database/],
  [
    'a mysql:// URL',
    ['--service=auth'],
    { AUTH_DATABASE_URL: 'mysql://u:pw@h/db' },
    /AUTH_DATABASE_URL must start with postgresql:\/\//,
  ],
  ['an unknown option', ['--service=auth', '--bogus'], {}, /Unknown option '--bogus'/],
  [
    'NODE_ENV=production',
    ['--service=auth'],
    { NODE_ENV: 'production', AUTH_DATABASE_URL: SOME_URL },
    /refusing .* NODE_ENV=production; pass --force/,
  ],
  [
    'WEBRANA_ENV=production',
    ['--service=auth'],
    { WEBRANA_ENV: 'production', AUTH_DATABASE_URL: SOME_URL },
    /refusing .* WEBRANA_ENV=production; pass --force/,
  ],
] as const)(
  'bad input (%s) exits 2 naming the problem and the fix, and writes nothing',
  async (_label, args, env, message) => {
    const r = await cli([...args], env);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('run with --help');
    expect(r.stdout).toBe('');
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain(':pw@');
  },
);

test('rows that would go past the 9-digit numbering exit 2 before writing', async () => {
  const db = await migrated('order-service');
  const r = await cli(['--service=order', '--rows=10', '--first=999999995', `--database-url=${db.url}`]);
  expect(r.stderr).toMatch(/rows 999999995\.\.1000000004 go past 999999999/);
  expect(r.code).toBe(2);
  expect(await count(db.url, 'orders')).toBe(0);
});

test('a real run inserts the rows, reports rows/s and never prints the password', async () => {
  const db = await migrated('order-service');
  const { url, password } = await urlWithPassword(db);
  const r = await cli(['--service=order', '--rows=120', '--batch=50'], { ORDER_DATABASE_URL: url });
  expect(r.stderr).not.toMatch(/generate-data:/);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^order: 120 orders in [0-9.]+ s \([0-9,]+ rows\/s\); next free number 121$/m);
  expect(r.stdout).toContain(':***@');
  expect(r.stdout + r.stderr).not.toContain(password);
  expect(await count(db.url, 'orders')).toBe(120);
  expect(await count(db.url, 'order_items')).toBe(120);
  expect(await count(db.url, 'status_history')).toBeGreaterThan(120);

  // running it again would collide: refused before writing, with the number to continue from
  const again = await cli(['--service=order', '--rows=120'], { ORDER_DATABASE_URL: url });
  expect(again.code).toBe(2);
  expect(again.stderr).toMatch(
    /already has generated orders numbered in 1\.\.120: pass --first=121 \(or --first=next\)/,
  );
  expect(again.stderr).not.toContain(password);
  const next = await cli(['--service=order', '--rows=30', '--first=next'], { ORDER_DATABASE_URL: url });
  expect(next.code).toBe(0);
  expect(next.stdout).toMatch(/numbered 121\.\.150/);
  expect(await count(db.url, 'orders')).toBe(150);
});

test('--service=all fills the auth, order and billing databases from their own variables', async () => {
  const [auth, order, billing] = await Promise.all([
    migrated('auth-service'),
    migrated('order-service'),
    migrated('billing-service'),
  ]);
  const r = await cli(['--service=all', '--rows=40'], {
    AUTH_DATABASE_URL: auth.url,
    ORDER_DATABASE_URL: order.url,
    BILLING_DATABASE_URL: billing.url,
    DATABASE_URL: 'postgresql://nobody:nothing@127.0.0.1:1/never_used',
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.match(/rows\/s/g)).toHaveLength(3);
  expect([
    await count(auth.url, 'users'),
    await count(order.url, 'orders'),
    await count(billing.url, 'invoices'),
  ]).toEqual([40, 40, 40]);
});

test('with NODE_ENV=production --force runs anyway', async () => {
  const db = await migrated('auth-service');
  const r = await cli(['--service=auth', '--rows=10', '--force'], {
    NODE_ENV: 'production',
    AUTH_DATABASE_URL: db.url,
  });
  expect(r.code).toBe(0);
  expect(await count(db.url, 'users')).toBe(10);
});

test('a database that is not migrated exits 1 naming the migration command, and nothing is written', async () => {
  const db = await createTestDatabase('datagen_cli_plain');
  dbs.push(db);
  const { url, password } = await urlWithPassword(db);
  const r = await cli(['--service=billing', '--rows=5'], { BILLING_DATABASE_URL: url });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(
    /has no invoices table: migrate it first \(scripts\/migrate\.sh --service=billing-service\)/,
  );
  expect(r.stderr).not.toContain(password);
  expect(r.stdout).toBe('');
});

test('a batch that fails mid-run exits 1, keeps the earlier batches and says how to resume', async () => {
  const db = await migrated('order-service');
  await withClient(db.url, (c) =>
    c.query(
      `ALTER TABLE provisioning_tasks ADD CONSTRAINT test_refuse CHECK (droplet_id IS NULL OR droplet_id < 3000000018)`,
    ),
  );
  const r = await cli(['--service=order', '--rows=30', '--batch=10'], { ORDER_DATABASE_URL: db.url });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/test_refuse/);
  expect(r.stderr).toMatch(/the 10 rows of earlier batches \(1\.\.10\) stay: resume with --first=11 --rows=20/);
  expect(await count(db.url, 'orders')).toBe(10);
});

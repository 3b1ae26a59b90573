import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { withDatabase } from '@webrana/db';
import { startEmbeddedPostgres } from '@webrana/local-postgres';
import { REPO_ROOT } from '@webrana/registry';
import { freePort } from '@webrana/testing';
import { Client } from 'pg';

const run = promisify(execFile);
const START = path.join(REPO_ROOT, 'scripts', 'start-local.js');

let dataDir: string;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-stack-'));
  fs.chmodSync(dataDir, 0o755); // PostgreSQL runs as its own OS user when we are root
  const [pg, auth, catalog, order, billing] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  env = {
    PATH: process.env.PATH,
    LOCAL_PG_DATA: path.join(dataDir, 'postgres'),
    LOCAL_PG_PORT: String(pg),
    AUTH_PORT: String(auth),
    CATALOG_PORT: String(catalog),
    ORDER_PORT: String(order),
    BILLING_PORT: String(billing),
    BCRYPT_COST: '4',
  };
});
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

const healthyRows = (stdout: string) =>
  stdout.split('\n').filter((l) => l.includes('200 {"status":"healthy","database":"connected"'));

test('npm start brings up the four services healthy on an embedded PostgreSQL, and a second start reuses its data', async () => {
  const first = await run(process.execPath, [START, '--once'], { env, timeout: 120_000 });
  expect(healthyRows(first.stdout).map((l) => l.split(/\s+/)[0])).toEqual([
    'auth-service',
    'catalog-service',
    'order-service',
    'billing-service',
  ]);
  expect(first.stdout).toContain(
    `AUTH_DATABASE_URL=postgresql://postgres:***@127.0.0.1:${env.LOCAL_PG_PORT}/webrana_auth`,
  );
  expect(fs.existsSync(path.join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);

  const second = await run(process.execPath, [START, '--once'], {
    env: { ...env, LOG_LEVEL: 'info' },
    timeout: 120_000,
  });
  expect(healthyRows(second.stdout)).toHaveLength(4);
  const logs = second.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  expect(logs.filter((l) => l.msg === 'database already up to date')).toHaveLength(4);
  expect(logs.filter((l) => l.msg === 'seed finished').map((l) => [l.service, l.created, l.updated])).toEqual([
    ['auth-service', 0, 0],
    ['catalog-service', 0, 0],
  ]);
});

test('a service port already taken stops npm start with a message naming the port and its variable', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(Number(env.ORDER_PORT), '127.0.0.1', resolve));
  try {
    const result = await run(process.execPath, [START, '--once'], { env }).catch((e) => e);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `port ${env.ORDER_PORT} for order-service is already in use; stop what uses it or set ORDER_PORT`,
    );
  } finally {
    blocker.close();
  }
});

test('a migration that fails stops npm start with exit 1 and leaves no PostgreSQL running', async () => {
  // A failed row in the order ledger makes deploy refuse (Prisma's P3009) after PostgreSQL is up.
  const postgres = await startEmbeddedPostgres({ port: Number(env.LOCAL_PG_PORT), dataDir: env.LOCAL_PG_DATA });
  const order = new Client({ connectionString: withDatabase(postgres.url, 'webrana_order') });
  await order.connect();
  await order.query(
    `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count)
     VALUES (gen_random_uuid(), repeat('0', 64), '20990101000000_broken', now(), 0)`,
  );
  await order.end();
  await postgres.stop();
  try {
    const result = await run(process.execPath, [START, '--once'], { env, timeout: 120_000 }).catch((e) => e);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('20990101000000_broken');
    expect(fs.existsSync(path.join(env.LOCAL_PG_DATA!, 'postmaster.pid'))).toBe(false);
  } finally {
    const cleanup = await startEmbeddedPostgres({ port: Number(env.LOCAL_PG_PORT), dataDir: env.LOCAL_PG_DATA });
    const client = new Client({ connectionString: withDatabase(cleanup.url, 'webrana_order') });
    await client.connect();
    await client.query(`DELETE FROM _prisma_migrations WHERE migration_name = '20990101000000_broken'`);
    await client.end();
    await cleanup.stop();
  }
});

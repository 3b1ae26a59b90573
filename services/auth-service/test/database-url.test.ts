// The spec's URL options (schema, connection_limit, pool_timeout, sslmode) reach auth-service's Prisma 7
// client through the service kit's factory: Prisma's adapter reads none of them itself.
import { DEFAULT_SETTINGS, deploy } from '@webrana/migrate';
import { createLogger } from '@webrana/logger';
import { migrationsDir } from '@webrana/registry';
import { createServiceDatabase, loadServiceConfig, type ServiceDatabase } from '@webrana/service-kit';
import { createTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import { PrismaClient } from '../src/generated/prisma/client';

const logger = createLogger({ name: 'test', level: 'silent' });

let db: TestDatabase;
const opened: ServiceDatabase[] = [];

/** auth-service's database as its main would build it from AUTH_DATABASE_URL=<db.url><query>. */
function databaseFor(query: string, applicationName = 'auth-url-test'): ServiceDatabase<PrismaClient> {
  const config = loadServiceConfig('auth-service', { AUTH_DATABASE_URL: `${db.url}${query}` });
  const database = createServiceDatabase({
    settings: config.database,
    PrismaClient,
    logger,
    applicationName,
  });
  opened.push(database);
  return database;
}

let userCounter = 0;
const newUser = (prisma: PrismaClient) =>
  prisma.user.create({
    data: {
      email: `url-test-${(userCounter += 1)}@webrana.test`,
      passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
      fullName: 'URL Test',
    },
  });

beforeAll(async () => {
  db = await createTestDatabase('auth_url');
  await withClient(db.url, (c) => c.query('CREATE SCHEMA tenant_a'));
  await deploy(
    {
      service: 'auth-service',
      databaseUrl: `${db.url}?schema=tenant_a`,
      urlVariable: 'AUTH_DATABASE_URL',
      migrationsDir: migrationsDir('auth-service'),
    },
    DEFAULT_SETTINGS,
    logger,
  );
});
afterAll(async () => {
  await Promise.all(opened.map((d) => d.close().catch(() => undefined)));
  await db.drop();
});

test('schema=tenant_a: Prisma reads and writes the tables of that schema', async () => {
  const { prisma } = databaseFor('?schema=tenant_a');
  const user = await newUser(prisma);
  expect(await prisma.user.findUnique({ where: { id: user.id } })).toMatchObject({ email: user.email });
  const rows = await withClient(db.url, async (c) => {
    const inTenant = await c.query('SELECT count(*)::int AS n FROM tenant_a.users WHERE id = $1', [user.id]);
    const inPublic = await c.query(`SELECT to_regclass('public.users') AS t`);
    return { inTenant: inTenant.rows[0].n, publicUsers: inPublic.rows[0].t };
  });
  expect(rows).toEqual({ inTenant: 1, publicUsers: null });
});

test('connection_limit=2 caps the pool, and pool_timeout=1 fails a query that waits longer than 1 s for a connection', async () => {
  const { prisma, pool } = databaseFor('?schema=tenant_a&connection_limit=2&pool_timeout=1', 'auth-pool-limit');
  const held = [await pool.connect(), await pool.connect()];
  try {
    const started = performance.now();
    await expect(prisma.user.count()).rejects.toThrow(/timeout/i);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(3000);
    const connections = await withClient(db.url, async (c) => {
      const { rows } = await c.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'auth-pool-limit' AND datname = $1`,
        [db.name],
      );
      return rows[0].n;
    });
    expect(connections).toBe(2);
  } finally {
    held.forEach((client) => client.release());
  }
  // Once a connection is free again, Prisma works through the same pool.
  expect(await prisma.user.count()).toBeGreaterThanOrEqual(0);
});

test('sslmode=require makes the connection ask for TLS (this test server has none, so it is refused)', async () => {
  const { prisma, ping } = databaseFor('?schema=tenant_a&sslmode=require');
  await expect(ping(2000)).rejects.toThrow('The server does not support SSL connections');
  await expect(prisma.user.count()).rejects.toThrow(/does not support SSL/);
});

test('ping is one SELECT 1 on the same pool Prisma uses', async () => {
  const database = databaseFor('?schema=tenant_a&connection_limit=1');
  await database.ping(2000);
  expect(database.pool.totalCount).toBe(1);
  await newUser(database.prisma);
  expect(database.pool.totalCount).toBe(1);
});

import { randomBytes } from 'node:crypto';
import { withDatabase } from '@webrana/db';
import { DEFAULT_SETTINGS, deploy } from '@webrana/migrate';
import { createLogger } from '@webrana/logger';
import { migrationsDir, type ServiceName } from '@webrana/registry';
import { Client } from 'pg';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** The server the harness started (or the one TEST_DATABASE_URL names). */
export function serverUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url)
    throw new Error('TEST_DATABASE_URL is not set: run the tests through jest (its global setup starts PostgreSQL)');
  return url;
}

export { withDatabase } from '@webrana/db';

export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A new, empty database that only the calling test file uses. */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const name = `${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(5).toString('hex')}`;
  const admin = serverUrl();
  await withClient(admin, (c) => c.query(`CREATE DATABASE "${name}" TEMPLATE template0`));
  return {
    name,
    url: withDatabase(admin, name),
    drop: () =>
      withClient(admin, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** A fresh database with every migration of a service applied by the production runner. */
export async function migratedTestDatabase(service: ServiceName): Promise<TestDatabase> {
  const db = await createTestDatabase(service.replace('-service', ''));
  await deploy(
    { service, databaseUrl: db.url, urlVariable: 'TEST_DATABASE_URL', migrationsDir: migrationsDir(service) },
    DEFAULT_SETTINGS,
    createLogger({ name: 'test', level: 'silent' }),
  );
  return db;
}

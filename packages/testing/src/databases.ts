import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
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

/** The same server and credentials, another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

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

/**
 * Applies every migration.sql of a migrations folder in name order, each in its own transaction.
 * A plain reference applier for schema tests; the production runner lives in jobs/.
 */
export async function applyMigrationFiles(url: string, migrationsDir: string): Promise<string[]> {
  const names = fs
    .readdirSync(migrationsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  await withClient(url, async (client) => {
    for (const name of names) {
      const sql = fs.readFileSync(path.join(migrationsDir, name, 'migration.sql'), 'utf8');
      await client.query(`BEGIN;\n${sql}\nCOMMIT;`).catch(async (error: Error) => {
        await client.query('ROLLBACK');
        throw new Error(`migration ${name} failed: ${error.message}`);
      });
    }
  });
  return names;
}

/** A fresh database with every migration of the given migrations folder applied. */
export async function migratedTestDatabase(label: string, migrationsDir: string): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  await applyMigrationFiles(db.url, migrationsDir);
  return db;
}

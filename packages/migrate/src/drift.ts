import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { parseDatabaseUrl, withDatabase } from '@webrana/db';
import type { Logger } from '@webrana/logger';
import { Client } from 'pg';
import { diffSnapshots, snapshotSchema } from './introspect';
import { deploy, type MigrateSettings, type MigrateTarget } from './runner';

async function admin<T>(serverUrl: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client(parseDatabaseUrl(serverUrl).pool);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function snapshotOf(url: string) {
  const client = new Client(parseDatabaseUrl(url).pool);
  await client.connect();
  try {
    return await snapshotSchema(client);
  } finally {
    await client.end();
  }
}

/**
 * `migrate check`: builds one scratch database from the migrations (with our runner) and one from
 * Prisma's own DDL for schema.prisma, and compares what Prisma models in both.
 */
export async function checkDrift(
  target: MigrateTarget,
  settings: MigrateSettings,
  log: Logger,
  scratchServerUrl = target.databaseUrl,
): Promise<{ differences: string[] }> {
  // Prisma 6's CLI is a development dependency: the jobs image does not ship it.
  const { prismaDdl } = await import('@webrana/prisma6');
  const schemaPath = path.join(target.migrationsDir, '..', 'schema.prisma');
  const ddl = prismaDdl(schemaPath, scratchServerUrl);
  const suffix = randomBytes(4).toString('hex');
  const fromMigrations = `drift_m_${suffix}`;
  const fromSchema = `drift_p_${suffix}`;
  await admin(scratchServerUrl, async (c) => {
    await c.query(`CREATE DATABASE "${fromMigrations}"`);
    await c.query(`CREATE DATABASE "${fromSchema}"`);
  });
  try {
    await deploy({ ...target, databaseUrl: withDatabase(scratchServerUrl, fromMigrations) }, settings, log);
    await admin(withDatabase(scratchServerUrl, fromSchema), (c) => c.query(ddl));
    const differences = diffSnapshots(
      await snapshotOf(withDatabase(scratchServerUrl, fromMigrations)),
      await snapshotOf(withDatabase(scratchServerUrl, fromSchema)),
    );
    log.info(
      { service: target.service, differences: differences.length },
      differences.length ? 'schema drift found' : 'no schema drift',
    );
    return { differences };
  } finally {
    await admin(scratchServerUrl, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS "${fromMigrations}" WITH (FORCE)`);
      await c.query(`DROP DATABASE IF EXISTS "${fromSchema}" WITH (FORCE)`);
    });
  }
}

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDatabaseUrl, withDatabase } from '@webrana/db';
import type { Logger } from '@webrana/logger';
import { Client } from 'pg';
import { readLocalMigrations } from './local';
import { deploy, type MigrateSettings, type MigrateTarget } from './runner';

async function onServer<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client(parseDatabaseUrl(url).pool);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Prisma's migration name rule: lowercase words joined by "_" (what `migrate dev --name` writes). */
export function migrationSlug(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** `YYYYMMDDHHMMSS` in UTC, Prisma's folder prefix. */
export function migrationTimestamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function addSecond(timestamp: string): string {
  const [y, mo, d, h, mi, s] = [0, 4, 6, 8, 10, 12].map((i, k) => Number(timestamp.slice(i, i + (k ? 2 : 4))));
  return migrationTimestamp(new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s! + 1)));
}

/** The next folder name: now (UTC), or one second after the last existing migration if that is later. */
export function nextMigrationName(existing: readonly string[], slug: string, now: Date): string {
  let stamp = migrationTimestamp(now);
  const last = [...existing].sort().at(-1);
  const lastStamp = last?.slice(0, 14);
  if (lastStamp && /^\d{14}$/.test(lastStamp) && `${stamp}_${slug}` <= last!) stamp = addSecond(lastStamp);
  return `${stamp}_${slug}`;
}

export interface NewMigrationResult {
  /** Null when schema.prisma matches the migrations: nothing written. */
  name: string | null;
  file: string | null;
  sql: string;
}

/**
 * "All existing migrations applied" as a Prisma datamodel: the migrations are applied by our runner to
 * a scratch database, which Prisma 6 introspects (`db pull`; the wasm engine over the adapter). Prisma
 * models neither CHECK constraints nor the ledger table, so both are dropped from the scratch copy
 * first (the wasm introspection also fails on CHECK constraints).
 */
export async function appliedDatamodel(
  target: MigrateTarget,
  settings: MigrateSettings,
  log: Logger,
  scratchServerUrl: string,
): Promise<string> {
  const { prismaPull } = await import('@webrana/prisma6');
  const schemaPath = path.join(target.migrationsDir, '..', 'schema.prisma');
  const scratch = `migrate_new_${randomBytes(4).toString('hex')}`;
  await onServer(scratchServerUrl, (c) => c.query(`CREATE DATABASE "${scratch}"`));
  try {
    const url = withDatabase(scratchServerUrl, scratch);
    await deploy({ ...target, databaseUrl: url, urlVariable: 'the scratch database' }, settings, log);
    await onServer(url, (c) =>
      c.query(`DROP TABLE "_prisma_migrations";
        DO $$ DECLARE r record; BEGIN
          FOR r IN SELECT conrelid::regclass AS t, conname FROM pg_constraint
                   WHERE contype = 'c' AND connamespace = current_schema()::regnamespace LOOP
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname);
          END LOOP;
        END $$;`),
    );
    const hasTables = await onServer(url, (c) =>
      c
        .query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = current_schema()`)
        .then((r) => r.rows[0].n > 0),
    );
    if (!hasTables) return '';
    return prismaPull(schemaPath, url);
  } finally {
    await onServer(scratchServerUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${scratch}" WITH (FORCE)`));
  }
}

/**
 * `migrate new`: writes `<migrations>/<YYYYMMDDHHMMSS>_<name>/migration.sql` with Prisma's own SQL
 * from "all existing migrations applied" to schema.prisma; writes nothing when they already match.
 */
export async function newMigration(
  target: MigrateTarget,
  settings: MigrateSettings,
  log: Logger,
  opts: { name: string; scratchServerUrl: string; now?: Date },
): Promise<NewMigrationResult> {
  const { prismaDdl, prismaDiff, isEmptyScript } = await import('@webrana/prisma6');
  const slug = migrationSlug(opts.name);
  if (!slug) throw new Error(`migration name "${opts.name}" has no letters or digits`);
  const schemaPath = path.join(target.migrationsDir, '..', 'schema.prisma');
  const from = await appliedDatamodel(target, settings, log, opts.scratchServerUrl);
  const sql = from ? prismaDiff(from, schemaPath, opts.scratchServerUrl) : prismaDdl(schemaPath, opts.scratchServerUrl);
  if (isEmptyScript(sql)) return { name: null, file: null, sql };
  const name = nextMigrationName(
    readLocalMigrations(target.migrationsDir).map((m) => m.name),
    slug,
    opts.now ?? new Date(),
  );
  const dir = path.join(target.migrationsDir, name);
  fs.mkdirSync(dir);
  const file = path.join(dir, 'migration.sql');
  fs.writeFileSync(file, sql);
  log.info({ service: target.service, migration: name }, 'migration created');
  return { name, file, sql };
}

import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import type { LedgerRow } from './assess';
import type { LocalMigration } from './local';

// Prisma's own definition of its ledger (PostgreSQL flavour), column for column.
const CREATE_LEDGER = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export async function ensureLedger(client: Client, schema: string): Promise<void> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await client.query(CREATE_LEDGER);
}

/** The ledger rows in the order they were written; none when the table does not exist yet. */
export async function readLedger(client: Client): Promise<LedgerRow[]> {
  const { rows } = await client.query<{ exists: boolean }>(
    `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS exists`,
  );
  if (!rows[0]?.exists) return [];
  const ledger = await client.query<LedgerRow>(
    'SELECT * FROM "_prisma_migrations" ORDER BY started_at, migration_name',
  );
  return ledger.rows;
}

/** Inserts a started (unfinished) row and returns its id. */
export async function recordStarted(client: Client, migration: LocalMigration): Promise<string> {
  const id = randomUUID();
  await client.query(
    `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
     VALUES ($1, $2, $3, clock_timestamp(), 0)`,
    [id, migration.checksum, migration.name],
  );
  return id;
}

export async function recordFinished(client: Client, id: string): Promise<void> {
  await client.query(
    `UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`,
    [id],
  );
}

/** A failed attempt as Prisma records one: unfinished, not rolled back, with the error in `logs`. */
export async function recordFailed(
  client: Client,
  migration: LocalMigration,
  logs: string,
  id?: string,
): Promise<void> {
  if (id) {
    await client.query(`UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1`, [id, logs]);
    return;
  }
  await client.query(
    `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs, started_at, applied_steps_count)
     VALUES ($1, $2, $3, $4, clock_timestamp(), 0)`,
    [randomUUID(), migration.checksum, migration.name, logs],
  );
}

/** `migrate resolve --applied`: failed attempts become rolled back, then one finished row (Prisma's semantics). */
export async function markApplied(client: Client, migration: LocalMigration): Promise<void> {
  await markRolledBack(client, migration.name);
  await client.query(
    `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
     VALUES ($1, $2, $3, now(), now(), 0)`,
    [randomUUID(), migration.checksum, migration.name],
  );
}

/** `migrate resolve --rolled-back`: marks the failed attempts of a migration rolled back. */
export async function markRolledBack(client: Client, name: string): Promise<number> {
  const result = await client.query(
    `UPDATE "_prisma_migrations" SET rolled_back_at = now()
     WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL`,
    [name],
  );
  return result.rowCount ?? 0;
}

import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import type { LedgerRow } from './assess';
import type { LocalMigration } from './local';
import { MigrationError } from './session';

// Prisma's own definition of its ledger (PostgreSQL flavour), column for column.
const createLedger = (schema: string) => `CREATE TABLE IF NOT EXISTS "${schema}"."_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

const isPermissionError = (error: unknown) => (error as { code?: string }).code === '42501';

/** Runs a ledger query; a permission error says which grant the role lacks instead of a bare "permission denied". */
async function onLedger<T>(client: Client, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!isPermissionError(error)) throw error;
    const { rows } = await client.query<{ role: string }>('SELECT current_user AS role');
    throw new MigrationError(
      `${what} failed: ${(error as Error).message}. The role ${rows[0]?.role} needs SELECT, INSERT, UPDATE and DELETE ` +
        `on _prisma_migrations (GRANT SELECT, INSERT, UPDATE, DELETE ON _prisma_migrations TO ${rows[0]?.role}), ` +
        `or run deploy as the owner`,
    );
  }
}

/**
 * Creates the schema and the ledger table only when missing: a role with just the grants deploy needs
 * (no CREATE on the database or schema) can deploy once the owner made them. CREATE ... IF NOT EXISTS
 * would not do, as PostgreSQL checks the CREATE privilege before it looks whether the object exists.
 */
export async function ensureLedger(client: Client, schema: string): Promise<void> {
  const { rows } = await client.query<{ schema: boolean; ledger: boolean; role: string; database: string }>(
    `SELECT to_regnamespace(quote_ident($1)) IS NOT NULL AS schema,
            to_regclass(quote_ident($1) || '._prisma_migrations') IS NOT NULL AS ledger,
            current_user AS role, current_database() AS database`,
    [schema],
  );
  const { role, database } = rows[0]!;
  const create = async (sql: string, what: string, needs: string, grant: string) => {
    try {
      await client.query(sql);
    } catch (error) {
      if (!isPermissionError(error)) throw error;
      throw new MigrationError(
        `${what} needs ${needs}, which the role ${role} lacks (${(error as Error).message}): ` +
          `grant it (${grant}) or run the first deploy as the owner`,
      );
    }
  };
  if (!rows[0]!.schema)
    await create(
      `CREATE SCHEMA IF NOT EXISTS "${schema}"`,
      `creating the schema ${schema}`,
      `CREATE on database ${database}`,
      `GRANT CREATE ON DATABASE "${database}" TO ${role}`,
    );
  if (!rows[0]!.ledger)
    await create(
      createLedger(schema),
      `creating the ledger table _prisma_migrations`,
      `CREATE on schema ${schema}`,
      `GRANT CREATE ON SCHEMA "${schema}" TO ${role}`,
    );
}

/** The ledger rows in the order they were written; none when the table does not exist yet. */
export async function readLedger(client: Client): Promise<LedgerRow[]> {
  const { rows } = await client.query<{ exists: boolean }>(
    `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS exists`,
  );
  if (!rows[0]?.exists) return [];
  const ledger = await onLedger(client, 'reading the ledger _prisma_migrations', () =>
    client.query<LedgerRow>('SELECT * FROM "_prisma_migrations" ORDER BY started_at, migration_name'),
  );
  return ledger.rows;
}

/** Inserts a started (unfinished) row and returns its id. */
export async function recordStarted(client: Client, migration: LocalMigration): Promise<string> {
  const id = randomUUID();
  await onLedger(client, 'recording the start of a migration in _prisma_migrations', () =>
    client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
       VALUES ($1, $2, $3, clock_timestamp(), 0)`,
      [id, migration.checksum, migration.name],
    ),
  );
  return id;
}

/** Finished as Prisma records it: one step applied, no logs (progress notes written on the way are cleared). */
export async function recordFinished(client: Client, id: string): Promise<void> {
  await client.query(
    `UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1, logs = NULL WHERE id = $1`,
    [id],
  );
}

/** Progress of a statement-by-statement migration, in `logs` (see progress.ts). */
export async function recordProgress(client: Client, id: string, logs: string): Promise<void> {
  await client.query(`UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1`, [id, logs]);
}

/** Removes a started row whose migration applied nothing (it gave up waiting for a lock): nothing to resolve. */
export async function forgetStarted(client: Client, id: string): Promise<void> {
  await client.query(`DELETE FROM "_prisma_migrations" WHERE id = $1 AND finished_at IS NULL`, [id]);
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

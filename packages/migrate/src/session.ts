import { parseDatabaseUrl } from '@webrana/db';
import type { Logger } from '@webrana/logger';
import { Client } from 'pg';

/** Prisma's advisory lock key for migrations; holding it serialises us with Prisma and with ourselves. */
export const PRISMA_MIGRATION_LOCK = 72707369;

/** Errors worth waiting out while a database starts (Jobs often start before their database). */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  '57P03',
  '53300',
]);

export class MigrationError extends Error {}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isTransient(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  if (code && TRANSIENT_CODES.has(code)) return true;
  return /timeout|terminat|Connection terminated/i.test((error as Error).message ?? '');
}

/** Connects, retrying transient failures until `waitMs` has passed; other failures end it at once. */
export async function connectWithRetry(
  databaseUrl: string,
  waitMs: number,
  log: Logger,
  variable = 'DATABASE_URL',
): Promise<Client> {
  const settings = parseDatabaseUrl(databaseUrl, variable);
  const deadline = Date.now() + waitMs;
  for (let attempt = 1; ; attempt += 1) {
    const client = new Client({ ...settings.pool, connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined); // a dropped connection surfaces on the next query instead
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      const reason = (error as Error).message;
      if (!isTransient(error)) {
        throw new MigrationError(`cannot connect to ${settings.redacted}: ${reason}`);
      }
      if (Date.now() >= deadline) {
        throw new MigrationError(
          `database ${settings.redacted} not reachable after ${Math.round(waitMs / 1000)}s: ${reason}`,
        );
      }
      log.info({ attempt, reason, database: settings.database }, 'waiting for the database to accept connections');
      await sleep(Math.min(250 * 2 ** Math.min(attempt - 1, 4), Math.max(deadline - Date.now(), 0)));
    }
  }
}

/** Takes Prisma's migration advisory lock, waiting up to `waitMs` for whoever holds it. */
export async function takeMigrationLock(client: Client, waitMs: number, log: Logger): Promise<void> {
  const deadline = Date.now() + waitMs;
  let announced = false;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      PRISMA_MIGRATION_LOCK,
    ]);
    if (rows[0]?.locked) return;
    if (Date.now() >= deadline) {
      throw new MigrationError(
        `another migration holds the lock on this database (advisory lock ${PRISMA_MIGRATION_LOCK}) for more than ` +
          `${Math.round(waitMs / 1000)}s; wait for it, or find the session in pg_locks if nothing should be running`,
      );
    }
    if (!announced) log.info('another migration is running; waiting for its lock');
    announced = true;
    await sleep(200);
  }
}

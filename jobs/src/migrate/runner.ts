import { parseDatabaseUrl } from '@webrana/db';
import type { Logger } from '@webrana/logger';
import type { Client, DatabaseError } from 'pg';
import { assess, deployBlockers, ROLLED_BACK_NOTE, type Assessment } from './assess';
import {
  ensureLedger,
  markApplied,
  markRolledBack,
  readLedger,
  recordFailed,
  recordFinished,
  recordStarted,
} from './ledger';
import { readLocalMigrations, type LocalMigration } from './local';
import { connectWithRetry, MigrationError, takeMigrationLock } from './session';
import { nonTransactionalReason, splitStatements } from './statements';

export interface MigrateTarget {
  service: string;
  databaseUrl: string;
  /** Where the URL came from, for messages (e.g. AUTH_DATABASE_URL). */
  urlVariable: string;
  migrationsDir: string;
}

export interface MigrateSettings {
  /** How long one DDL statement may wait for a table lock before the migration fails (never queue behind traffic). */
  lockTimeoutMs: number;
  /** How long one statement may run (0: no limit). */
  statementTimeoutMs: number;
  /** How long to wait for another runner's advisory lock. */
  advisoryLockWaitMs: number;
  /** How long to wait for the database to accept connections. */
  connectWaitMs: number;
  /** Deploy even when the database has migrations this checkout does not. */
  allowMissingLocally: boolean;
}

export const DEFAULT_SETTINGS: MigrateSettings = {
  lockTimeoutMs: 5_000,
  statementTimeoutMs: 0,
  advisoryLockWaitMs: 120_000,
  connectWaitMs: 60_000,
  allowMissingLocally: false,
};

export interface PlannedMigration {
  name: string;
  /** Null when it runs in one transaction; otherwise why it cannot. */
  nonTransactional: string | null;
}

export interface DeployResult {
  service: string;
  applied: string[];
  durationMs: number;
}

async function withSession<T>(
  target: MigrateTarget,
  settings: MigrateSettings,
  log: Logger,
  opts: { lock: boolean },
  fn: (client: Client, schema: string) => Promise<T>,
): Promise<T> {
  const { schema } = parseDatabaseUrl(target.databaseUrl, target.urlVariable);
  const client = await connectWithRetry(target.databaseUrl, settings.connectWaitMs, log, target.urlVariable);
  try {
    // If this process dies mid-migration, the server notices within a second and rolls back, releasing
    // its locks, instead of holding them until the running statement ends.
    await client.query(`SET client_connection_check_interval = 1000`);
    if (opts.lock) await takeMigrationLock(client, settings.advisoryLockWaitMs, log);
    return await fn(client, schema);
  } finally {
    // Ending the session also releases the advisory lock.
    await client.end().catch(() => undefined);
  }
}

async function assessOn(
  client: Client,
  target: MigrateTarget,
): Promise<{ local: LocalMigration[]; assessment: Assessment }> {
  const local = readLocalMigrations(target.migrationsDir);
  return { local, assessment: assess(local, await readLedger(client)) };
}

/** Where in the file a PostgreSQL error points, as "line N". */
function lineOf(sql: string, position: string | undefined): string {
  if (!position) return '';
  const line = sql.slice(0, Number(position) - 1).split('\n').length;
  return ` at line ${line}`;
}

function describeFailure(migration: LocalMigration, error: DatabaseError, transactional: boolean): string {
  return [
    `Migration name: ${migration.name}`,
    `Database error code: ${error.code ?? 'unknown'}`,
    `Database error${lineOf(migration.sql, error.position)}:\n${error.message}`,
    transactional
      ? ROLLED_BACK_NOTE
      : 'The migration ran outside a transaction: statements before the failing one stay applied.',
  ].join('\n\n');
}

function timeouts(settings: MigrateSettings, scope: 'LOCAL' | 'SESSION'): string {
  const set = scope === 'LOCAL' ? 'SET LOCAL' : 'SET';
  return `${set} lock_timeout = ${settings.lockTimeoutMs}; ${set} statement_timeout = ${settings.statementTimeoutMs};`;
}

async function applyOne(
  client: Client,
  migration: LocalMigration,
  settings: MigrateSettings,
  log: Logger,
): Promise<void> {
  const reason = await nonTransactionalReason(migration.sql);
  const started = Date.now();
  if (reason === null) {
    await client.query('BEGIN');
    try {
      await client.query(timeouts(settings, 'LOCAL'));
      const id = await recordStarted(client, migration);
      await client.query(migration.sql);
      await recordFinished(client, id);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      const logs = describeFailure(migration, error as DatabaseError, true);
      await recordFailed(client, migration, logs);
      throw new MigrationError(`migration ${migration.name} failed (${migration.file})\n${logs}`);
    }
  } else {
    log.info(
      { migration: migration.name, reason },
      'migration cannot run in a transaction; applying statement by statement',
    );
    const id = await recordStarted(client, migration);
    try {
      await client.query(timeouts(settings, 'SESSION'));
      for (const statement of await splitStatements(migration.sql)) await client.query(statement);
      await recordFinished(client, id);
    } catch (error) {
      const logs = describeFailure(migration, error as DatabaseError, false);
      await recordFailed(client, migration, logs, id);
      throw new MigrationError(`migration ${migration.name} failed (${migration.file})\n${logs}`);
    } finally {
      await client.query('RESET lock_timeout; RESET statement_timeout;').catch(() => undefined);
    }
  }
  log.info(
    { migration: migration.name, transactional: reason === null, durationMs: Date.now() - started },
    'migration applied',
  );
}

async function deployOn(client: Client, schema: string, target: MigrateTarget, settings: MigrateSettings, log: Logger) {
  await ensureLedger(client, schema);
  const { assessment } = await assessOn(client, target);
  const blockers = deployBlockers(assessment, { allowMissingLocally: settings.allowMissingLocally });
  if (blockers.length > 0)
    throw new MigrationError(`${target.service}: refusing to migrate\n- ${blockers.join('\n- ')}`);
  const applied: string[] = [];
  for (const migration of assessment.pending) {
    await applyOne(client, migration, settings, log);
    applied.push(migration.name);
  }
  return applied;
}

/** Applies the pending migrations of one service (`migrate deploy`). */
export async function deploy(target: MigrateTarget, settings: MigrateSettings, log: Logger): Promise<DeployResult> {
  const started = Date.now();
  const applied = await withSession(target, settings, log, { lock: true }, (client, schema) =>
    deployOn(client, schema, target, settings, log),
  );
  const result = { service: target.service, applied, durationMs: Date.now() - started };
  log.info(result, applied.length ? `applied ${applied.length} migration(s)` : 'database already up to date');
  return result;
}

/** Local migrations against the ledger; writes nothing (`migrate status`). */
export async function status(target: MigrateTarget, settings: MigrateSettings, log: Logger): Promise<Assessment> {
  return withSession(
    target,
    settings,
    log,
    { lock: false },
    async (client) => (await assessOn(client, target)).assessment,
  );
}

/** What `deploy` would do, and what would stop it; writes nothing (`migrate plan`, `deploy --dry-run`). */
export async function plan(
  target: MigrateTarget,
  settings: MigrateSettings,
  log: Logger,
): Promise<{ pending: PlannedMigration[]; blockers: string[] }> {
  const assessment = await status(target, settings, log);
  const pending = await Promise.all(
    assessment.pending.map(async (m) => ({ name: m.name, nonTransactional: await nonTransactionalReason(m.sql) })),
  );
  return { pending, blockers: deployBlockers(assessment, { allowMissingLocally: settings.allowMissingLocally }) };
}

/** `migrate resolve`, with Prisma's semantics. */
export async function resolve(
  target: MigrateTarget,
  settings: MigrateSettings,
  log: Logger,
  action: { applied: string } | { rolledBack: string },
): Promise<void> {
  await withSession(target, settings, log, { lock: true }, async (client, schema) => {
    await ensureLedger(client, schema);
    const { local, assessment } = await assessOn(client, target);
    if ('applied' in action) {
      const migration = local.find((m) => m.name === action.applied);
      if (!migration) throw new MigrationError(`no migration named ${action.applied} in ${target.migrationsDir}`);
      if (assessment.entries.some((e) => e.name === action.applied && e.state !== 'failed' && e.state !== 'pending')) {
        throw new MigrationError(`migration ${action.applied} is already recorded as applied (Prisma P3008)`);
      }
      await markApplied(client, migration);
      log.info({ migration: action.applied }, 'migration marked as applied');
    } else {
      const changed = await markRolledBack(client, action.rolledBack);
      if (changed === 0) {
        throw new MigrationError(
          `migration ${action.rolledBack} is not in a failed state, so it cannot be marked rolled back (Prisma P3012)`,
        );
      }
      log.info(
        { migration: action.rolledBack },
        'failed migration marked as rolled back; the next deploy applies it again',
      );
    }
  });
}

/** Drops and recreates the schema, then applies every migration (`migrate reset`; development only). */
export async function reset(target: MigrateTarget, settings: MigrateSettings, log: Logger): Promise<DeployResult> {
  const started = Date.now();
  const applied = await withSession(target, settings, log, { lock: true }, async (client, schema) => {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.query(`CREATE SCHEMA "${schema}"`);
    log.info({ schema }, 'schema dropped and recreated');
    return deployOn(client, schema, target, settings, log);
  });
  return { service: target.service, applied, durationMs: Date.now() - started };
}

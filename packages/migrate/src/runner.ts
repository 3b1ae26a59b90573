import { parseDatabaseUrl } from '@webrana/db';
import type { Logger } from '@webrana/logger';
import type { Client, DatabaseError } from 'pg';
import { assess, deployBlockers, ROLLED_BACK_NOTE, type Assessment } from './assess';
import { watchBlockers, type BlockerWatch } from './blockers';
import {
  backoffMs,
  classifyError,
  describeBlocker,
  lockFailureMessage,
  TransientMigrationError,
  type Blocker,
} from './failure';
import {
  ensureLedger,
  forgetStarted,
  markApplied,
  markRolledBack,
  readLedger,
  recordFailed,
  recordFinished,
  recordProgress,
  recordStarted,
} from './ledger';
import { parseDurationFlag } from './limits';
import { blocking, formatFinding, lintMigrations } from './lint';
import { readLocalMigrations, type LocalMigration } from './local';
import { migrationPhase, phaseBlockers, selectForPhase, type PhaseSelector } from './phase';
import { describeInterrupted, progressLogs, type InvalidIndex } from './progress';
import { connectWithRetry, MigrationError, takeMigrationLock } from './session';
import { nonTransactionalReason, statementsOf, syntaxErrorOf, type Statement } from './statements';

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
  /** How often a migration that timed out waiting for a lock is tried again (nothing is recorded meanwhile). */
  lockRetries: number;
  /** Wait before the first retry; doubled for each next one (capped at 60 s). */
  lockRetryDelayMs: number;
  /** Production: refuse pending migrations with unallowed squawk findings of error severity. */
  refuseLintErrors?: boolean;
  /**
   * Which pending migrations deploy applies (default all): pre-deploy stops at the first pending
   * post-deploy migration and refuses when a pre-deploy one comes after it (see selectForPhase).
   */
  phase?: PhaseSelector;
}

export const DEFAULT_SETTINGS: MigrateSettings = {
  lockTimeoutMs: 5_000,
  statementTimeoutMs: 0,
  advisoryLockWaitMs: 120_000,
  connectWaitMs: 60_000,
  allowMissingLocally: false,
  lockRetries: 3,
  lockRetryDelayMs: 1_000,
};

export interface PlannedMigration {
  name: string;
  /** Null when it runs in one transaction; otherwise why it cannot. */
  nonTransactional: string | null;
}

export interface DeployResult {
  service: string;
  applied: string[];
  /** Post-deploy migrations left pending by a pre-deploy run: they wait for the rollout. */
  waitingForRollout: string[];
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

/** Where in the file a PostgreSQL error points, as " at line N" (`firstLine`: where the statement starts). */
function lineOf(sql: string, position: string | undefined, firstLine = 1): string {
  if (!position) return '';
  const line = sql.slice(0, Number(position) - 1).split('\n').length + firstLine - 1;
  return ` at line ${line}`;
}

function describeFailure(
  migration: LocalMigration,
  error: DatabaseError,
  transactional: boolean,
  statement?: Statement,
): string {
  const where = statement
    ? lineOf(statement.text, error.position, statement.line)
    : lineOf(migration.sql, error.position);
  return [
    `Migration name: ${migration.name}`,
    `Database error code: ${error.code ?? 'unknown'}`,
    `Database error${where}:\n${error.message}`,
    transactional
      ? ROLLED_BACK_NOTE
      : 'The migration ran outside a transaction: statements before the failing one stay applied.',
  ].join('\n\n');
}

/** The first line of a failure: migration, file, the database's message and where it points. */
function headline(migration: LocalMigration, error: DatabaseError, statement?: Statement): string {
  const where = statement
    ? lineOf(statement.text, error.position, statement.line)
    : lineOf(migration.sql, error.position);
  const line = where || (statement ? ` in the statement at line ${statement.line}` : '');
  return `migration ${migration.name} failed (${migration.file}): ${error.message}${line}`;
}

function timeouts(settings: MigrateSettings, scope: 'LOCAL' | 'SESSION'): string {
  const set = scope === 'LOCAL' ? 'SET LOCAL' : 'SET';
  return `${set} lock_timeout = ${settings.lockTimeoutMs}; ${set} statement_timeout = ${settings.statementTimeoutMs};`;
}

interface Run {
  client: Client;
  schema: string;
  settings: MigrateSettings;
  log: Logger;
  watch: BlockerWatch;
}

/** Thrown when every attempt ran into a lock timeout (or deadlock); carries what the last wait saw. */
class LockWaitExhausted extends Error {
  constructor(
    readonly attempts: number,
    readonly blockers: Blocker[],
    readonly last: unknown,
  ) {
    super((last as Error).message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `attempt`; when it fails on a lock (PostgreSQL rolled it back: nothing applied) waits with
 * exponential backoff and tries again, up to --lock-retries times, like strong_migrations'
 * lock_timeout_retries. `retryable` may veto a retry (something was left behind).
 */
async function withLockRetries<T>(
  run: Run,
  what: string,
  attempt: () => Promise<T>,
  retryable: () => Promise<boolean> = async () => true,
): Promise<T> {
  for (let n = 1; ; n += 1) {
    run.watch.reset();
    try {
      return await attempt();
    } catch (error) {
      if (classifyError(error) !== 'lock' || !(await retryable())) throw error;
      const blockers = run.watch.seen();
      if (n > run.settings.lockRetries) throw new LockWaitExhausted(n, blockers, error);
      const waitMs = backoffMs(n, run.settings.lockRetryDelayMs);
      const now = new Date();
      run.log.warn(
        { migration: what, attempt: n, retryInMs: waitMs, blockers: blockers.map((b) => describeBlocker(b, now)) },
        `${what}: ${(error as Error).message}; nothing was applied, retrying in ${waitMs}ms`,
      );
      await sleep(waitMs);
    }
  }
}

async function invalidIndexes(client: Client, schema: string): Promise<InvalidIndex[]> {
  const { rows } = await client.query<InvalidIndex>(
    `SELECT c.relname AS index, t.relname AS table
     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT i.indisvalid AND n.nspname = $1 ORDER BY 1`,
    [schema],
  );
  return rows;
}

function connectionLost(migration: LocalMigration, error: unknown, detail: string): never {
  throw new TransientMigrationError(
    `migration ${migration.name} (${migration.file}): the connection to the database was lost while it ran ` +
      `(${(error as Error).message}). ${detail}`,
  );
}

async function applyInTransaction(run: Run, migration: LocalMigration): Promise<void> {
  const { client, settings } = run;
  try {
    await withLockRetries(run, migration.name, async () => {
      await client.query('BEGIN');
      try {
        await client.query(timeouts(settings, 'LOCAL'));
        const id = await recordStarted(client, migration);
        await client.query(migration.sql);
        await recordFinished(client, id);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  } catch (error) {
    if (error instanceof LockWaitExhausted) {
      throw lockWaitFailure(migration, settings, error);
    }
    if (error instanceof MigrationError) throw error;
    if (classifyError(error) === 'connection')
      connectionLost(
        migration,
        error,
        'PostgreSQL rolls its transaction back: nothing was applied or recorded; deploy again.',
      );
    // A genuine error: recorded as Prisma does, so deploys stop (P3009) until someone looks.
    const logs = describeFailure(migration, error as DatabaseError, true);
    await recordFailed(client, migration, logs);
    throw new MigrationError(`${headline(migration, error as DatabaseError)}\n${logs}`);
  }
}

/** Lock waits exhausted: nothing applied, nothing recorded; names the blocker (exit 75). */
function lockWaitFailure(
  migration: LocalMigration,
  settings: MigrateSettings,
  error: LockWaitExhausted,
  statement?: { index: number; total: number },
): TransientMigrationError {
  return new TransientMigrationError(
    lockFailureMessage({
      migration: migration.name,
      file: migration.file,
      lockTimeoutMs: settings.lockTimeoutMs,
      attempts: error.attempts,
      reason: error.message,
      blockers: error.blockers,
      now: new Date(),
      statement,
    }),
  );
}

/**
 * A migration PostgreSQL refuses in a transaction runs statement by statement. Before each statement
 * the ledger row's logs say how far it got, so a runner killed part-way leaves a precise account.
 */
async function applyStatementByStatement(run: Run, migration: LocalMigration): Promise<void> {
  const { client, settings, schema } = run;
  const statements = await statementsOf(migration.sql);
  const total = statements.length;
  const id = await recordStarted(client, migration);
  let done = 0;
  try {
    await client.query(timeouts(settings, 'SESSION'));
    for (const statement of statements) {
      const running = { index: done + 1, line: statement.line, text: statement.text };
      await recordProgress(client, id, progressLogs({ total, done, running }, new Date()));
      const before = new Set((await invalidIndexes(client, schema)).map((i) => i.index));
      // A CONCURRENTLY statement that lost its lock after creating its index leaves it INVALID: no retry then.
      const leftNothing = async () => (await invalidIndexes(client, schema)).every((i) => before.has(i.index));
      await withLockRetries(run, migration.name, () => client.query(statement.text), leftNothing);
      done += 1;
    }
    await recordFinished(client, id);
  } catch (error) {
    const statement = statements[done];
    const progress = { total, done, running: statement && { index: done + 1, ...statement } };
    if (error instanceof LockWaitExhausted && done === 0) {
      await forgetStarted(client, id);
      throw lockWaitFailure(migration, settings, error, { index: 1, total });
    }
    const cause = error instanceof LockWaitExhausted ? error.last : error;
    if (classifyError(cause) === 'connection') {
      // Nothing can be written now; the row keeps the progress recorded before the statement.
      throw new MigrationError(
        `migration ${migration.name} (${migration.file}): the connection to the database was lost while it ran ` +
          `(${(cause as Error).message}): ${describeInterrupted(migration.name, progress, { failed: false, invalidIndexes: [] })}`,
      );
    }
    if (cause instanceof MigrationError) throw cause;
    const logs = `${progressLogs(progress, new Date())}\n\n${describeFailure(migration, cause as DatabaseError, false, statement)}`;
    await recordFailed(client, migration, logs, id);
    const advice = describeInterrupted(migration.name, progress, {
      failed: true,
      invalidIndexes: await invalidIndexes(client, schema),
    });
    throw new MigrationError(`${headline(migration, cause as DatabaseError, statement)}\n${advice}\n${logs}`);
  } finally {
    await client.query('RESET lock_timeout; RESET statement_timeout;').catch(() => undefined);
  }
}

const DIRECTIVE = /^\s*--\s*webrana:(lock-timeout|statement-timeout)\b\s*(\S*)/gm;

/**
 * A migration's own timeouts: `-- webrana:lock-timeout 2s` / `-- webrana:statement-timeout 10m`
 * (the flags' syntax and ranges) override --lock-timeout / --statement-timeout for that migration.
 */
export function migrationTimeouts(sql: string): {
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
  errors: string[];
} {
  const found: { lockTimeoutMs?: number; statementTimeoutMs?: number; errors: string[] } = { errors: [] };
  for (const match of sql.matchAll(DIRECTIVE)) {
    const [, kind, value] = match as unknown as [string, 'lock-timeout' | 'statement-timeout', string];
    try {
      const ms = parseDurationFlag(kind, value);
      if (kind === 'lock-timeout') found.lockTimeoutMs = ms;
      else found.statementTimeoutMs = ms;
    } catch (error) {
      found.errors.push(
        `-- webrana:${kind} ${value}: ${(error as Error).message.replace(/^--[a-z-]+=\S* /, '')}`.trim(),
      );
    }
  }
  return found;
}

function withOwnTimeouts(settings: MigrateSettings, migration: LocalMigration): MigrateSettings {
  const { lockTimeoutMs, statementTimeoutMs } = migrationTimeouts(migration.sql);
  return {
    ...settings,
    ...(lockTimeoutMs !== undefined ? { lockTimeoutMs } : {}),
    ...(statementTimeoutMs !== undefined ? { statementTimeoutMs } : {}),
  };
}

async function applyOne(outer: Run, migration: LocalMigration): Promise<void> {
  const run = { ...outer, settings: withOwnTimeouts(outer.settings, migration) };
  const { lockTimeoutMs, statementTimeoutMs } = run.settings;
  if (lockTimeoutMs !== outer.settings.lockTimeoutMs || statementTimeoutMs !== outer.settings.statementTimeoutMs)
    run.log.info({ migration: migration.name, lockTimeoutMs, statementTimeoutMs }, 'migration sets its own timeouts');
  const reason = await nonTransactionalReason(migration.sql);
  const started = Date.now();
  if (reason === null) await applyInTransaction(run, migration);
  else {
    run.log.info(
      { migration: migration.name, reason },
      'migration cannot run in a transaction; applying statement by statement',
    );
    await applyStatementByStatement(run, migration);
  }
  run.log.info(
    { migration: migration.name, transactional: reason === null, durationMs: Date.now() - started },
    'migration applied',
  );
}

/** Syntax errors of pending migrations, found by PostgreSQL's parser before anything runs. */
async function syntaxBlockers(pending: readonly LocalMigration[]): Promise<string[]> {
  const found: string[] = [];
  for (const m of pending) {
    const error = await syntaxErrorOf(m.sql);
    if (error)
      found.push(
        `migration ${m.name} (${m.file}): ${error.message}${error.line ? ` at line ${error.line}` : ''}; ` +
          `nothing was run or recorded: fix the file (it was never applied, so it may be edited) and deploy again`,
      );
    for (const e of migrationTimeouts(m.sql).errors) found.push(`migration ${m.name} (${m.file}): ${e}`);
    const phaseError = migrationPhase(m.sql).error;
    if (phaseError) found.push(`migration ${m.name} (${m.file}): ${phaseError}`);
  }
  return found;
}

/** Production deploys: unallowed error findings of squawk in pending migrations. */
async function lintBlockers(
  pending: readonly LocalMigration[],
  target: MigrateTarget,
  settings: MigrateSettings,
): Promise<string[]> {
  if (!settings.refuseLintErrors || pending.length === 0) return [];
  return blocking(await lintMigrations(pending, target.migrationsDir)).map(
    (f) =>
      `lint: ${formatFinding(f)} (or, if it is safe here, add \`-- webrana:allow ${f.rule}: <reason>\` before the statement)`,
  );
}

async function invalidIndexesIfFailed(client: Client, schema: string, assessment: Assessment) {
  return assessment.entries.some((e) => e.state === 'failed') ? invalidIndexes(client, schema) : [];
}

async function deployOn(client: Client, schema: string, target: MigrateTarget, settings: MigrateSettings, log: Logger) {
  await ensureLedger(client, schema);
  const { assessment } = await assessOn(client, target);
  const selected = selectForPhase(assessment.pending, settings.phase ?? 'all');
  const blockers = [
    ...deployBlockers(assessment, {
      allowMissingLocally: settings.allowMissingLocally,
      invalidIndexes: await invalidIndexesIfFailed(client, schema, assessment),
    }),
    ...(await syntaxBlockers(assessment.pending)),
    ...phaseBlockers(selected),
  ];
  // Every pending migration, also those that wait for the rollout: a contract step the gate refuses
  // must stop the release before it rolls out, not after.
  if (blockers.length === 0) blockers.push(...(await lintBlockers(assessment.pending, target, settings)));
  if (blockers.length > 0)
    throw new MigrationError(`${target.service}: refusing to migrate\n- ${blockers.join('\n- ')}`);
  const applied: string[] = [];
  const waitingForRollout = selected.waiting.map((m) => m.name);
  if (waitingForRollout.length > 0)
    log.info(
      { waitingForRollout },
      `${waitingForRollout.length} post-deploy migration(s) wait for the rollout (then: migrate deploy --phase=post-deploy)`,
    );
  if (selected.apply.length === 0) return { applied, waitingForRollout };
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const intervalMs = Math.min(Math.max(Math.floor(settings.lockTimeoutMs / 4), 20), 200);
  const watch = await watchBlockers(target.databaseUrl, target.urlVariable, rows[0]!.pid, intervalMs, log);
  try {
    for (const migration of selected.apply) {
      await applyOne({ client, schema, settings, log, watch }, migration);
      applied.push(migration.name);
    }
  } finally {
    await watch.stop();
  }
  return { applied, waitingForRollout };
}

/** Applies the pending migrations of one service (`migrate deploy`). */
export async function deploy(target: MigrateTarget, settings: MigrateSettings, log: Logger): Promise<DeployResult> {
  const started = Date.now();
  const { applied, waitingForRollout } = await withSession(target, settings, log, { lock: true }, (client, schema) =>
    deployOn(client, schema, target, settings, log),
  );
  const result = { service: target.service, applied, waitingForRollout, durationMs: Date.now() - started };
  log.info(
    result,
    applied.length
      ? `applied ${applied.length} migration(s)`
      : waitingForRollout.length
        ? 'nothing to apply before the rollout'
        : 'database already up to date',
  );
  return result;
}

/**
 * Local migrations against the ledger, and what would stop deploy (with the INVALID indexes a
 * part-applied migration left); writes nothing (`migrate status`).
 */
export async function status(
  target: MigrateTarget,
  settings: MigrateSettings,
  log: Logger,
): Promise<Assessment & { blockers: string[] }> {
  return withSession(target, settings, log, { lock: false }, async (client, schema) => {
    const { assessment } = await assessOn(client, target);
    const blockers = deployBlockers(assessment, {
      allowMissingLocally: settings.allowMissingLocally,
      invalidIndexes: await invalidIndexesIfFailed(client, schema, assessment),
    });
    const postDeploy = new Set(
      assessment.pending.filter((m) => migrationPhase(m.sql).phase === 'post-deploy').map((m) => m.name),
    );
    const entries = assessment.entries.map((e) =>
      e.state === 'pending' && postDeploy.has(e.name) ? { ...e, phase: 'post-deploy' as const } : e,
    );
    return { ...assessment, entries, blockers };
  });
}

/** What `deploy` would do, and what would stop it; writes nothing (`migrate plan`, `deploy --dry-run`). */
export async function plan(
  target: MigrateTarget,
  settings: MigrateSettings,
  log: Logger,
): Promise<{ pending: PlannedMigration[]; waitingForRollout: string[]; blockers: string[] }> {
  const assessment = await status(target, settings, log);
  const syntax = await syntaxBlockers(assessment.pending);
  const selected = selectForPhase(assessment.pending, settings.phase ?? 'all');
  const pending = await Promise.all(
    selected.apply.map(async (m) => ({
      name: m.name,
      nonTransactional: (await syntaxErrorOf(m.sql)) ? null : await nonTransactionalReason(m.sql),
    })),
  );
  return {
    pending,
    waitingForRollout: selected.waiting.map((m) => m.name),
    blockers: [...assessment.blockers, ...syntax, ...phaseBlockers(selected)],
  };
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
  const { applied, waitingForRollout } = await withSession(
    target,
    settings,
    log,
    { lock: true },
    async (client, schema) => {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.query(`CREATE SCHEMA "${schema}"`);
      log.info({ schema }, 'schema dropped and recreated');
      return deployOn(client, schema, target, { ...settings, phase: 'all' }, log);
    },
  );
  return { service: target.service, applied, waitingForRollout, durationMs: Date.now() - started };
}

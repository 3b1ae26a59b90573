import { MigrationError } from './session';

/** sysexits' EX_TEMPFAIL: a transient failure, nothing recorded; running deploy again is the fix. */
export const EXIT_TEMPFAIL = 75;

/** A failure that left nothing behind in the ledger: deploy later and it goes on where it stopped. */
export class TransientMigrationError extends MigrationError {
  readonly exitCode = EXIT_TEMPFAIL;
}

/**
 * What a failed statement means for the ledger:
 * - lock: the statement gave up waiting for a lock (lock_timeout, NOWAIT) or lost a deadlock; PostgreSQL
 *   rolled it back, so retrying later is safe and recording a failure would block deploys for nothing;
 * - connection: the session died; the server rolls back whatever was running, nothing can be recorded;
 * - permission, syntax, sql: a genuine error in the migration or the role; recorded as Prisma does.
 */
export type FailureKind = 'lock' | 'connection' | 'permission' | 'syntax' | 'sql';

const CONNECTION_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03']);

export function classifyError(error: unknown): FailureKind {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === '55P03' || code === '40P01') return 'lock';
  if (code === '42501') return 'permission';
  if (code === '42601') return 'syntax';
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('08'))) return 'connection';
  const message = (error as Error | null)?.message ?? '';
  if (typeof code !== 'string' && /Connection terminated|not queryable|connection.*(closed|ended)/i.test(message))
    return 'connection';
  return 'sql';
}

/** Wait before retry `retry` (1-based): base, 2x base, 4x base ..., never above `capMs`. */
export function backoffMs(retry: number, baseMs: number, capMs = 60_000): number {
  return Math.min(baseMs * 2 ** Math.max(retry - 1, 0), capMs);
}

/** A session holding a lock our migration waits for (pg_blocking_pids joined with pg_stat_activity). */
export interface Blocker {
  pid: number;
  applicationName: string | null;
  user: string | null;
  state: string | null;
  xactStart: Date | null;
  queryStart: Date | null;
  query: string | null;
  /** The relation our statement waited on, and the lock modes involved. */
  relation: string | null;
  wanted: string | null;
  held: string | null;
}

/** A query shortened to one line: enough to recognise it, never a whole data-laden statement. */
export function shortQuery(query: string, max = 100): string {
  const oneLine = query.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 3)}...` : oneLine;
}

function secondsSince(then: Date, now: Date): string {
  return `${Math.max(0, (now.getTime() - then.getTime()) / 1000).toFixed(1)}s`;
}

/** One line naming a blocking session so an operator can find it (and end it if it should not run). */
export function describeBlocker(b: Blocker, now: Date): string {
  const facts = [
    `application_name "${b.applicationName ?? ''}"`,
    b.user && `user ${b.user}`,
    b.state && `state "${b.state}"`,
    b.xactStart && `transaction open for ${secondsSince(b.xactStart, now)}`,
    b.queryStart && `query started ${b.queryStart.toISOString()}`,
  ].filter(Boolean);
  const lock = b.relation
    ? ` holds ${b.held ?? 'a lock'} on ${b.relation}${b.wanted ? ` (the migration wanted ${b.wanted})` : ''}`
    : '';
  const query = b.query ? `; its query: \`${shortQuery(b.query)}\`` : '';
  return `session pid ${b.pid} (${facts.join(', ')})${lock}${query}`;
}

/** The message of a migration that never got its lock, even after the retries. */
export function lockFailureMessage(opts: {
  migration: string;
  file: string;
  lockTimeoutMs: number;
  attempts: number;
  /** PostgreSQL's message of the last attempt. */
  reason: string;
  blockers: readonly Blocker[];
  now: Date;
  /** Where a non-transactional migration stopped (statement number, 1-based); none for a transactional one. */
  statement?: { index: number; total: number };
}): string {
  const where = opts.statement
    ? `statement ${opts.statement.index} of ${opts.statement.total} did not get its lock`
    : 'it did not get its lock';
  const head =
    `migration ${opts.migration} (${opts.file}): ${where} within the lock timeout (${opts.lockTimeoutMs}ms) ` +
    `in ${opts.attempts} attempt(s) (${opts.reason}); PostgreSQL rolled the attempt back, so nothing of it was applied and ` +
    `no failure was recorded: the next deploy tries again.`;
  const who = opts.blockers.length
    ? `Blocked by:\n${opts.blockers.map((b) => `- ${describeBlocker(b, opts.now)}`).join('\n')}\n` +
      `Fix: let ${opts.blockers.length > 1 ? 'them' : 'it'} finish (or end it: SELECT pg_terminate_backend(${opts.blockers[0]!.pid})), ` +
      `then deploy again; or raise --lock-timeout / --lock-retries.`
    : 'The blocking session was not seen (it may have ended just then); deploy again, or raise --lock-timeout / --lock-retries.';
  return `${head}\n${who}`;
}

/** A session that holds locks in the target database (pg_locks joined to pg_stat_activity). */
export interface LockHolder {
  pid: number;
  application_name: string;
  usename: string | null;
  state: string | null;
  xact_start: Date | null;
  relations: string;
}

/** "pid 123 (application_name "psql", user app, idle in transaction since ..., on orders, order_items)". */
export function describeHolders(holders: readonly LockHolder[]): string {
  return holders
    .map((h) => {
      const since = h.xact_start ? ` since ${h.xact_start.toISOString()}` : '';
      const user = h.usename ? `, user ${h.usename}` : '';
      return `pid ${h.pid} (application_name "${h.application_name}"${user}, ${h.state ?? 'unknown state'}${since}, on ${h.relations})`;
    })
    .join('; ');
}

/** The server's connection budget as pg_settings and pg_stat_activity report it. */
export interface ConnectionBudget {
  maxConnections: number;
  /** superuser_reserved_connections (+ reserved_connections from PostgreSQL 16). */
  reserved: number;
  /** Client backends connected now, the asking session included. */
  inUse: number;
}

/**
 * Why `pg_restore --jobs=N` would not fit, or null. It opens N worker connections beside its leader,
 * and the lock watcher holds one more; the asking session (counted in use) closes before.
 */
export function jobsProblem(jobs: number, budget: ConnectionBudget): string | null {
  if (jobs <= 1) return null;
  const free = budget.maxConnections - budget.reserved - budget.inUse + 1;
  if (jobs + 2 <= free) return null;
  return (
    `--jobs=${jobs} needs ${jobs + 2} connections (${jobs} workers, their leader and the lock watcher), ` +
    `but the server has room for ${free} (max_connections ${budget.maxConnections} - ${budget.reserved} reserved ` +
    `- ${budget.inUse - 1} in use by others): use --jobs=${Math.max(1, free - 2)} or less`
  );
}

export const LOCK_TIMEOUT_DEFAULT_MS = 30_000;
export const LOCK_TIMEOUT_RANGE_MS = { min: 100, max: 3_600_000 } as const;

/** Why a --lock-timeout is out of range, or null (0 would mean "wait forever", which is what we avoid). */
export function lockTimeoutProblem(ms: number): string | null {
  const { min, max } = LOCK_TIMEOUT_RANGE_MS;
  if (ms >= min && ms <= max) return null;
  return `--lock-timeout must be between 100ms and 60m (got ${ms} ms); 0 would wait forever while holding other locks`;
}

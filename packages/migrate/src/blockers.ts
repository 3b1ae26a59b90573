import type { Logger } from '@webrana/logger';
import type { Client } from 'pg';
import type { Blocker } from './failure';
import { connectWithRetry } from './session';

// Who blocks the migration session: only a sample taken while it waits can tell, since when the lock
// timeout fires the waiter is gone from pg_locks (and the blocker may be gone a moment later).
const BLOCKERS_OF = `
  WITH waiting AS (SELECT locktype, database, relation, mode FROM pg_locks WHERE pid = $1 AND NOT granted LIMIT 1)
  SELECT a.pid, a.application_name AS "applicationName", a.usename AS "user", a.state,
         a.xact_start AS "xactStart", a.query_start AS "queryStart", left(a.query, 1000) AS query,
         (SELECT w.relation::regclass::text FROM waiting w) AS relation,
         (SELECT w.mode FROM waiting w) AS wanted,
         (SELECT string_agg(DISTINCT l.mode, ', ') FROM pg_locks l, waiting w
           WHERE l.pid = a.pid AND l.granted AND l.locktype = w.locktype
             AND l.database IS NOT DISTINCT FROM w.database AND l.relation IS NOT DISTINCT FROM w.relation) AS held
  FROM pg_stat_activity a
  WHERE a.pid = ANY (pg_blocking_pids($1))
  ORDER BY a.pid`;

export interface BlockerWatch {
  /** Forget what was seen (call before each attempt). */
  reset(): void;
  /** The sessions seen blocking since the last reset (the latest sample that found any). */
  seen(): Blocker[];
  stop(): Promise<void>;
}

const NOTHING: BlockerWatch = { reset: () => undefined, seen: () => [], stop: async () => undefined };

/**
 * Samples, from a second session, which sessions block backend `pid`, every `intervalMs`. Best effort:
 * if the second session cannot be had, migrations still run, only the messages name no blocker.
 */
export async function watchBlockers(
  databaseUrl: string,
  variable: string,
  pid: number,
  intervalMs: number,
  log: Logger,
): Promise<BlockerWatch> {
  let client: Client;
  try {
    client = await connectWithRetry(databaseUrl, 0, log, variable);
  } catch (error) {
    log.warn({ reason: (error as Error).message }, 'cannot open a session to watch for blocking locks');
    return NOTHING;
  }
  let latest: Blocker[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const { rows } = await client.query<Blocker>(BLOCKERS_OF, [pid]);
        if (rows.length > 0) latest = rows;
      } catch {
        return; // the watch is a courtesy; a broken session ends it quietly
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    reset: () => {
      latest = [];
    },
    seen: () => latest,
    stop: async () => {
      running = false;
      await loop;
      await client.end().catch(() => undefined);
    },
  };
}

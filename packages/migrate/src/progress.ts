import { shortQuery } from './failure';

/**
 * How far a migration run statement by statement (outside a transaction) got. It is kept in the
 * ledger row's `logs` column, written before each statement: if the runner dies, the row stays
 * unfinished (Prisma and we read it as failed, P3009) and says exactly which statements committed.
 * `applied_steps_count` stays Prisma's (0 until finished, then 1), so a real Prisma reads the row as usual.
 */
export interface Progress {
  total: number;
  /** Statements known to have committed (1..done). */
  done: number;
  /** The statement that was started after them, if any. */
  running?: { index: number; line: number; text: string };
}

const COMPLETED = /^(\d+) of (\d+) statements completed\b/m;
const RUNNING = /^Statement (\d+) \(line (\d+)\) started \S+: (.*)$/m;

/** The `logs` text recording progress before `running` starts (or after the last statement). */
export function progressLogs(p: Progress, startedAt: Date): string {
  const lines = [`${p.done} of ${p.total} statements completed (run outside a transaction, statement by statement).`];
  if (p.running)
    lines.push(
      `Statement ${p.running.index} (line ${p.running.line}) started ${startedAt.toISOString()}: ${shortQuery(p.running.text, 200)}`,
      'If this row is still unfinished and no runner is alive, the runner stopped during that statement.',
    );
  return lines.join('\n');
}

/** The progress recorded in a ledger row's logs, or null when it records none (a transactional migration). */
export function parseProgress(logs: string | null | undefined): Progress | null {
  const completed = logs ? COMPLETED.exec(logs) : null;
  if (!completed) return null;
  const running = RUNNING.exec(logs!);
  return {
    done: Number(completed[1]),
    total: Number(completed[2]),
    ...(running && { running: { index: Number(running[1]), line: Number(running[2]), text: running[3]! } }),
  };
}

function range(from: number, to: number): string {
  return from === to ? `statement ${from}` : `statements ${from}-${to}`;
}

/** An index a failed CREATE INDEX CONCURRENTLY leaves behind (pg_index.indisvalid = false). */
export interface InvalidIndex {
  index: string;
  table: string;
}

/**
 * What an operator needs after a non-transactional migration stopped part-way: which statements
 * committed, what the interrupted one may have left, and the ways out.
 */
export function describeInterrupted(
  name: string,
  p: Progress,
  opts: { failed: boolean; invalidIndexes: readonly InvalidIndex[] },
): string {
  const file = `${name}/migration.sql`;
  const before =
    p.done > 0
      ? `${range(1, p.done)} of ${p.total} of ${file} completed`
      : `no statement of ${file} (${p.total}) completed`;
  const stopped = opts.failed ? 'before a statement failed' : 'before the runner stopped';
  const parts = [`${before} ${stopped}`];
  const r = p.running;
  if (r) {
    const concurrently = /\bCONCURRENTLY\b/i.test(r.text);
    const effect = opts.failed
      ? 'failed'
      : 'either completed or was rolled back as a whole (check whether its change is in place)';
    parts.push(
      `statement ${r.index} (line ${r.line}: \`${shortQuery(r.text)}\`) ${
        concurrently ? 'may have left an INVALID index' : effect
      }`,
    );
  }
  const invalid = opts.invalidIndexes.length
    ? ` INVALID indexes in the database now: ${opts.invalidIndexes.map((i) => `${i.index} (on ${i.table})`).join(', ')}; ` +
      `drop them first (${opts.invalidIndexes.map((i) => `DROP INDEX CONCURRENTLY "${i.index}";`).join(' ')}).`
    : ' No INVALID index is left (pg_index.indisvalid).';
  const next = r ? r.index : p.done + 1;
  const wayOut =
    ` Then either finish by hand (${range(next, p.total)}) and run: migrate resolve --applied ${name}; ` +
    `or, if its statements are idempotent (IF NOT EXISTS) or you undid ${p.done > 0 ? range(1, p.done) : 'nothing'}, ` +
    `run: migrate resolve --rolled-back ${name}, and deploy again.`;
  return `${parts.join('; ')}.${invalid}${wayOut}`;
}

import type { LocalMigration } from './local';
import { describeInterrupted, parseProgress, type InvalidIndex } from './progress';

/** A row of Prisma's `_prisma_migrations` ledger. */
export interface LedgerRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

export type MigrationState = 'applied' | 'pending' | 'failed' | 'modified' | 'missing-locally';

export interface MigrationEntry {
  name: string;
  state: MigrationState;
  appliedAt?: Date;
  /** The database error of a failed migration. */
  logs?: string;
  /** Set on pending post-deploy migrations (`-- webrana:phase post-deploy`): they wait for the rollout. */
  phase?: 'post-deploy';
}

export interface Assessment {
  entries: MigrationEntry[];
  pending: LocalMigration[];
  upToDate: boolean;
}

/**
 * Compares the local migrations with the ledger, with Prisma's reading of it: rows rolled back are
 * ignored; a row finished is applied; a row neither finished nor rolled back is a failed migration.
 * Beyond Prisma, an applied migration whose file changed since is `modified`.
 */
export function assess(local: readonly LocalMigration[], ledger: readonly LedgerRow[]): Assessment {
  const live = ledger.filter((row) => row.rolled_back_at === null);
  const localByName = new Map(local.map((m) => [m.name, m]));
  const entries: MigrationEntry[] = [];
  const seen = new Set<string>();

  for (const row of live) {
    if (seen.has(row.migration_name)) continue;
    const rows = live.filter((r) => r.migration_name === row.migration_name);
    const failed = rows.find((r) => r.finished_at === null);
    const applied = rows.find((r) => r.finished_at !== null);
    const file = localByName.get(row.migration_name);
    seen.add(row.migration_name);
    if (failed) {
      entries.push({ name: row.migration_name, state: 'failed', logs: failed.logs ?? undefined });
    } else if (!file) {
      entries.push({
        name: row.migration_name,
        state: 'missing-locally',
        appliedAt: applied?.finished_at ?? undefined,
      });
    } else if (applied && applied.checksum !== file.checksum) {
      entries.push({ name: row.migration_name, state: 'modified', appliedAt: applied.finished_at ?? undefined });
    } else {
      entries.push({ name: row.migration_name, state: 'applied', appliedAt: applied?.finished_at ?? undefined });
    }
  }
  const pending = local.filter((m) => !seen.has(m.name));
  pending.forEach((m) => entries.push({ name: m.name, state: 'pending' }));
  // Plain code-point order, the order migrations are applied in.
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { entries, pending, upToDate: entries.every((e) => e.state === 'applied') };
}

/** The database error in a failed migration's logs (ours and Prisma's put it after a "Database error" line). */
export function databaseErrorOf(logs: string): string {
  const lines = logs.split('\n');
  const heading = lines.findIndex((l) => l.startsWith('Database error') && l.endsWith(':'));
  return (heading >= 0 ? lines[heading + 1] : lines[0]) ?? '';
}

function failureAdvice(e: MigrationEntry, invalidIndexes: readonly InvalidIndex[]): string {
  const progress = parseProgress(e.logs);
  const failed = e.logs !== undefined && /^Database error/m.test(e.logs);
  const dbError = failed ? `\n  database error: ${databaseErrorOf(e.logs!)}` : '';
  // A statement-by-statement migration records how far it got: say exactly what may be applied.
  if (progress) return `${describeInterrupted(e.name, progress, { failed, invalidIndexes })}${dbError}`;
  const rolledBack = e.logs === undefined || e.logs.includes(ROLLED_BACK_NOTE);
  const advice = rolledBack
    ? `Nothing of it stayed applied: fix the cause, then run: migrate resolve --rolled-back ${e.name}`
    : `It ran outside a transaction and may be partly applied: repair the schema by hand, then run ` +
      `migrate resolve --rolled-back ${e.name} (to run it again) or --applied ${e.name} (if it is now in place)`;
  return e.logs ? `${advice}\n  database error: ${databaseErrorOf(e.logs)}` : advice;
}

/** Written into the ledger's logs of a migration whose transaction was rolled back. */
export const ROLLED_BACK_NOTE = 'The migration ran in one transaction and was rolled back completely.';

/** Why `deploy` must not run, one message per problem (empty when it may). */
export function deployBlockers(
  assessment: Assessment,
  opts: { allowMissingLocally?: boolean; invalidIndexes?: readonly InvalidIndex[] } = {},
): string[] {
  return assessment.entries.flatMap((e): string[] => {
    switch (e.state) {
      case 'failed':
        return [
          `migration ${e.name} failed earlier and blocks new migrations (Prisma P3009). ${failureAdvice(e, opts.invalidIndexes ?? [])}`,
        ];
      case 'modified':
        return [
          `migration ${e.name} was edited after it was applied (checksum differs). Applied migrations must never change: ` +
            `restore the original file and put the change in a new migration`,
        ];
      case 'missing-locally':
        return opts.allowMissingLocally
          ? []
          : [
              `migration ${e.name} is applied in the database but missing from the migrations folder ` +
                `(an older checkout, or a deleted migration). Deploy the release that has it, or pass --allow-missing`,
            ];
      default:
        return [];
    }
  });
}

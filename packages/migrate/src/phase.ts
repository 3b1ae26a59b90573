import type { LocalMigration } from './local';

/**
 * Expand/contract. A migration is pre-deploy (the default: it runs before the new release's pods
 * start) or post-deploy (`-- webrana:phase post-deploy` among the comment lines at the top of its file:
 * it runs once the new release is rolled out, e.g. dropping a column the old pods still read). The
 * ledger knows nothing of phases: Prisma sees ordinary migrations.
 */
export type Phase = 'pre-deploy' | 'post-deploy';

/** What `migrate deploy --phase=...` applies. */
export type PhaseSelector = Phase | 'all';
export const PHASE_SELECTORS: readonly PhaseSelector[] = ['pre-deploy', 'post-deploy', 'all'];

const DIRECTIVE = /^\s*--\s*webrana:phase\b[ \t]*(\S*)/;

/**
 * A migration's phase. The directive counts only in the comment lines before the first statement;
 * one anywhere else, or an unknown value, is an error (a typo must not silently run a contract step
 * before the rollout).
 */
export function migrationPhase(sql: string): { phase: Phase; error?: string } {
  let phase: Phase = 'pre-deploy';
  let error: string | undefined;
  let header = true;
  for (const [i, line] of sql.split('\n').entries()) {
    const trimmed = line.trim();
    if (header && trimmed !== '' && !trimmed.startsWith('--')) header = false;
    const match = DIRECTIVE.exec(line);
    if (!match) continue;
    if (!header) {
      error ??= `-- webrana:phase at line ${i + 1} comes after the first statement: put it in the comment lines at the top of the file`;
    } else if (match[1] === 'pre-deploy' || match[1] === 'post-deploy') {
      phase = match[1];
    } else {
      error ??= `-- webrana:phase ${match[1] || '(nothing)'} at line ${i + 1}: use pre-deploy or post-deploy`;
    }
  }
  return error ? { phase, error } : { phase };
}

export interface PhasePlan {
  /** Applied now, in order. */
  apply: LocalMigration[];
  /** Post-deploy migrations left for `--phase=post-deploy` (after the rollout). */
  waiting: LocalMigration[];
  /**
   * Pre-deploy migrations named after a pending post-deploy one: they cannot run before the rollout
   * without breaking the order, so a pre-deploy run refuses (see `phaseBlockers`).
   */
  outOfOrder: LocalMigration[];
}

/**
 * The pending migrations (in name order) a phase applies. Migrations are never applied out of order
 * (Prisma's ledger, `migrate check` and every later migration assume the name order), so:
 *   - pre-deploy: the pending migrations before the first pending post-deploy one; that one and all
 *     after it wait. A pre-deploy migration among those after it is `outOfOrder`;
 *   - post-deploy (the rollout is done) and all (local use, one-step deploys): every pending migration.
 */
export function selectForPhase(pending: readonly LocalMigration[], selector: PhaseSelector): PhasePlan {
  const first =
    selector === 'pre-deploy' ? pending.findIndex((m) => migrationPhase(m.sql).phase === 'post-deploy') : -1;
  if (first < 0) return { apply: [...pending], waiting: [], outOfOrder: [] };
  const rest = pending.slice(first);
  const isPost = (m: LocalMigration) => migrationPhase(m.sql).phase === 'post-deploy';
  return { apply: pending.slice(0, first), waiting: rest.filter(isPost), outOfOrder: rest.filter((m) => !isPost(m)) };
}

/** Why a pre-deploy run must not start: a pre-deploy migration stuck behind a pending post-deploy one. */
export function phaseBlockers(plan: PhasePlan): string[] {
  const post = plan.waiting[0];
  if (!post) return [];
  return plan.outOfOrder.map(
    (m) =>
      `pre-deploy migration ${m.name} must run before the rollout, but it comes after post-deploy migration ${post.name}, ` +
      `which runs only after the rollout, and migrations are applied in name order only. If the release that brought ` +
      `${post.name} is fully rolled out, run migrate deploy --phase=post-deploy first; if both are new, give ${m.name} ` +
      `a name before ${post.name} (it was never applied, so it may be renamed) or ship ${post.name} in a later release`,
  );
}

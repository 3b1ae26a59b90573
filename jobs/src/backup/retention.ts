/** How many of the newest daily, weekly and monthly backups to keep (restic's --keep-*). */
export interface KeepPolicy {
  daily: number;
  weekly: number;
  monthly: number;
}

export const DEFAULT_KEEP: KeepPolicy = { daily: 7, weekly: 4, monthly: 12 };

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export const dayOf = (t: Date): string => `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
export const monthOf = (t: Date): string => `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}`;

/** ISO 8601 week (weeks start on Monday; week 1 holds the year's first Thursday), e.g. 2026-W09. */
export function isoWeekOf(t: Date): string {
  const day = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  const weekday = day.getUTCDay() || 7; // Monday 1 .. Sunday 7
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // the Thursday of this week decides its year
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${pad(week)}`;
}

export interface Dated<T> {
  item: T;
  time: Date;
}

/** Why a policy cannot be applied (restic refuses an empty one rather than reading it as "keep one"), or null. */
export function policyProblem(keep: KeepPolicy): string | null {
  if (keep.daily > 0 || keep.weekly > 0 || keep.monthly > 0) return null;
  return (
    'the retention policy keeps nothing (--keep-daily, --keep-weekly and --keep-monthly are all 0); ' +
    'give at least one of them a count above 0 (defaults: 7 / 4 / 12)'
  );
}

/**
 * Which backups to keep, exactly as restic's `forget --keep-daily/--keep-weekly/--keep-monthly`
 * (ApplyPolicy, restic 0.16+): walking newest first, each rule with count left keeps a backup whose
 * period (UTC day, ISO week, month) differs from the last one it kept, or that is the oldest backup
 * of all; either way it uses one count. A backup kept by any rule is kept. So the newest backup is
 * always kept, and so is the oldest while any rule has count left. An empty policy throws: callers
 * must refuse it first (see policyProblem).
 */
export function planRetention<T>(backups: readonly Dated<T>[], keep: KeepPolicy): { keep: T[]; delete: T[] } {
  const problem = policyProblem(keep);
  if (problem) throw new Error(problem);
  const rules = [
    { period: dayOf, left: keep.daily, last: '' },
    { period: isoWeekOf, left: keep.weekly, last: '' },
    { period: monthOf, left: keep.monthly, last: '' },
  ];
  // Array.prototype.sort is stable, like restic's sort.Stable.
  const newestFirst = [...backups].sort((a, b) => b.time.getTime() - a.time.getTime());
  const kept = new Set<Dated<T>>();
  newestFirst.forEach((backup, nr) => {
    const oldest = nr === newestFirst.length - 1;
    for (const rule of rules) {
      if (rule.left <= 0) continue;
      const period = rule.period(backup.time);
      if (period !== rule.last || oldest) {
        kept.add(backup);
        rule.last = period;
        rule.left -= 1;
      }
    }
  });
  // Output in input order, so callers can echo their own lines.
  return {
    keep: backups.filter((b) => kept.has(b)).map((b) => b.item),
    delete: backups.filter((b) => !kept.has(b)).map((b) => b.item),
  };
}

/** How far ahead of our clock a dump's time may be before it counts as from the future (clock skew). */
export const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Splits dumps into those dated up to now (plus the skew allowance) and those from the future. A
 * future-dated dump (a wrong clock, a hand-copied file) would otherwise be "the newest" forever:
 * retention would keep it and delete real dumps, and restore --latest would pick it.
 */
export function splitFuture<T extends { time: Date }>(
  dumps: readonly T[],
  now: Date,
  skewMs = CLOCK_SKEW_MS,
): { current: T[]; future: T[] } {
  const limit = now.getTime() + skewMs;
  return {
    current: dumps.filter((d) => d.time.getTime() <= limit),
    future: dumps.filter((d) => d.time.getTime() > limit),
  };
}

/**
 * What retention deletes among completed dumps (volume or bucket alike): the policy's drops among those
 * not dated in the future, never the dump the run just wrote. Future ones are returned for a warning. Pure.
 */
export function retentionDeletions<T extends { name: string; time: Date }>(
  dumps: readonly T[],
  keep: KeepPolicy,
  justWritten: string,
  now: Date,
): { current: T[]; future: T[]; deleted: string[] } {
  const { current, future } = splitFuture(dumps, now);
  const plan = planRetention(
    current.map((d) => ({ item: d.name, time: d.time })),
    keep,
  );
  return { current, future, deleted: plan.delete.filter((name) => name !== justWritten) };
}

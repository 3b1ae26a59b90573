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

/**
 * Which backups to keep: walking newest first, each rule keeps the newest backup of each of its
 * periods (UTC day, ISO week, month) until its count is used; periods without backups use no count;
 * a backup kept by any rule is kept. The newest backup is always kept.
 */
export function planRetention<T>(backups: readonly Dated<T>[], keep: KeepPolicy): { keep: T[]; delete: T[] } {
  const rules = [
    { period: dayOf, left: keep.daily, last: '' },
    { period: isoWeekOf, left: keep.weekly, last: '' },
    { period: monthOf, left: keep.monthly, last: '' },
  ];
  const newestFirst = [...backups].sort((a, b) => b.time.getTime() - a.time.getTime());
  const kept = new Set<Dated<T>>(newestFirst.slice(0, 1));
  for (const backup of newestFirst) {
    for (const rule of rules) {
      const period = rule.period(backup.time);
      if (rule.left > 0 && period !== rule.last) {
        kept.add(backup);
        rule.last = period;
        rule.left -= 1;
      }
    }
  }
  // Output in input order, so callers can echo their own lines.
  return {
    keep: backups.filter((b) => kept.has(b)).map((b) => b.item),
    delete: backups.filter((b) => !kept.has(b)).map((b) => b.item),
  };
}

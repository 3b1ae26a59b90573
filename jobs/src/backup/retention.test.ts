import fc from 'fast-check';
import { dayOf, isoWeekOf, monthOf, planRetention, policyProblem, splitFuture, type KeepPolicy } from './retention';

const at = (iso: string) => new Date(iso);
const dated = (isos: string[]) => isos.map((iso) => ({ item: iso, time: at(iso) }));

/**
 * Reference model, written the other way round from restic's walk: per rule, group backups by period,
 * take the newest backup of each of the newest N periods; the oldest backup of all is kept too when
 * the other backups span fewer than N periods of that rule (restic still has count left when it
 * reaches it, even if it shares a period with a kept one). Union over the rules.
 */
function referenceKeep(times: Date[], keep: KeepPolicy): Set<number> {
  const kept = new Set<number>();
  if (times.length === 0) return kept;
  const oldest = times.reduce((best, t, i) => (t.getTime() < times[best]!.getTime() ? i : best), 0);
  const rules: [(t: Date) => string, number][] = [
    [dayOf, keep.daily],
    [isoWeekOf, keep.weekly],
    [monthOf, keep.monthly],
  ];
  for (const [period, n] of rules) {
    if (n === 0) continue;
    const newestOfPeriod = new Map<string, number>();
    times.forEach((t, i) => {
      const key = period(t);
      const best = newestOfPeriod.get(key);
      if (best === undefined || t.getTime() > times[best]!.getTime()) newestOfPeriod.set(key, i);
    });
    [...newestOfPeriod.values()]
      .sort((a, b) => times[b]!.getTime() - times[a]!.getTime())
      .slice(0, n)
      .forEach((i) => kept.add(i));
    const otherPeriods = new Set(times.filter((_, i) => i !== oldest).map(period));
    if (otherPeriods.size < n) kept.add(oldest);
  }
  return kept;
}

describe('ISO weeks', () => {
  test.each([
    ['2026-03-01T02:00:00Z', '2026-W09'], // Sunday belongs to the week that began on Monday Feb 23
    ['2026-02-23T00:00:00Z', '2026-W09'],
    ['2026-02-22T23:59:59Z', '2026-W08'],
    ['2021-01-03T12:00:00Z', '2020-W53'], // early January can belong to the previous ISO year
    ['2024-12-30T00:00:00Z', '2025-W01'], // late December can belong to the next one
  ])('%s is in %s', (iso, week) => {
    expect(isoWeekOf(at(iso))).toBe(week);
  });
});

describe('retention (restic-style keep-daily/weekly/monthly)', () => {
  test('400 consecutive daily dumps with 7/4/12 keep exactly 20: 7 days, 3 more week-ends, 10 more month-ends', () => {
    const end = at('2026-03-01T02:00:00Z');
    const isos = Array.from({ length: 400 }, (_, i) => new Date(end.getTime() - i * 86_400_000).toISOString());
    const { keep, delete: deleted } = planRetention(dated(isos), { daily: 7, weekly: 4, monthly: 12 });
    const days = keep.map((iso) => iso.slice(0, 10)).sort();
    expect(days).toEqual(
      [
        // daily: the last seven days
        '2026-02-23',
        '2026-02-24',
        '2026-02-25',
        '2026-02-26',
        '2026-02-27',
        '2026-02-28',
        '2026-03-01',
        // weekly: newest of ISO weeks W08, W07, W06 (W09's is Mar 1)
        '2026-02-22',
        '2026-02-15',
        '2026-02-08',
        // monthly: newest of each month back to April 2025 (March's is Mar 1, February's is Feb 28)
        '2026-01-31',
        '2025-12-31',
        '2025-11-30',
        '2025-10-31',
        '2025-09-30',
        '2025-08-31',
        '2025-07-31',
        '2025-06-30',
        '2025-05-31',
        '2025-04-30',
      ].sort(),
    );
    expect(deleted).toHaveLength(380);
  });

  test('several dumps on one day: only the newest counts for that day', () => {
    const { keep, delete: deleted } = planRetention(
      dated(['2026-03-01T01:00:00Z', '2026-03-01T13:00:00Z', '2026-03-01T07:00:00Z', '2026-02-28T13:00:00Z']),
      { daily: 2, weekly: 0, monthly: 0 },
    );
    expect(keep).toEqual(['2026-03-01T13:00:00Z', '2026-02-28T13:00:00Z']);
    expect(deleted).toEqual(['2026-03-01T01:00:00Z', '2026-03-01T07:00:00Z']);
  });

  test('weeks without dumps use no count: gaps of weeks still keep the newest of the last N weeks that have one', () => {
    const { keep } = planRetention(
      dated(['2026-01-05T02:00:00Z', '2026-01-06T02:00:00Z', '2026-02-20T02:00:00Z', '2025-11-03T02:00:00Z']),
      { daily: 0, weekly: 3, monthly: 0 },
    );
    expect(keep).toEqual(['2026-01-06T02:00:00Z', '2026-02-20T02:00:00Z', '2025-11-03T02:00:00Z']);
  });

  test('an all-zero policy is refused, never read as "keep the newest"', () => {
    const none = { daily: 0, weekly: 0, monthly: 0 };
    expect(policyProblem(none)).toMatch(/keeps nothing .*give at least one of them a count above 0/);
    expect(() => planRetention(dated(['2026-01-01T00:00:00Z']), none)).toThrow(/keeps nothing/);
    expect(policyProblem({ daily: 0, weekly: 1, monthly: 0 })).toBeNull();
  });

  test('the oldest dump is kept while a rule still has count left (restic: "oldest monthly snapshot")', () => {
    const { keep, delete: deleted } = planRetention(
      dated(['2026-03-01T02:00:00Z', '2026-02-28T02:00:00Z', '2026-02-20T02:00:00Z', '2026-02-10T02:00:00Z']),
      { daily: 0, weekly: 0, monthly: 3 },
    );
    // March and February use two counts; Feb 20 is not a new month; Feb 10 is the oldest, one count left.
    expect(keep).toEqual(['2026-03-01T02:00:00Z', '2026-02-28T02:00:00Z', '2026-02-10T02:00:00Z']);
    expect(deleted).toEqual(['2026-02-20T02:00:00Z']);
  });

  test('the oldest dump is kept even when it shares a day with the newer dump kept for that day', () => {
    const { keep, delete: deleted } = planRetention(
      dated(['2026-03-01T13:00:00Z', '2026-03-01T07:00:00Z', '2026-03-01T01:00:00Z']),
      { daily: 2, weekly: 0, monthly: 0 },
    );
    // 13:00 is the day's newest (count 2 -> 1); 07:00 is neither a new day nor the oldest; 01:00 is
    // the oldest with count left (1 -> 0).
    expect(keep).toEqual(['2026-03-01T13:00:00Z', '2026-03-01T01:00:00Z']);
    expect(deleted).toEqual(['2026-03-01T07:00:00Z']);
  });

  test('the oldest dump goes once every rule has used its count on newer periods', () => {
    const { delete: deleted } = planRetention(
      dated(['2026-03-03T02:00:00Z', '2026-03-02T02:00:00Z', '2026-03-01T02:00:00Z']),
      { daily: 2, weekly: 0, monthly: 0 },
    );
    expect(deleted).toEqual(['2026-03-01T02:00:00Z']);
  });

  test('no dumps: nothing to keep or delete', () => {
    expect(planRetention([], { daily: 7, weekly: 4, monthly: 12 })).toEqual({ keep: [], delete: [] });
  });

  test('agrees with the reference model on random histories and policies', () => {
    // Years apart (counts run out) and weeks apart (counts left over, oldest sharing a period).
    const history = (min: string, max: string) =>
      fc.uniqueArray(fc.date({ min: at(min), max: at(max), noInvalidDate: true }), {
        maxLength: 60,
        selector: (d) => d.getTime(),
      });
    fc.assert(
      fc.property(
        fc.oneof(
          history('2023-01-01T00:00:00Z', '2027-01-01T00:00:00Z'),
          history('2026-01-01T00:00:00Z', '2026-02-15T00:00:00Z'),
        ),
        fc
          .record({ daily: fc.nat(10), weekly: fc.nat(6), monthly: fc.nat(14) })
          .filter((keep) => policyProblem(keep) === null),
        (times, keep) => {
          const plan = planRetention(
            times.map((t, i) => ({ item: i, time: t })),
            keep,
          );
          expect(new Set(plan.keep)).toEqual(referenceKeep(times, keep));
          expect([...plan.keep, ...plan.delete].sort((a, b) => a - b)).toEqual(times.map((_, i) => i));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('dumps dated in the future', () => {
  const now = at('2026-03-01T02:00:00Z');
  test('beyond five minutes of clock skew are set apart; up to five minutes still count', () => {
    const dumps = ['2026-03-01T01:00:00Z', '2026-03-01T02:05:00Z', '2026-03-01T02:05:01Z', '2099-12-31T00:00:00Z'].map(
      (iso) => ({ name: iso, time: at(iso) }),
    );
    const { current, future } = splitFuture(dumps, now);
    expect(current.map((d) => d.name)).toEqual(['2026-03-01T01:00:00Z', '2026-03-01T02:05:00Z']);
    expect(future.map((d) => d.name)).toEqual(['2026-03-01T02:05:01Z', '2099-12-31T00:00:00Z']);
  });
});

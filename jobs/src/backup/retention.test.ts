import fc from 'fast-check';
import { dayOf, isoWeekOf, monthOf, planRetention, type KeepPolicy } from './retention';

const at = (iso: string) => new Date(iso);
const dated = (isos: string[]) => isos.map((iso) => ({ item: iso, time: at(iso) }));

/**
 * Reference model, written the other way round: group backups by period, take the newest periods
 * that have backups, keep the newest backup of each; union over the rules, plus the newest backup.
 */
function referenceKeep(times: Date[], keep: KeepPolicy): Set<number> {
  const kept = new Set<number>();
  const rules: [(t: Date) => string, number][] = [
    [dayOf, keep.daily],
    [isoWeekOf, keep.weekly],
    [monthOf, keep.monthly],
  ];
  for (const [period, n] of rules) {
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
  }
  if (times.length > 0) kept.add(times.reduce((best, t, i) => (t.getTime() > times[best]!.getTime() ? i : best), 0));
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

  test('the newest dump is kept even when every count is 0', () => {
    expect(
      planRetention(dated(['2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z']), { daily: 0, weekly: 0, monthly: 0 }),
    ).toEqual({
      keep: ['2026-01-02T00:00:00Z'],
      delete: ['2026-01-01T00:00:00Z'],
    });
  });

  test('no dumps: nothing to keep or delete', () => {
    expect(planRetention([], { daily: 7, weekly: 4, monthly: 12 })).toEqual({ keep: [], delete: [] });
  });

  test('agrees with the reference model on random histories and policies', () => {
    const time = fc.date({ min: at('2023-01-01T00:00:00Z'), max: at('2027-01-01T00:00:00Z'), noInvalidDate: true });
    fc.assert(
      fc.property(
        fc.uniqueArray(time, { maxLength: 60, selector: (d) => d.getTime() }),
        fc.record({ daily: fc.nat(10), weekly: fc.nat(6), monthly: fc.nat(14) }),
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

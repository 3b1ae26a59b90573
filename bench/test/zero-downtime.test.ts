import * as fs from 'node:fs';
import { render } from '../report';
import { benchZeroDowntime, percentile, SMOKE } from '../zero-downtime';
import { useBenchResultsDir } from './results-dir';

// The zero-downtime benchmark at its --smoke scale, end to end (real PostgreSQL, real psql, the built
// runner CLI): proof it runs and records what the report reads. Its figures are no result; only what
// holds at any scale is checked: the lock queue stalls psql's writes for the whole hold, the runner's
// for about its lock timeout.
const resultFile = useBenchResultsDir();

test('percentile is nearest-rank: p99 of 1..100 is 99, of one sample that sample, of none 0', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  expect(percentile(xs, 99)).toBe(99);
  expect(percentile(xs, 50)).toBe(50);
  expect(percentile([7], 99)).toBe(7);
  expect(percentile([], 99)).toBe(0);
});

test('the zero-downtime benchmark at smoke scale applies each case with psql and with the runner under a write load, and records zero-downtime.json for the report', async () => {
  const result = await benchZeroDowntime(SMOKE);
  expect(result.cases.map((c) => c.id).sort()).toEqual(['index', 'lock-queue', 'volatile-default']);
  expect(result.load.totalWrites).toBeGreaterThan(50);
  expect(result.load.failedWrites).toBe(0);
  for (const c of result.cases) {
    expect(c.rounds).toHaveLength(1);
    for (const m of [c.rounds[0]!.psql, c.rounds[0]!.runner]) {
      expect(m.writes).toBeGreaterThan(0);
      expect(m.baselineP99Ms).toBeGreaterThan(0);
      expect(Number.isFinite(m.stallRatio)).toBe(true);
    }
  }
  const queue = result.cases.find((c) => c.id === 'lock-queue')!.rounds[0]!;
  // psql's ALTER queues behind the 1.5 s reader and every write queues behind it: longer than the runner
  // ever lets a write wait (how much longer depends on how soon psql starts on a loaded machine).
  expect(queue.psql.maxStallMs).toBeGreaterThan(SMOKE.lockTimeoutMs + 100);
  // The runner gives up after its 500 ms lock timeout each time, so writes wait less than behind psql.
  // (How long they waited at all depends on whether the runner started before the reader let go: on a
  // loaded machine, with other test files beside this one, it started after, and writes waited 88 ms.)
  expect(queue.runner.maxStallMs).toBeLessThan(queue.psql.maxStallMs);
  expect(JSON.parse(fs.readFileSync(resultFile('zero-downtime'), 'utf8'))).toEqual(result);
  expect(render()).toContain('## Zero-downtime schema changes under a steady write load');
}, 180_000);

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, parseOptions, resultsDir, roundRatios } from '../common';

test('--smoke without BENCH_RESULTS_DIR writes its results to a temporary folder, never over bench/results', () => {
  const before = process.env.BENCH_RESULTS_DIR;
  delete process.env.BENCH_RESULTS_DIR;
  try {
    expect(parseOptions([], 'usage', { rounds: 5 }, { rounds: 1 })).toEqual({ rounds: 5, smoke: false });
    expect(resultsDir()).toBe(path.join(REPO_ROOT, 'bench', 'results'));
    expect(parseOptions(['--smoke'], 'usage', { rounds: 5 }, { rounds: 1 })).toEqual({ rounds: 1, smoke: true });
    expect(path.dirname(path.dirname(resultsDir()))).toBe(os.tmpdir());
    fs.rmSync(path.dirname(resultsDir()), { recursive: true, force: true });
  } finally {
    if (before === undefined) delete process.env.BENCH_RESULTS_DIR;
    else process.env.BENCH_RESULTS_DIR = before;
  }
});

test('roundRatios divides each round by its own baseline and takes the median of those ratios, not a ratio of medians', () => {
  // Medians: 3 / 2 = 1.5; per-round ratios 0.5, 2, 2.5 have the median 2.
  const r = roundRatios([
    [1, 2],
    [4, 2],
    [5, 2],
  ]);
  expect(r.perRound).toEqual([0.5, 2, 2.5]);
  expect(r.median).toBe(2);
  expect(r.disagree).toBe(true);
});

test('roundRatios says rounds disagree only when the largest ratio is more than twice the smallest', () => {
  expect(
    roundRatios([
      [1, 1],
      [2, 1],
    ]).disagree,
  ).toBe(false);
  expect(
    roundRatios([
      [1, 1],
      [2.01, 1],
    ]).disagree,
  ).toBe(true);
  expect(roundRatios([[0.7, 1]])).toEqual({ perRound: [0.7], median: 0.7, disagree: false });
});

test('roundRatios of an even count takes the upper middle ratio, like median(), and of no rounds gives NaN', () => {
  expect(
    roundRatios([
      [1, 1],
      [3, 1],
      [2, 1],
      [1.5, 1],
    ]).median,
  ).toBe(2);
  expect(roundRatios([])).toEqual({ perRound: [], median: NaN, disagree: false });
});

import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, roundRatios } from '../common';
import { render } from '../report';
import { useBenchResultsDir } from './results-dir';

// The report from hand-made results: rounds that disagree by more than 2x are said to in words instead
// of one number, and result files from before per-round ratios are named old, not misread.
const resultFile = useBenchResultsDir();
const put = (name: string, result: unknown) => fs.writeFileSync(resultFile(name), JSON.stringify(result));
const committed = (name: string): Record<string, unknown> =>
  JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'bench', 'results', `${name}.json`), 'utf8'));

beforeEach(() => {
  for (const f of fs.readdirSync(path.dirname(resultFile('x')))) fs.rmSync(path.join(path.dirname(resultFile('x')), f));
});

const wrk = (rps: number, p50Ms: number, p99Ms: number) => ({ rps, p50Ms, p99Ms });

test('health: each ratio is the median of per-round ratios with the rounds listed; a figure whose rounds disagree by more than 2x gets no single number', () => {
  const floor = [wrk(1000, 2, 10), wrk(1000, 2, 10), wrk(1000, 2, 10)];
  const db = [wrk(2000, 1, 5), wrk(2100, 1, 25), wrk(1900, 1, 8)];
  const per = (k: 'rps' | 'p50Ms' | 'p99Ms') => roundRatios(db.map((r, i) => [r[k], floor[i]![k]]));
  put('health-db', {
    at: '2026-11-30T00:00:00Z',
    loadAverageAtStart: [0.5, 0.4, 0.3],
    connections: 20,
    seconds: 10,
    healthCacheMs: 'default',
    runs: { floor, 'health/db': db },
    summary: { floor: wrk(1000, 2, 10), 'health/db': wrk(2000, 1, 8) },
    ratios: { rps: per('rps'), p50: per('p50Ms'), p99: per('p99Ms') },
    rpsRatio: per('rps').median,
    p99Ratio: per('p99Ms').median,
  });
  const report = render();
  expect(report).toContain('load average 0.5 0.4 0.3 at its start');
  expect(report).toContain(
    '| ratio (median of per-round ratios) | **2.00x** | **0.50x** | rounds disagree by more than 2x |',
  );
  expect(report).toContain('requests/s 2.00x, 2.10x, 1.90x');
  expect(report).toContain('p99 0.50x, 2.50x, 0.80x');
  expect(report).toContain('The rounds disagree by more than 2x on p99: no single ratio is given there');
});

test('operator end to end: the ratios against migrate.sh and the hooks are medians of per-round ratios, and disagreeing rounds are said to', () => {
  // The committed result gives the shape; the ratios are set here, so the test never depends on how
  // the rounds of the last real run happened to fall.
  const r = committed('operator-e2e');
  const ratios = {
    vsHooks: roundRatios([
      [0.6, 1],
      [0.55, 1],
      [0.65, 1],
    ]),
    vsMigrateSh: roundRatios([
      [1.37, 1],
      [0.71, 1],
      [1.71, 1],
    ]),
  };
  put('operator-e2e', { ...r, ratios });
  const report = render();
  expect(report).toContain("## Operator end to end: four services vs the umbrella chart's hooks");
  expect(report).toContain('**no single figure: the rounds disagree by more than 2x** (per round 1.37x, 0.71x, 1.71x)');
  expect(report).toContain(`**${ratios.vsHooks.median.toFixed(3)}x** (median of the per-round ratios `);
  const load = (r as unknown as { machine: { loadAverageAtStart: number[] } }).machine.loadAverageAtStart;
  expect(report).toContain(`load average ${load.join(' ')} at its start`);
});

test('result files from before per-round ratios are named old (run npm run bench again), never misread or crashed on', () => {
  const oldHealth = committed('health-db');
  delete oldHealth.ratios;
  delete oldHealth.loadAverageAtStart;
  const oldE2e = committed('operator-e2e');
  delete oldE2e.ratios;
  put('health-db', oldHealth);
  put('operator-e2e', oldE2e);
  put('migrations', {
    machine: { cores: 2, memoryGB: 24, node: 'v20' },
    rounds: 5,
    migrateAllFourSeconds: { runner: 0.5, psqlOneTransactionPerFile: 0.44, ratio: 1.14 },
    seedSeconds: { firstRun: 1.5, secondRunNoWrites: 0.8 },
  });
  const oldOperator = committed('operator');
  delete oldOperator.loadAverageAtStart;
  put('operator', oldOperator);
  const report = render();
  for (const title of [
    '## Migrations and seed',
    '## /health/db vs a bare Node http + pg `SELECT 1` server',
    "## Operator end to end: four services vs the umbrella chart's hooks and `scripts/migrate.sh`",
  ]) {
    expect(report).toContain(`${title}\n\nOld result format: run \`npm run bench\` again.`);
  }
  expect(report).toContain('load average at its start not recorded, an old result format');
  expect(report).not.toContain('1.14x');
});

test("operator results without a cluster, measured on the stand-in kubelet, are said to be not comparable; the real node's are named", () => {
  const standIn = 'Ran on the stand-in kubelet (pods as host processes)';
  for (const name of ['operator', 'operator-e2e']) put(name, { ...committed(name), cluster: undefined });
  expect(render().split(standIn)).toHaveLength(3);
  for (const name of ['operator', 'operator-e2e']) put(name, { ...committed(name), cluster: 'the real node X' });
  const report = render();
  expect(report).not.toContain(standIn);
  expect(report.split('Ran on the real node X.')).toHaveLength(3);
});

test('images: each build is a row with its before and after seconds (or "not measured"), with the sizes, the load and the skaffold loop', () => {
  put('images', {
    measuredAt: '2026-11-30',
    commits: { before: 'aaa', after: 'bbb' },
    loadAverage: '6-10',
    how: 'Each build as scripts/images runs it.',
    sizesMB: { 'catalog-service': { before: 217, after: 216 }, jobs: { before: 319, after: 318 } },
    builds: [
      { image: 'catalog-service', build: 'after a source edit', beforeSeconds: 337.1, afterSeconds: 61.4 },
      { image: 'jobs', build: 'cold', beforeSeconds: null, afterSeconds: 150 },
    ],
    skaffoldLoop: { beforeSeconds: '210-236', afterSeconds: null, note: 'Real node busy.' },
  });
  const text = render();
  expect(text).toContain('## Image builds (scripts/images, buildah)');
  expect(text).toContain('load average 6-10');
  expect(text).toContain('| catalog-service | after a source edit | 337 | 61 |');
  expect(text).toContain('| jobs | cold | not measured | 150 |');
  expect(text).toContain('catalog-service 217 / 216; jobs 319 / 318');
  expect(text).toContain('before 210-236 s, after not measured. Real node busy.');
});

// Benchmark: a restore drill (`webrana-jobs backup verify`: unpack, sha256, restore into a scratch
// database, migration head and row counts against the manifest, drop) against the backup job that wrote
// the dump (`webrana-jobs backup`), on one generated database of about 500 MB. Each round times one
// backup and then the drill of that backup's dump; the figure is the median of the per-round ratios
// drill / backup (issue 19). Writes bench/results/drill.json.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generate } from '@webrana/datagen';
import { migratedTestDatabase, withClient } from '@webrana/testing';
import {
  REPO_ROOT,
  loadAverage,
  log,
  machine,
  median,
  parseOptions,
  requireBuilt,
  roundRatios,
  runMain,
  runProcess,
  writeResult,
  type RoundRatios,
} from './common';

const USAGE = `usage: node bench/dist/bench/drill.js [--orders=360000] [--rounds=3] [--smoke]

  --orders=N  orders generated into the order database (default 360000: about 550-600 MB)
  --rounds=N  rounds of one backup and one drill of its dump (default 3)
  --smoke     200 orders, one round, results in BENCH_RESULTS_DIR (a check, not a figure)

PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (a superuser URL), else an embedded one.
Needs pg_dump/pg_restore 15, tar and zstd (what the jobs need).`;

export interface DrillRound {
  backupSeconds: number;
  drillSeconds: number;
  /** drill / backup of this round. */
  ratio: number;
}

export interface DrillBenchResult {
  machine: ReturnType<typeof machine>;
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
  orders: number;
  databaseMB: number;
  dumpMB: number;
  /** Rows the drill compared (every table's, from the manifest). */
  rowsChecked: number;
  rounds: DrillRound[];
  /** Medians over the rounds. */
  backupSeconds: number;
  drillSeconds: number;
  ratio: RoundRatios;
}

async function timedAsync(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

export async function benchDrill(orders: number, rounds: number): Promise<DrillBenchResult> {
  requireBuilt('jobs/dist/cli.js');
  const say = log('bench/drill');
  const loadAverageAtStart = loadAverage();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-drill-'));
  const db = await migratedTestDatabase('order-service');
  try {
    const t0 = Date.now();
    await generate('order', db.url, orders);
    const dbBytes = await withClient(db.url, async (c) => {
      await c.query('CHECKPOINT');
      return Number((await c.query<{ b: string }>('SELECT pg_database_size(current_database()) AS b')).rows[0]!.b);
    });
    say(`generated ${orders} orders in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${(dbBytes / 1e6).toFixed(0)} MB`);
    const cli = path.join(REPO_ROOT, 'jobs', 'dist', 'cli.js');
    const env = { PATH: process.env.PATH, LOG_LEVEL: 'warn' };
    const dir = path.join(work, 'volume');
    const serviceDir = path.join(dir, 'order-service');
    const common = ['--service=order-service', `--database-url=${db.url}`];
    const measured: DrillRound[] = [];
    let dumpBytes = 0;
    let rowsChecked = 0;
    for (let round = 0; round < rounds; round++) {
      fs.rmSync(dir, { recursive: true, force: true });
      const backupSeconds = await timedAsync(() =>
        runProcess(process.execPath, [cli, 'backup', ...common, `--dir=${dir}`], env),
      );
      const dump = fs.readdirSync(serviceDir).find((f) => f.endsWith('.tar.zst'))!;
      dumpBytes = fs.statSync(path.join(serviceDir, dump)).size;
      const report = path.join(work, 'drill.json');
      const drillSeconds = await timedAsync(() =>
        runProcess(
          process.execPath,
          [cli, 'backup', 'verify', ...common, `--file=${path.join(serviceDir, dump)}`, `--termination-log=${report}`],
          env,
        ),
      );
      const outcome = JSON.parse(fs.readFileSync(report, 'utf8')) as { passed: boolean; rows: number };
      if (!outcome.passed) throw new Error(`the drill of ${dump} did not pass: ${JSON.stringify(outcome)}`);
      rowsChecked = outcome.rows;
      measured.push({ backupSeconds, drillSeconds, ratio: drillSeconds / backupSeconds });
      say(
        `round ${round + 1}: backup ${backupSeconds.toFixed(2)} s, drill ${drillSeconds.toFixed(2)} s: ` +
          `${(drillSeconds / backupSeconds).toFixed(2)}x`,
      );
    }
    const result: DrillBenchResult = {
      machine: machine(),
      loadAverageAtStart,
      loadAverageAtEnd: loadAverage(),
      orders,
      databaseMB: Math.round(dbBytes / 1e6),
      dumpMB: Math.round(dumpBytes / 1e6),
      rowsChecked,
      rounds: measured,
      backupSeconds: median(measured.map((r) => r.backupSeconds)),
      drillSeconds: median(measured.map((r) => r.drillSeconds)),
      ratio: roundRatios(measured.map((r) => [r.drillSeconds, r.backupSeconds] as const)),
    };
    writeResult('drill', result);
    return result;
  } finally {
    await db.drop().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runMain(
    'bench/drill',
    () => parseOptions(process.argv.slice(2), USAGE, { orders: 360_000, rounds: 3 }, { orders: 200, rounds: 1 }),
    async (opts) => {
      const r = await benchDrill(opts.orders, opts.rounds);
      console.log(JSON.stringify(r, null, 2));
      console.log(
        `restore drill / backup job: ${r.ratio.median.toFixed(2)}x (per round ${r.ratio.perRound.map((x) => x.toFixed(2)).join(', ')})`,
      );
    },
  );
}

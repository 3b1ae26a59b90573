// Benchmark: our migration runner (`webrana-jobs migrate deploy`, all four services on empty
// databases) against `psql -1 -f` of the same migration files, in the same run; and the seed's
// second run (a no-op) against its first. Each round runs both; the ratio is the median of the
// per-round ratios (rounds listed), and the load average at the start is recorded.
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { libpqEnv } from '@webrana/db';
import { readLocalMigrations } from '@webrana/migrate';
import { migrationOrder, migrationsDir, type ServiceName } from '@webrana/registry';
import { createTestDatabase, type TestDatabase } from '@webrana/testing';
import {
  REPO_ROOT,
  loadAverage,
  machine,
  median,
  parseOptions,
  requireBuilt,
  roundRatios,
  runMain,
  timed,
  writeResult,
  type RoundRatios,
} from './common';

const USAGE = `usage: node bench/dist/bench/migrations.js [--rounds=5] [--smoke]

  --rounds=N  rounds (default 5); each migrates four fresh databases with the runner and with psql
  --smoke     one round, results in BENCH_RESULTS_DIR (a check that the benchmark works, not a figure)

PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (a superuser URL), else an embedded one.`;

const CLI = path.join(REPO_ROOT, 'jobs', 'dist', 'cli.js');

function cli(args: string[], env: Record<string, string>): void {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
  });
  if (r.status !== 0) throw new Error(`webrana-jobs ${args.join(' ')}: ${r.stderr}`);
}

function psqlMigrate(service: ServiceName, url: string): void {
  // The runner's own reader: the same folders in the same order (other files there are not migrations).
  for (const { file } of readLocalMigrations(migrationsDir(service))) {
    execFileSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-1', '-f', file], {
      env: { ...process.env, ...libpqEnv(url) },
    });
  }
}

export interface MigrationsResult {
  machine: ReturnType<typeof machine>;
  /** 1, 5 and 15 minute load averages when the benchmark started. */
  loadAverageAtStart: number[];
  rounds: number;
  migrateAllFourSeconds: {
    /** Medians of the rounds' seconds. */
    runner: number;
    psqlOneTransactionPerFile: number;
    /** runner / psql: the median of the per-round ratios (ratios.median). */
    ratio: number;
    /** Each round's seconds, in round order. */
    perRound: { runner: number; psqlOneTransactionPerFile: number }[];
    ratios: RoundRatios;
  };
  seedSeconds: { firstRun: number; secondRunNoWrites: number };
}

/** The benchmark on the server TEST_DATABASE_URL names; writes migrations.json. */
export async function benchMigrations(rounds: number): Promise<MigrationsResult> {
  requireBuilt('jobs/dist/cli.js');
  const loadAverageAtStart = loadAverage();
  const services = migrationOrder();
  const created: TestDatabase[] = [];
  const fresh = async (label: string): Promise<string[]> => {
    const dbs = await Promise.all(services.map((s) => createTestDatabase(`bench_${label}_${s.database}`)));
    created.push(...dbs);
    return dbs.map((d) => d.url);
  };
  const runner: number[] = [];
  const psql: number[] = [];
  const seedFirst: number[] = [];
  const seedSecond: number[] = [];
  try {
    for (let round = 0; round < rounds; round += 1) {
      const ours = await fresh('ours');
      const env = Object.fromEntries(services.map((s, i) => [s.urlVariable, ours[i]!]));
      runner.push(timed(() => cli(['migrate', 'deploy'], env)));
      const plain = await fresh('psql');
      psql.push(timed(() => services.forEach((s, i) => psqlMigrate(s.name, plain[i]!))));
      seedFirst.push(timed(() => cli(['seed'], { ...env, BCRYPT_COST: '12' })));
      seedSecond.push(timed(() => cli(['seed'], { ...env, BCRYPT_COST: '12' })));
    }
  } finally {
    for (const db of created) await db.drop().catch(() => undefined);
  }
  const ratios = roundRatios(runner.map((r, i) => [r, psql[i]!]));
  const result: MigrationsResult = {
    machine: machine(),
    loadAverageAtStart,
    rounds,
    migrateAllFourSeconds: {
      runner: median(runner),
      psqlOneTransactionPerFile: median(psql),
      ratio: ratios.median,
      perRound: runner.map((r, i) => ({ runner: r, psqlOneTransactionPerFile: psql[i]! })),
      ratios,
    },
    seedSeconds: { firstRun: median(seedFirst), secondRunNoWrites: median(seedSecond) },
  };
  writeResult('migrations', result);
  return result;
}

if (require.main === module) {
  runMain(
    'bench/migrations',
    () => parseOptions(process.argv.slice(2), USAGE, { rounds: 5 }, { rounds: 1 }),
    async (opts) => {
      const result = await benchMigrations(opts.rounds);
      const m = result.migrateAllFourSeconds;
      console.log(JSON.stringify(result, null, 2));
      console.log(
        `migrate deploy (4 services) ${m.runner.toFixed(2)} s vs psql -1 -f ${m.psqlOneTransactionPerFile.toFixed(2)} s: ` +
          `${m.ratios.disagree ? 'rounds disagree by more than 2x, ' : ''}per round ${m.ratios.perRound.map((x) => x.toFixed(2)).join(', ')}, ` +
          `median ${m.ratio.toFixed(2)}x; seed second run ${result.seedSeconds.secondRunNoWrites.toFixed(2)} s`,
      );
    },
  );
}

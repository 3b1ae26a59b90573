// Benchmark: one backup job run (pg_dump + verify + manifest + retention) against plain `pg_dump -Fc`
// on the same generated database (>= 500 MB), in the same run; then pg_restore with 1 and 2 jobs.
// Target (issue 7): the job at most 0.6x the time of plain pg_dump -Fc, at most 1.1x its size.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generate } from '@webrana/datagen';
import { libpqEnv } from '@webrana/db';
import { createTestDatabase, migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import { REPO_ROOT, log, machine, median, parseOptions, requireBuilt, runMain, timed, writeResult } from './common';

const USAGE = `usage: node bench/dist/bench/backup.js [--orders=360000] [--rounds=2] [--smoke]

  --orders=N  orders generated into the order database (default 360000: about 500 MB)
  --rounds=N  dump rounds (default 2)
  --smoke     200 orders, one round, results in BENCH_RESULTS_DIR (a check, not a figure)

PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (a superuser URL), else an embedded one.`;

export interface BackupResult {
  machine: ReturnType<typeof machine>;
  pgDump: string;
  databaseMB: number;
  plainPgDumpFc: { seconds: number; bytes: number };
  backupJob: { seconds: number; bytes: number };
  timeRatio: number;
  sizeRatio: number;
  pgRestoreSeconds: { jobs1: number; jobs2: number };
  rounds: number;
}

/** The benchmark on the server TEST_DATABASE_URL names; writes backup.json. */
export async function benchBackup(orders: number, rounds: number): Promise<BackupResult> {
  requireBuilt('jobs/dist/cli.js');
  const say = log('bench/backup');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-backup-'));
  const dbs: TestDatabase[] = [];
  try {
    const source = await migratedTestDatabase('order-service');
    dbs.push(source);
    const url = source.url;
    const t0 = Date.now();
    await generate('order', url, orders);
    const dbBytes = await withClient(url, async (c) => {
      await c.query('CHECKPOINT');
      return Number((await c.query<{ b: string }>('SELECT pg_database_size(current_database()) AS b')).rows[0]!.b);
    });
    say(
      `generated ${orders} orders in ${((Date.now() - t0) / 1000).toFixed(1)} s: database ${(dbBytes / 1e6).toFixed(0)} MB`,
    );

    const env = { ...process.env, ...libpqEnv(url) };
    const plainFile = path.join(work, 'plain.dump');
    const jobDir = path.join(work, 'job');
    const cli = path.join(REPO_ROOT, 'jobs', 'dist', 'cli.js');
    const plain: number[] = [];
    const job: number[] = [];
    let jobFile = '';
    execFileSync('pg_dump', ['-Fc', '-f', plainFile], { env }); // warm the cache once
    for (let round = 0; round < rounds; round += 1) {
      fs.rmSync(plainFile, { force: true });
      plain.push(timed(() => execFileSync('pg_dump', ['-Fc', '-f', plainFile], { env })));
      fs.rmSync(jobDir, { recursive: true, force: true });
      job.push(
        timed(() => {
          const r = spawnSync(
            process.execPath,
            [cli, 'backup', '--service=order-service', `--dir=${jobDir}`, `--database-url=${url}`],
            { encoding: 'utf8' },
          );
          if (r.status !== 0) throw new Error(r.stderr);
        }),
      );
      const dumps = fs.readdirSync(path.join(jobDir, 'order-service')).filter((f) => f.endsWith('.dump'));
      jobFile = path.join(jobDir, 'order-service', dumps[0]!);
    }
    const plainBytes = fs.statSync(plainFile).size;
    const jobBytes = fs.statSync(jobFile).size;

    const restore: number[] = [];
    for (const jobs of [1, 2]) {
      const target = await createTestDatabase('bench_restore');
      dbs.push(target);
      restore.push(
        timed(() =>
          execFileSync('pg_restore', ['--no-owner', `--jobs=${jobs}`, '-d', target.name, jobFile], {
            env: { ...process.env, ...libpqEnv(target.url) },
          }),
        ),
      );
    }
    const result: BackupResult = {
      machine: machine(),
      pgDump: execFileSync('pg_dump', ['--version'], { encoding: 'utf8' }).trim(),
      databaseMB: Math.round(dbBytes / 1e6),
      plainPgDumpFc: { seconds: median(plain), bytes: plainBytes },
      backupJob: { seconds: median(job), bytes: jobBytes },
      timeRatio: median(job) / median(plain),
      sizeRatio: jobBytes / plainBytes,
      pgRestoreSeconds: { jobs1: restore[0]!, jobs2: restore[1]! },
      rounds,
    };
    writeResult('backup', result);
    return result;
  } finally {
    for (const db of dbs) await db.drop().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runMain(
    'bench/backup',
    () => parseOptions(process.argv.slice(2), USAGE, { orders: 360_000, rounds: 2 }, { orders: 200, rounds: 1 }),
    async (opts) => {
      const r = await benchBackup(opts.orders, opts.rounds);
      console.log(JSON.stringify(r, null, 2));
      console.log(
        `backup job / plain pg_dump -Fc: time ${r.timeRatio.toFixed(2)}x (target <= 0.6), size ${r.sizeRatio.toFixed(3)}x (target <= 1.1)`,
      );
    },
  );
}

// Benchmark: one backup job run (parallel directory dump packed into one zstd tar, checked while
// written, manifest, retention) and other ways of dumping, each against plain `pg_dump -Fc` (gzip
// level 6) on the same generated database (>= 500 MB) in the same run; then the restore job
// (`webrana-jobs restore --jobs=2`: sha256, unpack, checks, pg_restore) against single-job
// `pg_restore` of the plain dump. Every ratio is the median of per-round ratios, each round's own
// baseline being measured in that round. Targets (issue 22): the job at most 0.45x the time of plain
// pg_dump -Fc at most 1.1x its size; restore at most 0.6x of single-job pg_restore.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generate } from '@webrana/datagen';
import { libpqEnv } from '@webrana/db';
import { createTestDatabase, migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import {
  REPO_ROOT,
  log,
  machine,
  median,
  parseOptions,
  requireBuilt,
  runMain,
  runProcess,
  writeResult,
} from './common';

const USAGE = `usage: node bench/dist/bench/backup.js [--orders=360000] [--rounds=3] [--smoke]

  --orders=N  orders generated into the order database (default 360000: about 600 MB)
  --rounds=N  dump and restore rounds (default 3)
  --smoke     200 orders, one round, results in BENCH_RESULTS_DIR (a check, not a figure)

PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (a superuser URL), else an embedded one.
Needs pg_dump/pg_restore 15, tar and zstd (what the backup job needs).`;

/** One measured way of dumping: seconds and bytes per round, and the ratios to that round's baseline. */
export interface OptionResult {
  name: string;
  rounds: { seconds: number; bytes: number; timeRatio: number; sizeRatio: number }[];
  timeRatio: number;
  sizeRatio: number;
}

/** One restore round: seconds of each way, and the job's ratio to single-job pg_restore of the plain dump. */
export interface RestoreRound {
  pgRestoreJobs1: number;
  jobJobs2: number;
  jobJobs1: number;
  /** pg_restore --jobs=2 of the job's dump already unpacked: what any restore job here can at best do. */
  directoryJobs2: number;
  ratio: number;
}

export interface BackupResult {
  machine: ReturnType<typeof machine>;
  loadAverageAtStart: number[];
  pgDump: string;
  databaseMB: number;
  /** Medians over the rounds (each round's baseline: mean of the plain dumps before and after it). */
  plainPgDumpFc: { seconds: number; bytes: number; rounds: number[] };
  backupJob: { seconds: number; bytes: number; format: string };
  timeRatio: number;
  sizeRatio: number;
  options: OptionResult[];
  restore: {
    rounds: RestoreRound[];
    /** webrana-jobs restore --jobs=2 of the job's dump / pg_restore --jobs=1 of plain pg_dump -Fc, median of per-round ratios. */
    ratio: number;
    /** The same with the job's --jobs=1 (one transaction), for comparison. */
    jobs1Ratio: number;
    /** pg_restore --jobs=2 of the unpacked directory alone / the baseline: the floor for the job. */
    directoryRatio: number;
  };
  targets: {
    backupTime: number;
    backupSize: number;
    restore: number;
    met: Record<'backupTime' | 'backupSize' | 'restore', boolean>;
  };
  rounds: number;
}

async function timedAsync(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

/** pg_dump -Fc -Z0 | compressor, hashed (sha256) while it is written: no second read. */
function dumpThrough(compressor: string[], file: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const dump = spawn('pg_dump', ['-Fc', '-Z0'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const comp = spawn(compressor[0]!, compressor.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
    dump.stdout.pipe(comp.stdin);
    const hash = createHash('sha256');
    const out = fs.createWriteStream(file);
    comp.stdout.on('data', (chunk: Buffer) => hash.update(chunk));
    comp.stdout.pipe(out);
    let pending = 3;
    const done = () => (--pending === 0 ? resolve() : undefined);
    dump.on('close', (code) => (code === 0 ? done() : reject(new Error(`pg_dump exit ${code}`))));
    comp.on('close', (code) => (code === 0 ? done() : reject(new Error(`${compressor[0]} exit ${code}`))));
    out.on('finish', done);
  });
}

const sizeOf = (p: string): number =>
  fs.statSync(p).isDirectory()
    ? fs.readdirSync(p).reduce((sum, f) => sum + fs.statSync(path.join(p, f)).size, 0)
    : fs.statSync(p).size;

/** The benchmark on the server TEST_DATABASE_URL names; writes backup.json. */
export async function benchBackup(orders: number, rounds: number): Promise<BackupResult> {
  requireBuilt('jobs/dist/cli.js');
  const say = log('bench/backup');
  const loadAverageAtStart = os.loadavg().map((l) => Math.round(l * 100) / 100);
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
    const cli = path.join(REPO_ROOT, 'jobs', 'dist', 'cli.js');
    const jobDir = path.join(work, 'job');
    const out = (name: string) => path.join(work, name);
    const runJob = async (file: string) => {
      fs.rmSync(jobDir, { recursive: true, force: true });
      await runProcess(
        process.execPath,
        [cli, 'backup', '--service=order-service', `--dir=${jobDir}`, `--database-url=${url}`],
        process.env,
      );
      const dumps = fs.readdirSync(path.join(jobDir, 'order-service')).filter((f) => !f.endsWith('.json'));
      fs.renameSync(path.join(jobDir, 'order-service', dumps[0]!), file);
      fs.renameSync(path.join(jobDir, 'order-service', `${dumps[0]!}.json`), `${file}.json`);
    };
    const pgDump =
      (...args: string[]) =>
      (file: string) =>
        runProcess('pg_dump', [...args, '-f', file], env);
    const options: { name: string; dump: (file: string) => Promise<void> }[] = [
      { name: 'backup job (webrana-jobs backup)', dump: runJob },
      { name: "pg_dump -Fc -Z2 (the earlier job's dump)", dump: pgDump('-Fc', '-Z2') },
      { name: 'pg_dump -Fc -Z0 (one process, no compression)', dump: pgDump('-Fc', '-Z0') },
      { name: "pg_dump -Fd -j2 -Z0 (the job's dump step alone: a directory)", dump: pgDump('-Fd', '-j2', '-Z0') },
      {
        name: 'pg_dump -Fd -j2 -Z1, then tar into one file',
        dump: async (file) => {
          await pgDump('-Fd', '-j2', '-Z1')(`${file}.d`);
          await runProcess('tar', ['-cf', file, '-C', `${file}.d`, '.'], env);
          fs.rmSync(`${file}.d`, { recursive: true, force: true });
        },
      },
      {
        name: 'pg_dump -Fc -Z0 piped through zstd -1 -T0, sha256 while writing',
        dump: (file: string) => dumpThrough(['zstd', '-1', '-T0', '-q', '-c'], file, env),
      },
    ];

    const plainFile = out('plain.dump');
    const plain = async () => {
      fs.rmSync(plainFile, { force: true });
      return timedAsync(() => runProcess('pg_dump', ['-Fc', '-f', plainFile], env));
    };
    await plain(); // warm the cache once
    const plainBytes = sizeOf(plainFile);
    const jobFile = out('job.tar.zst');
    const baselines: number[] = [];
    const measured = options.map(() => [] as OptionResult['rounds']);
    for (let round = 0; round < rounds; round += 1) {
      const before = await plain();
      const seconds: number[] = [];
      const sizes: number[] = [];
      for (const [i, option] of options.entries()) {
        const file = i === 0 ? jobFile : out(`option-${i}`);
        fs.rmSync(file, { recursive: true, force: true });
        seconds.push(await timedAsync(() => option.dump(file)));
        sizes.push(sizeOf(file));
        if (i > 0) fs.rmSync(file, { recursive: true, force: true });
      }
      const after = await plain();
      const base = (before + after) / 2;
      baselines.push(base);
      for (const [i, s] of seconds.entries()) {
        measured[i]!.push({ seconds: s, bytes: sizes[i]!, timeRatio: s / base, sizeRatio: sizes[i]! / plainBytes });
      }
      say(
        `round ${round + 1}: plain pg_dump -Fc ${before.toFixed(2)} s / ${after.toFixed(2)} s; ` +
          options.map((o, i) => `${o.name} ${(seconds[i]! / base).toFixed(3)}x`).join('; '),
      );
    }
    const optionResults: OptionResult[] = options.map((o, i) => ({
      name: o.name,
      rounds: measured[i]!,
      timeRatio: median(measured[i]!.map((r) => r.timeRatio)),
      sizeRatio: median(measured[i]!.map((r) => r.sizeRatio)),
    }));
    const job = optionResults[0]!;

    // Restore into empty databases, per round: single-job pg_restore of the plain dump (the baseline),
    // the restore job on the job's dump with 2 jobs and with 1 (one transaction), and pg_restore with 2
    // jobs of that dump already unpacked (the floor: no checks, no unpacking).
    const unpacked = out('job-unpacked');
    fs.mkdirSync(unpacked);
    await runProcess(
      'bash',
      ['-c', 'set -o pipefail; zstd -d -q -c -- "$1" | tar -C "$2" -xf -', 'unpack', jobFile, unpacked],
      env,
    );
    const intoEmptyDatabase = async (restoreInto: (target: TestDatabase) => Promise<void>) => {
      const target = await createTestDatabase('bench_restore');
      try {
        return await timedAsync(() => restoreInto(target));
      } finally {
        await target.drop().catch(() => undefined);
      }
    };
    const pgRestore = (target: TestDatabase) =>
      runProcess('pg_restore', ['--no-owner', '--jobs=1', '-d', target.name, plainFile], {
        ...process.env,
        ...libpqEnv(target.url),
      });
    const restoreJob = (jobs: number) => (target: TestDatabase) =>
      runProcess(
        process.execPath,
        [
          cli,
          'restore',
          '--service=order-service',
          `--file=${jobFile}`,
          `--jobs=${jobs}`,
          `--database-url=${target.url}`,
        ],
        process.env,
      );
    const pgRestoreDirectory = (target: TestDatabase) =>
      runProcess('pg_restore', ['--no-owner', '--jobs=2', '-d', target.name, unpacked], {
        ...process.env,
        ...libpqEnv(target.url),
      });
    const restoreRounds: RestoreRound[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const pgRestoreJobs1 = await intoEmptyDatabase(pgRestore);
      const jobJobs2 = await intoEmptyDatabase(restoreJob(2));
      const jobJobs1 = await intoEmptyDatabase(restoreJob(1));
      const directoryJobs2 = await intoEmptyDatabase(pgRestoreDirectory);
      restoreRounds.push({ pgRestoreJobs1, jobJobs2, jobJobs1, directoryJobs2, ratio: jobJobs2 / pgRestoreJobs1 });
      say(
        `restore round ${round + 1}: pg_restore --jobs=1 of plain -Fc ${pgRestoreJobs1.toFixed(2)} s; ` +
          `webrana-jobs restore --jobs=2 ${jobJobs2.toFixed(2)} s, --jobs=1 ${jobJobs1.toFixed(2)} s; ` +
          `pg_restore --jobs=2 of the unpacked directory ${directoryJobs2.toFixed(2)} s`,
      );
    }
    const restore = {
      rounds: restoreRounds,
      ratio: median(restoreRounds.map((r) => r.ratio)),
      jobs1Ratio: median(restoreRounds.map((r) => r.jobJobs1 / r.pgRestoreJobs1)),
      directoryRatio: median(restoreRounds.map((r) => r.directoryJobs2 / r.pgRestoreJobs1)),
    };

    const targets = { backupTime: 0.45, backupSize: 1.1, restore: 0.6 };
    const result: BackupResult = {
      machine: machine(),
      loadAverageAtStart,
      pgDump: execFileSync('pg_dump', ['--version'], { encoding: 'utf8' }).trim(),
      databaseMB: Math.round(dbBytes / 1e6),
      plainPgDumpFc: { seconds: median(baselines), bytes: plainBytes, rounds: baselines },
      backupJob: {
        seconds: median(job.rounds.map((r) => r.seconds)),
        bytes: job.rounds.at(-1)!.bytes,
        format: 'pg_dump -Fd -j2 -Z0 packed by tar | zstd -1 -T<cores> (2 here) into one .tar.zst',
      },
      timeRatio: job.timeRatio,
      sizeRatio: job.sizeRatio,
      options: optionResults,
      restore,
      targets: {
        ...targets,
        met: {
          backupTime: job.timeRatio <= targets.backupTime,
          backupSize: job.sizeRatio <= targets.backupSize,
          restore: restore.ratio <= targets.restore,
        },
      },
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
    () => parseOptions(process.argv.slice(2), USAGE, { orders: 360_000, rounds: 3 }, { orders: 200, rounds: 1 }),
    async (opts) => {
      const r = await benchBackup(opts.orders, opts.rounds);
      console.log(JSON.stringify(r, null, 2));
      console.log(
        `backup job / plain pg_dump -Fc: time ${r.timeRatio.toFixed(3)}x (target <= ${r.targets.backupTime}), ` +
          `size ${r.sizeRatio.toFixed(3)}x (target <= ${r.targets.backupSize}); ` +
          `webrana-jobs restore --jobs=2 / pg_restore --jobs=1 ${r.restore.ratio.toFixed(3)}x (target <= ${r.targets.restore})`,
      );
    },
  );
}

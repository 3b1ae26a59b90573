// Benchmark: one backup job run (pg_dump + verify + manifest + retention) and the dump options pg_dump
// 15 offers, each against plain `pg_dump -Fc` (gzip level 6) on the same generated database (>= 500 MB)
// in the same run; then pg_restore with 1 and 2 jobs. Every ratio is the median of per-round ratios,
// each round's own baseline being the mean of a plain dump just before and just after that round.
// Targets (issue 22): the job at most 0.45x the time of plain pg_dump -Fc at most 1.1x its size;
// restore at most 0.6x of single-job pg_restore.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generate } from '@webrana/datagen';
import { libpqEnv } from '@webrana/db';
import { createTestDatabase, migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import { REPO_ROOT, log, machine, median, parseOptions, requireBuilt, runMain, writeResult } from './common';

const USAGE = `usage: node bench/dist/bench/backup.js [--orders=360000] [--rounds=3] [--smoke]

  --orders=N  orders generated into the order database (default 360000: about 600 MB)
  --rounds=N  dump and restore rounds (default 3)
  --smoke     200 orders, one round, results in BENCH_RESULTS_DIR (a check, not a figure)

PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (a superuser URL), else an embedded one.
The zstd option runs only where zstd is installed (it is a measurement, not what the job does).`;

/** One measured way of dumping: seconds and bytes per round, and the ratios to that round's baseline. */
export interface OptionResult {
  name: string;
  /** Whether pg_restore 15 reads the result as one file (what the job, restore and tests need). */
  pgRestoreReadsOneFile: boolean;
  rounds: { seconds: number; bytes: number; timeRatio: number; sizeRatio: number }[];
  timeRatio: number;
  sizeRatio: number;
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
  pgRestoreSeconds: { jobs1: number; jobs2: number };
  restore: {
    rounds: { jobs1: number; jobs2: number; ratio: number }[];
    /** pg_restore --jobs=2 / --jobs=1 on the job's dump, median of per-round ratios. */
    ratio: number;
    /** The same with a directory-format dump (-Fd -j2 -Z1), for comparison. */
    directory: { rounds: { jobs1: number; jobs2: number; ratio: number }[]; ratio: number } | null;
  };
  targets: {
    backupTime: number;
    backupSize: number;
    restore: number;
    met: Record<'backupTime' | 'backupSize' | 'restore', boolean>;
  };
  rounds: number;
}

const hasTool = (tool: string) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;

async function timedAsync(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')}: exit ${code}: ${stderr}`)),
    );
  });
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
    let jobFile = '';
    const runJob = async (file: string) => {
      fs.rmSync(jobDir, { recursive: true, force: true });
      await run(
        process.execPath,
        [cli, 'backup', '--service=order-service', `--dir=${jobDir}`, `--database-url=${url}`],
        {
          ...process.env,
        },
      );
      const dumps = fs.readdirSync(path.join(jobDir, 'order-service')).filter((f) => !f.endsWith('.json'));
      fs.renameSync(path.join(jobDir, 'order-service', dumps[0]!), file);
    };
    const pgDump =
      (...args: string[]) =>
      (file: string) =>
        run('pg_dump', [...args, '-f', file], env);
    const options: { name: string; readsOneFile: boolean; dump: (file: string) => Promise<void> }[] = [
      { name: 'backup job (webrana-jobs backup)', readsOneFile: true, dump: runJob },
      { name: 'pg_dump -Fc -Z0', readsOneFile: true, dump: pgDump('-Fc', '-Z0') },
      { name: 'pg_dump -Fc -Z1', readsOneFile: true, dump: pgDump('-Fc', '-Z1') },
      { name: 'pg_dump -Fc -Z2', readsOneFile: true, dump: pgDump('-Fc', '-Z2') },
      { name: 'pg_dump -Fc -Z3', readsOneFile: true, dump: pgDump('-Fc', '-Z3') },
      { name: 'pg_dump -Fd -j2 -Z1 (a directory)', readsOneFile: false, dump: pgDump('-Fd', '-j2', '-Z1') },
      { name: 'pg_dump -Fd -j2 -Z3 (a directory)', readsOneFile: false, dump: pgDump('-Fd', '-j2', '-Z3') },
      {
        name: 'pg_dump -Fd -j2 -Z1, then tar into one file',
        readsOneFile: false,
        dump: async (file) => {
          await pgDump('-Fd', '-j2', '-Z1')(`${file}.d`);
          await run('tar', ['-cf', file, '-C', `${file}.d`, '.'], env);
          fs.rmSync(`${file}.d`, { recursive: true, force: true });
        },
      },
      ...(hasTool('zstd')
        ? [
            {
              name: 'pg_dump -Fc -Z0 piped through zstd -1 -T2, sha256 while writing',
              readsOneFile: false,
              dump: (file: string) => dumpThrough(['zstd', '-1', '-T2', '-q', '-c'], file, env),
            },
          ]
        : []),
    ];

    const plainFile = out('plain.dump');
    const plain = async () => {
      fs.rmSync(plainFile, { force: true });
      return timedAsync(() => run('pg_dump', ['-Fc', '-f', plainFile], env));
    };
    await plain(); // warm the cache once
    const plainBytes = sizeOf(plainFile);
    const baselines: number[] = [];
    const measured = options.map(() => [] as OptionResult['rounds']);
    const sizes: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const before = await plain();
      const seconds: number[] = [];
      for (const [i, option] of options.entries()) {
        const file = out(`option-${i}`);
        fs.rmSync(file, { recursive: true, force: true });
        seconds.push(await timedAsync(() => option.dump(file)));
        sizes[i] = sizeOf(file);
        if (i === 0) jobFile = file;
        else fs.rmSync(file, { recursive: true, force: true });
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
      pgRestoreReadsOneFile: o.readsOneFile,
      rounds: measured[i]!,
      timeRatio: median(measured[i]!.map((r) => r.timeRatio)),
      sizeRatio: median(measured[i]!.map((r) => r.sizeRatio)),
    }));
    const job = optionResults[0]!;

    // Restore: --jobs=1 and --jobs=2 of the job's dump into empty databases, alternating, per round.
    const dirDump = out('restore-dir');
    await pgDump('-Fd', '-j2', '-Z1')(dirDump);
    const restoreOnce = async (file: string, jobs: number) => {
      const target = await createTestDatabase('bench_restore');
      try {
        return await timedAsync(() =>
          run('pg_restore', ['--no-owner', `--jobs=${jobs}`, '-d', target.name, file], {
            ...process.env,
            ...libpqEnv(target.url),
          }),
        );
      } finally {
        await target.drop().catch(() => undefined);
      }
    };
    const restoreRounds = async (file: string) => {
      const rs: { jobs1: number; jobs2: number; ratio: number }[] = [];
      for (let round = 0; round < rounds; round += 1) {
        const jobs1 = await restoreOnce(file, 1);
        const jobs2 = await restoreOnce(file, 2);
        rs.push({ jobs1, jobs2, ratio: jobs2 / jobs1 });
        say(
          `restore round ${round + 1} (${path.basename(file)}): 1 job ${jobs1.toFixed(2)} s, 2 jobs ${jobs2.toFixed(2)} s`,
        );
      }
      return { rounds: rs, ratio: median(rs.map((r) => r.ratio)) };
    };
    const restore = await restoreRounds(jobFile);
    const directory = await restoreRounds(dirDump);

    const targets = { backupTime: 0.45, backupSize: 1.1, restore: 0.6 };
    const result: BackupResult = {
      machine: machine(),
      loadAverageAtStart,
      pgDump: execFileSync('pg_dump', ['--version'], { encoding: 'utf8' }).trim(),
      databaseMB: Math.round(dbBytes / 1e6),
      plainPgDumpFc: { seconds: median(baselines), bytes: plainBytes, rounds: baselines },
      backupJob: {
        seconds: median(job.rounds.map((r) => r.seconds)),
        bytes: sizes[0]!,
        format: 'pg_dump -Fc -Z2 (custom format, gzip level 2)',
      },
      timeRatio: job.timeRatio,
      sizeRatio: job.sizeRatio,
      options: optionResults,
      pgRestoreSeconds: {
        jobs1: median(restore.rounds.map((r) => r.jobs1)),
        jobs2: median(restore.rounds.map((r) => r.jobs2)),
      },
      restore: { ...restore, directory },
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
          `pg_restore 2 jobs / 1 job ${r.restore.ratio.toFixed(3)}x (target <= ${r.targets.restore})`,
      );
    },
  );
}

#!/usr/bin/env node
// Benchmark: one backup job run (pg_dump + verify + manifest + retention) against plain `pg_dump -Fc`
// on the same generated database (>= 500 MB), in the same run; then pg_restore with 1 and 2 jobs.
// Target (issue 7): the job at most 0.6x the time of plain pg_dump -Fc, at most 1.1x its size.
//   node bench/backup.js [--orders=N] [--rounds=N]     (BENCH_DATABASE_URL: use that server instead)
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { Client } = require('pg');
const { generate } = require('@webrana/datagen');
const { deploy, DEFAULT_SETTINGS } = require('@webrana/migrate');
const { libpqEnv, withDatabase } = require('@webrana/db');
const { startEmbeddedPostgres } = require('@webrana/local-postgres');
const { createLogger } = require('@webrana/logger');
const { migrationsDir, REPO_ROOT } = require('@webrana/registry');

const { values } = parseArgs({
  options: { orders: { type: 'string', default: '360000' }, rounds: { type: 'string', default: '2' } },
});
const log = createLogger({ name: 'bench', level: 'warn' });
const seconds = (fn) => {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const server = process.env.BENCH_DATABASE_URL
    ? { url: process.env.BENCH_DATABASE_URL, stop: async () => {} }
    : await startEmbeddedPostgres();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-backup-'));
  const admin = new Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query('DROP DATABASE IF EXISTS bench_order');
    await admin.query('CREATE DATABASE bench_order');
    const url = withDatabase(server.url, 'bench_order');
    await deploy(
      {
        service: 'order-service',
        databaseUrl: url,
        urlVariable: 'BENCH',
        migrationsDir: migrationsDir('order-service'),
      },
      DEFAULT_SETTINGS,
      log,
    );
    const t0 = Date.now();
    await generate('order', url, Number(values.orders));
    await admin.query('CHECKPOINT');
    const dbBytes = Number((await admin.query(`SELECT pg_database_size('bench_order') AS b`)).rows[0].b);
    console.log(
      `generated ${values.orders} orders in ${((Date.now() - t0) / 1000).toFixed(1)} s: database ${(dbBytes / 1e6).toFixed(0)} MB`,
    );

    const env = { ...process.env, ...libpqEnv(url) };
    const plainFile = path.join(work, 'plain.dump');
    const jobDir = path.join(work, 'job');
    const cli = path.join(REPO_ROOT, 'jobs', 'dist', 'cli.js');
    const plain = [];
    const job = [];
    let jobFile = '';
    execFileSync('pg_dump', ['-Fc', '-f', plainFile], { env }); // warm the cache once
    for (let round = 0; round < Number(values.rounds); round += 1) {
      fs.rmSync(plainFile, { force: true });
      plain.push(seconds(() => execFileSync('pg_dump', ['-Fc', '-f', plainFile], { env })));
      fs.rmSync(jobDir, { recursive: true, force: true });
      job.push(
        seconds(() => {
          const r = spawnSync(
            process.execPath,
            [cli, 'backup', '--service=order-service', `--dir=${jobDir}`, `--database-url=${url}`],
            { encoding: 'utf8' },
          );
          if (r.status !== 0) throw new Error(r.stderr);
        }),
      );
      jobFile = path.join(
        jobDir,
        'order-service',
        fs.readdirSync(path.join(jobDir, 'order-service')).find((f) => f.endsWith('.dump')),
      );
    }
    const plainBytes = fs.statSync(plainFile).size;
    const jobBytes = fs.statSync(jobFile).size;

    const restore = {};
    for (const jobs of [1, 2]) {
      await admin.query(`DROP DATABASE IF EXISTS bench_restore`);
      await admin.query(`CREATE DATABASE bench_restore`);
      const target = { ...process.env, ...libpqEnv(withDatabase(server.url, 'bench_restore')) };
      restore[jobs] = seconds(() =>
        execFileSync('pg_restore', ['--no-owner', `--jobs=${jobs}`, '-d', 'bench_restore', jobFile], { env: target }),
      );
    }
    const result = {
      machine: { cores: os.cpus().length, memoryGB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      pgDump: execFileSync('pg_dump', ['--version'], { encoding: 'utf8' }).trim(),
      databaseMB: Math.round(dbBytes / 1e6),
      plainPgDumpFc: { seconds: median(plain), bytes: plainBytes },
      backupJob: { seconds: median(job), bytes: jobBytes },
      timeRatio: median(job) / median(plain),
      sizeRatio: jobBytes / plainBytes,
      pgRestoreSeconds: { jobs1: restore[1], jobs2: restore[2] },
      rounds: Number(values.rounds),
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(
      `backup job / plain pg_dump -Fc: time ${result.timeRatio.toFixed(2)}x (target <= 0.6), size ${result.sizeRatio.toFixed(3)}x (target <= 1.1)`,
    );
    fs.mkdirSync(path.join(REPO_ROOT, 'bench', 'results'), { recursive: true });
    fs.writeFileSync(path.join(REPO_ROOT, 'bench', 'results', 'backup.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await admin.query('DROP DATABASE IF EXISTS bench_order').catch(() => undefined);
    await admin.query('DROP DATABASE IF EXISTS bench_restore').catch(() => undefined);
    await admin.end();
    fs.rmSync(work, { recursive: true, force: true });
    await server.stop();
  }
}

main().catch((error) => {
  console.error(`bench/backup: ${error.message}`);
  process.exit(1);
});

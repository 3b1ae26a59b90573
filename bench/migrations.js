#!/usr/bin/env node
// Benchmark: our migration runner (`webrana-jobs migrate deploy`, all four services on empty
// databases) against `psql -1 -f` of the same migration files, in the same run; and the seed's
// second run (a no-op) against its first. Rounds alternate; medians are compared.
//   node bench/migrations.js [--rounds=5]     (BENCH_DATABASE_URL: use that server)
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { Client } = require('pg');
const { libpqEnv, withDatabase } = require('@webrana/db');
const { startEmbeddedPostgres } = require('@webrana/local-postgres');
const { migrationOrder, migrationsDir, REPO_ROOT } = require('@webrana/registry');

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const CLI = path.join(REPO_ROOT, 'jobs', 'dist', 'cli.js');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const timed = (fn) => {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
};
function cli(args, env = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
  });
  if (r.status !== 0) throw new Error(`webrana-jobs ${args.join(' ')}: ${r.stderr}`);
}

async function main() {
  const server = process.env.BENCH_DATABASE_URL
    ? { url: process.env.BENCH_DATABASE_URL, stop: async () => {} }
    : await startEmbeddedPostgres();
  const admin = new Client({ connectionString: server.url });
  await admin.connect();
  const services = migrationOrder();
  const fresh = async (prefix) => {
    for (const s of services) {
      await admin.query(`DROP DATABASE IF EXISTS ${prefix}_${s.database}`);
      await admin.query(`CREATE DATABASE ${prefix}_${s.database}`);
    }
    return services.map((s) => withDatabase(server.url, `${prefix}_${s.database}`));
  };
  const runner = [];
  const psql = [];
  const seedFirst = [];
  const seedSecond = [];
  try {
    for (let round = 0; round < Number(values.rounds); round += 1) {
      const ours = await fresh('bench_ours');
      const env = Object.fromEntries(services.map((s, i) => [s.urlVariable, ours[i]]));
      runner.push(timed(() => cli(['migrate', 'deploy'], env)));
      const plain = await fresh('bench_psql');
      psql.push(
        timed(() =>
          services.forEach((s, i) => {
            for (const m of fs
              .readdirSync(migrationsDir(s.name))
              .filter((d) => !d.endsWith('.toml'))
              .sort()) {
              execFileSync(
                'psql',
                ['-q', '-v', 'ON_ERROR_STOP=1', '-1', '-f', path.join(migrationsDir(s.name), m, 'migration.sql')],
                {
                  env: { ...process.env, ...libpqEnv(plain[i]) },
                },
              );
            }
          }),
        ),
      );
      seedFirst.push(timed(() => cli(['seed'], { ...env, BCRYPT_COST: '12' })));
      seedSecond.push(timed(() => cli(['seed'], { ...env, BCRYPT_COST: '12' })));
    }
  } finally {
    for (const prefix of ['bench_ours', 'bench_psql']) {
      for (const s of services)
        await admin.query(`DROP DATABASE IF EXISTS ${prefix}_${s.database}`).catch(() => undefined);
    }
    await admin.end();
    await server.stop();
  }
  const result = {
    machine: { cores: os.cpus().length, memoryGB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    rounds: Number(values.rounds),
    migrateAllFourSeconds: {
      runner: median(runner),
      psqlOneTransactionPerFile: median(psql),
      ratio: median(runner) / median(psql),
    },
    seedSeconds: { firstRun: median(seedFirst), secondRunNoWrites: median(seedSecond) },
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(
    `migrate deploy (4 services) ${result.migrateAllFourSeconds.runner.toFixed(2)} s vs psql -1 -f ${result.migrateAllFourSeconds.psqlOneTransactionPerFile.toFixed(2)} s: ${result.migrateAllFourSeconds.ratio.toFixed(2)}x; ` +
      `seed second run ${result.seedSeconds.secondRunNoWrites.toFixed(2)} s`,
  );
  fs.mkdirSync(path.join(REPO_ROOT, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(path.join(REPO_ROOT, 'bench', 'results', 'migrations.json'), `${JSON.stringify(result, null, 2)}\n`);
}

main().catch((error) => {
  console.error(`bench/migrations: ${error.message}`);
  process.exit(1);
});

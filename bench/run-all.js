#!/usr/bin/env node
// `npm run bench`: runs every benchmark on this machine in one go and writes bench/results.md
// (and each benchmark's JSON in bench/results/). Not part of `npm test`: timings belong here, not in tests.
'use strict';
const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(ROOT, 'bench', 'results');
const BENCHES = [
  { name: 'migrations', script: 'bench/migrations.js', args: ['--rounds=5'] },
  { name: 'health-db', script: 'bench/health-db.js', args: [] },
  { name: 'backup', script: 'bench/backup.js', args: ['--rounds=3'] },
  { name: 'operator', script: 'operator/bench/operator-bench.js', args: [] },
];

const fmt = (n, digits = 2) => (typeof n === 'number' ? n.toFixed(digits) : String(n));
const version = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).split('\n')[0].trim();
  } catch {
    return 'not installed';
  }
};

const ran = [];
for (const bench of BENCHES) {
  if (!fs.existsSync(path.join(ROOT, bench.script))) {
    ran.push({ ...bench, status: 'not present in this checkout' });
    continue;
  }
  process.stdout.write(`== ${bench.name}: node ${bench.script} ${bench.args.join(' ')}\n`);
  const started = Date.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, bench.script), ...bench.args], {
    stdio: 'inherit',
    cwd: ROOT,
  });
  ran.push({
    ...bench,
    status: r.status === 0 ? 'ok' : `failed (exit ${r.status})`,
    seconds: (Date.now() - started) / 1000,
  });
}

const read = (name) => {
  const file = path.join(RESULTS, `${name}.json`);
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : null;
};
const lines = [
  '# Benchmark results',
  '',
  `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GB; Node ${process.version}; ` +
    `${version('pg_dump', ['--version'])}; ${version('wrk', ['--version'])}. Written ${new Date().toISOString()} by \`npm run bench\`.`,
  'Each figure compares against a baseline measured in the same run; the machine is shared, so absolute numbers move between runs.',
  '',
  '| benchmark | command | status |',
  '|---|---|---|',
  ...ran.map(
    (b) =>
      `| ${b.name} | \`node ${b.script} ${b.args.join(' ')}\` | ${b.status}${b.seconds ? ` (${fmt(b.seconds, 0)} s)` : ''} |`,
  ),
  '',
];
const migrations = read('migrations');
if (migrations) {
  lines.push(
    '## Migrations and seeds',
    '',
    `- All four services, empty databases: runner ${fmt(migrations.migrateAllFourSeconds.runner)} s vs \`psql -1 -f\` per file ` +
      `${fmt(migrations.migrateAllFourSeconds.psqlOneTransactionPerFile)} s (${fmt(migrations.migrateAllFourSeconds.ratio)}x; the runner also ` +
      "starts Node, parses every file with PostgreSQL's parser, takes the advisory lock and writes the ledger).",
    `- Seed: first run ${fmt(migrations.seedSeconds.firstRun)} s (bcrypt cost 12), second run (no writes) ${fmt(migrations.seedSeconds.secondRunNoWrites)} s.`,
    '',
  );
}
const health = read('health-db');
if (health)
  lines.push(
    '## /health/db vs bare node http + pg `SELECT 1`',
    '',
    '```json',
    JSON.stringify(health, null, 2),
    '```',
    '',
  );
const backup = read('backup');
if (backup) {
  lines.push(
    '## Backup and restore',
    '',
    `- Database ${backup.databaseMB} MB (generated). Plain \`pg_dump -Fc\` ${fmt(backup.plainPgDumpFc.seconds)} s, ` +
      `${fmt(backup.plainPgDumpFc.bytes / 1e6, 1)} MB; backup job (dump -Z3 + verify + sha256 + manifest + retention) ` +
      `${fmt(backup.backupJob.seconds)} s, ${fmt(backup.backupJob.bytes / 1e6, 1)} MB: time ${fmt(backup.timeRatio)}x, size ${fmt(backup.sizeRatio, 3)}x ` +
      '(target <= 0.6x, <= 1.1x).',
    `- pg_restore: 1 job ${fmt(backup.pgRestoreSeconds.jobs1)} s, 2 jobs ${fmt(backup.pgRestoreSeconds.jobs2)} s.`,
    '',
  );
}
const operatorFile = path.join(ROOT, 'operator', 'bench', 'results.json');
const operator = fs.existsSync(operatorFile) ? JSON.parse(fs.readFileSync(operatorFile, 'utf8')) : null;
if (operator) lines.push('## Operator', '', '```json', JSON.stringify(operator, null, 2), '```', '');
fs.writeFileSync(path.join(ROOT, 'bench', 'results.md'), `${lines.join('\n')}\n`);
process.stdout.write(`wrote bench/results.md\n`);
process.exitCode = ran.some((b) => b.status.startsWith('failed')) ? 1 : 0;

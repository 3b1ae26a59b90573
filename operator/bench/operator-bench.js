#!/usr/bin/env node
// Operator benchmark on kube-lab: N WebranaDatabase resources (four services each) whose migrations
// succeed at once (the databases are already migrated, so every Job is a real `webrana-jobs migrate
// deploy` that finds nothing to do). Prints the time until all are Ready, the API requests the
// operator made (its own count and the apiserver's, by API Priority and Fairness FlowSchemas that match
// only its ServiceAccount) and its peak memory (VmHWM). Results: operator/bench/results.json.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const USAGE = `usage: node operator/bench/operator-bench.js [--count=200] [--max-active=24] [--workers=4] [--timeout=3600] [--keep]

  --count=N        WebranaDatabase resources (default 200), four services each
  --max-active=N   the operator's MAX_ACTIVE_MIGRATIONS (default 24: kube-lab runs every pod as a host
                   process, with no scheduler capacity to queue them; 0 = no limit)
  --workers=N      the operator's WORKERS (default 4)
  --timeout=S      give up after S seconds (default 3600)
  --keep           leave the namespace, databases and FlowSchemas behind

Needs the kube-lab binaries (scripts/kube-lab/build) and compiled workspaces (npx tsc -b).
PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (a superuser URL), else an embedded one.`;

function parseArgs(argv) {
  const opts = { count: 200, maxActive: 24, workers: 4, timeout: 3600, keep: false };
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unexpected argument ${arg}`);
    const [, k, v] = m;
    if (k === 'help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (k === 'keep') opts.keep = true;
    else if (k === 'count') opts.count = Number(v);
    else if (k === 'max-active') opts.maxActive = Number(v);
    else if (k === 'workers') opts.workers = Number(v);
    else if (k === 'timeout') opts.timeout = Number(v);
    else throw new Error(`unknown option --${k}`);
  }
  return opts;
}

const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

function sh(cmd, args, { env, input, allowFailure } = {}) {
  const r = spawnSync(cmd, args, { env, input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0 && !allowFailure) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  }
  return r;
}

function labEnv() {
  const script = 'set -euo pipefail; eval "$("$1/start")"; eval "$("$1/kubelet")"; env -0';
  const r = sh('bash', ['-c', script, 'kube-lab', path.join(ROOT, 'scripts', 'kube-lab')]);
  const env = { ...process.env };
  for (const kv of r.stdout.split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function metricSum(text, name, labels = {}) {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:]+)(?:\{([^}]*)\})? ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] || '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

function byLabel(text, name, label) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:]+)\{([^}]*)\} ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const v = new RegExp(`${label}="([^"]*)"`).exec(m[2])?.[1] ?? '';
    out[v] = (out[v] ?? 0) + Number(m[3]);
  }
  return out;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  for (const f of ['operator/dist/main.js', 'jobs/dist/cli.js']) {
    if (!fs.existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: run npx tsc -b first`);
  }
  log('starting kube-lab (or reusing it)');
  const env = labEnv();
  const kubectl = (args, o = {}) => sh('kubectl', args, { env, ...o });

  // PostgreSQL and four databases, migrated once: every Job then succeeds at once.
  let pg;
  let serverUrl = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const { startEmbeddedPostgres } = require(path.join(ROOT, 'packages', 'local-postgres', 'dist'));
    pg = await startEmbeddedPostgres();
    serverUrl = pg.url;
  }
  const { Client } = require('pg');
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  const suffix = crypto.randomBytes(3).toString('hex');
  const { SERVICES } = require(path.join(ROOT, 'packages', 'registry', 'dist'));
  const urls = {};
  for (const s of SERVICES) {
    const db = `bench_${s.name.replace('-service', '')}_${suffix}`;
    await admin.query(`CREATE DATABASE "${db}"`);
    const u = new URL(serverUrl);
    u.pathname = `/${db}`;
    urls[s.name] = u.toString();
    sh(
      process.execPath,
      [path.join(ROOT, 'jobs', 'bin', 'webrana-jobs.js'), 'migrate', 'deploy', `--service=${s.name}`],
      {
        env: { ...process.env, DATABASE_URL: urls[s.name], LOG_LEVEL: 'warn' },
      },
    );
  }
  log(`databases migrated (${Object.keys(urls).length})`);

  const ns = `wop-bench-${suffix}`;
  const sa = 'wop-webrana-operator';
  kubectl(['apply', '--server-side', '--force-conflicts', '-f', path.join(ROOT, 'charts', 'webrana-operator', 'crds')]);
  kubectl(['wait', '--for=condition=Established', 'crd/webranadatabases.webrana.cloud', '--timeout=60s']);
  kubectl(['create', 'namespace', ns]);
  sh(
    'helm',
    [
      'install',
      'wop',
      path.join(ROOT, 'charts', 'webrana-operator'),
      '-n',
      ns,
      '--skip-crds',
      '--set',
      `watchNamespace=${ns}`,
      '--set',
      'replicaCount=0',
    ],
    { env },
  );
  const items = [];
  for (const s of SERVICES) {
    items.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${s.name}-db`, namespace: ns },
      stringData: { url: urls[s.name] },
    });
  }
  const subject = { kind: 'ServiceAccount', serviceAccount: { name: sa, namespace: ns } };
  const writes = ['create', 'update', 'patch', 'delete', 'deletecollection'];
  const flows = { leaseWrites: `${ns}-lease-writes`, writes: `${ns}-writes`, reads: `${ns}-reads` };
  const flow = (name, precedence, rule) => ({
    apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
    kind: 'FlowSchema',
    metadata: { name, labels: { 'webrana.cloud/bench': ns } },
    spec: {
      priorityLevelConfiguration: { name: 'workload-low' },
      matchingPrecedence: precedence,
      distinguisherMethod: { type: 'ByUser' },
      rules: [{ subjects: [subject], ...rule }],
    },
  });
  items.push(
    flow(flows.leaseWrites, 150, {
      resourceRules: [{ verbs: writes, apiGroups: ['coordination.k8s.io'], resources: ['leases'], namespaces: ['*'] }],
    }),
    flow(flows.writes, 151, {
      resourceRules: [{ verbs: writes, apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true }],
    }),
    flow(flows.reads, 152, {
      resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true }],
      nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
    }),
  );
  kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });

  const token = kubectl(['create', 'token', sa, '-n', ns, '--duration=6h']).stdout.trim();
  const cluster = JSON.parse(kubectl(['config', 'view', '--raw', '--minify', '-o', 'json']).stdout).clusters[0].cluster;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wop-bench-'));
  const kubeconfig = path.join(tmp, 'kubeconfig');
  fs.writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'lab', cluster }],
      users: [{ name: sa, user: { token } }],
      contexts: [{ name: 'op', context: { cluster: 'lab', user: sa } }],
      'current-context': 'op',
    }),
    { mode: 0o600 },
  );

  const port = await freePort();
  const operator = spawn(process.execPath, [path.join(ROOT, 'operator', 'bin', 'webrana-operator.js')], {
    env: {
      PATH: process.env.PATH,
      KUBECONFIG: kubeconfig,
      POD_NAME: 'bench-0',
      POD_NAMESPACE: ns,
      WATCH_NAMESPACE: ns,
      LEASE_NAME: sa,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      LOG_LEVEL: 'warn',
      WORKERS: String(opts.workers),
      MAX_ACTIVE_MIGRATIONS: String(opts.maxActive),
    },
    stdio: ['ignore', fs.openSync(path.join(tmp, 'operator.log'), 'w'), 'inherit'],
  });
  const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  for (let i = 0; ; i++) {
    try {
      if (metricSum(await metrics(), 'webrana_operator_leader') === 1) break;
    } catch {
      // not listening yet
    }
    if (i > 300) throw new Error('the operator did not become leader');
    await new Promise((r) => setTimeout(r, 100));
  }
  const apiserver = () => kubectl(['get', '--raw', '/metrics']).stdout;
  const before = apiserver();

  log(
    `creating ${opts.count} WebranaDatabases in ${ns} (MAX_ACTIVE_MIGRATIONS=${opts.maxActive}, WORKERS=${opts.workers})`,
  );
  const dbs = Array.from({ length: opts.count }, (_, i) => ({
    apiVersion: 'webrana.cloud/v1alpha1',
    kind: 'WebranaDatabase',
    metadata: { name: `db-${String(i).padStart(3, '0')}`, namespace: ns },
    spec: {
      image: 'registry.example/webrana/jobs:bench',
      services: SERVICES.map((s) => ({
        name: s.name,
        databaseUrlSecretRef: { name: `${s.name}-db`, key: 'url' },
        ...(s.dependsOn.length ? { dependsOn: [...s.dependsOn] } : {}),
      })),
      migration: { backoffLimit: 0, activeDeadlineSeconds: 600 },
    },
  }));
  const t0 = Date.now();
  kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: dbs }) });
  let ready = 0;
  let lastLog = 0;
  for (;;) {
    const list = JSON.parse(kubectl(['get', 'webranadatabases', '-n', ns, '-o', 'json']).stdout);
    ready = list.items.filter((d) =>
      (d.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    ).length;
    const failed = list.items.filter((d) => d.status?.phase === 'Degraded').length;
    if (failed > 0) throw new Error(`${failed} resources Degraded; see kubectl get wdb -n ${ns}`);
    if (ready === opts.count) break;
    if (Date.now() - t0 > opts.timeout * 1000) throw new Error(`timed out with ${ready}/${opts.count} Ready`);
    if (Date.now() - lastLog > 15_000) {
      log(`${ready}/${opts.count} Ready after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      lastLog = Date.now();
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const seconds = (Date.now() - t0) / 1000;
  const after = apiserver();
  const own = await metrics();
  const peakKb = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${operator.pid}/status`, 'utf8'))?.[1] ?? 0);
  const delta = (f) =>
    metricSum(after, 'apiserver_flowcontrol_dispatched_requests_total', { flow_schema: f }) -
    metricSum(before, 'apiserver_flowcontrol_dispatched_requests_total', { flow_schema: f });
  const jobs = JSON.parse(kubectl(['get', 'jobs', '-n', ns, '-o', 'json']).stdout).items.length;
  const result = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} CPU, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
    resources: opts.count,
    migrationJobs: jobs,
    maxActiveMigrations: opts.maxActive,
    workers: opts.workers,
    secondsToAllReady: Number(seconds.toFixed(1)),
    apiRequests: {
      apiserverCounted: {
        writes: delta(flows.writes),
        leaseWrites: delta(flows.leaseWrites),
        readsAndWatches: delta(flows.reads),
      },
      operatorCounted: {
        total: metricSum(own, 'webrana_operator_api_requests_total'),
        byVerb: byLabel(own, 'webrana_operator_api_requests_total', 'verb'),
        byResource: byLabel(own, 'webrana_operator_api_requests_total', 'resource'),
      },
    },
    reconciles: metricSum(own, 'webrana_operator_reconcile_total'),
    reconcileErrors: metricSum(own, 'webrana_operator_reconcile_errors_total'),
    statusUpdates: byLabel(own, 'webrana_operator_status_updates_total', 'result'),
    operatorPeakRssMiB: Number((peakKb / 1024).toFixed(1)),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  fs.writeFileSync(path.join(__dirname, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
  log(
    `all ${opts.count} Ready in ${seconds.toFixed(1)} s; operator peak RSS ${result.operatorPeakRssMiB} MiB; ` +
      `${result.apiRequests.operatorCounted.total} API requests (apiserver: ${result.apiRequests.apiserverCounted.writes} writes, ` +
      `${result.apiRequests.apiserverCounted.leaseWrites} Lease writes, ${result.apiRequests.apiserverCounted.readsAndWatches} reads/watches)`,
  );

  operator.kill('SIGTERM');
  await new Promise((r) => operator.once('exit', r));
  if (!opts.keep) {
    kubectl(['delete', 'namespace', ns, '--wait=false'], { allowFailure: true });
    kubectl(['delete', 'flowschemas', '-l', `webrana.cloud/bench=${ns}`], { allowFailure: true });
    // Pods may still hold connections for a moment: FORCE.
    for (const u of Object.values(urls))
      await admin.query(`DROP DATABASE IF EXISTS "${new URL(u).pathname.slice(1)}" WITH (FORCE)`);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  await admin.end();
  await pg?.stop();
}

main().catch((err) => {
  process.stderr.write(`bench: ${err.stack || err.message}\n`);
  process.exit(1);
});

#!/usr/bin/env node
// Operator benchmark on kube-lab: N WebranaDatabase resources (four services each) whose migrations
// succeed at once (the databases are already migrated, so every Job is a real `webrana-jobs migrate
// deploy` that finds nothing to do). Prints the time until all are Ready, the API requests the
// operator made (its own count and the apiserver's, by API Priority and Fairness FlowSchemas that match
// only its ServiceAccount) and its peak memory (VmHWM). Results: operator/bench/results.json.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const lab = require('./lab');

const { ROOT, SERVICE_ACCOUNT, byLabel, metricSum, sh } = lab;
const USAGE = `usage: node operator/bench/operator-bench.js [--count=200] [--max-active=24] [--workers=4] [--timeout=3600] [--keep]

  --count=N        WebranaDatabase resources (default 200), four services each
  --max-active=N   the operator's MAX_ACTIVE_MIGRATIONS (default 24: kube-lab runs every pod as a host
                   process, with no scheduler capacity to queue them; 0 = no limit)
  --workers=N      the operator's WORKERS (default 4)
  --timeout=S      give up after S seconds (default 3600)
  --keep           leave the namespace, databases and FlowSchemas behind

Needs the kube-lab binaries (scripts/kube-lab/build) and compiled workspaces (npx tsc -b).
PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (a superuser URL), else an embedded one.`;

const log = lab.createLog('bench');

async function main() {
  const opts = lab.parseOptions(process.argv.slice(2), USAGE, {
    count: 200,
    maxActive: 24,
    workers: 4,
    timeout: 3600,
    keep: false,
  });
  lab.requireBuilt();
  log('starting kube-lab (or reusing it)');
  const env = lab.labEnv();
  const kubectl = (args, o = {}) => sh('kubectl', args, { env, ...o });

  // PostgreSQL and four databases, migrated once: every Job then succeeds at once.
  const pg = await lab.startPostgres();
  const suffix = crypto.randomBytes(3).toString('hex');
  const { SERVICES } = require(path.join(ROOT, 'packages', 'registry', 'dist'));
  const urls = await lab.createServiceDatabases(pg, `bench_${suffix}`);
  for (const s of SERVICES) {
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
  lab.installOperatorChart(env, ns);
  const items = [];
  for (const s of SERVICES) {
    items.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${s.name}-db`, namespace: ns },
      stringData: { url: urls[s.name] },
    });
  }
  const subject = { kind: 'ServiceAccount', serviceAccount: { name: SERVICE_ACCOUNT, namespace: ns } };
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

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wop-bench-'));
  const kubeconfig = lab.operatorKubeconfig(env, ns, tmp);
  const operator = await lab.startOperator({
    kubeconfig,
    ns,
    dir: tmp,
    env: { WORKERS: String(opts.workers), MAX_ACTIVE_MIGRATIONS: String(opts.maxActive) },
  });
  const metrics = operator.metrics;
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
  const peakKb = operator.peakRssKb();
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

  await operator.stop();
  if (!opts.keep) {
    kubectl(['delete', 'namespace', ns, '--wait=false'], { allowFailure: true });
    kubectl(['delete', 'flowschemas', '-l', `webrana.cloud/bench=${ns}`], { allowFailure: true });
    await lab.dropDatabases(pg, urls);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  await pg.stop();
}

main().catch(lab.exitWithError('bench'));

// What the operator benchmarks share: option parsing, the kube-lab environment, PostgreSQL and
// per-service databases, the operator chart (CRD, RBAC, ServiceAccount) in a namespace, the compiled
// operator run as a child process with that ServiceAccount's token (as operator/test/harness.ts does),
// Prometheus text parsing and raw apiserver watches. Plain CommonJS: the benchmarks run with `node`.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const https = require('node:https');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const ROOT = path.resolve(__dirname, '..', '..');
const CHART_DIR = path.join(ROOT, 'charts', 'webrana-operator');
const RELEASE = 'wop';
/** The chart's full name for release "wop": ServiceAccount and Lease name. */
const SERVICE_ACCOUNT = 'wop-webrana-operator';

/** A wrong command line: reported without a stack trace, exit code 2. */
class UsageError extends Error {}

/** The benchmarks' `main().catch(...)`: the message (the stack for unexpected errors), exit 1 (2: usage). */
const exitWithError = (prefix) => (err) => {
  process.stderr.write(`${prefix}: ${err instanceof UsageError ? err.message : err.stack || err.message}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
};

/** `--name=value` options into `defaults`' keys (camelCase); booleans are bare flags; --help prints usage. */
function parseOptions(argv, usage, defaults) {
  const opts = { ...defaults };
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new UsageError(`unexpected argument ${arg} (see --help)`);
    const [, flag, value] = m;
    if (flag === 'help') {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    }
    const key = flag.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!Object.hasOwn(defaults, key)) throw new UsageError(`unknown option --${flag} (see --help)`);
    if (typeof defaults[key] === 'boolean') {
      if (value !== undefined) throw new UsageError(`--${flag} takes no value`);
      opts[key] = true;
    } else {
      const n = Number(value);
      if (value === undefined || value === '' || !Number.isFinite(n) || n < 0) {
        throw new UsageError(
          `--${flag} needs a number >= 0, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`,
        );
      }
      opts[key] = n;
    }
  }
  return opts;
}

const createLog = (prefix) => (msg) => process.stderr.write(`${prefix}: ${msg}\n`);

function sh(cmd, args, { env, input, allowFailure } = {}) {
  const r = spawnSync(cmd, args, { env, input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd} could not run: ${r.error.message}`);
  if (r.status !== 0 && !allowFailure) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  }
  return r;
}

/** The operator and the jobs CLI (what the Jobs run) must be compiled. */
function requireBuilt() {
  for (const f of ['operator/dist/main.js', 'jobs/dist/cli.js']) {
    if (!fs.existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: run npx tsc -b first`);
  }
}

/** Starts kube-lab and its kubelet (or reuses them); the environment with kubectl, helm and KUBECONFIG. */
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

/**
 * PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (a superuser URL), else an embedded PostgreSQL 15.
 * `admin` is a connected client on the server's own database.
 */
async function startPostgres() {
  let embedded;
  let url = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
  if (!url) {
    const { startEmbeddedPostgres } = require(path.join(ROOT, 'packages', 'local-postgres', 'dist'));
    embedded = await startEmbeddedPostgres();
    url = embedded.url;
  }
  const { Client } = require('pg');
  const admin = new Client({ connectionString: url });
  await admin.connect();
  const version = (await admin.query('SHOW server_version')).rows[0].server_version;
  return {
    url,
    admin,
    embedded: Boolean(embedded),
    version,
    async stop() {
      await admin.end();
      await embedded?.stop();
    },
  };
}

/** One new empty database per service, named `<prefix>_<auth|catalog|...>`; their URLs by service name. */
async function createServiceDatabases(pg, prefix) {
  const { SERVICES } = require(path.join(ROOT, 'packages', 'registry', 'dist'));
  const { withDatabase } = require(path.join(ROOT, 'packages', 'db', 'dist'));
  const urls = {};
  for (const s of SERVICES) {
    const db = `${prefix}_${s.name.replace('-service', '')}`;
    await pg.admin.query(`CREATE DATABASE "${db}"`);
    urls[s.name] = withDatabase(pg.url, db);
  }
  return urls;
}

/** Drops the databases behind `urls`; pods may still hold connections for a moment: FORCE. */
async function dropDatabases(pg, urls) {
  for (const u of Object.values(urls)) {
    await pg.admin.query(`DROP DATABASE IF EXISTS "${decodeURIComponent(new URL(u).pathname.slice(1))}" WITH (FORCE)`);
  }
}

/**
 * The operator chart in a new namespace `ns`: the CRD (server-side apply, also updates an older one),
 * RBAC and the ServiceAccount; its Deployment at 0 replicas (the benchmark runs the operator itself).
 */
function installOperatorChart(env, ns) {
  const kubectl = (args) => sh('kubectl', args, { env });
  kubectl(['apply', '--server-side', '--force-conflicts', '-f', path.join(CHART_DIR, 'crds')]);
  kubectl(['wait', '--for=condition=Established', 'crd/webranadatabases.webrana.cloud', '--timeout=60s']);
  kubectl(['create', 'namespace', ns]);
  sh(
    'helm',
    [
      'install',
      RELEASE,
      CHART_DIR,
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
}

/** A kubeconfig (written into `dir`) holding the chart ServiceAccount's token: exactly the chart's RBAC. */
function operatorKubeconfig(env, ns, dir) {
  const kubectl = (args) => sh('kubectl', args, { env });
  const token = kubectl(['create', 'token', SERVICE_ACCOUNT, '-n', ns, '--duration=6h']).stdout.trim();
  const cluster = JSON.parse(kubectl(['config', 'view', '--raw', '--minify', '-o', 'json']).stdout).clusters[0].cluster;
  const kubeconfig = path.join(dir, 'kubeconfig');
  fs.writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'lab', cluster }],
      users: [{ name: SERVICE_ACCOUNT, user: { token } }],
      contexts: [{ name: 'op', context: { cluster: 'lab', user: SERVICE_ACCOUNT } }],
      'current-context': 'op',
    }),
    { mode: 0o600 },
  );
  return kubeconfig;
}

/**
 * The compiled operator as a child process watching `ns` (log in `<dir>/operator.log`); resolves once it
 * leads (its /metrics says webrana_operator_leader 1).
 */
async function startOperator({ kubeconfig, ns, dir, env = {} }) {
  const port = await freePort();
  const proc = spawn(process.execPath, [path.join(ROOT, 'operator', 'bin', 'webrana-operator.js')], {
    env: {
      PATH: process.env.PATH,
      KUBECONFIG: kubeconfig,
      POD_NAME: 'bench-0',
      POD_NAMESPACE: ns,
      WATCH_NAMESPACE: ns,
      LEASE_NAME: SERVICE_ACCOUNT,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', fs.openSync(path.join(dir, 'operator.log'), 'w'), 'inherit'],
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`the operator exited (${proc.exitCode}); see ${dir}/operator.log`);
    try {
      if (metricSum(await metrics(), 'webrana_operator_leader') === 1) break;
    } catch {
      // not listening yet
    }
    if (i > 300) throw new Error('the operator did not become leader');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    proc,
    metrics,
    /** Peak resident memory (VmHWM), in kB. */
    peakRssKb: () => Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1] ?? 0),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
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

/** This machine, for results files. */
function machine() {
  return {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: `${os.type()} ${os.release()}`,
  };
}

/** The lab apiserver's version (gitVersion). */
function kubernetesVersion(env) {
  return JSON.parse(sh('kubectl', ['version', '-o', 'json'], { env }).stdout).serverVersion?.gitVersion ?? 'unknown';
}

/** The admin credentials of the lab's kubeconfig, for talking to the apiserver without kubectl. */
function adminAccess(env) {
  const cfg = JSON.parse(sh('kubectl', ['config', 'view', '--raw', '--minify', '-o', 'json'], { env }).stdout);
  const cluster = cfg.clusters[0].cluster;
  const user = cfg.users[0].user;
  const b64 = (s) => (s ? Buffer.from(s, 'base64') : undefined);
  return {
    server: new URL(cluster.server),
    ca: b64(cluster['certificate-authority-data']),
    cert: b64(user['client-certificate-data']),
    key: b64(user['client-key-data']),
  };
}

/**
 * A watch on `apiPath` (e.g. /apis/batch/v1/namespaces/x/jobs?labelSelector=...); `onEvent(event, ms)`
 * gets each event with the time it arrived (performance.now()). Resolves once the apiserver answered
 * (the watch is established: later changes are all delivered) with `stop()`; `failed` is set when the
 * stream broke before stop() was called.
 */
function watch(access, apiPath, onEvent) {
  const sep = apiPath.includes('?') ? '&' : '?';
  return new Promise((resolve, reject) => {
    const state = { failed: undefined, stopped: false };
    const req = https.request(
      {
        host: access.server.hostname,
        port: access.server.port,
        path: `${apiPath}${sep}watch=1&timeoutSeconds=3600`,
        ca: access.ca,
        cert: access.cert,
        key: access.key,
        headers: { accept: 'application/json' },
      },
      (res) => {
        if (res.statusCode !== 200) {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => reject(new Error(`watch ${apiPath}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`)));
          return;
        }
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          const at = performance.now();
          buffer += chunk;
          const lines = buffer.split('\n');
          buffer = lines.pop() ?? '';
          for (const line of lines) if (line.trim()) onEvent(JSON.parse(line), at);
        });
        res.on('end', () => {
          if (!state.stopped) state.failed = new Error(`watch ${apiPath} ended early`);
        });
        resolve({
          get failed() {
            return state.failed;
          },
          stop() {
            state.stopped = true;
            req.destroy();
          },
        });
      },
    );
    req.on('error', (err) => {
      if (state.stopped) return;
      state.failed = err;
      reject(err);
    });
    req.end();
  });
}

module.exports = {
  ROOT,
  SERVICE_ACCOUNT,
  UsageError,
  exitWithError,
  parseOptions,
  createLog,
  sh,
  requireBuilt,
  labEnv,
  freePort,
  startPostgres,
  createServiceDatabases,
  dropDatabases,
  installOperatorChart,
  operatorKubeconfig,
  startOperator,
  metricSum,
  byLabel,
  machine,
  kubernetesVersion,
  adminAccess,
  watch,
};

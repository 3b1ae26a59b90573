// A real Prometheus (Debian's `prometheus` 2.42, as a plain process on loopback) scrapes the four running
// services twice over: one job on /metrics, one with metrics_path /health/db.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SERVICES } from '@webrana/registry';
import { freePort, migratedTestDatabase, type TestDatabase } from '@webrana/testing';
import { killIfRunning, sleep, startService, type RunningService } from './helpers';

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
const JOBS = ['webrana-metrics', 'webrana-health-db'];

interface PromSeries {
  metric: Record<string, string>;
  value: [number, string];
}

let workDir: string;
let prometheus: ChildProcess | undefined;
let prometheusUrl: string;
const prometheusOutput: string[] = [];
const databases: TestDatabase[] = [];
const services: RunningService[] = [];

/** Prometheus' configuration: both jobs over the four services, scraped every second. */
function prometheusConfig(targets: readonly string[]): string {
  const targetList = targets.map((t) => `'${t}'`).join(', ');
  return [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    'scrape_configs:',
    `  - job_name: ${JOBS[0]}`,
    '    metrics_path: /metrics',
    `    static_configs: [{ targets: [${targetList}] }]`,
    `  - job_name: ${JOBS[1]}`,
    '    metrics_path: /health/db',
    `    static_configs: [{ targets: [${targetList}] }]`,
    '',
  ].join('\n');
}

async function api<T>(pathAndQuery: string): Promise<T> {
  const res = await fetch(`${prometheusUrl}${pathAndQuery}`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { status: string; data: T };
  if (body.status !== 'success') throw new Error(`Prometheus API ${pathAndQuery}: ${JSON.stringify(body)}`);
  return body.data;
}

async function query(expr: string): Promise<PromSeries[]> {
  return (await api<{ result: PromSeries[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result;
}

/** Polls until `check` returns a value, or fails with the last reason after `limitMs`. */
async function waitFor<T>(what: string, limitMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + limitMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} within ${limitMs} ms (last error: ${String(last)})\n${prometheusOutput.join('\n')}`);
    }
    await sleep(250);
  }
}

beforeAll(async () => {
  if (!fs.existsSync(PROMETHEUS)) {
    throw new Error(
      `${PROMETHEUS} is missing: apt-get install -y prometheus (Debian's package), or set PROMETHEUS_BIN`,
    );
  }
  for (const spec of SERVICES) {
    const db = await migratedTestDatabase(spec.name);
    databases.push(db);
    services.push(await startService(spec.name, { [spec.urlVariable]: db.url }));
  }
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-prometheus-'));
  const configFile = path.join(workDir, 'prometheus.yml');
  fs.writeFileSync(configFile, prometheusConfig(services.map((s) => new URL(s.url).host)));
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    PROMETHEUS,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(workDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [prometheus.stdout!, prometheus.stderr!]) {
    stream.on('data', (chunk: Buffer) => prometheusOutput.push(chunk.toString()));
  }
  await waitFor('Prometheus ready', 30_000, async () =>
    (await fetch(`${prometheusUrl}/-/ready`)).ok ? true : undefined,
  );
}, 120_000);

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
    prometheus.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  }
  killIfRunning(prometheus);
  await Promise.all(services.map((s) => s.stop()));
  services.forEach((s) => killIfRunning(s.child));
  await Promise.all(databases.map((db) => db.drop()));
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
}, 60_000);

test('Prometheus scrapes /metrics and /health/db of all four services: every target up', async () => {
  const targets = await waitFor('all 8 targets up', 30_000, async () => {
    const { activeTargets } = await api<{
      activeTargets: { labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string }[];
    }>('/api/v1/targets?state=active');
    return activeTargets.length === 8 && activeTargets.every((t) => t.health === 'up') ? activeTargets : undefined;
  });
  expect(targets.map((t) => t.scrapeUrl).sort()).toEqual(
    services.flatMap((s) => [`${s.url}/health/db`, `${s.url}/metrics`]).sort(),
  );
  const up = await query('up');
  expect(up).toHaveLength(8);
  expect(up.every((s) => s.value[1] === '1')).toBe(true);
});

test('webrana_db_up == 1 for each service through both jobs, queried with the HTTP API', async () => {
  const series = await waitFor('webrana_db_up for 4 services in 2 jobs', 30_000, async () => {
    const result = await query('webrana_db_up');
    return result.length === 8 ? result : undefined;
  });
  const seen = series.map((s) => `${s.metric.job} ${s.metric.service} ${s.value[1]}`).sort();
  expect(seen).toEqual(JOBS.flatMap((job) => SERVICES.map((spec) => `${job} ${spec.name} 1`)).sort());
  expect(await query('webrana_db_up == 1')).toHaveLength(8);
  // The /metrics job also brings the probe latency and the request histogram, labelled by service.
  const latency = await query(`webrana_db_probe_latency_seconds{job="${JOBS[0]}"}`);
  expect(latency.map((s) => s.metric.service).sort()).toEqual(SERVICES.map((s) => s.name).sort());
  // A /metrics scrape after a /health/db scrape reports it; wait for one per service.
  const healthRequests = await waitFor('/health/db request counts of 4 services', 30_000, async () => {
    const result = await query('http_request_duration_seconds_count{route="/health/db",status_code="200"} > 0');
    return new Set(result.map((s) => s.metric.service)).size === 4 ? result : undefined;
  });
  expect(healthRequests.every((s) => s.metric.job === JOBS[0])).toBe(true);
});

// The four services as processes (their compiled main), over HTTP, against a PostgreSQL of this file's
// own that the tests stop and start again. Each service reaches it through a counting TCP proxy.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SERVICES, type ServiceSpec } from '@webrana/registry';
import { freePort, type RunningPostgres, startEmbeddedPostgres, withClient, withDatabase } from '@webrana/testing';
import {
  get,
  killIfRunning,
  sample,
  sleep,
  startPostgresProxy,
  startService,
  type PostgresProxy,
  type RunningService,
} from './helpers';

const HEALTH_TIMEOUT_MS = 2000;
const HEALTH_CACHE_MS = 500;
const SPEC_HEALTHY_BODY = /^\{"status":"healthy","database":"connected","latency_ms":\d+\}$/;

interface Running {
  spec: ServiceSpec;
  proxy: PostgresProxy;
  service: RunningService;
}

let dataDir: string;
let pgPort: number;
let postgres: RunningPostgres | undefined;
const running: Running[] = [];
const measured: Record<string, unknown> = {};

/** Polls until `check` passes, returning how long it took; fails with the last error after `limitMs`. */
async function eventually(check: () => Promise<void>, limitMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      await check();
      return Date.now() - started;
    } catch (error) {
      if (Date.now() - started > limitMs) throw error;
      await sleep(100);
    }
  }
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-health-pg-'));
  pgPort = await freePort();
  postgres = await startEmbeddedPostgres({ port: pgPort, dataDir });
  const admin = postgres.url;
  await withClient(admin, async (client) => {
    for (const spec of SERVICES) await client.query(`CREATE DATABASE "${spec.database}"`);
  });
  for (const spec of SERVICES) {
    const proxy = await startPostgresProxy(pgPort);
    const url = withDatabase(admin, spec.database).replace(`:${pgPort}/`, `:${proxy.port}/`);
    const service = await startService(spec.name, {
      [spec.urlVariable]: url,
      HEALTH_TIMEOUT_MS: String(HEALTH_TIMEOUT_MS),
      HEALTH_CACHE_MS: String(HEALTH_CACHE_MS),
    });
    running.push({ spec, proxy, service });
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(running.map(({ service }) => service.stop()));
  running.forEach(({ service }) => killIfRunning(service.child));
  await Promise.all(running.map(({ proxy }) => proxy.close()));
  await postgres?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
  console.info(`health measurements: ${JSON.stringify(measured)}`);
}, 60_000);

describe('the four services over HTTP against real PostgreSQL', () => {
  test('each answers /health/db with 200 and exactly the spec body', async () => {
    for (const { spec, service } of running) {
      const res = await get(`${service.url}/health/db`);
      expect([spec.name, res.status, res.contentType]).toEqual([spec.name, 200, 'application/json; charset=utf-8']);
      expect(res.body).toMatch(SPEC_HEALTHY_BODY);
    }
  });

  test('200 concurrent /health/db requests reach the database in at most 5 round trips', async () => {
    for (const { spec, service, proxy } of running) {
      await sleep(HEALTH_CACHE_MS + 100); // no earlier answer left to reuse: the burst needs a probe of its own
      const before = proxy.roundTrips();
      const answers = await Promise.all(Array.from({ length: 200 }, () => get(`${service.url}/health/db`)));
      const roundTrips = proxy.roundTrips() - before;
      measured[`${spec.name} round trips for 200 concurrent`] = roundTrips;
      expect(answers.filter((a) => a.status === 200)).toHaveLength(200);
      expect(roundTrips).toBeGreaterThanOrEqual(1);
      expect(roundTrips).toBeLessThanOrEqual(5);
    }
  });

  test('when the database hangs, /health/db answers 503 at the timeout and the database is not probed again meanwhile', async () => {
    running.forEach(({ proxy }) => proxy.setMode({ kind: 'delay', ms: 60_000 }));
    await sleep(HEALTH_CACHE_MS + 100); // let the last healthy answer expire
    try {
      const connectionsBefore = running.map(({ proxy }) => proxy.connections());
      const first = await Promise.all(running.map(({ service }) => get(`${service.url}/health/db`)));
      // Asked again while the first probe still hangs: answered at once, no new connection attempt.
      const again = await Promise.all(running.map(({ service }) => get(`${service.url}/health/db`)));
      running.forEach(({ spec, proxy }, i) => {
        expect([spec.name, first[i]!.status]).toEqual([spec.name, 503]);
        expect(JSON.parse(first[i]!.body)).toEqual({
          status: 'unhealthy',
          database: 'disconnected',
          latency_ms: expect.any(Number),
          error: `no answer within ${HEALTH_TIMEOUT_MS} ms`,
        });
        expect(first[i]!.ms).toBeGreaterThanOrEqual(HEALTH_TIMEOUT_MS - 50);
        expect(first[i]!.ms).toBeLessThan(HEALTH_TIMEOUT_MS + 500);
        expect(again[i]!.status).toBe(503);
        expect(again[i]!.ms).toBeLessThan(500);
        expect(proxy.connections() - connectionsBefore[i]!).toBe(1);
      });
      measured['hung database: first 503 after ms'] = first.map((r) => Math.round(r.ms));
    } finally {
      running.forEach(({ proxy }) => proxy.setMode({ kind: 'pass' }));
    }
  });

  test('when the database is stopped, /health/db answers 503 within the timeout + 0.5 s and /metrics still answers with webrana_db_up 0', async () => {
    for (const { service } of running) {
      await eventually(async () => expect((await get(`${service.url}/health/db`)).status).toBe(200), 10_000);
    }
    await postgres!.stop();
    postgres = undefined;
    const stoppedAt = Date.now();
    for (const { spec, service } of running) {
      // A healthy answer younger than HEALTH_CACHE_MS may still be served; the outage shows right after.
      const health = await get(`${service.url}/health/db`, {}, HEALTH_TIMEOUT_MS + 500);
      const shownAfterMs = await eventually(async () => {
        expect((await get(`${service.url}/health/db`)).status).toBe(503);
      }, HEALTH_TIMEOUT_MS + 500);
      measured[`${spec.name} 503 after database stop, ms`] = Date.now() - stoppedAt;
      expect(health.ms).toBeLessThan(HEALTH_TIMEOUT_MS + 500);
      expect(shownAfterMs).toBeLessThan(HEALTH_TIMEOUT_MS + 500);
      const down = await get(`${service.url}/health/db`);
      const body = JSON.parse(down.body);
      expect([spec.name, down.status, body.status, body.database]).toEqual([
        spec.name,
        503,
        'unhealthy',
        'disconnected',
      ]);
      // Refused at once: not the timeout answer of a hanging database.
      expect(body.error).not.toMatch(/no answer/);

      const metrics = await get(`${service.url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.ms).toBeLessThan(HEALTH_TIMEOUT_MS + 500);
      expect(metrics.body).toContain(`webrana_db_up{service="${spec.name}"} 0`);

      expect((await get(`${service.url}/health/ready`)).status).toBe(503);
      expect((await get(`${service.url}/health/live`)).status).toBe(200);
    }
  });

  test('when the database comes back, /health/db is healthy again without restarting the service', async () => {
    postgres = await startEmbeddedPostgres({ port: pgPort, dataDir });
    for (const { spec, service } of running) {
      const recoveredAfterMs = await eventually(async () => {
        expect((await get(`${service.url}/health/db`)).status).toBe(200);
      }, 10_000);
      measured[`${spec.name} healthy again after ms`] = recoveredAfterMs;
      expect(service.child.exitCode).toBeNull();
      expect(service.child.pid).toBe(service.pid);
      const metrics = await get(`${service.url}/metrics`);
      expect(sample(metrics.body, 'webrana_db_up')).toBe(1);
      expect((await get(`${service.url}/health/ready`)).status).toBe(200);
    }
  });
});

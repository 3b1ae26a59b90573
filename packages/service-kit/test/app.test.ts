// The kit's app and server in this process, over real HTTP, against a real database.
import { createLogger } from '@webrana/logger';
import { createTestDatabase, type TestDatabase } from '@webrana/testing';
import type { Express } from 'express';
import { PrismaClient } from '../../../services/auth-service/src/generated/prisma/client';
import {
  createLifecycle,
  createServiceApp,
  createServiceDatabase,
  loadServiceConfig,
  startServer,
  type Lifecycle,
  type RunningServer,
  type ServiceDatabase,
} from '../src';
import { get, PROMETHEUS_ACCEPT, sample, sleep } from './helpers';

const logger = createLogger({ name: 'service-kit-test', level: 'silent' });

let db: TestDatabase;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  db = await createTestDatabase('service_kit');
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await db.drop();
});

interface Served {
  url: string;
  server: RunningServer;
  lifecycle: Lifecycle;
  database: ServiceDatabase<PrismaClient>;
}

/** auth-service's kit app on a free port; `routes` adds service routes, `env` overrides settings. */
async function serve(options: {
  env?: Record<string, string>;
  routes?: (app: Express) => void;
  databaseUrl?: string;
  shutdownTimeoutMs?: number;
}): Promise<Served> {
  const config = loadServiceConfig('auth-service', {
    AUTH_DATABASE_URL: options.databaseUrl ?? db.url,
    ...options.env,
  });
  const database = createServiceDatabase({ settings: config.database, PrismaClient, logger, applicationName: 'kit' });
  const lifecycle = createLifecycle();
  const app = createServiceApp({ config, logger, database, lifecycle }, options.routes);
  const server = await startServer(app, {
    host: '127.0.0.1',
    port: 0,
    lifecycle,
    logger,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? config.shutdownTimeoutMs,
  });
  cleanups.push(
    () => server.stop(),
    () => database.close(),
  );
  return { url: server.url, server, lifecycle, database };
}

describe('/health/db content negotiation', () => {
  let url: string;
  beforeAll(async () => {
    ({ url } = await serve({}));
  });

  test("Prometheus' scrape Accept header gets OpenMetrics with the database gauges", async () => {
    const res = await get(`${url}/health/db`, { accept: PROMETHEUS_ACCEPT });
    expect(res.status).toBe(200);
    expect(res.contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(res.body).toContain('# TYPE webrana_db_up gauge\nwebrana_db_up{service="auth-service"} 1\n');
    expect(sample(res.body, 'webrana_db_probe_latency_seconds')).toBeGreaterThan(0);
    expect(res.body.endsWith('# EOF\n')).toBe(true);
  });

  test('Accept: text/plain gets the Prometheus text format 0.0.4', async () => {
    const res = await get(`${url}/health/db`, { accept: 'text/plain' });
    expect(res.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(sample(res.body, 'webrana_db_up')).toBe(1);
    expect(res.body).not.toContain('# EOF');
  });

  test.each([
    ['no Accept header', undefined],
    ['curl', '*/*'],
    ['a browser', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'],
    ['an unsupported type', 'image/png'],
  ])('%s gets the spec JSON', async (_client, accept) => {
    const res = await get(`${url}/health/db`, accept ? { accept } : {});
    expect(res.contentType).toBe('application/json; charset=utf-8');
    expect(res.body).toMatch(/^\{"status":"healthy","database":"connected","latency_ms":\d+\}$/);
  });
});

describe('service routes and /metrics', () => {
  let url: string;
  beforeAll(async () => {
    ({ url } = await serve({
      routes: (app) => app.get('/widgets/:id', (req, res) => void res.json({ id: req.params.id })),
    }));
  });

  test('routes a service mounts are served by Express after the health routes', async () => {
    const res = await get(`${url}/widgets/42`);
    expect([res.status, res.body]).toEqual([200, '{"id":"42"}']);
  });

  test('unknown paths get a JSON 404', async () => {
    const res = await get(`${url}/health/nope`);
    expect([res.status, res.body]).toEqual([404, '{"error":"not found"}']);
  });

  test('/metrics has process metrics, request durations labelled by route pattern, and the database gauges', async () => {
    await get(`${url}/widgets/7`);
    await get(`${url}/health/db?verbose=1`);
    const res = await get(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.body).toMatch(/^process_cpu_user_seconds_total\{service="auth-service"\} /m);
    expect(res.body).toMatch(/^nodejs_eventloop_lag_seconds\{service="auth-service"\} /m);
    expect(
      sample(
        res.body,
        'http_request_duration_seconds_count{service="auth-service",method="GET",route="/widgets/:id",status_code="200"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(
        res.body,
        'http_request_duration_seconds_count{service="auth-service",method="GET",route="/health/db",status_code="200"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(res.body).not.toContain('route="/widgets/7"');
    expect(res.body).toContain('webrana_db_up{service="auth-service"} 1');
    expect(sample(res.body, 'webrana_db_probe_latency_seconds')).toBeGreaterThan(0);
  });
});

describe('readiness and shutdown', () => {
  test('once a shutdown has begun /health/ready answers 503 while /health/live stays 200', async () => {
    const { url, lifecycle } = await serve({});
    expect((await get(`${url}/health/ready`)).status).toBe(200);
    lifecycle.beginShutdown();
    const ready = await get(`${url}/health/ready`);
    expect([ready.status, ready.body]).toEqual([503, '{"status":"not_ready","reason":"shutting down"}']);
    expect((await get(`${url}/health/live`)).body).toBe('{"status":"alive"}');
  });

  test('stop() lets an in-flight request finish, then refuses new connections', async () => {
    const { url, server } = await serve({
      routes: (app) =>
        app.get('/slow', async (_req, res) => {
          await sleep(400);
          res.json({ done: true });
        }),
    });
    const inFlight = get(`${url}/slow`);
    await sleep(100);
    const outcome = await server.stop();
    expect(outcome.drained).toBe(true);
    expect((await inFlight).body).toBe('{"done":true}');
    await expect(get(`${url}/health/live`, {}, 1000)).rejects.toThrow();
  });

  test('stop() is bounded: a request outliving the shutdown timeout has its connection closed at the deadline', async () => {
    const { url, server } = await serve({
      shutdownTimeoutMs: 300,
      // Never answers on its own; ends when its connection is closed.
      routes: (app) => app.get('/endless', (req, res) => void req.on('close', () => res.end())),
    });
    const inFlight = get(`${url}/endless`, {}, 10_000);
    await sleep(100);
    const started = performance.now();
    const outcome = await server.stop();
    expect(outcome.drained).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(inFlight).rejects.toThrow();
  });
});

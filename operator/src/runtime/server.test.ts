import type { AddressInfo } from 'node:net';
import { createMetrics } from './metrics';
import { createHttpServer } from './server';

describe('HTTP endpoints', () => {
  let ready = { ok: true, detail: 'leading; caches synced' };
  const metrics = createMetrics(() => 7, { defaultMetrics: false });
  const server = createHttpServer(metrics.registry, { ready: () => ready });
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  test('/metrics lists reconciles, errors, durations and the queue depth', async () => {
    metrics.reconciles.inc({ result: 'success' });
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const name of [
      'webrana_operator_reconcile_total',
      'webrana_operator_reconcile_errors_total',
      'webrana_operator_reconcile_duration_seconds_bucket',
      'webrana_operator_api_requests_total',
      'webrana_operator_leader',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toContain('webrana_operator_workqueue_depth 7');
  });

  test('/healthz answers 200; /readyz follows the readiness probe', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    ready = { ok: false, detail: 'shutting down' };
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('shutting down\n');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});

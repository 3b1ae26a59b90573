import { createLogger } from '@webrana/logger';
import { Controller } from './controller';
import { WorkQueue } from './queue';
import { createMetrics } from './metrics';

const log = createLogger({ name: 'test', level: 'silent' });
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('Controller', () => {
  test('never reconciles one key twice at once, however many workers and adds', async () => {
    const queue = new WorkQueue();
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    const reconciler = {
      reconcile: async () => {
        calls++;
        running++;
        maxRunning = Math.max(maxRunning, running);
        await tick();
        running--;
        return { actions: [], statusWritten: false };
      },
    };
    const c = new Controller({ queue, reconciler, workers: 4, log });
    c.start();
    for (let i = 0; i < 10; i++) {
      queue.add('ns/a');
      await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(maxRunning).toBe(1);
    expect(calls).toBeLessThan(10);
    expect(calls).toBeGreaterThanOrEqual(2);
    await c.stop(1000);
  });

  test('a failed reconcile is retried with backoff and counted; success forgets the failures', async () => {
    const queue = new WorkQueue({ baseDelayMs: 10 });
    const metrics = createMetrics(() => queue.length, { defaultMetrics: false });
    let attempts = 0;
    const reconciler = {
      reconcile: async () => {
        attempts++;
        if (attempts < 3) throw new Error('apiserver unavailable');
        return { actions: ['x'], statusWritten: true };
      },
    };
    const c = new Controller({ queue, reconciler, workers: 1, log, metrics });
    c.start();
    queue.add('ns/a');
    await new Promise((r) => setTimeout(r, 200));
    expect(attempts).toBe(3);
    expect(queue.failureCount('ns/a')).toBe(0);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/webrana_operator_reconcile_errors_total 2/);
    expect(text).toMatch(/webrana_operator_reconcile_total\{result="success"\} 1/);
    expect(text).toMatch(/webrana_operator_status_updates_total\{result="written"\} 1/);
    await c.stop(1000);
  });

  test('a status conflict requeues the key with backoff until a reconcile writes from fresh state', async () => {
    const queue = new WorkQueue({ baseDelayMs: 10 });
    const metrics = createMetrics(() => queue.length, { defaultMetrics: false });
    let attempts = 0;
    const reconciler = {
      reconcile: async () => {
        attempts++;
        return attempts < 3
          ? { actions: [], statusWritten: false, conflict: true as const }
          : { actions: [], statusWritten: true };
      },
    };
    const c = new Controller({ queue, reconciler, workers: 1, log, metrics });
    c.start();
    queue.add('ns/a');
    await new Promise((r) => setTimeout(r, 200));
    expect(attempts).toBe(3);
    expect(queue.failureCount('ns/a')).toBe(0);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/webrana_operator_status_updates_total\{result="conflict"\} 2/);
    expect(text).toMatch(/webrana_operator_status_updates_total\{result="written"\} 1/);
    await c.stop(1000);
  });

  test('stop waits for the reconcile in progress and starts no new one', async () => {
    const queue = new WorkQueue();
    const seen: string[] = [];
    const reconciler = {
      reconcile: async (key: string) => {
        seen.push(key);
        await new Promise((r) => setTimeout(r, 30));
        return { actions: [], statusWritten: false };
      },
    };
    const c = new Controller({ queue, reconciler, workers: 1, log });
    c.start();
    queue.add('ns/a');
    queue.add('ns/b');
    await tick();
    expect(await c.stop(1000)).toBe(true);
    expect(seen).toEqual(['ns/a']);
  });
});

// SIGTERM under keep-alive load: a real service process, real PostgreSQL, real HTTP clients.
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { createTestDatabase, type TestDatabase } from '@webrana/testing';
import { killIfRunning, logLines, startService, type RunningService } from './helpers';

const CONNECTIONS = 20;
const REQUESTS = 1200;

let db: TestDatabase;
let service: RunningService | undefined;
const agents: http.Agent[] = [];
const measured: Record<string, unknown> = {};

beforeAll(async () => {
  db = await createTestDatabase('service_shutdown');
});
afterEach(() => {
  killIfRunning(service?.child);
  agents.splice(0).forEach((agent) => agent.destroy());
});
afterAll(async () => {
  await db.drop();
  console.info(`shutdown measurements: ${JSON.stringify(measured)}`);
});

interface Outcome {
  status?: number;
  connection?: string;
  error?: string;
  doneAt: number;
}

/** GET over `agent`; settles with the status or the error code (never rejects). */
function request(agent: http.Agent, url: string, sockets: Set<Socket>): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode, connection: res.headers.connection, doneAt: performance.now() }),
      );
      res.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ error: error.code ?? error.message, doneAt: performance.now() }),
      );
    });
    req.on('socket', (socket) => sockets.add(socket));
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ error: error.code ?? error.message, doneAt: performance.now() }),
    );
  });
}

const countBy = (keys: string[]) =>
  keys.reduce<Record<string, number>>((counts, key) => ({ ...counts, [key]: (counts[key] ?? 0) + 1 }), {});

const startAuth = (env: Record<string, string> = {}) =>
  startService('auth-service', { AUTH_DATABASE_URL: db.url, HEALTH_CACHE_MS: '0', LOG_LEVEL: 'info', ...env });

test('SIGTERM under keep-alive load fails no request: 1,200 queued on 20 connections all answer 200, and the process exits 0', async () => {
  // The queue left at SIGTERM empties in 0.15-0.4 s here; 3 s of drain leaves room for a loaded machine.
  service = await startAuth({ SHUTDOWN_DRAIN_MS: '3000' });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  agents.push(agent);
  const sockets = new Set<Socket>();
  // Every request is queued at once: the agent sends each on the next connection that becomes free.
  const outcomes = Array.from({ length: REQUESTS }, () => request(agent, `${service!.url}/health/db`, sockets));

  let done = 0;
  outcomes.forEach((o) => void o.then(() => (done += 1)));
  while (done < REQUESTS / 4) await new Promise((resolve) => setImmediate(resolve));
  const signalledAt = performance.now();
  service.child.kill('SIGTERM');

  const results = await Promise.all(outcomes);
  const code = await service.exited;
  const exitedAt = performance.now();

  const failed = results.filter((r) => r.error !== undefined || r.status !== 200);
  const afterSignal = results.filter((r) => r.doneAt > signalledAt).length;
  Object.assign(measured, {
    requests: REQUESTS,
    connections: sockets.size,
    failed: failed.length,
    failures: countBy(failed.map((r) => String(r.error ?? r.status))),
    answeredAfterSigterm: afterSignal,
    lastAnswerAfterSigtermMs: Math.round(Math.max(...results.map((r) => r.doneAt)) - signalledAt),
    sigtermToExitMs: Math.round(exitedAt - signalledAt),
  });
  expect(failed).toEqual([]);
  expect(sockets.size).toBe(CONNECTIONS); // keep-alive throughout: no connection was dropped and reopened
  expect(afterSignal).toBeGreaterThan(REQUESTS / 2); // the signal really came in the middle
  expect(code).toBe(0);
  expect(logLines(service.output).find((l) => l.msg === 'stopped')).toMatchObject({ drained: true });
});

test('a client that keeps sending after SIGTERM is told Connection: close once the drain period ends, loses no request, and cannot connect anew', async () => {
  service = await startAuth();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  agents.push(agent);
  const sockets = new Set<Socket>();
  const first = await request(agent, `${service.url}/health/live`, sockets);
  expect(first).toMatchObject({ status: 200, connection: 'keep-alive' });

  const signalledAt = performance.now();
  service.child.kill('SIGTERM');
  const answers: Outcome[] = [];
  // One request after another on the same connection until the server says it will close it.
  for (;;) {
    const outcome = await request(agent, `${service.url}/health/live`, sockets);
    answers.push(outcome);
    if (outcome.error || outcome.connection === 'close') break;
  }
  const last = answers.at(-1)!;
  expect(last).toMatchObject({ status: 200, connection: 'close' });
  expect(answers.slice(0, -1).every((a) => a.status === 200 && a.connection === 'keep-alive')).toBe(true);
  expect(sockets.size).toBe(1);
  const stopping = logLines(service.output).find((l) => typeof l.msg === 'string' && l.msg.startsWith('shutting down'));
  expect(last.doneAt - signalledAt).toBeGreaterThanOrEqual(Number(stopping?.drainMs) - 50);
  measured['keep-alive answers during the drain period'] = answers.length - 1;

  const refused = await request(agent, `${service.url}/health/live`, sockets);
  expect(refused.error).toBe('ECONNREFUSED');
  expect(await service.exited).toBe(0);
});

// A service's process from the outside: its compiled main, its environment, its signals and exit codes.
import * as net from 'node:net';
import { SERVICES } from '@webrana/registry';
import { createTestDatabase, type TestDatabase } from '@webrana/testing';
import {
  get,
  killIfRunning,
  logLines,
  sleep,
  spawnService,
  startPostgresProxy,
  startService,
  type PostgresProxy,
  type RunningService,
  type SpawnedService,
} from './helpers';

const PASSWORD = 'Pw-Secret-42';
const unrefSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
const EXIT_CONFIG = 78;

let db: TestDatabase;
const children: SpawnedService[] = [];
const measured: Record<string, unknown> = {};

beforeAll(async () => {
  db = await createTestDatabase('service_main');
});
afterAll(async () => {
  children.forEach(({ child }) => killIfRunning(child));
  await db.drop();
  console.info(`main measurements: ${JSON.stringify(measured)}`);
});

/** Runs auth-service's main to its end with `env`; returns the exit code and everything it printed. */
async function runToExit(env: Record<string, string>, service: (typeof SERVICES)[number] = SERVICES[0]!) {
  const spawned = spawnService(service.name, { HOST: '127.0.0.1', PORT: '0', ...env });
  children.push(spawned);
  const code = await Promise.race([spawned.exited, unrefSleep(15_000).then(() => 'still running')]);
  return { code, text: spawned.output.join('\n'), lines: logLines(spawned.output) };
}

describe('configuration errors stop the process before it listens', () => {
  test.each(SERVICES.map((s) => [s.name, s.urlVariable]))(
    '%s without a database URL exits 78 naming %s',
    async (name, variable) => {
      const { code, text, lines } = await runToExit(
        {},
        SERVICES.find((s) => s.name === name),
      );
      expect(code).toBe(EXIT_CONFIG);
      expect(text).toContain(`${variable} (or DATABASE_URL) is not set`);
      expect(lines.some((l) => l.msg === 'listening')).toBe(false);
    },
  );

  test('a URL that is not PostgreSQL exits 78 naming the variable, and the password appears nowhere', async () => {
    const { code, text } = await runToExit({
      AUTH_DATABASE_URL: `mysql://app:${PASSWORD}@db.internal:3306/webrana_auth`,
    });
    expect(code).toBe(EXIT_CONFIG);
    expect(text).toContain('AUTH_DATABASE_URL must start with postgresql:// (got mysql://)');
    expect(text).not.toContain(PASSWORD);
  });

  test('a bad URL option exits 78 naming the variable and the option, and the password appears nowhere', async () => {
    const url = `postgresql://app:${PASSWORD}@db.internal:5432/webrana_auth?connection_limit=0`;
    const { code, text } = await runToExit({ AUTH_DATABASE_URL: url });
    expect(code).toBe(EXIT_CONFIG);
    expect(text).toContain('AUTH_DATABASE_URL: connection_limit must be a positive whole number, got \\"0\\"');
    expect(text).not.toContain(PASSWORD);
  });

  test('a bad DATABASE_URL fallback is reported under that name', async () => {
    const { code, text } = await runToExit({ DATABASE_URL: `postgresql://app:${PASSWORD}@db.internal:5432/` });
    expect(code).toBe(EXIT_CONFIG);
    expect(text).toContain('DATABASE_URL must name a host and a database: postgresql://app:***@db.internal:5432/');
    expect(text).not.toContain(PASSWORD);
  });

  test('every problem is reported in one go: URL, PORT and LOG_LEVEL', async () => {
    const { code, lines } = await runToExit({ PORT: 'eighty', LOG_LEVEL: 'loud' });
    expect(code).toBe(EXIT_CONFIG);
    const fatal = lines.find((l) => l.level === 60);
    expect(fatal?.problems).toEqual([
      'AUTH_DATABASE_URL (or DATABASE_URL) is not set; expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE',
      'PORT must be a whole number from 0 to 65535, got "eighty"',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ]);
  });
});

describe('a running service process', () => {
  test('a port already taken exits 1 with a message naming the port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const { code, lines } = await runToExit({ AUTH_DATABASE_URL: db.url, PORT: String(port) });
      expect(code).toBe(1);
      expect(lines.find((l) => l.level === 60)?.msg).toBe(
        `could not start: port ${port} on 127.0.0.1 is already in use; set PORT to a free one`,
      );
    } finally {
      blocker.close();
    }
  });

  test('DATABASE_URL is used when the service has no variable of its own, and the log shows the URL without its password', async () => {
    const service = await startService('catalog-service', { DATABASE_URL: db.url });
    children.push(service);
    try {
      expect((await get(`${service.url}/health/db`)).status).toBe(200);
      const starting = logLines(service.output).find((l) => l.msg === 'starting');
      expect(starting).toMatchObject({ source: 'DATABASE_URL', database: expect.stringContaining(':***@') });
      expect(service.output.join('\n')).not.toContain(`:${new URL(db.url).password}@`);
    } finally {
      await service.stop();
    }
  });

  describe('graceful shutdown', () => {
    let proxy: PostgresProxy;
    let service: RunningService;

    beforeAll(async () => {
      proxy = await startPostgresProxy(Number(new URL(db.url).port));
      const url = new URL(db.url);
      url.port = String(proxy.port);
      service = await startService('auth-service', {
        AUTH_DATABASE_URL: url.toString(),
        HEALTH_TIMEOUT_MS: '20000',
        HEALTH_CACHE_MS: '0',
      });
      children.push(service);
    });
    afterAll(async () => {
      killIfRunning(service?.child);
      await proxy?.close();
    });

    test('on SIGTERM it stops accepting, finishes the in-flight request, disconnects and exits 0', async () => {
      // A slow database keeps one /health/db request in flight for a second or more.
      proxy.setMode({ kind: 'delay', ms: 400 });
      const requestStarted = performance.now();
      const inFlight = get(`${service.url}/health/db`, {}, 30_000);
      await sleep(300);
      const signalledAt = performance.now();
      service.child.kill('SIGTERM');

      await sleep(200);
      await expect(get(`${service.url}/health/live`, {}, 2000)).rejects.toThrow();

      const answer = await inFlight;
      const answeredAt = performance.now();
      const code = await service.exited;
      const exitedAt = performance.now();
      expect(answer.status).toBe(200);
      expect(answer.body).toMatch(/^\{"status":"healthy","database":"connected","latency_ms":\d+\}$/);
      expect(answeredAt - requestStarted).toBeGreaterThan(800); // it really was in flight across the signal
      expect(code).toBe(0);

      const messages = logLines(service.output).map((l) => l.msg);
      const order = ['signal received', 'shutting down', 'stopped'].map((m) =>
        messages.findIndex((msg) => typeof msg === 'string' && msg.startsWith(m)),
      );
      expect(order.every((index) => index >= 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
      expect(logLines(service.output).find((l) => l.msg === 'stopped')).toMatchObject({ drained: true });
      measured['SIGTERM to exit, ms'] = Math.round(exitedAt - signalledAt);
      measured['in-flight answer after SIGTERM, ms'] = Math.round(answeredAt - signalledAt);
      expect(exitedAt - signalledAt).toBeLessThan(5000);
    });
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { REPO_ROOT, type ServiceName } from '@webrana/registry';

/** A service's compiled entry point (`npm test` builds before jest runs). */
export function serviceMain(service: ServiceName): string {
  return path.join(REPO_ROOT, 'services', service, 'dist', 'src', 'main.js');
}

/** The environment without any database URL the developer or CI may have exported. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.endsWith('DATABASE_URL')) delete env[key];
  return { ...env, ...extra };
}

export interface SpawnedService {
  child: ChildProcess;
  /** Every line the process wrote to stdout or stderr so far. */
  output: string[];
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
}

export function spawnService(service: ServiceName, env: Record<string, string>): SpawnedService {
  const child = spawn(process.execPath, [serviceMain(service)], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream }).on('line', (line) => output.push(line));
  }
  // 'close' (not 'exit') waits for stdout and stderr to be read to the end.
  const exited = new Promise<number | string>((resolve) =>
    child.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return { child, output, exited };
}

/** The JSON log lines of a process, parsed (other lines are skipped). */
export function logLines(output: readonly string[]): Record<string, unknown>[] {
  return output.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

export interface RunningService extends SpawnedService {
  service: ServiceName;
  url: string;
  pid: number;
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number | string>;
}

/** Spawns a service on a free loopback port and waits for its "listening" log line. */
export async function startService(service: ServiceName, env: Record<string, string>): Promise<RunningService> {
  const spawned = spawnService(service, { HOST: '127.0.0.1', PORT: '0', ...env });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const listening = logLines(spawned.output).find((line) => line.msg === 'listening');
    if (listening) {
      return {
        ...spawned,
        service,
        url: `http://127.0.0.1:${listening.port}`,
        pid: spawned.child.pid!,
        stop: () => {
          spawned.child.kill('SIGTERM');
          return spawned.exited;
        },
      };
    }
    const early = await Promise.race([spawned.exited, sleep(25).then(() => undefined)]);
    if (early !== undefined || Date.now() > deadline) {
      spawned.child.kill('SIGKILL');
      throw new Error(`${service} did not start (exit ${early}):\n${spawned.output.join('\n')}`);
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface TimedResponse {
  status: number;
  contentType: string;
  body: string;
  ms: number;
}

/** GET with a client-side limit, so a hanging server fails the test instead of the jest timeout. */
export async function get(url: string, headers: Record<string, string> = {}, limitMs = 10_000): Promise<TimedResponse> {
  const started = performance.now();
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(limitMs) });
  const body = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    body,
    ms: performance.now() - started,
  };
}

/** The value of one sample in Prometheus text, e.g. sample(text, 'webrana_db_up') -> 1. */
export function sample(metricsText: string, name: string): number | undefined {
  const line = metricsText.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Prometheus' scrape Accept header, as Prometheus 2.42 sends it. */
export const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
  'text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

export type ProxyMode = { kind: 'pass' } | { kind: 'delay'; ms: number };

export interface PostgresProxy {
  port: number;
  /** Round trips clients started: simple queries ('Q') plus extended-protocol syncs ('S'). */
  roundTrips(): number;
  /** Connections clients opened through the proxy. */
  connections(): number;
  /** Changes how server replies are passed on; existing connections are reset, like a network change. */
  setMode(mode: ProxyMode): void;
  close(): Promise<void>;
}

const SSL_REQUEST_CODE = 80877103;
const GSSENC_REQUEST_CODE = 80877104;

/**
 * Counts the round trips a client stream starts. PostgreSQL's frontend protocol: an untyped startup
 * packet (possibly preceded by an SSL/GSS request), then messages of one type byte and an int32 length.
 */
export function frontendMessageCounter(): { push(chunk: Buffer): void; roundTrips(): number } {
  let buffered = Buffer.alloc(0);
  let startupDone = false;
  let count = 0;
  return {
    push(chunk) {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        if (!startupDone) {
          if (buffered.length < 8) return;
          const length = buffered.readInt32BE(0);
          if (buffered.length < length) return;
          const code = buffered.readInt32BE(4);
          if (code !== SSL_REQUEST_CODE && code !== GSSENC_REQUEST_CODE) startupDone = true;
          buffered = buffered.subarray(length);
          continue;
        }
        if (buffered.length < 5) return;
        const length = buffered.readInt32BE(1) + 1;
        if (buffered.length < length) return;
        const type = String.fromCharCode(buffered[0]!);
        if (type === 'Q' || type === 'S') count += 1;
        buffered = buffered.subarray(length);
      }
    },
    roundTrips: () => count,
  };
}

/**
 * A TCP proxy in front of a real PostgreSQL: counts the round trips that reach the server, and can
 * delay the server's answers to make the database slow or, with a long delay, hang.
 */
export async function startPostgresProxy(targetPort: number): Promise<PostgresProxy> {
  let mode: ProxyMode = { kind: 'pass' };
  let roundTrips = 0;
  let connections = 0;
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();

  const server = net.createServer((client) => {
    connections += 1;
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    const counter = frontendMessageCounter();
    client.on('data', (chunk) => {
      const before = counter.roundTrips();
      counter.push(chunk);
      roundTrips += counter.roundTrips() - before;
      upstream.write(chunk);
    });
    const delayed = new Set<NodeJS.Timeout>();
    upstream.on('data', (chunk) => {
      if (mode.kind !== 'delay') return void client.write(chunk);
      const timer = setTimeout(() => {
        delayed.delete(timer);
        client.write(chunk);
      }, mode.ms);
      delayed.add(timer);
    });
    const end = () => {
      delayed.forEach(clearTimeout);
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const reset = () => {
    for (const { client, upstream } of pairs) {
      client.destroy();
      upstream.destroy();
    }
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    roundTrips: () => roundTrips,
    connections: () => connections,
    setMode(next) {
      mode = next;
      reset();
    },
    close: async () => {
      reset();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Kills a child that a failed test left behind (tests stop their children themselves when they pass). */
export function killIfRunning(child: ChildProcess | undefined): void {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

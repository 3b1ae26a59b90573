import * as fsp from 'node:fs/promises';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@webrana/logger';

/**
 * The kubelet's container log endpoint, the one the apiserver proxies `GET pods/<name>/log` to
 * (`kubectl logs`, and helm printing a failed hook's output): HTTPS on the Node's
 * daemonEndpoints.kubeletEndpoint port, answering only clients whose certificate the lab CA signed
 * (the apiserver's --kubelet-client-certificate). Timestamps and since-filters are not recorded by
 * this kubelet, so asking for them is refused rather than silently ignored.
 */
export interface LogRequest {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly follow: boolean;
  readonly previous: boolean;
  readonly tailLines?: number;
  readonly limitBytes?: number;
}

/** A container's log files on this node, found by the kubelet's pod workers. */
export interface ContainerLogs {
  /** The log file of one run: 0 for the first, then one per restart. */
  readonly file: (restart: number) => string;
  readonly restartCount: number;
  /** Whether the current run is still writing (a follow request waits for more while it is). */
  readonly running: () => boolean;
}
export type FindContainerLogs = (namespace: string, pod: string, container: string) => ContainerLogs | undefined;

export class BadLogRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const UNSUPPORTED = ['timestamps', 'sinceSeconds', 'sinceTime'] as const;

/** `/containerLogs/<ns>/<pod>/<container>?follow=&previous=&tailLines=&limitBytes=`; throws BadLogRequest. */
export function parseLogRequest(url: URL): LogRequest {
  const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)\/?$/.exec(url.pathname);
  if (!m)
    throw new BadLogRequest(
      404,
      `not found: ${url.pathname} (this kubelet serves /containerLogs/<namespace>/<pod>/<container>)`,
    );
  const q = url.searchParams;
  for (const name of UNSUPPORTED) {
    if (q.has(name) && q.get(name) !== 'false') {
      throw new BadLogRequest(
        400,
        `${name} is not supported: the kube-lab kubelet records container output without times`,
      );
    }
  }
  const flag = (name: string): boolean => q.get(name) === 'true';
  const count = (name: string): number | undefined => {
    const raw = q.get(name);
    if (raw === null) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0)
      throw new BadLogRequest(400, `${name} must be a whole number >= 0, got "${raw}"`);
    return n;
  };
  const [, namespace = '', pod = '', container = ''] = m.map((part) => decodeURIComponent(part));
  return {
    namespace,
    pod,
    container,
    follow: flag('follow'),
    previous: flag('previous'),
    tailLines: count('tailLines'),
    limitBytes: count('limitBytes'),
  };
}

/** Where the last `lines` lines of `text` start (a final line without a newline counts as a line). */
export function tailOffset(text: Buffer, lines: number): number {
  if (lines === 0) return text.length;
  let end = text.length;
  if (end > 0 && text[end - 1] === 0x0a) end--; // the trailing newline ends the last line, it does not start one
  for (let seen = 0, i = end - 1; i >= 0; i--) {
    if (text[i] === 0x0a && ++seen === lines) return i + 1;
  }
  return 0;
}

const FOLLOW_POLL_MS = 200;

/** Starts the endpoint on 127.0.0.1 (port 0 = any free port); resolves with the port it listens on. */
export async function startLogServer(
  tls: { cert: Buffer; key: Buffer; ca: Buffer },
  port: number,
  find: FindContainerLogs,
  log: Logger,
): Promise<{ port: number; close: () => Promise<void> }> {
  const server = https.createServer({ ...tls, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    void serve(req.url ?? '/', res, find).catch((err: unknown) => {
      const status = err instanceof BadLogRequest ? err.status : 500;
      if (status === 500) log.warn({ err, url: req.url }, 'container log request failed');
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function serve(url: string, res: import('node:http').ServerResponse, find: FindContainerLogs): Promise<void> {
  const request = parseLogRequest(new URL(url, 'https://kubelet'));
  const { namespace, pod, container } = request;
  const logs = find(namespace, pod, container);
  if (!logs) throw new BadLogRequest(404, `container "${container}" of pod ${namespace}/${pod} is not on this node`);
  if (request.previous && logs.restartCount === 0) {
    throw new BadLogRequest(400, `previous terminated container "${container}" in pod "${pod}" not found`);
  }
  let file = logs.file(request.previous ? logs.restartCount - 1 : logs.restartCount);
  let text = await fsp.readFile(file).catch(() => undefined);
  // Waiting to restart (CrashLoopBackOff): the current run has no output yet, so show the last one, as kubelets do.
  let follow = request.follow && !request.previous;
  if (text === undefined && !request.previous && logs.restartCount > 0) {
    file = logs.file(logs.restartCount - 1);
    text = await fsp.readFile(file).catch(() => undefined);
    follow = false;
  }
  text ??= Buffer.alloc(0);
  let offset = request.tailLines === undefined ? 0 : tailOffset(text, request.tailLines);
  let budget = request.limitBytes ?? Infinity;
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  const send = (chunk: Buffer): void => {
    const part = chunk.subarray(0, Math.min(chunk.length, budget));
    if (part.length > 0) res.write(part);
    budget -= part.length;
    offset += part.length;
  };
  send(text.subarray(offset));
  // Following the current run: poll for what it writes until it exits (then send the rest) or the client leaves.
  let open = true;
  res.once('close', () => (open = false));
  while (follow && open && budget > 0) {
    const wasRunning = logs.running();
    const more = await readFrom(file, offset);
    if (more.length > 0) send(more);
    else if (!wasRunning) break;
    else await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
  }
  res.end();
}

async function readFrom(file: string, offset: number): Promise<Buffer> {
  const handle = await fsp.open(file, 'r').catch(() => undefined);
  if (!handle) return Buffer.alloc(0);
  try {
    const { size } = await handle.stat();
    if (size <= offset) return Buffer.alloc(0);
    const buffer = Buffer.alloc(size - offset);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

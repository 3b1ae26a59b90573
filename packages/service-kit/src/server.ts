import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@webrana/logger';
import type { Lifecycle } from './lifecycle';

export interface StartServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  lifecycle: Lifecycle;
  /** How long stop() lets in-flight requests run before closing their connections. */
  shutdownTimeoutMs: number;
  logger: Logger;
}

export interface StopOutcome {
  /** Every in-flight request finished on its own (false: some were cut at the deadline). */
  drained: boolean;
  durationMs: number;
}

export interface RunningServer {
  server: http.Server;
  port: number;
  /** http://host:port, with a loopback host when listening on every interface. */
  url: string;
  /** Not ready, stop accepting, let in-flight requests finish (bounded). Safe to call more than once. */
  stop(): Promise<StopOutcome>;
}

/** Listening failed because another process holds the port. */
export class PortInUseError extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(`port ${port} on ${host} is already in use; set PORT to a free one`);
  }
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(host, port) : error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Serves `handler` (an Express app) and returns how to stop it gracefully. */
export async function startServer(handler: http.RequestListener, options: StartServerOptions): Promise<RunningServer> {
  const server = http.createServer(handler);
  let inFlight = 0;
  let stopping: Promise<StopOutcome> | undefined;
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    inFlight += 1;
    res.once('close', () => {
      inFlight -= 1;
      // A keep-alive connection whose last request just finished would otherwise hold close() open.
      if (stopping) server.closeIdleConnections();
    });
  });

  await listen(server, options.host, options.port);
  const { port } = server.address() as AddressInfo;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;

  async function shutDown(): Promise<StopOutcome> {
    const started = performance.now();
    options.lifecycle.beginShutdown();
    options.logger.info({ inFlight }, 'shutting down: not ready, no new connections, finishing in-flight requests');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const drained = await Promise.race([closed.then(() => true), sleep(options.shutdownTimeoutMs).then(() => false)]);
    if (!drained) {
      options.logger.warn(
        { inFlight, shutdownTimeoutMs: options.shutdownTimeoutMs },
        'in-flight requests outlived the shutdown timeout; closing their connections',
      );
      server.closeAllConnections();
      await closed;
    }
    return { drained, durationMs: Math.round(performance.now() - started) };
  }

  return {
    server,
    port,
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    stop: () => (stopping ??= shutDown()),
  };
}

import * as http from 'node:http';
import * as net from 'node:net';
import type { Logger } from '@webrana/logger';
import { drainPeriodMs, mayCloseConnection, type ConnectionState, type Lifecycle } from './lifecycle';

export interface StartServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  lifecycle: Lifecycle;
  /** How long stop() lets in-flight requests run before closing their connections. */
  shutdownTimeoutMs: number;
  /** How long stop() keeps serving open keep-alive connections as usual (default: drainPeriodMs). */
  drainMs?: number;
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

/**
 * Serves `handler` (an Express app) and returns how to stop it without failing a request:
 *
 * 1. not ready, and the listening socket closes (no new connections; the pod's preStop delay has
 *    already taken it out of the Service's endpoints);
 * 2. drain: for a short period the open keep-alive connections are served as usual, so requests a
 *    client has queued on them still complete; no idle connection is closed, because a client may be
 *    sending a request on it at that very moment (closing it then is the ECONNRESET);
 * 3. close: every response carries `Connection: close` (the client opens its next connection
 *    elsewhere, and Node closes this one after the answer), a connection idle for IDLE_GRACE_MS is
 *    closed, and in-flight requests finish, until the deadline (shutdownTimeoutMs from the start),
 *    when every connection is closed.
 */
export async function startServer(handler: http.RequestListener, options: StartServerOptions): Promise<RunningServer> {
  const server = http.createServer();
  const inFlight = new Set<http.ServerResponse>();
  const connections = new Map<net.Socket, ConnectionState>();
  let phase: 'serving' | 'draining' | 'closing' = 'serving';
  let stopping: Promise<StopOutcome> | undefined;
  server.on('connection', (socket: net.Socket) => {
    connections.set(socket, { active: 0, idleSince: performance.now(), bytesReadWhenIdle: 0 });
    socket.once('close', () => connections.delete(socket));
  });
  // Registered before the handler, so the header is set before an Express route answers synchronously.
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const connection = connections.get(req.socket);
    if (connection) connection.active += 1;
    inFlight.add(res);
    if (phase === 'closing') res.setHeader('Connection', 'close');
    res.once('close', () => {
      inFlight.delete(res);
      if (!connection) return;
      connection.active -= 1;
      connection.idleSince = performance.now();
      connection.bytesReadWhenIdle = req.socket.bytesRead;
    });
  });
  server.on('request', handler);

  await listen(server, options.host, options.port);
  const { port } = server.address() as net.AddressInfo;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;

  async function shutDown(): Promise<StopOutcome> {
    const started = performance.now();
    const drainMs = options.drainMs ?? drainPeriodMs(options.shutdownTimeoutMs);
    options.lifecycle.beginShutdown();
    phase = 'draining';
    options.logger.info(
      { inFlight: inFlight.size, drainMs },
      'shutting down: not ready, no new connections, finishing in-flight requests',
    );
    // net.Server's close only stops listening; http.Server's would also close every idle keep-alive
    // connection at once, racing the request a client may be sending on it. Resolves when the last
    // connection has ended.
    const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
    const allGone = await Promise.race([closed.then(() => true), sleep(drainMs).then(() => false)]);

    let sweeper: NodeJS.Timeout | undefined;
    if (!allGone) {
      phase = 'closing';
      for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      const closeIdle = () => {
        const now = performance.now();
        for (const [socket, state] of connections)
          if (mayCloseConnection(state, socket.bytesRead, now)) socket.destroy();
      };
      closeIdle();
      sweeper = setInterval(closeIdle, 50);
    }
    const remainingMs = Math.max(0, options.shutdownTimeoutMs - (performance.now() - started));
    const drained = await Promise.race([closed.then(() => true), sleep(remainingMs).then(() => false)]);
    if (!drained) {
      options.logger.warn(
        { inFlight: inFlight.size, shutdownTimeoutMs: options.shutdownTimeoutMs },
        'in-flight requests outlived the shutdown timeout; closing their connections',
      );
      server.closeAllConnections();
      await closed;
    }
    clearInterval(sweeper);
    return { drained, durationMs: Math.round(performance.now() - started) };
  }

  return {
    server,
    port,
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    stop: () => (stopping ??= shutDown()),
  };
}

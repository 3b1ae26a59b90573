import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry, RegistryContentType } from 'prom-client';
import type { Lifecycle } from './lifecycle';
import type { ServiceMetrics } from './metrics';
import { parseMediaType, preferredOffer } from './negotiate';
import type { DatabaseProbe, ProbeResult } from './probe';

/** The spec's /health/db body, keys in the spec's order. */
export type DatabaseHealthBody =
  | { status: 'healthy'; database: 'connected'; latency_ms: number }
  | { status: 'unhealthy'; database: 'disconnected'; latency_ms: number; error: string };

export function databaseHealth(result: ProbeResult): { statusCode: 200 | 503; body: DatabaseHealthBody } {
  const latency_ms = Math.round(result.latencyMs);
  if (result.ok) return { statusCode: 200, body: { status: 'healthy', database: 'connected', latency_ms } };
  return {
    statusCode: 503,
    body: { status: 'unhealthy', database: 'disconnected', latency_ms, error: result.error ?? 'unknown error' },
  };
}

export type HealthFormat = 'json' | 'openmetrics' | 'prometheus';

// The versions prom-client writes: Prometheus asks for `application/openmetrics-text;version=1.0.0`, and a
// range with a version only matches that version.
const FORMATS: readonly HealthFormat[] = ['json', 'openmetrics', 'prometheus'];
const OFFERS = ['application/json', 'application/openmetrics-text;version=1.0.0', 'text/plain;version=0.0.4'].map(
  parseMediaType,
);

/**
 * JSON unless the client prefers a Prometheus format: Prometheus' scrape Accept header lists OpenMetrics
 * first and text 0.0.4 second. Kubelet probes, curl and browsers (wildcard Accept) get JSON, and so does
 * a client that accepts none of the three (a probe should never get a 406).
 */
export function healthFormatFor(accept: string | undefined): HealthFormat {
  // Probes and load generators send no Accept or a wildcard: skip parsing on the hot path.
  if (!accept || accept === '*/*' || accept === 'application/json') return 'json';
  return FORMATS[preferredOffer(accept, OFFERS)] ?? 'json';
}

function send(res: ServerResponse, statusCode: number, contentType: string, text: string): void {
  res.writeHead(statusCode, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

function sendJson(res: ServerResponse, statusCode: number, body: unknown): void {
  send(res, statusCode, 'application/json; charset=utf-8', JSON.stringify(body));
}

async function sendRegistry(
  res: ServerResponse,
  statusCode: number,
  registry: Registry<RegistryContentType>,
): Promise<void> {
  send(res, statusCode, registry.contentType, await registry.metrics());
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HealthRoutesDeps {
  probe: DatabaseProbe;
  lifecycle: Lifecycle;
  metrics: ServiceMetrics;
}

/** GET handlers by path: /health/live, /health/ready, /health/db and /metrics. */
export function healthRoutes({ probe, lifecycle, metrics }: HealthRoutesDeps): ReadonlyMap<string, Handler> {
  const routes: Record<string, Handler> = {
    /** The process answers. Nothing else is checked, so a database outage never gets the pod restarted. */
    '/health/live': (_req, res) => sendJson(res, 200, { status: 'alive' }),

    /** Ready for traffic: not shutting down, and the database answers. */
    '/health/ready': async (_req, res) => {
      if (lifecycle.shuttingDown) return sendJson(res, 503, { status: 'not_ready', reason: 'shutting down' });
      const result = await probe.check();
      if (result.ok) return sendJson(res, 200, { status: 'ready' });
      sendJson(res, 503, { status: 'not_ready', reason: 'database disconnected' });
    },

    '/health/db': async (req, res) => {
      const { statusCode, body } = databaseHealth(await probe.check());
      const format = healthFormatFor(req.headers.accept);
      if (format === 'json') return sendJson(res, statusCode, body);
      const { openMetrics, prometheus } = metrics.databaseRegistries;
      await sendRegistry(res, statusCode, format === 'openmetrics' ? openMetrics : prometheus);
    },

    /** Refreshes the database gauges first; the probe's deadline keeps this bounded when the database hangs. */
    '/metrics': async (_req, res) => {
      await probe.check();
      await sendRegistry(res, 200, metrics.registry);
    },
  };
  // A Map, so a request path can never reach an Object.prototype member.
  return new Map(Object.entries(routes));
}

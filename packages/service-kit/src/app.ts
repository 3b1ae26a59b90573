import type { RequestListener } from 'node:http';
import type { Logger } from '@webrana/logger';
import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler } from 'express';
import type { ServiceConfig } from './config';
import type { ServiceDatabase } from './database';
import { healthRoutes } from './health';
import type { Lifecycle } from './lifecycle';
import { createServiceMetrics, type ServiceMetrics } from './metrics';
import { createSingleFlightProbe, type ProbeResult } from './probe';

/** What a service app is built from; `main` creates these, tests create their own. */
export interface ServiceDeps<P = unknown> {
  config: ServiceConfig;
  logger: Logger;
  database: Pick<ServiceDatabase<P>, 'ping' | 'prisma'>;
  lifecycle: Lifecycle;
}

/** The route pattern that matched, never the raw path (ids in paths would explode the label set). */
export function routeLabel(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  return typeof route?.path === 'string' ? req.baseUrl + route.path : 'unmatched';
}

function requestDurations(metrics: ServiceMetrics): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.observeRequest({ method: req.method, route: routeLabel(req), status: res.statusCode }, seconds);
    });
    next();
  };
}

/** Logs when the database goes away and when it comes back, not every probe. */
function databaseStateLogger(logger: Logger): (result: ProbeResult) => void {
  let wasUp: boolean | undefined;
  return (result) => {
    if (result.ok === wasUp) return;
    if (result.ok) logger.info({ latencyMs: Math.round(result.latencyMs) }, 'database connected');
    else logger.warn({ reason: result.error, err: result.cause }, 'database unreachable');
    wasUp = result.ok;
  };
}

/** The path of a request URL, without its query string. */
function pathOf(url = ''): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * A service's HTTP app: /health/live, /health/ready, /health/db and /metrics, then the service's own
 * routes on Express. Never listens (see startServer) and keeps no state outside itself.
 *
 * The health and metrics routes are answered before Express: kubelets and Prometheus call them all
 * the time, and Express' per-request work costs more than the whole health answer (see bench/).
 */
export function createServiceApp<P>(deps: ServiceDeps<P>, mountRoutes?: (app: Express) => void): RequestListener {
  const { config, logger, database, lifecycle } = deps;
  const metrics = createServiceMetrics(config.service);
  const logDatabaseState = databaseStateLogger(logger);
  const probe = createSingleFlightProbe({
    ping: () => database.ping(config.healthTimeoutMs),
    timeoutMs: config.healthTimeoutMs,
    reuseMs: config.healthCacheMs,
    onResult: (result) => {
      metrics.recordProbe(result);
      logDatabaseState(result);
    },
  });
  const routes = healthRoutes({ probe, lifecycle, metrics });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestDurations(metrics));
  mountRoutes?.(app);
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  const onError: ErrorRequestHandler = (error, req, res, _next) => {
    logger.error({ err: error, method: req.method, route: routeLabel(req) }, 'request failed');
    if (res.headersSent) return res.destroy();
    res.status(500).json({ error: 'internal error' });
  };
  app.use(onError);

  return function serviceApp(req, res) {
    const path = pathOf(req.url);
    const handler = req.method === 'GET' || req.method === 'HEAD' ? routes.get(path) : undefined;
    if (!handler) return void app(req, res);
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.observeRequest({ method: req.method!, route: path, status: res.statusCode }, seconds);
    });
    Promise.resolve(handler(req, res)).catch((error: unknown) => {
      logger.error({ err: error, method: req.method, route: path }, 'request failed');
      if (res.headersSent) return void res.destroy();
      res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end('{"error":"internal error"}');
    });
  };
}

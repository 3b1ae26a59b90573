import * as http from 'node:http';
import type { Registry } from 'prom-client';

/**
 * The operator's HTTP endpoints: /metrics (Prometheus text, or OpenMetrics when asked), /healthz
 * (the process and its event loop answer), /readyz (200 once this replica is either standing by or
 * leading with synced caches; 503 while shutting down or while the leader's caches sync).
 * The server is created, never started, here: `listen` is the caller's.
 */
interface Probes {
  ready(): { ok: boolean; detail: string };
}

export function createHttpServer(registry: Registry, probes: Probes): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz' || path === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      const { ok, detail } = probes.ready();
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(`${detail}\n`);
      return;
    }
    if (path === '/metrics') {
      registry
        .metrics()
        .then((text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text))
        .catch((err: Error) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${err.message}\n`));
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
  });
}

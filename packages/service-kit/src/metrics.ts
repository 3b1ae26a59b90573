import { collectDefaultMetrics, Gauge, Histogram, Registry, type RegistryContentType } from 'prom-client';
import type { ProbeResult } from './probe';

/** One app's metrics. A registry per app (not prom-client's global one), so apps never share series. */
export interface ServiceMetrics {
  /** Everything: default process metrics, HTTP durations, database gauges. Served on /metrics. */
  registry: Registry<RegistryContentType>;
  /** Only the database gauges, in each format /health/db can answer in. */
  databaseRegistries: { prometheus: Registry<RegistryContentType>; openMetrics: Registry<RegistryContentType> };
  recordProbe(result: ProbeResult): void;
  observeRequest(labels: { method: string; route: string; status: number }, seconds: number): void;
}

// Health checks and probes take about a millisecond, so the buckets start well below prom-client's 5 ms.
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = new Registry<RegistryContentType>();
  const prometheus = new Registry<RegistryContentType>();
  const openMetrics = new Registry<RegistryContentType>();
  openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const databaseRegisters = [registry, prometheus, openMetrics];
  for (const r of databaseRegisters) r.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });

  const dbUp = new Gauge({
    name: 'webrana_db_up',
    help: 'Whether the last database probe (SELECT 1) succeeded: 1 connected, 0 disconnected.',
    registers: databaseRegisters,
  });
  const probeLatency = new Gauge({
    name: 'webrana_db_probe_latency_seconds',
    help: 'How long the last database probe took, including the wait for a pooled connection (the timeout when it got no answer).',
    registers: databaseRegisters,
  });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by method, route and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });

  return {
    registry,
    databaseRegistries: { prometheus, openMetrics },
    recordProbe(result) {
      dbUp.set(result.ok ? 1 : 0);
      probeLatency.set(result.latencyMs / 1000);
    },
    observeRequest({ method, route, status }, seconds) {
      httpDuration.observe({ method, route, status_code: status }, seconds);
    },
  };
}

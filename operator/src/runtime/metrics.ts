import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The operator's Prometheus metrics, in a registry of its own (no global state). */
export interface OperatorMetrics {
  readonly registry: Registry;
  readonly reconciles: Counter<'result'>;
  readonly reconcileErrors: Counter;
  readonly reconcileDuration: Histogram;
  readonly queueDepth: Gauge;
  readonly queueAdds: Counter;
  readonly apiRequests: Counter<'verb' | 'resource' | 'code'>;
  readonly apiDuration: Histogram<'verb'>;
  readonly statusWrites: Counter<'result'>;
  readonly jobsCreated: Counter;
  readonly leader: Gauge;
}

export function createMetrics(queueDepth: () => number, opts: { defaultMetrics?: boolean } = {}): OperatorMetrics {
  const registry = new Registry();
  const prefix = 'webrana_operator_';
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    reconciles: new Counter({
      name: `${prefix}reconcile_total`,
      help: 'Reconciles of WebranaDatabase resources, by result (success, error).',
      labelNames: ['result'],
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: `${prefix}reconcile_errors_total`,
      help: 'Reconciles that failed and were re-queued with backoff.',
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: `${prefix}reconcile_duration_seconds`,
      help: 'Time one reconcile took.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: `${prefix}workqueue_depth`,
      help: 'Keys waiting in the work queue.',
      registers: [registry],
      collect() {
        this.set(queueDepth());
      },
    }),
    queueAdds: new Counter({
      name: `${prefix}workqueue_adds_total`,
      help: 'Keys added to the work queue (before de-duplication).',
      registers: [registry],
    }),
    apiRequests: new Counter({
      name: `${prefix}api_requests_total`,
      help: 'Requests to the Kubernetes API, by verb, resource and HTTP code (0: no response).',
      labelNames: ['verb', 'resource', 'code'],
      registers: [registry],
    }),
    apiDuration: new Histogram({
      name: `${prefix}api_request_duration_seconds`,
      help: 'Kubernetes API request latency (watches excluded).',
      labelNames: ['verb'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    statusWrites: new Counter({
      name: `${prefix}status_updates_total`,
      help: 'Status computations, by result: written (changed), unchanged (no request sent) or conflict (refused: stale resourceVersion).',
      labelNames: ['result'],
      registers: [registry],
    }),
    jobsCreated: new Counter({
      name: `${prefix}migration_jobs_created_total`,
      help: 'Migration Jobs created.',
      registers: [registry],
    }),
    leader: new Gauge({
      name: `${prefix}leader`,
      help: '1 while this replica holds the leader Lease.',
      registers: [registry],
    }),
  };
}

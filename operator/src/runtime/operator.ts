import type * as http from 'node:http';
import type { Logger } from '@webrana/logger';
import type { OperatorConfig } from './config';
import { Controller } from './controller';
import { WorkQueue } from './queue';
import { KubeClient } from './client';
import type { KubeAccess } from './kubeconfig';
import { clusterView, createInformers, type Informers } from './informers';
import { clusterWriter, restoreWriter } from './writer';
import { RESTORE_KEY_PREFIX, RestoreReconciler } from '../restore/reconcile';
import type { WebranaRestore } from '../restore/api';
import { LeaderElector } from './leader';
import { createMetrics, type OperatorMetrics } from './metrics';
import { Reconciler } from '../reconcile';
import { createHttpServer } from './server';
import type { WebranaDatabase } from '../api/types';
import type { Job } from '../k8s';

/**
 * The operator assembled: HTTP endpoints, leader election, and, while leading, the informers, the
 * work queue and its workers. `start` never touches `process`; main.ts owns signals and exit codes.
 */
export interface Operator {
  readonly server: http.Server;
  readonly metrics: OperatorMetrics;
  /** Campaign for the Lease (or start at once without leader election). */
  start(): void;
  /** Graceful stop: not ready, no new reconciles, wait for running ones, stop watches, hand the Lease over. */
  stop(): Promise<void>;
}

interface OperatorDeps {
  readonly config: OperatorConfig;
  readonly kc: KubeAccess;
  readonly log: Logger;
  /** Called when leadership is lost: the process must exit. */
  readonly onFatal: (reason: string) => void;
}

export function createOperator({ config, kc, log, onFatal }: OperatorDeps): Operator {
  const queue = new WorkQueue();
  // Read at scrape time; `informers` exists by then (and lists nothing until this replica leads).
  const metrics = createMetrics(() => queue.length, {
    backups: {
      databases: () => (leading ? (informers.databases.cache.list() as WebranaDatabase[]) : []),
      jobs: () => (leading ? (informers.jobs.cache.list() as unknown as Job[]) : []),
    },
  });
  const client = new KubeClient(kc, ({ verb, resource, code, seconds }) => {
    metrics.apiRequests.inc({ verb, resource, code: String(code) });
    metrics.apiDuration.observe({ verb }, seconds);
  });
  const enqueue = (key: string) => {
    metrics.queueAdds.inc();
    queue.add(key);
  };
  const informers: Informers = createInformers(
    client,
    log,
    enqueue,
    config.watchNamespace,
    (resource) => metrics.apiRequests.inc({ verb: 'watch', resource, code: '200' }),
    // A migration Job finished: a slot is free for resources waiting on MAX_ACTIVE_MIGRATIONS.
    () => {
      // (Called only once the informers run, after `reconciler` below exists.)
      for (const key of reconciler.takeSlotWaiters(2)) enqueue(key);
    },
  );
  const writer = clusterWriter(client);
  const reconciler = new Reconciler({
    view: clusterView(informers),
    writer,
    log,
    instance: config.identity,
    maxActiveMigrations: config.maxActiveMigrations,
  });
  const restores = new RestoreReconciler({
    view: {
      getRestore: (ns, name) => informers.restores.cache.get(name, ns) as WebranaRestore | undefined,
      getDatabase: (ns, name) => informers.databases.cache.get(name, ns) as WebranaDatabase | undefined,
      jobs: (ns, db) => clusterView(informers).jobs(ns, db),
    },
    writer: restoreWriter(client, writer),
    log,
    instance: config.identity,
  });
  // One queue for both kinds: WebranaDatabases are "namespace/name", WebranaRestores "restore:namespace/name".
  const dispatch = {
    reconcile: (key: string) =>
      key.startsWith(RESTORE_KEY_PREFIX)
        ? restores.reconcile(key.slice(RESTORE_KEY_PREFIX.length))
        : reconciler.reconcile(key),
  };
  const controller = new Controller({ queue, reconciler: dispatch, workers: config.workers, log, metrics });
  let leading = false;
  let stopping = false;
  let resync: NodeJS.Timeout | undefined;

  const allSynced = () => Object.values(informers).every((i) => i.synced());

  const server = createHttpServer(metrics.registry, {
    ready: () => {
      if (stopping) return { ok: false, detail: 'shutting down' };
      if (!leading) return { ok: true, detail: 'standing by (not the leader)' };
      return allSynced()
        ? { ok: true, detail: 'leading; caches synced' }
        : { ok: false, detail: 'leading; caches syncing' };
    },
  });

  const lead = async () => {
    leading = true;
    metrics.leader.set(1);
    const t0 = Date.now();
    await Promise.all(Object.values(informers).map((i) => i.start()));
    log.info(
      { databases: informers.databases.cache.list().length, ms: Date.now() - t0, synced: allSynced() },
      'caches started',
    );
    // Start the workers only once the Job and CronJob caches have listed: a reconcile on a cache that
    // has not seen existing Jobs would try to create them again.
    // The restores too: a WebranaDatabase reconcile must see a running restore before it starts a migration.
    while (!stopping && !(informers.jobs.synced() && informers.cronJobs.synced() && informers.restores.synced())) {
      await new Promise((r) => setTimeout(r, 200));
    }
    if (stopping) return;
    controller.start();
    for (const db of informers.databases.cache.list()) enqueue(`${db.metadata?.namespace}/${db.metadata?.name}`);
    for (const r of informers.restores.cache.list())
      enqueue(`${RESTORE_KEY_PREFIX}${r.metadata?.namespace}/${r.metadata?.name}`);
    if (config.resyncMs > 0) {
      resync = setInterval(() => {
        for (const db of informers.databases.cache.list()) enqueue(`${db.metadata?.namespace}/${db.metadata?.name}`);
        for (const r of informers.restores.cache.list())
          enqueue(`${RESTORE_KEY_PREFIX}${r.metadata?.namespace}/${r.metadata?.name}`);
      }, config.resyncMs);
      resync.unref();
    }
  };

  const elector = config.leaderElect
    ? new LeaderElector({
        client,
        namespace: config.namespace,
        name: config.leaseName,
        identity: config.identity,
        leaseDurationSeconds: config.leaseDurationSeconds,
        renewPeriodMs: config.renewPeriodMs,
        renewDeadlineMs: config.renewDeadlineMs,
        retryPeriodMs: config.retryPeriodMs,
        log,
        onStarted: () => {
          lead().catch((err: Error) => onFatal(`could not start leading: ${err.message}`));
        },
        onLost: () => {
          metrics.leader.set(0);
          onFatal('leadership lost');
        },
      })
    : undefined;

  return {
    server,
    metrics,
    start() {
      if (elector) {
        log.info(
          { lease: `${config.namespace}/${config.leaseName}`, identity: config.identity },
          'campaigning for leadership',
        );
        elector.start();
      } else {
        lead().catch((err: Error) => onFatal(`could not start: ${err.message}`));
      }
    },
    async stop() {
      stopping = true;
      if (resync) clearInterval(resync);
      const finished = await controller.stop(config.shutdownTimeoutMs);
      if (!finished)
        log.warn({ inProgress: controller.inProgress }, 'reconciles still running at the shutdown deadline');
      await Promise.all(Object.values(informers).map((i) => i.stop()));
      await elector?.release();
      metrics.leader.set(0);
      client.close();
    },
  };
}

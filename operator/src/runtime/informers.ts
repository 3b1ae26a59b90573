import { ListWatch, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '@webrana/logger';
import type { WebranaDatabase } from '../api/types';
import { jobOutcome } from '../jobs';
import type { CronJob, Job } from '../k8s';
import { LABELS, MANAGED_SELECTOR } from '../names';
import type { ClusterView } from '../reconcile';
import type { KubeClient } from './client';
import { paths } from './writer';

/**
 * The operator's cluster I/O: three informers (WebranaDatabases; Jobs and CronJobs labelled
 * managed-by=webrana-operator, which covers the migration Jobs, the backup CronJobs and the Jobs
 * those CronJobs create) and the writes. Informer caches answer every read the reconciler makes
 * except the pods of a failed Job, which are listed once per failure. The writes are in writer.ts.
 */

interface InformerHandle<T> {
  readonly name: string;
  readonly cache: ListWatch<KubernetesObject & T>;
  synced(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A client-node ListWatch that restarts itself: ListWatch re-lists after 410 Gone and resumes a
 * watch the server closed, but stops for good after any other error; this wrapper starts it again
 * after a growing delay (1 s doubling to 30 s) and reports whether the cache is synced.
 */
export function informer<T>(
  name: string,
  kc: KubeConfig,
  client: KubeClient,
  path: string,
  log: Logger,
  labelSelector?: string,
  onChange?: (obj: T, verb: 'add' | 'update' | 'delete') => void,
  onWatch?: () => void,
): InformerHandle<T> {
  const listFn = () =>
    client.listAll<KubernetesObject & T>(path, labelSelector ? { labelSelector } : {}) as Promise<{
      apiVersion?: string;
      kind?: string;
      items: (KubernetesObject & T)[];
      metadata: { resourceVersion?: string };
    }>;
  const cache = new ListWatch<KubernetesObject & T>(path, new Watch(kc), listFn, false, labelSelector);
  let synced = false;
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  cache.on('add', (o) => onChange?.(o, 'add'));
  cache.on('update', (o) => onChange?.(o, 'update'));
  cache.on('delete', (o) => onChange?.(o, 'delete'));
  cache.on('connect', () => onWatch?.());
  cache.on('error', (err) => {
    synced = false;
    if (stopped) return;
    const delay = Math.min(30_000, 1000 * 2 ** Math.min(failures++, 5));
    log.warn(
      { informer: name, err: (err as Error)?.message ?? String(err), retryInMs: delay },
      'watch failed; restarting',
    );
    timer = setTimeout(() => void start(), delay);
  });
  const start = async (): Promise<void> => {
    if (stopped) return;
    let failed = false;
    const onError = () => (failed = true);
    cache.on('error', onError);
    await cache.start();
    cache.off('error', onError);
    if (!failed) {
      synced = true;
      failures = 0;
    }
  };
  return {
    name,
    cache,
    synced: () => synced,
    start,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await cache.stop();
    },
  };
}

export interface Informers {
  readonly databases: InformerHandle<WebranaDatabase>;
  readonly jobs: InformerHandle<Job>;
  readonly cronJobs: InformerHandle<CronJob>;
}

/** The three informers, each change mapped to the key of the WebranaDatabase it concerns. */
export function createInformers(
  kc: KubeConfig,
  client: KubeClient,
  log: Logger,
  enqueue: (key: string) => void,
  namespace?: string,
  onWatch?: (resource: string) => void,
  onMigrationFinished?: () => void,
): Informers {
  const byLabel = (obj: { metadata?: { namespace?: string; labels?: Record<string, string> } }) => {
    const db = obj.metadata?.labels?.[LABELS.database];
    if (db && obj.metadata?.namespace) enqueue(`${obj.metadata.namespace}/${db}`);
  };
  const onJob = (job: Job, verb: 'add' | 'update' | 'delete') => {
    byLabel(job);
    if (
      job.metadata.labels?.[LABELS.component] === 'migration' &&
      (verb === 'delete' || jobOutcome(job) !== 'Running')
    ) {
      onMigrationFinished?.();
    }
  };
  return {
    databases: informer<WebranaDatabase>(
      'webranadatabases',
      kc,
      client,
      paths.databases(namespace),
      log,
      undefined,
      (o) => enqueue(`${o.metadata.namespace}/${o.metadata.name}`),
      () => onWatch?.('webranadatabases'),
    ),
    jobs: informer<Job>('jobs', kc, client, paths.jobs(namespace), log, MANAGED_SELECTOR, onJob, () =>
      onWatch?.('jobs'),
    ),
    cronJobs: informer<CronJob>('cronjobs', kc, client, paths.cronJobs(namespace), log, MANAGED_SELECTOR, byLabel, () =>
      onWatch?.('cronjobs'),
    ),
  };
}

export function clusterView(informers: Informers): ClusterView {
  const forDb = <T extends { metadata: { labels?: Record<string, string> } }>(items: readonly T[], db: string) =>
    items.filter((o) => o.metadata.labels?.[LABELS.database] === db);
  return {
    getDatabase: (ns, name) => informers.databases.cache.get(name, ns) as WebranaDatabase | undefined,
    jobs: (ns, db) => forDb(informers.jobs.cache.list(ns) as unknown as Job[], db),
    cronJobs: (ns, db) => forDb(informers.cronJobs.cache.list(ns) as unknown as CronJob[], db),
    migrationJobStates: () => {
      const states = new Map<string, boolean>();
      for (const j of informers.jobs.cache.list() as unknown as Job[]) {
        if (j.metadata.labels?.[LABELS.component] !== 'migration') continue;
        states.set(`${j.metadata.namespace}/${j.metadata.name}`, jobOutcome(j) === 'Running');
      }
      return states;
    },
  };
}

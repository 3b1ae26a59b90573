import type { Logger } from '@webrana/logger';
import type { WebranaDatabase } from '../api/types';
import { jobOutcome, migrationRun, podJobUid } from '../jobs';
import type { CronJob, Deployment, Job, Pod } from '../k8s';
import { JOB_POD_SELECTOR, LABELS, MANAGED_SELECTOR, type Component } from '../names';
import type { ClusterView } from '../reconcile';
import { RESTORE_LABEL, type WebranaRestore } from '../restore/api';
import { activeRestores, restoreKey } from '../restore/reconcile';
import type { KubeClient } from './client';
import { ListWatchCache } from './listwatch';
import { paths } from './writer';

/**
 * The operator's cluster I/O: four informers (WebranaDatabases; Jobs and CronJobs labelled
 * managed-by=webrana-operator, which covers the migration Jobs, the backup CronJobs and the Jobs
 * those CronJobs create; the migration Jobs' pods, selected by label, so a wave moves on as soon as
 * its pods succeeded) and the writes. Informer caches answer every read the reconciler makes
 * except the pods of a failed Job, which are listed once per failure. The writes are in writer.ts.
 *
 * The caches keep only what the reconciler reads: every object loses metadata.managedFields, Jobs
 * their pod template (the reconciler never reads it back), pods all but their identity, owner,
 * phase and container exit (see slimPod). That keeps the operator's memory flat in the number of
 * resources it watches.
 */

type Transform = (obj: unknown) => unknown;

interface InformerHandle<T> {
  readonly name: string;
  readonly cache: ListWatchCache<T & { metadata?: { name?: string; namespace?: string } }>;
  synced(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function withoutManagedFields<T>(obj: T): T {
  const meta = (obj as { metadata?: { managedFields?: unknown } } | undefined)?.metadata;
  if (meta && 'managedFields' in meta) delete meta.managedFields;
  return obj;
}

/** A Job as cached: no managedFields, no pod template. */
export function slimJob(obj: unknown): unknown {
  const job = withoutManagedFields(obj as Job);
  if (job?.spec?.template) job.spec.template = { spec: {} };
  return job;
}

/**
 * A pod as cached: what migrationRun reads (identity, owner, phase, container exits), and for a
 * backup or restore drill pod its termination message (the backup summary or the drill's outcome, at
 * most 4 KiB), nothing else.
 */
export function slimPod(obj: unknown): unknown {
  const pod = obj as Pod & { apiVersion?: string; kind?: string };
  if (!pod?.metadata) return obj;
  const m = pod.metadata;
  const keepMessage = ['backup', 'verify'].includes(m.labels?.[LABELS.component] ?? '');
  const slim: Pod & { apiVersion?: string; kind?: string } = {
    ...(pod.apiVersion ? { apiVersion: pod.apiVersion } : {}),
    ...(pod.kind ? { kind: pod.kind } : {}),
    metadata: {
      name: m.name,
      ...(m.namespace ? { namespace: m.namespace } : {}),
      ...(m.uid ? { uid: m.uid } : {}),
      ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
      ...(m.creationTimestamp ? { creationTimestamp: m.creationTimestamp } : {}),
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
      labels: Object.fromEntries(
        Object.entries(m.labels ?? {}).filter(
          ([k]) =>
            k === LABELS.database || k === LABELS.service || k === LABELS.component || k.endsWith('controller-uid'),
        ),
      ),
      ownerReferences: (m.ownerReferences ?? []).map((r) => ({
        apiVersion: r.apiVersion,
        kind: r.kind,
        name: r.name,
        uid: r.uid,
        ...(r.controller !== undefined ? { controller: r.controller } : {}),
      })),
    },
    status: {
      ...(pod.status?.phase ? { phase: pod.status.phase } : {}),
      containerStatuses: (pod.status?.containerStatuses ?? []).map((c) => ({
        name: c.name,
        ...(c.state?.terminated
          ? {
              state: {
                terminated: {
                  ...(c.state.terminated.exitCode !== undefined ? { exitCode: c.state.terminated.exitCode } : {}),
                  ...(c.state.terminated.finishedAt ? { finishedAt: c.state.terminated.finishedAt } : {}),
                  ...(keepMessage && c.state.terminated.message ? { message: c.state.terminated.message } : {}),
                },
              },
            }
          : {}),
      })),
    },
  };
  return slim;
}

/**
 * A Deployment as cached: what rolloutOf (post-deploy.ts) reads (identity, generation, replicas, rollout
 * status), nothing of its pod template.
 */
export function slimDeployment(obj: unknown): unknown {
  const d = obj as Deployment & { apiVersion?: string; kind?: string };
  if (!d?.metadata) return obj;
  const m = d.metadata;
  const s = d.status ?? {};
  return {
    metadata: {
      name: m.name,
      ...(m.namespace ? { namespace: m.namespace } : {}),
      ...(m.uid ? { uid: m.uid } : {}),
      ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
      ...(m.generation !== undefined ? { generation: m.generation } : {}),
    },
    spec: {
      ...(d.spec?.replicas !== undefined ? { replicas: d.spec.replicas } : {}),
      ...(d.spec?.template?.spec?.terminationGracePeriodSeconds !== undefined
        ? { template: { spec: { terminationGracePeriodSeconds: d.spec.template.spec.terminationGracePeriodSeconds } } }
        : {}),
    },
    status: {
      ...(s.observedGeneration !== undefined ? { observedGeneration: s.observedGeneration } : {}),
      ...(s.replicas !== undefined ? { replicas: s.replicas } : {}),
      ...(s.updatedReplicas !== undefined ? { updatedReplicas: s.updatedReplicas } : {}),
      ...(s.availableReplicas !== undefined ? { availableReplicas: s.availableReplicas } : {}),
      conditions: (s.conditions ?? []).map((c) => ({
        type: c.type,
        status: c.status,
        ...(c.reason ? { reason: c.reason } : {}),
        ...(c.message ? { message: c.message } : {}),
        ...(c.lastUpdateTime ? { lastUpdateTime: c.lastUpdateTime } : {}),
      })),
    },
  };
}

/**
 * A ListWatchCache (listwatch.ts) that restarts itself: the cache re-lists after 410 Gone and resumes
 * a watch the server closed, but stops for good after any other error; this wrapper starts it again
 * after a growing delay (1 s doubling to 30 s) and reports whether the cache is synced.
 */
export function informer<T>(
  name: string,
  client: KubeClient,
  path: string,
  log: Logger,
  labelSelector?: string,
  onChange?: (obj: T, verb: 'add' | 'update' | 'delete') => void,
  onWatch?: () => void,
  transform: Transform = withoutManagedFields,
): InformerHandle<T> {
  const cache = new ListWatchCache<T & { metadata?: { name?: string; namespace?: string } }>(
    client,
    path,
    labelSelector,
    transform,
  );
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
  readonly pods: InformerHandle<Pod>;
  /** Deployments (slim): a rollout's progress wakes the WebranaDatabases that name the Deployment. */
  readonly deployments: InformerHandle<Deployment>;
  /** WebranaRestores: each change wakes the restore and the WebranaDatabase it holds. */
  readonly restores: InformerHandle<WebranaRestore>;
}

/** The four informers, each change mapped to the key of the WebranaDatabase it concerns. */
export function createInformers(
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
    const restore = obj.metadata?.labels?.[RESTORE_LABEL];
    if (restore && obj.metadata?.namespace) enqueue(restoreKey(obj.metadata.namespace, restore));
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
  const onPod = (pod: Pod, verb: 'add' | 'update' | 'delete') => {
    byLabel(pod);
    if (pod.metadata.labels?.[LABELS.component] !== 'migration') return;
    const phase = pod.status?.phase;
    if (verb !== 'delete' && (phase === 'Succeeded' || phase === 'Failed')) onMigrationFinished?.();
  };
  // A Deployment changed: wake each WebranaDatabase of its namespace that names it (post-deploy step).
  const onDeployment = (d: Deployment) => {
    const ns = d.metadata.namespace;
    for (const db of handles.databases.cache.list(ns) as WebranaDatabase[]) {
      if ((db.spec?.services ?? []).some((s) => s.deployment === d.metadata.name)) {
        enqueue(`${ns}/${db.metadata.name}`);
      }
    }
  };
  const handles: Informers = {
    deployments: informer<Deployment>(
      'deployments',
      client,
      paths.deployments(namespace),
      log,
      undefined,
      onDeployment,
      () => onWatch?.('deployments'),
      slimDeployment,
    ),
    databases: informer<WebranaDatabase>(
      'webranadatabases',
      client,
      paths.databases(namespace),
      log,
      undefined,
      (o) => enqueue(`${o.metadata.namespace}/${o.metadata.name}`),
      () => onWatch?.('webranadatabases'),
    ),
    jobs: informer<Job>(
      'jobs',
      client,
      paths.jobs(namespace),
      log,
      MANAGED_SELECTOR,
      onJob,
      () => onWatch?.('jobs'),
      slimJob,
    ),
    pods: informer<Pod>(
      'pods',
      client,
      paths.allPods(namespace),
      log,
      JOB_POD_SELECTOR,
      onPod,
      () => onWatch?.('pods'),
      slimPod,
    ),
    restores: informer<WebranaRestore>(
      'webranarestores',
      client,
      paths.restores(namespace),
      log,
      undefined,
      (r) => {
        const ns = r.metadata.namespace ?? '';
        enqueue(restoreKey(ns, r.metadata.name ?? ''));
        if (r.spec?.database) enqueue(`${ns}/${r.spec.database}`);
      },
      () => onWatch?.('webranarestores'),
    ),
    cronJobs: informer<CronJob>('cronjobs', client, paths.cronJobs(namespace), log, MANAGED_SELECTOR, byLabel, () =>
      onWatch?.('cronjobs'),
    ),
  };
  return handles;
}

function podsOf(informers: Informers, component: Component, ns?: string): Pod[] {
  return (informers.pods.cache.list(ns) as unknown as Pod[]).filter(
    (p) => p.metadata.labels?.[LABELS.component] === component,
  );
}

export function clusterView(informers: Informers): ClusterView {
  const forDb = <T extends { metadata: { labels?: Record<string, string> } }>(items: readonly T[], db: string) =>
    items.filter((o) => o.metadata.labels?.[LABELS.database] === db);
  return {
    getDatabase: (ns, name) => informers.databases.cache.get(name, ns) as WebranaDatabase | undefined,
    jobs: (ns, db) => forDb(informers.jobs.cache.list(ns) as unknown as Job[], db),
    cronJobs: (ns, db) => forDb(informers.cronJobs.cache.list(ns) as unknown as CronJob[], db),
    migrationPods: (ns, db) => forDb(podsOf(informers, 'migration', ns), db),
    deployment: (ns, name) => informers.deployments.cache.get(name, ns) as Deployment | undefined,
    backupPods: (ns, db) => forDb(podsOf(informers, 'backup', ns), db),
    verifyPods: (ns, db) => forDb(podsOf(informers, 'verify', ns), db),
    heldServices: (ns, db) =>
      new Map(
        activeRestores(informers.restores.cache.list(ns) as WebranaRestore[], db).map(
          (r) => [r.spec.service, r.metadata.name ?? ''] as const,
        ),
      ),
    migrationJobStates: () => {
      // A Job whose one pod succeeded frees its slot then, not when the Job controller says Complete.
      const podsByJob = new Map<string, Pod[]>();
      for (const p of podsOf(informers, 'migration')) {
        const uid = podJobUid(p);
        if (uid) podsByJob.set(uid, [...(podsByJob.get(uid) ?? []), p]);
      }
      const states = new Map<string, boolean>();
      for (const j of informers.jobs.cache.list() as unknown as Job[]) {
        if (j.metadata.labels?.[LABELS.component] !== 'migration') continue;
        const pods = podsByJob.get(j.metadata.uid ?? '') ?? [];
        states.set(`${j.metadata.namespace}/${j.metadata.name}`, migrationRun(j, pods).outcome === 'Running');
      }
      return states;
    },
  };
}

import type { WebranaDatabase, WebranaDatabaseSpec, WebranaDatabaseStatus } from '../src/api/types';
import type { CronJob, Job, Pod } from '../src/k8s';
import { LABELS } from '../src/names';
import type { ClusterView, ClusterWriter } from '../src/reconcile';

/**
 * An in-memory cluster for reconciler unit tests: the caches the reconciler reads, the writes it
 * makes (recorded in order), and the Job controller's part (`finishJob`). It is not a Kubernetes
 * simulation: the kube-lab tests in test/*.k8s.test.ts run against the real apiserver.
 */
export class FakeCluster implements ClusterView, ClusterWriter {
  readonly databases = new Map<string, WebranaDatabase>();
  readonly jobMap = new Map<string, Job>();
  readonly cronJobMap = new Map<string, CronJob>();
  readonly pods = new Map<string, Pod[]>();
  /** The migration pods the pod informer would cache, by namespace/pod name (see runPod). */
  readonly migrationPodMap = new Map<string, Pod>();
  readonly events: Record<string, unknown>[] = [];
  readonly writes: string[] = [];
  private rv = 1;
  private clock = Date.parse('2026-03-01T00:00:00Z');

  private nextRv(): string {
    return String(++this.rv);
  }

  tick(seconds = 1): string {
    this.clock += seconds * 1000;
    return new Date(this.clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  now = (): Date => new Date(this.clock);

  addDatabase(name: string, spec: WebranaDatabaseSpec, namespace = 'ns'): WebranaDatabase {
    const db: WebranaDatabase = {
      apiVersion: 'webrana.cloud/v1alpha1',
      kind: 'WebranaDatabase',
      metadata: { name, namespace, uid: `uid-${name}`, generation: 1, resourceVersion: this.nextRv() },
      spec,
    };
    this.databases.set(`${namespace}/${name}`, db);
    return db;
  }

  updateSpec(key: string, spec: WebranaDatabaseSpec): void {
    const db = this.databases.get(key);
    if (!db) throw new Error(`no database ${key}`);
    db.spec = spec;
    db.metadata.generation = (db.metadata.generation ?? 1) + 1;
    db.metadata.resourceVersion = this.nextRv();
  }

  /** The Job controller: marks a Job started, complete or failed (with a pod termination message). */
  startJob(name: string): void {
    const job = this.job(name);
    job.status = { ...(job.status ?? {}), active: 1, startTime: this.tick() };
    job.metadata.resourceVersion = this.nextRv();
  }

  finishJob(name: string, outcome: 'Complete' | 'Failed', podMessage?: string): void {
    const job = this.job(name);
    if (!job.status?.startTime) this.startJob(name);
    const at = this.tick();
    job.status = {
      ...job.status,
      active: 0,
      ...(outcome === 'Complete' ? { succeeded: 1, completionTime: at } : { failed: 1 }),
      conditions: [
        {
          type: outcome,
          status: 'True',
          lastTransitionTime: at,
          ...(outcome === 'Failed'
            ? { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }
            : {}),
        },
      ],
    };
    job.metadata.resourceVersion = this.nextRv();
    if (podMessage !== undefined) {
      this.pods.set(`${job.metadata.namespace}/${name}`, [
        {
          metadata: { name: `${name}-abcde`, namespace: job.metadata.namespace },
          status: {
            phase: 'Failed',
            containerStatuses: [
              { name: 'migrate', state: { terminated: { exitCode: 1, message: podMessage, finishedAt: at } } },
            ],
          },
        },
      ]);
    }
  }

  /**
   * The Job controller's and kubelet's part for one pod of a Job: creates or updates the pod `podName`
   * (owned by the Job as it is now: its uid) in `phase`, without touching the Job's status (the Job
   * controller has not synced yet). Returns the pod's name.
   */
  runPod(jobName: string, phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed', podName = `${jobName}-abcde`): string {
    const job = this.job(jobName);
    const ns = job.metadata.namespace ?? 'ns';
    const key = `${ns}/${podName}`;
    const at = this.tick();
    const prior = this.migrationPodMap.get(key);
    const exit = phase === 'Succeeded' ? 0 : phase === 'Failed' ? 1 : undefined;
    this.migrationPodMap.set(key, {
      metadata: prior?.metadata ?? {
        name: podName,
        namespace: ns,
        uid: `uid-pod-${podName}-${this.rv}`,
        labels: {
          ...(job.spec.template.metadata?.labels ?? {}),
          'batch.kubernetes.io/job-name': jobName,
          'batch.kubernetes.io/controller-uid': job.metadata.uid ?? '',
        },
        ownerReferences: [
          { apiVersion: 'batch/v1', kind: 'Job', name: jobName, uid: job.metadata.uid ?? '', controller: true },
        ],
      },
      status: {
        phase,
        containerStatuses: [
          {
            name: 'migrate',
            ...(exit === undefined ? {} : { state: { terminated: { exitCode: exit, finishedAt: at } } }),
          },
        ],
      },
    });
    return podName;
  }

  deletePod(podName: string, namespace = 'ns'): void {
    this.migrationPodMap.delete(`${namespace}/${podName}`);
  }

  /** Someone deletes a Job and creates it again under the same name: same spec, a new uid, no status. */
  recreateJob(name: string): void {
    const job = this.job(name);
    const key = `${job.metadata.namespace}/${name}`;
    const { status: _status, ...rest } = structuredClone(job);
    this.jobMap.set(key, {
      ...rest,
      metadata: {
        ...rest.metadata,
        uid: `${job.metadata.uid ?? 'uid'}-again`,
        resourceVersion: this.nextRv(),
        creationTimestamp: this.tick(),
      },
    });
  }

  job(name: string): Job {
    const job = [...this.jobMap.values()].find((j) => j.metadata.name === name);
    if (!job) throw new Error(`no Job ${name}; have ${[...this.jobMap.keys()].join(', ')}`);
    return job;
  }

  jobNames(): string[] {
    return [...this.jobMap.values()].map((j) => j.metadata.name).sort();
  }

  status(key: string): WebranaDatabaseStatus | undefined {
    return this.databases.get(key)?.status;
  }

  // --- ClusterView ---------------------------------------------------------------
  getDatabase(namespace: string, name: string): WebranaDatabase | undefined {
    const db = this.databases.get(`${namespace}/${name}`);
    return db ? structuredClone(db) : undefined;
  }

  jobs(namespace: string, database: string): readonly Job[] {
    return [...this.jobMap.values()]
      .filter((j) => j.metadata.namespace === namespace && j.metadata.labels?.[LABELS.database] === database)
      .map((j) => structuredClone(j));
  }

  cronJobs(namespace: string, database: string): readonly CronJob[] {
    return [...this.cronJobMap.values()]
      .filter((j) => j.metadata.namespace === namespace && j.metadata.labels?.[LABELS.database] === database)
      .map((j) => structuredClone(j));
  }

  migrationJobStates(): ReadonlyMap<string, boolean> {
    return new Map(
      [...this.jobMap.values()]
        .filter((j) => j.metadata.labels?.[LABELS.component] === 'migration')
        .map((j) => [
          `${j.metadata.namespace}/${j.metadata.name}`,
          !(j.status?.conditions ?? []).some(
            (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
          ),
        ]),
    );
  }

  migrationPods(namespace: string, database: string): readonly Pod[] {
    return this.podsOf('migration', namespace, database);
  }

  backupPods(namespace: string, database: string): readonly Pod[] {
    return this.podsOf('backup', namespace, database);
  }

  private podsOf(component: string, namespace: string, database: string): Pod[] {
    return [...this.migrationPodMap.values()]
      .filter(
        (p) =>
          p.metadata.namespace === namespace &&
          p.metadata.labels?.[LABELS.database] === database &&
          (p.metadata.labels?.[LABELS.component] ?? 'migration') === component,
      )
      .map((p) => structuredClone(p));
  }

  verifyPods(namespace: string, database: string): readonly Pod[] {
    return this.podsOf('verify', namespace, database);
  }

  /** The kubelet's part for a Job's pod that ended with `message` as termination message (a drill's report). */
  podFinished(jobName: string, phase: 'Succeeded' | 'Failed', message: string): void {
    const podName = this.runPod(jobName, phase);
    const pod = this.migrationPodMap.get(`${this.job(jobName).metadata.namespace ?? 'ns'}/${podName}`);
    const terminated = pod?.status?.containerStatuses?.[0]?.state?.terminated;
    if (terminated) terminated.message = message;
  }

  /** The kubelet's part for a backup Job's pod: Succeeded with `message` (the backup summary) as termination message. */
  backupPodSucceeded(jobName: string, message: string): void {
    const podName = this.runPod(jobName, 'Succeeded');
    const pod = this.migrationPodMap.get(`${this.job(jobName).metadata.namespace ?? 'ns'}/${podName}`);
    const terminated = pod?.status?.containerStatuses?.[0]?.state?.terminated;
    if (terminated) terminated.message = message;
  }

  /** `kubectl annotate`: a metadata change (no new generation). */
  annotate(key: string, name: string, value: string): void {
    const db = this.databases.get(key);
    if (!db) throw new Error(`no database ${key}`);
    db.metadata.annotations = { ...(db.metadata.annotations ?? {}), [name]: value };
    db.metadata.resourceVersion = this.nextRv();
  }

  // --- ClusterWriter ---------------------------------------------------------------
  async createJob(job: Job): Promise<'created' | 'exists'> {
    const key = `${job.metadata.namespace}/${job.metadata.name}`;
    this.writes.push(`create Job ${job.metadata.name}`);
    if (this.jobMap.has(key)) return 'exists';
    this.jobMap.set(key, {
      ...structuredClone(job),
      metadata: {
        ...structuredClone(job.metadata),
        uid: `uid-${job.metadata.name}`,
        resourceVersion: this.nextRv(),
        creationTimestamp: this.tick(),
      },
    });
    return 'created';
  }

  async deleteJob(namespace: string, name: string): Promise<void> {
    this.writes.push(`delete Job ${name}`);
    this.jobMap.delete(`${namespace}/${name}`);
  }

  async applyCronJob(cronJob: CronJob): Promise<void> {
    const key = `${cronJob.metadata.namespace}/${cronJob.metadata.name}`;
    this.writes.push(`apply CronJob ${cronJob.metadata.name}`);
    const prior = this.cronJobMap.get(key);
    this.cronJobMap.set(key, {
      ...structuredClone(cronJob),
      metadata: {
        ...structuredClone(cronJob.metadata),
        uid: prior?.metadata.uid ?? `uid-${cronJob.metadata.name}`,
        resourceVersion: this.nextRv(),
      },
      ...(prior?.status ? { status: prior.status } : {}),
    });
  }

  async deleteCronJob(namespace: string, name: string): Promise<void> {
    this.writes.push(`delete CronJob ${name}`);
    this.cronJobMap.delete(`${namespace}/${name}`);
  }

  async updateStatus(
    namespace: string,
    name: string,
    resourceVersion: string,
    status: WebranaDatabaseStatus,
  ): Promise<'written' | 'conflict'> {
    this.writes.push(`patch status ${name}`);
    const db = this.databases.get(`${namespace}/${name}`);
    if (!db) throw new Error('not found');
    // The apiserver's precondition: a write over an older resourceVersion is refused (409).
    if (db.metadata.resourceVersion !== resourceVersion) return 'conflict';
    db.status = structuredClone(status);
    db.metadata.resourceVersion = this.nextRv();
    return 'written';
  }

  async listPods(namespace: string, labelSelector: string): Promise<readonly Pod[]> {
    const job = labelSelector.split('=')[1] ?? '';
    return this.pods.get(`${namespace}/${job}`) ?? [];
  }

  async createEvent(event: Record<string, unknown>): Promise<'created' | 'exists'> {
    const name = (event.metadata as { name: string }).name;
    if (this.events.some((e) => (e.metadata as { name: string }).name === name)) return 'exists';
    this.events.push(event);
    return 'created';
  }

  eventReasons(): string[] {
    return this.events.map((e) => String(e.reason));
  }
}

export const FOUR_SERVICES: WebranaDatabaseSpec = {
  image: 'registry.example/webrana/jobs:1.4.0',
  services: [
    { name: 'auth-service', databaseUrlSecretRef: { name: 'auth-db', key: 'url' } },
    { name: 'catalog-service', databaseUrlSecretRef: { name: 'catalog-db', key: 'url' } },
    {
      name: 'order-service',
      databaseUrlSecretRef: { name: 'order-db', key: 'url' },
      dependsOn: ['auth-service', 'catalog-service'],
    },
    {
      name: 'billing-service',
      databaseUrlSecretRef: { name: 'billing-db', key: 'url' },
      dependsOn: ['order-service', 'auth-service'],
    },
  ],
  migration: { backoffLimit: 1, activeDeadlineSeconds: 600 },
  backup: {
    schedule: '0 2 * * *',
    retention: { daily: 7, weekly: 4, monthly: 12 },
    volumeClaimName: 'webrana-backups',
  },
};

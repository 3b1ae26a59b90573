import type { Logger } from '@webrana/logger';
import type {
  BackupStatus,
  PostDeployStatus,
  ServiceStatus,
  WebranaDatabase,
  WebranaDatabaseStatus,
} from './api/types';
import { normalizeSpec } from './api/validate';
import {
  backupCronJob,
  backupNowJob,
  cronJobNeedsUpdate,
  migrationJob,
  postDeployMigrationJob,
  type Owner,
} from './builders';
import { lastBackupSuccess } from './backup-runs';
import { verifyCronJob } from './builders';
import { drillStatus } from './drills';
import type { DrillStatus } from './api/types';
import { eventObject, statusEvents, type OperatorEvent } from './events';
import { jobFailureMessage, jobOutcome } from './jobs';
import type { CronJob, Deployment, Job, Pod } from './k8s';
import { BACKUP_NOW_ANNOTATION, LABELS, SPEC_HASH_ANNOTATION, backupCronJobName } from './names';
import { planMigrations, type MigrationPlan } from './plan';
import { planPostDeploy, postDeployCondition, postDeployEvents } from './post-deploy';
import { backupStatus, computeStatus, newestJob, rfc3339, statusEqual } from './status';

/**
 * reconcile(key): make the cluster match one WebranaDatabase, from what the informer caches show
 * (level-triggered: it never asks which event woke it). It creates the migration Jobs the plan
 * says are due, keeps one backup CronJob per service, deletes what no longer belongs, and writes
 * the status only when it differs from the one stored, and only over the resourceVersion it read (a
 * stale reconcile, or a demoted leader, gets a 409 and looks again instead of overwriting). This file knows the cluster only through the
 * two ports below, so it runs in unit tests against an in-memory cluster.
 */

/** Reads, from informer caches (no API requests). */
export interface ClusterView {
  getDatabase(namespace: string, name: string): WebranaDatabase | undefined;
  /** Jobs labelled with this database (migration and backup), any owner. */
  jobs(namespace: string, database: string): readonly Job[];
  cronJobs(namespace: string, database: string): readonly CronJob[];
  /** Every migration Job in the cache, across all watched namespaces: namespace/name -> still running. */
  migrationJobStates(): ReadonlyMap<string, boolean>;
  /**
   * The migration Jobs' pods labelled with this database (a label-selected pod cache), so a Job whose
   * one pod succeeded counts before the Job controller marks it Complete. Without it, the Jobs' own
   * conditions alone decide.
   */
  migrationPods?(namespace: string, database: string): readonly Pod[];
  /** The backup Jobs' pods labelled with this database (their termination messages carry the backup summary). */
  backupPods?(namespace: string, database: string): readonly Pod[];
  /** The restore drill Jobs' pods labelled with this database (their termination messages carry the outcome). */
  verifyPods?(namespace: string, database: string): readonly Pod[];
  /**
   * Services of this database held by a WebranaRestore that has not finished: service -> restore name.
   * Their migration Jobs are not created, their backup CronJobs are suspended and backup-now waits.
   */
  heldServices?(namespace: string, database: string): ReadonlyMap<string, string>;
  /** A Deployment by name (spec.services[].deployment); without it, every rollout counts as not done. */
  deployment?(namespace: string, name: string): Deployment | undefined;
}

/** Writes, and the few reads that are not cached. */
export interface ClusterWriter {
  /** 'exists' when a Job of that name is already there (a create that raced, or a leftover). */
  createJob(job: Job): Promise<'created' | 'exists'>;
  deleteJob(namespace: string, name: string): Promise<void>;
  /** Create or update (server-side apply). */
  applyCronJob(cronJob: CronJob): Promise<void>;
  deleteCronJob(namespace: string, name: string): Promise<void>;
  /**
   * Write the status subresource if the resource is still at `resourceVersion` (optimistic
   * concurrency: the apiserver refuses a stale write with 409, reported as 'conflict').
   */
  updateStatus(
    namespace: string,
    name: string,
    resourceVersion: string,
    status: WebranaDatabaseStatus,
  ): Promise<'written' | 'conflict'>;
  listPods(namespace: string, labelSelector: string): Promise<readonly Pod[]>;
  /** 'exists' when an Event of that name was already recorded. */
  createEvent(event: Record<string, unknown>): Promise<'created' | 'exists'>;
}

interface ReconcileResult {
  /** What changed, for logs and tests. */
  readonly actions: readonly string[];
  readonly statusWritten: boolean;
  /**
   * The status write was refused because the resource changed since the cache read it (another
   * writer, or a cache behind the apiserver): look again, from fresh state, after a backoff.
   */
  readonly conflict?: boolean;
  /** Look again after this long (set while migration Jobs wait for a free slot). */
  readonly requeueAfterMs?: number;
}

interface ReconcilerOptions {
  readonly view: ClusterView;
  readonly writer: ClusterWriter;
  readonly log: Logger;
  /** Name reported as the Events' reporting instance (the pod name). */
  readonly instance: string;
  readonly now?: () => Date;
  /** How long an object this process just wrote is trusted over a cache that has not caught up. */
  readonly expectationTtlMs?: number;
  /**
   * At most this many migration Jobs running at once, over every resource this operator watches
   * (0: no limit). Protects database servers and the cluster when many resources change together.
   */
  readonly maxActiveMigrations?: number;
  /** How often a resource waiting for a free slot is looked at again. */
  readonly slotRetryMs?: number;
  /**
   * How often a resource whose post-deploy migrations wait for a rollout is looked at again (the
   * Deployment informer wakes it on every change; this is the safety net).
   */
  readonly rolloutRetryMs?: number;
}

function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

const isMigration = (j: Job) => j.metadata.labels?.[LABELS.component] === 'migration';
const isBackup = (j: Job) => j.metadata.labels?.[LABELS.component] === 'backup';
const ownedBy = (uid: string) => (obj: { metadata: { ownerReferences?: { uid: string }[] } }) =>
  (obj.metadata.ownerReferences ?? []).some((r) => r.uid === uid);

export class Reconciler {
  private readonly view: ClusterView;
  private readonly writer: ClusterWriter;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly ttlMs: number;
  /** Jobs this process created that the cache may not show yet (controller-runtime's "expectations"). */
  private readonly createdJobs = new Map<string, { job: Job; at: number }>();
  /** Resources with a migration Job waiting for a free slot (woken when a migration Job finishes). */
  readonly slotWaiters = new Set<string>();

  constructor(private readonly opts: ReconcilerOptions) {
    this.view = opts.view;
    this.writer = opts.writer;
    this.log = opts.log;
    this.now = opts.now ?? (() => new Date());
    this.ttlMs = opts.expectationTtlMs ?? 60_000;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const db = this.view.getDatabase(namespace, name);
    const actions: string[] = [];
    if (!db || db.metadata.deletionTimestamp || !db.metadata.uid) {
      // Gone or going: the garbage collector removes its Jobs and CronJobs (ownerReferences).
      this.slotWaiters.delete(key);
      return { actions, statusWritten: false };
    }
    const now = this.now();
    const owner: Owner = { name, namespace, uid: db.metadata.uid };
    const generation = db.metadata.generation ?? 1;
    const previous = db.status;
    const resourceVersion = db.metadata.resourceVersion ?? '';
    const spec = normalizeSpec(db.spec);

    if (!spec.ok) {
      this.slotWaiters.delete(key);
      const status = computeStatus({ generation, previous, spec, backups: new Map(), now: rfc3339(now) });
      if (previous?.backupNow) status.backupNow = previous.backupNow;
      const written = await this.writeStatus(key, owner, resourceVersion, previous, status, [], actions);
      return { actions, ...written };
    }

    const jobs = this.view.jobs(namespace, name);
    const migrationJobs = this.withCreated(namespace, name, jobs.filter(isMigration).filter(ownedBy(owner.uid)));
    const recorded: ServiceStatus[] = previous?.observedGeneration === generation ? [...(previous.services ?? [])] : [];

    // Error messages of failed migration Jobs: from the status when it already has them, else from pods.
    const failureMessages = new Map<string, string>();
    for (const job of migrationJobs) {
      if (jobOutcome(job) !== 'Failed') continue;
      const name = job.metadata.name;
      const known =
        recorded.find((s) => s.job === name && s.phase === 'Failed')?.message ??
        recorded.find((s) => s.postDeploy?.job === name && s.postDeploy.phase === 'Failed')?.postDeploy?.message;
      failureMessages.set(job.metadata.name, known ?? (await this.failureMessage(job)));
    }

    const plan = planMigrations({
      database: name,
      generation,
      spec: spec.spec,
      jobs: migrationJobs,
      recorded,
      failureMessages,
      pods: this.view.migrationPods?.(namespace, name) ?? [],
    });

    const started: { service: string; job: string }[] = [];
    const throttled = new Set<string>();
    const limit = this.opts.maxActiveMigrations ?? 0;
    const held = this.view.heldServices?.(namespace, name) ?? new Map<string, string>();
    const heldBack = new Set<string>();
    for (const svc of plan.create) {
      if (held.has(svc.name)) {
        heldBack.add(svc.name);
        continue;
      }
      const job = migrationJob(owner, spec.spec, svc, generation);
      const jobKey = `${namespace}/${job.metadata.name}`;
      // Check and reserve the slot before the first await, so concurrent reconciles never overshoot.
      if (limit > 0 && this.activeMigrations() >= limit) {
        throttled.add(svc.name);
        continue;
      }
      this.createdJobs.set(jobKey, { job, at: this.now().getTime() });
      const result = await this.writer.createJob(job).catch((err: unknown) => {
        this.createdJobs.delete(jobKey);
        throw err;
      });
      if (result === 'created') {
        started.push({ service: svc.name, job: job.metadata.name });
        actions.push(`created Job ${job.metadata.name}`);
        this.log.info(
          { database: key, service: svc.name, job: job.metadata.name, generation },
          'migration Job created',
        );
      } else {
        this.log.warn({ database: key, job: job.metadata.name }, 'migration Job already exists; not creating another');
      }
    }
    for (const jobName of plan.deleteJobs) {
      await this.writer.deleteJob(namespace, jobName);
      actions.push(`deleted Job ${jobName}`);
      this.log.info({ database: key, job: jobName }, 'migration Job of an older generation deleted');
    }

    const post = await this.reconcilePostDeploy(owner, spec.spec, generation, plan, migrationJobs, recorded, {
      failureMessages,
      actions,
      throttled,
      held,
    });

    const backupNow = db.metadata.annotations?.[BACKUP_NOW_ANNOTATION];
    const pendingNow = backupNow && backupNow !== previous?.backupNow ? backupNow : undefined;
    const backups = await this.reconcileBackups(owner, spec.spec, jobs, previous, actions, pendingNow, held);

    const status = computeStatus({ generation, previous, spec, plan, backups, now: rfc3339(now) });
    // Recorded once its Jobs exist: a later reconcile (or a restarted operator) never runs that value again.
    // A value arriving while a restore holds a service stays pending until the restore ends.
    const handledNow = (held.size > 0 ? undefined : pendingNow) ?? previous?.backupNow;
    if (handledNow) status.backupNow = handledNow;
    // A Job created just now is running as far as anyone can tell.
    const justCreated = new Set(started.map((s) => s.service));
    for (const s of status.services ?? []) {
      if (justCreated.has(s.name)) {
        s.phase = 'Running';
        // Recorded once, now: the Job controller's startTime (a second or so later) is not written again.
        s.startedAt = rfc3339(now);
        s.message = `migration Job ${s.job} is running`;
      } else if (throttled.has(s.name)) {
        s.phase = 'Waiting';
        s.message = `waiting for a free migration slot (at most ${limit} migration Jobs run at once)`;
      } else if (heldBack.has(s.name)) {
        s.phase = 'Waiting';
        s.message = `held by WebranaRestore ${held.get(s.name)}: its migration waits until the restore ends`;
      }
    }
    await this.reportHeld(owner, previous, status, held);
    this.applyPostDeploy(status, post.statuses, generation, previous, rfc3339(now));
    if (throttled.size > 0) this.slotWaiters.add(key);
    else this.slotWaiters.delete(key);
    const written = await this.writeStatus(
      key,
      owner,
      resourceVersion,
      previous,
      status,
      started,
      actions,
      post.started,
    );
    const waitsForRollout = [...post.statuses.values()].some((p) => p.phase === 'Waiting');
    return {
      actions,
      ...written,
      // A finished migration Job wakes the waiters (runtime/operator.ts); this is the safety net.
      ...(throttled.size > 0
        ? { requeueAfterMs: this.opts.slotRetryMs ?? 10_000 }
        : waitsForRollout
          ? { requeueAfterMs: Math.min(post.recheckInMs ?? Infinity, this.opts.rolloutRetryMs ?? 30_000) }
          : {}),
    };
  }

  /**
   * The post-deploy step of each service that names its Deployment (post-deploy.ts decides): creates
   * the post-deploy migration Jobs that are due, within the same slot limit as the migration Jobs.
   */
  private async reconcilePostDeploy(
    owner: Owner,
    spec: Parameters<typeof migrationJob>[1],
    generation: number,
    plan: MigrationPlan,
    jobs: readonly Job[],
    recorded: readonly ServiceStatus[],
    ctx: {
      failureMessages: ReadonlyMap<string, string>;
      actions: string[];
      throttled: Set<string>;
      held: ReadonlyMap<string, string>;
    },
  ): Promise<{ statuses: Map<string, PostDeployStatus>; started: string[]; recheckInMs?: number }> {
    const { namespace, name } = owner;
    let recheckInMs: number | undefined;
    const statuses = new Map<string, PostDeployStatus>();
    const started: string[] = [];
    const limit = this.opts.maxActiveMigrations ?? 0;
    const pods = this.view.migrationPods?.(namespace, name) ?? [];
    for (const svc of spec.services) {
      const preDeploy = plan.services.find((s) => s.name === svc.name);
      if (!preDeploy || !svc.deployment) continue;
      const job = postDeployMigrationJob(owner, spec, svc, generation);
      const failureMessage = ctx.failureMessages.get(job.metadata.name);
      const decision = planPostDeploy({
        database: name,
        generation,
        service: svc,
        preDeploy,
        jobs,
        pods,
        recorded: recorded.find((s) => s.name === svc.name)?.postDeploy,
        deployment: this.view.deployment?.(namespace, svc.deployment),
        ...(failureMessage ? { failureMessage } : {}),
        now: this.now(),
      });
      if (decision.recheckInMs !== undefined) recheckInMs = Math.min(recheckInMs ?? Infinity, decision.recheckInMs);
      if (!decision.status) continue;
      statuses.set(svc.name, decision.status);
      if (!decision.create) continue;
      if (ctx.held.has(svc.name)) {
        statuses.set(svc.name, {
          ...decision.status,
          phase: 'Waiting',
          message: `held by WebranaRestore ${ctx.held.get(svc.name)}: the post-deploy migration waits until the restore ends`,
        });
        continue;
      }
      if (limit > 0 && this.activeMigrations() >= limit) {
        statuses.set(svc.name, {
          ...decision.status,
          phase: 'Waiting',
          message: `waiting for a free migration slot (at most ${limit} migration Jobs run at once)`,
        });
        ctx.throttled.add(`${svc.name}/post-deploy`);
        continue;
      }
      const jobKey = `${namespace}/${job.metadata.name}`;
      this.createdJobs.set(jobKey, { job, at: this.now().getTime() });
      const result = await this.writer.createJob(job).catch((err: unknown) => {
        this.createdJobs.delete(jobKey);
        throw err;
      });
      if (result === 'created') {
        started.push(job.metadata.name);
        ctx.actions.push(`created Job ${job.metadata.name}`);
        this.log.info(
          { database: `${namespace}/${name}`, service: svc.name, job: job.metadata.name, deployment: svc.deployment },
          'deployment rolled out: post-deploy migration Job created',
        );
      } else {
        this.log.warn({ job: job.metadata.name }, 'post-deploy migration Job already exists; not creating another');
      }
      statuses.set(svc.name, {
        deployment: svc.deployment,
        job: job.metadata.name,
        phase: 'Running',
        startedAt: rfc3339(this.now()),
        message: `post-deploy migration Job ${job.metadata.name} is running`,
      });
    }
    return { statuses, started, ...(recheckInMs !== undefined ? { recheckInMs } : {}) };
  }

  /** Puts each service's post-deploy step, and the PostDeployMigrated condition, into the status. */
  private applyPostDeploy(
    status: WebranaDatabaseStatus,
    steps: ReadonlyMap<string, PostDeployStatus>,
    generation: number,
    previous: WebranaDatabaseStatus | undefined,
    now: string,
  ): void {
    for (const s of status.services ?? []) {
      const step = steps.get(s.name);
      if (step) s.postDeploy = step;
    }
    const condition = postDeployCondition(status.services ?? [], generation, previous, now);
    if (!condition) return;
    status.conditions = [...(status.conditions ?? []), condition];
    const degraded = status.conditions.find((c) => c.type === 'Degraded');
    if (condition.reason === 'PostDeployFailed' && degraded?.status === 'False') {
      const prev = previous?.conditions?.find((c) => c.type === 'Degraded');
      Object.assign(degraded, {
        status: 'True',
        reason: 'PostDeployFailed',
        message: condition.message,
        lastTransitionTime: prev?.status === 'True' ? prev.lastTransitionTime : now,
      });
    }
  }

  /**
   * The resources to wake when a migration Job finishes: the `n` that have waited longest (they move
   * to the back of the line, so each gets its turn).
   */
  takeSlotWaiters(n: number): string[] {
    const keys = [...this.slotWaiters].slice(0, n);
    for (const k of keys) {
      this.slotWaiters.delete(k);
      this.slotWaiters.add(k);
    }
    return keys;
  }

  /** Running migration Jobs the cache shows, plus those this process created that it does not show yet. */
  private activeMigrations(): number {
    const states = this.view.migrationJobStates();
    let active = 0;
    for (const running of states.values()) if (running) active++;
    const now = this.now().getTime();
    for (const [k, { at }] of this.createdJobs) if (!states.has(k) && now - at <= this.ttlMs) active++;
    return active;
  }

  private withCreated(namespace: string, database: string, cached: readonly Job[]): Job[] {
    const names = new Set(cached.map((j) => j.metadata.name));
    const result = [...cached];
    const now = this.now().getTime();
    for (const [k, { job, at }] of this.createdJobs) {
      const mine = job.metadata.namespace === namespace && job.metadata.labels?.[LABELS.database] === database;
      // Seen by the cache now, or too old to trust (deleted before the cache saw it): forget it.
      if (now - at > this.ttlMs || (mine && names.has(job.metadata.name))) {
        this.createdJobs.delete(k);
        continue;
      }
      if (mine) result.push(job);
    }
    return result;
  }

  private async failureMessage(job: Job): Promise<string> {
    try {
      const pods = await this.writer.listPods(
        job.metadata.namespace ?? '',
        `batch.kubernetes.io/job-name=${job.metadata.name}`,
      );
      return jobFailureMessage(job, pods);
    } catch (err) {
      this.log.warn({ job: job.metadata.name, err: (err as Error).message }, 'could not read the failed pods');
      return jobFailureMessage(job, []);
    }
  }

  private async reconcileBackups(
    owner: Owner,
    spec: Parameters<typeof backupCronJob>[1],
    jobs: readonly Job[],
    previous: WebranaDatabaseStatus | undefined,
    actions: string[],
    backupNow: string | undefined,
    held: ReadonlyMap<string, string> = new Map(),
  ): Promise<Map<string, BackupStatus>> {
    const { namespace, name } = owner;
    const pods = this.view.backupPods?.(namespace, name) ?? [];
    const observed = new Map(this.view.cronJobs(namespace, name).map((c) => [c.metadata.name, c]));
    const backups = new Map<string, BackupStatus>();
    const wanted = new Set<string>();
    for (const svc of spec.services) {
      // Held by a restore: the CronJob stays, suspended, so no scheduled backup starts meanwhile.
      const heldSpec =
        held.has(svc.name) && spec.backup ? { ...spec, backup: { ...spec.backup, suspend: true } } : spec;
      const desired = backupCronJob(owner, heldSpec, svc);
      if (!desired) continue;
      const cjName = desired.metadata.name;
      wanted.add(cjName);
      const current = observed.get(cjName);
      const hash = desired.metadata.annotations?.[SPEC_HASH_ANNOTATION] ?? '';
      // Server-side apply is idempotent: a cache that has not seen this process's last apply yet costs
      // one more apply of the same object (and an Event of the same name, which the apiserver refuses).
      if (!current || cronJobNeedsUpdate(current, desired)) {
        await this.writer.applyCronJob(desired);
        const verb = current ? 'updated' : 'created';
        actions.push(`${verb} CronJob ${cjName}`);
        this.log.info({ database: `${namespace}/${name}`, cronJob: cjName }, `backup CronJob ${verb}`);
        await this.emit(owner, {
          type: 'Normal',
          reason: current ? 'BackupCronJobUpdated' : 'BackupCronJobCreated',
          message: `${svc.name}: backup CronJob ${cjName} ${verb} (schedule "${desired.spec.schedule}")`,
          key: `BackupCronJob/${cjName}/${hash}`,
        });
      }

      const svcJobs = jobs.filter((j) => isBackup(j) && j.metadata.labels?.[LABELS.service] === svc.name);
      if (backupNow && !held.has(svc.name)) {
        const nowJob = await this.startBackupNow(owner, spec, svc, backupNow, svcJobs, actions);
        if (nowJob) svcJobs.push(nowJob);
      }
      const prior = previous?.services?.find((s) => s.name === svc.name)?.backup;
      const messages = new Map<string, string>();
      const newest = newestJob(svcJobs);
      if (newest && jobOutcome(newest) === 'Failed') {
        const known = prior?.lastJob === newest.metadata.name ? prior.lastMessage : undefined;
        messages.set(newest.metadata.name, known ?? (await this.failureMessage(newest)));
      }
      const lastSuccess = lastBackupSuccess(
        svcJobs,
        pods.filter((p) => p.metadata.labels?.[LABELS.service] === svc.name),
        prior?.lastSuccess,
      );
      const status = backupStatus(backupCronJobName(name, svc.name), current, svcJobs, messages, lastSuccess);
      const drills = await this.reconcileDrills(owner, spec, svc, jobs, observed, prior?.verify, actions);
      if (drills) {
        wanted.add(drills.cronJob);
        status.verify = drills;
      }
      backups.set(svc.name, status);
    }

    for (const [cjName, cj] of observed) {
      if (wanted.has(cjName) || !ownedBy(owner.uid)(cj)) continue;
      await this.writer.deleteCronJob(namespace, cjName);
      actions.push(`deleted CronJob ${cjName}`);
      this.log.info(
        { database: `${namespace}/${name}`, cronJob: cjName },
        'backup CronJob deleted (service or backup section removed)',
      );
      await this.emit(owner, {
        type: 'Normal',
        reason: 'BackupCronJobDeleted',
        message: `backup CronJob ${cjName} deleted`,
        key: `BackupCronJobDeleted/${cj.metadata.uid ?? cjName}`,
      });
    }
    return backups;
  }

  /**
   * The restore drill CronJob of one service (spec.backup.verify), and its drills' status from the
   * Jobs and their pods' termination messages; an Event when a drill's outcome is new. Undefined
   * without drills (the caller then deletes a drill CronJob left from before).
   */
  private async reconcileDrills(
    owner: Owner,
    spec: Parameters<typeof backupCronJob>[1],
    svc: Parameters<typeof backupCronJob>[2],
    jobs: readonly Job[],
    observed: ReadonlyMap<string, CronJob>,
    prior: DrillStatus | undefined,
    actions: string[],
  ): Promise<DrillStatus | undefined> {
    const desired = verifyCronJob(owner, spec, svc);
    if (!desired) return undefined;
    const { namespace, name } = owner;
    const cjName = desired.metadata.name;
    const current = observed.get(cjName);
    if (!current || cronJobNeedsUpdate(current, desired)) {
      await this.writer.applyCronJob(desired);
      const verb = current ? 'updated' : 'created';
      actions.push(`${verb} CronJob ${cjName}`);
      this.log.info({ database: `${namespace}/${name}`, cronJob: cjName }, `restore drill CronJob ${verb}`);
    }
    const drillJobs = jobs.filter(
      (j) => j.metadata.labels?.[LABELS.component] === 'verify' && j.metadata.labels?.[LABELS.service] === svc.name,
    );
    const pods = (this.view.verifyPods?.(namespace, name) ?? []).filter(
      (p) => p.metadata.labels?.[LABELS.service] === svc.name,
    );
    const status = drillStatus(cjName, drillJobs, pods, prior);
    const finished = status.lastResult === 'Passed' || status.lastResult === 'Failed';
    if (finished && (prior?.lastJob !== status.lastJob || prior?.lastResult !== status.lastResult)) {
      const dump = status.lastFile ?? 'the newest dump';
      await this.emit(owner, {
        type: status.lastResult === 'Passed' ? 'Normal' : 'Warning',
        reason: status.lastResult === 'Passed' ? 'BackupVerified' : 'BackupVerificationFailed',
        message:
          status.lastResult === 'Passed'
            ? `${svc.name}: restore drill ${status.lastJob} passed: ${dump} restored, migration head and row counts match its manifest`
            : `${svc.name}: restore drill ${status.lastJob} failed on ${dump}: ${status.lastMessage ?? ''}${status.lastDumpFailed ? ' (the dump is marked; restore --latest skips it)' : ''}`,
        key: `BackupVerify/${status.lastJob}`,
      });
    }
    return status;
  }

  /**
   * The backup Job one backup-now value asks for, unless the cache already shows it. Its name comes
   * from the value, so a create that races or repeats (the status not written yet, an operator
   * restart) is refused by the apiserver instead of running a second backup. Returns the Job when
   * it was created now (the cache does not show it yet).
   */
  private async startBackupNow(
    owner: Owner,
    spec: Parameters<typeof backupCronJob>[1],
    svc: Parameters<typeof backupCronJob>[2],
    value: string,
    existing: readonly Job[],
    actions: string[],
  ): Promise<Job | undefined> {
    const job = backupNowJob(owner, spec, svc, value);
    if (!job || existing.some((j) => j.metadata.name === job.metadata.name)) return undefined;
    const result = await this.writer.createJob(job);
    if (result === 'exists') return undefined;
    const created: Job = { ...job, metadata: { ...job.metadata, creationTimestamp: rfc3339(this.now()) } };
    actions.push(`created Job ${job.metadata.name}`);
    this.log.info(
      { database: `${owner.namespace}/${owner.name}`, service: svc.name, job: job.metadata.name, value },
      'backup-now Job created',
    );
    await this.emit(owner, {
      type: 'Normal',
      reason: 'BackupNowStarted',
      message: `${svc.name}: backup Job ${job.metadata.name} created for ${BACKUP_NOW_ANNOTATION}=${value}`,
      key: `BackupNow/${job.metadata.name}`,
    });
    return created;
  }

  /**
   * A held service says so: the RestoreInProgress condition (True while any restore holds a service)
   * and one Event per restore and service.
   */
  private async reportHeld(
    owner: Owner,
    previous: WebranaDatabaseStatus | undefined,
    status: WebranaDatabaseStatus,
    held: ReadonlyMap<string, string>,
  ): Promise<void> {
    const prev = previous?.conditions?.find((c) => c.type === 'RestoreInProgress');
    if (held.size === 0 && !prev) return;
    const message =
      held.size === 0
        ? 'no WebranaRestore holds a service'
        : [...held]
            .map(([svc, r]) => `${svc}: WebranaRestore ${r} runs; its migrations and backups are held`)
            .join('; ');
    const state = held.size > 0 ? 'True' : 'False';
    status.conditions = [
      ...(status.conditions ?? []).filter((c) => c.type !== 'RestoreInProgress'),
      {
        type: 'RestoreInProgress',
        status: state,
        observedGeneration: status.observedGeneration ?? 0,
        lastTransitionTime: prev?.status === state ? prev.lastTransitionTime : rfc3339(this.now()),
        reason: held.size > 0 ? 'RestoreRunning' : 'NoRestore',
        message,
      },
    ];
    for (const [svc, restore] of held) {
      // Once per restore and service (the Event's name is derived from the key besides).
      if (prev?.status === 'True' && prev.message.includes(`${svc}: WebranaRestore ${restore} `)) continue;
      await this.emit(owner, {
        type: 'Normal',
        reason: 'HeldByRestore',
        message: `${svc}: migrations and backups held while WebranaRestore ${restore} runs`,
        key: `HeldByRestore/${restore}/${svc}`,
      });
    }
  }

  /**
   * The one status write of a reconcile, over the resourceVersion the reconcile read. On a conflict
   * nothing else happens (no Events: they describe a transition the stored status does not show).
   */
  private async writeStatus(
    key: string,
    owner: Owner,
    resourceVersion: string,
    previous: WebranaDatabaseStatus | undefined,
    status: WebranaDatabaseStatus,
    started: readonly { service: string; job: string }[],
    actions: string[],
    postDeployStarted: readonly string[] = [],
  ): Promise<{ statusWritten: boolean; conflict?: true }> {
    const events = [
      ...statusEvents(previous, status, started),
      ...postDeployEvents(previous, status, postDeployStarted),
    ];
    const changed = !statusEqual(previous, status);
    if (changed) {
      const result = await this.writer.updateStatus(owner.namespace, owner.name, resourceVersion, status);
      if (result === 'conflict') {
        actions.push(`status conflict at resourceVersion ${resourceVersion}`);
        this.log.info(
          { database: key, resourceVersion },
          'status not written: the resource changed since it was read; looking again',
        );
        return { statusWritten: false, conflict: true };
      }
      actions.push(`status ${status.phase ?? ''} ${status.progress ?? ''}`.trim());
      this.log.info(
        { database: key, phase: status.phase, progress: status.progress, generation: status.observedGeneration },
        'status updated',
      );
    }
    for (const event of events) await this.emit(owner, event);
    return { statusWritten: changed };
  }

  private async emit(owner: Owner, event: OperatorEvent): Promise<void> {
    try {
      await this.writer.createEvent(eventObject(owner, event, rfc3339(this.now()), this.opts.instance));
    } catch (err) {
      // Events are best effort: never fail a reconcile over one.
      this.log.warn({ reason: event.reason, err: (err as Error).message }, 'could not record an Event');
    }
  }
}

import type { Logger } from '@webrana/logger';
import type { WebranaDatabase } from '../api/types';
import { normalizeSpec } from '../api/validate';
import type { Owner } from '../builders';
import { jobFailureMessage, jobOutcome } from '../jobs';
import type { Job, Pod } from '../k8s';
import { LABELS, shortHash } from '../names';
import { rfc3339 } from '../status';
import { API_VERSION } from '../api/types';
import { REPLICAS_ANNOTATION, RESTORE_KIND, type WebranaRestore, type WebranaRestoreStatus } from './api';
import { dumpSource, restoreJob, restoreJobName } from './job';
import {
  busyJobs,
  deploymentProblem,
  failureReason,
  isTerminal,
  nextStatus,
  podSelector,
  restoreSummary,
  sameStatus,
  type Deployment,
  type PhaseUpdate,
} from './machine';
import { normalizeRestoreSpec } from './validate';

/**
 * reconcile(key) for one WebranaRestore: level-triggered like the WebranaDatabase's, from the
 * informer caches plus a few uncached reads (the Deployment, its pods, the service's Jobs right
 * before the restore Job is created, the finished Job's pod). At most one restore Job per resource,
 * ever: its name is derived from the resource's uid, the apiserver refuses a second create of it,
 * and a Job recorded in the status that is gone fails the restore instead of starting another.
 */

export interface RestoreView {
  getRestore(namespace: string, name: string): WebranaRestore | undefined;
  getDatabase(namespace: string, name: string): WebranaDatabase | undefined;
  /** Jobs labelled with this database (cached). */
  jobs(namespace: string, database: string): readonly Job[];
}

export interface RestoreWriter {
  createJob(job: Job): Promise<'created' | 'exists'>;
  /** Fresh from the apiserver (not the cache). */
  listJobs(namespace: string, labelSelector: string): Promise<readonly Job[]>;
  listPods(namespace: string, labelSelector: string): Promise<readonly Pod[]>;
  /** undefined when there is no such Deployment. */
  getDeployment(namespace: string, name: string): Promise<Deployment | undefined>;
  /** The scale subresource: nothing else of the Deployment is written. */
  scaleDeployment(namespace: string, name: string, replicas: number): Promise<void>;
  annotateRestore(namespace: string, name: string, key: string, value: string): Promise<void>;
  patchRestoreStatus(namespace: string, name: string, status: WebranaRestoreStatus): Promise<void>;
  createEvent(event: Record<string, unknown>): Promise<'created' | 'exists'>;
}

export interface RestoreResult {
  readonly actions: readonly string[];
  readonly statusWritten: boolean;
  readonly requeueAfterMs?: number;
}

interface RestoreReconcilerOptions {
  readonly view: RestoreView;
  readonly writer: RestoreWriter;
  readonly log: Logger;
  readonly instance: string;
  readonly now?: () => Date;
  /** How often a waiting restore looks again (busy Jobs, pods going away, a running Job's pod). */
  readonly pollMs?: number;
}

interface RestoreEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  key: string;
}

/** The work-queue key of a WebranaRestore (WebranaDatabases use plain namespace/name). */
export const RESTORE_KEY_PREFIX = 'restore:';
export const restoreKey = (namespace: string, name: string): string => `${RESTORE_KEY_PREFIX}${namespace}/${name}`;

/** The WebranaRestores still holding their service (not Succeeded or Failed, not being deleted). */
export function activeRestores(restores: readonly WebranaRestore[], database: string): WebranaRestore[] {
  return restores.filter(
    (r) => r.spec?.database === database && !r.metadata.deletionTimestamp && !isTerminal(r.status?.phase),
  );
}

export class RestoreReconciler {
  private readonly now: () => Date;
  /** Replicas recorded by this process whose annotation the cache may not show yet. */
  private readonly recorded = new Map<string, number>();
  /** Restore Jobs this process created that the cache may not show yet (trusted for a minute). */
  private readonly created = new Map<string, { job: Job; at: number }>();

  constructor(private readonly opts: RestoreReconcilerOptions) {
    this.now = opts.now ?? (() => new Date());
  }

  async reconcile(key: string): Promise<RestoreResult> {
    const i = key.indexOf('/');
    const namespace = key.slice(0, i);
    const name = key.slice(i + 1);
    const { view, writer, log } = this.opts;
    const actions: string[] = [];
    const r = view.getRestore(namespace, name);
    if (!r || r.metadata.deletionTimestamp || !r.metadata.uid) return { actions, statusWritten: false };
    if (isTerminal(r.status?.phase)) return { actions, statusWritten: false };
    const owner: Owner = { namespace, name, uid: r.metadata.uid };
    const generation = r.metadata.generation ?? 1;
    const poll = this.opts.pollMs ?? 2000;
    let statusWritten = false;
    const before = r.status;
    const write = async (update: PhaseUpdate): Promise<void> => {
      const next = nextStatus(before, update, generation, rfc3339(this.now()));
      if (sameStatus(before, next)) return;
      await writer.patchRestoreStatus(namespace, name, next);
      statusWritten = true;
      actions.push(`status ${next.phase} ${next.reason}`);
      log.info({ restore: key, phase: next.phase, reason: next.reason, message: next.message }, 'restore status');
      if (before?.phase !== next.phase || before?.reason !== next.reason)
        await this.emit(owner, {
          type: next.phase === 'Failed' ? 'Warning' : 'Normal',
          reason:
            next.phase === 'Succeeded' ? 'RestoreSucceeded' : next.phase === 'Failed' ? 'RestoreFailed' : next.reason!,
          message: next.message!,
          key: `${next.phase}/${next.reason}`,
        });
    };
    const replicasKey = `${namespace}/${name}`;
    const recordedReplicas = (): number | undefined => {
      const a = r.metadata.annotations?.[REPLICAS_ANNOTATION];
      if (a !== undefined && /^\d+$/.test(a)) return Number(a);
      return this.recorded.get(replicasKey);
    };
    /** Terminal phases are written only once the Deployment is back (when it was scaled down). */
    const finish = async (update: PhaseUpdate): Promise<RestoreResult> => {
      const replicas = recordedReplicas();
      let scaledDown: boolean | undefined;
      if (replicas !== undefined && spec.ok && spec.spec.scaleDown) {
        const dep = await writer.getDeployment(namespace, spec.spec.deployment);
        // Scaled back only from 0: someone who scaled it meanwhile meant it.
        if (dep && (dep.spec?.replicas ?? 1) === 0 && replicas > 0) {
          await writer.scaleDeployment(namespace, spec.spec.deployment, replicas);
          actions.push(`scaled Deployment ${spec.spec.deployment} to ${replicas}`);
          await this.emit(owner, {
            type: 'Normal',
            reason: 'ScaledUp',
            message: `Deployment ${spec.spec.deployment} scaled back to ${replicas} replicas`,
            key: `ScaledUp/${spec.spec.deployment}`,
          });
        }
        scaledDown = false;
      }
      await write({ ...update, ...(scaledDown === undefined ? {} : { scaledDown }) });
      this.recorded.delete(replicasKey);
      return { actions, statusWritten };
    };
    const fail = (reason: string, message: string) => finish({ phase: 'Failed', reason, message });

    const spec = normalizeRestoreSpec(r.spec);
    if (!spec.ok) return fail('InvalidSpec', spec.message);
    const s = spec.spec;
    const db = view.getDatabase(namespace, s.database);
    if (!db?.metadata.uid)
      return fail('DatabaseNotFound', `WebranaDatabase ${s.database} not found in namespace ${namespace}`);
    const dbSpec = normalizeSpec(db.spec);
    if (!dbSpec.ok)
      return fail('DatabaseInvalid', `WebranaDatabase ${s.database} has an invalid spec: ${dbSpec.message}`);
    const svc = dbSpec.spec.services.find((x) => x.name === s.service);
    if (!svc)
      return fail(
        'ServiceNotFound',
        `WebranaDatabase ${s.database} has no service ${s.service} (it has ${dbSpec.spec.services.map((x) => x.name).join(', ') || 'none'})`,
      );
    const source = dumpSource(dbSpec.spec, s.source);
    if (!source.ok) return fail('NoBackupSource', source.message);

    const jobName = restoreJobName(name, owner.uid);
    const cached = view.jobs(namespace, s.database).find((j) => j.metadata.name === jobName);
    const expected = this.created.get(`${namespace}/${jobName}`);
    if (cached || (expected && this.now().getTime() - expected.at > 60_000))
      this.created.delete(`${namespace}/${jobName}`);
    const job = cached ?? this.created.get(`${namespace}/${jobName}`)?.job;

    if (!job) {
      if (r.status?.job === jobName)
        return fail(
          'JobDeleted',
          `restore Job ${jobName} was deleted before it finished; create a new WebranaRestore to restore again`,
        );
      // Fresh from the apiserver, not the cache: a migration or backup that just started counts.
      const busy = busyJobs(
        await writer.listJobs(namespace, `${LABELS.database}=${s.database},${LABELS.service}=${s.service}`),
        s.service,
      );
      if (busy.length > 0) {
        await write({
          phase: 'Pending',
          reason: 'WaitingForJobs',
          message: `waiting for ${busy.join(', ')} to finish (migrations and backups of ${s.service} are held meanwhile)`,
        });
        return { actions, statusWritten, requeueAfterMs: poll };
      }
      if (s.scaleDown) {
        const dep = await writer.getDeployment(namespace, s.deployment);
        if (!dep) return fail('DeploymentNotFound', `Deployment ${s.deployment} not found in namespace ${namespace}`);
        const problem = deploymentProblem(dep, s.service);
        if (problem) return fail('DeploymentNotOwned', problem);
        if (recordedReplicas() === undefined) {
          const replicas = dep.spec?.replicas ?? 1;
          // Written before anything is scaled: a restarted operator scales back to this, not to 0.
          await writer.annotateRestore(namespace, name, REPLICAS_ANNOTATION, String(replicas));
          this.recorded.set(replicasKey, replicas);
          actions.push(`recorded ${replicas} replicas`);
        }
        if ((dep.spec?.replicas ?? 1) !== 0) {
          await writer.scaleDeployment(namespace, s.deployment, 0);
          actions.push(`scaled Deployment ${s.deployment} to 0`);
          await this.emit(owner, {
            type: 'Normal',
            reason: 'ScaledDown',
            message: `Deployment ${s.deployment} scaled to 0 (was ${recordedReplicas()}) for the restore`,
            key: `ScaledDown/${s.deployment}`,
          });
        }
        const selector = podSelector(dep);
        const pods = selector ? await writer.listPods(namespace, selector) : [];
        if (pods.length > 0) {
          await write({
            phase: 'Pending',
            reason: 'ScalingDown',
            message: `waiting for ${pods.length} pod(s) of Deployment ${s.deployment} to go`,
            scaledDown: true,
          });
          return { actions, statusWritten, requeueAfterMs: poll };
        }
      }
      const desired = restoreJob(
        owner,
        { namespace, name: s.database, uid: db.metadata.uid },
        dbSpec.spec,
        svc,
        s,
        source.source,
      );
      this.created.set(`${namespace}/${jobName}`, { job: desired, at: this.now().getTime() });
      const result = await writer.createJob(desired).catch((err: unknown) => {
        this.created.delete(`${namespace}/${jobName}`);
        throw err;
      });
      actions.push(result === 'created' ? `created Job ${jobName}` : `Job ${jobName} already exists`);
      if (result === 'created')
        log.info({ restore: key, job: jobName, service: s.service, source: source.source }, 'restore Job created');
      await write({
        phase: 'Running',
        reason: 'Restoring',
        message: `restore Job ${jobName} is restoring ${s.dump ?? 'the newest dump'} of ${s.service} from the ${source.source} into ${s.newDatabase ? `new database ${s.newDatabase}` : "the service's database"}`,
        fields: { job: jobName, startedAt: r.status?.startedAt ?? rfc3339(this.now()) },
        ...(s.scaleDown ? { scaledDown: true } : {}),
      });
      return { actions, statusWritten };
    }

    const outcome = jobOutcome(job);
    if (outcome === 'Running') {
      await write({
        phase: 'Running',
        reason: 'Restoring',
        message: r.status?.message ?? `restore Job ${jobName} is running`,
        fields: { job: jobName, startedAt: r.status?.startedAt ?? rfc3339(this.now()) },
        ...(s.scaleDown ? { scaledDown: true } : {}),
      });
      return { actions, statusWritten };
    }
    const pods = await writer.listPods(namespace, `batch.kubernetes.io/job-name=${jobName}`);
    if (outcome === 'Succeeded') {
      const summary = restoreSummary(pods);
      const dump = summary?.file;
      const database = summary?.database;
      return finish({
        phase: 'Succeeded',
        reason: 'Restored',
        message: `restored ${dump ?? 'the dump'} of ${s.service} into database ${database ?? (s.newDatabase || 'of the service')}`,
        fields: {
          job: jobName,
          ...(dump ? { dump } : {}),
          ...(database ? { targetDatabase: database } : {}),
          ...(summary?.bytes !== undefined ? { bytes: summary.bytes } : {}),
          ...(summary?.durationSeconds !== undefined ? { durationSeconds: summary.durationSeconds } : {}),
          ...(summary?.finishedAt ? { finishedAt: summary.finishedAt } : {}),
        },
      });
    }
    const message = jobFailureMessage(job, pods);
    return finish({ phase: 'Failed', reason: failureReason(message), message, fields: { job: jobName } });
  }

  private async emit(owner: Owner, event: RestoreEvent): Promise<void> {
    const now = rfc3339(this.now());
    try {
      await this.opts.writer.createEvent({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${owner.name}.${shortHash(`${owner.uid}/${event.key}`, 16)}`, namespace: owner.namespace },
        involvedObject: {
          apiVersion: API_VERSION,
          kind: RESTORE_KIND,
          name: owner.name,
          namespace: owner.namespace,
          uid: owner.uid,
        },
        type: event.type,
        reason: event.reason,
        message: event.message.slice(0, 1024),
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        source: { component: 'webrana-operator' },
        reportingComponent: 'webrana.cloud/operator',
        reportingInstance: this.opts.instance,
      });
    } catch (err) {
      this.opts.log.warn({ reason: event.reason, err: (err as Error).message }, 'could not record an Event');
    }
  }
}

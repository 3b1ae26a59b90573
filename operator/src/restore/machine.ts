import type { Condition } from '../api/types';
import type { Job, Pod } from '../k8s';
import { LABELS } from '../names';
import { jobOutcome } from '../jobs';
import type { RestorePhase, WebranaRestoreStatus } from './api';

/**
 * The pure parts of a restore's life: which Jobs hold it back, whose Deployment may be scaled, what
 * a finished restore Job said, and the status for a phase. restore/reconcile.ts does the I/O around them.
 *
 *   Pending   spec and references checked (else Failed at once, reason named); waits until no
 *             migration or backup Job of the service runs (WaitingForJobs); with scaleDown, records
 *             the Deployment's replicas on the resource, scales it to 0 and waits for its pods to go
 *             (ScalingDown)
 *   Running   the one restore Job exists (Restoring)
 *   Succeeded the Job completed: the dump and database from its termination message (Restored)
 *   Failed    a reference is wrong, the Deployment is not the service's, or the Job failed: the
 *             restore's own error decides the reason (DumpNotFound, TargetSchemaNewer, ...)
 * With scaleDown the Deployment is scaled back to the recorded replicas before Succeeded or Failed
 * is written, so a terminal phase always means the service is back.
 */

export interface Deployment {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
  status?: { replicas?: number };
}

export const TERMINAL: readonly RestorePhase[] = ['Succeeded', 'Failed'];
export const isTerminal = (phase: RestorePhase | undefined): boolean => phase !== undefined && TERMINAL.includes(phase);

/** The service's migration and backup Jobs that are still running (a restore waits for them). */
export function busyJobs(jobs: readonly Job[], service: string): string[] {
  return jobs
    .filter(
      (j) =>
        j.metadata.labels?.[LABELS.service] === service &&
        ['migration', 'backup'].includes(j.metadata.labels?.[LABELS.component] ?? '') &&
        jobOutcome(j) === 'Running',
    )
    .map((j) => j.metadata.name)
    .sort();
}

/**
 * Why this Deployment must not be scaled for this service's restore, or null. The operator may patch
 * any Deployment's scale in the namespaces it watches (RBAC cannot name them in advance), so it
 * scales only one that says it runs the service: the service chart's app.kubernetes.io/name label,
 * or webrana.cloud/service for a Deployment of one's own.
 */
export function deploymentProblem(dep: Deployment, service: string): string | null {
  const labels = dep.metadata.labels ?? {};
  if (labels[LABELS.name] === service || labels[LABELS.service] === service) return null;
  return (
    `Deployment ${dep.metadata.name} is not ${service}'s (neither ${LABELS.name} nor ${LABELS.service} ` +
    `is ${service}); it was not scaled. Name the service's Deployment in spec.deployment`
  );
}

/** A label selector string of a Deployment's pods (matchLabels; the service chart uses only those). */
export function podSelector(dep: Deployment): string | undefined {
  const labels = dep.spec?.selector?.matchLabels ?? {};
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  return parts.length > 0 ? parts.sort().join(',') : undefined;
}

/** The restore's termination-message summary (webrana-jobs restore --termination-log), if its pod wrote one. */
export interface RestoreSummary {
  service?: string;
  file?: string;
  database?: string;
  bytes?: number;
  durationSeconds?: number;
  finishedAt?: string;
}

export function restoreSummary(pods: readonly Pod[]): RestoreSummary | undefined {
  for (const pod of pods) {
    for (const c of pod.status?.containerStatuses ?? []) {
      const t = c.state?.terminated;
      if (!t?.message || (t.exitCode ?? 1) !== 0) continue;
      try {
        const parsed = JSON.parse(t.message) as unknown;
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as RestoreSummary;
      } catch {
        // not the summary (an older jobs image): the Job's success alone is reported
      }
    }
  }
  return undefined;
}

/** The restore's own error, as a CamelCase reason for the status (the message keeps the whole text). */
export function failureReason(message: string): string {
  if (/dump file not found|no completed \S+ dump|has no manifest|NoSuchKey|does not exist|not found in/i.test(message))
    return 'DumpNotFound';
  if (/was taken at migration .* but the database is at/i.test(message)) return 'TargetSchemaNewer';
  if (/is corrupted|cut short|does not unpack/i.test(message)) return 'DumpCorrupted';
  if (/refusing to restore/i.test(message)) return 'WrongService';
  if (/could not get its locks/i.test(message)) return 'LockTimeout';
  if (/cannot connect to/i.test(message)) return 'DatabaseUnreachable';
  if (/DeadlineExceeded/.test(message)) return 'DeadlineExceeded';
  return 'RestoreJobFailed';
}

function condition(
  previous: readonly Condition[] | undefined,
  type: string,
  status: Condition['status'],
  reason: string,
  message: string,
  generation: number,
  now: string,
): Condition {
  const prev = previous?.find((c) => c.type === type);
  return {
    type,
    status,
    observedGeneration: generation,
    lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now,
    reason,
    message,
  };
}

export interface PhaseUpdate {
  readonly phase: RestorePhase;
  readonly reason: string;
  readonly message: string;
  /** Fields to set besides (job, dump, ...). */
  readonly fields?: Partial<WebranaRestoreStatus>;
  /** With scaleDown: whether the Deployment is at 0 now (ScaledDown condition). */
  readonly scaledDown?: boolean;
}

/**
 * The next status: the previous one with this phase, reason and message, the fields given, and the
 * Complete condition (True when Succeeded, False when Failed, Unknown before) plus, with scaleDown,
 * ScaledDown. Pure.
 */
export function nextStatus(
  previous: WebranaRestoreStatus | undefined,
  update: PhaseUpdate,
  generation: number,
  now: string,
): WebranaRestoreStatus {
  const { phase, reason, message } = update;
  const complete = phase === 'Succeeded' ? 'True' : phase === 'Failed' ? 'False' : 'Unknown';
  const conditions = [condition(previous?.conditions, 'Complete', complete, reason, message, generation, now)];
  if (update.scaledDown !== undefined) {
    conditions.push(
      condition(
        previous?.conditions,
        'ScaledDown',
        update.scaledDown ? 'True' : 'False',
        update.scaledDown ? 'ScaledToZero' : 'ScaledBack',
        update.scaledDown
          ? "the service's Deployment is at 0 replicas for the restore"
          : "the service's Deployment is back at its replicas",
        generation,
        now,
      ),
    );
  } else {
    const kept = previous?.conditions?.find((c) => c.type === 'ScaledDown');
    if (kept) conditions.push(kept);
  }
  const next: WebranaRestoreStatus = {
    ...(previous ?? {}),
    ...(update.fields ?? {}),
    observedGeneration: generation,
    phase,
    reason,
    message,
    conditions,
  };
  if (isTerminal(phase) && !next.finishedAt) next.finishedAt = now;
  return next;
}

/** Whether two statuses say the same (so an unchanged one is not written again). */
export function sameStatus(a: WebranaRestoreStatus | undefined, b: WebranaRestoreStatus): boolean {
  const strip = (s: WebranaRestoreStatus | undefined) =>
    JSON.stringify({ ...(s ?? {}), conditions: (s?.conditions ?? []).map(({ lastTransitionTime: _t, ...c }) => c) });
  return strip(a) === strip(b);
}

import type { Job, Pod } from './k8s';

type JobOutcome = 'Running' | 'Succeeded' | 'Failed';

const conditionTrue = (job: Job, type: string): boolean =>
  (job.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');

/** Where a Job stands, from its terminal conditions (what `kubectl wait` and Helm read too). */
export function jobOutcome(job: Job): JobOutcome {
  if (conditionTrue(job, 'Complete')) return 'Succeeded';
  if (conditionTrue(job, 'Failed')) return 'Failed';
  return 'Running';
}

/** The label the Job controller puts on its pods: the uid of the Job that created them. */
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';

/** The uid of the Job a pod belongs to: its controller ownerReference, else the Job controller's label. */
export function podJobUid(pod: Pod): string | undefined {
  const ref = (pod.metadata.ownerReferences ?? []).find((r) => r.kind === 'Job' && r.controller);
  return ref?.uid ?? pod.metadata.labels?.[CONTROLLER_UID_LABEL] ?? pod.metadata.labels?.['controller-uid'];
}

/** A Job that runs exactly one pod, once: no retries, one completion, no parallelism. */
export function runsOnePodOnce(job: Job): boolean {
  return job.spec.backoffLimit === 0 && (job.spec.completions ?? 1) === 1 && (job.spec.parallelism ?? 1) === 1;
}

export interface MigrationRun {
  readonly outcome: JobOutcome;
  /**
   * What said so: the Job controller (its Complete/Failed condition or succeeded count), the Job's one
   * pod (Succeeded before the Job controller has synced the Job), or nothing yet.
   */
  readonly evidence: 'job' | 'pod' | 'none';
  readonly finishedAt?: string;
}

/**
 * Where a migration Job stands, from the Job and the pods the cache shows, without waiting for the
 * Job controller's Complete condition (it syncs a Job about 1 s after its pod finished, which each
 * dependency wave would otherwise lose). The pod counts only when it alone can decide the Job:
 *  - the Job runs one pod once (backoffLimit 0, one completion): no retry can follow;
 *  - the pod belongs to this Job (its controller uid is this Job's uid: a Job deleted and recreated
 *    under the same name has a new uid, so the old Job's pod never counts for the new one);
 *  - it is this Job's only pod, and the Job has recorded no failed pod;
 *  - its phase is Succeeded (every container exited 0; the kubelet never changes it back).
 * Otherwise the Job's own conditions decide, as before. Pure.
 */
export function migrationRun(job: Job, pods: readonly Pod[]): MigrationRun {
  const outcome = jobOutcome(job);
  if (outcome !== 'Running') {
    const finishedAt = jobFinishedAt(job);
    return { outcome, evidence: 'job', ...(finishedAt ? { finishedAt } : {}) };
  }
  if (!runsOnePodOnce(job) || !job.metadata.uid || (job.status?.failed ?? 0) > 0) {
    return { outcome: 'Running', evidence: 'none' };
  }
  // The Job controller counted the success but has not written Complete yet (SuccessCriteriaMet first).
  if ((job.status?.succeeded ?? 0) >= 1 || conditionTrue(job, 'SuccessCriteriaMet')) {
    const finishedAt = job.status?.completionTime;
    return { outcome: 'Succeeded', evidence: 'job', ...(finishedAt ? { finishedAt } : {}) };
  }
  const own = pods.filter((p) => podJobUid(p) === job.metadata.uid);
  const pod = own[0];
  if (own.length !== 1 || pod?.status?.phase !== 'Succeeded') return { outcome: 'Running', evidence: 'none' };
  const finishedAt = (pod.status.containerStatuses ?? [])
    .map((c) => c.state?.terminated?.finishedAt)
    .filter((t): t is string => Boolean(t))
    .sort()
    .pop();
  return { outcome: 'Succeeded', evidence: 'pod', ...(finishedAt ? { finishedAt } : {}) };
}

export function jobFinishedAt(job: Job): string | undefined {
  if (job.status?.completionTime) return job.status.completionTime;
  const terminal = (job.status?.conditions ?? []).find(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
  return terminal?.lastTransitionTime;
}

/** The Job controller's own explanation (BackoffLimitExceeded, DeadlineExceeded, ...). */
function jobFailureReason(job: Job): string {
  const failed = (job.status?.conditions ?? []).find((c) => c.type === 'Failed' && c.status === 'True');
  if (!failed) return 'the Job failed';
  return [failed.reason, failed.message].filter(Boolean).join(': ') || 'the Job failed';
}

const MAX_MESSAGE = 1024;

function clip(text: string, max = MAX_MESSAGE): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

/**
 * The error in a container's termination message. With terminationMessagePolicy
 * FallbackToLogsOnError that message is the tail of the log: the jobs CLI ends a failure with a
 * `webrana-jobs: <error>` line on stderr (before it, JSON log lines), so that line is the answer;
 * failing that, the last error-level JSON log line's msg, then the last line.
 */
export function errorFromTerminationMessage(message: string): string | undefined {
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines.length === 0) return undefined;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as string;
    if (line.startsWith('webrana-jobs: ')) {
      // The CLI's message may span lines (a SQL error with its position): keep what follows.
      return clip([line.slice('webrana-jobs: '.length), ...lines.slice(i + 1)].join(' '));
    }
  }
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as string;
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
      if ((entry.level ?? 0) >= 50) return clip(entry.err?.message ?? entry.msg ?? line);
    } catch {
      // not JSON after all
    }
  }
  return clip(lines[lines.length - 1] as string);
}

/**
 * Why a failed Job failed, for the status: the error its newest failed pod reported, after the Job
 * controller's reason. Pods may be gone (deleted, garbage-collected): then the reason alone.
 */
export function jobFailureMessage(job: Job, pods: readonly Pod[]): string {
  const reason = jobFailureReason(job);
  const terminated = pods
    .flatMap((p) => (p.status?.containerStatuses ?? []).map((c) => c.state?.terminated))
    .filter((t) => t !== undefined && (t.exitCode ?? 0) !== 0)
    .sort((a, b) => (a?.finishedAt ?? '').localeCompare(b?.finishedAt ?? ''));
  const newest = terminated[terminated.length - 1];
  const error = newest?.message ? errorFromTerminationMessage(newest.message) : undefined;
  if (error) return clip(`${error} (${reason})`);
  if (newest) return clip(`container exited with code ${newest.exitCode ?? '?'} (${reason})`);
  return clip(reason);
}

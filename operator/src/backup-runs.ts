import type { BackupSuccess } from './api/types';
import { jobOutcome, podJobUid } from './jobs';
import type { Job, Pod } from './k8s';

/**
 * What a backup Job reports about itself: `webrana-jobs backup --termination-log=...` writes its JSON
 * summary as the container's termination message, the kubelet copies it into the pod status, and the
 * operator reads it there (no Secret, no PVC, no log access). Pure.
 */

/** The summary fields the operator uses (the jobs CLI writes more; see jobs/src/commands/backup.ts). */
export interface BackupRunSummary {
  readonly file?: string;
  readonly bytes: number;
  readonly durationSeconds: number;
  readonly finishedAt: string;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** The summary in a termination message, or undefined (a log tail, a cut message, an older jobs image). */
export function parseBackupSummary(message: string | undefined): BackupRunSummary | undefined {
  if (!message) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(message.trim());
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (!isNumber(v.bytes) || !isNumber(v.durationSeconds) || typeof v.finishedAt !== 'string') return undefined;
  if (Number.isNaN(Date.parse(v.finishedAt))) return undefined;
  return {
    ...(typeof v.file === 'string' ? { file: v.file } : {}),
    bytes: v.bytes,
    durationSeconds: v.durationSeconds,
    finishedAt: v.finishedAt,
  };
}

/** The summary a Job's own succeeded pod reported (its controller uid is the Job's uid). */
export function jobSummary(job: Job, pods: readonly Pod[]): BackupRunSummary | undefined {
  for (const pod of pods) {
    if (podJobUid(pod) !== job.metadata.uid || pod.status?.phase !== 'Succeeded') continue;
    for (const c of pod.status.containerStatuses ?? []) {
      const summary = parseBackupSummary(c.state?.terminated?.message);
      if (summary) return summary;
    }
  }
  return undefined;
}

const seconds = (t: string | undefined): number => (t ? Date.parse(t) / 1000 : 0);

/**
 * The newest successful backup of a service: from the succeeded Jobs still present (their pods'
 * summaries; a Job whose pod is gone gives its completion time only) and the one the status recorded
 * before (kept when its Job is gone: that is what survives Job history limits and operator restarts).
 */
export function lastBackupSuccess(
  jobs: readonly Job[],
  pods: readonly Pod[],
  recorded: BackupSuccess | undefined,
): BackupSuccess | undefined {
  let best = recorded;
  for (const job of jobs) {
    if (jobOutcome(job) !== 'Succeeded') continue;
    const summary = jobSummary(job, pods);
    // The run already recorded, its pod gone since: the record (with its summary) stays as it is.
    if (!summary && recorded?.job === job.metadata.name) continue;
    const finishedAt = summary?.finishedAt ?? job.status?.completionTime;
    if (!finishedAt) continue;
    if (best && seconds(best.finishedAt) >= seconds(finishedAt)) {
      // The same run seen again, now with its summary (the pod may arrive after the Job's condition).
      if (best.job !== job.metadata.name || best.bytes !== undefined || !summary) continue;
    }
    best = {
      job: job.metadata.name,
      finishedAt: new Date(Date.parse(finishedAt)).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      ...(summary
        ? {
            bytes: summary.bytes,
            durationSeconds: summary.durationSeconds,
            ...(summary.file ? { file: summary.file } : {}),
          }
        : {}),
    };
  }
  return best;
}

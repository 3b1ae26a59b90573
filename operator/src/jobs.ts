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
